//! Voice activity: where in the recording people speak.
//!
//! Owns speech detection on 16 kHz mono samples with Silero VAD run by whisper.cpp (through
//! whisper-rs's standalone `WhisperVadContext`; `FullParams::enable_vad` is ignored by
//! whisper-rs). whisper.cpp gives one speech probability per 512-sample window; turning those
//! into regions is done here, as a streaming state machine (the same rules as Silero's
//! `get_speech_timestamps`), so a 4-hour meeting is processed in bounded blocks and regions
//! come out as soon as they are decided. It never sees text, files or the archive.
//!
//! Probabilities are computed on fixed chunks of the recording's timeline (each with a second
//! of the previous audio to warm up the model's LSTM), whatever block sizes the caller pushes:
//! feeding a clip in small blocks gives exactly the regions of one call on the whole clip.

use crate::audio::SAMPLE_RATE;
use crate::transcript::Span;
use anyhow::{bail, Context};
use std::path::Path;
use whisper_rs::{WhisperVadContext, WhisperVadContextParams};

/// Samples per speech probability (whisper.cpp's Silero window at 16 kHz: 32 ms).
pub const WINDOW: usize = 512;
/// Windows per model call: 30.72 s of audio.
const CHUNK_WINDOWS: usize = 960;
/// Windows of earlier audio run before each chunk so the LSTM state is warm (1.024 s).
const WARM_WINDOWS: usize = 32;

/// How speech probabilities become regions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VadOptions {
    /// Probability at or above which a window is speech (speech ends below `threshold - 0.15`).
    pub threshold: f32,
    /// Regions shorter than this are dropped as noise.
    pub min_speech_ms: u32,
    /// A pause must last this long to end a region; shorter pauses stay inside it.
    pub min_silence_ms: u32,
    /// Audio kept on each side of a region so first and last syllables are not cut.
    pub speech_pad_ms: u32,
    /// Longer regions are split, at a pause when there is one (Whisper reads 30 s at a time).
    pub max_speech_s: f32,
}

impl Default for VadOptions {
    /// For meetings: speakers pause for breath mid-sentence, so a region ends only after a
    /// 0.8 s pause; generous padding keeps the first syllable; 30 s matches Whisper's window.
    fn default() -> Self {
        VadOptions {
            threshold: 0.5,
            min_speech_ms: 250,
            min_silence_ms: 800,
            speech_pad_ms: 300,
            max_speech_s: 30.0,
        }
    }
}

impl VadOptions {
    /// For diarization: speaker turns are short and a pause is often a change of speaker, so
    /// regions end after 0.3 s of silence, keep 0.1 s of padding and start at a lower speech
    /// probability. Measured on ../shared/eval/diarization (CAM++, eigengap): total DER at
    /// collar 0 26.3 % against 32.4 % with the transcription settings.
    pub fn for_diarization() -> VadOptions {
        VadOptions {
            threshold: 0.35,
            min_speech_ms: 250,
            min_silence_ms: 300,
            speech_pad_ms: 100,
            max_speech_s: 30.0,
        }
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.threshold.is_nan() || self.threshold <= 0.0 || self.threshold >= 1.0 {
            bail!(
                "VAD threshold must be between 0 and 1 (got {})",
                self.threshold
            );
        }
        if self.max_speech_s.is_nan() || self.max_speech_s < 1.0 {
            bail!(
                "VAD maximum speech length must be at least 1 s (got {})",
                self.max_speech_s
            );
        }
        Ok(())
    }
}

/// Streaming speech detector over one recording at a time.
///
/// ```no_run
/// # fn main() -> anyhow::Result<()> {
/// use gijiroku::vad::{SpeechDetector, VadOptions};
/// let mut vad = SpeechDetector::new("models/ggml-silero-vad.bin".as_ref(), VadOptions::default())?;
/// let mut dec = gijiroku::audio::Decoder16k::open("meeting.m4a".as_ref())?;
/// let mut regions = Vec::new();
/// while let Some(block) = dec.next_block()? {
///     regions.extend(vad.push(&block)?);
/// }
/// regions.extend(vad.finish()?);
/// # Ok(()) }
/// ```
pub struct SpeechDetector {
    ctx: WhisperVadContext,
    opts: VadOptions,
    /// Samples not yet run through the model (less than one chunk).
    pending: Vec<f32>,
    /// The last `WARM_WINDOWS` windows already run (warm-up for the next chunk).
    warm: Vec<f32>,
    /// Absolute index of the first window in `pending`.
    next_window: usize,
    regions: Regions,
    /// A second set of rules over the same probabilities (diarization's), when asked for.
    secondary: Option<(VadOptions, Regions)>,
    secondary_out: Vec<Span>,
}

