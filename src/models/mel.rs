//! The mel filter bank whisper.cpp reads from the model file, computed as
//! `librosa.filters.mel(sr, n_fft, n_mels)` does (Slaney mel scale, Slaney area
//! normalisation) — the filters OpenAI's Whisper ships in mel_filters.npz.

/// Slaney's mel scale: linear below 1 kHz, logarithmic above.
fn hz_to_mel(f: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = (6.4f64).ln() / 27.0;
    if f >= min_log_hz {
        min_log_mel + (f / min_log_hz).ln() / logstep
    } else {
        f / f_sp
    }
}

fn mel_to_hz(m: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = (6.4f64).ln() / 27.0;
    if m >= min_log_mel {
        min_log_hz * (logstep * (m - min_log_mel)).exp()
    } else {
        f_sp * m
    }
}

/// Row-major `[n_mels][n_fft/2 + 1]` filter weights.
pub fn mel_filters(sample_rate: u32, n_fft: usize, n_mels: usize) -> Vec<f32> {
    let n_freqs = n_fft / 2 + 1;
    let sr = sample_rate as f64;
    let fft_freqs: Vec<f64> = (0..n_freqs).map(|i| i as f64 * sr / n_fft as f64).collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(sr / 2.0));
    let mel_f: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut out = vec![0f32; n_mels * n_freqs];
    for m in 0..n_mels {
        let (f0, f1, f2) = (mel_f[m], mel_f[m + 1], mel_f[m + 2]);
        let enorm = 2.0 / (f2 - f0);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let lower = (f - f0) / (f1 - f0);
            let upper = (f2 - f) / (f2 - f1);
            out[m * n_freqs + k] = (lower.min(upper).max(0.0) * enorm) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_whisper_mel_filters_npz() {
        // Values read from openai-whisper's whisper/assets/mel_filters.npz (PyPI
        // openai-whisper 20250625), the filters the original models were trained with.
        let f = mel_filters(16000, 400, 80);
        assert_eq!(f.len(), 80 * 201);
        let close = |a: f32, b: f32| (a - b).abs() < 1e-7;
        assert!(close(f[1], 0.024_862_595), "{}", f[1]);
        assert_eq!(f[0], 0.0);
        let row40: Vec<f32> = f[40 * 201..41 * 201].to_vec();
        let nz: Vec<usize> = (0..201).filter(|&k| row40[k] != 0.0).collect();
        assert_eq!(nz, vec![42, 43, 44]);
        assert!(close(row40[43], 0.014_735_57));
        assert!(close(f[79 * 201 + 199], 0.000_448_759));
        assert!((f.iter().sum::<f32>() - 1.999_024_2).abs() < 1e-5);
        let f128 = mel_filters(16000, 400, 128);
        assert!(close(f128[127 * 201 + 199], 0.001_114_280_2));
    }
}
