//! The speaker encoder: resemblyzer's GE2E network (3-layer LSTM 40→256, linear 256→256,
//! ReLU, L2 norm) over 40-band linear mel frames (25 ms window, 10 ms hop, 16 kHz), as in
//! resemblyzer 0.1.4's `hparams.py`, `audio.py` and `voice_encoder.py`.
//!
//! Weights come from resemblyzer's `pretrained.pt` (torch's legacy non-zip pickle format).
//! [`import_speaker_encoder`] converts it once to safetensors in the models folder; the
//! pipeline loads that file. This module only turns samples into embeddings: it never sees
//! speech regions, clusters or names.

use anyhow::{bail, ensure, Context};
use candle_core::{DType, Device, Tensor};
use realfft::{RealFftPlanner, RealToComplex};
use std::collections::HashMap;
use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

/// File name of the converted encoder in the models folder.
pub const ENCODER_FILE: &str = "speaker-encoder-ge2e.safetensors";
/// Mel bands the network reads.
pub const N_MELS: usize = 40;
/// Width of the embedding.
pub const DIM: usize = 256;
const HIDDEN: usize = 256;
const N_FFT: usize = 400;
/// 10 ms at 16 kHz.
pub const HOP: usize = 160;
/// Frames per second of the mel front-end.
pub const FRAME_RATE: f64 = 100.0;

/// Tensor names in resemblyzer's state dict that the network uses.
fn weight_names() -> Vec<String> {
    let mut v = Vec::new();
    for l in 0..3 {
        for p in ["weight_ih", "weight_hh", "bias_ih", "bias_hh"] {
            v.push(format!("lstm.{p}_l{l}"));
        }
    }
    v.push("linear.weight".into());
    v.push("linear.bias".into());
    v
}

/// Converts resemblyzer's `pretrained.pt` to a safetensors file holding the network's weights.
pub fn import_speaker_encoder(src: &Path, dst: &Path) -> anyhow::Result<()> {
    let weights = read_legacy_pt(src)?;
    let mut tensors: Vec<(String, Tensor)> = Vec::new();
    for name in weight_names() {
        let (shape, data) = weights
            .get(&name)
            .with_context(|| format!("{} has no tensor {name}", src.display()))?;
        tensors.push((
            name.clone(),
            Tensor::from_slice(data, shape.as_slice(), &Device::Cpu)?,
        ));
    }
    let enc = SpeakerEncoder::from_tensors(tensors.iter().cloned().collect())
        .with_context(|| format!("{} is not resemblyzer's GE2E encoder", src.display()))?;
    drop(enc);
    let tmp = dst.with_extension("safetensors.tmp");
    candle_core::safetensors::save(&tensors.into_iter().collect::<HashMap<_, _>>(), &tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, dst).with_context(|| format!("cannot write {}", dst.display()))?;
    Ok(())
}

/// A window's embedding and, when asked for, its prefix's.
pub type WindowEmbeddings = (Vec<f32>, Option<Vec<f32>>);

/// Shape and row-major values of one tensor.
type RawTensor = (Vec<usize>, Vec<f32>);

