//! Overlap-aware diarization as pyannote 3.1 does it, with the same segmentation-3.0 model
//! ([`super::segmentation`]) and CAM++ ([`super::campp`]) instead of window clustering:
//!
//! 1. Every [`OverlapOptions::step`] s a 10 s chunk goes through the segmentation model
//!    ([`LocalSegmenter::for_voices`]): up to three local speakers, frame by frame, two or
//!    three at once where they overlap (powerset classes). Each local speaker heard alone for
//!    at least `min_solo` s is embedded by CAM++ on those solo frames only (overlapped frames
//!    would mix two voices into one embedding).
//! 2. All local embeddings of the recording are clustered together ([`super::cluster`]: the
//!    eigengap count, raised to the number of voices the model hears at once in several
//!    chunks, and bounded by the user's hints). Then every chunk's local speakers are given
//!    to the global speakers one to one (Hungarian assignment on cosine similarity, two
//!    rounds of centroid updates): two local speakers of one chunk are two people, never
//!    merged (cannot-link). Local speakers too short to embed take the global speaker their
//!    frames share with the neighbouring chunks' assigned local speakers.
//! 3. Per 10 ms cell, each global speaker's activity is averaged over the chunks covering
//!    it; the number of speakers is the chunks' mean count of active local speakers rounded
//!    half to even (pyannote's speaker-count estimate), at least one inside the VAD's speech
//!    when `vad_floor` is set; that many most active speakers speak there. Turns of different
//!    speakers may overlap; the floor (who holds it, for word assignment) is the most active.
//!
//! Written by hand: no crate does diarization reconstruction.

use super::encoder::cosine;
use super::resegment::{smooth_floor, smooth_turns, CellTurns, LocalChunk, Spans, CELL};
use super::segmentation::{LOCAL_SPEAKERS, POWERSET};
use crate::transcript::Span;

const SR: f64 = 16_000.0;
/// Cells reconstructed at once (60 s): memory stays `BLOCK × speakers` floats.
const BLOCK: usize = 6_000;

/// Parameters of the overlap-aware path (chosen on the simulated dev meetings only; see
/// `Default`).
#[derive(Debug, Clone, Copy)]
pub struct OverlapOptions {
    /// Seconds between chunk starts (each moment is seen by about `10 / step` chunks).
    pub step: f64,
    /// Least solo speech (s) of a local speaker in a chunk for an embedding of its own.
    pub min_solo: f64,
    /// Solo speech embedded at most per local speaker and chunk (s): bounds CAM++'s work.
    pub max_embed: f64,
    /// The speaker count is at least `m` when at least this many chunks hear `m` embedded
    /// local speakers (one chunk alone may be the model splitting one voice).
    pub robust_chunks: usize,
    /// At least one speaker wherever the VAD heard speech.
    pub vad_floor: bool,
    /// The eigengap speaker count over the local embeddings (share of affinities kept);
    /// `None`: the dendrogram is cut at the clustering threshold alone.
    pub eigengap: Option<f32>,
    /// Each speaker's pauses shorter than `min_off` (s) are bridged, then turns shorter than
    /// `min_on` (s) dropped.
    pub min_on: f64,
    pub min_off: f64,
}

impl Default for OverlapOptions {
    fn default() -> Self {
        // Chosen on the simulated dev meetings only (`eval der /tmp/sim/dev --diarizer
        // overlap`, collar 0; 24 files, 1,625 s): step 5 s, solo ≥ 1 s, embedded ≤ 3 s, eigengap
        // 0.4, threshold 0.7: DER 25.2 %; threshold 0.6 / 0.5: 24.2 / 24.8 %; embedded ≤ 6 s
        // 24.9 %; eigengap off (cut at 0.7): 24.0 % (0.65: 24.0, 0.75: 25.3); then solo ≥ 0.5 s
        // 23.7 %; step 3 s 22.2 %, step 3 s + solo ≥ 0.5 s 21.8 % (threshold 0.6: 21.9 %),
        // step 2 s + solo ≥ 0.5 s 20.9 % but ~1.5× the segmentation work: 3 s keeps the
        // speed of the classic path (see the notes of issue 16).
        OverlapOptions {
            step: 3.0,
            min_solo: 0.5,
            max_embed: 3.0,
            robust_chunks: 2,
            vad_floor: true,
            eigengap: None,
            min_on: 0.25,
            min_off: 0.25,
        }
    }
}

