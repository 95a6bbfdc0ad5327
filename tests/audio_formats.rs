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
    // AAC in MP4 keeps its 1024-frame priming (symphonia ignores the edit list): +40 ms, and
    // 371.5 samples of lag, half a sample off the integer lags compared here.
    check("aac_44k_stereo.m4a", 4.0, 44100, 2, 70.0, 0.97); // 0.9793
    check("vorbis_44k.ogg", 4.0, 44100, 1, 0.1, 0.99); // 0.9976
    check("opus.opus", 4.0, 48000, 1, 0.1, 0.98); // 0.9889
    // WebM declares the 16 kHz input rate; libopus decodes at that rate directly.
    check("opus.webm", 4.0, 16000, 1, 30.0, 0.98); // 0.9991, +13.5 ms
    check("aac.mkv", 4.0, 44100, 1, 70.0, 0.97); // 0.9788, +40 ms
}

#[test]
fn video_file_uses_its_audio_track() {
    // 16 kHz AAC beside an H.264 track: priming of 1024 frames (64 ms), +96 ms in all.
    check("video_h264_aac.mp4", 4.0, 16000, 1, 130.0, 0.99); // 1.0000 at lag 1024
}

#[test]
fn lossless_and_apple_formats() {
    check("flac_48k_stereo.flac", 4.0, 48000, 2, 0.1, 0.9999); // 1.0000
    check("aiff.aiff", 2.0, 16000, 1, 0.1, 0.99999); // 1.0000
    check("caf_pcm.caf", 2.0, 16000, 1, 0.1, 0.99999); // 1.0000
    check("alac.m4a", 4.0, 16000, 1, 0.1, 0.99999); // 1.0000
    check("alac.caf", 4.0, 16000, 1, 0.1, 0.99999); // 1.0000
}