impl SpeechDetector {
    /// Loads the whisper.cpp VAD model (`ggml-silero-*.bin`).
    pub fn new(model: &Path, opts: VadOptions) -> anyhow::Result<SpeechDetector> {
        opts.check()?;
        if !model.is_file() {
            bail!(
                "VAD model {} not found: import it with `gijiroku models import silero_vad_16k.safetensors`",
                model.display()
            );
        }
        let path = model
            .to_str()
            .with_context(|| format!("VAD model path {} is not UTF-8", model.display()))?;
        if path.contains('\0') {
            bail!("VAD model path contains a NUL byte");
        }
        // whisper.cpp logs every call to stderr; route it away (no-op when already done).
        whisper_rs::install_logging_hooks();
        let mut p = WhisperVadContextParams::new();
        // One thread: the model runs one tiny graph per 32 ms window, so ggml's threads mostly
        // wait on each other; with 2 threads on a busy 2-core machine 28 s of audio took
        // 147 s instead of 0.08 s.
        p.set_n_threads(1);
        p.set_use_gpu(false);
        let ctx = WhisperVadContext::new(path, p).map_err(|e| {
            anyhow::anyhow!(
                "cannot load VAD model {} ({e:?}): not a whisper.cpp Silero VAD file",
                model.display()
            )
        })?;
        Ok(SpeechDetector {
            ctx,
            opts,
            pending: Vec::with_capacity(CHUNK_WINDOWS * WINDOW),
            warm: Vec::new(),
            next_window: 0,
            regions: Regions::new(opts),
            secondary: None,
            secondary_out: Vec::new(),
        })
    }

    /// Also turns the same speech probabilities into regions by `opts` (e.g.
    /// [`VadOptions::for_diarization`]); collect them with [`Self::take_secondary`]. The model
    /// runs once for both.
    pub fn with_secondary(mut self, opts: VadOptions) -> anyhow::Result<SpeechDetector> {
        opts.check()?;
        self.secondary = Some((opts, Regions::new(opts)));
        Ok(self)
    }

    /// The regions the secondary rules finished since the last call.
    pub fn take_secondary(&mut self) -> Vec<Span> {
        std::mem::take(&mut self.secondary_out)
    }

    pub fn options(&self) -> &VadOptions {
        &self.opts
    }

    /// Feeds the next samples of the recording (16 kHz mono, any block size) and returns the
    /// speech regions that are now finished, in absolute seconds from the recording's start.
    pub fn push(&mut self, samples: &[f32]) -> anyhow::Result<Vec<Span>> {
        let chunk = CHUNK_WINDOWS * WINDOW;
        let mut out = Vec::new();
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (chunk - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == chunk {
                self.run_chunk(&mut out)?;
            }
        }
        Ok(out)
    }

    /// Ends the recording: runs what is left and returns the last regions. The detector is
    /// then ready for another recording.
    pub fn finish(&mut self) -> anyhow::Result<Vec<Span>> {
        let mut out = Vec::new();
        let total = self.next_window * WINDOW + self.pending.len();
        if !self.pending.is_empty() {
            self.run_chunk(&mut out)?;
        }
        self.regions.finish(total, &mut out);
        if let Some((o, r)) = self.secondary.as_mut() {
            r.finish(total, &mut self.secondary_out);
            *r = Regions::new(*o);
        }
        self.pending.clear();
        self.warm.clear();
        self.next_window = 0;
        self.regions = Regions::new(self.opts);
        Ok(out)
    }

    /// All speech regions of a whole clip (the same as pushing it and finishing).
    pub fn speech_regions(&mut self, samples: &[f32]) -> anyhow::Result<Vec<Span>> {
        let mut out = self.push(samples)?;
        out.extend(self.finish()?);
        Ok(out)
    }

