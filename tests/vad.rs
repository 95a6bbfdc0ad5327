//! Silero VAD import and voice activity on real speech with known silences.
//!
//! Needs the Silero weights from the PyPI package silero-vad 6.2.3, unpacked by
//! scripts/setup.sh under `$GIJIROKU_MODELS/sources/silero_vad/data/` (default `models/`).

use gijiroku::audio::load_16k;
use gijiroku::models::silero::import_silero;
use gijiroku::transcript::Span;
use gijiroku::vad::{SpeechDetector, VadOptions};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const EVAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/eval");

fn models_dir() -> PathBuf {
    std::env::var_os("GIJIROKU_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("models"))
}

/// Imports the Silero weights once per test run into a temporary folder.
fn vad_model() -> &'static Path {
    static MODEL: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &MODEL
        .get_or_init(|| {
            let src = models_dir().join("sources/silero_vad/data/silero_vad_16k.safetensors");
            assert!(
                src.is_file(),
                "Silero VAD weights not found at {} (run scripts/setup.sh, or set GIJIROKU_MODELS)",
                src.display()
            );
            let dir = tempfile::tempdir().expect("temp dir");
            let dst = dir.path().join("ggml-silero-vad.bin");
            import_silero(&src, &dst).expect("import");
            (dir, dst)
        })
        .1
}

fn clip(name: &str) -> Vec<f32> {
    let p = Path::new(EVAL).join("asr_en").join(name);
    load_16k(&p)
        .unwrap_or_else(|e| panic!("{}: {e:#}", p.display()))
        .0
}

fn detector() -> SpeechDetector {
    SpeechDetector::new(vad_model(), VadOptions::default()).expect("VAD loads")
}

#[test]
fn import_matches_whisper_cpp_layout() {
    let len = std::fs::metadata(vad_model()).expect("written").len();
    // The size of whisper.cpp's own converted Silero file (same header, tensors and types).
    assert_eq!(len, 885_098, "VAD model size");
    let bytes = std::fs::read(vad_model()).expect("read");
    assert_eq!(&bytes[..4], &0x6767_6d6cu32.to_le_bytes());
    assert_eq!(&bytes[8..18], b"silero-16k");
}

#[test]
fn import_rejects_other_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("x.safetensors");
    std::fs::write(&bad, b"not safetensors at all").expect("write");
    let e = import_silero(&bad, &dir.path().join("out.bin")).expect_err("must fail");
    assert!(format!("{e:#}").contains("not the Silero VAD"), "{e:#}");
    assert!(!dir.path().join("out.bin").exists());
    let e = SpeechDetector::new(&bad, VadOptions::default())
        .err()
        .expect("a non-model must not load");
    assert!(format!("{e:#}").contains("cannot load VAD model"), "{e:#}");
}

/// JFK + 3 s silence + LibriVox + 2 s silence + LibriSpeech, with where each clip lies.
fn meeting() -> (Vec<f32>, Vec<Span>, Vec<Span>) {
    let sr = 16_000.0;
    let parts = [
        clip("whisper__jfk.wav"),
        clip("pocketsphinx__ss01_0870.wav"),
        clip("mfa__librispeech_61-70968-0000.wav"),
    ];
    let silences = [3.0, 2.0];
    let mut all = Vec::new();
    let (mut clips, mut gaps) = (Vec::new(), Vec::new());
    for (i, p) in parts.iter().enumerate() {
        let start = all.len() as f64 / sr;
        all.extend_from_slice(p);
        clips.push(Span::new(start, all.len() as f64 / sr));
        if let Some(s) = silences.get(i) {
            let g0 = all.len() as f64 / sr;
            all.extend(std::iter::repeat_n(0.0f32, (s * sr) as usize));
            gaps.push(Span::new(g0, all.len() as f64 / sr));
        }
    }
    (all, clips, gaps)
}

#[test]
fn finds_speech_around_known_silences() {
    let (audio, clips, gaps) = meeting();
    let regions = detector().speech_regions(&audio).expect("VAD runs");
    eprintln!("clips {clips:?}\ngaps {gaps:?}\nregions {regions:?}");
    let pad = VadOptions::default().speech_pad_ms as f64 / 1000.0;
    // Regions reach into an inserted silence by at most their padding (measured: JFK's last
    // region ends 0.28 s into the 3 s gap, the LibriVox one starts 0.03 s before its clip).
    for g in &gaps {
        for r in &regions {
            let inside = r.overlap(&Span::new(g.start + pad + 0.05, g.end - pad - 0.05));
            assert!(inside == 0.0, "region {r:?} covers the silence {g:?}");
        }
    }
    // Every clip's speech is found: regions cover most of each clip (measured: JFK 10.13 of
    // 11.0 s, its two longest pauses left out; LibriVox and LibriSpeech all of it).
    for c in &clips {
        let covered: f64 = regions.iter().map(|r| r.overlap(c)).sum();
        eprintln!("clip {c:?}: {covered:.2} s covered");
        assert!(
            covered >= 0.9 * c.duration(),
            "clip {c:?}: only {covered:.2} s found as speech"
        );
    }
    // The silences split the speech: no region spans from one clip to the next.
    for r in &regions {
        let touched = clips.iter().filter(|c| r.overlap(c) > 0.0).count();
        assert_eq!(touched, 1, "region {r:?} spans clips");
    }
    for w in regions.windows(2) {
        assert!(w[0].end <= w[1].start, "regions overlap: {regions:?}");
    }
}

