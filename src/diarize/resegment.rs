//! Overlap-aware resegmentation: pyannote's segmentation-3.0 ([`super::segmentation`]) hears
//! up to three local speakers per 10 s chunk at 17 ms resolution, including two at once. The
//! clustering ([`super::cluster`]) knows who is who across the whole recording, but only at
//! the resolution of its 2 s windows. This module combines the two:
//!
//! 1. [`LocalSegmenter`] runs the model on 10 s chunks every [`ResegmentOptions::step`] as
//!    audio streams in and keeps, per chunk, the winning powerset class of each frame (589
//!    bytes a chunk: 1.2 MB for four hours at the default step).
//! 2. [`resegment`] maps each chunk's local speakers to the clustered speakers by how much of
//!    its solo speech lies in their turns, counting only turn time well away (± `core_margin`)
//!    from a change of speaker, where the window labels are unsure. A local speaker that
//!    does not fall clearly (`min_share`) to one cluster — the model sometimes hears two
//!    similar voices as one — keeps the clustering's labels frame by frame instead.
//! 3. Per 10 ms cell: the number of speakers is the chunks' mean count of active local
//!    speakers, rounded (at least one where the VAD heard speech); the speakers are that many
//!    clusters with the most votes from the chunks covering the cell, as in pyannote's
//!    reconstruction.
//!
//! Measured on ../shared/eval/diarization (9 files; collar 0, overlap scored) in the
//! ARCHITECTURE notes and the closing notes: this is what brings second speakers in
//! overlapped speech, speech the VAD missed, and turn boundaries at frame resolution.
//!
//! Written by hand: no crate does diarization reconstruction.

use super::segmentation::{argmax, frame_at, Segmentation, CHUNK_SAMPLES, POWERSET};

const SR: f64 = 16_000.0;
/// Grid cell: 10 ms.
const CELL: usize = 160;
/// Cells reconstructed at once (60 s): memory stays `BLOCK × speakers` floats.
const BLOCK: usize = 6_000;

/// How local speakers and clusters are combined.
#[derive(Debug, Clone, Copy)]
pub struct ResegmentOptions {
    /// Seconds between chunk starts (each moment is seen by `10 / step` chunks).
    pub step: f64,
    /// Turn time closer than this (s) to a change of speaker does not count for mapping.
    pub core_margin: f64,
    /// Share of a local speaker's mapped solo time one cluster needs to take it whole.
    pub min_share: f32,
    /// Least solo time (s) inside clustered turns for a local speaker to be mapped whole.
    pub min_overlap: f64,
}

impl Default for ResegmentOptions {
    fn default() -> Self {
        // Measured on ../shared/eval/diarization with `eval der --reseg-*` (collar 0): steps
        // of 2.5 / 3.4 / 5 / 7 / 8 / 10 s gave DER 21.7 / 22.0 / 22.2 / 21.6 / 22.9 / 24.4 %,
        // the whole diarization running at 80 / 95 / 95–105 / 113–116 / 117 / 111× real time
        // on 2 cores: 7 s is as accurate as any and keeps it above 100×. Margins 0.3 / 0.5 /
        // 0.7 s: 23.4 / 22.2 / 22.2 %; shares 0.7 / 0.8 / 0.9: 22.6 / 22.2 / 21.8 % (at 5 s).
        ResegmentOptions {
            step: 7.0,
            core_margin: 0.5,
            min_share: 0.8,
            min_overlap: 0.1,
        }
    }
}

/// One chunk's local speakers: its first sample, how many samples are real audio, and the
/// powerset class of each of its [`super::segmentation::FRAMES`] frames.
#[derive(Debug, Clone)]
pub struct LocalChunk {
    pub start: usize,
    pub valid: usize,
    pub classes: Vec<u8>,
}

impl LocalChunk {
    /// The powerset class of the frame centred nearest to cell `c` of the recording.
    fn class_at(&self, c: usize) -> usize {
        self.classes[frame_at((c * CELL + CELL / 2) as f64 - self.start as f64)] as usize
    }

