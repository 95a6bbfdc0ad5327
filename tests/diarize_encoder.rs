//! The GE2E speaker encoder against an independent numpy/librosa reference
//! (tests/fixtures/ge2e_reference.py → ge2e_reference.json), and the .pt → safetensors import.

use gijiroku::diarize::encoder::{normalize_gain, SpeakerEncoder, N_MELS};
use std::path::Path;

const EVAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/eval");

mod common;
use common::{encoder, models_dir};

fn max_diff(a: &[f32], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn matches_numpy_reference() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ge2e_reference.json"
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).expect("fixture")).expect("json");
    let clip = Path::new(EVAL)
        .join("asr_en")
        .join(r["clip"].as_str().expect("clip"));
    let (samples, _) = gijiroku::audio::load_16k(&clip).expect("clip readable");
    let enc = encoder();
    let mut mel = Vec::new();
    enc.mel()
        .frames(&samples, normalize_gain(&samples), &mut mel);
    assert_eq!(
        mel.len() / N_MELS,
        r["frames"].as_u64().expect("frames") as usize
    );
    let e = enc
        .embed_batch(&[&mel[..160 * N_MELS], &mel[..]])
        .expect("embed");
    let want = |k: &str| -> Vec<f64> {
        r[k].as_array()
            .expect("array")
            .iter()
            .map(|v| v.as_f64().expect("number"))
            .collect()
    };
    // Measured: under 1e-5 (f32 here vs f64 in numpy; values are ~0.1).
    let d0 = max_diff(&e[0], &want("first_160"));
    let d1 = max_diff(&e[1], &want("all"));
    assert!(d0 < 1e-5 && d1 < 1e-5, "differs from numpy: {d0} {d1}");
}

#[test]
fn imports_pretrained_pt_to_safetensors() {
    let src = models_dir().join("sources/resemblyzer/pretrained.pt");
    assert!(
        src.is_file(),
        "{} missing (run scripts/setup.sh)",
        src.display()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let dst = dir.path().join(gijiroku::diarize::ENCODER_FILE);
    gijiroku::diarize::import_speaker_encoder(&src, &dst).expect("import");
    let a = SpeakerEncoder::load(&src).expect("load .pt");
    let b = SpeakerEncoder::load(&dst).expect("load safetensors");
    let (samples, _) =
        gijiroku::audio::load_16k(&Path::new(EVAL).join("asr_en/whisper__jfk.wav")).expect("jfk");
    let ea = a
        .embed_utterance(&samples)
        .expect("embed")
        .expect("long enough");
    let eb = b
        .embed_utterance(&samples)
        .expect("embed")
        .expect("long enough");
    assert_eq!(ea, eb);
    // Not a weight file: a clear error, no panic.
    let bad = dir.path().join("bad.pt");
    std::fs::write(&bad, b"not a checkpoint").expect("write");
    let err = gijiroku::diarize::import_speaker_encoder(&bad, &dst).expect_err("must fail");
    assert!(format!("{err:#}").contains("not a torch legacy checkpoint"));
}
