//! Chunks decoded on several whisper states at once (the default) against one state decoding
//! them in turn: the same speech regions, segments in time order with the same structure, the
//! same words (near enough: the sequential path prompts each chunk with the previous text), and
//! the parallel result identical from run to run. Real speech: the demo's English recordings
//! joined into 41 s, so the recording is cut into two chunks.

mod common;

use gijiroku::pipeline::{transcribe_file, TranscribeOptions};
use gijiroku::transcript::Transcript;
use std::path::{Path, PathBuf};

fn models() -> PathBuf {
    common::models_with("ggml-whisper-tiny.en.bin")
}

fn joined_recording(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("recordings");
    let out = dir.join("joined.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&out, spec).unwrap();
    for name in ["jfk-inaugural-1961.wav", "ami-meeting-excerpt.wav"] {
        let mut r = hound::WavReader::open(root.join(name)).unwrap();
        assert_eq!(r.spec().sample_rate, 16000);
        for s in r.samples::<i16>() {
            w.write_sample(s.unwrap()).unwrap();
        }
    }
    w.finalize().unwrap();
    out
}

fn run(path: &Path, parallel: bool) -> Transcript {
    let m = models();
    // tiny.en keeps the three transcriptions short; the chunking and the pool are the same.
    let mut o = TranscribeOptions::new(m.join("ggml-whisper-tiny.en.bin"));
    o.vad_model = Some(m.join("ggml-silero-vad.bin"));
    o.language = Some("en".into());
    o.threads = 2;
    o.beam = 1; // greedy keeps the test short; the chunking is the same
    o.parallel = parallel;
    transcribe_file(path, &o).unwrap()
}

fn words(t: &Transcript) -> Vec<String> {
    t.text()
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn check_structure(t: &Transcript) {
    assert!(!t.segments.is_empty());
    let mut prev = 0.0;
    for (i, s) in t.segments.iter().enumerate() {
        assert_eq!(s.id, i);
        assert!(
            s.start >= prev - 1e-6,
            "segment {i} starts before the one before it"
        );
        assert!(s.end >= s.start);
        assert!(s.end <= t.source.duration + 1e-6);
        // Every segment lies in the speech the VAD found (chunks are cut from its regions).
        assert!(
            t.speech
                .iter()
                .any(|r| s.start >= r.start - 0.05 && s.start <= r.end + 0.05),
            "segment {i} at {:.2} s is outside every speech region",
            s.start
        );
        for w in &s.words {
            assert!(w.start >= s.start - 1e-6 && w.end <= s.end + 1e-6 && w.end >= w.start);
        }
        prev = s.start;
    }
}

#[test]
fn parallel_states_give_the_sequential_structure_in_order_and_deterministically() {
    let dir = tempfile::tempdir().unwrap();
    let wav = joined_recording(dir.path());
    let par = run(&wav, true);
    let seq = run(&wav, false);
    let again = run(&wav, true);

    check_structure(&par);
    check_structure(&seq);
    assert_eq!(
        par.speech, seq.speech,
        "the VAD does not depend on the decoder"
    );

    // Deterministic: the same chunks give the same transcript whichever thread ends first.
    assert_eq!(par.segments.len(), again.segments.len());
    for (a, b) in par.segments.iter().zip(&again.segments) {
        assert_eq!((a.start, a.end, &a.text), (b.start, b.end, &b.text));
    }

    // JFK first, then the meeting: the order of the chunks is kept.
    let first = &par.segments[0];
    assert!(first.start < 2.0 && first.text.to_lowercase().contains("americans"));
    let jfk_end = 11.0;
    let (p_before, s_before) = (
        par.segments.iter().filter(|s| s.start < jfk_end).count(),
        seq.segments.iter().filter(|s| s.start < jfk_end).count(),
    );
    assert!(p_before >= 1 && s_before >= 1);
    assert!(par.segments.iter().any(|s| s.start > jfk_end + 1.0));

    // Same words, near enough: at most 15 % of the words differ between the two paths.
    let (wp, ws) = (words(&par), words(&seq));
    let diff = similar::capture_diff_slices(similar::Algorithm::Myers, &ws, &wp);
    let same: usize = diff
        .iter()
        .map(|op| match op {
            similar::DiffOp::Equal { len, .. } => *len,
            _ => 0,
        })
        .sum();
    let n = ws.len().max(wp.len());
    assert!(
        same as f64 >= 0.85 * n as f64,
        "parallel and sequential words differ too much: {same} of {n} the same\n{}\n{}",
        seq.text(),
        par.text()
    );
    // Segment starts: each parallel segment starts within 1 s of a sequential one.
    for s in &par.segments {
        assert!(
            seq.segments.iter().any(|q| (q.start - s.start).abs() < 1.0),
            "parallel segment at {:.2} s has no sequential counterpart",
            s.start
        );
    }
}
