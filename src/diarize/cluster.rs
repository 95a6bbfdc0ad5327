//! Offline clustering of window embeddings over the whole recording: the number of speakers
//! is estimated from the eigengap of the pruned cosine-affinity graph's normalised Laplacian
//! (Park et al. 2019, "auto-tuning spectral clustering"; a fixed distance threshold drifts
//! between short recordings), unless more voices are still apart at a distance threshold
//! (many speakers, each with few windows: the pruned graph joins them), or taken from the
//! caller; average-linkage agglomerative clustering on cosine distance (kodama) is cut at
//! that number (or that threshold), then refined by re-assigning every window to its nearest
//! centroid. Long recordings are first reduced to at most `MAX_AHC` k-means centroids so
//! memory stays quadratic in that bound, not in the recording's length.

use super::encoder::{cosine, l2_normalized, DIM};
use kodama::{linkage, Dendrogram, Method};

/// Largest number of points clustered agglomeratively (condensed matrix ≈ 8 MB).
const MAX_AHC: usize = 2000;

#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Cosine distance at which agglomeration stops. With `eigengap` on, the recording is
    /// cut here instead when more clusters (of ≥ 2 windows) are still apart at this distance
    /// than the eigengap counts. Measured (`eval der --threshold`): 0.65–0.8 leave the 9 short
    /// eval files as the eigengap alone has them (22.2 %, count exact 6/9); on the same files
    /// joined into one 259 s recording of 15 speakers, 0.7 finds 11 (DER 32.9 %; eigengap
    /// alone: 1 speaker, 82.5 %).
    pub threshold: f32,
    /// Estimate the number of speakers by the eigengap, keeping this fraction of each
    /// window's strongest affinities (`None`: cut the dendrogram at `threshold`).
    pub eigengap: Option<f32>,
    pub num_speakers: Option<usize>,
    pub min_speakers: Option<usize>,
    pub max_speakers: Option<usize>,
}

/// Average-linkage dendrogram of the embeddings' cosine distances; a long recording is first
/// reduced to k-means centroids (`member` maps each embedding to its point).
fn average_linkage(emb: &[Vec<f32>]) -> (Vec<Vec<f32>>, Vec<usize>, Dendrogram<f32>) {
    let n = emb.len();
    let (points, member): (Vec<Vec<f32>>, Vec<usize>) = if n > MAX_AHC {
        kmeans(emb, MAX_AHC / 2, 5)
    } else {
        (emb.to_vec(), (0..n).collect())
    };
    let m = points.len();
    let mut condensed = Vec::with_capacity(m * (m - 1) / 2);
    for i in 0..m {
        for j in i + 1..m {
            condensed.push((1.0 - cosine(&points[i], &points[j])).max(0.0));
        }
    }
    let dend = linkage(&mut condensed, m, Method::Average);
    (points, member, dend)
}

/// Cluster label of every embedding (0-based, dense).
pub fn cluster(emb: &[Vec<f32>], opts: &ClusterOptions) -> Vec<usize> {
    let n = emb.len();
    if n == 0 {
        return Vec::new();
    }
    if n == 1 {
        return vec![0];
    }
    // Labels map back through `member` when long recordings were reduced to centroids.
    let (points, member, dend) = average_linkage(emb);
    let m = points.len();
    let steps = dend.steps();
    let merges_below = steps
        .iter()
        .take_while(|s| s.dissimilarity <= opts.threshold)
        .count();
    let mut k = match opts.eigengap {
        // The eigengap keeps a fixed share of each window's neighbours, which suits a few
        // speakers; with many (a council), every speaker has far fewer windows than that
        // share and the graph merges them all. Voices still apart at the threshold count too.
        // Then the dendrogram is cut at the threshold itself (outlier windows stay apart and
        // join a cluster in `absorb_small`, rather than taking the place of a speaker).
        Some(p) => {
            let k = eigengap_count(&points, MAX_SPEAKERS, p);
            if clusters_at(steps, m, merges_below, MIN_CLUSTER) > k {
                m - merges_below
            } else {
                k
            }
        }
        None => m - merges_below,
    };
    let estimated = k;
    if let Some(n) = opts.num_speakers {
        k = n;
    }
    if let Some(lo) = opts.min_speakers {
        k = k.max(lo);
    }
    if let Some(hi) = opts.max_speakers {
        k = k.min(hi);
    }
    // A hint asks for more speakers than were estimated: give at most as many as there are
    // voices still apart (with ≥ 2 windows each) at `HINT_APART`, so `--speakers 1000` on one
    // voice stays one speaker instead of splitting it into its windows.
    if k > estimated {
        let below = steps
            .iter()
            .take_while(|s| s.dissimilarity <= HINT_APART)
            .count();
        let voices = clusters_at(steps, m, below, MIN_CLUSTER).max(1);
        if voices < k {
            tracing::info!(
                "speaker hint asks for {k} speakers; {voices} distinct voices heard, giving {}",
                voices.max(estimated)
            );
            k = voices.max(estimated);
        }
    }
    let k = k.clamp(1, m);
    // Replay the first m - k merges with a parent array over the dendrogram's nodes.
    let mut parent: Vec<usize> = (0..2 * m).collect();
    for (i, s) in steps.iter().take(m - k).enumerate() {
        parent[s.cluster1] = m + i;
        parent[s.cluster2] = m + i;
    }
    let root = |mut x: usize| {
        while parent[x] != x {
            x = parent[x];
        }
        x
    };
    let point_labels = dense(&(0..m).map(root).collect::<Vec<_>>());
    let mut labels: Vec<usize> = member.iter().map(|&p| point_labels[p]).collect();
    let forced = opts.num_speakers.is_some() || opts.min_speakers.is_some_and(|lo| lo >= k);
    if !forced {
        labels = absorb_small(emb, labels, MIN_CLUSTER);
    }
    refine(emb, labels, 2)
}

