//! Who sees and changes what: the access matrix cell by cell, then every library path
//! (list, summary, show, turns, search hits and totals, speaker filters, answers_to, uploads,
//! attach_minutes, add_revision, remove) for an admin, a clerk, two caseworkers of different
//! departments and a viewer over records of every classification, and the CLI (list, show,
//! search, remove) with --user and GIJIROKU_PASSWORD.
//!
//! The expectations are written out here by hand (not computed from `access.rs`), so a change
//! to the matrix must be made in both places.

mod archive_common;

use archive_common::*;
use gijiroku::archive::crypt::Key;
use gijiroku::archive::{
    Action, Archive, Classification, Forbidden, MeetingKind, MinutesImport, Role, SearchRequest,
    UploadForbidden, Viewer,
};
use gijiroku::search::Filters;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (classification, department, unique word, unique speaker)
const RECORDS: [(&str, &str, &str, &str); 6] = [
    ("public", "議会事務局", "図書館", "高橋参考人"),
    ("internal", "総務課", "道路", "田中参考人"),
    ("internal", "福祉課", "水道", "伊藤参考人"),
    ("confidential", "福祉課", "保育園", "渡辺参考人"),
    ("confidential", "子育て支援課", "消防", "小林参考人"),
    ("public", "福祉課", "公園", "加藤参考人"),
];

/// (name, role, department, records readable (1-based), records editable and deletable)
type UserRow = (
    &'static str,
    Role,
    Option<&'static str>,
    &'static [usize],
    &'static [usize],
);

const USERS: [UserRow; 5] = [
    (
        "kanri",
        Role::Admin,
        None,
        &[1, 2, 3, 4, 5, 6],
        &[1, 2, 3, 4, 5, 6],
    ),
    (
        "gikai",
        Role::Clerk,
        Some("議会事務局"),
        &[1, 2, 3, 6],
        &[1, 2, 3, 6],
    ),
    (
        "fukushi",
        Role::Caseworker,
        Some("福祉課"),
        &[1, 2, 3, 4, 6],
        &[3, 4],
    ),
    (
        "kosodate",
        Role::Caseworker,
        Some("子育て支援課"),
        &[1, 2, 3, 5, 6],
        &[5],
    ),
    ("etsuran", Role::Viewer, None, &[1, 6], &[]),
];

const PASSWORD: &str = "correct horse battery";

fn minutes_text(i: usize) -> String {
    let (_, _, word, guest) = RECORDS[i];
    format!(
        "# 2024年6月1{i}日 テスト会議{i}\n# date: 2024-06-1{i}\n\
         ○山田議長　ただいまから予算の審議を始めます。\n\
         ○{guest}　意見を述べます。\n\
         ○佐藤委員　{word}について伺います。\n\
         ○鈴木部長　{word}についてお答えします。\n"
    )
}

fn import(a: &mut Archive, dir: &Path, i: usize) -> i64 {
    let (class, dept, _, _) = RECORDS[i];
    let path = dir.join(format!("record{i}.txt"));
    std::fs::write(&path, minutes_text(i)).unwrap();
    let opts = MinutesImport {
        kind: Some(if class == "confidential" {
            MeetingKind::Consultation
        } else {
            MeetingKind::Meeting
        }),
        classification: Some(Classification::parse(class).unwrap()),
        department: Some(dept.into()),
        ..Default::default()
    };
    a.import_minutes_by(&Viewer::local(), &path, &opts).unwrap()
}

/// An archive with the six records (ids in RECORDS order) and the five users.
fn setup() -> (tempfile::TempDir, Archive, Vec<i64>, PathBuf) {
    let (tmp, mut a) = new_archive();
    let key_file = tmp.path().join("archive.key");
    a.set_key(Key::create_file(&key_file).unwrap()).unwrap();
    let ids: Vec<i64> = (0..RECORDS.len())
        .map(|i| import(&mut a, tmp.path(), i))
        .collect();
    for (name, role, dept, _, _) in USERS {
        a.add_user(&Viewer::local(), name, PASSWORD, role, dept)
            .unwrap();
    }
    (tmp, a, ids, key_file)
}

fn viewer_of(a: &Archive, name: &str) -> Viewer {
    Viewer::for_user(&a.authenticate(name, PASSWORD).unwrap())
}

