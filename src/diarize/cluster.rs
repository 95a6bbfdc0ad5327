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
    let mk = max_k.min(n - 1);
    let g = pruned_affinity(points, keep);
    let w = if n <= DENSE_MAX {
        dense_eigenvalues(&g)
    } else {
        smallest_eigenvalues(&g, mk + 1)
    };
    largest_gap(&w, mk)
}

/// [`eigengap_count`] with every eigenvalue of the Laplacian from a dense solver, whatever
/// the size: the reference the Lanczos path is checked against (`eval der
/// --eigengap-check`); O(n³).
#[doc(hidden)]
pub fn eigengap_count_dense(points: &[Vec<f32>], max_k: usize, keep: f32) -> usize {
    let n = points.len();
    if n < 3 {
        return 1;
    }
    largest_gap(
        &dense_eigenvalues(&pruned_affinity(points, keep)),
        max_k.min(n - 1),
    )
}

/// [`eigengap_count`] through Lanczos whatever the size (for the same check).
#[doc(hidden)]
pub fn eigengap_count_lanczos(points: &[Vec<f32>], max_k: usize, keep: f32) -> usize {
    let n = points.len();
    if n < 3 {
        return 1;
    }
    let mk = max_k.min(n - 1);
    largest_gap(
        &smallest_eigenvalues(&pruned_affinity(points, keep), mk + 1),
        mk,
    )
}

/// Up to this many points the Laplacian's eigenvalues come from the dense solver (a few ms);
/// above, from Lanczos ([`smallest_eigenvalues`]).
const DENSE_MAX: usize = 250;

/// The `k` in 1..=`mk` with the largest gap `w[k] − w[k−1]` (`w` ascending, at least mk+1).
fn largest_gap(w: &[f64], mk: usize) -> usize {
    let mut best = (f64::MIN, 1);
    for k in 1..=mk.min(w.len().saturating_sub(1)) {
        let gap = w[k] - w[k - 1];
        if gap > best.0 {
            best = (gap, k);
        }
    }
    best.1
}

/// The symmetrised pruned affinity graph: `b` row-major n×n and its degrees.
struct Affinity {
    n: usize,
    b: Vec<f64>,
    d: Vec<f64>,
}

fn pruned_affinity(points: &[Vec<f32>], keep: f32) -> Affinity {
    let n = points.len();
    let mut a = vec![0f64; n * n];
    for i in 0..n {
        for j in i + 1..n {
            let s = cosine(&points[i], &points[j]).max(0.0) as f64;
            a[i * n + j] = s;
            a[j * n + i] = s;
        }
    }
    // Row-wise pruning: keep the strongest `keep` fraction of each row (a partial selection,
    // O(n) a row; ties at the cut are links of equal weight, so which is kept does not
    // change the graph unless they are non-zero and equal, which cosines of real voices
    // never are).
    let m = ((keep as f64 * n as f64).round() as usize).clamp(1, n - 1);
    let mut b = vec![0f64; n * n];
    let mut order: Vec<usize> = Vec::with_capacity(n);
    for i in 0..n {
        let row = &a[i * n..(i + 1) * n];
        order.clear();
        order.extend((0..n).filter(|&j| j != i));
        if m < order.len() {
            order.select_nth_unstable_by(m - 1, |&x, &y| row[y].total_cmp(&row[x]));
        }
        for &j in &order[..m] {
            b[i * n + j] = row[j];
        }
    }
    for i in 0..n {
        for j in i + 1..n {
            let s = (b[i * n + j] + b[j * n + i]) * 0.5;
            b[i * n + j] = s;
            b[j * n + i] = s;
        }
    }
    let d = (0..n)
        .map(|i| b[i * n..(i + 1) * n].iter().sum::<f64>().max(1e-9))
        .collect();
    Affinity { n, b, d }
}

/// Every eigenvalue of the normalised Laplacian, ascending (dense, O(n³)).
fn dense_eigenvalues(g: &Affinity) -> Vec<f64> {
    let (n, b, d) = (g.n, &g.b, &g.d);
    let lap = nalgebra::DMatrix::<f64>::from_fn(n, n, |i, j| {
        let v = b[i * n + j] / (d[i] * d[j]).sqrt();
        if i == j {
            1.0 - v
        } else {
            -v
        }
    });
    // Eigenvalues only: accumulating the eigenvectors (unused) was most of the O(n³) work.
    let mut w: Vec<f64> = lap.symmetric_eigenvalues().iter().copied().collect();
    w.sort_by(|x, y| x.total_cmp(y));
    w
}

