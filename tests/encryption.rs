//! Confidential records at rest: encrypted files and catalog cells, no plaintext anywhere in
//! the data folder, search and range reads with the key, clear errors without it or with a
//! wrong one, public records unchanged, private file modes.

mod archive_common;
mod crypt_common;

use archive_common::*;
use crypt_common::*;
use gijiroku::archive::crypt::Key;
use gijiroku::archive::{Archive, SearchRequest, Viewer};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Unique phrases: found nowhere else, so a byte search for them means a leak.
const SECRET: &str = "紫陽花通り七丁目の青い郵便受け";
const CLIENT: &str = "鏑木澄江";
const REVISED: &str = "猫柳公園の北側ベンチ";
const MINUTES: &str = "白樺荘二〇四号室の家賃";
const PUBLIC: &str = "噴水広場の時計台改修";

fn key_file(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    Key::create_file(&p).unwrap();
    p
}

#[test]
fn confidential_records_are_encrypted_at_rest_and_readable_with_the_key() {
    let (tmp, mut a) = new_archive();
    let keys = tempfile::tempdir().unwrap();
    let kf = key_file(keys.path(), "archive.key");
    a.set_key(Key::load(&kf).unwrap()).unwrap();
    let data = tmp.path().to_path_buf();
    let work = tempfile::tempdir().unwrap();
    let audio = work.path().join("consultation.wav");
    std::fs::copy(wav(), &audio).unwrap();

    // A confidential consultation with its recording, a revision and minutes.
    let id = archive_transcript(
        &mut a,
        work.path(),
        "consultation",
        (SECRET, CLIENT),
        &meta("consultation", "2024-06-10", "confidential"),
        Some(&audio),
    )
    .unwrap();
    let local = Viewer::local();
    let rpath = work.path().join("revised.json");
    transcript(REVISED, CLIENT, Some(&audio))
        .save(&rpath)
        .unwrap();
    assert_eq!(a.add_revision(&local, id, &rpath).unwrap(), 2);
    let mpath = work.path().join("minutes.md");
    std::fs::write(
        &mpath,
        format!("# 相談記録\n\n{MINUTES}について相談があった。\n"),
    )
    .unwrap();
    a.attach_minutes(&local, id, &mpath).unwrap();
    // A public council record, same words style, stays plain and indexed.
    let pid = archive_transcript(
        &mut a,
        work.path(),
        "council",
        (PUBLIC, "議長"),
        &meta("council", "2024-06-11", "public"),
        None,
    )
    .unwrap();
    drop(a);

    // No plaintext of the confidential record anywhere in the data folder; the public one
    // is found (the byte search works).
    for phrase in [SECRET, CLIENT, REVISED, MINUTES] {
        let found = files_containing(&data, phrase);
        assert!(found.is_empty(), "{phrase} found in {found:?}");
    }
    assert!(!files_containing(&data.join("index"), PUBLIC).is_empty());
    assert!(!files_containing(&data.join("files").join(pid.to_string()), PUBLIC).is_empty());
    let folder = data.join("files").join(id.to_string());
    for e in std::fs::read_dir(&folder).unwrap() {
        let b = std::fs::read(e.unwrap().path()).unwrap();
        assert!(b.starts_with(b"GJRKENC1"), "every stored file is encrypted");
    }

    // With the key: turns, speakers, versions, search and the recording read back.
    let mut a = Archive::open(&data).unwrap();
    a.set_key(Key::load(&kf).unwrap()).unwrap();
    let turns = a.turns(&local, id).unwrap();
    assert!(turns.iter().any(|t| t.text.contains(REVISED)), "{turns:?}");
    assert!(turns.iter().any(|t| t.speaker == CLIENT));
    let d = a.show(&local, id).unwrap();
    assert_eq!(d.speakers.len(), 2);
    assert!(d.speakers.iter().any(|s| s.name == CLIENT && s.turns == 2));
    let (v, t1) = a.transcript(&local, id, Some(1)).unwrap();
    assert_eq!(v, 1);
    assert!(t1.segments[1].text.contains(SECRET));
    let q = |query: &str| SearchRequest {
        query: query.into(),
        limit: 20,
        ..Default::default()
    };
    let r = a.search(&local, &q("猫柳公園 ベンチ")).unwrap();
    assert_eq!(r.total, 1, "{:?}", r.hits);
    assert_eq!(r.hits[0].turn.meeting_id, id);
    assert!(r.hits[0].marked("[", "]").contains("[猫柳公園]"));
    // The first version's words are no longer searchable (the revision replaced them).
    assert_eq!(a.search(&local, &q(SECRET)).unwrap().total, 0);
    // Public and confidential hits merge; the public viewer sees only the public one.
    let both = a.search(&local, &q("生活保護")).unwrap();
    let ids: std::collections::BTreeSet<i64> =
        both.hits.iter().map(|h| h.turn.meeting_id).collect();
    assert_eq!(ids, [id, pid].into_iter().collect());
    let public = a.search(&Viewer::public(), &q("生活保護")).unwrap();
    assert!(public.hits.iter().all(|h| h.turn.meeting_id == pid));
    assert_eq!(public.total, 1);
    assert_eq!(a.index().unwrap().count_meeting(id).unwrap(), 0);
    assert!(a.index().unwrap().count_meeting(pid).unwrap() > 0);
    // --speaker on sealed names.
    let mut by = q("");
    by.filters.speaker = Some("鏑木".into());
    let r = a.search(&local, &by).unwrap();
    assert_eq!(r.total, 2);

    // Range reads of the encrypted recording return exactly the plaintext bytes.
    let plain = std::fs::read(&audio).unwrap();
    let (mut f, name) = a.recording(&local, id).unwrap().unwrap();
    assert!(name.starts_with("audio-"));
    assert_eq!(f.len, plain.len() as u64);
    let len = plain.len() as u64;
    for (at, n) in [
        (0u64, 44usize),
        (1, 1000),
        (65_535, 3),
        (65_536, 70_000),
        (131_000, 2_000),
        (len - 10, 10),
        (len - 1, 50),
    ] {
        f.reader.seek(SeekFrom::Start(at)).unwrap();
        let mut buf = Vec::new();
        (&mut f.reader)
            .take(n as u64)
            .read_to_end(&mut buf)
            .unwrap();
        let end = (at as usize + n).min(plain.len());
        assert_eq!(buf, plain[at as usize..end], "range at {at}");
    }
    f.reader.seek(SeekFrom::End(-100)).unwrap();
    let mut tail = Vec::new();
    f.reader.read_to_end(&mut tail).unwrap();
    assert_eq!(tail, plain[plain.len() - 100..]);
    drop(a);

    // A wrong key is refused at once, with the file named.
    let other = key_file(keys.path(), "other.key");
    let mut a = Archive::open(&data).unwrap();
    let e = a.set_key(Key::load(&other).unwrap()).unwrap_err();
    assert_eq!(
        format!("{e}"),
        format!(
            "the key file {} does not open this archive",
            other.display()
        )
    );
    // No key: listing works, reading the record says what is missing, public search works.
    let a = Archive::open(&data).unwrap();
    assert_eq!(a.list(&local).unwrap().len(), 2);
    let want =
        format!("meeting {id} is encrypted: give the key file (--key-file or GIJIROKU_KEY_FILE)");
    assert_eq!(format!("{}", a.turns(&local, id).unwrap_err()), want);
    let e = a.transcript(&local, id, Some(2)).unwrap_err();
    assert!(format!("{e:#}").contains(&want), "{e:#}");
    let e = a.recording(&local, id).err().unwrap();
    assert!(format!("{e:#}").contains(&want), "{e:#}");
    assert_eq!(a.search(&local, &q("噴水広場")).unwrap().total, 1);
    // Adding a confidential record without the key: a clear error, nothing written.
    let mut a = a;
    let n2 = work.path().join("second.json");
    transcript("別件の相談", "別人", Some(&audio))
        .save(&n2)
        .unwrap();
    let before: Vec<_> = std::fs::read_dir(data.join("files")).unwrap().collect();
    let e = a
        .add_transcript(
            &n2,
            &meta("consultation", "2024-07-01", "confidential"),
            Some(&audio),
        )
        .unwrap_err();
    assert!(format!("{e:#}").contains("give the key file"), "{e:#}");
    assert_eq!(a.list(&local).unwrap().len(), 2);
    assert_eq!(
        std::fs::read_dir(data.join("files")).unwrap().count(),
        before.len()
    );
}

