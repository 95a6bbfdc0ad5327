//! `gijiroku speakers …` end to end through the binary: enroll, list, rename in a transcript,
//! remove, and one-line errors on bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EVAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/eval");

fn models_dir() -> PathBuf {
    std::env::var_os("GIJIROKU_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("models"))
}

fn run(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gijiroku"))
        .arg("--quiet")
        .arg("--data")
        .arg(data)
        .arg("--models-dir")
        .arg(models_dir())
        .args(args)
        .output()
        .expect("binary runs")
}

fn one_line_error(o: &Output) -> String {
    assert!(!o.status.success(), "expected failure");
    let err = String::from_utf8_lossy(&o.stderr).trim().to_string();
    assert!(err.starts_with("gijiroku: error:"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"));
    err
}

#[test]
fn enroll_list_rename_remove() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let o = run(&data, &["speakers", "list"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("no enrolled speakers"));

    let clip = format!("{EVAL}/asr_en/pocketsphinx__ss01_0870.wav");
    let o = run(
        &data,
        &["speakers", "enroll", "山田太郎", "--role", "議長", &clip],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&data, &["--json", "speakers", "list"]);
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json list");
    assert_eq!(list[0]["name"], "山田太郎");
    assert_eq!(list[0]["role"], "議長");

    // Rename in a finished transcript: every turn follows, the file stays valid.
    let t = dir.path().join("meeting.json");
    std::fs::write(
        &t,
        r#"{"schema_version":1,"source":{"path":"a.wav","file_name":"a.wav","sha256":"","duration":3.0,"sample_rate":16000,"channels":1,"codec":"pcm_s16le"},"language":"ja","model":{"name":"whisper-base","file":"x"},"created_at":"","segments":[{"id":0,"start":0.0,"end":1.0,"text":"はい","speaker":"S1"}],"speakers":[{"id":"S1","label":"話者1"},{"id":"S2","label":"話者2"}],"turns":[{"speaker":"S1","start":0.0,"end":1.0},{"speaker":"S2","start":1.0,"end":2.0},{"speaker":"S1","start":2.0,"end":3.0}]}"#,
    )
    .expect("write transcript");
    let o = run(
        &data,
        &[
            "speakers",
            "rename",
            t.to_str().expect("utf8"),
            "話者1",
            "佐藤花子",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let back = gijiroku::Transcript::load(&t).expect("still a transcript");
    assert_eq!(back.speaker_display("S1"), "佐藤花子");
    assert_eq!(back.speaker_display("S2"), "話者2");
    one_line_error(&run(
        &data,
        &[
            "speakers",
            "rename",
            t.to_str().expect("utf8"),
            "話者7",
            "x",
        ],
    ));

    let o = run(&data, &["speakers", "remove", "山田太郎"]);
    assert!(o.status.success());
    one_line_error(&run(&data, &["speakers", "remove", "山田太郎"]));
}

#[test]
fn bad_input_gives_one_line_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let missing = dir.path().join("missing.wav");
    one_line_error(&run(
        &data,
        &["speakers", "enroll", "x", missing.to_str().expect("utf8")],
    ));
    let junk = dir.path().join("junk.wav");
    std::fs::write(&junk, b"RIFF....not audio").expect("write");
    one_line_error(&run(
        &data,
        &["speakers", "enroll", "x", junk.to_str().expect("utf8")],
    ));
    let not_json = dir.path().join("t.json");
    std::fs::write(&not_json, b"{").expect("write");
    one_line_error(&run(
        &data,
        &[
            "speakers",
            "rename",
            not_json.to_str().expect("utf8"),
            "S1",
            "x",
        ],
    ));
    // eval der on a folder without references.
    one_line_error(&run(
        &data,
        &["eval", "der", dir.path().to_str().expect("utf8")],
    ));
}