/// The `k` smallest eigenvalues of the normalised Laplacian L = I − D^-½ B D^-½, ascending,
/// by Lanczos on M = D^-½ B D^-½ (the smallest of L are the largest of M).
///
/// Written by hand: the count needs only the ~41 smallest of up to 2,000 (the dense solver
/// is O(n³), 3.8 s at 2,000 on one core); nalgebra has no partial symmetric solver, and
/// nalgebra-lapack / ARPACK bindings need a system library. Lanczos with full
/// reorthogonalisation (two Gram–Schmidt passes each step) is exact enough here because
/// Krylov dimensions stay in the low hundreds. In exact arithmetic a Krylov sequence sees
/// each eigenvalue once (further copies appear only through rounding, late), so the exact
/// multiplicities a graph has — eigenvalue 0 once per connected component, and 1 for a
/// point with no link — are taken out first with their known eigenvectors (D^½·1 on the
/// component, the unit vector of the point); every other multiplicity needs an exact
/// symmetry that real embeddings do not have.
fn smallest_eigenvalues(g: &Affinity, k: usize) -> Vec<f64> {
    let n = g.n;
    let k = k.min(n);
    let sq: Vec<f64> = g.d.iter().map(|x| x.sqrt()).collect();
    // Connected components of the graph (union–find over its links).
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    let mut linked = vec![false; n];
    for i in 0..n {
        for j in i + 1..n {
            if g.b[i * n + j] > 0.0 {
                linked[i] = true;
                linked[j] = true;
                let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
                if ri != rj {
                    parent[ri] = rj;
                }
            }
        }
    }
    let mut known_vals: Vec<f64> = Vec::new();
    let mut known: Vec<Vec<f64>> = Vec::new();
    let mut comp: std::collections::HashMap<usize, usize> = Default::default();
    for i in 0..n {
        if !linked[i] {
            let mut e = vec![0.0; n];
            e[i] = 1.0;
            known.push(e);
            known_vals.push(1.0);
            continue;
        }
        let r = root(&mut parent, i);
        let next = known.len();
        let c = *comp.entry(r).or_insert_with(|| {
            known.push(vec![0.0; n]);
            known_vals.push(0.0);
            next
        });
        known[c][i] = sq[i];
    }
    for v in &mut known {
        let norm = dot(v, v).sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
    }
    let rest = n - known.len();
    let want = k.saturating_sub(known_vals.iter().filter(|&&v| v == 0.0).count());
    let mut w = known_vals;
    if want > 0 && rest > 0 {
        // M x = D^-½ B D^-½ x, with the dense row-major B.
        let matvec = |x: &[f64], y: &mut [f64]| {
            let xs: Vec<f64> = x.iter().zip(&sq).map(|(a, s)| a / s).collect();
            for (i, yi) in y.iter_mut().enumerate() {
                *yi = dot(&g.b[i * n..(i + 1) * n], &xs) / sq[i];
            }
        };
        w.extend(
            lanczos_largest(n, rest, want, &known, matvec)
                .into_iter()
                .map(|m| 1.0 - m),
        );
    }
    w.sort_by(|x, y| x.total_cmp(y));
    w.truncate(k);
    w
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    // Four partial sums: vectorises, and a dense matrix–vector product is the hot loop.
    let mut s = [0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for ((acc, a), b) in s.iter_mut().zip(x).zip(y) {
            *acc += a * b;
        }
    }
    s[0] + s[1] + s[2] + s[3] + tail
}

/// The `want` largest eigenvalues of the symmetric operator `matvec` on the `dim`-dimensional
/// complement of the orthonormal `deflate` vectors (in R^n), descending. Converged when each
/// Ritz value's residual bound |β·s_last| is below 1e-10 (the eigenvalue error is at most
/// that), or exact once the Krylov space fills the complement.
fn lanczos_largest(
    n: usize,
    dim: usize,
    want: usize,
    deflate: &[Vec<f64>],
    matvec: impl Fn(&[f64], &mut [f64]),
) -> Vec<f64> {
    const TOL: f64 = 1e-10;
    let want = want.min(dim);
    // Deterministic start (and restart) vectors: the same count on every run.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut random = |v: &mut [f64]| {
        for x in v.iter_mut() {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *x = ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5;
        }
    };
    let orthogonalise = |v: &mut [f64], basis: &[Vec<f64>]| {
        for _ in 0..2 {
            for q in deflate.iter().chain(basis) {
                let c = dot(v, q);
                v.iter_mut().zip(q).for_each(|(x, y)| *x -= c * y);
            }
        }
    };
    let mut basis: Vec<Vec<f64>> = Vec::new();
    let (mut alpha, mut beta): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    let mut v = vec![0.0; n];
    let mut w = vec![0.0; n];
    loop {
        // A new direction: at the start, or after the Krylov space closed on itself.
        let mut tries = 0;
        loop {
            random(&mut v);
            orthogonalise(&mut v, &basis);
            let norm = dot(&v, &v).sqrt();
            if norm > 1e-8 || tries > 8 {
                v.iter_mut().for_each(|x| *x /= norm.max(1e-300));
                break;
            }
            tries += 1;
        }
        if let Some(b) = beta.last_mut() {
            *b = 0.0;
        }
        let mut next_check = want.max(16);
        loop {
            matvec(&v, &mut w);
            let a = dot(&v, &w);
            basis.push(v.clone());
            alpha.push(a);
            orthogonalise(&mut w, &basis);
            let b = dot(&w, &w).sqrt();
            beta.push(b);
            let m = basis.len();
            if m == dim {
                // The whole complement is spanned: the Ritz values are its eigenvalues.
                return ritz(&alpha, &beta).0.into_iter().take(want).collect();
            }
            // A closed Krylov space (b ≈ 0) is invariant: whatever lies outside it is found
            // only from a new start, so it never counts as converged.
            if b < 1e-12 {
                break;
            }
            if m >= next_check {
                let (vals, res) = ritz(&alpha, &beta);
                if res.iter().take(want).all(|&r| r < TOL) {
                    return vals.into_iter().take(want).collect();
                }
                // Checks every ~12 % more steps: the tridiagonal solve stays a small share.
                next_check = m + (m / 8).max(8);
            }
            std::mem::swap(&mut v, &mut w);
            v.iter_mut().for_each(|x| *x /= b);
        }
    }
}

