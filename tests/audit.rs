//! The audit log: reads and writes are logged with user, time, record and action; the hash
//! chain verifies, and fails after editing one byte, deleting an entry in the middle or at the
//! end; pruning keeps it verifiable from an anchor; `gijiroku audit verify/show` on the CLI;
//! sessions and the wrong-password rate limit.

mod archive_common;

use archive_common::*;
use gijiroku::archive::{
    Archive, AuditQuery, AuthError, MeetingKind, MinutesImport, Role, SearchRequest, UserChange,
    Viewer,
};
use std::path::Path;
use std::process::Command;

const PASSWORD: &str = "correct horse battery";

fn import(a: &mut Archive, dir: &Path, i: usize, by: &Viewer) -> i64 {
    let p = dir.join(format!("m{i}.txt"));
    std::fs::write(
        &p,
        format!(
            "# 2024年6月1{i}日 総務委員会\n# date: 2024-06-1{i}\n\
             ○山田委員長　予算について審議します（{i}）。\n○佐藤委員　図書館について伺います。\n"
        ),
    )
    .unwrap();
    let opts = MinutesImport {
        kind: Some(MeetingKind::Committee),
        ..Default::default()
    };
    a.import_minutes_by(by, &p, &opts).unwrap()
}

fn entries(a: &Archive) -> Vec<gijiroku::archive::AuditEntry> {
    a.audit_entries(&Viewer::local(), &AuditQuery::default())
        .unwrap()
}

fn log_path(a: &Archive) -> std::path::PathBuf {
    a.dir().join("audit.jsonl")
}

