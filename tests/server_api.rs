//! `gijiroku serve` over HTTP, without a browser: sessions and CSRF, who sees what through
//! every API path, saving with conflicts, audio ranges, bad uploads, and a real recording going
//! through upload → job → archive → editor data → minutes → search with the real model.
//! (tests/web_browser.rs drives the pages themselves in Chromium.)

mod server_common;

use gijiroku::archive::users::Role;
use gijiroku::archive::{Archive, MeetingMeta, Viewer};
use gijiroku::transcript::{ModelInfo, Segment, Source, Speaker, Transcript, Word};
use server_common::*;
use std::path::Path;
use std::time::Duration;

const PASSWORD: &str = "correct horse battery staple";

/// A small transcript of `audio` (its sha256 and duration), two speakers, with `phrase` in it.
fn transcript(audio: &Path, phrase: &str) -> Transcript {
    let sha = gijiroku::util::sha256_file(audio).unwrap();
    let w = |s: f64, e: f64, t: &str, p: f32, sp: &str| Word {
        start: s,
        end: e,
        text: t.into(),
        probability: p,
        speaker: Some(sp.into()),
    };
    let seg = |id, s, e, words: Vec<Word>, sp: &str| Segment {
        id,
        start: s,
        end: e,
        text: words
            .iter()
            .map(|w| w.text.as_str())
            .collect::<String>()
            .trim()
            .to_string(),
        words,
        speaker: Some(sp.into()),
        avg_logprob: -0.3,
        no_speech_prob: 0.01,
        temperature: 0.0,
    };
    Transcript {
        schema_version: gijiroku::transcript::SCHEMA_VERSION,
        source: Source {
            path: audio.display().to_string(),
            file_name: audio.file_name().unwrap().to_string_lossy().into(),
            sha256: sha,
            duration: 11.0,
            sample_rate: 16000,
            channels: 1,
            codec: "pcm_s16le".into(),
        },
        language: "en".into(),
        model: ModelInfo {
            name: "test".into(),
            ..Default::default()
        },
        created_at: "2026-12-03T00:00:00Z".into(),
        speech: vec![],
        segments: vec![
            seg(
                0,
                0.5,
                3.0,
                vec![
                    w(0.5, 1.0, " And", 0.9, "S1"),
                    w(1.0, 2.0, " so", 0.4, "S1"),
                    w(2.0, 3.0, &format!(" {phrase}"), 0.95, "S1"),
                ],
                "S1",
            ),
            seg(
                1,
                4.0,
                7.0,
                vec![
                    w(4.0, 5.0, " ask", 0.9, "S2"),
                    w(5.0, 7.0, " not", 0.8, "S2"),
                ],
                "S2",
            ),
        ],
        speakers: vec![
            Speaker {
                id: "S1".into(),
                label: "Speaker 1".into(),
                name: None,
                role: None,
            },
            Speaker {
                id: "S2".into(),
                label: "Speaker 2".into(),
                name: None,
                role: None,
            },
        ],
        turns: vec![],
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    key: std::path::PathBuf,
    data: std::path::PathBuf,
    /// Meeting ids: public council, internal meeting, confidential of 福祉課, confidential of 子ども課.
    public: i64,
    internal: i64,
    welfare: i64,
    children: i64,
}

/// An archive with five users and four meetings of every kind of visibility.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let audio = repo("recordings/jfk-inaugural-1961.wav");
    let mut a = Archive::open(&data).unwrap();
    let key = dir.path().join("archive.key");
    a.set_key(gijiroku::archive::crypt::Key::create_file(&key).unwrap())
        .unwrap();
    let root = Viewer::local();
    for (name, role, dept) in [
        ("admin", Role::Admin, None),
        ("clerk", Role::Clerk, None),
        ("cw_welfare", Role::Caseworker, Some("福祉課")),
        ("cw_children", Role::Caseworker, Some("子ども課")),
        ("resident", Role::Viewer, None),
    ] {
        a.add_user(&root, name, PASSWORD, role, dept).unwrap();
    }
    let mut add = |title: &str, kind: &str, class: &str, dept: &str, phrase: &str| -> i64 {
        let t = transcript(&audio, phrase);
        let p = dir.path().join(format!("{title}.json"));
        // Distinct bytes per meeting (duplicates are refused).
        let mut t = t;
        t.created_at = format!("2026-12-03T00:00:0{}Z", title.len() % 10);
        t.source.file_name = format!("{title}.wav");
        t.save(&p).unwrap();
        let meta = MeetingMeta::parse(
            &format!("kind = \"{kind}\"\ntitle = \"{title}\"\ndate = \"2026-11-0{}\"\nclassification = \"{class}\"\ndepartment = \"{dept}\"\n", title.len() % 9 + 1),
            None,
        )
        .unwrap();
        a.add_transcript(&p, &meta, Some(&audio)).unwrap()
    };
    let public = add("plenary", "council", "public", "議会事務局", "freedomword");
    let internal = add(
        "staffmeeting",
        "meeting",
        "internal",
        "総務課",
        "internalword",
    );
    let welfare = add(
        "welfarecase",
        "consultation",
        "confidential",
        "福祉課",
        "welfareword",
    );
    let children = add(
        "childcase",
        "consultation",
        "confidential",
        "子ども課",
        "childword",
    );
    Fixture {
        _dir: dir,
        key,
        data,
        public,
        internal,
        welfare,
        children,
    }
}