/// Exactly `k` clusters (fewer only when there are fewer points): the average-linkage
/// dendrogram cut at `k`, refined once by nearest centroid. For a count decided elsewhere
/// (the overlap-aware path's floor of voices heard at once), with no hint cap.
pub fn cut(emb: &[Vec<f32>], k: usize) -> Vec<usize> {
    let n = emb.len();
    if n <= 1 {
        return vec![0; n];
    }
    let (points, member, dend) = average_linkage(emb);
    let m = points.len();
    let k = k.clamp(1, m);
    let mut parent: Vec<usize> = (0..2 * m).collect();
    for (i, s) in dend.steps().iter().take(m - k).enumerate() {
        parent[s.cluster1] = m + i;
        parent[s.cluster2] = m + i;
    }
    let root = |mut x: usize| {
        while parent[x] != x {
            x = parent[x];
        }
        x
    };
    let point_labels = dense(&(0..m).map(root).collect::<Vec<_>>());
    let labels: Vec<usize> = member.iter().map(|&p| point_labels[p]).collect();
    refine(emb, labels, 1)
}

/// Clusters of at least `min` points left after the first `merges` steps of the dendrogram.
fn clusters_at(steps: &[kodama::Step<f32>], m: usize, merges: usize, min: usize) -> usize {
    let mut size: Vec<usize> = vec![1; m];
    size.reserve(merges);
    let mut alive: Vec<bool> = vec![true; m];
    for s in steps.iter().take(merges) {
        size.push(size[s.cluster1] + size[s.cluster2]);
        alive[s.cluster1] = false;
        alive[s.cluster2] = false;
        alive.push(true);
    }
    (0..size.len())
        .filter(|&i| alive[i] && size[i] >= min)
        .count()
}

/// Cosine distance under which windows are taken as one voice when a speaker-count hint asks
/// for more speakers than estimated: below the clustering's threshold (0.7), so a hint can
/// still split voices the estimate joined, but above the spread of one person's 2 s windows.
const HINT_APART: f32 = 0.5;

/// Most speakers the eigengap looks for (council plenaries have up to ~40).
const MAX_SPEAKERS: usize = 40;