/// Eigenvalues of the tridiagonal (`alpha` diagonal, `beta` off-diagonal; the last β is the
/// residual's norm), descending, with each one's residual bound |β_last · s_last|.
fn ritz(alpha: &[f64], beta: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let m = alpha.len();
    let t = nalgebra::DMatrix::<f64>::from_fn(m, m, |i, j| {
        if i == j {
            alpha[i]
        } else if i + 1 == j {
            beta[i]
        } else if j + 1 == i {
            beta[j]
        } else {
            0.0
        }
    });
    let e = t.symmetric_eigen();
    let last = beta[m - 1].abs();
    let mut pairs: Vec<(f64, f64)> = (0..m)
        .map(|i| (e.eigenvalues[i], last * e.eigenvectors[(m - 1, i)].abs()))
        .collect();
    pairs.sort_by(|x, y| y.0.total_cmp(&x.0));
    pairs.into_iter().unzip()
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

    /// Speakers whose windows spread around their voice as real ones do (cosine to
    /// another speaker 0.1–0.4), some with few windows.
    fn voices(n: usize, k: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut state = seed;
        let mut rnd = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let centres: Vec<Vec<f32>> = (0..k)
            .map(|_| {
                let mut c: Vec<f32> = (0..DIM).map(|_| rnd()).collect();
                c[DIM - 1] += 3.0;
                l2_normalized(&c)
            })
            .collect();
        (0..n)
            .map(|i| {
                // Uneven shares: speaker c holds turns of 3 + 2c windows.
                let c = (i / 3 + i % 7) % k;
                let v: Vec<f32> = centres[c]
                    .iter()
                    .map(|&x| x + 0.06 * rnd() * (1 + c % 3) as f32)
                    .collect();
                l2_normalized(&v)
            })
            .collect()
    }

    #[test]
    fn lanczos_gives_the_dense_eigenvalues() {
        // Real-like graphs of 300–900 points, 2–30 voices; and graphs with several connected
        // components (two far voices with keep 0.4: each row's links stay inside its voice)
        // and isolated points (no positive cosine to anyone), whose repeated eigenvalues a
        // single Krylov sequence cannot see.
        let mut cases: Vec<(Vec<Vec<f32>>, f32)> = vec![
            (voices(300, 2, 1), 0.4),
            (voices(600, 12, 2), 0.4),
            (voices(900, 30, 3), 0.4),
            (voices(500, 5, 4), 0.05),
        ];
        let (mut far, _) = synthetic(400, 2);
        // A point with only negative cosines: every link clipped to 0, no neighbour at all.
        far[0] = vec![0.0; DIM];
        far[0][0] = -1.0;
        far[0][10] = -1.0;
        far[0] = l2_normalized(&far[0]);
        cases.push((far, 0.4));
        for (i, (pts, keep)) in cases.iter().enumerate() {
            let g = pruned_affinity(pts, *keep);
            let dense = dense_eigenvalues(&g);
            let lz = smallest_eigenvalues(&g, MAX_SPEAKERS + 1);
            assert_eq!(lz.len(), MAX_SPEAKERS + 1);
            for (j, (a, b)) in dense.iter().zip(&lz).enumerate() {
                assert!((a - b).abs() < 1e-8, "case {i}, eigenvalue {j}: {a} vs {b}");
            }
            assert_eq!(
                eigengap_count_lanczos(pts, MAX_SPEAKERS, *keep),
                eigengap_count_dense(pts, MAX_SPEAKERS, *keep),
                "case {i}"
            );
        }
    }

    #[test]
    fn long_recordings_go_through_kmeans_first() {
        // More windows than MAX_AHC: reduced by k-means, same answer.
        let (emb, truth) = synthetic(MAX_AHC + 500, 3);
        let labels = cluster(&emb, &opts());
        assert_eq!(labels, dense(&truth));
    }
}