#[test]
fn the_data_folder_is_private() {
    let tmp = tempfile::tempdir().unwrap();
    // An existing folder made 0755 (as older versions did) is tightened too.
    let data = data_folder(tmp.path());
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut a = Archive::open(&data).unwrap();
    let keys = tempfile::tempdir().unwrap();
    a.set_key(Key::load(&key_file(keys.path(), "k")).unwrap())
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let audio = recording(work.path());
    let id = archive_transcript(
        &mut a,
        work.path(),
        "c",
        ("私的な内容", "某氏"),
        &meta("consultation", "2024-06-10", "confidential"),
        Some(&audio),
    )
    .unwrap();
    let pid = archive_transcript(
        &mut a,
        work.path(),
        "p",
        ("公開の内容", "議長"),
        &meta("council", "2024-06-11", "public"),
        None,
    )
    .unwrap();
    drop(a);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("catalog.sqlite")), 0o600);
    for m in [id, pid] {
        let folder = data.join("files").join(m.to_string());
        assert_eq!(mode(&folder), 0o700, "{}", folder.display());
        let mut n = 0;
        for e in std::fs::read_dir(&folder).unwrap() {
            let p = e.unwrap().path();
            assert_eq!(mode(&p), 0o600, "{}", p.display());
            n += 1;
        }
        assert!(n >= 2);
    }
    for extra in ["catalog.sqlite-wal", "catalog.sqlite-shm"] {
        let p = data.join(extra);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{extra}");
        }
    }
}

