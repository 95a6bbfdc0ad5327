//! Importing real minutes text (25 Shinagawa meetings) into the archive, listing, showing,
//! removing, and recovery after an interrupted write.

mod archive_common;

use archive_common::*;
use gijiroku::archive::{Archive, MinutesImport, SearchRequest, Viewer};
use gijiroku::search::Filters;
use std::collections::{BTreeSet, HashMap};

#[derive(serde::Deserialize)]
struct RefTurn {
    meeting_id: String,
    i: u32,
    speaker: String,
    text: String,
}

#[test]
fn import_of_real_minutes_matches_the_reference_turns() {
    let (_tmp, a, ids) = archive_with_minutes();
    let refs: Vec<RefTurn> = std::fs::read_to_string(minutes_dir().join("turns.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(refs.len(), 2235);
    let ids: HashMap<String, i64> = ids.into_iter().collect();
    assert_eq!(ids.len(), 25);
    let v = Viewer::local();
    let mut by_meeting: HashMap<&str, Vec<&RefTurn>> = HashMap::new();
    for r in &refs {
        by_meeting.entry(r.meeting_id.as_str()).or_default().push(r);
    }
    for (stem, want) in &by_meeting {
        let id = ids[*stem];
        let got = a.turns(&v, id).unwrap();
        assert_eq!(got.len(), want.len(), "turns of {stem}");
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.seq, w.i);
            assert_eq!(g.speaker, w.speaker, "{stem} turn {}", w.i);
            assert_eq!(g.text, w.text, "{stem} turn {}", w.i);
        }
        let speakers: BTreeSet<&str> = want.iter().map(|t| t.speaker.as_str()).collect();
        let s = a.summary(&v, id).unwrap();
        assert_eq!(s.speakers, speakers.len(), "speakers of {stem}");
    }
    // r06-20240610-5 is the 総務委員会 of 2024-06-10: 147 turns, 36 speakers (turns.jsonl).
    let s = a.summary(&v, ids["r06-20240610-5"]).unwrap();
    assert_eq!(
        (s.kind.as_str(), s.body.as_str(), s.date.as_str()),
        ("committee", "総務委員会", "2024-06-10")
    );
    assert_eq!(
        (s.turns, s.speakers, s.classification.as_str()),
        (147, 36, "public")
    );
    let p = a.summary(&v, ids["r06-20240220-honkaigi"]).unwrap();
    assert_eq!((p.kind.as_str(), p.body.as_str()), ("council", "本会議"));
    assert_eq!(a.list(&v).unwrap().len(), 25);
}

#[test]
fn bad_input_gets_clear_errors_and_changes_nothing() {
    let (tmp, mut a) = new_archive();
    let files = minutes_files();
    let id = a
        .import_minutes(&files[0], &MinutesImport::default())
        .unwrap();
    // The same file twice is refused.
    let e = a
        .import_minutes(&files[0], &MinutesImport::default())
        .unwrap_err();
    assert!(format!("{e:#}").contains(&format!("already in the archive as meeting {id}")));
    // Not minutes, not text, missing.
    let junk = tmp.path().join("notes.txt");
    std::fs::write(&junk, "just a note\nwithout headings\n").unwrap();
    assert!(format!(
        "{:#}",
        a.import_minutes(&junk, &MinutesImport::default())
            .unwrap_err()
    )
    .contains("no speaker headings"));
    let bin = tmp.path().join("audio.txt");
    std::fs::write(&bin, [0xffu8, 0xfe, 0x00, 0x81]).unwrap();
    assert!(format!(
        "{:#}",
        a.import_minutes(&bin, &MinutesImport::default())
            .unwrap_err()
    )
    .contains("not UTF-8"));
    assert!(a
        .import_minutes(&tmp.path().join("missing.txt"), &MinutesImport::default())
        .is_err());
    let nodate = tmp.path().join("nodate.txt");
    std::fs::write(&nodate, "○山田委員　質問します。\n").unwrap();
    assert!(format!(
        "{:#}",
        a.import_minutes(&nodate, &MinutesImport::default())
            .unwrap_err()
    )
    .contains("--date"));
    assert_eq!(a.list(&Viewer::local()).unwrap().len(), 1);
    assert!(a.show(&Viewer::local(), 999).is_err());
    assert!(a.remove(&Viewer::local(), 999).is_err());
    // Nothing left behind by the refused imports.
    let dirs = std::fs::read_dir(tmp.path().join("files")).unwrap().count();
    assert_eq!(dirs, 1);
}

