//! Decoding every supported format to 16 kHz mono, and bad input giving clear errors.
//!
//! The fixtures in tests/fixtures/formats/ were made from the public-domain JFK clip by
//! tests/fixtures/formats/make.sh (ffmpeg); each must decode to the reference samples.

use gijiroku::audio::{load_16k, Decoder16k, BLOCK_SAMPLES, SAMPLE_RATE};
use std::path::{Path, PathBuf};

const EVAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/eval");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/formats");

fn fixture(name: &str) -> PathBuf {
    Path::new(FIXTURES).join(name)
}

fn jfk() -> Vec<f32> {
    let p = Path::new(EVAL).join("asr_en/whisper__jfk.wav");
    let mut r = hound::WavReader::open(&p)
        .unwrap_or_else(|e| panic!("reference {} missing: {e}", p.display()));
    assert_eq!(r.spec().sample_rate, SAMPLE_RATE);
    r.samples::<i16>()
        .map(|s| s.expect("reference WAV readable") as f32 / 32768.0)
        .collect()
}

/// Best normalised correlation of `got` against `reference` over lags of ±`max_lag` samples
/// (codecs add delay: AAC keeps its priming), and that lag.
fn best_correlation(reference: &[f32], got: &[f32], max_lag: i64) -> (f64, i64) {
    let n = reference.len().min(got.len()) as i64;
    let mut best = (f64::MIN, 0);
    for lag in -max_lag..=max_lag {
        let (mut xy, mut xx, mut yy) = (0f64, 0f64, 0f64);
        // Compare the middle of the clip so every lag sees the same span of the reference.
        for i in max_lag..n - max_lag {
            let j = i + lag;
            if j < 0 || j >= got.len() as i64 {
                continue;
            }
            let x = reference[i as usize] as f64;
            let y = got[j as usize] as f64;
            xy += x * y;
            xx += x * x;
            yy += y * y;
        }
        let c = xy / (xx.sqrt() * yy.sqrt() + 1e-12);
        if c > best.0 {
            best = (c, lag);
        }
    }
    best
}

/// Decodes `name` and checks its length (at most `extra_ms` longer than `seconds`: codecs that
/// work in whole frames or blocks pad the end when the container does not say how much to
/// trim), the rate and channels reported, and the correlation with the reference.
fn check(name: &str, seconds: f64, rate: u32, channels: u16, extra_ms: f64, min_corr: f64) {
    let reference = jfk();
    let (got, info) = load_16k(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e:#}"));
    let want = seconds * SAMPLE_RATE as f64;
    let len_err_ms = (got.len() as f64 - want) / SAMPLE_RATE as f64 * 1000.0;
    let (corr, lag) = best_correlation(&reference[..want as usize], &got, 1600);
    eprintln!(
        "{name:24} codec {:14} len {:+6.1} ms  corr {corr:.4}  lag {lag:+5} samples  duration {:?}",
        info.codec, len_err_ms, info.duration
    );
    assert_eq!(info.sample_rate, rate, "{name}: {info:?}");
    assert_eq!(info.channels, channels, "{name}: {info:?}");
    assert!(
        (-0.1..=extra_ms).contains(&len_err_ms),
        "{name}: decoded {} samples, expected {want} ({len_err_ms:+.1} ms)",
        got.len()
    );
    assert!(
        corr >= min_corr,
        "{name}: correlation {corr:.4} with the reference is below {min_corr}"
    );
    if let Some(d) = info.duration {
        assert!(
            d >= seconds - 0.001 && d - seconds <= 0.1,
            "{name}: container says {d} s"
        );
    }
}

// Bounds: the correlation and length measured on this machine (in the comment) with a margin.
// Lossless formats decode to the reference samples (correlation 1.0000, exact length, also
// through the 22.05/48 kHz resampler); lossy ones lose a little.

#[test]
fn wav_pcm_variants() {
    check("wav_s16_22k.wav", 4.0, 22050, 1, 0.1, 0.999); // 1.0000
    check("wav_s24.wav", 2.0, 16000, 1, 0.1, 0.99999); // 1.0000
    check("wav_f32.wav", 2.0, 16000, 1, 0.1, 0.99999); // 1.0000
    check("wav_mulaw.wav", 4.0, 8000, 1, 0.1, 0.999); // 0.9999
                                                      // IMA ADPCM pads the last block (symphonia ignores the `fact` sample count): +82 ms.
    check("wav_ima_adpcm.wav", 4.0, 16000, 1, 130.0, 0.995); // 0.9991
}

#[test]
fn compressed_formats() {
    check("mp3_44k.mp3", 4.0, 44100, 1, 0.1, 0.995); // 0.9999, LAME gapless info honoured
                                                     // AAC in MP4: the edit list's 1024 priming frames are dropped and its length kept.
    check("aac_44k_stereo.m4a", 4.0, 44100, 2, 0.1, 0.995); // 0.9998, exact length
    check("vorbis_44k.ogg", 4.0, 44100, 1, 0.1, 0.99); // 0.9976
    check("opus.opus", 4.0, 48000, 1, 0.1, 0.98); // 0.9889
                                                  // WebM declares the 16 kHz input rate; libopus decodes at that rate directly.
    check("opus.webm", 4.0, 16000, 1, 30.0, 0.98); // 0.9991, +13.5 ms
                                                   // Matroska has no edit list here: AAC keeps its priming (1024 frames, 371.5 samples of
                                                   // lag at 16 kHz, half a sample off the integer lags compared) and its padding.
    check("aac.mkv", 4.0, 44100, 1, 70.0, 0.97); // 0.9788, +40 ms
}

#[test]
fn video_file_uses_its_audio_track() {
    // 16 kHz AAC beside an H.264 track; edit list applied.
    check("video_h264_aac.mp4", 4.0, 16000, 1, 0.1, 0.999); // 1.0000, exact length
}

#[test]
fn lossless_and_apple_formats() {
    check("flac_48k_stereo.flac", 4.0, 48000, 2, 0.1, 0.9999); // 1.0000
    check("aiff.aiff", 2.0, 16000, 1, 0.1, 0.99999); // 1.0000
    check("caf_pcm.caf", 2.0, 16000, 1, 0.1, 0.99999); // 1.0000
    check("alac.m4a", 4.0, 16000, 1, 0.1, 0.99999); // 1.0000
    check("alac.caf", 4.0, 16000, 1, 0.1, 0.99999); // 1.0000
}

#[test]
fn downmix_is_the_mean_of_the_channels() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path().join("left_only.wav");
    let reference = jfk();
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&p, spec).expect("create wav");
    for s in &reference {
        w.write_sample((s * 32768.0) as i16).expect("write");
        w.write_sample(0i16).expect("write");
    }
    w.finalize().expect("finalize");
    let (got, info) = load_16k(&p).expect("decodes");
    assert_eq!((info.sample_rate, info.channels), (SAMPLE_RATE, 2));
    assert_eq!(got.len(), reference.len());
    let worst = got
        .iter()
        .zip(&reference)
        .map(|(g, r)| (g - r / 2.0).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-6, "mono is not (L+R)/2: off by {worst}");
}

