//! `gijiroku record` with transcription: real speech through an ALSA file PCM (see
//! tests/record.rs), the running transcript while recording and the full pipeline at the end.
//! Needs the models (GIJIROKU_MODELS, default `models/`): whisper-base and the Silero VAD.

use std::path::{Path, PathBuf};
use std::process::Command;

const EVAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/eval");
const BIN: &str = env!("CARGO_BIN_EXE_gijiroku");

fn models_dir() -> PathBuf {
    let dir = std::env::var_os("GIJIROKU_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/models")));
    for f in ["ggml-whisper-base.bin", "ggml-silero-vad.bin"] {
        assert!(
            dir.join(f).is_file(),
            "model {f} missing in {} (run scripts/setup.sh or set GIJIROKU_MODELS)",
            dir.display()
        );
    }
    dir
}

fn jfk_raw(dir: &Path) -> PathBuf {
    let path = format!("{EVAL}/asr_en/whisper__jfk.wav");
    let mut r = hound::WavReader::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let bytes: Vec<u8> = r
        .samples::<i16>()
        .flat_map(|s| s.unwrap().to_le_bytes())
        .collect();
    let raw = dir.join("in.raw");
    std::fs::write(&raw, bytes).unwrap();
    raw
}

fn alsa_home(dir: &Path, infile: &Path) -> PathBuf {
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let conf = format!(
        "pcm.!default {{\n  type file\n  slave.pcm \"null\"\n  file \"/dev/null\"\n  \
         infile \"{}\"\n  format \"raw\"\n}}\n",
        infile.display()
    );
    std::fs::write(home.join(".asoundrc"), conf).unwrap();
    home
}

/// Word error rate after lower-casing and dropping punctuation.
fn wer(reference: &str, hypothesis: &str) -> f64 {
    let words = |s: &str| -> Vec<String> {
        s.to_lowercase()
            .split(|c: char| !c.is_alphanumeric() && c != '\'')
            .filter(|w| !w.is_empty())
            .map(String::from)
            .collect()
    };
    let (r, h) = (words(reference), words(hypothesis));
    // Levenshtein distance over words, one row at a time.
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut cur = vec![i + 1; h.len() + 1];
        for (j, hw) in h.iter().enumerate() {
            let sub = prev[j] + usize::from(rw != hw);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[h.len()] as f64 / r.len().max(1) as f64
}

/// Records the JFK clip (11 s) with transcription; returns the command's output.
fn record_jfk(dir: &Path, extra: &[&str]) -> std::process::Output {
    let models = models_dir();
    let home = alsa_home(dir, &jfk_raw(dir));
    let out = dir.join("speech.wav");
    Command::new(BIN)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("GIJIROKU_MODELS", &models)
        .env_remove("ALSA_CONFIG_PATH")
        .args([
            "--json",
            "record",
            "-l",
            "en",
            "--rate",
            "16000",
            "--channels",
            "1",
        ])
        .args(["--duration", "11"])
        .args(extra)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap()
}

#[test]
fn running_transcript_of_a_recorded_speech() {
    let dir = tempfile::tempdir().unwrap();
    let o = record_jfk(dir.path(), &["--no-final"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let reference = std::fs::read_to_string(format!("{EVAL}/asr_en/whisper__jfk.txt")).unwrap();
    // With --json the running transcript goes to stderr as "[h:mm:ss] text" lines.
    let live: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix('[').and_then(|l| l.split_once("] ")))
        .map(|(_, text)| text)
        .collect();
    let live_text = live.join(" ");
    let live_wer = wer(&reference, &live_text);
    // Measured 0.0 here (one line: the whole sentence); a word or two may differ.
    assert!(
        live_wer <= 0.15,
        "running transcript WER {live_wer:.2}: {live_text:?}"
    );
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["recording"]["seconds"].as_f64(), Some(11.0));
    assert!(
        summary["live"]["lines"].as_u64().unwrap_or(0) >= 1,
        "{summary}"
    );
    assert!(summary["live"]["audio_seconds"].as_f64().unwrap_or(0.0) >= 10.9);
    assert!(summary["transcript"].is_null());
}

#[test]
fn running_and_final_transcripts_of_a_recorded_speech() {
    let models = models_dir();
    let dir = tempfile::tempdir().unwrap();
    let home = alsa_home(dir.path(), &jfk_raw(dir.path()));
    let out = dir.path().join("speech.wav");
    let o = Command::new(BIN)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("GIJIROKU_MODELS", &models)
        .env_remove("ALSA_CONFIG_PATH")
        .args([
            "--json",
            "record",
            "-l",
            "en",
            "--rate",
            "16000",
            "--channels",
            "1",
        ])
        .args(["--duration", "11", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let reference = std::fs::read_to_string(format!("{EVAL}/asr_en/whisper__jfk.txt")).unwrap();

    // With --json the running transcript goes to stderr as "[h:mm:ss] text" lines.
    let live: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix('[').and_then(|l| l.split_once("] ")))
        .map(|(_, text)| text)
        .collect();
    let live_text = live.join(" ");
    let live_wer = wer(&reference, &live_text);
    // Measured 0.0 here (one line: the whole sentence); a word or two may differ.
    assert!(
        live_wer <= 0.15,
        "running transcript WER {live_wer:.2}: {live_text:?}"
    );

    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["recording"]["seconds"].as_f64(), Some(11.0));
    assert!(
        summary["live"]["lines"].as_u64().unwrap_or(0) >= 1,
        "{summary}"
    );
    assert!(summary["live"]["audio_seconds"].as_f64().unwrap_or(0.0) >= 10.9);

    let transcript_path = summary["transcript"].as_str().expect("a transcript path");
    assert_eq!(Path::new(transcript_path), dir.path().join("speech.json"));
    let transcript: gijiroku::Transcript =
        serde_json::from_str(&std::fs::read_to_string(transcript_path).unwrap()).unwrap();
    let text: Vec<&str> = transcript
        .segments
        .iter()
        .map(|s| s.text.as_str())
        .collect();
    let final_wer = wer(&reference, &text.join(" "));
    assert!(
        final_wer <= 0.1,
        "final transcript WER {final_wer:.2}: {text:?}"
    );
    assert_eq!(transcript.language, "en");

    // Diarization runs by default when the encoder is installed: one speaker here.
    assert_eq!(transcript.speakers.len(), 1, "{:?}", transcript.speakers);

    // The last step, as for a file: a minutes draft beside the transcript.
    let md = std::fs::read_to_string(dir.path().join("speech.minutes.md")).expect("minutes draft");
    assert!(md.to_lowercase().contains("country"), "{md}");
    assert!(dir.path().join("speech.minutes.docx").is_file());
}