/// The error an unknown id gives, for meeting `id`.
fn absent_message(a: &Archive, v: &Viewer, id: i64) -> String {
    let e = a.show(v, 987_654).unwrap_err();
    format!("{e:#}").replace("987654", &id.to_string())
}

fn ids_of(idx: &[usize], ids: &[i64]) -> BTreeSet<i64> {
    idx.iter().map(|i| ids[i - 1]).collect()
}

fn search(a: &Archive, v: &Viewer, query: &str, filters: Filters) -> (usize, BTreeSet<i64>) {
    let r = a
        .search(
            v,
            &SearchRequest {
                query: query.into(),
                filters,
                limit: 100,
                ..Default::default()
            },
        )
        .unwrap();
    (r.total, r.hits.iter().map(|h| h.turn.meeting_id).collect())
}

#[test]
fn the_matrix_cell_by_cell() {
    // Letters: l list, o open, s search, p play, x export, e edit, d delete, u upload.
    // Columns: public own, public other, internal own, internal other, confidential own,
    // confidential other.
    let want: [(Role, [&str; 6]); 4] = [
        (Role::Admin, ["lospxedu"; 6]),
        (
            Role::Clerk,
            ["lospxedu", "lospxedu", "lospxedu", "lospxedu", "", ""],
        ),
        (
            Role::Caseworker,
            ["lospx", "lospx", "lospxedu", "lospx", "lospxedu", ""],
        ),
        (Role::Viewer, ["lospx", "lospx", "", "", "", ""]),
    ];
    let letters = [
        (Action::List, 'l'),
        (Action::Open, 'o'),
        (Action::Search, 's'),
        (Action::Play, 'p'),
        (Action::Export, 'x'),
        (Action::Edit, 'e'),
        (Action::Delete, 'd'),
    ];
    for (role, cells) in want {
        let v = Viewer::new("u", role, Some("福祉課"));
        for (col, cell) in cells.iter().enumerate() {
            let class = ["public", "internal", "confidential"][col / 2];
            let dept = if col % 2 == 0 {
                "福祉課"
            } else {
                "税務課"
            };
            for (action, c) in letters {
                assert_eq!(
                    v.may(action, class, dept),
                    cell.contains(c),
                    "{role:?} {action:?} {class} {dept}"
                );
            }
            assert_eq!(
                v.may_upload(class, dept),
                cell.contains('u'),
                "{role:?} upload {class} {dept}"
            );
        }
        assert_eq!(v.is_admin(), role == Role::Admin);
    }
    // A record without a department is nobody's own; a viewer without one owns nothing.
    let cw = Viewer::new("u", Role::Caseworker, Some("福祉課"));
    assert!(!cw.may_read("confidential", ""));
    assert!(!Viewer::new("u", Role::Caseworker, None).may_read("confidential", "福祉課"));
}