fn signed_in(s: &Server, user: &str) -> Client {
    let mut c = s.client();
    let r = c.login(user, PASSWORD);
    assert_eq!(r.status, 200, "login {user}: {}", r.text());
    c
}

#[test]
fn sessions_csrf_and_cross_site_requests() {
    let f = fixture();
    let s = Server::start(&f.data, &["--key-file", f.key.to_str().unwrap()]);
    let mut c = s.client();
    assert_eq!(c.get("/api/me").status, 401);
    assert_eq!(c.get("/api/meetings").status, 401);
    let r = c.login("clerk", "wrong");
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "wrong user name or password");
    assert_eq!(
        c.login("nobody", "x").status,
        401,
        "unknown users look like wrong passwords"
    );
    let r = c.login("clerk", PASSWORD);
    assert_eq!(r.status, 200);
    let cookie = r.header("set-cookie").unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert_eq!(c.get("/api/me").json()["user"]["role"], "clerk");
    // A write without the CSRF token, with a wrong one, or from another site is refused.
    let r = c.send("POST", "/api/logout", &[("X-CSRF-Token", "forged")], b"");
    assert_eq!(r.status, 403);
    let mut no_token = c.clone();
    no_token.csrf = None;
    assert_eq!(no_token.send("POST", "/api/logout", &[], b"").status, 403);
    let r = c.send(
        "POST",
        "/api/logout",
        &[("Sec-Fetch-Site", "cross-site")],
        b"",
    );
    assert_eq!(r.status, 403);
    let r = c.send(
        "POST",
        "/api/logout",
        &[("Origin", "http://evil.example")],
        b"",
    );
    assert_eq!(r.status, 403);
    // A tampered cookie is no session.
    let mut tampered = c.clone();
    let mut v = tampered.cookie.clone().unwrap();
    let last = v.pop().unwrap();
    v.push(if last == '0' { '1' } else { '0' });
    tampered.cookie = Some(v);
    assert_eq!(tampered.get("/api/me").status, 401);
    // Logging out ends the session on the server, not only in the browser.
    assert_eq!(c.send("POST", "/api/logout", &[], b"").status, 204);
    assert_eq!(c.get("/api/me").status, 401);
    // Pages are public shells; data needs a session.
    let page = s.client().get("/meetings/1");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("default-src 'self'"));
}

