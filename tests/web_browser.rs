//! The web pages of `gijiroku serve`, driven in a real headless browser: Debian's `chromium`
//! through `chromedriver` (both installed by scripts/setup.sh; nothing is downloaded). The test
//! starts the real binary on a free port with a temporary archive, signs in, uploads a real
//! recording, follows the job to the end, reviews the transcript in the editor (seek by click,
//! keyboard, word edit, speaker rename, autosave, reload), downloads the DOCX minutes, finds
//! the edited word with the search page, and makes a second browser session save first so the
//! first one meets the conflict banner. Screenshots for the README go to docs/screenshots/.

mod common;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const USER: &str = "tanaka";
const PASSWORD: &str = "kaigiroku-2026";
/// The word typed over a recognised one: unusual enough that search finds only it.
const EDIT: &str = "Zephyrtest";
const SPEAKER: &str = "Chair Tanaka";

/// A child process killed (and reaped) when the test ends, passes or panics.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_gijiroku")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free local port")
}

/// The archive's first account must be an administrator; later ones are added as that admin.
const ADMIN: &str = "kanri";
const ADMIN_PASSWORD: &str = "kanri-password-1";

/// Adds a user with the CLI before the server starts (the password goes through stdin; after
/// the first account, the CLI acts as the administrator through GIJIROKU_USER/PASSWORD).
fn add_user(data: &Path, name: &str, role: &str, password: &str) {
    let mut cmd = Command::new(bin());
    cmd.arg("--data")
        .arg(data)
        .args(["users", "add", name, "--role", role, "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if name != ADMIN {
        cmd.env("GIJIROKU_USER", ADMIN)
            .env("GIJIROKU_PASSWORD", ADMIN_PASSWORD);
    }
    let mut child = cmd.spawn().expect("cannot run gijiroku users add");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "users add {name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts `gijiroku serve` on a free port; returns the process and its base URL (read from the
/// first stdout line, `listening on http://127.0.0.1:PORT`).
fn start_server(data: &Path) -> (Proc, String) {
    let mut child = Command::new(bin())
        .env("GIJIROKU_MODELS", common::models_dir())
        .arg("--data")
        .arg(data)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cannot start gijiroku serve");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line from serve: {line:?}"))
        .to_string();
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = out.read_to_end(&mut sink);
    });
    (Proc(child), url)
}

fn start_chromedriver() -> (Proc, String) {
    let port = free_port();
    let child = Command::new("/usr/bin/chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect(
            "chromedriver missing: run scripts/setup.sh (Debian packages chromium chromium-driver)",
        );
    let proc = Proc(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not start listening on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (proc, format!("http://127.0.0.1:{port}"))
}

/// A new headless Chromium session with its own profile folder.
async fn browser(driver: &str, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--no-default-browser-check", "--window-size=1440,900",
                "--autoplay-policy=no-user-gesture-required", "--lang=ja",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(driver)
        .await
        .expect("cannot open a Chromium session through chromedriver")
}

/// The one element `css` names (the test fails if it is missing).
async fn el(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element {css}: {e}"))
}

async fn click(c: &Client, css: &str) {
    el(c, css).await.click().await.unwrap();
}

async fn fill(c: &Client, css: &str, text: &str) {
    el(c, css).await.send_keys(text).await.unwrap();
}

/// Waits up to `secs` for the element `css` names (pages render after their fetches).
async fn wait_el(c: &Client, css: &str, secs: u64) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(secs))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element {css} after {secs} s: {e}"))
}

async fn screenshot(c: &Client, name: &str) {
    std::fs::write(screenshots_dir().join(name), c.screenshot().await.unwrap()).unwrap();
}

