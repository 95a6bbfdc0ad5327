//! Enrolled speakers are recognised by name: enroll the LibriVox reader of asr_en's
//! pocketsphinx__ss01_* from one clip, then diarize a recording made by joining other clips of
//! the same reader with two other speakers (JFK, the MFA corpus speaker).

use gijiroku::diarize::{self, voiceprint, DiarizeOptions, VoiceprintStore};
use gijiroku::transcript::Span;
use std::path::Path;

const EVAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/eval");

mod common;
use common::encoder;

fn clip(name: &str) -> Vec<f32> {
    gijiroku::audio::load_16k(&Path::new(EVAL).join("asr_en").join(name))
        .unwrap_or_else(|e| panic!("{name}: {e:#}"))
        .0
}

/// Joins clips with 0.6 s of silence; returns samples and who speaks where.
fn join(parts: &[(&str, &str)]) -> (Vec<f32>, Vec<(String, Span)>) {
    let mut out = Vec::new();
    let mut truth = Vec::new();
    for (who, name) in parts {
        let c = clip(name);
        let s = out.len() as f64 / 16_000.0;
        out.extend_from_slice(&c);
        truth.push((who.to_string(), Span::new(s, out.len() as f64 / 16_000.0)));
        out.extend(std::iter::repeat_n(0.0f32, 9600));
    }
    (out, truth)
}

#[test]
fn enrolled_reader_is_named_and_others_are_not() {
    let enc = encoder();
    let v = voiceprint::enroll(
        &enc,
        "Reader",
        Some("朗読者"),
        &[("ss01_0870".into(), clip("pocketsphinx__ss01_0870.wav"))],
    )
    .expect("enroll");
    assert!(v.windows >= 4, "{} windows", v.windows);
    let (samples, truth) = join(&[
        ("reader", "pocketsphinx__ss01_0880.wav"),
        ("jfk", "whisper__jfk.wav"),
        ("reader", "pocketsphinx__ss01_0890.wav"),
        ("mfa", "mfa__acoustic_corpus.wav"),
        ("reader", "pocketsphinx__ss01_0920.wav"),
        ("reader", "pocketsphinx__ss01_0930.wav"),
    ]);
    let speech = diarize::energy_speech(&samples);
    let opts = DiarizeOptions {
        voiceprints: vec![v],
        ..Default::default()
    };
    let seg = common::segmentation();
    let d = diarize::diarize(&enc, Some(&seg), &samples, &speech, &opts).expect("diarize");
    for s in &d.speakers {
        eprintln!("{} {:?} {:?} {:.1}s", s.id, s.name, s.similarity, s.seconds);
    }
    // Time the named speaker covers inside the reader's clips, and outside them.
    let named: Vec<&str> = d
        .speakers
        .iter()
        .filter(|s| s.name.as_deref() == Some("Reader"))
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(named.len(), 1, "exactly one cluster takes the name");
    let sp = d.speakers.iter().find(|s| s.id == named[0]).expect("named");
    assert_eq!(sp.role.as_deref(), Some("朗読者"));
    let (mut hit, mut wrong, mut reader_total) = (0.0, 0.0, 0.0);
    for (who, span) in &truth {
        let covered: f64 = d
            .turns
            .iter()
            .filter(|t| t.speaker == named[0])
            .map(|t| span.overlap(&Span::new(t.start, t.end)))
            .sum();
        if who == "reader" {
            hit += covered;
            reader_total += span.duration();
        } else {
            wrong += covered;
        }
    }
    // Measured: the named speaker covers ≈90 % of the reader's 17.6 s and nothing else.
    assert!(
        hit / reader_total > 0.75,
        "reader recognised over {hit:.1}/{reader_total:.1} s"
    );
    assert!(wrong < 2.0, "name given to {wrong:.1} s of other speakers");
}

#[test]
fn store_round_trips_and_rejects_bad_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let enc = encoder();
    let mut store = VoiceprintStore::open(dir.path()).expect("empty store");
    assert!(store.speakers.is_empty());
    let v = voiceprint::enroll(
        &enc,
        "山田太郎",
        Some("議長"),
        &[("jfk".into(), clip("whisper__jfk.wav"))],
    )
    .expect("enroll");
    store.upsert(v.clone());
    store.save().expect("save");
    let again = VoiceprintStore::open(dir.path()).expect("reopen");
    assert_eq!(again.speakers, vec![v]);
    let mut again = again;
    assert!(again.remove("山田太郎"));
    assert!(!again.remove("山田太郎"));
    // Silence cannot be enrolled: a clear error, not a panic.
    let err = voiceprint::enroll(&enc, "x", None, &[("silence".into(), vec![0.0; 32_000])])
        .expect_err("silence");
    assert!(format!("{err:#}").contains("no usable speech"));
    std::fs::write(VoiceprintStore::path_in(dir.path()), b"{not json").expect("write");
    assert!(VoiceprintStore::open(dir.path()).is_err());
}