#[test]
fn every_library_read_path_shows_exactly_the_matrix() {
    let (_tmp, a, ids, _) = setup();
    for (name, _, _, readable, _) in USERS {
        let v = viewer_of(&a, name);
        let can = ids_of(readable, &ids);
        // list
        let listed: BTreeSet<i64> = a.list(&v).unwrap().iter().map(|m| m.id).collect();
        assert_eq!(listed, can, "{name}: list");
        for (i, &id) in ids.iter().enumerate() {
            let visible = can.contains(&id);
            let absent = absent_message(&a, &v, id);
            // summary, show, turns
            let results = [
                a.summary(&v, id).map(|_| ()),
                a.show(&v, id).map(|_| ()),
                a.turns(&v, id).map(|_| ()),
            ];
            for (what, r) in ["summary", "show", "turns"].iter().zip(results) {
                match r {
                    Ok(()) => assert!(visible, "{name} {what} {id}: must be invisible"),
                    Err(e) => {
                        assert!(!visible, "{name} {what} {id}: {e:#}");
                        assert_eq!(format!("{e:#}"), absent, "{name} {what} {id}");
                    }
                }
            }
            if visible {
                let d = a.show(&v, id).unwrap();
                assert_eq!(d.speakers.len(), 4);
                assert_eq!(a.turns(&v, id).unwrap().len(), 4);
            }
            // search hits and totals: the record's own word (2 turns), its own speaker
            let (_, _, word, guest) = RECORDS[i];
            let (total, hits) = search(&a, &v, word, Filters::default());
            assert_eq!(
                total,
                if visible { 2 } else { 0 },
                "{name}: total for {word}"
            );
            assert_eq!(
                hits,
                if visible {
                    BTreeSet::from([id])
                } else {
                    BTreeSet::new()
                },
                "{name}: hits for {word}"
            );
            let speaker = Filters {
                speaker: Some(guest.into()),
                ..Default::default()
            };
            let (total, _) = search(&a, &v, "", speaker);
            assert_eq!(total, usize::from(visible), "{name}: speaker {guest}");
        }
        // A word in every record: one hit per readable record, and the total counts only those.
        let (total, hits) = search(&a, &v, "予算", Filters::default());
        assert_eq!(hits, can, "{name}: hits for 予算");
        assert_eq!(total, can.len(), "{name}: total for 予算");
        // answers_to: 鈴木部長 answers 佐藤委員 in every record.
        let r = a
            .search(
                &v,
                &SearchRequest {
                    answers_to: Some("佐藤".into()),
                    limit: 100,
                    ..Default::default()
                },
            )
            .unwrap();
        let answered: BTreeSet<i64> = r.hits.iter().map(|h| h.turn.meeting_id).collect();
        assert_eq!(answered, can, "{name}: answers_to");
        assert_eq!(r.total, can.len(), "{name}: answers_to total");
        assert!(r.hits.iter().all(|h| h.turn.speaker == "鈴木部長"));
    }
}

/// A transcript JSON with one line, to revise a record with.
fn revision_file(dir: &Path) -> PathBuf {
    let t = serde_json::json!({
        "schema_version": gijiroku::transcript::SCHEMA_VERSION,
        "source": {"path": "x.wav", "file_name": "x.wav", "sha256": "", "duration": 2.0,
                   "sample_rate": 16000, "channels": 1, "codec": "pcm_s16le"},
        "language": "ja",
        "model": {"name": "test", "file": "test"},
        "created_at": "2024-06-10T10:00:00Z",
        "speech": [],
        "segments": [{"id": 0, "start": 0.0, "end": 2.0, "text": "修正した発言です。",
                      "words": [], "speaker": "S1", "avg_logprob": -0.1,
                      "no_speech_prob": 0.0, "temperature": 0.0}],
        "speakers": [{"id": "S1", "label": "話者1"}],
        "turns": []
    });
    let p = dir.join("revision.json");
    std::fs::write(&p, serde_json::to_vec(&t).unwrap()).unwrap();
    p
}

#[test]
fn every_write_path_follows_the_matrix() {
    for (name, _, _, readable, editable) in USERS {
        let (tmp, mut a, ids, _) = setup();
        let v = viewer_of(&a, name);
        let can_read = ids_of(readable, &ids);
        let can_edit = ids_of(editable, &ids);
        let rev = revision_file(tmp.path());
        let minutes = tmp.path().join("draft.md");
        std::fs::write(&minutes, "# 会議録\n").unwrap();
        let local = Viewer::local();
        for &id in &ids {
            let absent = absent_message(&a, &v, id);
            let before = a.show(&local, id).unwrap();
            let check = |r: anyhow::Result<()>, what: &str| match r {
                Ok(()) => assert!(
                    can_edit.contains(&id),
                    "{name} {what} {id}: must be refused"
                ),
                Err(e) if can_read.contains(&id) => {
                    assert!(!can_edit.contains(&id), "{name} {what} {id}: {e:#}");
                    assert!(
                        e.downcast_ref::<Forbidden>().is_some(),
                        "{name} {what}: {e:#}"
                    );
                }
                Err(e) => assert_eq!(format!("{e:#}"), absent, "{name} {what} {id}"),
            };
            check(a.attach_minutes(&v, id, &minutes), "attach_minutes");
            check(a.add_revision(&v, id, &rev).map(|_| ()), "add_revision");
            let after = a.show(&local, id).unwrap();
            let changed = (after.minutes.len(), after.transcripts.len())
                != (before.minutes.len(), before.transcripts.len());
            assert_eq!(changed, can_edit.contains(&id), "{name}: {id} changed?");
            check(a.remove(&v, id).map(|_| ()), "remove");
            let gone = a.summary(&local, id).is_err();
            assert_eq!(gone, can_edit.contains(&id), "{name}: {id} removed?");
        }
        // Uploads: every (classification, department) pair of the records.
        for (i, &(class, dept, _, _)) in RECORDS.iter().enumerate() {
            let p = tmp.path().join(format!("upload{i}.txt"));
            std::fs::write(
                &p,
                minutes_text(i) + &format!("追加の記録です（{name}、{i}）。\n"),
            )
            .unwrap();
            let opts = MinutesImport {
                classification: Some(Classification::parse(class).unwrap()),
                department: Some(dept.into()),
                kind: Some(MeetingKind::Meeting),
                ..Default::default()
            };
            let allowed = match (name, class, dept) {
                ("kanri", _, _) => true,
                ("gikai", c, _) => c != "confidential",
                ("fukushi", c, d) => c != "public" && d == "福祉課",
                ("kosodate", c, d) => c != "public" && d == "子育て支援課",
                _ => false,
            };
            let before = a.list(&local).unwrap().len();
            match a.import_minutes_by(&v, &p, &opts) {
                Ok(_) => assert!(allowed, "{name} may not upload {class} {dept}"),
                Err(e) => {
                    assert!(!allowed, "{name} upload {class} {dept}: {e:#}");
                    assert!(e.downcast_ref::<UploadForbidden>().is_some(), "{e:#}");
                    assert_eq!(a.list(&local).unwrap().len(), before, "nothing written");
                }
            }
        }
    }
}