#[test]
fn cli_keys_and_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_folder(tmp.path());
    let bin = env!("CARGO_BIN_EXE_gijiroku");
    let run = |args: &[&str], key: Option<&Path>| {
        let mut c = std::process::Command::new(bin);
        c.arg("--data").arg(&data).arg("-q").args(args);
        c.env_remove("GIJIROKU_KEY_FILE");
        c.env_remove("GIJIROKU_KEY_PASSPHRASE");
        if let Some(k) = key {
            c.env("GIJIROKU_KEY_FILE", k);
        }
        c.output().unwrap()
    };
    let kf = tmp.path().join("archive.key");
    let o = run(&["keys", "init", kf.to_str().unwrap()], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::metadata(&kf).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Never overwritten.
    let o = run(&["keys", "init", kf.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"));

    let work = tempfile::tempdir().unwrap();
    let audio = recording(work.path());
    let tpath = work.path().join("c.json");
    transcript(SECRET, CLIENT, Some(&audio))
        .save(&tpath)
        .unwrap();
    let mpath = work.path().join("meeting.toml");
    std::fs::write(
        &mpath,
        "kind = \"consultation\"\ntitle = \"相談\"\ndate = \"2024-06-10\"\ndepartment = \"福祉課\"\n",
    )
    .unwrap();
    let add = |key: Option<&Path>| {
        run(
            &[
                "archive",
                "add",
                tpath.to_str().unwrap(),
                "--meta",
                mpath.to_str().unwrap(),
                "--audio",
                audio.to_str().unwrap(),
            ],
            key,
        )
    };
    // Without the key: one clear line, exit 1, nothing archived.
    let o = add(None);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("give the key file"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let o = add(Some(&kf));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&["archive", "show", "1", "--turns"], Some(&kf));
    assert!(String::from_utf8_lossy(&o.stdout).contains(SECRET));
    let o = run(&["search", "紫陽花通り"], Some(&kf));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("紫陽花通り"));
    let o = run(&["archive", "show", "1", "--turns"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("meeting 1 is encrypted: give the key file (--key-file or GIJIROKU_KEY_FILE)"));
    let other = tmp.path().join("other.key");
    Key::create_file(&other).unwrap();
    let o = run(&["keys", "check"], Some(&other));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains(&format!(
        "the key file {} does not open this archive",
        other.display()
    )));
    let o = run(&["keys", "check"], Some(&kf));
    assert!(o.status.success());
    // Not a key file.
    let o = run(&["archive", "list"], Some(&mpath));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not a gijiroku key file"));
}

#[test]
fn records_archived_before_encryption_are_sealed_in_place() {
    const OLD: &str = "楓並木の角の八百屋さん";
    const OLD_CLIENT: &str = "蓬田千代";
    let (tmp, mut a) = new_archive();
    let data = tmp.path().to_path_buf();
    let work = tempfile::tempdir().unwrap();
    let audio = recording(work.path());
    let tpath = work.path().join("c.json");
    transcript(OLD, OLD_CLIENT, Some(&audio))
        .save(&tpath)
        .unwrap();
    // What an older gijiroku left: a consultation stored plain and indexed.
    let id = a
        .add_transcript(
            &tpath,
            &meta("consultation", "2023-04-01", "public"),
            Some(&audio),
        )
        .unwrap();
    {
        let db = rusqlite::Connection::open(data.join("catalog.sqlite")).unwrap();
        db.execute(
            "UPDATE meetings SET classification = 'confidential' WHERE id = ?1",
            [id],
        )
        .unwrap();
    }
    assert!(!files_containing(&data, OLD).is_empty());
    assert!(a.index().unwrap().count_meeting(id).unwrap() > 0);
    let keys = tempfile::tempdir().unwrap();
    let kf = key_file(keys.path(), "k");
    a.set_key(Key::load(&kf).unwrap()).unwrap();
    let r = a.seal_existing().unwrap();
    assert_eq!((r.meetings, r.files, r.rows), (1, 3, 6), "{r:?}");
    assert_eq!(a.index().unwrap().count_meeting(id).unwrap(), 0);
    assert_eq!(a.seal_existing().unwrap().rows, 0, "nothing left to seal");
    drop(a);
    for phrase in [OLD, OLD_CLIENT] {
        let found = files_containing(&data, phrase);
        assert!(found.is_empty(), "{phrase} still in {found:?}");
    }
    let mut a = Archive::open(&data).unwrap();
    a.set_key(Key::load(&kf).unwrap()).unwrap();
    let req = SearchRequest {
        query: "八百屋".into(),
        limit: 5,
        ..Default::default()
    };
    let res = a.search(&Viewer::local(), &req).unwrap();
    assert_eq!(res.total, 1);
    assert_eq!(res.hits[0].turn.meeting_id, id);
    assert_eq!(res.hits[0].turn.speaker, OLD_CLIENT);
    let (_, t) = a.transcript(&Viewer::local(), id, Some(1)).unwrap();
    assert!(t.segments[1].text.contains(OLD));
}

#[test]
fn a_passphrase_instead_of_a_key_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_folder(tmp.path());
    let work = tempfile::tempdir().unwrap();
    let tpath = work.path().join("c.json");
    transcript(SECRET, CLIENT, None).save(&tpath).unwrap();
    let mpath = work.path().join("meeting.toml");
    std::fs::write(
        &mpath,
        "kind = \"consultation\"\ntitle = \"相談\"\ndate = \"2024-06-10\"\n",
    )
    .unwrap();
    let run = |args: &[&str], pass: Option<&str>| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_gijiroku"));
        c.arg("--data").arg(&data).arg("-q").args(args);
        c.env_remove("GIJIROKU_KEY_FILE");
        c.env_remove("GIJIROKU_KEY_PASSPHRASE");
        if let Some(p) = pass {
            c.env("GIJIROKU_KEY_PASSPHRASE", p);
        }
        c.output().unwrap()
    };
    let pass = "紫陽花の咲く坂道をゆっくり上る";
    let o = run(
        &[
            "archive",
            "add",
            tpath.to_str().unwrap(),
            "--meta",
            mpath.to_str().unwrap(),
        ],
        Some(pass),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&["archive", "show", "1", "--turns"], Some(pass));
    assert!(String::from_utf8_lossy(&o.stdout).contains(SECRET));
    let o = run(&["keys", "check"], Some(pass));
    assert!(String::from_utf8_lossy(&o.stdout).contains("the passphrase opens the archive"));
    let o = run(&["archive", "list"], Some("紫陽花の咲く坂道をゆっくり下る"));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("the passphrase does not open this archive")
    );
    let o = run(&["archive", "list"], Some("short"));
    assert!(String::from_utf8_lossy(&o.stderr).contains("too short"));
    assert!(files_containing(&data, SECRET).is_empty());
    assert!(files_containing(&data, pass).is_empty());
}