    /// Runs the model on the warm-up samples plus `pending` (one chunk, or the last partial
    /// one) and feeds the new probabilities to the region state machine.
    fn run_chunk(&mut self, out: &mut Vec<Span>) -> anyhow::Result<()> {
        let warm_windows = self.warm.len() / WINDOW;
        let mut input = std::mem::take(&mut self.warm);
        input.extend_from_slice(&self.pending);
        self.ctx
            .detect_speech(&input)
            .map_err(|e| anyhow::anyhow!("voice activity detection failed: {e:?}"))?;
        let probs = self.ctx.probabilities();
        let new_windows = self.pending.len().div_ceil(WINDOW);
        if probs.len() < warm_windows + new_windows {
            bail!(
                "voice activity detection returned {} probabilities for {} windows",
                probs.len(),
                warm_windows + new_windows
            );
        }
        for (k, &p) in probs[warm_windows..warm_windows + new_windows]
            .iter()
            .enumerate()
        {
            self.regions.step((self.next_window + k) * WINDOW, p, out);
            if let Some((_, r)) = self.secondary.as_mut() {
                r.step((self.next_window + k) * WINDOW, p, &mut self.secondary_out);
            }
        }
        let keep = (WARM_WINDOWS * WINDOW).min(input.len());
        self.warm = input.split_off(input.len() - keep);
        self.next_window += new_windows;
        self.pending.clear();
        Ok(())
    }
}

/// Speech probabilities → regions, one window at a time (Silero's `get_speech_timestamps`
/// rules, made incremental). Positions are absolute sample indices.
struct Regions {
    threshold: f32,
    neg_threshold: f32,
    min_speech: usize,
    min_silence: usize,
    pad: usize,
    max_speech: usize,
    /// Silero marks pauses longer than 98 ms as places to split an over-long region.
    min_silence_at_max: usize,
    triggered: bool,
    cur_start: usize,
    temp_end: Option<usize>,
    prev_end: Option<usize>,
    next_start: Option<usize>,
    /// A region whose end is found but whose padding waits for the next region's start.
    held: Option<(usize, usize)>,
    /// End of the last region handed out: a padded start never goes before it.
    emitted_end: usize,
}

impl Regions {
    fn new(o: VadOptions) -> Regions {
        let sr = SAMPLE_RATE as usize;
        let pad = sr * o.speech_pad_ms as usize / 1000;
        Regions {
            threshold: o.threshold,
            neg_threshold: (o.threshold - 0.15).max(0.01),
            min_speech: sr * o.min_speech_ms as usize / 1000,
            min_silence: sr * o.min_silence_ms as usize / 1000,
            pad,
            max_speech: ((sr as f64 * o.max_speech_s as f64) as usize)
                .saturating_sub(WINDOW + 2 * pad)
                .max(WINDOW),
            min_silence_at_max: sr * 98 / 1000,
            triggered: false,
            cur_start: 0,
            temp_end: None,
            prev_end: None,
            next_start: None,
            held: None,
            emitted_end: 0,
        }
    }

    fn step(&mut self, s: usize, p: f32, out: &mut Vec<Span>) {
        self.release_held(s, out);
        if p >= self.threshold && self.temp_end.is_some() {
            self.temp_end = None;
            if self.next_start < self.prev_end {
                self.next_start = Some(s);
            }
        }
        if p >= self.threshold && !self.triggered {
            self.triggered = true;
            self.cur_start = s;
            return;
        }
        if self.triggered && s - self.cur_start > self.max_speech {
            match self.prev_end {
                Some(pe) => {
                    self.close(self.cur_start, pe, out);
                    match self.next_start {
                        Some(ns) if ns >= pe => self.cur_start = ns,
                        // Still in the pause that was split at.
                        _ => self.triggered = false,
                    }
                    self.prev_end = None;
                    self.next_start = None;
                    self.temp_end = None;
                }
                None => {
                    self.close(self.cur_start, s, out);
                    self.prev_end = None;
                    self.next_start = None;
                    self.temp_end = None;
                    self.triggered = false;
                    return;
                }
            }
        }
        if p < self.neg_threshold && self.triggered {
            let te = *self.temp_end.get_or_insert(s);
            if s - te > self.min_silence_at_max {
                self.prev_end = Some(te);
            }
            if s - te >= self.min_silence {
                self.close(self.cur_start, te, out);
                self.prev_end = None;
                self.next_start = None;
                self.temp_end = None;
                self.triggered = false;
            }
        }
    }