/// Reads the f32 tensors of `model_state` from a torch legacy (non-zip) checkpoint.
///
/// Hand-written because candle's `pickle::read_all` only reads the zip format: the legacy
/// layout is five pickles (magic, protocol, sys info, object, storage keys) followed by each
/// storage as a little-endian u64 element count and its raw bytes.
fn read_legacy_pt(path: &Path) -> anyhow::Result<HashMap<String, RawTensor>> {
    use candle_core::pickle::{Object, Stack};
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    // Pickle of the long 0x1950a86a20f9469cfc6c (torch's legacy magic number), written by hand
    // because candle's LONG1 reader cannot hold 10 bytes.
    const MAGIC: [u8; 15] = [
        0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
    ];
    if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
        bail!(
            "{} is not a torch legacy checkpoint (resemblyzer's pretrained.pt)",
            path.display()
        );
    }
    let mut r = Cursor::new(&bytes[MAGIC.len()..]);
    let mut next = |what: &str| -> anyhow::Result<Object> {
        let mut s = Stack::empty();
        s.read_loop(&mut r)
            .map_err(|e| anyhow::anyhow!("{}: bad {what} pickle: {e}", path.display()))?;
        Ok(s.finalize()?)
    };
    let _protocol = next("protocol")?;
    let _sys_info = next("sys info")?;
    let obj = next("object")?;
    let keys = match next("storage keys")? {
        Object::List(k) => k
            .into_iter()
            .map(|o| o.unicode().map_err(|_| anyhow::anyhow!("bad storage key")))
            .collect::<anyhow::Result<Vec<String>>>()?,
        _ => bail!("{}: storage keys are not a list", path.display()),
    };
    let mut pos = MAGIC.len() + r.position() as usize;
    let mut storages: HashMap<String, Vec<f32>> = HashMap::new();
    for k in keys {
        ensure!(pos + 8 <= bytes.len(), "{} is truncated", path.display());
        let n = u64::from_le_bytes(bytes[pos..pos + 8].try_into()?) as usize;
        pos += 8;
        let end = n
            .checked_mul(4)
            .and_then(|b| b.checked_add(pos))
            .filter(|&e| e <= bytes.len())
            .with_context(|| format!("{} is truncated", path.display()))?;
        let data = bytes[pos..end]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        storages.insert(k, data);
        pos = end;
    }
    let state = match obj {
        Object::Dict(kv) => kv
            .into_iter()
            .find(|(k, _)| *k == Object::Unicode("model_state".into()))
            .map(|(_, v)| v)
            .with_context(|| format!("{} has no model_state", path.display()))?,
        _ => bail!("{} does not hold a dict", path.display()),
    };
    let Object::Dict(entries) = state else {
        bail!("{}: model_state is not a dict", path.display());
    };
    let mut out = HashMap::new();
    for (name, value) in entries {
        let Some(info) = value.into_tensor_info(name, Path::new(""))? else {
            continue;
        };
        ensure!(
            info.dtype == DType::F32,
            "{}: {} is not f32",
            path.display(),
            info.name
        );
        let key = info.path.trim_start_matches('/').to_string();
        let storage = storages
            .get(&key)
            .with_context(|| format!("{}: storage {key} missing", path.display()))?;
        ensure!(
            info.layout.is_contiguous(),
            "{}: {} is not contiguous",
            path.display(),
            info.name
        );
        let shape = info.layout.dims().to_vec();
        let start = info.layout.start_offset() / 4;
        let n: usize = shape.iter().product();
        ensure!(
            start + n <= storage.len(),
            "{}: {} lies outside its storage",
            path.display(),
            info.name
        );
        out.insert(info.name, (shape, storage[start..start + n].to_vec()));
    }
    Ok(out)
}

/// 40-band linear-power mel spectrogram as `librosa.feature.melspectrogram(sr=16000,
/// n_fft=400, hop_length=160, n_mels=40)` computes it (Hann window, centred frames with zero
/// padding, Slaney mel filters): resemblyzer feeds it to the network without a log.
pub struct MelFrontEnd {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    filters: Vec<f32>,
}

impl Default for MelFrontEnd {
    fn default() -> Self {
        Self::new()
    }
}

impl MelFrontEnd {
    pub fn new() -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(N_FFT);
        // Periodic Hann, as scipy's get_window("hann", n, fftbins=True).
        let window = (0..N_FFT)
            .map(|i| {
                (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / N_FFT as f64).cos()) as f32
            })
            .collect();
        let filters = crate::models::mel::mel_filters(16_000, N_FFT, N_MELS);
        MelFrontEnd {
            fft,
            window,
            filters,
        }
    }

    /// Frames of `samples` (one every 10 ms, centred on sample `i * 160`), each `N_MELS` wide,
    /// appended to `out`. `gain` multiplies the samples first.
    pub fn frames(&self, samples: &[f32], gain: f32, out: &mut Vec<f32>) {
        let n_frames = 1 + samples.len() / HOP;
        let n_bins = N_FFT / 2 + 1;
        let mut input = self.fft.make_input_vec();
        let mut spec = self.fft.make_output_vec();
        let mut power = vec![0f32; n_bins];
        out.reserve(n_frames * N_MELS);
        for f in 0..n_frames {
            let centre = (f * HOP) as isize;
            for (k, x) in input.iter_mut().enumerate() {
                let i = centre - (N_FFT / 2) as isize + k as isize;
                let s = if i >= 0 && (i as usize) < samples.len() {
                    samples[i as usize] * gain
                } else {
                    0.0
                };
                *x = s * self.window[k];
            }
            // Lengths are fixed by the plan, so this cannot fail.
            let _ = self.fft.process(&mut input, &mut spec);
            for (p, c) in power.iter_mut().zip(&spec) {
                *p = c.norm_sqr();
            }
            for m in 0..N_MELS {
                let row = &self.filters[m * n_bins..(m + 1) * n_bins];
                out.push(row.iter().zip(&power).map(|(a, b)| a * b).sum());
            }
        }
    }
}

/// Gain that brings `samples` up to -30 dBFS RMS (never down), as resemblyzer's
/// `normalize_volume(wav, -30, increase_only=True)`.
pub fn normalize_gain(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 1.0;
    }
    let rms = (samples.iter().map(|x| (x * x) as f64).sum::<f64>() / samples.len() as f64).sqrt();
    if rms <= 1e-9 {
        return 1.0;
    }
    let target = 10f64.powf(-30.0 / 20.0);
    (target / rms).max(1.0) as f32
}

