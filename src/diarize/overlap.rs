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
use super::resegment::{smooth_floor, smooth_turns, CellTurns, Labels, LocalChunk, Spans, CELL};
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
    /// Each local embedding is replaced by the mean of its track's embeddings within this
    /// many chunks either side (a track: the same local voice followed from chunk to chunk by
    /// its frames); 0: each chunk's own embedding.
    pub pool: usize,
    /// Clusters of fewer local embeddings than this join the nearest larger one (pyannote's
    /// `min_cluster_size`).
    pub min_cluster: usize,
    /// Hybrid path: the classic centroids are moved to the mean of the local embeddings
    /// assigned to them (three rounds, as in the overlap path) instead of kept.
    pub hybrid_update: bool,
    /// Hybrid path: the classic clustering gets at least as many speakers as several chunks
    /// hear apart at once.
    pub hybrid_floor: bool,
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
            pool: 0,
            min_cluster: 2,
            hybrid_update: false,
            hybrid_floor: true,
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
    let (turns, floor) = reconstruct(
        chunks,
        &maps,
        centroids.len(),
        total_samples,
        speech,
        None,
        o,
    );
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
    let embs = local_embeddings(chunks);
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
    let points: Vec<Vec<f32>> = if o.pool > 0 {
        pool_tracks(chunks, &embs, o.pool)
    } else {
        embs.iter().map(|e| e.2.clone()).collect()
    };
    let embs: Vec<(usize, usize, &Vec<f32>)> = embs
        .iter()
        .zip(&points)
        .map(|(e, p)| (e.0, e.1, p))
        .collect();
    let copts = super::cluster::ClusterOptions {
        eigengap: o.eigengap,
        ..copts.clone()
    };
    let copts = &copts;
    let mut labels = super::cluster::cluster(&points, copts);
    if o.min_cluster > 2 && copts.num_speakers.is_none() {
        labels = super::cluster::absorb_small(&points, labels, o.min_cluster);
    }
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
    let cents = super::cluster::centroids(&points, &labels);
    let cents = follow_assignment(&embs, cents, &mut maps);
    fill_short(chunks, &mut maps);
    (maps, cents)
}

