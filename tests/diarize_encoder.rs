//! The CAM++ speaker encoder against an independent numpy reference
//! (tests/fixtures/campp_reference.py → campp_reference.json), and the .pt → safetensors import.

use gijiroku::diarize::encoder::{SpeakerEncoder, ENCODER_SOURCE, N_MELS};
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

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_f64().expect("number"))
        .collect()
}

#[test]
fn matches_numpy_reference() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/campp_reference.json"
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).expect("fixture")).expect("json");
    let clip = Path::new(EVAL)
        .join("asr_en")
        .join(r["clip"].as_str().expect("clip"));
    let (samples, _) = gijiroku::audio::load_16k(&clip).expect("clip readable");
    let enc = encoder();
    let mut mel = Vec::new();
    enc.mel().frames(&samples, &mut mel);
    assert_eq!(
        mel.len() / N_MELS,
        r["frames"].as_u64().expect("frames") as usize
    );
    for (i, row) in r["fbank_rows"].as_object().expect("rows") {
        let i: usize = i.parse().expect("index");
        let d = max_diff(&mel[i * N_MELS..(i + 1) * N_MELS], &floats(row));
        assert!(d < 1e-3, "fbank frame {i} differs from numpy by {d}");
    }
    let e = enc
        .embed_batch(&[&mel[..150 * N_MELS], &mel[..]])
        .expect("embed");
    let cos = |a: &[f32], b: &[f64]| -> f64 { a.iter().zip(b).map(|(x, y)| *x as f64 * y).sum() };
    let c0 = cos(&e[0], &floats(&r["first_150"]));
    let c1 = cos(&e[1], &floats(&r["all"]));
    assert!(
        c0 > 0.999 && c1 > 0.999,
        "differs from numpy: cosine {c0} {c1}"
    );
}

#[test]
fn imports_the_checkpoint_to_safetensors() {
    let src = models_dir().join(ENCODER_SOURCE);
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
    assert!(format!("{err:#}").contains("torch checkpoint"), "{err:#}");
}