#[test]
fn every_api_path_shows_exactly_what_the_role_allows() {
    let f = fixture();
    // The council's style file applies to every draft the server makes (minutes downloads
    // below); a style file with a misspelt key stops serve before it listens, in one line.
    let style = repo("examples/style-shinagawa.toml");
    let bad = f.data.parent().unwrap().join("bad-style.toml");
    std::fs::write(&bad, "[conventions]\nchair_sentence_line = true\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gijiroku"))
        .args([
            "--data",
            f.data.to_str().unwrap(),
            "serve",
            "--addr",
            "127.0.0.1:0",
        ])
        .args(["--minutes-style", bad.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("chair_sentence_line"), "{err}");
    let s = Server::start(
        &f.data,
        &[
            "--key-file",
            f.key.to_str().unwrap(),
            "--minutes-style",
            style.to_str().unwrap(),
        ],
    );
    let ids = [f.public, f.internal, f.welfare, f.children];
    // Which meetings each user may read (the access matrix in archive/access.rs).
    let allowed: [(&str, Vec<i64>); 5] = [
        ("admin", ids.to_vec()),
        ("clerk", vec![f.public, f.internal]),
        ("cw_welfare", vec![f.public, f.internal, f.welfare]),
        ("cw_children", vec![f.public, f.internal, f.children]),
        ("resident", vec![f.public]),
    ];
    let words = [
        (f.public, "freedomword"),
        (f.internal, "internalword"),
        (f.welfare, "welfareword"),
        (f.children, "childword"),
    ];
    for (user, may) in &allowed {
        let c = signed_in(&s, user);
        let list: Vec<i64> = c
            .get("/api/meetings")
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_i64().unwrap())
            .collect();
        let mut want = may.clone();
        want.sort();
        let mut got = list.clone();
        got.sort();
        assert_eq!(got, want, "{user}: list");
        for id in ids {
            let sees = may.contains(&id);
            for path in [
                format!("/api/meetings/{id}"),
                format!("/api/meetings/{id}/transcript"),
                format!("/api/meetings/{id}/transcript?version=1"),
                format!("/api/meetings/{id}/versions"),
                format!("/api/meetings/{id}/diff?from=1&to=1"),
                format!("/api/meetings/{id}/audio"),
                format!("/api/meetings/{id}/minutes.md"),
                format!("/api/meetings/{id}/minutes.docx"),
            ] {
                let r = c.get(&path);
                if sees {
                    assert!(
                        r.status == 200 || r.status == 206,
                        "{user} {path}: {} {}",
                        r.status,
                        r.text()
                    );
                } else {
                    assert_eq!(r.status, 404, "{user} {path}: {}", r.text());
                    assert_eq!(
                        r.json()["error"],
                        "no such meeting",
                        "{user} {path}: the same answer as for a meeting that does not exist"
                    );
                }
            }
            let missing = c.get("/api/meetings/99999");
            assert_eq!(missing.status, 404);
            assert_eq!(missing.json()["error"], "no such meeting");
        }
        for (id, word) in words {
            let r = c.get(&format!("/api/search?q={word}")).json();
            let hits: Vec<i64> = r["hits"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["meeting_id"].as_i64().unwrap())
                .collect();
            if may.contains(&id) {
                assert_eq!(hits, vec![id], "{user} searching {word}");
                assert_eq!(r["total"], 1);
            } else {
                assert!(hits.is_empty(), "{user} found {word} in meeting {id}");
                assert_eq!(r["total"], 0, "{user}: hit counts must not betray {word}");
            }
        }
        // Administration answers as if it did not exist for everyone else.
        let users = c.get("/api/users");
        let audit = c.get("/api/audit");
        if *user == "admin" {
            assert_eq!(users.status, 200);
            assert_eq!(audit.status, 200);
        } else {
            assert_eq!(users.status, 404, "{user}");
            assert_eq!(audit.status, 404, "{user}");
        }
    }
    // Reading through the API leaves entries in the audit log.
    let admin = signed_in(&s, "admin");
    let log = admin
        .get(&format!("/api/audit?meeting={}", f.welfare))
        .json();
    let actions: Vec<(String, String)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["user"].as_str().unwrap_or("").to_string(),
                e["action"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for act in ["open", "play", "export", "search"] {
        assert!(
            actions.iter().any(|(u, a)| u == "cw_welfare" && a == act),
            "no {act} by cw_welfare in {actions:?}"
        );
    }
    assert!(
        !actions
            .iter()
            .any(|(u, _)| u == "cw_children" || u == "clerk"),
        "{actions:?}"
    );
}