    /// Cells `[a, z)` this chunk covers.
    fn cells(&self) -> (usize, usize) {
        (self.start.div_ceil(CELL), (self.start + self.valid) / CELL)
    }
}

/// Streams audio through the segmentation model, one chunk every `step`.
pub struct LocalSegmenter<'a> {
    model: &'a Segmentation,
    step: usize,
    /// Audio from absolute sample `audio_start` on.
    audio: Vec<f32>,
    audio_start: usize,
    /// Where the current stretch of contiguous audio began, and where it ends.
    run_start: usize,
    total: usize,
    next_chunk: usize,
    chunks: Vec<LocalChunk>,
}

impl<'a> LocalSegmenter<'a> {
    pub fn new(model: &'a Segmentation, step_seconds: f64) -> Self {
        LocalSegmenter {
            model,
            step: ((step_seconds * SR).round() as usize).clamp(CELL, CHUNK_SAMPLES),
            audio: Vec::new(),
            audio_start: 0,
            run_start: 0,
            total: 0,
            next_chunk: 0,
            chunks: Vec::new(),
        }
    }

    /// Samples starting at absolute sample `at`. A jump on the timeline ends the current
    /// stretch (its last chunk ends where its audio ends) and starts a new one.
    pub fn push(&mut self, at: usize, samples: &[f32]) -> anyhow::Result<()> {
        if at != self.total || self.total == 0 {
            if self.total > 0 {
                self.end_run()?;
            }
            self.audio.clear();
            self.audio_start = at;
            self.run_start = at;
            self.next_chunk = at;
            self.total = at;
        }
        self.audio.extend_from_slice(samples);
        self.total += samples.len();
        while self.next_chunk + CHUNK_SAMPLES <= self.total {
            let a = self.next_chunk - self.audio_start;
            let classes = classify(self.model, &self.audio[a..a + CHUNK_SAMPLES])?;
            self.chunks.push(LocalChunk {
                start: self.next_chunk,
                valid: CHUNK_SAMPLES,
                classes,
            });
            self.next_chunk += self.step;
        }
        // Keep the last chunk's worth: the stretch's final chunk ends where its audio ends.
        let keep_from = self
            .next_chunk
            .min(self.total.saturating_sub(CHUNK_SAMPLES))
            .max(self.audio_start);
        self.audio.drain(..keep_from - self.audio_start);
        self.audio_start = keep_from;
        Ok(())
    }

    /// A last chunk ending at the end of the stretch when the regular ones stop short of it
    /// (zero-padded only when the whole stretch is shorter than a chunk; under 1 s of audio
    /// gives the model nothing to go on and is skipped).
    fn end_run(&mut self) -> anyhow::Result<()> {
        let covered = self.chunks.last().map_or(self.run_start, |c| {
            if c.start >= self.run_start {
                c.start + c.valid
            } else {
                self.run_start
            }
        });
        if self.total > covered && self.total - self.run_start >= 16_000 {
            let start = self
                .total
                .saturating_sub(CHUNK_SAMPLES)
                .max(self.audio_start);
            let mut chunk = self.audio[start - self.audio_start..].to_vec();
            let valid = chunk.len();
            chunk.resize(CHUNK_SAMPLES, 0.0);
            let classes = classify(self.model, &chunk)?;
            self.chunks.push(LocalChunk {
                start,
                valid,
                classes,
            });
        }
        Ok(())
    }

    /// Ends the recording and returns every chunk in time order.
    pub fn finish(mut self) -> anyhow::Result<Vec<LocalChunk>> {
        if self.total > 0 {
            self.end_run()?;
        }
        Ok(self.chunks)
    }

    /// Seconds of audio held (memory check).
    pub fn buffered_seconds(&self) -> f64 {
        self.audio.len() as f64 / SR
    }
}

/// The winning powerset class of each frame of one chunk.
fn classify(model: &Segmentation, chunk: &[f32]) -> anyhow::Result<Vec<u8>> {
    let probs = model.run(&[chunk])?;
    Ok(probs[0].iter().map(|p| argmax(p) as u8).collect())
}

