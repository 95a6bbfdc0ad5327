//! `eval simulate`'s meetings (built from ../shared/eval's real speech): reproducible from the
//! seed, split by voice, and with reference turns where the speech really is; and speaker-count
//! hints that cannot conjure speakers out of one voice.

use gijiroku::diarize::{self, DiarizeOptions};
use gijiroku::eval::simulate::{self, SimOptions};
use std::path::Path;

mod common;

const EVAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/eval");

fn small() -> SimOptions {
    SimOptions {
        meetings: 3,
        long_seconds: 200.0,
        ..SimOptions::default()
    }
}

#[test]
fn simulation_is_reproducible_and_split_by_voice() {
    let sources = simulate::load_sources(Path::new(EVAL)).expect("sources");
    let (dev, held) = simulate::split_speakers(sources.clone(), 16);
    assert_eq!(dev.len() + held.len(), sources.len());
    for s in &dev {
        assert!(held.iter().all(|h| h.id != s.id), "{} in both halves", s.id);
    }
    for g in ["en", "ja", "meeting"] {
        assert!(
            dev.iter().any(|s| s.group == g) && held.iter().any(|s| s.group == g),
            "{g}"
        );
    }
    let (a, b) = simulate::simulate(&dev, &held, &small());
    let (a2, _) = simulate::simulate(&dev, &held, &small());
    for (x, y) in a.iter().zip(&a2) {
        assert_eq!(x.samples, y.samples, "{}: same seed, other audio", x.name);
        assert_eq!(x.rttm(), y.rttm());
    }
    let other = simulate::simulate(
        &dev,
        &held,
        &SimOptions {
            seed: 17,
            ..small()
        },
    )
    .0;
    assert_ne!(a[0].samples, other[0].samples, "the seed changes nothing");
    let dev_ids: Vec<&str> = dev.iter().map(|s| s.id.as_str()).collect();
    for m in &a {
        assert!(
            m.turns.iter().all(|t| dev_ids.contains(&t.0.as_str())),
            "{}",
            m.name
        );
    }
    for m in &b {
        assert!(
            m.turns.iter().all(|t| !dev_ids.contains(&t.0.as_str())),
            "{}",
            m.name
        );
    }
    let overlap: f64 = a.iter().chain(&b).map(|m| m.overlap_seconds()).sum();
    assert!(overlap > 5.0, "overlap {overlap:.1} s");
    let rttm = gijiroku::eval::der::parse_rttm(&a[0].rttm()).expect("rttm parses");
    assert_eq!(rttm.len(), a[0].turns.len());
    let long = simulate::long_meeting(&a, &small());
    assert!(long.samples.len() as f64 >= 200.0 * 16_000.0);
    assert!(long
        .turns
        .iter()
        .all(|t| t.2 * 16_000.0 <= long.samples.len() as f64));
}

/// Energy (dB) of the reference's speech against the time at least 0.8 s from every turn (past
/// the reverberation tails): a misplaced reference would mark pauses as speech.
#[test]
fn reference_turns_are_where_the_speech_is() {
    let sources = simulate::load_sources(Path::new(EVAL)).expect("sources");
    let (dev, held) = simulate::split_speakers(sources, 16);
    let (a, _) = simulate::simulate(&dev, &held, &small());
    for m in &a {
        let n = m.samples.len();
        let mut speech = vec![false; n];
        let mut near = vec![false; n];
        for (_, s, e) in &m.turns {
            let (s, e) = ((s * 16e3) as usize, ((e * 16e3) as usize).min(n));
            speech[s..e].iter_mut().for_each(|x| *x = true);
            let (s, e) = (s.saturating_sub(12_800), (e + 12_800).min(n));
            near[s..e].iter_mut().for_each(|x| *x = true);
        }
        let db = |sel: &dyn Fn(usize) -> bool| {
            let (mut e, mut c) = (0.0f64, 0usize);
            for i in (0..n).filter(|&i| sel(i)) {
                e += (m.samples[i] as f64).powi(2);
                c += 1;
            }
            10.0 * (e / c.max(1) as f64 + 1e-12).log10()
        };
        let inside = db(&|i| speech[i]);
        let far = db(&|i| !near[i]);
        assert!(
            inside - far > 20.0,
            "{}: speech {inside:.1} dB, pauses {far:.1} dB",
            m.name
        );
    }
}

#[test]
fn speaker_hints_cannot_split_one_voice() {
    let mut o = DiarizeOptions::default();
    o.cluster.num_speakers = Some(1000);
    let e = o.validate().expect_err("1000 speakers accepted");
    assert!(e.to_string().contains("--speakers 1000"), "{e}");
    let mut o = DiarizeOptions::default();
    o.cluster.min_speakers = Some(101);
    assert!(o.validate().is_err());

    let wav = Path::new(EVAL).join("asr_en/mfa__acoustic_corpus.wav");
    let (samples, _) = gijiroku::audio::load_16k(&wav).expect("wav");
    let speech = diarize::energy_speech(&samples);
    let (enc, seg) = (common::encoder(), common::segmentation());
    for hint in [7, 100] {
        let mut o = DiarizeOptions::default();
        o.cluster.num_speakers = Some(hint);
        o.validate().expect("valid");
        let d = diarize::diarize(&enc, Some(&seg), &samples, &speech, &o).expect("diarize");
        let n = gijiroku::eval::der::speaker_count(
            &d.turns
                .iter()
                .map(|t| (t.speaker.clone(), t.start, t.end))
                .collect::<Vec<_>>(),
        );
        assert!(n <= 2, "--speakers {hint} on one voice gave {n} speakers");
    }
}
