//! Hostile audio (issue 19 items 2, 6, 7): absurd float samples, WAVs whose sizes were never
//! filled in, damaged Ogg pages. Every file is built or damaged at run time from the JFK clip
//! or the committed format fixtures. The CLI tests need the tiny.en model (scripts/setup.sh)
//! in GIJIROKU_MODELS (default: models/).

mod common;

use gijiroku::audio::{load_16k, Decoder16k, SAMPLE_RATE};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EVAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/eval");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/formats");

fn jfk_i16() -> Vec<i16> {
    let p = Path::new(EVAL).join("asr_en/whisper__jfk.wav");
    let mut r = hound::WavReader::open(&p)
        .unwrap_or_else(|e| panic!("reference {} missing: {e}", p.display()));
    assert_eq!(r.spec().sample_rate, SAMPLE_RATE);
    r.samples::<i16>()
        .map(|s| s.expect("reference WAV readable"))
        .collect()
}

fn jfk() -> Vec<f32> {
    jfk_i16().iter().map(|&s| s as f32 / 32768.0).collect()
}

fn write_f32_wav(path: &Path, rate: u32, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for &s in samples {
        w.write_sample(s).expect("write");
    }
    w.finalize().expect("finalize");
}

/// The JFK clip with every `every`-th sample replaced by `value`.
fn spiked(every: usize, value: f32) -> Vec<f32> {
    let mut s = jfk();
    for x in s.iter_mut().step_by(every) {
        *x = value;
    }
    s
}

fn models() -> PathBuf {
    common::models_with("ggml-whisper-tiny.en.bin")
}

/// `gijiroku transcribe` with tiny.en on one file; returns the process output and the text
/// written (empty when it failed).
fn transcribe(input: &Path) -> (Output, String) {
    let out = tempfile::tempdir().expect("temp dir");
    let o = Command::new(env!("CARGO_BIN_EXE_gijiroku"))
        .arg("--models-dir")
        .arg(models())
        .args([
            "transcribe",
            "-m",
            "whisper-tiny.en",
            "-l",
            "en",
            "-f",
            "txt",
        ])
        .arg("--out")
        .arg(out.path())
        .arg(input)
        .env_remove("RUST_LOG")
        .output()
        .expect("runs gijiroku");
    let stem = input.file_stem().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(out.path().join(format!("{stem}.txt"))).unwrap_or_default();
    (o, text)
}

fn normalised(text: &str) -> String {
    let t: String = text
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect();
    t.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The process ended by itself (no signal) with `code`, and its error output, if it failed,
/// is one line.
fn assert_exit(o: &Output, code: i32, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(
        o.status.code(),
        Some(code),
        "{what}: status {:?} (None = killed by a signal)\n{stderr}",
        o.status
    );
    stderr
}

// ---- item 2: absurd float samples ----

#[test]
fn spiked_float_wav_is_transcribed_not_a_crash() {
    // Every 1000th sample 1e30 crashed whisper.cpp's DTW (SIGSEGV); 1e5 gave invented text
    // ("I'm going to be right back." ×3). Both must give the clip's words.
    let dir = tempfile::tempdir().expect("temp dir");
    for value in [1e30f32, 1e5] {
        let p = dir.path().join(format!("spiked_{value:e}.wav"));
        write_f32_wav(&p, SAMPLE_RATE, &spiked(1000, value));
        let (o, text) = transcribe(&p);
        let stderr = assert_exit(&o, 0, &format!("spikes of {value:e}"));
        let text = normalised(&text);
        eprintln!("spikes of {value:e}: {text:?}\n{stderr}");
        assert!(
            text.contains("ask not what your country can do for you"),
            "spikes of {value:e}: {text:?}"
        );
        assert!(
            stderr.contains("replaced by silence"),
            "no warning for spikes of {value:e}: {stderr}"
        );
    }
}

#[test]
fn mostly_absurd_float_wav_is_refused_with_one_line() {
    // 2 % of the samples absurd (1e30): not a recording but damage or a misread format.
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path().join("absurd.wav");
    write_f32_wav(&p, SAMPLE_RATE, &spiked(50, 1e30));
    let (o, _) = transcribe(&p);
    let stderr = assert_exit(&o, 1, "2 % absurd samples");
    eprintln!("{stderr}");
    // One line for the file (a batch adds its summary line, "1 of 1 inputs failed").
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("absurd.wav"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].starts_with("gijiroku: error:") && errors[0].contains("absurd.wav"),
        "{stderr}"
    );
    assert!(errors[0].contains("not valid audio"), "{stderr}");
    // The library refuses it at open, before any sample reaches a later stage.
    let e = match Decoder16k::open(&p) {
        Ok(_) => panic!("opened"),
        Err(e) => format!("{e:#}"),
    };
    assert!(e.contains("2.0 %") && !e.contains('\n'), "{e}");
}