/// Peak resident memory of this process so far (kB).
fn peak_rss_kb() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = s.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A 1 GiB recording is encrypted as it is copied in (memory flat) and read back at random
/// offsets without decrypting the rest. Run alone, it prints the figures:
/// `cargo test --release --test encryption -- --ignored --nocapture` (needs 2 GiB of disk).
#[test]
#[ignore]
fn a_1_gib_recording_streams_in_flat_memory_and_seeks_in_place() {
    use std::io::Write;
    let (_tmp, mut a) = new_archive();
    let keys = tempfile::tempdir().unwrap();
    a.set_key(Key::load(&key_file(keys.path(), "k")).unwrap())
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let audio = work.path().join("long.wav");
    // Pseudo-random bytes (xorshift), so every chunk differs.
    const SIZE: u64 = 1 << 30;
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&audio).unwrap());
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut block = vec![0u8; 1 << 20];
        for _ in 0..SIZE >> 20 {
            for c in block.chunks_mut(8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                c.copy_from_slice(&x.to_le_bytes());
            }
            f.write_all(&block).unwrap();
        }
    }
    let tpath = work.path().join("t.json");
    transcript("長い録音", "某氏", None).save(&tpath).unwrap();
    let before = peak_rss_kb();
    let t = std::time::Instant::now();
    let id = a
        .add_transcript(
            &tpath,
            &meta("consultation", "2024-06-10", "confidential"),
            Some(&audio),
        )
        .unwrap();
    let add = t.elapsed().as_secs_f64();
    let grown_mb = (peak_rss_kb().saturating_sub(before)) as f64 / 1024.0;
    let (mut f, _) = a.recording(&Viewer::local(), id).unwrap().unwrap();
    assert_eq!(f.len, SIZE);
    let mut src = std::fs::File::open(&audio).unwrap();
    let mut x: u64 = 12345;
    let t = std::time::Instant::now();
    let reads = 200;
    for _ in 0..reads {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let at = x % (SIZE - 300_000);
        let n = 1 + (x >> 40) as usize % 300_000;
        let mut got = vec![0u8; n];
        f.reader.seek(SeekFrom::Start(at)).unwrap();
        f.reader.read_exact(&mut got).unwrap();
        let mut want = vec![0u8; n];
        src.seek(SeekFrom::Start(at)).unwrap();
        src.read_exact(&mut want).unwrap();
        assert!(got == want, "range at {at}, {n} bytes");
    }
    let per_read_ms = t.elapsed().as_secs_f64() * 1000.0 / reads as f64;
    eprintln!(
        "1 GiB recording: archived encrypted in {add:.1} s (sha256 check + encryption), peak \
         memory grew {grown_mb:.1} MB; {reads} random range reads (1 B – 300 kB) {per_read_ms:.2} ms each"
    );
    assert!(grown_mb < 64.0, "memory grew {grown_mb} MB");
}