/// What [`diarize_chunks`] gives back (speakers `0..centroids.len()`, not yet numbered by
/// first speech).
#[derive(Debug, Clone, Default)]
pub struct OverlapResult {
    /// `(start, end, speaker)` sorted by start; speakers may overlap.
    pub turns: Spans,
    /// One speaker at a time: the most active one.
    pub floor: Spans,
    /// L2-normalised mean embedding of each global speaker.
    pub centroids: Vec<Vec<f32>>,
    /// The global speaker of each chunk's local speakers (`None`: dropped).
    pub maps: Vec<[Option<usize>; LOCAL_SPEAKERS]>,
}

/// Global speakers for the local speakers of `chunks` (sorted by start) and the frame-level
/// turns of the recording (`total_samples` long); `speech` are the VAD's regions.
pub fn diarize_chunks(
    chunks: &[LocalChunk],
    total_samples: usize,
    speech: &[Span],
    copts: &super::cluster::ClusterOptions,
    o: &OverlapOptions,
) -> OverlapResult {
    let (maps, centroids) = assign(chunks, copts, o);
    let (turns, floor) = reconstruct(chunks, &maps, centroids.len(), total_samples, speech, o);
    OverlapResult {
        turns,
        floor,
        centroids,
        maps,
    }
}

/// The global speaker of every local speaker, and the speakers' centroids.
fn assign(
    chunks: &[LocalChunk],
    copts: &super::cluster::ClusterOptions,
    o: &OverlapOptions,
) -> (Vec<[Option<usize>; LOCAL_SPEAKERS]>, Vec<Vec<f32>>) {
    let mut maps = vec![[None; LOCAL_SPEAKERS]; chunks.len()];
    let embs: Vec<(usize, usize, &Vec<f32>)> = chunks
        .iter()
        .enumerate()
        .flat_map(|(i, ch)| {
            ch.voices
                .iter()
                .enumerate()
                .filter_map(move |(j, v)| v.as_ref().map(|v| (i, j, v)))
        })
        .collect();
    if embs.is_empty() {
        // Nobody spoke long enough alone for an embedding: one speaker, the chunks' most
        // active local speaker (a short clip, a single greeting).
        for (ch, map) in chunks.iter().zip(maps.iter_mut()) {
            let mut frames = [0usize; LOCAL_SPEAKERS];
            for &c in &ch.classes {
                for (j, &on) in POWERSET[c as usize].iter().enumerate() {
                    frames[j] += usize::from(on);
                }
            }
            if let Some((j, _)) = frames
                .iter()
                .enumerate()
                .filter(|x| *x.1 > 0)
                .max_by_key(|x| x.1)
            {
                map[j] = Some(0);
            }
        }
        let any = maps.iter().any(|m| m.iter().any(Option::is_some));
        return (
            maps,
            if any {
                vec![vec![0.0; super::encoder::DIM]]
            } else {
                Vec::new()
            },
        );
    }
    let points: Vec<Vec<f32>> = embs.iter().map(|e| e.2.clone()).collect();
    let copts = super::cluster::ClusterOptions {
        eigengap: o.eigengap,
        ..copts.clone()
    };
    let copts = &copts;
    let mut labels = super::cluster::cluster(&points, copts);
    let k0 = labels.iter().max().map_or(0, |m| m + 1);
    // Voices heard at once: a chunk with m embedded local speakers has m people in it.
    let mut per_chunk = vec![0usize; chunks.len()];
    for e in &embs {
        per_chunk[e.0] += 1;
    }
    let floor_k = (1..=LOCAL_SPEAKERS)
        .rev()
        .find(|&m| per_chunk.iter().filter(|&&c| c >= m).count() >= o.robust_chunks)
        .unwrap_or(1);
    let mut k = k0;
    if copts.num_speakers.is_none() {
        k = k.max(floor_k);
        if let Some(hi) = copts.max_speakers {
            k = k.min(hi);
        }
    }
    if k != k0 {
        tracing::debug!("overlap: {k0} clusters, {floor_k} voices heard at once: {k} speakers");
        labels = super::cluster::cut(&points, k);
    }
    let k = labels.iter().max().map_or(0, |m| m + 1);
    let mut cents = super::cluster::centroids(&points, &labels);
    // Cannot-link: each chunk's local speakers go to distinct speakers (Hungarian), then the
    // centroids follow the assignment.
    for round in 0..3 {
        for m in maps.iter_mut() {
            *m = [None; LOCAL_SPEAKERS];
        }
        let mut i0 = 0;
        while i0 < embs.len() {
            let ci = embs[i0].0;
            let i1 = i0 + embs[i0..].iter().take_while(|e| e.0 == ci).count();
            let rows = &embs[i0..i1];
            // Columns: the k speakers, padded so every row has a column (a row on a padding
            // column is dropped: more voices in the chunk than speakers).
            let cols = k.max(rows.len());
            let w = pathfinding::matrix::Matrix::from_fn(rows.len(), cols, |(r, c)| {
                if c < k {
                    // Similarity in [-1, 1] shifted positive so any speaker beats dropping.
                    ((cosine(rows[r].2, &cents[c]) as f64 + 2.0) * 1e6) as i64
                } else {
                    0
                }
            });
            let (_, a) = pathfinding::kuhn_munkres::kuhn_munkres(&w);
            for (r, &c) in a.iter().enumerate() {
                if c < k {
                    maps[ci][rows[r].1] = Some(c);
                }
            }
            i0 = i1;
        }
        if round == 2 {
            break;
        }
        let assigned: Vec<usize> = embs
            .iter()
            .map(|e| maps[e.0][e.1].unwrap_or(usize::MAX))
            .collect();
        let mut sums = vec![vec![0f32; super::encoder::DIM]; k];
        for (e, &l) in embs.iter().zip(&assigned) {
            if l < k {
                for (s, x) in sums[l].iter_mut().zip(e.2) {
                    *s += x;
                }
            }
        }
        for (c, s) in cents.iter_mut().zip(&sums) {
            if s.iter().any(|&x| x != 0.0) {
                *c = super::encoder::l2_normalized(s);
            }
        }
    }
    fill_short(chunks, &mut maps);
    (maps, cents)
}