/// Number of clusters from the largest gap between the smallest eigenvalues of the
/// normalised Laplacian of the affinity graph (cosine similarity clipped at 0, each row
/// keeping its `keep` fraction of strongest links, then symmetrised).
pub fn eigengap_count(points: &[Vec<f32>], max_k: usize, keep: f32) -> usize {
    let n = points.len();
    if n < 3 {
        return 1;
    }
    let mut a = nalgebra::DMatrix::<f64>::zeros(n, n);
    for i in 0..n {
        for j in i + 1..n {
            let s = cosine(&points[i], &points[j]).max(0.0) as f64;
            a[(i, j)] = s;
            a[(j, i)] = s;
        }
    }
    // Row-wise pruning: keep the strongest `keep` fraction of each row.
    let m = ((keep as f64 * n as f64).round() as usize).clamp(1, n - 1);
    let mut b = nalgebra::DMatrix::<f64>::zeros(n, n);
    for i in 0..n {
        let mut order: Vec<usize> = (0..n).filter(|&j| j != i).collect();
        order.sort_by(|&x, &y| a[(i, y)].total_cmp(&a[(i, x)]));
        for &j in order.iter().take(m) {
            b[(i, j)] = a[(i, j)];
        }
    }
    let b = (&b + b.transpose()) * 0.5;
    let d: Vec<f64> = (0..n).map(|i| b.row(i).sum().max(1e-9)).collect();
    let lap = nalgebra::DMatrix::<f64>::from_fn(n, n, |i, j| {
        let v = b[(i, j)] / (d[i] * d[j]).sqrt();
        if i == j {
            1.0 - v
        } else {
            -v
        }
    });
    // Eigenvalues only: accumulating the eigenvectors (unused) was most of the O(n³) work,
    // seconds on one core for a 25-minute meeting's ~800 windows, after all the embeddings.
    let mut w: Vec<f64> = lap.symmetric_eigenvalues().iter().copied().collect();
    w.sort_by(|x, y| x.total_cmp(y));
    let mk = max_k.min(n - 1);
    let mut best = (f64::MIN, 1);
    for k in 1..=mk {
        let gap = w[k] - w[k - 1];
        if gap > best.0 {
            best = (gap, k);
        }
    }
    best.1
}

/// Clusters with fewer windows than this are outliers (a cough, a window across a change
/// of speaker), not people: their windows join the nearest larger cluster.
const MIN_CLUSTER: usize = 2;

fn absorb_small(emb: &[Vec<f32>], labels: Vec<usize>, min: usize) -> Vec<usize> {
    let k = labels.iter().max().map_or(0, |m| m + 1);
    let mut sizes = vec![0usize; k];
    for &l in &labels {
        sizes[l] += 1;
    }
    let large: Vec<usize> = (0..k).filter(|&c| sizes[c] >= min).collect();
    if large.is_empty() || large.len() == k {
        return labels;
    }
    let cents = centroids(emb, &labels);
    let large_cents: Vec<Vec<f32>> = large.iter().map(|&c| cents[c].clone()).collect();
    let out: Vec<usize> = labels
        .iter()
        .zip(emb)
        .map(|(&l, e)| {
            if sizes[l] >= min {
                l
            } else {
                large[nearest(e, &large_cents).0]
            }
        })
        .collect();
    dense(&out)
}

/// Re-assigns each embedding to the nearest centroid (`iters` rounds); empty clusters vanish.
pub fn refine(emb: &[Vec<f32>], mut labels: Vec<usize>, iters: usize) -> Vec<usize> {
    for _ in 0..iters {
        let cents = centroids(emb, &labels);
        let new: Vec<usize> = emb.iter().map(|e| nearest(e, &cents).0).collect::<Vec<_>>();
        let new = dense(&new);
        if new == labels {
            break;
        }
        labels = new;
    }
    labels
}

/// Normalised mean embedding of every cluster.
pub fn centroids(emb: &[Vec<f32>], labels: &[usize]) -> Vec<Vec<f32>> {
    let k = labels.iter().max().map_or(0, |m| m + 1);
    let mut sums = vec![vec![0f32; DIM]; k];
    for (e, &l) in emb.iter().zip(labels) {
        for (a, b) in sums[l].iter_mut().zip(e) {
            *a += b;
        }
    }
    sums.iter().map(|s| l2_normalized(s)).collect()
}

/// Index and cosine similarity of the closest centroid.
pub fn nearest(e: &[f32], cents: &[Vec<f32>]) -> (usize, f32) {
    let mut best = (0, f32::MIN);
    for (i, c) in cents.iter().enumerate() {
        let s = cosine(e, c);
        if s > best.1 {
            best = (i, s);
        }
    }
    best
}

/// Renumbers labels 0.. in order of first appearance (so S1 is whoever speaks first).
pub fn dense(labels: &[usize]) -> Vec<usize> {
    let mut map = std::collections::HashMap::new();
    labels
        .iter()
        .map(|&l| {
            let next = map.len();
            *map.entry(l).or_insert(next)
        })
        .collect()
}