/// How fast confidential turns are searched (decrypted and matched in memory): 200
/// consultations of 50 turns of real council speech. Run alone:
/// `cargo test --release --test encryption -- --ignored --nocapture`.
#[test]
#[ignore]
fn sealed_search_speed() {
    let (_tmp, mut a) = new_archive();
    let keys = tempfile::tempdir().unwrap();
    a.set_key(Key::load(&key_file(keys.path(), "k")).unwrap())
        .unwrap();
    let mut texts = Vec::new();
    for f in minutes_files() {
        let m = gijiroku::archive::minutes_text::parse(&std::fs::read_to_string(f).unwrap());
        texts.extend(m.turns.into_iter().map(|t| t.text));
    }
    let work = tempfile::tempdir().unwrap();
    let (meetings, per) = (200, 50);
    for i in 0..meetings {
        let mut t = transcript(&format!("第{i}回"), "相談者", None);
        let proto = t.segments[0].clone();
        t.segments = (0..per)
            .map(|k| {
                let mut s = proto.clone();
                s.id = k;
                s.start = k as f64 * 10.0;
                s.end = s.start + 9.0;
                s.text = texts[(i * per + k) % texts.len()].clone();
                s.speaker = Some(if k % 2 == 0 { "S1" } else { "S2" }.into());
                s
            })
            .collect();
        let p = work.path().join(format!("{i}.json"));
        t.save(&p).unwrap();
        a.add_transcript(
            &p,
            &meta("consultation", "2024-06-10", "confidential"),
            None,
        )
        .unwrap();
    }
    let req = |q: &str| SearchRequest {
        query: q.into(),
        limit: 20,
        ..Default::default()
    };
    let mut totals = Vec::new();
    let t = std::time::Instant::now();
    let queries = [
        "保育園",
        "予算 AND 子ども",
        "\"待機児童\"",
        "防災 OR 消防",
        "高齢者 -介護",
    ];
    for q in queries {
        totals.push(a.search(&Viewer::local(), &req(q)).unwrap().total);
    }
    let ms = t.elapsed().as_secs_f64() * 1000.0 / queries.len() as f64;
    eprintln!(
        "sealed search: {} turns of {meetings} confidential meetings, {ms:.0} ms a query \
         (hits {totals:?})",
        meetings * per
    );
    assert!(totals.iter().any(|&n| n > 0));
}