struct LstmLayer {
    /// `[in, 4H]`, transposed once at load so every step is a plain matmul.
    w_ih_t: Tensor,
    /// `[H, 4H]`.
    w_hh_t: Tensor,
    /// `[4H]`: bias_ih + bias_hh.
    bias: Tensor,
}

/// The GE2E network, ready to embed batches of mel windows.
pub struct SpeakerEncoder {
    layers: Vec<LstmLayer>,
    linear_w_t: Tensor,
    linear_b: Tensor,
    mel: MelFrontEnd,
}

impl SpeakerEncoder {
    /// Loads the converted safetensors file, or resemblyzer's `pretrained.pt` directly.
    pub fn load(path: &Path) -> anyhow::Result<SpeakerEncoder> {
        if !path.is_file() {
            bail!(
                "speaker encoder {} not found: import resemblyzer's pretrained.pt with `gijiroku models import`",
                path.display()
            );
        }
        let tensors = if path.extension().is_some_and(|e| e == "safetensors") {
            candle_core::safetensors::load(path, &Device::Cpu)
                .with_context(|| format!("cannot load speaker encoder {}", path.display()))?
        } else {
            read_legacy_pt(path)?
                .into_iter()
                .map(|(k, (shape, data))| {
                    Ok((k, Tensor::from_vec(data, shape.as_slice(), &Device::Cpu)?))
                })
                .collect::<anyhow::Result<HashMap<_, _>>>()?
        };
        Self::from_tensors(tensors)
            .with_context(|| format!("{} is not a GE2E speaker encoder", path.display()))
    }

    /// Finds the encoder in the models folder: the imported safetensors file, else
    /// resemblyzer's `pretrained.pt` where the set-up unpacks it (`sources/resemblyzer/`).
    pub fn from_models_dir(models_dir: &Path) -> anyhow::Result<SpeakerEncoder> {
        let converted = models_dir.join(ENCODER_FILE);
        let raw = models_dir.join("sources/resemblyzer/pretrained.pt");
        if !converted.is_file() && raw.is_file() {
            tracing::debug!("loading {} (not imported yet)", raw.display());
            return Self::load(&raw);
        }
        Self::load(&converted)
    }

    fn from_tensors(t: HashMap<String, Tensor>) -> anyhow::Result<SpeakerEncoder> {
        let get = |name: &str, dims: &[usize]| -> anyhow::Result<Tensor> {
            let x = t
                .get(name)
                .with_context(|| format!("missing tensor {name}"))?;
            ensure!(
                x.dims() == dims,
                "tensor {name} has shape {:?}, expected {dims:?}",
                x.dims()
            );
            Ok(x.to_dtype(DType::F32)?)
        };
        let mut layers = Vec::new();
        for l in 0..3 {
            let input = if l == 0 { N_MELS } else { HIDDEN };
            layers.push(LstmLayer {
                w_ih_t: get(&format!("lstm.weight_ih_l{l}"), &[4 * HIDDEN, input])?
                    .t()?
                    .contiguous()?,
                w_hh_t: get(&format!("lstm.weight_hh_l{l}"), &[4 * HIDDEN, HIDDEN])?
                    .t()?
                    .contiguous()?,
                bias: (get(&format!("lstm.bias_ih_l{l}"), &[4 * HIDDEN])?
                    + get(&format!("lstm.bias_hh_l{l}"), &[4 * HIDDEN])?)?,
            });
        }
        Ok(SpeakerEncoder {
            layers,
            linear_w_t: get("linear.weight", &[DIM, HIDDEN])?.t()?.contiguous()?,
            linear_b: get("linear.bias", &[DIM])?,
            mel: MelFrontEnd::new(),
        })
    }

    pub fn mel(&self) -> &MelFrontEnd {
        &self.mel
    }

    /// Embeds a batch of mel windows (each `len × N_MELS`, row-major, lengths may differ):
    /// one L2-normalised `DIM`-vector per window, as resemblyzer's `VoiceEncoder.forward`.
    pub fn embed_batch(&self, windows: &[&[f32]]) -> anyhow::Result<Vec<Vec<f32>>> {
        Ok(self
            .embed_prefixes(windows, None)?
            .into_iter()
            .map(|(e, _)| e)
            .collect())
    }

