//! The overlap-aware diarization (pyannote 3.1 style, `DiarizerKind::Overlap`) on two real
//! voices talking over each other: both are found, the overlapped stretch gets two speakers,
//! and two local speakers of one segmentation chunk never end up as one speaker.

use gijiroku::diarize::{self, overlap, resegment::LocalSegmenter, DiarizeOptions, DiarizerKind};
use gijiroku::eval::{der, simulate};
use std::path::Path;

mod common;

const EVAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/eval");

fn clip(name: &str) -> Vec<f32> {
    let (s, _) = gijiroku::audio::load_16k(&Path::new(EVAL).join("asr_en").join(name)).expect(name);
    // Equal loudness: neither voice hides under the other.
    let rms = (s.iter().map(|x| x * x).sum::<f32>() / s.len() as f32).sqrt();
    s.iter().map(|x| x * 0.05 / rms.max(1e-6)).collect()
}

/// JFK (0–11 s) and the MFA corpus reader (from 7 s on, 15 s of it): 4 s of overlap.
fn two_voices() -> (Vec<f32>, Vec<(String, f64, f64)>) {
    let a = clip("whisper__jfk.wav");
    let b: Vec<f32> = clip("mfa__acoustic_corpus.wav")
        .into_iter()
        .take(15 * 16_000)
        .collect();
    let off = 7 * 16_000;
    let mut mix = vec![0f32; (a.len()).max(off + b.len())];
    for (i, x) in a.iter().enumerate() {
        mix[i] += x;
    }
    for (i, x) in b.iter().enumerate() {
        mix[off + i] += x;
    }
    let mut reference = Vec::new();
    for (s, e) in simulate::energy_speech(&a) {
        reference.push(("jfk".to_string(), s, e));
    }
    for (s, e) in simulate::energy_speech(&b) {
        reference.push(("mfa".to_string(), s + 7.0, e + 7.0));
    }
    (mix, reference)
}

#[test]
fn overlap_path_finds_two_voices_at_once() {
    let (samples, reference) = two_voices();
    let seconds = samples.len() as f64 / 16_000.0;
    let (_, _, ref_overlap) = der::overlap_detection(&reference, &reference, seconds);
    assert!(
        ref_overlap > 2.0,
        "the mix overlaps {ref_overlap:.1} s only"
    );
    let (enc, seg) = (common::encoder(), common::segmentation());
    let speech = diarize::energy_speech(&samples);
    let opts = DiarizeOptions {
        diarizer: DiarizerKind::Overlap,
        ..Default::default()
    };
    let d = diarize::diarize(&enc, Some(&seg), &samples, &speech, &opts).expect("diarize");
    let hyp: Vec<(String, f64, f64)> = d
        .turns
        .iter()
        .map(|t| (t.speaker.clone(), t.start, t.end))
        .collect();
    eprintln!("{hyp:?}");
    assert_eq!(der::speaker_count(&hyp), 2, "{hyp:?}");
    let (found, right, _) = der::overlap_detection(&reference, &hyp, seconds);
    eprintln!("overlap: {found:.1} s found, {right:.1} s right of {ref_overlap:.1} s");
    assert!(
        right >= 0.4 * ref_overlap && right >= 0.6 * found,
        "overlap found {found:.1} s, {right:.1} s right, of {ref_overlap:.1} s"
    );
    let e = der::der(&reference, &hyp, 0.25, seconds).der();
    assert!(e < 0.25, "DER (collar 0.25 s) {:.1} %", 100.0 * e);
    // The floor (for word assignment) never has two speakers at once.
    for w in d.floor.windows(2) {
        assert!(w[0].end <= w[1].start + 1e-9, "{:?}", d.floor);
    }

    // Overlapping turns flow into a transcript: the turns stay overlapped, every word gets
    // one speaker (from the floor), and both voices have words.
    let words: Vec<gijiroku::transcript::Word> = (0..44)
        .map(|i| gijiroku::transcript::Word {
            start: i as f64 * 0.5,
            end: i as f64 * 0.5 + 0.4,
            text: format!(" w{i}"),
            probability: 0.9,
            speaker: None,
        })
        .collect();
    let mut t = gijiroku::transcript::Transcript {
        schema_version: gijiroku::transcript::SCHEMA_VERSION,
        source: Default::default(),
        language: "en".into(),
        model: Default::default(),
        created_at: String::new(),
        speech: Vec::new(),
        segments: vec![gijiroku::transcript::Segment {
            id: 0,
            start: 0.0,
            end: 21.9,
            text: String::new(),
            speaker: None,
            words,
            avg_logprob: -0.2,
            no_speech_prob: 0.01,
            temperature: 0.0,
        }],
        speakers: Vec::new(),
        turns: Vec::new(),
    };
    diarize::assign_speakers(&mut t, &d);
    assert!(
        t.turns
            .windows(2)
            .any(|w| w[1].start < w[0].end && w[1].speaker != w[0].speaker),
        "no overlapping turns in the transcript: {:?}",
        t.turns
    );
    let spoken: std::collections::BTreeSet<_> = t
        .segments
        .iter()
        .flat_map(|s| s.words.iter().map(|w| w.speaker.clone()))
        .collect();
    assert_eq!(spoken.len(), 2, "{spoken:?}");
    assert!(spoken.iter().all(Option::is_some));

    // Cannot-link: the chunks' local speakers as the path maps them.
    let o = opts.overlap;
    let mut l = LocalSegmenter::for_voices(&seg, &enc, o.step, o.min_solo, o.max_embed);
    l.push(0, &samples).expect("segmentation");
    let chunks = l.finish().expect("chunks");
    let r = overlap::diarize_chunks(&chunks, samples.len(), &speech, &opts.cluster, &o);
    let mut two = 0;
    for m in &r.maps {
        let given: Vec<usize> = m.iter().flatten().copied().collect();
        let mut distinct = given.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            given.len(),
            "one chunk, one speaker twice: {m:?}"
        );
        two += usize::from(given.len() >= 2);
    }
    assert!(two >= 1, "no chunk heard both voices: {:?}", r.maps);
}