/// Spherical k-means (k-means++-like seeding by farthest points), for long recordings.
/// Returns the centroids and each embedding's centroid index.
fn kmeans(emb: &[Vec<f32>], k: usize, iters: usize) -> (Vec<Vec<f32>>, Vec<usize>) {
    // Seeds evenly spaced in time: deterministic and spread over the whole meeting.
    let step = emb.len() as f64 / k as f64;
    let mut cents: Vec<Vec<f32>> = (0..k)
        .map(|i| emb[((i as f64 * step) as usize).min(emb.len() - 1)].clone())
        .collect();
    let mut assign = vec![0usize; emb.len()];
    for _ in 0..iters {
        for (a, e) in assign.iter_mut().zip(emb) {
            *a = nearest(e, &cents).0;
        }
        let mut sums = vec![vec![0f32; DIM]; k];
        let mut counts = vec![0usize; k];
        for (e, &a) in emb.iter().zip(&assign) {
            counts[a] += 1;
            for (s, x) in sums[a].iter_mut().zip(e) {
                *s += x;
            }
        }
        for i in 0..k {
            if counts[i] > 0 {
                cents[i] = l2_normalized(&sums[i]);
            }
        }
    }
    // Drop centroids nobody chose.
    let used = dense(&assign);
    let k2 = used.iter().max().map_or(0, |m| m + 1);
    let mut out = vec![Vec::new(); k2];
    for (&old, &new) in assign.iter().zip(&used) {
        if out[new].is_empty() {
            out[new] = cents[old].clone();
        }
    }
    (out, used)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random unit vectors around `k` well-separated directions.
    fn synthetic(n: usize, k: usize) -> (Vec<Vec<f32>>, Vec<usize>) {
        let mut state = 12345u64;
        let mut rnd = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let mut emb = Vec::new();
        let mut truth = Vec::new();
        for i in 0..n {
            let c = (i / 7) % k; // speakers take turns of 7 windows
            let mut v: Vec<f32> = (0..DIM).map(|_| 0.15 * rnd()).collect();
            v[c * 10] += 1.0;
            emb.push(l2_normalized(&v));
            truth.push(c);
        }
        (emb, truth)
    }

    fn opts() -> ClusterOptions {
        ClusterOptions {
            threshold: 0.4,
            eigengap: None,
            num_speakers: None,
            min_speakers: None,
            max_speakers: None,
        }
    }

    #[test]
    fn finds_the_speakers_and_honours_overrides() {
        let (emb, truth) = synthetic(200, 4);
        let labels = cluster(&emb, &opts());
        assert_eq!(labels, dense(&truth));
        let two = cluster(
            &emb,
            &ClusterOptions {
                num_speakers: Some(2),
                ..opts()
            },
        );
        assert_eq!(two.iter().max(), Some(&1));
        let capped = cluster(
            &emb,
            &ClusterOptions {
                max_speakers: Some(3),
                ..opts()
            },
        );
        assert_eq!(capped.iter().max(), Some(&2));
    }

    #[test]
    fn eigengap_counts_the_speakers() {
        for k in [1, 2, 4] {
            let (emb, truth) = synthetic(120, k);
            assert_eq!(eigengap_count(&emb, 10, 0.4), k, "{k} speakers");
            let labels = cluster(
                &emb,
                &ClusterOptions {
                    eigengap: Some(0.4),
                    ..opts()
                },
            );
            assert_eq!(labels, dense(&truth));
        }
    }

    #[test]
    fn many_speakers_with_few_windows_each_are_not_merged() {
        // 20 speakers, 7 windows each: every speaker holds 5 % of the windows, far below the
        // eigengap's 40 % neighbourhood. The threshold keeps them apart.
        // Real voices share a component (different people measure cosine ~0.2, not 0).
        let (mut emb, truth) = synthetic(140, 20);
        for e in &mut emb {
            e[DIM - 1] += 0.5;
            *e = l2_normalized(e);
        }
        let o = ClusterOptions {
            eigengap: Some(0.4),
            threshold: 0.7,
            ..opts()
        };
        assert!(eigengap_count(&emb, MAX_SPEAKERS, 0.4) < 20);
        assert_eq!(cluster(&emb, &o), dense(&truth));
    }

    #[test]
    fn long_recordings_go_through_kmeans_first() {
        // More windows than MAX_AHC: reduced by k-means, same answer.
        let (emb, truth) = synthetic(MAX_AHC + 500, 3);
        let labels = cluster(&emb, &opts());
        assert_eq!(labels, dense(&truth));
    }
}