fn gijiroku(data: &Path, key: &Path, user: Option<&str>, password: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gijiroku"));
    c.arg("--data")
        .arg(data)
        .arg("--json")
        .arg("-q")
        .env("GIJIROKU_KEY_FILE", key)
        .env("GIJIROKU_PASSWORD", password)
        .env("USER", "nobody-here")
        .env_remove("GIJIROKU_USER");
    if let Some(u) = user {
        c.arg("--user").arg(u);
    }
    c
}

fn run(mut c: Command) -> (bool, String, String) {
    let out = c.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_cli_acts_as_the_user_given() {
    let (tmp, a, ids, key) = setup();
    drop(a);
    let data = tmp.path();
    for (name, _, _, readable, editable) in USERS {
        let can_read = ids_of(readable, &ids);
        let can_edit = ids_of(editable, &ids);
        // archive list
        let mut c = gijiroku(data, &key, Some(name), PASSWORD);
        c.args(["archive", "list"]);
        let (ok, out, err) = run(c);
        assert!(ok, "{name}: {err}");
        let listed: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
        let listed: BTreeSet<i64> = listed.iter().map(|m| m["id"].as_i64().unwrap()).collect();
        assert_eq!(listed, can_read, "{name}: archive list");
        for (i, &id) in ids.iter().enumerate() {
            // archive show: invisible looks exactly like an id that does not exist
            let mut c = gijiroku(data, &key, Some(name), PASSWORD);
            c.args(["archive", "show", &id.to_string(), "--turns"]);
            let (ok, out, err) = run(c);
            if can_read.contains(&id) {
                assert!(ok, "{name} show {id}: {err}");
                assert!(out.contains(RECORDS[i].2), "{name} show {id}");
            } else {
                assert!(!ok && out.is_empty(), "{name} show {id}");
                assert_eq!(
                    err.trim(),
                    format!(
                        "gijiroku: error: there is no meeting {id} in the archive (see `archive list`)"
                    ),
                    "{name} show {id}"
                );
            }
            // search
            let mut c = gijiroku(data, &key, Some(name), PASSWORD);
            c.args(["search", RECORDS[i].2]);
            let (ok, out, err) = run(c);
            assert!(ok, "{name} search: {err}");
            let r: serde_json::Value = serde_json::from_str(&out).unwrap();
            let want = if can_read.contains(&id) { 2 } else { 0 };
            assert_eq!(r["total"], want, "{name} search {}", RECORDS[i].2);
            assert!(!out.contains(RECORDS[i].3) || can_read.contains(&id));
        }
        // archive remove of something the user may not delete: refused, nothing removed.
        if let Some(&id) = ids.iter().find(|id| !can_edit.contains(id)) {
            let mut c = gijiroku(data, &key, Some(name), PASSWORD);
            c.args(["archive", "remove", &id.to_string()]);
            let (ok, _, err) = run(c);
            assert!(!ok, "{name} remove {id}");
            assert_eq!(err.trim().lines().count(), 1, "one error line: {err}");
            let want = if can_read.contains(&id) {
                format!("gijiroku: error: {name} (")
            } else {
                format!("gijiroku: error: there is no meeting {id} in the archive")
            };
            assert!(err.starts_with(&want), "{name} remove {id}: {err}");
        }
    }
    // Removal by someone allowed to.
    let mut c = gijiroku(data, &key, Some("fukushi"), PASSWORD);
    c.args(["archive", "remove", &ids[3].to_string()]);
    let (ok, _, err) = run(c);
    assert!(ok, "{err}");
    let mut c = gijiroku(data, &key, Some("kanri"), PASSWORD);
    c.args(["archive", "list"]);
    let (_, out, _) = run(c);
    let listed: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(listed.len(), 5);

    // Wrong password, unknown user, and no --user for an OS user without an account: one
    // clear line each, exit 1.
    for (user, pw, want) in [
        (Some("fukushi"), "wrong password", "gijiroku: error: wrong user name or password"),
        (Some("nobody"), PASSWORD, "gijiroku: error: wrong user name or password"),
        (
            None,
            PASSWORD,
            "gijiroku: error: the archive has user accounts and the OS user nobody-here is not one of them",
        ),
    ] {
        let mut c = gijiroku(data, &key, user, pw);
        c.args(["archive", "list"]);
        let (ok, out, err) = run(c);
        assert!(!ok && out.is_empty(), "{user:?}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with(want), "{user:?}: {err}");
    }
    // The OS user mapped to an account acts as it without a password.
    let mut c = gijiroku(data, &key, None, "");
    c.env("USER", "etsuran").args(["archive", "list"]);
    let (ok, out, err) = run(c);
    assert!(ok, "{err}");
    let listed: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(listed.len(), 2, "the viewer's two public records");
}

#[test]
fn the_first_account_must_be_an_admin_and_only_admins_manage_users() {
    let (_tmp, mut a) = new_archive();
    let local = Viewer::local();
    let e = a
        .add_user(&local, "gikai", PASSWORD, Role::Clerk, None)
        .unwrap_err();
    assert!(format!("{e:#}").contains("first user must be an administrator"));
    a.add_user(&local, "kanri", PASSWORD, Role::Admin, None)
        .unwrap();
    let admin = viewer_of(&a, "kanri");
    let e = a
        .add_user(&admin, "cw", PASSWORD, Role::Caseworker, None)
        .unwrap_err();
    assert!(format!("{e:#}").contains("needs a department"), "{e:#}");
    a.add_user(&admin, "cw", PASSWORD, Role::Caseworker, Some("福祉課"))
        .unwrap();
    assert!(a
        .add_user(&admin, "cw", PASSWORD, Role::Viewer, None)
        .is_err());
    assert!(a
        .add_user(&admin, "bad name", PASSWORD, Role::Viewer, None)
        .is_err());
    assert!(a
        .add_user(&admin, "short", "1234", Role::Viewer, None)
        .is_err());
    let cw = viewer_of(&a, "cw");
    assert!(a.users(&cw).is_err());
    assert!(a.add_user(&cw, "x", PASSWORD, Role::Admin, None).is_err());
    // Own password: allowed; someone else's or one's own role: not.
    let own = gijiroku::archive::UserChange {
        password: Some("another good password".into()),
        ..Default::default()
    };
    a.update_user(&cw, "cw", &own).unwrap();
    assert!(a.update_user(&cw, "kanri", &own).is_err());
    let promote = gijiroku::archive::UserChange {
        role: Some(Role::Admin),
        ..Default::default()
    };
    assert!(a.update_user(&cw, "cw", &promote).is_err());
    // The last admin cannot be disabled or demoted.
    let disable = gijiroku::archive::UserChange {
        disabled: Some(true),
        ..Default::default()
    };
    let e = a.update_user(&admin, "kanri", &disable).unwrap_err();
    assert!(format!("{e:#}").contains("last administrator"), "{e:#}");
    assert_eq!(a.users(&admin).unwrap().len(), 2);
}

/// Runs the binary on `data` as `user` (password `pw`), feeding `stdin`.
fn cli_with_stdin(
    data: &Path,
    user: Option<&str>,
    pw: &str,
    args: &[&str],
    stdin: &str,
) -> (bool, String, String) {
    use std::io::Write;
    let mut c = Command::new(env!("CARGO_BIN_EXE_gijiroku"));
    c.arg("--data").arg(data);
    if let Some(u) = user {
        c.arg("--user").arg(u);
    }
    let mut child = c
        .args(args)
        .env("GIJIROKU_PASSWORD", pw)
        .env("USER", "nobody-here")
        .env_remove("GIJIROKU_USER")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn users_commands_on_the_cli() {
    let (tmp, a) = new_archive();
    drop(a);
    let d = tmp.path();
    let pw = format!("{PASSWORD}\n");
    // Before any account: the local administrator, and the first account must be an admin.
    let (ok, _, err) = cli_with_stdin(
        d,
        None,
        "",
        &[
            "users",
            "add",
            "gikai",
            "--role",
            "clerk",
            "--password-stdin",
        ],
        &pw,
    );
    assert!(
        !ok && err.contains("first user must be an administrator"),
        "{err}"
    );
    let (ok, out, err) = cli_with_stdin(
        d,
        None,
        "",
        &[
            "users",
            "add",
            "kanri",
            "--role",
            "admin",
            "--password-stdin",
        ],
        &pw,
    );
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "user kanri added (admin)");
    // From now on the CLI needs an account.
    let (ok, _, err) = cli_with_stdin(d, None, "", &["users", "list"], "");
    assert!(
        !ok && err.contains("OS user nobody-here is not one of them"),
        "{err}"
    );
    let add = [
        "users",
        "add",
        "fukushi",
        "--role",
        "caseworker",
        "--department",
        "福祉課",
        "--password-stdin",
    ];
    let (ok, _, err) = cli_with_stdin(d, Some("kanri"), PASSWORD, &add, &pw);
    assert!(ok, "{err}");
    let (ok, _, err) = cli_with_stdin(
        d,
        Some("kanri"),
        PASSWORD,
        &["users", "add", "x", "--role", "viewer", "--password-stdin"],
        "short\n",
    );
    assert!(
        !ok && err.lines().count() == 1 && err.contains("too short"),
        "{err}"
    );
    let (ok, out, _) = cli_with_stdin(d, Some("kanri"), PASSWORD, &["users", "list"], "");
    assert!(ok);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("fukushi")
            && lines[0].contains("caseworker")
            && lines[0].contains("福祉課")
    );
    // A caseworker cannot list or add users…
    let (ok, _, err) = cli_with_stdin(d, Some("fukushi"), PASSWORD, &["users", "list"], "");
    assert!(!ok && err.contains("not an administrator"), "{err}");
    // …but changes their own password; the old one stops working.
    let (ok, _, err) = cli_with_stdin(
        d,
        Some("fukushi"),
        PASSWORD,
        &["users", "passwd", "--password-stdin"],
        "a brand new password\n",
    );
    assert!(ok, "{err}");
    let (ok, _, err) = cli_with_stdin(d, Some("fukushi"), PASSWORD, &["archive", "list"], "");
    assert!(
        !ok && err.trim() == "gijiroku: error: wrong user name or password",
        "{err}"
    );
    let (ok, _, err) = cli_with_stdin(
        d,
        Some("fukushi"),
        "a brand new password",
        &["archive", "list"],
        "",
    );
    assert!(ok, "{err}");
    // Disabled: signing in fails like a wrong password.
    let (ok, _, err) = cli_with_stdin(
        d,
        Some("kanri"),
        PASSWORD,
        &["users", "disable", "fukushi"],
        "",
    );
    assert!(ok, "{err}");
    let (ok, _, err) = cli_with_stdin(
        d,
        Some("fukushi"),
        "a brand new password",
        &["archive", "list"],
        "",
    );
    assert!(!ok && err.contains("wrong user name or password"), "{err}");
    let (ok, out, _) = cli_with_stdin(d, Some("kanri"), PASSWORD, &["users", "list"], "");
    assert!(
        ok && out.lines().next().unwrap().ends_with("disabled"),
        "{out}"
    );
}
