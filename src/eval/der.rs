//! Diarization error rate, as NIST md-eval and pyannote.metrics define it: missed speech,
//! false alarm and speaker confusion over the scored time, after the optimal one-to-one
//! mapping of hypothesis to reference speakers (Hungarian algorithm). Overlapping speech is
//! scored. `collar` removes ±collar seconds around every reference boundary (md-eval's
//! convention; pyannote's `collar=` parameter is the total width, i.e. 2 × this).

use anyhow::{bail, Context};
use serde::Serialize;
use std::collections::HashMap;

/// One speaker turn of an RTTM file.
#[derive(Debug, Clone, PartialEq)]
pub struct RttmTurn {
    pub file: String,
    pub speaker: String,
    pub start: f64,
    pub end: f64,
}

/// Reads the SPEAKER lines of an RTTM file.
pub fn parse_rttm(text: &str) -> anyhow::Result<Vec<RttmTurn>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.is_empty() || f[0].starts_with(';') || f[0] != "SPEAKER" {
            continue;
        }
        if f.len() < 8 {
            bail!("RTTM line {}: expected at least 8 fields", i + 1);
        }
        let start: f64 = f[3]
            .parse()
            .with_context(|| format!("RTTM line {}: bad start '{}'", i + 1, f[3]))?;
        let dur: f64 = f[4]
            .parse()
            .with_context(|| format!("RTTM line {}: bad duration '{}'", i + 1, f[4]))?;
        if !(start.is_finite() && dur.is_finite()) || dur < 0.0 {
            bail!("RTTM line {}: bad times", i + 1);
        }
        out.push(RttmTurn {
            file: f[1].to_string(),
            speaker: f[7].to_string(),
            start,
            end: start + dur,
        });
    }
    Ok(out)
}

/// Seconds of each error kind.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct DerBreakdown {
    /// Reference speech time (overlaps counted once per speaker).
    pub total: f64,
    pub missed: f64,
    pub false_alarm: f64,
    pub confusion: f64,
}

impl DerBreakdown {
    pub fn der(&self) -> f64 {
        if self.total <= 0.0 {
            return if self.missed + self.false_alarm + self.confusion > 0.0 {
                1.0
            } else {
                0.0
            };
        }
        (self.missed + self.false_alarm + self.confusion) / self.total
    }

    pub fn add(&mut self, o: &DerBreakdown) {
        self.total += o.total;
        self.missed += o.missed;
        self.false_alarm += o.false_alarm;
        self.confusion += o.confusion;
    }
}

/// DER of `hyp` against `reference` (speaker, start, end) over `[0, uem_end]`.
pub fn der(
    reference: &[(String, f64, f64)],
    hyp: &[(String, f64, f64)],
    collar: f64,
    uem_end: f64,
) -> DerBreakdown {
    let ref_ids = ids(reference);
    let hyp_ids = ids(hyp);
    // Elementary segments between every boundary.
    let mut cuts: Vec<f64> = vec![0.0, uem_end];
    let mut no_score: Vec<(f64, f64)> = Vec::new();
    for (_, s, e) in reference {
        cuts.extend([*s, *e]);
        if collar > 0.0 {
            for b in [*s, *e] {
                no_score.push((b - collar, b + collar));
                cuts.extend([b - collar, b + collar]);
            }
        }
    }
    for (_, s, e) in hyp {
        cuts.extend([*s, *e]);
    }
    cuts.retain(|&c| (0.0..=uem_end).contains(&c));
    cuts.sort_by(|a, b| a.total_cmp(b));
    cuts.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    let active = |turns: &[(String, f64, f64)], idx: &HashMap<String, usize>, t: f64| {
        let mut v: Vec<usize> = turns
            .iter()
            .filter(|(_, s, e)| *s <= t && t < *e)
            .map(|(n, _, _)| idx[n])
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let mut segs: Vec<(f64, Vec<usize>, Vec<usize>)> = Vec::new();
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let mid = (a + b) / 2.0;
        if no_score.iter().any(|&(s, e)| s <= mid && mid < e) {
            continue;
        }
        segs.push((
            b - a,
            active(reference, &ref_ids, mid),
            active(hyp, &hyp_ids, mid),
        ));
    }
    // Optimal mapping: maximise co-occurrence time (microseconds as integer weights).
    let n = ref_ids.len().max(hyp_ids.len()).max(1);
    let mut co = vec![vec![0i64; n]; n];
    for (d, r, h) in &segs {
        for &hi in h {
            for &ri in r {
                co[hi][ri] += (d * 1e6).round() as i64;
            }
        }
    }
    let m = pathfinding::matrix::Matrix::from_fn(n, n, |(i, j)| co[i][j]);
    let (_, map) = pathfinding::kuhn_munkres::kuhn_munkres(&m);
    let mut out = DerBreakdown::default();
    for (d, r, h) in &segs {
        let (nr, nh) = (r.len() as f64, h.len() as f64);
        let correct = h
            .iter()
            .filter(|&&hi| co[hi][map[hi]] > 0 && r.contains(&map[hi]))
            .count() as f64;
        out.total += nr * d;
        out.missed += (nr - nh).max(0.0) * d;
        out.false_alarm += (nh - nr).max(0.0) * d;
        out.confusion += (nr.min(nh) - correct) * d;
    }
    out
}