// ---- bad input: one clear line each, never a panic ----

fn open_error(p: &Path) -> String {
    match Decoder16k::open(p) {
        Ok(_) => panic!("{} opened without error", p.display()),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn missing_file_folder_and_empty_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let e = open_error(&dir.path().join("nothing-here.wav"));
    assert!(e.contains("no such file"), "{e}");
    let e = open_error(dir.path());
    assert!(e.contains("is a folder"), "{e}");
    let empty = dir.path().join("empty.m4a");
    std::fs::write(&empty, b"").expect("write");
    let e = open_error(&empty);
    assert!(e.contains("is empty"), "{e}");
    assert!(!e.contains('\n'), "error spans lines: {e}");
}

#[test]
fn text_renamed_mp3_is_not_audio() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path().join("minutes.mp3");
    std::fs::write(&p, "議事録\n本日の会議を開きます。\n".repeat(200)).expect("write");
    let e = open_error(&p);
    assert!(e.contains("not an audio file or unsupported format"), "{e}");
}

#[test]
fn video_without_audio_track() {
    let e = open_error(&fixture("video_only.mp4"));
    assert!(e.contains("has no audio track"), "{e}");
}

#[test]
fn header_only_wav_has_nothing_to_decode() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bytes = std::fs::read(fixture("wav_s24.wav")).expect("fixture");
    let p = dir.path().join("cut.wav");
    std::fs::write(&p, &bytes[..44]).expect("write");
    let e = open_error(&p);
    assert!(
        e.contains("no audio could be decoded") || e.contains("not an audio file"),
        "{e}"
    );
}

