//! Transcription end to end with the real models: the CLI on real speech, Japanese CER, bad
//! input, and the offline promise (no network namespace). Needs the models from
//! scripts/setup.sh in GIJIROKU_MODELS (default: models/).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn models() -> PathBuf {
    common::models_with("ggml-whisper-base.bin")
}

fn eval(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/eval")
        .join(rel)
}

fn gijiroku() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gijiroku"));
    c.arg("--quiet").arg("--models-dir").arg(models());
    c
}

fn transcribe(args: &[&str], input: &Path) -> (serde_json::Value, String) {
    let out = tempfile::tempdir().unwrap();
    let o = gijiroku()
        .arg("transcribe")
        .args(args)
        .arg("--out")
        .arg(out.path())
        .arg(input)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "transcribe failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stem = input.file_stem().unwrap().to_string_lossy().into_owned();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join(format!("{stem}.json"))).unwrap())
            .unwrap();
    let srt = std::fs::read_to_string(out.path().join(format!("{stem}.srt"))).unwrap();
    (json, srt)
}

fn text_of(j: &serde_json::Value) -> String {
    j["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["text"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn jfk_clip_gives_its_known_text_with_word_times() {
    for model in ["whisper-tiny.en", "whisper-base"] {
        let (j, srt) = transcribe(&["-m", model, "-l", "en"], &eval("asr_en/whisper__jfk.wav"));
        let norm: String = text_of(&j)
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ')
            .collect();
        let norm = norm.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(
            norm,
            "and so my fellow americans ask not what your country can do for you ask what you can do for your country",
            "{model}"
        );
        assert_eq!(j["language"], "en");
        assert!(srt.starts_with("1\n00:00:0"));
        assert_eq!(j["source"]["sha256"].as_str().unwrap().len(), 64);
        // Words are timed, ordered and inside the clip; "country" is said last, near 10 s.
        let words: Vec<&serde_json::Value> = j["segments"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["words"].as_array().unwrap())
            .collect();
        assert!(words.len() >= 20, "{model}: {} words", words.len());
        let mut prev = 0.0;
        for w in &words {
            let (s, e) = (w["start"].as_f64().unwrap(), w["end"].as_f64().unwrap());
            assert!(s >= prev - 1e-6 && e >= s && e <= 11.1, "{model}: {w}");
            prev = s;
        }
        let last = words.last().unwrap();
        assert!(last["text"].as_str().unwrap().contains("country"));
        assert!(
            (8.0..10.9).contains(&last["start"].as_f64().unwrap()),
            "{model}: {last}"
        );
    }
}

fn cer(hyp: &str, reference: &str) -> f64 {
    use unicode_normalization::UnicodeNormalization;
    let clean = |s: &str| -> Vec<char> { s.nfkc().filter(|c| c.is_alphanumeric()).collect() };
    let (h, r) = (clean(hyp), clean(reference));
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    for i in 1..=r.len() {
        let mut cur = vec![i; h.len() + 1];
        for j in 1..=h.len() {
            cur[j] = (prev[j] + 1)
                .min(cur[j - 1] + 1)
                .min(prev[j - 1] + usize::from(r[i - 1] != h[j - 1]));
        }
        prev = cur;
    }
    prev[h.len()] as f64 / r.len() as f64
}

#[test]
fn japanese_speech_comes_back_in_japanese() {
    // Common Voice ja (CC0). Measured with base, beam 5: CER 0.208 (ブランコのり, 工業主, 一体, 突寝た);
    // the bound leaves room for thread-count differences.
    let wav = eval("asr_ja/beatrice__common_voice_ja_38852485.wav");
    let reference = std::fs::read_to_string(wav.with_extension("txt")).unwrap();
    let (j, _) = transcribe(&[], &wav);
    assert_eq!(j["language"], "ja", "language detected");
    let c = cer(&text_of(&j), &reference);
    assert!(c < 0.3, "CER {c:.3}: {}", text_of(&j));
}

#[test]
fn bad_inputs_give_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    let text = dir.path().join("notes.mp3");
    std::fs::write(
        &text,
        "議事録のメモ。これは音声ではありません。\n".repeat(50),
    )
    .unwrap();
    let bad_model = dir.path().join("model.bin");
    std::fs::write(&bad_model, vec![7u8; 4096]).unwrap();
    let jfk = eval("asr_en/whisper__jfk.wav");
    let empty_dir = tempfile::tempdir().unwrap();
    let truncated = dir.path().join("cut.wav");
    std::fs::write(&truncated, &std::fs::read(&jfk).unwrap()[..30]).unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["transcribe".into(), "/nonexistent/a.wav".into()],
            "no such file",
        ),
        (
            vec!["transcribe".into(), empty.display().to_string()],
            "empty",
        ),
        (
            vec!["transcribe".into(), text.display().to_string()],
            "not an audio file",
        ),
        (
            vec!["transcribe".into(), dir.path().display().to_string()],
            "folder",
        ),
        (
            vec!["transcribe".into(), truncated.display().to_string()],
            "",
        ),
        (
            vec![
                "transcribe".into(),
                "-m".into(),
                "nosuchmodel".into(),
                jfk.display().to_string(),
            ],
            "unknown model",
        ),
        (
            vec![
                "transcribe".into(),
                "-m".into(),
                bad_model.display().to_string(),
                jfk.display().to_string(),
            ],
            "not a valid Whisper ggml model",
        ),
        (
            vec![
                "transcribe".into(),
                "-l".into(),
                "xx".into(),
                jfk.display().to_string(),
            ],
            "unknown language",
        ),
        (
            vec![
                "transcribe".into(),
                "-f".into(),
                "pdf".into(),
                jfk.display().to_string(),
            ],
            "unknown output format",
        ),
        (
            vec![
                "transcribe".into(),
                "--diarizer".into(),
                "overlap".into(),
                jfk.display().to_string(),
            ],
            "--diarizer needs --diarize",
        ),
        (
            vec![
                "models".into(),
                "import".into(),
                empty_dir.path().display().to_string(),
            ],
            "not a CTranslate2 model",
        ),
    ];
    for (args, needle) in cases {
        let o = gijiroku().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        let lines: Vec<&str> = err
            .lines()
            .filter(|l| l.starts_with("gijiroku: error:"))
            .collect();
        assert_eq!(lines.len(), 1, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(lines[0].contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn works_without_any_network() {
    // `unshare -n` gives the process a network namespace with only a downed loopback.
    let probe = Command::new("unshare").args(["-n", "true"]).output();
    if !matches!(&probe, Ok(o) if o.status.success()) {
        eprintln!("SKIPPED: the kernel refused a network namespace (unshare -n)");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let o = Command::new("unshare")
        .arg("-n")
        .arg(env!("CARGO_BIN_EXE_gijiroku"))
        .args(["--quiet", "--models-dir"])
        .arg(models())
        .args([
            "transcribe",
            "--diarize",
            "-f",
            "json,txt,rttm",
            "-m",
            "whisper-tiny.en",
            "--out",
        ])
        .arg(out.path())
        .arg(eval("asr_en/whisper__jfk.wav"))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "offline run failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let txt = std::fs::read_to_string(out.path().join("whisper__jfk.txt")).unwrap();
    let norm: String = txt
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ')
        .collect();
    assert!(norm.contains("ask not what your country"), "{txt}");
    assert!(out.path().join("whisper__jfk.rttm").is_file());
}

#[test]
fn models_list_shows_every_imported_model() {
    let o = gijiroku()
        .args(["--json", "models", "list"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    for n in [
        "whisper-base",
        "whisper-tiny.en",
        "silero-vad",
        "speaker-encoder-campplus",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
}