#[test]
fn decoded_samples_always_lie_within_unit_range() {
    let dir = tempfile::tempdir().expect("temp dir");
    let loud: Vec<f32> = jfk().iter().map(|s| s * 40.0).collect();
    let cases: [(&str, u32, Vec<f32>); 6] = [
        ("1e30 spikes", SAMPLE_RATE, spiked(1000, 1e30)),
        ("-1e30 spikes", SAMPLE_RATE, spiked(1000, -1e30)),
        ("1e5 spikes", SAMPLE_RATE, spiked(1000, 1e5)),
        ("NaN spikes", SAMPLE_RATE, spiked(1000, f32::NAN)),
        ("3.0 spikes", SAMPLE_RATE, spiked(1000, 3.0)),
        // Clipped loud speech through the 48 kHz resampler, which rings past full scale.
        ("40x too loud at 48 kHz", 48_000, {
            let mut up = Vec::with_capacity(loud.len() * 3);
            for w in loud.windows(2) {
                up.extend([w[0], (2.0 * w[0] + w[1]) / 3.0, (w[0] + 2.0 * w[1]) / 3.0]);
            }
            up
        }),
    ];
    for (what, rate, samples) in cases {
        let p = dir.path().join("case.wav");
        write_f32_wav(&p, rate, &samples);
        let mut d = Decoder16k::open(&p).unwrap_or_else(|e| panic!("{what}: {e:#}"));
        let mut n = 0usize;
        let mut peak = 0f32;
        while let Some(b) = d.next_block().expect("decodes") {
            for s in &b {
                assert!(s.is_finite() && s.abs() <= 1.0, "{what}: sample {s}");
                peak = peak.max(s.abs());
            }
            n += b.len();
        }
        let fixes = d.sample_fixes();
        eprintln!("{what}: {n} samples, peak {peak}, {fixes:?}");
        let want = samples.len() * SAMPLE_RATE as usize / rate as usize;
        assert!(n.abs_diff(want) <= 1, "{what}: {n} samples, want {want}");
        let spikes = samples.len().div_ceil(1000) as u64;
        match what {
            "1e30 spikes" | "-1e30 spikes" | "1e5 spikes" | "NaN spikes" => {
                assert_eq!((fixes.absurd, fixes.clipped), (spikes, 0), "{what}")
            }
            "3.0 spikes" => assert_eq!((fixes.absurd, fixes.clipped), (0, spikes), "{what}"),
            _ => assert!(fixes.clipped > 1000 && fixes.absurd == 0, "{what}"),
        }
    }
}

// ---- item 6: WAV sizes never filled in ----

/// A 16-bit WAV of `frames` (interleaved), with the RIFF and data sizes replaced and `tail`
/// bytes of a partial last frame appended, as a recorder that crashed leaves it.
fn unfinished_wav(path: &Path, channels: u16, samples: &[i16], riff: u32, data: u32, tail: usize) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for &s in samples {
        w.write_sample(s).expect("write");
    }
    w.finalize().expect("finalize");
    let mut bytes = std::fs::read(path).expect("read back");
    let data_at = bytes
        .windows(4)
        .position(|w| w == b"data")
        .expect("data chunk");
    bytes[4..8].copy_from_slice(&riff.to_le_bytes());
    bytes[data_at + 4..data_at + 8].copy_from_slice(&data.to_le_bytes());
    bytes.extend(std::iter::repeat_n(0x55u8, tail));
    std::fs::write(path, bytes).expect("write back");
}

#[test]
fn unfinished_wav_sizes_are_read_to_the_end_of_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let speech = jfk_i16();
    let reference: Vec<f32> = speech.iter().map(|&s| s as f32 / 32768.0).collect();
    for (riff, data, tail) in [
        (0u32, 0u32, 0usize),
        (0, 0, 1),
        (u32::MAX, u32::MAX, 1),
        (0, u32::MAX, 0),
        (u32::MAX, 0, 1),
        (36, 0, 0), // RIFF size counting the header only
        (0, speech.len() as u32 * 2, 0),
    ] {
        let p = dir.path().join("crashed.wav");
        unfinished_wav(&p, 1, &speech, riff, data, tail);
        let what = format!("RIFF size {riff:#x}, data size {data:#x}, {tail} stray byte(s)");
        let (got, info) = load_16k(&p).unwrap_or_else(|e| panic!("{what}: {e:#}"));
        eprintln!(
            "{what}: {} samples, duration {:?}",
            got.len(),
            info.duration
        );
        assert_eq!(got.len(), reference.len(), "{what}");
        assert!(
            got.iter()
                .zip(&reference)
                .all(|(a, b)| (a - b).abs() < 1e-6),
            "{what}: samples differ"
        );
    }
    // Stereo with 3 of a frame's 4 bytes at the end: whole frames only, mean of the channels.
    let stereo: Vec<i16> = speech.iter().flat_map(|&s| [s, 0]).collect();
    let p = dir.path().join("crashed_stereo.wav");
    unfinished_wav(&p, 2, &stereo, 0, 0, 3);
    let (got, info) = load_16k(&p).expect("stereo decodes");
    assert_eq!((got.len(), info.channels), (reference.len(), 2));
    assert!(got
        .iter()
        .zip(&reference)
        .all(|(a, b)| (a - b / 2.0).abs() < 1e-6));
}