async fn choose(c: &Client, css: &str, value: &str) {
    el(c, css).await.select_by_value(value).await.unwrap();
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

/// Polls a JS expression until it is truthy; returns its value.
async fn wait_js(c: &Client, expr: &str, secs: u64, what: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let v = js(c, &format!("return ({expr});")).await;
        if truthy(&v) {
            return v;
        }
        if Instant::now() > deadline {
            let shot = c.screenshot().await.ok();
            if let Some(png) = shot {
                let _ = std::fs::write(std::env::temp_dir().join("web_browser_failure.png"), png);
            }
            panic!("timed out after {secs} s waiting for {what}: {expr} (last value {v})");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Presses a chord (keys held in order, released in reverse) as real keyboard input to the
/// focused element.
async fn press(c: &Client, chord: &[char]) {
    let mut ka = KeyActions::new("keyboard".into());
    for &k in chord {
        ka = ka.then(KeyAction::Down { value: k });
    }
    for &k in chord.iter().rev() {
        ka = ka.then(KeyAction::Up { value: k });
    }
    c.perform_actions(ka).await.expect("key press failed");
}

async fn type_text(c: &Client, text: &str) {
    let mut ka = KeyActions::new("keyboard".into());
    for ch in text.chars() {
        ka = ka
            .then(KeyAction::Down { value: ch })
            .then(KeyAction::Up { value: ch });
    }
    c.perform_actions(ka).await.expect("typing failed");
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn screenshots_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn sign_in(c: &Client, base: &str, password: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    let user = wait_el(c, "#user", 10).await;
    user.send_keys(USER).await.unwrap();
    fill(c, "#password", password).await;
    click(c, "#login-submit").await;
}

/// Waits until the editor shows words and the recording's metadata is loaded.
async fn editor_ready(c: &Client) {
    wait_js(
        c,
        "document.querySelectorAll('#transcript .w').length > 0",
        20,
        "words in the editor",
    )
    .await;
    wait_js(
        c,
        "document.getElementById('audio').readyState >= 1",
        20,
        "the audio's metadata",
    )
    .await;
}

/// Clicks word `i`, then replaces it by typing: Enter opens the inline editor with the word
/// selected, the typed text replaces it, Enter commits.
async fn retype_word(c: &Client, i: i64, text: &str) {
    click(c, &format!("#transcript .w[data-i='{i}']")).await;
    press(c, &[Key::Enter.into()]).await;
    wait_js(
        c,
        "document.activeElement && document.activeElement.isContentEditable",
        5,
        "the inline word editor",
    )
    .await;
    type_text(c, text).await;
    press(c, &[Key::Enter.into()]).await;
    wait_js(
        c,
        &format!("[...document.querySelectorAll('#transcript .w')].some(w => w.textContent === '{text}')"),
        5,
        "the edited word in the transcript",
    )
    .await;
}

async fn wait_saved(c: &Client, what: &str) -> i64 {
    wait_js(
        c,
        "document.getElementById('save-status').dataset.state === 'saved'",
        30,
        what,
    )
    .await;
    let t = js(
        c,
        "return document.getElementById('save-status').textContent",
    )
    .await;
    let s = t.as_str().unwrap();
    // "保存済み（第N版）"
    s.trim_start_matches(|ch: char| !ch.is_ascii_digit())
        .trim_end_matches(|ch: char| !ch.is_ascii_digit())
        .parse()
        .unwrap_or_else(|_| panic!("no version in the save status {s:?}"))
}

/// The words the editor shows, in order.
async fn shown_words(c: &Client) -> Vec<String> {
    serde_json::from_value(
        js(
            c,
            "return [...document.querySelectorAll('#transcript .w')].map(w => w.textContent)",
        )
        .await,
    )
    .unwrap()
}

/// Ctrl+F finds every occurrence of a word, Ctrl+H replaces one or all of them, and one
/// Ctrl+Z undoes a replace-all.
async fn find_and_replace(c: &Client) {
    let before = shown_words(c).await;
    let clean = |w: &str| {
        w.trim_matches(|ch: char| !ch.is_alphanumeric())
            .to_lowercase()
    };
    // A word of 3+ letters said at least twice.
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for w in &before {
        let w = clean(w);
        if w.chars().count() >= 3 && w.chars().all(char::is_alphabetic) {
            *counts.entry(w).or_default() += 1;
        }
    }
    let (q, whole) = counts
        .iter()
        .filter(|(_, n)| **n >= 2)
        .max_by_key(|(_, n)| **n)
        .map(|(w, n)| (w.clone(), *n))
        .expect("a word said twice in the meeting");
    let containing = |words: &[String], needle: &str| {
        words
            .iter()
            .filter(|w| w.to_lowercase().contains(needle))
            .count()
    };

    press(c, &[Key::Control.into(), 'f']).await;
    wait_js(
        c,
        "document.activeElement.id === 'find-q'",
        5,
        "the find field",
    )
    .await;
    type_text(c, &q).await;
    press(c, &[Key::Enter.into()]).await;
    let count = wait_js(
        c,
        "/件/.test(document.getElementById('find-count').textContent) && document.getElementById('find-count').textContent",
        5,
        "the match count",
    )
    .await;
    let count = count.as_str().unwrap().to_string();
    let total: usize = count
        .split('/')
        .nth(1)
        .and_then(|t| t.trim().trim_end_matches('件').trim().parse().ok())
        .unwrap_or_else(|| panic!("count {count:?}"));
    assert!(count.starts_with("1 /"), "{count}");
    assert!(
        total >= whole,
        "{total} matches of {q:?}, said {whole} times as a word"
    );
    let marked = num(&js(
        c,
        "return document.querySelectorAll('#transcript .w.found').length",
    )
    .await);
    assert!(
        marked as usize >= total,
        "{marked} words marked for {total} matches"
    );

    // Replace one: exactly one occurrence changes and the count goes down by one.
    press(c, &[Key::Control.into(), 'h']).await;
    wait_js(
        c,
        "document.activeElement.id === 'find-r'",
        5,
        "the replace field",
    )
    .await;
    type_text(c, "Q9Q9Q").await;
    press(c, &[Key::Enter.into()]).await;
    wait_js(
        c,
        &format!(
            "document.getElementById('find-count').textContent.endsWith('/ {} 件')",
            total - 1
        ),
        5,
        "the count after one replacement",
    )
    .await;
    let one = shown_words(c).await;
    assert_eq!(containing(&one, "q9q9q"), 1, "{one:?}");

    // Replace all: no occurrence is left; one Ctrl+Z brings every word back.
    click(c, "#find-all").await;
    wait_js(
        c,
        "/置換しました/.test(document.getElementById('find-count').textContent)",
        5,
        "the replace-all report",
    )
    .await;
    let all = shown_words(c).await;
    assert_eq!(
        containing(&all, &q),
        0,
        "{q:?} left after replace-all: {all:?}"
    );
    assert!(containing(&all, "q9q9q") >= whole);
    press(c, &[Key::Escape.into()]).await;
    wait_js(
        c,
        "document.getElementById('findbar').classList.contains('hidden')",
        5,
        "the closed find bar",
    )
    .await;
    press(c, &[Key::Control.into(), 'z']).await;
    press(c, &[Key::Control.into(), 'z']).await;
    wait_js(
        c,
        "![...document.querySelectorAll('#transcript .w')].some(w => /q9q9q/i.test(w.textContent))",
        5,
        "the undone replacements",
    )
    .await;
    assert_eq!(
        shown_words(c).await,
        before,
        "two Ctrl+Z restore every word"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_flow_in_a_real_browser() {
    let tiny = common::models_dir().join("ggml-whisper-tiny.en.bin");
    assert!(
        tiny.is_file(),
        "{} missing: run scripts/setup.sh (or set GIJIROKU_MODELS)",
        tiny.display()
    );
    assert!(
        Path::new("/usr/bin/chromium").is_file(),
        "/usr/bin/chromium missing: run scripts/setup.sh (Debian packages chromium chromium-driver)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    add_user(&data, ADMIN, "admin", ADMIN_PASSWORD);
    add_user(&data, USER, "clerk", PASSWORD);
    let (_server, base) = start_server(&data);
    let (_driver, driver) = start_chromedriver();
    let c = browser(&driver, &tmp.path().join("profile1")).await;

    // ---- sign in: a wrong password shows the server's error, the right one opens the archive
    sign_in(&c, &base, "wrong password").await;
    let err = wait_js(&c, "!document.getElementById('login-error').classList.contains('hidden') && document.getElementById('login-error').textContent", 10, "the login error").await;
    assert!(!err.as_str().unwrap().is_empty());
    sign_in(&c, &base, PASSWORD).await;
    wait_js(&c, "location.pathname === '/' && document.getElementById('who') && document.getElementById('who').textContent", 15, "the archive page after sign-in").await;

    // ---- upload a real recording (30 s, 3 speakers, English) with whisper-tiny.en
    let rec = Path::new(env!("CARGO_MANIFEST_DIR")).join("recordings/ami-meeting-excerpt.wav");
    wait_js(
        &c,
        "document.querySelector('#up-model option[value=\"whisper-tiny.en\"]')",
        10,
        "the model list",
    )
    .await;
    // Language and model sit in the collapsed "詳しい設定" section.
    click(&c, "#upload-panel summary").await;
    choose(&c, "#up-language", "en").await;
    choose(&c, "#up-model", "whisper-tiny.en").await;
    // A clerk files committee meetings (public); the form starts on that kind for clerks.
    let kind = el(&c, "#up-kind").await;
    assert_eq!(
        kind.prop("value").await.unwrap().as_deref(),
        Some("committee")
    );
    fill(&c, "#up-title", "Project meeting (browser test)").await;
    fill(&c, "#up-body", "Design team").await;
    fill(&c, "#up-file", rec.to_str().unwrap()).await;
    click(&c, "#up-submit").await;

    // The job row appears and its progress bar moves to 100 % (seen through the SSE stream).
    wait_js(&c, "document.querySelector('.job')", 30, "the job row").await;
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let v = js(&c, "const j = document.querySelector('.job'); return [j.dataset.state, j.dataset.stage, Number(j.dataset.percent), j.querySelector('.bar > div').style.width];").await;
        let state = v[0].as_str().unwrap_or("").to_string();
        let pct = num(&v[2]);
        if seen.last() != Some(&pct) {
            seen.push(pct);
        }
        if state == "done" {
            assert_eq!(v[3], "100%", "the done job's bar is full");
            break;
        }
        assert_ne!(
            state,
            "failed",
            "the job failed: {}",
            js(&c, "return document.querySelector('.job').textContent").await
        );
        assert!(
            Instant::now() < deadline,
            "the job did not finish in 10 minutes (progress seen {seen:?})"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        seen.last(),
        Some(&100.0),
        "progress ends at 100 %: {seen:?}"
    );
    eprintln!("progress values seen in the browser: {seen:?}");
    // The meetings list refreshes with the new meeting.
    wait_js(
        &c,
        "document.querySelectorAll('#meetings tbody tr').length === 1",
        15,
        "the meeting in the list",
    )
    .await;
    // The form was cleared for the next recording; fold its details and show the page's top.
    assert_eq!(
        js(&c, "return document.getElementById('up-title').value").await,
        ""
    );
    js(
        &c,
        "document.querySelector('#upload-panel details').open = false; window.scrollTo(0, 0);",
    )
    .await;
    screenshot(&c, "archive.png").await;

    // ---- the editor: words with times and probabilities
    click(&c, ".job .open-editor").await;
    editor_ready(&c).await;
    let meeting_path = js(&c, "return location.pathname")
        .await
        .as_str()
        .unwrap()
        .to_string();
    let n_words = num(&js(
        &c,
        "return document.querySelectorAll('#transcript .w').length",
    )
    .await);
    assert!(n_words >= 20.0, "only {n_words} words in a 30 s meeting");
    let turns = num(&js(
        &c,
        "return document.querySelectorAll('#transcript .turn').length",
    )
    .await);
    assert!(turns >= 2.0, "the 3-speaker meeting shows {turns} turn(s)");
    let first_version = wait_saved(&c, "the initial save status").await;

    // Click a word some seconds in → the audio seeks to its start.
    let probe = js(&c, "const w = [...document.querySelectorAll('#transcript .w')].find(w => Number(w.dataset.start) > 8); return [Number(w.dataset.i), Number(w.dataset.start)];").await;
    let (pi, pstart) = (probe[0].as_i64().unwrap(), num(&probe[1]));
    click(&c, &format!("#transcript .w[data-i='{pi}']")).await;
    let t = num(&wait_js(
        &c,
        "!audio.seeking && audio.currentTime > 0 && audio.currentTime",
        10,
        "the seek after a click",
    )
    .await);
    assert!(
        (t - pstart).abs() < 0.3,
        "clicked a word at {pstart} s, audio at {t} s"
    );
    assert_eq!(js(&c, &format!("return document.querySelector(\"#transcript .w[data-i='{pi}']\").classList.contains('sel')")).await, true);

    // Keyboard: Esc plays and pauses; Ctrl+← goes back 3 s; F4 speeds up.
    press(&c, &[Key::Escape.into()]).await;
    wait_js(&c, "!audio.paused", 5, "playback after Esc").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    press(&c, &[Key::Escape.into()]).await;
    wait_js(&c, "audio.paused", 5, "pause after the second Esc").await;
    let before = num(&js(&c, "return audio.currentTime").await);
    press(&c, &[Key::Control.into(), Key::Left.into()]).await;
    let after = num(&wait_js(
        &c,
        "!audio.seeking && audio.currentTime",
        5,
        "the seek back",
    )
    .await);
    assert!(
        (before - after - 3.0).abs() < 0.35,
        "Ctrl+← moved from {before} to {after} s"
    );
    press(&c, &[Key::F4.into()]).await;
    let rate = num(&js(&c, "return audio.playbackRate").await);
    assert!((rate - 1.1).abs() < 1e-6, "F4 set the rate to {rate}");
    press(&c, &[Key::F3.into()]).await;

    // Edit a word (Enter on the selected word, type, Enter) and rename the first speaker.
    retype_word(&c, pi, EDIT).await;
    let name = el(&c, ".speaker-name").await;
    let speaker_id = name.attr("data-id").await.unwrap().unwrap();
    name.click().await.unwrap();
    name.send_keys(SPEAKER).await.unwrap();
    press(&c, &[Key::Enter.into()]).await;
    wait_js(
        &c,
        &format!("[...document.querySelectorAll('#transcript .turn .spk')].some(b => b.textContent === '{SPEAKER}')"),
        5,
        "the renamed speaker on the turns",
    )
    .await;
    find_and_replace(&c).await;
    // Autosave 2 s after the last change makes a new version.
    let saved = wait_saved(&c, "the autosave").await;
    assert!(
        saved > first_version,
        "autosave made version {saved} after {first_version}"
    );

    // Reload: both edits come back from the server.
    c.refresh().await.unwrap();
    editor_ready(&c).await;
    let words: Vec<String> = serde_json::from_value(
        js(
            &c,
            "return [...document.querySelectorAll('#transcript .w')].map(w => w.textContent)",
        )
        .await,
    )
    .unwrap();
    assert!(
        words.iter().any(|w| w == EDIT),
        "the edited word is gone after reload"
    );
    let value = js(
        &c,
        &format!("return document.querySelector(\".speaker-name[data-id='{speaker_id}']\").value"),
    )
    .await;
    assert_eq!(value, SPEAKER);
    // Select the edited word for the screenshot: the selection, speakers and toolbar show.
    let ei = js(&c, &format!("return Number([...document.querySelectorAll('#transcript .w')].find(w => w.textContent === '{EDIT}').dataset.i)")).await;
    click(&c, &format!("#transcript .w[data-i='{ei}']")).await;
    screenshot(&c, "editor.png").await;

    // ---- the DOCX minutes: fetched from the page's own download link
    let bytes = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(document.getElementById('dl-docx').href)
               .then(r => r.ok ? r.arrayBuffer() : Promise.reject(r.status))
               .then(b => done(Array.from(new Uint8Array(b))))
               .catch(e => done('failed: ' + e));",
            vec![],
        )
        .await
        .unwrap();
    let bytes: Vec<u8> = serde_json::from_value(bytes.clone())
        .unwrap_or_else(|_| panic!("the DOCX download failed: {bytes}"));
    assert_eq!(&bytes[..4], b"PK\x03\x04", "the DOCX is not a zip file");
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("the DOCX is not a valid zip");
    let mut doc = String::new();
    zip.by_name("word/document.xml")
        .expect("the DOCX has no word/document.xml")
        .read_to_string(&mut doc)
        .unwrap();
    assert!(
        doc.contains(EDIT),
        "the minutes do not hold the edited word"
    );
    assert!(
        doc.contains(SPEAKER),
        "the minutes do not name the renamed speaker"
    );

    // ---- search finds the edited word; its link opens the editor at that moment
    c.goto(&format!("{base}/search")).await.unwrap();
    let q = wait_el(&c, "#q", 10).await;
    q.send_keys(EDIT).await.unwrap();
    click(&c, "#search-submit").await;
    wait_js(&c, "document.querySelector('.hit')", 15, "a search hit").await;
    let mark = js(&c, "return document.querySelector('.hit mark') && document.querySelector('.hit mark').textContent").await;
    assert_eq!(
        mark.as_str().map(str::to_lowercase),
        Some(EDIT.to_lowercase()),
        "the hit's snippet marks the word"
    );
    screenshot(&c, "search.png").await;
    let href = el(&c, ".hit-link")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(
        href.starts_with(&format!("{meeting_path}?t=")),
        "hit link {href} is not {meeting_path}?t=…"
    );
    let hit_t: f64 = href.split("?t=").nth(1).unwrap().parse().unwrap();
    click(&c, ".hit-link").await;
    editor_ready(&c).await;
    wait_js(
        &c,
        "!audio.seeking && document.querySelector('#transcript .w.sel')",
        10,
        "the editor at the hit",
    )
    .await;
    let at = num(&js(&c, "return audio.currentTime").await);
    assert!(
        (at - hit_t).abs() < 0.3,
        "the hit at {hit_t} s opened the audio at {at} s"
    );
    assert!(
        hit_t <= pstart + 0.01,
        "the hit ({hit_t} s) starts after the edited word ({pstart} s)"
    );

    // ---- concurrent edits: a second session saves first; this one gets the conflict banner
    let c2 = browser(&driver, &tmp.path().join("profile2")).await;
    sign_in(&c2, &base, PASSWORD).await;
    wait_js(
        &c2,
        "location.pathname === '/'",
        15,
        "sign-in of the second session",
    )
    .await;
    c2.goto(&format!("{base}{meeting_path}")).await.unwrap();
    editor_ready(&c2).await;
    retype_word(&c2, 2, "Othertest").await;
    wait_saved(&c2, "the second session's save").await;
    retype_word(&c, 4, "Minetest").await;
    let banner = wait_js(&c, "document.getElementById('conflict-banner') && document.getElementById('conflict-banner').textContent", 15, "the conflict banner").await;
    assert!(
        banner.as_str().unwrap().contains("他の人が変更"),
        "banner: {banner}"
    );
    assert_eq!(
        js(
            &c,
            "return document.getElementById('save-status').dataset.state"
        )
        .await,
        "error"
    );
    let kept = js(&c, "return localStorage.getItem('gijiroku:draft:' + location.pathname.split('/')[2]).includes('Minetest')").await;
    assert_eq!(
        kept, true,
        "the local copy is kept in localStorage during the conflict"
    );
    // Keep mine: saved over the newest version; nothing typed here is lost.
    c.find(Locator::XPath(
        "//div[@id='conflict-banner']//button[contains(., '自分の版で上書き')]",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_saved(&c, "the save after choosing to keep mine").await;
    c.refresh().await.unwrap();
    editor_ready(&c).await;
    wait_js(
        &c,
        "[...document.querySelectorAll('#transcript .w')].some(w => w.textContent === 'Minetest')",
        5,
        "the kept edit after reload",
    )
    .await;

    c2.close().await.unwrap();
    c.close().await.unwrap();
}

/// Past minutes imported from text (no recording, no transcript) are read on the meeting page:
/// a search hit opens it scrolled to the turn it found, read-only, and the imported text can
/// be downloaded as it was. Before, the page showed only an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_minutes_open_from_search_at_the_turn_found() {
    assert!(
        Path::new("/usr/bin/chromium").is_file(),
        "/usr/bin/chromium missing: run scripts/setup.sh (Debian packages chromium chromium-driver)"
    );
    let minutes = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/eval/minutes");
    let file = minutes.join("r06-20240220-honkaigi.txt");
    assert!(
        file.is_file(),
        "{} missing (../shared beside the repo)",
        file.display()
    );
    // The reference turns of that meeting (turns.jsonl: one JSON object per turn).
    let turns: Vec<(u64, String)> = std::fs::read_to_string(minutes.join("turns.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["meeting_id"] == "r06-20240220-honkaigi")
        .map(|v| {
            (
                v["i"].as_u64().unwrap(),
                v["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(turns.len() > 30, "{} turns", turns.len());
    // Twelve characters from the middle of a long line of a turn far down the page.
    let (seq, text) = turns
        .iter()
        .skip(turns.len() * 2 / 3)
        .find(|(_, t)| t.lines().any(|l| l.chars().count() > 60))
        .unwrap();
    let line = text.lines().find(|l| l.chars().count() > 60).unwrap();
    let phrase: String = line.chars().skip(24).take(12).collect();

    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    add_user(&data, ADMIN, "admin", ADMIN_PASSWORD);
    add_user(&data, USER, "clerk", PASSWORD);
    let out = Command::new(bin())
        .env("GIJIROKU_USER", ADMIN)
        .env("GIJIROKU_PASSWORD", ADMIN_PASSWORD)
        .arg("--data")
        .arg(&data)
        .args(["--quiet", "archive", "import-minutes"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "import-minutes failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_server, base) = start_server(&data);
    let (_driver, driver) = start_chromedriver();
    let c = browser(&driver, &tmp.path().join("profile")).await;
    sign_in(&c, &base, PASSWORD).await;
    wait_js(
        &c,
        "location.pathname === '/'",
        15,
        "the archive page after sign-in",
    )
    .await;

    c.goto(&format!("{base}/search")).await.unwrap();
    wait_el(&c, "#q", 10)
        .await
        .send_keys(&format!("\"{phrase}\""))
        .await
        .unwrap();
    click(&c, "#search-submit").await;
    wait_js(&c, "document.querySelector('.hit')", 15, "a search hit").await;
    let href = el(&c, ".hit-link")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(
        href.contains(&format!("?turn={seq}&q=")),
        "the hit for {phrase:?} links to {href}, not to turn {seq}"
    );
    click(&c, ".hit-link").await;
    wait_js(
        &c,
        "document.querySelector('.turn.hit-turn')",
        15,
        "the turn found",
    )
    .await;
    let shown = js(
        &c,
        "const t = document.querySelector('.turn.hit-turn'); const r = t.getBoundingClientRect(); \
         return [t.dataset.seq, t.querySelector('.text').innerText, r.top >= 0 && r.top < innerHeight, \
                 document.querySelectorAll('#transcript .turn').length, \
                 document.getElementById('toolbar').classList.contains('hidden'), \
                 !!document.querySelector('#transcript .error'), \
                 t.querySelector('.spk').textContent, \
                 [...t.querySelectorAll('.text mark')].map((m) => m.textContent)];",
    )
    .await;
    assert_eq!(shown[0].as_str(), Some(seq.to_string().as_str()));
    assert!(
        shown[1].as_str().unwrap().contains(&phrase),
        "the marked turn does not hold {phrase:?}: {}",
        shown[1]
    );
    assert_eq!(shown[2], true, "the turn found is not scrolled into view");
    assert_eq!(
        shown[3].as_u64(),
        Some(turns.len() as u64),
        "every turn is shown"
    );
    assert_eq!(
        shown[4], true,
        "the editing toolbar is hidden on imported minutes"
    );
    assert_eq!(shown[5], false, "the page shows an error");
    assert!(
        shown[6].as_str().unwrap().starts_with('○'),
        "heading {}",
        shown[6]
    );
    assert_eq!(
        shown[7],
        json!([phrase]),
        "the searched phrase is marked in the turn"
    );
    // The imported text comes back byte for byte.
    let source = js(
        &c,
        "return fetch(document.getElementById('dl-source').href).then((r) => r.text());",
    )
    .await;
    assert_eq!(
        source.as_str().unwrap(),
        std::fs::read_to_string(&file).unwrap(),
        "the downloaded minutes text differs from the imported file"
    );
}