#[test]
fn saving_edits_makes_versions_and_refuses_stale_saves() {
    let f = fixture();
    let s = Server::start(&f.data, &["--key-file", f.key.to_str().unwrap()]);
    let clerk = signed_in(&s, "clerk");
    let other = signed_in(&s, "admin");
    let id = f.public;
    let r = clerk.get(&format!("/api/meetings/{id}/transcript")).json();
    assert_eq!(r["version"], 1);
    let mut t = r["transcript"].clone();
    t["segments"][0]["words"][1]["text"] = " liberty".into();
    t["segments"][0]["text"] = "And liberty freedomword".into();
    t["speakers"][0]["name"] = "Kennedy".into();
    let saved = clerk.json(
        "PUT",
        &format!("/api/meetings/{id}/transcript"),
        &serde_json::json!({"base_version": 1, "transcript": t, "note": "word and name"}),
    );
    assert_eq!(saved.status, 200, "{}", saved.text());
    assert_eq!(saved.json()["version"], 2);
    // The edited word is what search finds now; the machine's word is gone from the index.
    assert_eq!(clerk.get("/api/search?q=liberty").json()["total"], 1);
    // The other user still edits version 1: refused, with the latest version named.
    let mut t2 = r["transcript"].clone();
    t2["segments"][1]["words"][0]["text"] = " ASK".into();
    let stale = other.json(
        "PUT",
        &format!("/api/meetings/{id}/transcript"),
        &serde_json::json!({"base_version": 1, "transcript": t2}),
    );
    assert_eq!(stale.status, 409, "{}", stale.text());
    assert_eq!(stale.json()["latest_version"], 2);
    assert!(stale.json()["error"].as_str().unwrap().contains("clerk"));
    // Nothing was lost: version 2 is the clerk's, version 1 the machine's.
    let v2 = clerk.get(&format!("/api/meetings/{id}/transcript")).json();
    assert_eq!(v2["version"], 2);
    assert_eq!(
        v2["transcript"]["segments"][0]["words"][1]["text"],
        " liberty"
    );
    assert_eq!(v2["transcript"]["speakers"][0]["name"], "Kennedy");
    let v1 = clerk
        .get(&format!("/api/meetings/{id}/transcript?version=1"))
        .json();
    assert_eq!(v1["transcript"]["segments"][0]["words"][1]["text"], " so");
    // Saving again on top of the latest works.
    let ok = other.json(
        "PUT",
        &format!("/api/meetings/{id}/transcript"),
        &serde_json::json!({"base_version": 2, "transcript": t2}),
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    let versions = clerk.get(&format!("/api/meetings/{id}/versions")).json();
    let v: Vec<(i64, String)> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                v["author"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        v,
        vec![(1, String::new()), (2, "clerk".into()), (3, "admin".into())]
    );
    let d = clerk
        .get(&format!("/api/meetings/{id}/diff?from=1&to=2"))
        .json();
    assert_eq!(d["renamed"][0]["to"], "Kennedy");
    let ops = d["changes"][0]["ops"].as_array().unwrap();
    assert!(
        ops.iter().any(|o| o["op"] == "delete" && o["text"] == "so"),
        "{d}"
    );
    assert!(
        ops.iter()
            .any(|o| o["op"] == "insert" && o["text"] == "liberty"),
        "{d}"
    );
    // The edited word is what search finds now; the machine's word is gone from the index.
    // A broken transcript is refused with a reason, and changes nothing.
    let mut bad = v2["transcript"].clone();
    bad["segments"][1]["start"] = 0.1.into();
    bad["segments"][1]["end"] = 0.2.into();
    let r = clerk.json(
        "PUT",
        &format!("/api/meetings/{id}/transcript"),
        &serde_json::json!({"base_version": 3, "transcript": bad}),
    );
    assert_eq!(r.status, 422, "{}", r.text());
    let mut bad = v2["transcript"].clone();
    bad["segments"][0]["speaker"] = "S9".into();
    let r = clerk.json(
        "PUT",
        &format!("/api/meetings/{id}/transcript"),
        &serde_json::json!({"base_version": 3, "transcript": bad}),
    );
    assert_eq!(r.status, 422, "{}", r.text());
    let r = clerk.send(
        "PUT",
        &format!("/api/meetings/{id}/transcript"),
        &[("Content-Type", "application/json")],
        b"{\"base_version\": 3, \"transcript\": 5}",
    );
    assert_eq!(r.status, 422);
    assert_eq!(
        clerk
            .get(&format!("/api/meetings/{id}/versions"))
            .json()
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // A viewer may read but not edit.
    let resident = signed_in(&s, "resident");
    let r = resident.json(
        "PUT",
        &format!("/api/meetings/{id}/transcript"),
        &serde_json::json!({"base_version": 3, "transcript": v2["transcript"]}),
    );
    assert!(
        r.status == 403 || r.status == 404,
        "{} {}",
        r.status,
        r.text()
    );
}

#[test]
fn audio_is_served_in_ranges() {
    let f = fixture();
    let s = Server::start(&f.data, &["--key-file", f.key.to_str().unwrap()]);
    let c = signed_in(&s, "clerk");
    let original = std::fs::read(repo("recordings/jfk-inaugural-1961.wav")).unwrap();
    let full = c.get(&format!("/api/meetings/{}/audio", f.public));
    assert_eq!(full.status, 200);
    assert_eq!(full.header("accept-ranges"), Some("bytes"));
    assert_eq!(full.header("content-type"), Some("audio/wav"));
    assert_eq!(full.body, original);
    for (from, to) in [(0usize, 0usize), (100, 4195), (300_000, original.len() - 1)] {
        let r = c.send(
            "GET",
            &format!("/api/meetings/{}/audio", f.public),
            &[("Range", &format!("bytes={from}-{to}"))],
            b"",
        );
        assert_eq!(r.status, 206);
        assert_eq!(
            r.header("content-range").unwrap(),
            format!("bytes {from}-{to}/{}", original.len())
        );
        assert_eq!(r.body, &original[from..=to]);
    }
    let r = c.send(
        "GET",
        &format!("/api/meetings/{}/audio", f.public),
        &[("Range", "bytes=-100")],
        b"",
    );
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &original[original.len() - 100..]);
    let r = c.send(
        "GET",
        &format!("/api/meetings/{}/audio", f.public),
        &[("Range", &format!("bytes={}-", original.len() + 10))],
        b"",
    );
    assert_eq!(r.status, 416);
}

#[test]
fn bad_uploads_and_requests_get_clear_4xx_answers() {
    let f = fixture();
    let s = Server::start(
        &f.data,
        &["--max-upload", "1M", "--key-file", f.key.to_str().unwrap()],
    );
    let c = signed_in(&s, "clerk");
    let upload = |fields: &[(&str, &str)], name: &str, bytes: &[u8]| {
        let (ct, body) = multipart(fields, name, bytes);
        c.send("POST", "/api/jobs", &[("Content-Type", &ct)], &body)
    };
    // Not audio.
    let r = upload(
        &[("kind", "committee")],
        "notes.wav",
        b"this is a text file, not a recording at all, nothing to hear",
    );
    assert_eq!(r.status, 415, "{}", r.text());
    assert!(r.json()["error"].as_str().unwrap().contains("not an audio"));
    // Empty.
    assert_eq!(
        upload(&[("kind", "committee")], "empty.wav", b"").status,
        400
    );
    // No file field.
    let (ct, _) = multipart(&[], "x.wav", b"");
    let r = c.send(
        "POST",
        "/api/jobs",
        &[("Content-Type", &ct)],
        format!("--{}--\r\n", ct.split("boundary=").nth(1).unwrap()).as_bytes(),
    );
    assert_eq!(r.status, 400);
    // Not multipart at all.
    assert_eq!(
        c.send(
            "POST",
            "/api/jobs",
            &[("Content-Type", "text/plain")],
            b"hello"
        )
        .status,
        400
    );
    // Bad fields.
    let wav = std::fs::read(repo("recordings/jfk-inaugural-1961.wav")).unwrap();
    for fields in [
        vec![("kind", "party")],
        vec![("kind", "committee"), ("date", "2026-13-45")],
        vec![("kind", "committee"), ("start_time", "1時")],
        vec![("kind", "committee"), ("speakers", "1000")],
        vec![("kind", "committee"), ("model", "whisper-enormous")],
        vec![("classification", "confidential"), ("department", "福祉課")],
    ] {
        let r = upload(&fields, "jfk.wav", &wav);
        let want = if fields.iter().any(|f| f.1 == "confidential") {
            403
        } else {
            400
        };
        assert!(r.status == want, "{fields:?}: {} {}", r.status, r.text());
        assert!(r.json()["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    // Too big: refused from the announced length before any byte is read …
    let (ct, head) = multipart(&[], "huge.wav", b"RIFF");
    let h = vec![
        ("Content-Type".to_string(), ct.clone()),
        ("Cookie".to_string(), c.cookie.clone().unwrap()),
        ("X-CSRF-Token".to_string(), c.csrf.clone().unwrap()),
    ];
    let r = raw(
        s.addr,
        "POST",
        "/api/jobs",
        &h,
        &head[..head.len() - 10],
        Some(5 << 30),
    );
    assert_eq!(r.status, 413, "{}", r.text());
    // … and when the length is not announced (chunked), once the limit is passed.
    let big = vec![0u8; 1_200_000];
    let (ct2, body) = multipart(&[], "big.wav", &big);
    let mut chunked = Vec::new();
    for part in body.chunks(64 * 1024) {
        chunked.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        chunked.extend_from_slice(part);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let mut h2 = h.clone();
    h2[0].1 = ct2;
    h2.push(("Transfer-Encoding".into(), "chunked".into()));
    let r = raw(s.addr, "POST", "/api/jobs", &h2, &chunked, None);
    assert_eq!(r.status, 413, "{}", r.text());
    // Cut off: the client announces 500 kB and stops after 100 kB.
    let (ct3, body) = multipart(&[], "cut.wav", &wav[..300_000]);
    let mut h3 = h.clone();
    h3[0].1 = ct3;
    let r = raw(
        s.addr,
        "POST",
        "/api/jobs",
        &h3,
        &body[..100_000],
        Some(500_000),
    );
    assert!(r.status == 400 || r.status == 0, "{}", r.text());
    // Nothing was queued and nothing is left in the uploads folder.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c.get("/api/jobs").json().as_array().unwrap().len(), 0);
    let left: Vec<_> = std::fs::read_dir(f.data.join("uploads")).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    // Unknown things.
    assert_eq!(c.get("/api/jobs/12345").status, 404);
    assert_eq!(c.get("/api/meetings/abc").status, 400);
    assert_eq!(
        c.get(&format!("/api/meetings/{}/minutes.exe", f.public))
            .status,
        404
    );
    assert_eq!(
        c.get(&format!("/api/meetings/{}/transcript?version=9", f.public))
            .status,
        404
    );
    assert_eq!(
        c.get(&format!("/api/meetings/{}/diff", f.public)).status,
        400
    );
    assert_eq!(c.get("/api/nothing").status, 404);
    assert_eq!(c.get("/api/search?q=").status, 400);
    assert_eq!(c.get("/api/search?q=a&from=3000-99-01").status, 400);
    let r = c.send(
        "POST",
        "/api/login",
        &[("Content-Type", "application/json")],
        b"{not json",
    );
    assert_eq!(r.status, 400);
    // Path traversal in asset names finds nothing.
    assert_eq!(c.get("/assets/../Cargo.toml").status, 404);
    assert_eq!(c.get("/assets/%2e%2e/%2e%2e/Cargo.toml").status, 404);
}

/// The whole flow on a real recording with the real (tiny.en) model, and a restart in the
/// middle of a job: the job is queued again and finishes.
#[test]
fn upload_transcribe_archive_review_with_the_real_model() {
    let f = fixture();
    let mut s = Server::start(&f.data, &["--key-file", f.key.to_str().unwrap()]);
    let c = signed_in(&s, "clerk");
    let wav = std::fs::read(repo("recordings/jfk-inaugural-1961.wav")).unwrap();
    let (ct, body) = multipart(
        &[
            ("kind", "committee"),
            ("language", "en"),
            ("model", "whisper-tiny.en"),
            ("title", "JFK test"),
            ("date", "2026-11-30"),
            ("start_time", "10:00"),
        ],
        "jfk 1961.wav",
        &wav,
    );
    let r = c.send("POST", "/api/jobs", &[("Content-Type", &ct)], &body);
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["job"]["id"].as_i64().unwrap();
    // Kill the server as soon as the job runs: it must be queued again, with its file.
    let t0 = std::time::Instant::now();
    while c.get(&format!("/api/jobs/{id}")).json()["state"] == "queued"
        && t0.elapsed() < Duration::from_secs(30)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    s.kill();
    let upload_dir = f.data.join("uploads").join(id.to_string());
    assert!(
        upload_dir.read_dir().unwrap().count() >= 1,
        "the upload survives the kill"
    );
    // The archive has a key: what waits in the uploads folder is sealed, nothing lies there
    // in the clear (not the recording, not a transcript or draft of it).
    for e in upload_dir.read_dir().unwrap() {
        let p = e.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        assert!(
            gijiroku::crypt::is_encrypted(&bytes),
            "{} is not sealed",
            p.display()
        );
        assert!(bytes
            .windows(wav.len().min(4096))
            .all(|w| w != &wav[..wav.len().min(4096)]));
    }
    let s = Server::start(&f.data, &["--key-file", f.key.to_str().unwrap()]);
    let c = signed_in(&s, "clerk");
    // Progress as Server-Sent Events until the end.
    let mut events = c.clone();
    let sse = std::thread::spawn(move || {
        events.cookie.take().map(|ck| {
            let h = vec![("Cookie".to_string(), ck)];
            raw(
                events.addr,
                "GET",
                &format!("/api/jobs/{id}/events"),
                &h,
                b"",
                None,
            )
        })
    });
    let j = wait_job(&c, id, Duration::from_secs(600));
    assert_eq!(j["state"], "done", "{j}");
    assert_eq!(j["percent"], 100.0);
    let sse = sse.join().unwrap().unwrap();
    assert_eq!(sse.header("content-type"), Some("text/event-stream"));
    let stream = sse.text();
    assert!(stream.contains("\"state\":\"done\""), "{stream}");
    assert!(stream.matches("data:").count() >= 2, "{stream}");
    let meeting = j["meeting_id"].as_i64().unwrap();
    // The editor's data: words with times and probabilities.
    let t = c.get(&format!("/api/meetings/{meeting}/transcript")).json();
    let words: Vec<String> = t["transcript"]["segments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["words"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w["text"].as_str().unwrap().trim().to_lowercase())
        })
        .collect();
    let text = words.join(" ");
    assert!(text.contains("country"), "{text}");
    assert!(words.len() > 15, "{text}");
    // A voiceprint is enrolled from the archived recording, read in place.
    let speaker = t["transcript"]["speakers"][0]["id"]
        .as_str()
        .expect("the job diarized the recording")
        .to_string();
    let r = c.send(
        "POST",
        &format!("/api/meetings/{meeting}/speakers/{speaker}/enroll"),
        &[("Content-Type", "application/json")],
        br#"{"name": "John F. Kennedy"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["seconds"].as_f64().unwrap() > 1.0, "{}", r.text());
    // The recording came along, and minutes are drafted from the transcript.
    assert_eq!(c.get(&format!("/api/meetings/{meeting}/audio")).body, wav);
    let docx = c.get(&format!("/api/meetings/{meeting}/minutes.docx"));
    assert_eq!(docx.status, 200);
    assert_eq!(&docx.body[..2], b"PK", "a DOCX is a zip");
    assert!(docx
        .header("content-disposition")
        .unwrap()
        .contains("attachment"));
    let md = c.get(&format!("/api/meetings/{meeting}/minutes.md")).text();
    assert!(md.contains("JFK test"), "{md}");
    assert!(c.get("/api/search?q=country").json()["hits"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["meeting_id"] == meeting));
    // The upload folder is gone once archived; the job list shows the job done.
    assert!(!upload_dir.exists());
    let jobs = c.get("/api/jobs").json();
    assert_eq!(jobs[0]["id"], id);
    assert_eq!(jobs[0]["state"], "done");
    // Another user does not see the clerk's job.
    assert_eq!(
        signed_in(&s, "resident")
            .get(&format!("/api/jobs/{id}"))
            .status,
        404
    );
}