#[test]
fn unfinished_wav_is_transcribed_with_a_warning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path().join("crashed.wav");
    unfinished_wav(&p, 1, &jfk_i16(), 0, 0, 1);
    let (o, text) = transcribe(&p);
    let stderr = assert_exit(&o, 0, "unfinished WAV");
    eprintln!("{stderr}");
    assert!(
        normalised(&text).contains("ask what you can do for your country"),
        "{text:?}"
    );
    assert!(stderr.contains("sizes were never filled in"), "{stderr}");
}

// ---- item 7: damaged Ogg pages ----

/// Byte ranges of the Ogg pages of `bytes`: (start, body start, end, granule position).
fn ogg_pages(bytes: &[u8]) -> Vec<(usize, usize, usize, i64)> {
    let mut pages = Vec::new();
    let mut at = 0;
    while at + 27 <= bytes.len() && &bytes[at..at + 4] == b"OggS" {
        let granule = i64::from_le_bytes(bytes[at + 6..at + 14].try_into().unwrap());
        let segments = bytes[at + 26] as usize;
        let body = at + 27 + segments;
        let len: usize = bytes[at + 27..body].iter().map(|&b| b as usize).sum();
        pages.push((at, body, body + len, granule));
        at = body + len;
    }
    assert_eq!(at, bytes.len(), "the fixture is a sequence of whole pages");
    pages
}

/// Best lag (in samples, within ±`max_lag`) of `got[from..from + len]` against the same span
/// of `reference`, and its correlation.
fn alignment(reference: &[f32], got: &[f32], from: usize, len: usize, max_lag: i64) -> (i64, f64) {
    let mut best = (0, f64::MIN);
    for lag in -max_lag..=max_lag {
        let (mut xy, mut xx, mut yy) = (0f64, 0f64, 0f64);
        for (i, &x) in reference.iter().enumerate().skip(from).take(len) {
            let j = i as i64 + lag;
            if j < 0 || j as usize >= got.len() {
                continue;
            }
            let (x, y) = (x as f64, got[j as usize] as f64);
            xy += x * y;
            xx += x * x;
            yy += y * y;
        }
        let c = xy / (xx.sqrt() * yy.sqrt() + 1e-12);
        if c > best.1 {
            best = (lag, c);
        }
    }
    best
}

#[test]
fn damaged_ogg_pages_keep_length_and_later_times() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Vorbis: page 0 identification, page 1 comment + setup headers, audio from page 2.
    // Opus: page 0 OpusHead, page 1 OpusTags, audio from page 2.
    for name in ["vorbis_44k.ogg", "opus.opus"] {
        let bytes = std::fs::read(Path::new(FIXTURES).join(name)).expect("fixture");
        let pages = ogg_pages(&bytes);
        let (clean, _) = load_16k(&Path::new(FIXTURES).join(name)).expect("undamaged decodes");
        let first_audio = 2;
        let middle = pages.len() / 2 + 1;
        assert!(middle > first_audio && middle + 1 < pages.len(), "{name}");
        let cases = [
            ("a bit flipped in the first audio page", first_audio, false),
            ("a bit flipped in a middle page", middle, false),
            ("the capture pattern of a middle page broken", middle, true),
        ];
        for (what, page, capture) in cases {
            let (start, body, end, _) = pages[page];
            let mut damaged = bytes.clone();
            if capture {
                damaged[start + 1] ^= 0x20;
            } else {
                damaged[body + (end - body) / 3] ^= 0x10;
            }
            let p = dir.path().join(name);
            std::fs::write(&p, &damaged).expect("write");
            let (got, _) = load_16k(&p).unwrap_or_else(|e| panic!("{name}, {what}: {e:#}"));
            let diff = (got.len() as f64 - clean.len() as f64) / SAMPLE_RATE as f64;
            // Speech after the damaged page: the last 0.6 s (JFK's "country") must sit where it
            // sits in the undamaged decode.
            let tail = (0.6 * SAMPLE_RATE as f64) as usize;
            let from = clean.len() - tail - 800;
            let (lag, corr) = alignment(&clean, &got, from, tail, 4000);
            eprintln!(
                "{name}, {what} (page {page}): {:.3} s ({diff:+.3} s), tail lag {lag} corr {corr:.4}",
                got.len() as f64 / SAMPLE_RATE as f64
            );
            assert!(
                diff.abs() <= 0.1,
                "{name}, {what}: length off by {diff:+.3} s"
            );
            assert!(
                lag.abs() <= 1 && corr > 0.98,
                "{name}, {what}: later speech moved by {lag} samples (corr {corr:.4})"
            );
        }
    }
}