#[test]
fn silence_alone_has_no_speech() {
    let mut vad = detector();
    let silence = vec![0.0f32; 16_000 * 40];
    assert!(vad.speech_regions(&silence).expect("VAD runs").is_empty());
    // Faint noise (about -60 dBFS) is not speech either.
    let mut x: u32 = 7;
    let hiss: Vec<f32> = (0..16_000 * 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x as f32 / u32::MAX as f32 - 0.5) * 0.002
        })
        .collect();
    let r = vad.speech_regions(&hiss).expect("VAD runs");
    assert!(r.is_empty(), "noise taken for speech: {r:?}");
}

#[test]
fn streaming_in_small_blocks_gives_the_same_regions() {
    let (audio, _, _) = meeting();
    // Three times over, so the recording spans several 30.72 s model chunks.
    let long: Vec<f32> = audio.iter().chain(&audio).chain(&audio).copied().collect();
    let mut vad = detector();
    let whole = vad.speech_regions(&long).expect("VAD runs");
    for block in [1_000usize, 16_000, 100_003] {
        let mut streamed = Vec::new();
        for b in long.chunks(block) {
            streamed.extend(vad.push(b).expect("push"));
        }
        streamed.extend(vad.finish().expect("finish"));
        assert_eq!(streamed, whole, "block size {block}");
    }
    // Regions come out while the recording is still being fed, not all at the end (only
    // those in the last, partial 30.72 s model chunk wait for `finish`: 10 early, 3 at the
    // end measured).
    let mut early = 0;
    for b in long.chunks(16_000) {
        early += vad.push(b).expect("push").len();
    }
    let late = vad.finish().expect("finish").len();
    assert!(early >= whole.len() / 2, "{early} early, {late} at the end");
}

/// 10 ms frames marked as speech by `spans`, for a clip of `n` frames.
fn frames(spans: impl IntoIterator<Item = (f64, f64)>, n: usize) -> Vec<bool> {
    let mut v = vec![false; n];
    for (a, b) in spans {
        let (a, b) = (
            (a * 100.0).round() as usize,
            ((b * 100.0).round() as usize).min(n),
        );
        v.iter_mut().take(b).skip(a).for_each(|x| *x = true);
    }
    v
}

#[test]
fn meeting_speech_against_reference_turns() {
    // The diarization clips (AMI meeting excerpts and others) with their reference speaker
    // turns (RTTM): speech is the union of the turns.
    let dir = Path::new(EVAL).join("diarization");
    let mut vad = detector();
    let (mut miss, mut false_alarm, mut speech, mut total) = (0usize, 0usize, 0usize, 0usize);
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("eval/diarization")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "wav"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 9,
        "diarization clips missing in {}",
        dir.display()
    );
    for p in &names {
        let rttm = std::fs::read_to_string(p.with_extension("rttm")).expect("rttm beside wav");
        let audio = load_16k(p).expect("decodes").0;
        let n = audio.len() / 160;
        let turns = rttm.lines().filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let start: f64 = f.get(3)?.parse().ok()?;
            let dur: f64 = f.get(4)?.parse().ok()?;
            Some((start, start + dur))
        });
        let reference = frames(turns, n);
        let found = vad.speech_regions(&audio).expect("VAD runs");
        let hyp = frames(found.iter().map(|s| (s.start, s.end)), n);
        for (r, h) in reference.iter().zip(&hyp) {
            miss += (*r && !*h) as usize;
            false_alarm += (!*r && *h) as usize;
        }
        speech += reference.iter().filter(|x| **x).count();
        total += n;
    }
    let miss_pct = 100.0 * miss as f64 / speech as f64;
    let fa_pct = 100.0 * false_alarm as f64 / (total - speech) as f64;
    eprintln!("missed {miss_pct:.1} % of speech, {fa_pct:.1} % of non-speech taken as speech");
    // Measured with the defaults: 6.8 % missed (3.3 s of it one quiet far-field speaker in
    // trn01), 5.8 % false alarm (mostly the 0.3 s padding around turns).
    assert!(miss_pct < 9.0, "missed {miss_pct:.1} % of speech");
    assert!(fa_pct < 9.0, "{fa_pct:.1} % false alarm");
}

#[test]
fn secondary_rules_read_the_same_probabilities() {
    // One model pass, two sets of rules: the secondary regions are exactly those of a
    // detector run with the secondary rules alone, and the primary ones are unchanged.
    let samples = clip("mfa__acoustic_corpus.wav");
    let primary = detector().speech_regions(&samples).expect("primary");
    let alone = SpeechDetector::new(vad_model(), VadOptions::for_diarization())
        .expect("VAD loads")
        .speech_regions(&samples)
        .expect("alone");
    let mut both = detector()
        .with_secondary(VadOptions::for_diarization())
        .expect("valid rules");
    let mut main = Vec::new();
    let mut second = Vec::new();
    for block in samples.chunks(7_000) {
        main.extend(both.push(block).expect("push"));
        second.extend(both.take_secondary());
    }
    main.extend(both.finish().expect("finish"));
    second.extend(both.take_secondary());
    assert_eq!(main, primary);
    assert_eq!(second, alone);
    // The finer rules cut the clip into more regions (pauses of 0.3 s end a region).
    assert!(
        second.len() > primary.len(),
        "{} vs {}",
        second.len(),
        primary.len()
    );
}
