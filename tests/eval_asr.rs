//! `gijiroku eval asr` and `gijiroku bench asr` end to end, with the real tiny.en model on real
//! speech from ../shared/eval (the scoring functions have unit tests in src/eval/asr.rs).

use std::path::{Path, PathBuf};
use std::process::Command;

const EVAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/eval");

fn models_dir() -> PathBuf {
    let dir = std::env::var_os("GIJIROKU_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("models"));
    let model = dir.join("ggml-whisper-tiny.en.bin");
    assert!(
        model.is_file(),
        "{} is missing: run scripts/setup.sh (or set GIJIROKU_MODELS to the models folder)",
        model.display()
    );
    dir
}

fn gijiroku(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gijiroku"))
        .env("GIJIROKU_MODELS", models_dir())
        .arg("--quiet")
        .args(args)
        .output()
        .expect("run gijiroku")
}

/// Copies three English clips with their references into a temporary folder.
fn three_clips() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("eval_en")
        .tempdir()
        .expect("temp dir");
    for name in [
        "whisper__jfk",
        "pocketsphinx__ss01_0870",
        "pocketsphinx__ss01_0890",
    ] {
        for ext in ["wav", "txt"] {
            let src = Path::new(EVAL).join(format!("asr_en/{name}.{ext}"));
            std::fs::copy(&src, dir.path().join(format!("{name}.{ext}")))
                .unwrap_or_else(|e| panic!("cannot copy {}: {e}", src.display()));
        }
    }
    // An audio file without a reference is skipped, not scored.
    std::fs::copy(
        Path::new(EVAL).join("asr_en/pocketsphinx__cards_001.wav"),
        dir.path().join("no_reference.wav"),
    )
    .expect("copy");
    dir
}

#[test]
fn eval_asr_scores_english_clips_with_tiny_en() {
    let dir = three_clips();
    let out = gijiroku(&[
        "--json".as_ref(),
        "eval".as_ref(),
        "asr".as_ref(),
        dir.path().as_os_str(),
        "--model".as_ref(),
        "tiny.en".as_ref(),
        "-l".as_ref(),
        "en".as_ref(),
    ]);
    assert!(
        out.status.success(),
        "eval asr failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let files = report["files"].as_array().expect("files");
    assert_eq!(files.len(), 3, "{report:#}");
    assert_eq!(report["skipped"].as_array().map(Vec::len), Some(1));
    for f in files {
        assert_eq!(f["metric"], "wer");
        assert_eq!(f["language"], "en");
        assert!(f["ref_len"].as_u64().unwrap_or(0) > 5, "{f:#}");
    }
    let jfk = files
        .iter()
        .find(|f| f["file"] == "whisper__jfk.wav")
        .expect("jfk row");
    assert_eq!(jfk["ref_len"], 22);
    let totals = report["totals"].as_array().expect("totals");
    assert_eq!(totals.len(), 1);
    let total = &totals[0];
    // Total reference words: 22 (JFK) + 22 + 14 (Sense and Sensibility).
    assert_eq!(total["ref_len"], 58);
    let wer = total["rate"].as_f64().expect("rate");
    // Measured 1.7 % (1 error in 58 words: "mister" → "Mr.") with tiny.en, beam 5, through a
    // plain whisper.cpp stand-in for the pipeline; 10 % leaves room for VAD cuts, not more.
    assert!(wer < 0.10, "tiny.en WER {wer} on 3 clean clips: {report:#}");
    let errors = total["errors"].as_u64().unwrap_or(u64::MAX);
    let sum: u64 = files.iter().filter_map(|f| f["errors"].as_u64()).sum();
    assert_eq!(errors, sum, "the total counts every file's errors");
}

#[test]
fn eval_asr_rejects_a_folder_without_references() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        Path::new(EVAL).join("asr_en/pocketsphinx__cards_001.wav"),
        dir.path().join("a.wav"),
    )
    .expect("copy");
    let out = gijiroku(&[
        "eval".as_ref(),
        "asr".as_ref(),
        dir.path().as_os_str(),
        "--model".as_ref(),
        "tiny.en".as_ref(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no audio file with a .txt reference"),
        "stderr: {err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn bench_asr_measures_a_child_process() {
    let jfk = Path::new(EVAL).join("asr_en/whisper__jfk.wav");
    let out = gijiroku(&[
        "--json".as_ref(),
        "bench".as_ref(),
        "asr".as_ref(),
        jfk.as_os_str(),
        "--model".as_ref(),
        "tiny.en".as_ref(),
        "--threads".as_ref(),
        "2".as_ref(),
        "--beam".as_ref(),
        "1".as_ref(),
        "--no-faster-whisper".as_ref(),
    ]);
    assert!(
        out.status.success(),
        "bench asr failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    let g = &s["gijiroku"];
    assert!(
        (g["audio_seconds"].as_f64().unwrap_or(0.0) - 11.0).abs() < 0.1,
        "{g:#}"
    );
    let wall = g["wall_seconds"].as_f64().unwrap_or(0.0);
    assert!(wall > 0.0 && wall < 120.0, "{g:#}");
    // The child holds at least the 75 MB tiny.en weights; the figures are its own, not ours.
    let peak = g["peak_rss_mib"].as_f64().unwrap_or(0.0);
    assert!(peak > 70.0 && peak < 2048.0, "peak {peak} MiB");
    assert!(g["text"]
        .as_str()
        .unwrap_or("")
        .contains("ask not what your country"));
    // The .txt beside the clip is scored too.
    assert_eq!(g["metric"], "wer");
    assert!(s["faster_whisper"].is_null());
}