/// Local speakers active in a chunk but without an embedding take the speaker whose assigned
/// local speakers in the other chunks are active on the same cells most often (and not
/// already taken in this chunk); with no such evidence they are dropped.
fn fill_short(chunks: &[LocalChunk], maps: &mut [[Option<usize>; LOCAL_SPEAKERS]]) {
    let snapshot = maps.to_vec();
    for (i, ch) in chunks.iter().enumerate() {
        let (a, z) = ch.cells();
        for j in 0..LOCAL_SPEAKERS {
            if ch.voices[j].is_some() || snapshot[i][j].is_some() {
                continue;
            }
            let mut votes: std::collections::HashMap<usize, usize> = Default::default();
            for (i2, ch2) in chunks.iter().enumerate() {
                let (a2, z2) = ch2.cells();
                if i2 == i || z2 <= a || a2 >= z {
                    continue;
                }
                for c in a.max(a2)..z.min(z2) {
                    if !POWERSET[ch.class_at(c)][j] {
                        continue;
                    }
                    let act = POWERSET[ch2.class_at(c)];
                    for (j2, &on) in act.iter().enumerate() {
                        if let (true, Some(k)) = (on, snapshot[i2][j2]) {
                            *votes.entry(k).or_default() += 1;
                        }
                    }
                }
            }
            let taken: Vec<usize> = maps[i].iter().flatten().copied().collect();
            let best = votes
                .into_iter()
                .filter(|(k, _)| !taken.contains(k))
                .max_by(|x, y| x.1.cmp(&y.1).then(y.0.cmp(&x.0)));
            if let Some((k, _)) = best {
                maps[i][j] = Some(k);
            }
        }
    }
}

