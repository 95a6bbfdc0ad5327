//! The decoding work counters `bench asr` reports (issue 15: how often a chunk is read or
//! decoded more than once). One chunk of real speech (the 11 s JFK recording, tiny.en,
//! greedy) must count one chunk, one whisper_full call and at least one encoder pass; an
//! empty chunk counts nothing. The counters are process-wide, so this file holds one test.

mod common;

use gijiroku::asr::{decode_counts, AsrOptions, Transcriber};
use std::path::{Path, PathBuf};

fn models() -> PathBuf {
    common::models_with("ggml-whisper-tiny.en.bin")
}

fn jfk() -> Vec<f32> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("recordings/jfk-inaugural-1961.wav");
    let mut r = hound::WavReader::open(path).unwrap();
    assert_eq!(r.spec().sample_rate, 16000);
    assert_eq!(r.spec().channels, 1);
    r.samples::<i16>()
        .map(|s| s.unwrap() as f32 / 32768.0)
        .collect()
}

#[test]
fn one_chunk_counts_one_call_and_its_encoder_passes() {
    let t = Transcriber::load(&models().join("ggml-whisper-tiny.en.bin")).unwrap();
    let opts = AsrOptions {
        language: Some("en".into()),
        threads: 2,
        beam: 1,
        prompt: None,
        condition_on_previous: false,
    };
    let mut s = t.session(&opts).unwrap();
    let before = decode_counts();
    assert_eq!(before, Default::default(), "nothing decoded yet");

    // Under 0.1 s: not given to whisper.cpp at all.
    s.transcribe(&[0.0; 800]).unwrap();
    assert_eq!(decode_counts(), before);

    let audio = jfk();
    let r = s.transcribe(&audio).unwrap();
    assert!(r.segments.iter().any(|seg| seg.text.contains("country")));
    let c = decode_counts();
    assert_eq!(c.chunks, 1);
    assert_eq!(c.full_calls, 1 + c.guard_redecodes);
    // 11 s fit one 30 s window; whisper.cpp reads the tail again only if the text stopped
    // early, never more than twice here.
    assert!(
        (1..=2).contains(&c.encoder_passes),
        "encoder passes {}",
        c.encoder_passes
    );
    // Clear speech: no temperature fallback, no repetition guard.
    assert_eq!(c.fallbacks, 0);
    assert_eq!(c.guard_redecodes, 0);
}