#[test]
fn removal_leaves_no_trace_in_catalog_files_or_index() {
    let (tmp, mut a) = new_archive();
    let files = minutes_files();
    let keep = a
        .import_minutes(&files[0], &MinutesImport::default())
        .unwrap();
    // r06-20241126-honkaigi: 8 turns on 2024-11-26, the only meeting of that day.
    let f = files
        .iter()
        .find(|f| f.ends_with("r06-20241126-honkaigi.txt"))
        .unwrap();
    let id = a.import_minutes(f, &MinutesImport::default()).unwrap();
    let v = Viewer::local();
    let day = Filters {
        from: Some("2024-11-26".parse().unwrap()),
        to: Some("2024-11-26".parse().unwrap()),
        ..Default::default()
    };
    let req = |q: &str| SearchRequest {
        query: q.into(),
        filters: day.clone(),
        limit: 100,
        ..Default::default()
    };
    assert_eq!(a.search(&v, &req("")).unwrap().total, 8);
    let before = a.search(&v, &req("会議録")).unwrap().total;
    assert!(before > 0);
    assert_eq!(a.index().unwrap().count_meeting(id).unwrap(), 8);

    let r = a.remove(&v, id).unwrap();
    assert_eq!(r.turns, 8);
    assert_eq!(a.search(&v, &req("")).unwrap().total, 0);
    assert_eq!(a.search(&v, &req("会議録")).unwrap().total, 0);
    assert_eq!(a.index().unwrap().count_meeting(id).unwrap(), 0);
    // The index segments were rewritten: no deleted-but-present documents remain.
    assert!(!a.index().unwrap().has_deleted_documents());
    assert!(!tmp.path().join("files").join(id.to_string()).exists());
    assert!(a.show(&v, id).is_err());
    let db = rusqlite::Connection::open(tmp.path().join("catalog.sqlite")).unwrap();
    for table in ["meetings", "turns", "speakers", "transcripts", "recordings"] {
        let col = if table == "meetings" {
            "id"
        } else {
            "meeting_id"
        };
        let n: i64 = db
            .query_row(
                &format!("SELECT COUNT(*) FROM {table} WHERE {col} = ?1"),
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0, "rows left in {table}");
    }
    // The other meeting is untouched, and a new meeting never reuses the removed id.
    assert_eq!(a.summary(&v, keep).unwrap().turns, 39);
    let again = a.import_minutes(f, &MinutesImport::default()).unwrap();
    assert!(again > id);
}

#[test]
fn an_interrupted_write_is_finished_at_the_next_open() {
    let (tmp, mut a) = new_archive();
    let files = minutes_files();
    let a1 = a
        .import_minutes(&files[0], &MinutesImport::default())
        .unwrap();
    let a2 = a
        .import_minutes(&files[1], &MinutesImport::default())
        .unwrap();
    drop(a);
    // Simulate crashes: a removal that stopped after marking the meeting, an indexing that
    // never committed, and the folder of an import whose transaction never committed.
    let db = rusqlite::Connection::open(tmp.path().join("catalog.sqlite")).unwrap();
    db.execute("UPDATE meetings SET state = 'removing' WHERE id = ?1", [a1])
        .unwrap();
    db.execute("UPDATE meetings SET state = 'pending' WHERE id = ?1", [a2])
        .unwrap();
    drop(db);
    std::fs::create_dir_all(tmp.path().join("files").join("77")).unwrap();
    std::fs::write(tmp.path().join("files").join("77").join("x.json"), b"{}").unwrap();

    let a = Archive::open(tmp.path()).unwrap();
    let v = Viewer::local();
    assert!(a.summary(&v, a1).is_err());
    assert_eq!(a.index().unwrap().count_meeting(a1).unwrap(), 0);
    assert!(!tmp.path().join("files").join(a1.to_string()).exists());
    // Re-indexed once, not twice.
    assert_eq!(a.index().unwrap().count_meeting(a2).unwrap(), 47);
    assert!(!tmp.path().join("files").join("77").exists());
    assert_eq!(a.list(&v).unwrap().len(), 1);
}

/// `archive import-minutes FOLDER` imports the folder's .txt files in name order (the usual
/// import of a council's past minutes); a folder without any is one error line, exit 1.
#[test]
fn import_minutes_takes_a_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let run = |args: &[&std::ffi::OsStr]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_gijiroku"))
            .arg("--data")
            .arg(&data)
            .args(["--quiet", "--json", "archive", "import-minutes"])
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&[minutes_dir().as_os_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ids"].as_array().unwrap().len(), 25);
    // Again: everything is already there, nothing is added twice.
    let again = run(&[minutes_dir().as_os_str()]);
    assert!(again.status.success());
    let v: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(v["ids"].as_array().unwrap().len(), 0);
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("notes.md"), "not minutes").unwrap();
    let bad = run(&[empty.as_os_str()]);
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("holds no minutes text"), "{err}");
}