/// The clustered turns as a lookup on the 10 ms grid: the speaker of a cell, and whether the
/// cell lies well inside a turn (away from changes of speaker).
struct Labels<'t> {
    turns: &'t [(usize, usize, usize)],
    /// Cells where the speaker changes from one turn to the next (silence between them
    /// does not matter).
    changes: Vec<usize>,
    margin: usize,
}

impl<'t> Labels<'t> {
    fn new(turns: &'t [(usize, usize, usize)], margin: usize) -> Self {
        let changes = turns
            .windows(2)
            .filter(|w| w[0].2 != w[1].2)
            .map(|w| w[1].0)
            .collect();
        Labels {
            turns,
            changes,
            margin,
        }
    }

    /// Speaker of each cell of `[a, z)` (`None` outside turns).
    fn range(&self, a: usize, z: usize) -> Vec<Option<usize>> {
        let mut out = vec![None; z - a];
        let i0 = self.turns.partition_point(|t| t.1 <= a);
        for &(s, e, k) in self.turns[i0..].iter().take_while(|t| t.0 < z) {
            for c in s.max(a)..e.min(z) {
                out[c - a] = Some(k);
            }
        }
        out
    }

    /// Whether cell `c` is at least `margin` cells from every change of speaker.
    fn core(&self, c: usize) -> bool {
        let i = self.changes.partition_point(|&x| x + self.margin <= c);
        self.changes.get(i).is_none_or(|&x| x >= c + self.margin)
    }
}

/// `(start, end, speaker)` in seconds.
pub type Spans = Vec<(f64, f64, usize)>;