    /// A finished region (unpadded). Too-short ones are noise.
    fn close(&mut self, start: usize, end: usize, out: &mut Vec<Span>) {
        if end <= start || end - start < self.min_speech {
            return;
        }
        if let Some((hs, he)) = self.held.take() {
            // Split a short pause between the two; otherwise pad both fully.
            let gap = start.saturating_sub(he);
            let (he2, start2) = if gap < 2 * self.pad {
                (he + gap / 2, start - gap / 2)
            } else {
                (he + self.pad, start - self.pad)
            };
            self.emit(hs, he2, out);
            self.held = Some((start2.max(self.emitted_end), end));
        } else {
            let s = start.saturating_sub(self.pad).max(self.emitted_end);
            self.held = Some((s, end));
        }
    }

    /// Hands out the held region once no later region can come close enough to share its
    /// padding: the stream position is 2 pads past its end and no speech started in between.
    fn release_held(&mut self, s: usize, out: &mut Vec<Span>) {
        if let Some((hs, he)) = self.held {
            let clear_until = if self.triggered { self.cur_start } else { s };
            if clear_until >= he + 2 * self.pad {
                self.held = None;
                self.emit(hs, he + self.pad, out);
            }
        }
    }

    fn emit(&mut self, start: usize, end: usize, out: &mut Vec<Span>) {
        self.emitted_end = end;
        let sr = SAMPLE_RATE as f64;
        out.push(Span::new(start as f64 / sr, end as f64 / sr));
    }

    fn finish(&mut self, total: usize, out: &mut Vec<Span>) {
        if self.triggered {
            self.close(self.cur_start, total, out);
            self.triggered = false;
        }
        if let Some((hs, he)) = self.held.take() {
            self.emit(hs, (he + self.pad).min(total), out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the state machine over synthetic probabilities (one per window).
    fn regions(probs: &[f32], o: VadOptions) -> Vec<Span> {
        let mut r = Regions::new(o);
        let mut out = Vec::new();
        for (i, &p) in probs.iter().enumerate() {
            r.step(i * WINDOW, p, &mut out);
        }
        r.finish(probs.len() * WINDOW, &mut out);
        out
    }

    fn secs(n: f64) -> usize {
        (n * SAMPLE_RATE as f64 / WINDOW as f64).round() as usize
    }

    #[test]
    fn two_utterances_and_a_short_blip() {
        let o = VadOptions::default();
        let mut p = vec![0.05f32; secs(1.0)];
        p.extend(vec![0.9; secs(2.0)]); // speech 1.0–3.0
        p.extend(vec![0.05; secs(2.0)]);
        p.extend(vec![0.9; 3]); // 96 ms blip: noise
        p.extend(vec![0.05; secs(2.0)]);
        p.extend(vec![0.9; secs(1.5)]); // speech ≈7.1–8.6
        p.extend(vec![0.05; secs(1.0)]);
        let r = regions(&p, o);
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(
            (r[0].start - 0.7).abs() < 0.05 && (r[0].end - 3.3).abs() < 0.05,
            "{r:?}"
        );
        assert!(
            r[1].start > r[0].end && (r[1].end - r[1].start - 2.1).abs() < 0.1,
            "{r:?}"
        );
    }

    #[test]
    fn long_speech_is_split() {
        let o = VadOptions {
            max_speech_s: 10.0,
            ..VadOptions::default()
        };
        let p = vec![0.9f32; secs(35.0)];
        let r = regions(&p, o);
        assert!(r.len() >= 4, "{r:?}");
        for w in r.windows(2) {
            assert!(w[0].end <= w[1].start + 1e-9, "{r:?}");
        }
        assert!(r.iter().all(|s| s.duration() <= 10.0 + 1e-6), "{r:?}");
    }
}