/// Frame-level turns and floor from the chunks' assigned local activities.
fn reconstruct(
    chunks: &[LocalChunk],
    maps: &[[Option<usize>; LOCAL_SPEAKERS]],
    speakers: usize,
    total_samples: usize,
    speech: &[Span],
    o: &OverlapOptions,
) -> (Spans, Spans) {
    if speakers == 0 {
        return (Vec::new(), Vec::new());
    }
    let n = total_samples.div_ceil(CELL);
    let to_cell = |t: f64| (t * SR / CELL as f64).round().max(0.0) as usize;
    let mut cells = CellTurns::new(speakers, total_samples);
    let mut first_chunk = 0;
    let mut next_speech = 0;
    let mut chosen: Vec<usize> = Vec::with_capacity(LOCAL_SPEAKERS);
    let mut b0 = 0;
    while b0 < n {
        let b1 = (b0 + BLOCK).min(n);
        let len = b1 - b0;
        let mut count_sum = vec![0f32; len];
        let mut count_n = vec![0f32; len];
        let mut act = vec![0f32; len * speakers];
        let mut in_speech = vec![false; len];
        while next_speech < speech.len() && to_cell(speech[next_speech].end) <= b0 {
            next_speech += 1;
        }
        for sp in speech[next_speech..].iter() {
            let (s, e) = (to_cell(sp.start), to_cell(sp.end));
            if s >= b1 {
                break;
            }
            for c in s.max(b0)..e.min(b1) {
                in_speech[c - b0] = true;
            }
        }
        while first_chunk < chunks.len() && chunks[first_chunk].cells().1 <= b0 {
            first_chunk += 1;
        }
        for (ch, map) in chunks[first_chunk..].iter().zip(&maps[first_chunk..]) {
            let (a, z) = ch.cells();
            if a >= b1 {
                break;
            }
            for c in a.max(b0)..z.min(b1) {
                let i = c - b0;
                count_n[i] += 1.0;
                for (j, &on) in POWERSET[ch.class_at(c)].iter().enumerate() {
                    if on {
                        count_sum[i] += 1.0;
                        if let Some(k) = map[j] {
                            act[i * speakers + k] += 1.0;
                        }
                    }
                }
            }
        }
        for i in 0..len {
            let mean = if count_n[i] > 0.0 {
                count_sum[i] / count_n[i]
            } else {
                0.0
            };
            // Rounded half to even as pyannote's `np.rint`.
            let mut count = mean.round_ties_even() as usize;
            if o.vad_floor && in_speech[i] {
                count = count.max(1);
            }
            let v = &act[i * speakers..(i + 1) * speakers];
            chosen.clear();
            for _ in 0..count.min(speakers) {
                let best = (0..speakers)
                    .filter(|k| !chosen.contains(k) && v[*k] > 0.0)
                    .max_by(|&x, &y| v[x].total_cmp(&v[y]).then(y.cmp(&x)));
                match best {
                    Some(k) => chosen.push(k),
                    None => break,
                }
            }
            let c = b0 + i;
            let holder = chosen.first().copied();
            cells.cell(c, &chosen, holder);
        }
        b0 = b1;
    }
    let (out, floor) = cells.finish(n);
    (
        smooth_turns(out, o.min_on, o.min_off),
        smooth_floor(floor, o.min_on, o.min_off),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(start_s: f64, runs: &[(f64, f64, u8)], voices: [Option<usize>; 3]) -> LocalChunk {
        let mut c = super::super::resegment::tests::chunk(start_s, runs);
        for (j, v) in voices.iter().enumerate() {
            c.voices[j] = v.map(voice);
        }
        c
    }

    fn voice(i: usize) -> Vec<f32> {
        let mut v = vec![0.01f32; 192];
        v[i] = 1.0;
        super::super::encoder::l2_normalized(&v)
    }

    fn copts() -> super::super::cluster::ClusterOptions {
        super::super::DiarizeOptions::default().cluster
    }

    #[test]
    fn overlapped_local_speakers_become_overlapping_turns() {
        // Two chunks (0 s and 5 s); voices A (axis 0) and B (axis 1); both speak 4–6 s
        // (class 4 = local speakers 1 and 2). The second chunk numbers them the other way.
        let chunks = vec![
            chunk(
                0.0,
                &[(0.0, 4.0, 1), (4.0, 6.0, 4), (6.0, 10.0, 2)],
                [Some(0), Some(1), None],
            ),
            chunk(5.0, &[(5.0, 6.0, 4), (6.0, 15.0, 1)], [Some(1), None, None]),
        ];
        // A is embedded once only: alone it is an outlier the clustering folds into B; the
        // count floor from one chunk hearing both keeps it.
        let o = OverlapOptions {
            robust_chunks: 1,
            ..Default::default()
        };
        let r = diarize_chunks(&chunks, 15 * 16_000, &[], &copts(), &o);
        assert_eq!(r.centroids.len(), 2, "{r:?}");
        // Chunk 2's local speaker 1 is B, and its short local speaker 2 (1 s, no embedding)
        // is A by its overlap with chunk 1's A.
        assert_eq!(r.maps[1][0], r.maps[0][1]);
        assert_eq!(r.maps[1][1], r.maps[0][0]);
        let a = r.maps[0][0].unwrap();
        let b = r.maps[0][1].unwrap();
        let ta: Vec<_> = r.turns.iter().filter(|t| t.2 == a).collect();
        let tb: Vec<_> = r.turns.iter().filter(|t| t.2 == b).collect();
        assert_eq!(ta.len(), 1, "{:?}", r.turns);
        assert!(
            ta[0].0 < 0.05 && (ta[0].1 - 6.0).abs() < 0.05,
            "{:?}",
            r.turns
        );
        assert!(
            (tb[0].0 - 4.0).abs() < 0.05 && (tb[0].1 - 15.0).abs() < 0.05,
            "{:?}",
            r.turns
        );
        // The floor never overlaps.
        for w in r.floor.windows(2) {
            assert!(w[0].1 <= w[1].0 + 1e-9, "{:?}", r.floor);
        }
    }

    #[test]
    fn two_local_speakers_of_one_chunk_never_merge() {
        // Two similar voices (cosine ≈ 0.95, one cluster for the clustering alone) heard at
        // once in two chunks: cannot-link keeps them apart and the count is raised to 2.
        let mut a = vec![0f32; 192];
        a[0] = 1.0;
        let mut b = a.clone();
        b[1] = 0.33;
        let b = super::super::encoder::l2_normalized(&b);
        let mut chunks = vec![
            chunk(0.0, &[(0.0, 3.0, 1), (3.0, 10.0, 2)], [None, None, None]),
            chunk(5.0, &[(5.0, 8.0, 1), (8.0, 15.0, 2)], [None, None, None]),
        ];
        for ch in &mut chunks {
            ch.voices[0] = Some(a.clone());
            ch.voices[1] = Some(b.clone());
        }
        let r = diarize_chunks(
            &chunks,
            15 * 16_000,
            &[],
            &copts(),
            &OverlapOptions::default(),
        );
        for m in &r.maps {
            assert!(
                m[0].is_some() && m[1].is_some() && m[0] != m[1],
                "{:?}",
                r.maps
            );
        }
        assert_eq!(r.centroids.len(), 2);
    }
}