/// Resegments `turns` (sorted, non-overlapping, speakers `0..speakers`) with the local
/// speakers of `chunks`. Returns the turns, sorted by start, two speakers possibly
/// overlapping; and the floor, one speaker at a time: where two talk, the one the clustering
/// gave that moment when it is one of them, else the one with more votes.
pub fn resegment(
    chunks: &[LocalChunk],
    turns: &[(f64, f64, usize)],
    speakers: usize,
    total_samples: usize,
    o: &ResegmentOptions,
) -> (Spans, Spans) {
    if speakers == 0 || turns.is_empty() {
        return (turns.to_vec(), turns.to_vec());
    }
    let to_cell = |t: f64| (t * SR / CELL as f64).round().max(0.0) as usize;
    let cells: Vec<(usize, usize, usize)> = turns
        .iter()
        .map(|&(s, e, k)| (to_cell(s), to_cell(e), k))
        .filter(|t| t.1 > t.0)
        .collect();
    let labels = Labels::new(&cells, (o.core_margin * 100.0).round() as usize);
    let min_overlap = o.min_overlap * 100.0;
    // 1. Each chunk's local speakers → a cluster, or None (use the labels frame by frame).
    let maps: Vec<[Option<usize>; 3]> = chunks
        .iter()
        .map(|ch| map_chunk(ch, &labels, speakers, o.min_share, min_overlap))
        .collect();
    // 2. Cells, a block at a time.
    let n = total_samples.div_ceil(CELL);
    let mut open: Vec<Option<usize>> = vec![None; speakers];
    let mut out: Spans = Vec::new();
    let mut floor: Spans = Vec::new();
    let mut floor_open: Option<(usize, usize)> = None;
    let secs = |c: usize| (c * CELL).min(total_samples) as f64 / SR;
    let mut first_chunk = 0;
    let mut b0 = 0;
    while b0 < n {
        let b1 = (b0 + BLOCK).min(n);
        let len = b1 - b0;
        let mut count_sum = vec![0f32; len];
        let mut count_n = vec![0f32; len];
        let mut votes = vec![0f32; len * speakers];
        let lab = labels.range(b0, b1);
        while first_chunk < chunks.len() && chunks[first_chunk].cells().1 <= b0 {
            first_chunk += 1;
        }
        for (ch, map) in chunks[first_chunk..].iter().zip(&maps[first_chunk..]) {
            let (a, z) = ch.cells();
            if a >= b1 {
                break;
            }
            for c in a.max(b0)..z.min(b1) {
                // (Weighting the chunks by a Hamming window over their frames measured no
                // better: 21.8 vs 21.7 % at 2.5 s steps, 22.4 vs 22.2 % at 5 s.)
                let active = POWERSET[ch.class_at(c)];
                let i = c - b0;
                count_n[i] += 1.0;
                for (j, &on) in active.iter().enumerate() {
                    if !on {
                        continue;
                    }
                    count_sum[i] += 1.0;
                    if let Some(k) = map[j].or(lab[i]) {
                        votes[i * speakers + k] += 1.0;
                    }
                }
            }
        }
        let mut chosen: Vec<usize> = Vec::with_capacity(3);
        for i in 0..len {
            let mean = if count_n[i] > 0.0 {
                count_sum[i] / count_n[i]
            } else {
                0.0
            };
            let mut count = (mean + 0.5).floor() as usize;
            if lab[i].is_some() {
                count = count.max(1);
            }
            chosen.clear();
            let v = &votes[i * speakers..(i + 1) * speakers];
            for _ in 0..count.min(speakers) {
                let best = (0..speakers)
                    .filter(|k| !chosen.contains(k) && v[*k] > 0.0)
                    .max_by(|&x, &y| v[x].total_cmp(&v[y]).then(y.cmp(&x)));
                match best {
                    Some(k) => chosen.push(k),
                    None => break,
                }
            }
            if chosen.is_empty() {
                if let Some(k) = lab[i] {
                    chosen.push(k);
                }
            }
            let c = b0 + i;
            let holder = match lab[i] {
                Some(k) if chosen.contains(&k) => Some(k),
                _ => chosen.first().copied(),
            };
            match floor_open {
                Some((s, k)) if holder != Some(k) => {
                    floor.push((secs(s), secs(c), k));
                    floor_open = holder.map(|h| (c, h));
                }
                None => floor_open = holder.map(|h| (c, h)),
                _ => {}
            }
            for (k, o) in open.iter_mut().enumerate() {
                match (chosen.contains(&k), *o) {
                    (true, None) => *o = Some(c),
                    (false, Some(s)) => {
                        out.push((secs(s), secs(c), k));
                        *o = None;
                    }
                    _ => {}
                }
            }
        }
        b0 = b1;
    }
    for (k, s) in open.iter().enumerate() {
        if let Some(s) = s {
            out.push((secs(*s), secs(n), k));
        }
    }
    if let Some((s, k)) = floor_open {
        floor.push((secs(s), secs(n), k));
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    (out, floor)
}

/// The cluster each local speaker of `ch` belongs to: a one-to-one assignment maximising the
/// local speakers' solo time inside the clusters' turns (core cells only), kept when the
/// cluster has at least `min_share` of that local speaker's mapped time and `min_overlap`
/// cells.
fn map_chunk(
    ch: &LocalChunk,
    labels: &Labels,
    speakers: usize,
    min_share: f32,
    min_overlap: f64,
) -> [Option<usize>; 3] {
    let (a, z) = ch.cells();
    let lab = labels.range(a, z);
    let mut ov = vec![[0f64; 3]; speakers];
    for c in a..z {
        let Some(k) = lab[c - a] else { continue };
        let class = ch.class_at(c);
        // Classes 1–3: exactly one local speaker.
        if (1..=3).contains(&class) && labels.core(c) {
            ov[k][class - 1] += 1.0;
        }
    }
    // Hungarian assignment: local speakers (rows) to clusters (columns; padded to at least 3).
    let n = speakers.max(3);
    let w =
        pathfinding::matrix::Matrix::from_fn(
            3,
            n,
            |(j, k)| {
                if k < speakers {
                    ov[k][j] as i64
                } else {
                    0
                }
            },
        );
    let (_, assign) = pathfinding::kuhn_munkres::kuhn_munkres(&w);
    let mut out = [None; 3];
    for (j, &k) in assign.iter().enumerate() {
        if k >= speakers {
            continue;
        }
        let total: f64 = (0..speakers).map(|x| ov[x][j]).sum();
        let o = ov[k][j];
        if o >= min_overlap && o >= min_share as f64 * total {
            out[j] = Some(k);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::segmentation::{frame_center, FRAMES};
    use super::*;

    /// A chunk from per-frame classes given as (first second, last second, class) runs.
    fn chunk(start_s: f64, runs: &[(f64, f64, u8)]) -> LocalChunk {
        let start = (start_s * SR) as usize;
        let mut c = LocalChunk {
            start,
            valid: CHUNK_SAMPLES,
            classes: vec![0; FRAMES],
        };
        for f in 0..FRAMES {
            let t = start_s + frame_center(f);
            for &(a, b, cl) in runs {
                if a <= t && t < b {
                    c.classes[f] = cl;
                }
            }
        }
        c
    }

    #[test]
    fn boundaries_come_from_the_local_speakers() {
        // Clustering: A 0–5 s, B 5–10 s (its boundary 0.5 s late); the model hears the change
        // at 4.5 s.
        let turns = [(0.0, 5.0, 0), (5.0, 10.0, 1)];
        let chunks = vec![chunk(0.0, &[(0.0, 4.5, 1), (4.5, 10.0, 2)])];
        let (r, f) = resegment(&chunks, &turns, 2, 160_000, &ResegmentOptions::default());
        assert_eq!(r, f, "one speaker at a time: the floor is the turns");
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!(r[0].2, 0);
        assert!((r[0].1 - 4.5).abs() < 0.03, "{r:?}");
        assert!((r[1].0 - 4.5).abs() < 0.03, "{r:?}");
    }

    #[test]
    fn overlap_gives_a_second_speaker() {
        // Local speaker 1 = A (0–6 s), 2 = B (5–10 s); both active 5–6 s (class 4 = {1,2}).
        let turns = [(0.0, 5.5, 0), (5.5, 10.0, 1)];
        let chunks = vec![chunk(0.0, &[(0.0, 5.0, 1), (5.0, 6.0, 4), (6.0, 10.0, 2)])];
        let (r, f) = resegment(&chunks, &turns, 2, 160_000, &ResegmentOptions::default());
        let a = r.iter().find(|t| t.2 == 0).unwrap();
        let b = r.iter().find(|t| t.2 == 1).unwrap();
        assert!(
            (a.1 - 6.0).abs() < 0.03 && (b.0 - 5.0).abs() < 0.03,
            "{r:?}"
        );
        // The floor changes hands where the clustering changed speaker (5.5 s).
        assert_eq!(f.len(), 2, "{f:?}");
        assert!((f[0].1 - 5.5).abs() < 0.02 && f[1].2 == 1, "{f:?}");
    }

    #[test]
    fn a_local_speaker_spanning_two_clusters_keeps_their_labels() {
        // The model hears one voice 0–10 s; the clustering says A 0–4, B 4–10 (well apart).
        let turns = [(0.0, 4.0, 0), (4.0, 10.0, 1)];
        let chunks = vec![chunk(0.0, &[(0.0, 10.0, 1)])];
        let (r, _) = resegment(&chunks, &turns, 2, 160_000, &ResegmentOptions::default());
        assert_eq!(r.len(), 2, "{r:?}");
        assert!((r[0].1 - 4.0).abs() < 0.02 && r[1].2 == 1, "{r:?}");
    }

    #[test]
    fn vad_speech_the_model_missed_stays() {
        let turns = [(2.0, 3.0, 0)];
        let chunks = vec![chunk(0.0, &[])];
        let (r, f) = resegment(&chunks, &turns, 1, 160_000, &ResegmentOptions::default());
        assert_eq!(r, vec![(2.0, 3.0, 0)]);
        assert_eq!(f, r);
    }
}