    /// As [`SpeakerEncoder::embed_batch`], plus for windows longer than `prefix` frames the
    /// embedding of their first `prefix` frames, read from the same LSTM pass at no extra
    /// cost (the network's state after `prefix` steps is exactly that prefix's embedding).
    pub fn embed_prefixes(
        &self,
        windows: &[&[f32]],
        prefix: Option<usize>,
    ) -> anyhow::Result<Vec<WindowEmbeddings>> {
        let b = windows.len();
        if b == 0 {
            return Ok(Vec::new());
        }
        let lens: Vec<usize> = windows.iter().map(|w| w.len() / N_MELS).collect();
        ensure!(lens.iter().all(|&l| l > 0), "empty mel window");
        let t_max = *lens.iter().max().unwrap_or(&1);
        // [B, T, in] zero-padded at the end; each sequence's state is read at its own length.
        let mut x = vec![0f32; b * t_max * N_MELS];
        for (i, w) in windows.iter().enumerate() {
            let n = lens[i] * N_MELS;
            x[i * t_max * N_MELS..i * t_max * N_MELS + n].copy_from_slice(&w[..n]);
        }
        let mut input = Tensor::from_vec(x, (b * t_max, N_MELS), &Device::Cpu)?;
        let mut last = vec![0f32; b * HIDDEN];
        let mut early = vec![0f32; b * HIDDEN];
        let g4 = 4 * HIDDEN;
        for layer in &self.layers {
            // Input projections of all steps at once: one big matmul.
            let xp: Vec<f32> = input
                .matmul(&layer.w_ih_t)?
                .broadcast_add(&layer.bias)?
                .flatten_all()?
                .to_vec1()?;
            let mut h = vec![0f32; b * HIDDEN];
            let mut c = vec![0f32; b * HIDDEN];
            let mut out = vec![0f32; b * t_max * HIDDEN];
            for t in 0..t_max {
                let hh: Vec<f32> = Tensor::from_slice(&h, (b, HIDDEN), &Device::Cpu)?
                    .matmul(&layer.w_hh_t)?
                    .flatten_all()?
                    .to_vec1()?;
                for i in 0..b {
                    let xg = &xp[(i * t_max + t) * g4..(i * t_max + t + 1) * g4];
                    let hg = &hh[i * g4..(i + 1) * g4];
                    for j in 0..HIDDEN {
                        // PyTorch gate order: input, forget, cell, output.
                        let ig = sigmoid(xg[j] + hg[j]);
                        let fg = sigmoid(xg[HIDDEN + j] + hg[HIDDEN + j]);
                        let gg = (xg[2 * HIDDEN + j] + hg[2 * HIDDEN + j]).tanh();
                        let og = sigmoid(xg[3 * HIDDEN + j] + hg[3 * HIDDEN + j]);
                        let cj = fg * c[i * HIDDEN + j] + ig * gg;
                        c[i * HIDDEN + j] = cj;
                        h[i * HIDDEN + j] = og * cj.tanh();
                    }
                    out[(i * t_max + t) * HIDDEN..(i * t_max + t + 1) * HIDDEN]
                        .copy_from_slice(&h[i * HIDDEN..(i + 1) * HIDDEN]);
                    if t + 1 == lens[i] {
                        last[i * HIDDEN..(i + 1) * HIDDEN]
                            .copy_from_slice(&h[i * HIDDEN..(i + 1) * HIDDEN]);
                    }
                    if Some(t + 1) == prefix {
                        early[i * HIDDEN..(i + 1) * HIDDEN]
                            .copy_from_slice(&h[i * HIDDEN..(i + 1) * HIDDEN]);
                    }
                }
            }
            input = Tensor::from_vec(out, (b * t_max, HIDDEN), &Device::Cpu)?;
        }
        let project = |h: Vec<f32>| -> anyhow::Result<Vec<Vec<f32>>> {
            let e: Vec<f32> = Tensor::from_vec(h, (b, HIDDEN), &Device::Cpu)?
                .matmul(&self.linear_w_t)?
                .broadcast_add(&self.linear_b)?
                .relu()?
                .flatten_all()?
                .to_vec1()?;
            Ok(e.chunks(DIM).map(l2_normalized).collect())
        };
        let full = project(last)?;
        let early = match prefix {
            Some(_) => project(early)?.into_iter().map(Some).collect(),
            None => vec![None; b],
        };
        Ok(full
            .into_iter()
            .zip(early)
            .zip(&lens)
            .map(|((f, e), &len)| (f, e.filter(|_| prefix.is_some_and(|p| p < len))))
            .collect())
    }

    /// Embedding of a whole utterance as resemblyzer's `embed_utterance`: 1.6 s partial
    /// windows every ~0.77 s, their embeddings averaged and normalised. Volume is normalised
    /// to -30 dBFS first. `None` when the clip is shorter than 0.3 s.
    pub fn embed_utterance(&self, samples: &[f32]) -> anyhow::Result<Option<Vec<f32>>> {
        let mut mel = Vec::new();
        self.mel.frames(samples, normalize_gain(samples), &mut mel);
        let n = mel.len() / N_MELS;
        if n < 30 {
            return Ok(None);
        }
        let windows: Vec<&[f32]> = window_starts(n, 160, 77)
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

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
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