/// A web upload in an archive with a key is sealed as it arrives (in pieces, as HTTP gives
/// it) and decoded through the key: every format gives the very samples of the plain file,
/// the mending of an unfinished WAV still applies, and without the key it is a clear error.
#[test]
fn sealed_uploads_decode_like_the_plain_recordings() {
    use gijiroku::audio::{load_16k, Decoder16k};
    use gijiroku::crypt::Sealer;
    let key = Key::generate("test");
    let dir = tempfile::tempdir().unwrap();
    let formats = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats");
    // A recorder that never filled in its WAV sizes (RIFF and data size 0).
    let mut unfinished = std::fs::read(formats.join("wav_s16_22k.wav")).unwrap();
    let data_at = unfinished.windows(4).position(|w| w == b"data").unwrap();
    unfinished[4..8].fill(0);
    unfinished[data_at + 4..data_at + 8].fill(0);
    let unfinished_path = dir.path().join("unfinished.wav");
    std::fs::write(&unfinished_path, &unfinished).unwrap();
    let mut files: Vec<PathBuf> = [
        "wav_s16_22k.wav",
        "flac_48k_stereo.flac",
        "mp3_44k.mp3",
        "aac_44k_stereo.m4a",
        "opus.opus",
    ]
    .iter()
    .map(|n| formats.join(n))
    .collect();
    files.push(unfinished_path);
    for plain_path in files {
        let plain = std::fs::read(&plain_path).unwrap();
        let mut s = Sealer::new(&key);
        let mut sealed = Vec::new();
        for piece in plain.chunks(7_777) {
            sealed.extend(s.push(piece).unwrap());
        }
        sealed.extend(s.finish().unwrap());
        assert!(gijiroku::crypt::is_encrypted(&sealed));
        let sealed_path = dir.path().join(format!(
            "sealed-{}",
            plain_path.file_name().unwrap().to_string_lossy()
        ));
        std::fs::write(&sealed_path, &sealed).unwrap();
        let (want, info) = load_16k(&plain_path).unwrap();
        assert!(want.len() > 16_000, "{}", plain_path.display());
        let mut d = Decoder16k::open_sealed(&sealed_path, Some(&key)).unwrap();
        assert_eq!(d.info().codec, info.codec, "{}", plain_path.display());
        let mut got = Vec::new();
        while let Some(b) = d.next_block().unwrap() {
            got.extend_from_slice(&b);
        }
        assert_eq!(got, want, "{}", plain_path.display());
        // Without the key: one clear line, no garbage decoded.
        let e = Decoder16k::open(&sealed_path).err().unwrap().to_string();
        assert!(e.contains("is encrypted"), "{e}");
    }
}