#[test]
fn reads_and_writes_are_logged_and_the_chain_detects_tampering() {
    let (tmp, mut a) = new_archive();
    let local = Viewer::local();
    a.add_user(&local, "kanri", PASSWORD, Role::Admin, None)
        .unwrap();
    a.add_user(&local, "gikai", PASSWORD, Role::Clerk, None)
        .unwrap();
    let clerk = Viewer::for_user(&a.authenticate("gikai", PASSWORD).unwrap());
    let id1 = import(&mut a, tmp.path(), 1, &clerk);
    let id2 = import(&mut a, tmp.path(), 2, &clerk);
    a.show(&clerk, id1).unwrap();
    a.turns(&clerk, id2).unwrap();
    let r = a
        .search(
            &clerk,
            &SearchRequest {
                query: "図書館".into(),
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(r.total, 2);
    let md = tmp.path().join("draft.md");
    std::fs::write(&md, "# 会議録\n").unwrap();
    a.attach_minutes(&clerk, id1, &md).unwrap();
    a.audit(&clerk, "play", Some(id1), "").unwrap();
    a.audit(&clerk, "export", Some(id1), "docx").unwrap();
    a.remove(&clerk, id2).unwrap();
    assert!(matches!(
        a.authenticate("gikai", "wrong password"),
        Err(AuthError::Wrong)
    ));

    let log = entries(&a);
    let got: Vec<(String, String, Option<i64>)> = log
        .iter()
        .map(|e| (e.user.clone(), e.action.clone(), e.meeting_id))
        .collect();
    let c = |action: &str, m: Option<i64>| ("gikai".to_string(), action.to_string(), m);
    let want = vec![
        ("local".to_string(), "user-add".to_string(), None),
        ("local".to_string(), "user-add".to_string(), None),
        c("upload", Some(id1)),
        c("upload", Some(id2)),
        c("open", Some(id1)),
        c("open", Some(id2)),
        // one "search" entry per meeting the search returned
        c("search", Some(id1)),
        c("search", Some(id2)),
        c("edit", Some(id1)),
        c("play", Some(id1)),
        c("export", Some(id1)),
        c("delete", Some(id2)),
        c("login-failed", None),
    ];
    assert_eq!(got, want);
    for (i, e) in log.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1);
        assert!(chrono::DateTime::parse_from_rfc3339(&e.time).is_ok());
        if i > 0 {
            assert_eq!(e.prev, log[i - 1].hash, "chained");
        }
        // No record text, title or search words in the log.
        assert!(!e.detail.contains("図書館") && !e.detail.contains("総務委員会"));
    }
    // Filters of `audit show`.
    let q = AuditQuery {
        meeting: Some(id1),
        user: Some("gikai".into()),
        ..Default::default()
    };
    assert_eq!(a.audit_entries(&local, &q).unwrap().len(), 6);
    let today = chrono::Utc::now().date_naive();
    let q = AuditQuery {
        from: Some(today.succ_opt().unwrap()),
        ..Default::default()
    };
    assert!(a.audit_entries(&local, &q).unwrap().is_empty());
    // Only administrators read the log.
    assert!(a.audit_entries(&clerk, &AuditQuery::default()).is_err());

    // The log file is private and the chain verifies.
    use std::os::unix::fs::PermissionsExt;
    let path = log_path(&a);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let report = a.audit_verify().unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.entries, want.len());
    let original = std::fs::read(&path).unwrap();

    // Edit one byte anywhere in an entry: verify fails.
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(
            original
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .filter(|&i| i < original.len())
        .collect();
    for (which, offset) in [
        (4usize, "\"user\":\"g"),
        (8, "\"meeting_id\":"),
        (0, "\"time\":\"2"),
    ] {
        let start = line_starts[which];
        let line = &original[start..];
        let at = start
            + line
                .windows(offset.len())
                .position(|w| w == offset.as_bytes())
                .unwrap()
            + offset.len();
        let mut edited = original.clone();
        edited[at] = if edited[at] == b'1' { b'2' } else { b'1' };
        std::fs::write(&path, &edited).unwrap();
        let r = a.audit_verify().unwrap();
        assert!(!r.ok(), "one byte edited at {at} (line {})", which + 1);
        assert!(
            r.problems
                .iter()
                .any(|p| p.contains(&format!("line {}", which + 1))),
            "{:?}",
            r.problems
        );
    }
    // Delete one entry in the middle.
    let mut cut = original[..line_starts[5]].to_vec();
    cut.extend_from_slice(&original[line_starts[6]..]);
    std::fs::write(&path, &cut).unwrap();
    let r = a.audit_verify().unwrap();
    assert!(!r.ok());
    assert!(r.problems[0].contains("deleted"), "{:?}", r.problems);
    // Delete the last entry (the chain alone cannot see it; the catalog's head can).
    let last = *line_starts.last().unwrap();
    std::fs::write(&path, &original[..last]).unwrap();
    let r = a.audit_verify().unwrap();
    assert!(!r.ok());
    assert!(r.problems[0].contains("at the end"), "{:?}", r.problems);
    // Delete the first entry.
    std::fs::write(&path, &original[line_starts[1]..]).unwrap();
    assert!(!a.audit_verify().unwrap().ok());
    // Restored: verifies again, and appending goes on.
    std::fs::write(&path, &original).unwrap();
    assert!(a.audit_verify().unwrap().ok());
    a.show(&clerk, id1).unwrap();
    assert!(a.audit_verify().unwrap().ok());

    // The CLI: verify passes, then fails with exit 1 after a one-byte edit.
    drop(a);
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_gijiroku"))
            .arg("--data")
            .arg(tmp.path())
            .args(["--user", "kanri"])
            .args(args)
            .env("GIJIROKU_PASSWORD", PASSWORD)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = cli(&["audit", "verify"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("audit log intact:"), "{out}");
    let (code, out, _) = cli(&[
        "audit",
        "show",
        "--record",
        &id1.to_string(),
        "--user",
        "gikai",
    ]);
    assert_eq!(code, Some(0));
    assert_eq!(out.lines().count(), 7, "{out}");
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.windows(6).position(|w| w == b"\"play\"").unwrap() + 2;
    bytes[at] = b'P';
    std::fs::write(&path, &bytes).unwrap();
    let (code, _, err) = cli(&["audit", "verify"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("was edited"), "{err}");
    assert!(err
        .lines()
        .last()
        .unwrap()
        .starts_with("gijiroku: error: the audit log"));
    // A clerk may not verify or read the log.
    let out = Command::new(env!("CARGO_BIN_EXE_gijiroku"))
        .arg("--data")
        .arg(tmp.path())
        .args(["--user", "gikai", "audit", "show"])
        .env("GIJIROKU_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an administrator"));
}

#[test]
fn entries_deleted_at_the_end_stay_detected_after_more_appends() {
    let (tmp, mut a) = new_archive();
    let local = Viewer::local();
    let id = import(&mut a, tmp.path(), 1, &local);
    for _ in 0..3 {
        a.show(&local, id).unwrap();
    }
    let path = log_path(&a);
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = text.lines().take(2).collect();
    std::fs::write(&path, kept.join("\n") + "\n").unwrap();
    a.show(&local, id).unwrap();
    let r = a.audit_verify().unwrap();
    assert!(!r.ok());
    assert!(
        r.problems[0].contains("seq 5 follows seq 2: 2 entries deleted"),
        "{:?}",
        r.problems
    );
    // The whole log deleted: the next entry continues the catalog's chain.
    std::fs::remove_file(&path).unwrap();
    a.show(&local, id).unwrap();
    let r = a.audit_verify().unwrap();
    assert!(!r.ok());
    assert!(
        r.problems[0].contains("starts at seq 6 without an anchor"),
        "{:?}",
        r.problems
    );
}

#[test]
fn pruning_keeps_the_chain_verifiable_from_an_anchor() {
    let (tmp, mut a) = new_archive();
    let local = Viewer::local();
    let id = import(&mut a, tmp.path(), 1, &local);
    for _ in 0..5 {
        a.show(&local, id).unwrap();
    }
    let cut = chrono::Utc::now() + chrono::Duration::seconds(1);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    a.show(&local, id).unwrap();
    assert!(
        a.audit_prune(&Viewer::public(), cut).is_err(),
        "admins only"
    );
    assert_eq!(a.audit_prune(&local, cut).unwrap(), 6);
    let log = entries(&a);
    assert_eq!(log[0].action, "anchor");
    assert_eq!(log[0].seq, 6);
    assert_eq!(log[1].seq, 7);
    assert_eq!(log.last().unwrap().action, "audit-prune");
    let r = a.audit_verify().unwrap();
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!((r.anchor, r.entries), (Some(6), 2));
    // Pruning again before the same cut-off drops nothing.
    assert_eq!(a.audit_prune(&local, cut).unwrap(), 0);
    // A forged anchor (e.g. to hide more entries) is detected.
    let path = log_path(&a);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen("entries up to seq 6", "entries up to seq 7", 1),
    )
    .unwrap();
    let r = a.audit_verify().unwrap();
    assert!(!r.ok());
    assert!(
        r.problems.iter().any(|p| p.contains("anchor")),
        "{:?}",
        r.problems
    );
}