fn ids(turns: &[(String, f64, f64)]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for (n, _, _) in turns {
        let k = m.len();
        m.entry(n.clone()).or_insert(k);
    }
    m
}

/// Overlapped speech, on a 10 ms grid over `[0, uem_end]`: seconds where the hypothesis has
/// two or more speakers, how many of them the reference has two or more too, and the
/// reference's own overlapped seconds (precision = `.1 / .0`, recall = `.1 / .2`).
pub fn overlap_detection(
    reference: &[(String, f64, f64)],
    hyp: &[(String, f64, f64)],
    uem_end: f64,
) -> (f64, f64, f64) {
    let n = (uem_end * 100.0).ceil().max(0.0) as usize;
    let counts = |turns: &[(String, f64, f64)]| {
        let mut c = vec![0u16; n];
        for (_, s, e) in turns {
            let a = ((s * 100.0).round().max(0.0) as usize).min(n);
            let z = ((e * 100.0).round().max(0.0) as usize).min(n);
            for x in &mut c[a..z.max(a)] {
                *x += 1;
            }
        }
        c
    };
    let (r, h) = (counts(reference), counts(hyp));
    let hyp_ov = h.iter().filter(|&&x| x >= 2).count();
    let both = r
        .iter()
        .zip(&h)
        .filter(|(a, b)| **a >= 2 && **b >= 2)
        .count();
    let ref_ov = r.iter().filter(|&&x| x >= 2).count();
    (
        hyp_ov as f64 / 100.0,
        both as f64 / 100.0,
        ref_ov as f64 / 100.0,
    )
}

/// Number of distinct speakers.
pub fn speaker_count(turns: &[(String, f64, f64)]) -> usize {
    ids(turns).len()
}

#[cfg(test)]
mod tests {
    use super::*;
    fn t(s: &str, a: f64, b: f64) -> (String, f64, f64) {
        (s.to_string(), a, b)
    }

    #[test]
    fn perfect_and_swapped_labels_score_zero() {
        let r = vec![t("A", 0.0, 5.0), t("B", 5.0, 10.0)];
        let h = vec![t("x", 0.0, 5.0), t("y", 5.0, 10.0)];
        assert!(der(&r, &h, 0.0, 10.0).der() < 1e-9);
    }

    #[test]
    fn counts_each_error_kind() {
        // A 0-4 and B 4-8 (8 s); hyp: x 0-4 (A), x 4-6 (confused with B), nothing 6-8 (miss),
        // y 8-9 (false alarm).
        let r = vec![t("A", 0.0, 4.0), t("B", 4.0, 8.0)];
        let h = vec![t("x", 0.0, 6.0), t("y", 8.0, 9.0)];
        let d = der(&r, &h, 0.0, 10.0);
        assert!((d.total - 8.0).abs() < 1e-9);
        assert!((d.confusion - 2.0).abs() < 1e-9, "{d:?}");
        assert!((d.missed - 2.0).abs() < 1e-9);
        assert!((d.false_alarm - 1.0).abs() < 1e-9);
        // Collar of 0.25 s removes 0.5 s around each of the reference boundaries 0, 4, 8.
        let c = der(&r, &h, 0.25, 10.0);
        assert!((c.total - (8.0 - 0.25 - 0.5 - 0.25)).abs() < 1e-9, "{c:?}");
    }

    #[test]
    fn overlap_detection_counts_agreement() {
        let r = vec![t("A", 0.0, 2.0), t("B", 1.0, 3.0)];
        let h = vec![t("x", 0.0, 2.0), t("y", 1.5, 3.0)];
        let (hyp, both, reference) = overlap_detection(&r, &h, 3.0);
        assert!((hyp - 0.5).abs() < 1e-9 && (both - 0.5).abs() < 1e-9);
        assert!((reference - 1.0).abs() < 1e-9);
    }

    #[test]
    fn overlap_is_scored() {
        // Two reference speakers at once, one hypothesis speaker: half of it is missed.
        let r = vec![t("A", 0.0, 2.0), t("B", 0.0, 2.0)];
        let h = vec![t("x", 0.0, 2.0)];
        let d = der(&r, &h, 0.0, 2.0);
        assert!((d.der() - 0.5).abs() < 1e-9);
    }
}