#[test]
fn truncated_files_keep_what_decodes() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Cut in half: up to 2 of the 4 seconds come back, with a warning, not an error (Ogg
    // loses the whole last page: 1.01 s of vorbis measured; mp3 1.96 s, flac 1.63 s).
    for name in [
        "mp3_44k.mp3",
        "flac_48k_stereo.flac",
        "vorbis_44k.ogg",
        "wav_s16_22k.wav",
    ] {
        let bytes = std::fs::read(fixture(name)).expect("fixture");
        let p = dir.path().join(name);
        std::fs::write(&p, &bytes[..bytes.len() / 2]).expect("write");
        let (got, _) = load_16k(&p).unwrap_or_else(|e| panic!("{name} cut in half: {e:#}"));
        let secs = got.len() as f64 / SAMPLE_RATE as f64;
        eprintln!("{name} cut in half: {secs:.2} s");
        assert!(
            (0.9..=2.1).contains(&secs),
            "{name} cut in half gave {secs} s"
        );
    }
    // A truncated MP4 loses its index (moov at the end): nothing to decode, a clear error.
    let bytes = std::fs::read(fixture("aac_44k_stereo.m4a")).expect("fixture");
    let p = dir.path().join("cut.m4a");
    std::fs::write(&p, &bytes[..bytes.len() / 2]).expect("write");
    if let Err(e) = Decoder16k::open(&p) {
        let e = format!("{e:#}");
        assert!(!e.contains('\n') && e.contains("cut.m4a"), "{e}");
    }
}

#[test]
fn damaged_packets_in_the_middle_are_skipped() {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["mp3_44k.mp3", "vorbis_44k.ogg", "flac_48k_stereo.flac"] {
        let mut bytes = std::fs::read(fixture(name)).expect("fixture");
        let mid = bytes.len() / 2;
        // Deterministic garbage over 1 kB in the middle.
        for (i, b) in bytes[mid..mid + 1024].iter_mut().enumerate() {
            *b = (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3];
        }
        let p = dir.path().join(name);
        std::fs::write(&p, &bytes).expect("write");
        let (got, _) = load_16k(&p).unwrap_or_else(|e| panic!("damaged {name}: {e:#}"));
        let secs = got.len() as f64 / SAMPLE_RATE as f64;
        eprintln!("{name} with 1 kB of garbage in the middle: {secs:.2} s");
        // Decoding resumes after the damage; where packet times show a hole (Ogg, FLAC) it is
        // filled with silence so later speech keeps its time: 4.00 s measured. MP3 has no
        // packet times: the frames under the garbage are lost (3.89 s measured).
        assert!(
            secs > 3.8 && secs < 4.03,
            "damaged {name}: {secs} s decoded"
        );
    }
}

/// Peak resident memory of this process (Linux), in MB.
fn peak_rss_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

#[test]
fn long_recording_streams_in_bounded_blocks() {
    // 30 minutes at 22.05 kHz (through the resampler), written sample by sample.
    const RATE: u32 = 22_050;
    const SECONDS: u64 = 30 * 60;
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path().join("long.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&p, spec).expect("create wav");
    let mut x: u32 = 1;
    for i in 0..RATE as u64 * SECONDS {
        // A 220 Hz tone with a little noise, so nothing compresses to silence.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let t = i as f32 / RATE as f32;
        let v = 0.3 * (t * 220.0 * std::f32::consts::TAU).sin()
            + (x as f32 / u32::MAX as f32 - 0.5) * 0.02;
        w.write_sample((v * 32767.0) as i16).expect("write");
    }
    w.finalize().expect("finalize");

    let before = peak_rss_mb();
    let mut d = Decoder16k::open(&p).expect("opens");
    assert_eq!(d.info().duration, Some(SECONDS as f64));
    let (mut total, mut blocks, mut largest) = (0usize, 0usize, 0usize);
    while let Some(b) = d.next_block().expect("decodes") {
        assert!(!b.is_empty());
        largest = largest.max(b.len());
        total += b.len();
        blocks += 1;
    }
    let after = peak_rss_mb();
    assert!(largest <= BLOCK_SAMPLES, "a block of {largest} samples");
    assert_eq!(total as u64, SECONDS * SAMPLE_RATE as u64, "length");
    assert_eq!(blocks, (SECONDS as usize * 16_000).div_ceil(BLOCK_SAMPLES));
    if let (Some(b), Some(a)) = (before, after) {
        // The whole recording as f32 at 16 kHz would be 115 MB; streaming grew the peak
        // by 1–2 MB here (the bound leaves room for tests running in parallel).
        eprintln!("peak RSS {b:.0} MB → {a:.0} MB");
        assert!(a - b < 60.0, "peak memory grew by {:.0} MB", a - b);
    }
}

#[test]
fn non_finite_float_samples_become_silence() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path().join("nan.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(&p, spec).expect("create wav");
    for i in 0..48_000 {
        let v = match i % 1000 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            _ => 0.1 * (i as f32 * 0.05).sin(),
        };
        w.write_sample(v).expect("write");
    }
    w.finalize().expect("finalize");
    let (got, _) = load_16k(&p).expect("decodes");
    assert_eq!(got.len(), 16_000);
    assert!(got.iter().all(|s| s.is_finite() && s.abs() < 1.0));
}