#[test]
fn wrong_passwords_are_rate_limited_and_sessions_expire() {
    let (_tmp, mut a) = new_archive();
    let local = Viewer::local();
    a.add_user(&local, "kanri", PASSWORD, Role::Admin, None)
        .unwrap();
    let u = a
        .add_user(
            &local,
            "fukushi",
            PASSWORD,
            Role::Caseworker,
            Some("福祉課"),
        )
        .unwrap();
    for _ in 0..5 {
        assert!(matches!(
            a.authenticate("fukushi", "wrong password"),
            Err(AuthError::Wrong)
        ));
    }
    // The sixth attempt waits, even with the right password.
    match a.authenticate("fukushi", PASSWORD) {
        Err(AuthError::TooMany(s)) => assert!((1..=30).contains(&s), "{s}"),
        other => panic!("{other:?}"),
    }
    let msg = a.authenticate("fukushi", PASSWORD).unwrap_err().to_string();
    assert!(msg.starts_with("too many attempts: wait "), "{msg}");
    // Other names are not affected; unknown names are limited the same way.
    a.authenticate("kanri", PASSWORD).unwrap();
    for _ in 0..5 {
        assert!(matches!(
            a.authenticate("nobody", "x"),
            Err(AuthError::Wrong)
        ));
    }
    assert!(matches!(
        a.authenticate("nobody", "x"),
        Err(AuthError::TooMany(_))
    ));
    // The limit is in the catalog: another process sees it too.
    let b = Archive::open(a.dir()).unwrap();
    assert!(matches!(
        b.authenticate("fukushi", PASSWORD),
        Err(AuthError::TooMany(_))
    ));
    // Once the delay has passed, the right password works; the next wrong one doubles it.
    let db = rusqlite::Connection::open(a.dir().join("catalog.sqlite")).unwrap();
    db.execute(
        "UPDATE login_failures SET last_failure = last_failure - 31 WHERE name = 'fukushi'",
        [],
    )
    .unwrap();
    assert!(matches!(
        a.authenticate("fukushi", "wrong again"),
        Err(AuthError::Wrong)
    ));
    match a.authenticate("fukushi", PASSWORD) {
        Err(AuthError::TooMany(s)) => assert!((31..=60).contains(&s), "doubled: {s}"),
        other => panic!("{other:?}"),
    }
    db.execute(
        "UPDATE login_failures SET last_failure = last_failure - 61 WHERE name = 'fukushi'",
        [],
    )
    .unwrap();
    let user = a.authenticate("fukushi", PASSWORD).unwrap();
    assert_eq!(user.id, u.id);
    // …and success resets the count.
    assert!(matches!(
        a.authenticate("fukushi", "wrong"),
        Err(AuthError::Wrong)
    ));
    assert!(a.authenticate("fukushi", PASSWORD).is_ok());
    let failed = entries(&a)
        .iter()
        .filter(|e| e.action == "login-failed")
        .count();
    assert_eq!(failed, 5 + 5 + 1 + 1);

    // Sessions: only the token's hash is stored; tampered, ended, expired and disabled → None.
    let s = a.create_session(&user).unwrap();
    assert_eq!(s.token.len(), 64);
    assert_ne!(s.token, s.csrf);
    let catalog = std::fs::read(a.dir().join("catalog.sqlite")).unwrap();
    let wal = std::fs::read(a.dir().join("catalog.sqlite-wal")).unwrap_or_default();
    for bytes in [&catalog, &wal] {
        assert!(!bytes
            .windows(s.token.len())
            .any(|w| w == s.token.as_bytes()));
    }
    let (u2, s2) = a.session(&s.token).unwrap().unwrap();
    assert_eq!(
        (u2.name.as_str(), s2.csrf.as_str()),
        ("fukushi", s.csrf.as_str())
    );
    let mut tampered = s.token.clone().into_bytes();
    tampered[10] = if tampered[10] == b'a' { b'b' } else { b'a' };
    assert!(a
        .session(std::str::from_utf8(&tampered).unwrap())
        .unwrap()
        .is_none());
    assert!(a.session("../../etc/passwd").unwrap().is_none());
    assert!(a.session("").unwrap().is_none());
    db.execute("UPDATE sessions SET expires = expires - 9 * 3600", [])
        .unwrap();
    assert!(a.session(&s.token).unwrap().is_none(), "expired");
    let s = a.create_session(&user).unwrap();
    // Sliding: using the session pushes its expiry.
    db.execute("UPDATE sessions SET expires = expires - 7 * 3600", [])
        .unwrap();
    assert!(a.session(&s.token).unwrap().is_some());
    db.execute("UPDATE sessions SET expires = expires - 7 * 3600", [])
        .unwrap();
    assert!(a.session(&s.token).unwrap().is_some(), "slid 8 h ahead");
    a.end_session(&s.token).unwrap();
    assert!(a.session(&s.token).unwrap().is_none(), "signed out");
    let s = a.create_session(&user).unwrap();
    let admin = Viewer::for_user(&a.user("kanri").unwrap().unwrap());
    let disable = UserChange {
        disabled: Some(true),
        ..Default::default()
    };
    a.update_user(&admin, "fukushi", &disable).unwrap();
    assert!(a.session(&s.token).unwrap().is_none(), "disabled");
    assert!(matches!(
        a.authenticate("fukushi", PASSWORD),
        Err(AuthError::Wrong)
    ));
    // A megabyte of user name, or of detail, keeps the log's lines short and the chain intact.
    let huge = "名".repeat(1 << 20);
    assert!(matches!(a.authenticate(&huge, "x"), Err(AuthError::Wrong)));
    a.audit(&local, "open", None, &huge).unwrap();
    a.audit(&Viewer::new(&huge, Role::Viewer, None), "open", None, "")
        .unwrap();
    a.audit(&local, "open", None, "").unwrap();
    let r = a.audit_verify().unwrap();
    assert!(r.ok(), "{:?}", r.problems);
    let longest = std::fs::read_to_string(log_path(&a))
        .unwrap()
        .lines()
        .map(str::len)
        .max()
        .unwrap();
    assert!(longest < 4096, "{longest}");
}