/// Cannot-link: each chunk's local speakers go to distinct speakers (Hungarian), then the
/// centroids follow the assignment; three rounds.
fn follow_assignment(
    embs: &[(usize, usize, &Vec<f32>)],
    mut cents: Vec<Vec<f32>>,
    maps: &mut [[Option<usize>; LOCAL_SPEAKERS]],
) -> Vec<Vec<f32>> {
    let k = cents.len();
    for round in 0..3 {
        assign_onto(embs, &cents, maps);
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
    cents
}

/// Each local embedding pooled with the embeddings of the same track within `radius` chunks:
/// local speakers of consecutive chunks are one track when their frames agree (one to one,
/// greedily by shared active cells, at least half of either one's activity in the shared
/// stretch and 0.5 s). A 0.5–3 s embedding is noisy; the same voice seen in 3–4 chunks is
/// steadier. The radius bounds the harm of a wrong link.
fn pool_tracks(
    chunks: &[LocalChunk],
    embs: &[(usize, usize, &Vec<f32>)],
    radius: usize,
) -> Vec<Vec<f32>> {
    // Union-find over (chunk, local speaker).
    let mut parent: Vec<usize> = (0..chunks.len() * LOCAL_SPEAKERS).collect();
    fn root(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for i in 1..chunks.len() {
        let (a0, z0) = chunks[i - 1].cells();
        let (a1, z1) = chunks[i].cells();
        let (a, z) = (a0.max(a1), z0.min(z1));
        if z <= a {
            continue;
        }
        let mut both = [[0usize; LOCAL_SPEAKERS]; LOCAL_SPEAKERS];
        let mut on0 = [0usize; LOCAL_SPEAKERS];
        let mut on1 = [0usize; LOCAL_SPEAKERS];
        for c in a..z {
            let p0 = POWERSET[chunks[i - 1].class_at(c)];
            let p1 = POWERSET[chunks[i].class_at(c)];
            for j0 in 0..LOCAL_SPEAKERS {
                on0[j0] += usize::from(p0[j0]);
                on1[j0] += usize::from(p1[j0]);
                for j1 in 0..LOCAL_SPEAKERS {
                    both[j0][j1] += usize::from(p0[j0] && p1[j1]);
                }
            }
        }
        let mut pairs: Vec<(usize, usize, usize)> = (0..LOCAL_SPEAKERS)
            .flat_map(|j0| (0..LOCAL_SPEAKERS).map(move |j1| (j0, j1)))
            .map(|(j0, j1)| (both[j0][j1], j0, j1))
            .filter(|&(b, j0, j1)| b >= 50 && 2 * b >= on0[j0].max(on1[j1]))
            .collect();
        pairs.sort_by(|x, y| y.0.cmp(&x.0));
        let (mut used0, mut used1) = ([false; LOCAL_SPEAKERS], [false; LOCAL_SPEAKERS]);
        for (_, j0, j1) in pairs {
            if used0[j0] || used1[j1] {
                continue;
            }
            used0[j0] = true;
            used1[j1] = true;
            let x = root(&mut parent, (i - 1) * LOCAL_SPEAKERS + j0);
            let y = root(&mut parent, i * LOCAL_SPEAKERS + j1);
            parent[x] = y;
        }
    }
    let tracks: Vec<usize> = embs
        .iter()
        .map(|e| root(&mut parent, e.0 * LOCAL_SPEAKERS + e.1))
        .collect();
    embs.iter()
        .enumerate()
        .map(|(n, e)| {
            let mut sum = vec![0f32; super::encoder::DIM];
            // Embeddings are grouped by chunk: look only at the neighbours in range.
            let lo = embs.partition_point(|x| x.0 + radius < e.0);
            let hi = embs.partition_point(|x| x.0 <= e.0 + radius);
            for m in lo..hi {
                if tracks[m] == tracks[n] {
                    for (s, x) in sum.iter_mut().zip(embs[m].2.iter()) {
                        *s += x;
                    }
                }
            }
            super::encoder::l2_normalized(&sum)
        })
        .collect()
}

/// Each chunk's embedded local speakers (`embs`: chunk, local speaker, embedding; grouped by
/// chunk) given one to one to the speakers of `cents` (Hungarian on cosine similarity: two
/// local speakers of one chunk are never one speaker). A chunk with more embedded local
/// speakers than there are speakers drops its least fitting ones.
fn assign_onto(
    embs: &[(usize, usize, &Vec<f32>)],
    cents: &[Vec<f32>],
    maps: &mut [[Option<usize>; LOCAL_SPEAKERS]],
) {
    let k = cents.len();
    for m in maps.iter_mut() {
        *m = [None; LOCAL_SPEAKERS];
    }
    if k == 0 {
        return;
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
}

/// Every embedded local speaker of `chunks`: (chunk, local speaker, embedding), in chunk order.
fn local_embeddings(chunks: &[LocalChunk]) -> Vec<(usize, usize, &Vec<f32>)> {
    chunks
        .iter()
        .enumerate()
        .flat_map(|(i, ch)| {
            ch.voices
                .iter()
                .enumerate()
                .filter_map(move |(j, v)| v.as_ref().map(|v| (i, j, v)))
        })
        .collect()
}

/// The least number of speakers the chunks show: `m` when at least `robust_chunks` chunks
/// each have `m` embedded local speakers (people heard apart in one chunk are different).
pub fn voices_at_once(chunks: &[LocalChunk], robust_chunks: usize) -> usize {
    let per_chunk: Vec<usize> = chunks
        .iter()
        .map(|c| c.voices.iter().filter(|v| v.is_some()).count())
        .collect();
    (1..=LOCAL_SPEAKERS)
        .rev()
        .find(|&m| per_chunk.iter().filter(|&&c| c >= m).count() >= robust_chunks.max(1))
        .unwrap_or(1)
}

/// The hybrid path: the speakers are given (`centroids`, from the classic path's clustering
/// of 2 s windows, whose embeddings are steadier than a chunk's 0.5–3 s of solo speech), and
/// so are their turns (`labels`, sorted, one speaker at a time). Each chunk's embedded local
/// speakers go to the nearest centroids with cannot-link, the others by their overlap with
/// the neighbouring chunks, and local speakers still without a speaker follow `labels`
/// frame by frame; the chunks then bring the overlapped speech and the number of speakers
/// per cell, as in [`diarize_chunks`].
pub fn diarize_onto(
    chunks: &[LocalChunk],
    centroids: &[Vec<f32>],
    labels: &[(f64, f64, usize)],
    total_samples: usize,
    speech: &[Span],
    o: &OverlapOptions,
) -> OverlapResult {
    let mut maps = vec![[None; LOCAL_SPEAKERS]; chunks.len()];
    let embs = local_embeddings(chunks);
    let pooled: Vec<Vec<f32>> = if o.pool > 0 {
        pool_tracks(chunks, &embs, o.pool)
    } else {
        embs.iter().map(|e| e.2.clone()).collect()
    };
    let embs: Vec<(usize, usize, &Vec<f32>)> = embs
        .iter()
        .zip(&pooled)
        .map(|(e, p)| (e.0, e.1, p))
        .collect();
    let centroids = if o.hybrid_update {
        follow_assignment(&embs, centroids.to_vec(), &mut maps)
    } else {
        assign_onto(&embs, centroids, &mut maps);
        centroids.to_vec()
    };
    fill_short(chunks, &mut maps);
    let (turns, floor) = reconstruct(
        chunks,
        &maps,
        centroids.len(),
        total_samples,
        speech,
        Some(labels),
        o,
    );
    OverlapResult {
        turns,
        floor,
        centroids,
        maps,
    }
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

/// Frame-level turns and floor from the chunks' assigned local activities. With `labels`
/// (the classic turns, one speaker at a time) a local speaker without a speaker votes for the
/// labelled one, every labelled cell has at least one speaker, ties and the floor go to the
/// labelled speaker, as in the resegmentation ([`super::resegment::resegment`]).
fn reconstruct(
    chunks: &[LocalChunk],
    maps: &[[Option<usize>; LOCAL_SPEAKERS]],
    speakers: usize,
    total_samples: usize,
    speech: &[Span],
    labels: Option<&[(f64, f64, usize)]>,
    o: &OverlapOptions,
) -> (Spans, Spans) {
    if speakers == 0 {
        return (Vec::new(), Vec::new());
    }
    let n = total_samples.div_ceil(CELL);
    let to_cell = |t: f64| (t * SR / CELL as f64).round().max(0.0) as usize;
    let label_cells: Vec<(usize, usize, usize)> = labels
        .unwrap_or_default()
        .iter()
        .map(|&(s, e, k)| (to_cell(s), to_cell(e), k))
        .filter(|t| t.1 > t.0 && t.2 < speakers)
        .collect();
    let labels = Labels::new(&label_cells, 0);
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
        let lab = labels.range(b0, b1);
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
                        if let Some(k) = map[j].or(lab[i]) {
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
            if (o.vad_floor && in_speech[i]) || lab[i].is_some() {
                count = count.max(1);
            }
            let v = &act[i * speakers..(i + 1) * speakers];
            chosen.clear();
            for _ in 0..count.min(speakers) {
                let best = (0..speakers)
                    .filter(|k| !chosen.contains(k) && v[*k] > 0.0)
                    .max_by(|&x, &y| {
                        v[x].total_cmp(&v[y])
                            .then((lab[i] == Some(x)).cmp(&(lab[i] == Some(y))))
                            .then(y.cmp(&x))
                    });
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

    #[test]
    fn hybrid_maps_onto_given_speakers_and_follows_their_labels() {
        // The classic path's speakers A (axis 0) and B (axis 1) and its turns: B 0–4 s, A
        // 4–10 s. The chunk's first local speaker (B's voice) goes to B by its embedding; the
        // second, too short to embed and seen by no other chunk, follows the labels (A).
        let chunks = vec![chunk(
            0.0,
            &[(0.0, 4.0, 1), (4.0, 10.0, 2)],
            [Some(1), None, None],
        )];
        let labels = [(0.0, 4.0, 1), (4.0, 10.0, 0)];
        let r = diarize_onto(
            &chunks,
            &[voice(0), voice(1)],
            &labels,
            10 * 16_000,
            &[],
            &OverlapOptions::default(),
        );
        assert_eq!(r.maps[0][0], Some(1), "{:?}", r.maps);
        let a: Vec<_> = r.turns.iter().filter(|t| t.2 == 0).collect();
        let b: Vec<_> = r.turns.iter().filter(|t| t.2 == 1).collect();
        assert_eq!((a.len(), b.len()), (1, 1), "{:?}", r.turns);
        assert!((a[0].0 - 4.0).abs() < 0.05 && (a[0].1 - 10.0).abs() < 0.05);
        assert!(b[0].0 < 0.05 && (b[0].1 - 4.0).abs() < 0.05);
    }

    #[test]
    fn a_noisy_local_embedding_is_pooled_along_its_track() {
        // One voice through three chunks (0, 3, 6 s); the middle chunk's embedding is mostly
        // noise (axis 2). Pooled with its neighbours along the track it is the voice again.
        let mut chunks: Vec<LocalChunk> = [0.0, 3.0, 6.0]
            .iter()
            .map(|&s| chunk(s, &[(s, s + 10.0, 1)], [Some(0), None, None]))
            .collect();
        let mut noisy = voice(0).iter().map(|x| x * 0.3).collect::<Vec<f32>>();
        for (n, v) in noisy.iter_mut().zip(voice(2)) {
            *n += v;
        }
        chunks[1].voices[0] = Some(super::super::encoder::l2_normalized(&noisy));
        let embs = local_embeddings(&chunks);
        assert!(cosine(embs[1].2, &voice(0)) < 0.5);
        let pooled = pool_tracks(&chunks, &embs, 1);
        assert!(
            cosine(&pooled[1], &voice(0)) > 0.85,
            "{}",
            cosine(&pooled[1], &voice(0))
        );
        // A voice that shares no frames with the track is not pooled into it.
        chunks[2] = chunk(6.0, &[(13.5, 16.0, 1)], [Some(2), None, None]);
        let embs = local_embeddings(&chunks);
        let pooled = pool_tracks(&chunks, &embs, 1);
        assert!(cosine(&pooled[2], &voice(2)) > 0.99);
    }
}
