//! `gijiroku bench search`: builds a large index from real minutes replicated with shifted
//! dates and ids, then times queries drawn from the minutes' own words.
//!
//! Works on its own index folder; never touches an archive's catalog or index.

use super::{Filters, SearchIndex, TurnDoc};
use crate::archive::minutes_text;
use anyhow::{bail, Context};
use chrono::{Days, NaiveDate};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Folder of minutes text files (`○名前　…`).
    pub minutes: PathBuf,
    /// Index folder to (re)create.
    pub index_dir: PathBuf,
    /// Folder of the Japanese dictionary (built there if missing).
    pub dict_dir: PathBuf,
    pub turns: usize,
    pub queries: usize,
    pub threads: usize,
    /// Indexing buffer in bytes, shared by the threads.
    pub heap: usize,
    /// Time queries on the index already in `index_dir` instead of rebuilding it.
    pub reuse: bool,
    /// Time queries as [`SearchIndex::search_estimating`] with this cap (phrase counts
    /// estimated past it), and compare the estimates with the exact counts (untimed).
    pub estimate_over: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub turns: usize,
    pub text_bytes: u64,
    pub index_seconds: f64,
    pub turns_per_second: f64,
    /// CPU time (all threads) spent indexing, when the OS reports it: the machine may be
    /// shared, so turns per CPU-second is the figure that carries over.
    pub index_cpu_seconds: Option<f64>,
    pub megabytes_per_second: f64,
    pub index_bytes: u64,
    pub segments: usize,
    pub queries: usize,
    pub first_query_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Quoted-phrase queries among them, and their own p95.
    pub phrase_queries: usize,
    pub phrase_p95_ms: f64,
    /// The ten slowest queries (ms), to see what costs.
    pub slowest: Vec<(String, f64)>,
    /// Latency by kind of query: (kind, count, p50, p95, max) in ms.
    pub kinds: Vec<(String, usize, f64, f64, f64)>,
    pub mean_hits: f64,
    /// Single-thread time of each analyzer over the base minutes: (name, turns/s, tokens/turn).
    pub analyzers: Vec<(String, f64, f64)>,
    /// A few of the queries with their totals, to show what was asked.
    pub examples: Vec<(String, usize)>,
    /// With `estimate_over`: queries whose count was estimated, and the estimates' error
    /// against the exact counts (median and largest, as a fraction of the exact count).
    pub estimated_queries: usize,
    pub estimate_error_median: f64,
    pub estimate_error_max: f64,
    /// With `estimate_over`: estimated queries whose top hits differ from the exact search's.
    pub estimate_top_changed: usize,
}

struct BaseMeeting {
    title: String,
    date: NaiveDate,
    kind: String,
    body: String,
    turns: Vec<minutes_text::MinutesTurn>,
}

fn load_minutes(dir: &Path) -> anyhow::Result<Vec<BaseMeeting>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the minutes folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text =
            std::fs::read_to_string(&f).with_context(|| format!("cannot read {}", f.display()))?;
        let m = minutes_text::parse(&text);
        if m.turns.is_empty() {
            continue;
        }
        let date = m
            .date
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .unwrap_or_else(|| NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default());
        let title = m.title.unwrap_or_default();
        let committee = title.contains("委員会");
        out.push(BaseMeeting {
            body: if committee {
                title.split(' ').next_back().unwrap_or("").to_string()
            } else {
                "本会議".into()
            },
            kind: if committee { "committee" } else { "council" }.into(),
            title,
            date,
            turns: m.turns,
        });
    }
    if out.is_empty() {
        bail!("no minutes with speaker headings in {}", dir.display());
    }
    Ok(out)
}

/// Deterministic pseudo-random numbers (xorshift64*): a benchmark must ask the same queries
/// every run, and one small function beats a dependency.
pub struct Rng(pub u64);
impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

fn is_word(w: &str) -> bool {
    w.chars().count() >= 2
        && w.chars()
            .all(|c| matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{30A0}'..='\u{30FF}' | '\u{3005}'))
}

pub fn run(opts: &BenchOptions) -> anyhow::Result<BenchReport> {
    let base = load_minutes(&opts.minutes)?;
    let base_turns: usize = base.iter().map(|m| m.turns.len()).sum();
    let reuse = opts.reuse && opts.index_dir.join("meta.json").is_file();
    let (n, bytes, index_seconds, index_cpu_seconds) = if reuse {
        (0, 0, 0.0, None)
    } else {
        if opts.index_dir.exists() {
            std::fs::remove_dir_all(&opts.index_dir)
                .with_context(|| format!("cannot clear {}", opts.index_dir.display()))?;
        }
        let index = SearchIndex::open(&opts.index_dir, &opts.dict_dir)?;
        let mut w = index.writer(opts.threads, opts.heap)?;
        let bar = crate::progress::bar(opts.turns as u64, "indexing turns");
        let t0 = Instant::now();
        let cpu0 = cpu_seconds();
        let mut n = 0usize;
        let mut bytes = 0u64;
        let mut replica = 0u64;
        'outer: loop {
            for (mi, m) in base.iter().enumerate() {
                // Each replica is another year of meetings: same words, other dates and ids.
                let meeting_id = (replica as i64) * base.len() as i64 + mi as i64 + 1;
                let date = m
                    .date
                    .checked_sub_days(Days::new(replica * 7))
                    .unwrap_or(m.date)
                    .format("%Y-%m-%d")
                    .to_string();
                let docs: Vec<TurnDoc> = m
                    .turns
                    .iter()
                    .enumerate()
                    .map(|(i, t)| TurnDoc {
                        meeting_id,
                        seq: i as u32 + 1,
                        kind: m.kind.clone(),
                        title: m.title.clone(),
                        body: m.body.clone(),
                        date: date.clone(),
                        speaker: t.speaker.clone(),
                        role: t.role.clone(),
                        text: t.text.clone(),
                        start: None,
                        end: None,
                        classification: "public".into(),
                        department: String::new(),
                    })
                    .collect();
                for d in docs.iter().take(opts.turns - n) {
                    bytes += d.text.len() as u64;
                    index.add_turns(&w, std::slice::from_ref(d))?;
                    n += 1;
                }
                bar.set_position(n as u64);
                if n >= opts.turns {
                    break 'outer;
                }
            }
            replica += 1;
        }
        w.commit().context("cannot commit the benchmark index")?;
        w.wait_merging_threads().ok();
        let index_seconds = t0.elapsed().as_secs_f64();
        let index_cpu_seconds = cpu0.zip(cpu_seconds()).map(|(a, b)| b - a);
        bar.finish_and_clear();
        (n, bytes, index_seconds, index_cpu_seconds)
    };
    // Reopen: the writer is gone, so the reader sees the merged segments.
    let index = SearchIndex::open(&opts.index_dir, &opts.dict_dir)?;
    let segments = index.num_segments();
    let n = if reuse { index.num_turns() as usize } else { n };
    let texts: Vec<&str> = base
        .iter()
        .flat_map(|m| m.turns.iter().map(|t| t.text.as_str()))
        .collect();
    let analyzers = index
        .analyzer_seconds(&texts)
        .into_iter()
        .map(|(name, secs, tokens)| {
            (
                name.to_string(),
                texts.len() as f64 / secs.max(1e-9),
                tokens as f64 / texts.len().max(1) as f64,
            )
        })
        .collect();
    let index_bytes = dir_size(&opts.index_dir);

    // Queries from the minutes' own words (dictionary tokens of kanji/katakana).
    let ja = index.japanese_words();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let all: Vec<(&BaseMeeting, &minutes_text::MinutesTurn)> = base
        .iter()
        .flat_map(|m| m.turns.iter().map(move |t| (m, t)))
        .collect();
    let mut queries: Vec<(String, Filters)> = Vec::new();
    let mut kinds: Vec<&'static str> = Vec::new();
    while queries.len() < opts.queries {
        let (m, t) = all[rng.below(all.len())];
        let words: Vec<String> = ja(&t.text);
        let cands: Vec<usize> = (0..words.len()).filter(|&i| is_word(&words[i])).collect();
        if cands.is_empty() {
            continue;
        }
        let i = cands[rng.below(cands.len())];
        let w1 = words[i].clone();
        // A third of the queries are phrases: fragments pasted from the minutes (not aligned to
        // words, quoted or not), and one- and two-character quoted phrases.
        let kind = queries.len() % 20;
        let q = match kind {
            0..=6 => (w1, Filters::default()),
            7 | 8 => {
                let j = cands[rng.below(cands.len())];
                (format!("{w1} {}", words[j]), Filters::default())
            }
            9 if i + 1 < words.len() && is_word(&words[i + 1]) => {
                (format!("\"{w1}{}\"", words[i + 1]), Filters::default())
            }
            10..=14 => {
                let len = 6 + rng.below(7);
                let Some(frag) = fragment(&mut rng, &t.text, len) else {
                    continue;
                };
                let q = if kind == 14 {
                    frag
                } else {
                    format!("\"{frag}\"")
                };
                (q, Filters::default())
            }
            15 => {
                let two: String = w1.chars().take(2).collect();
                (format!("\"{two}\""), Filters::default())
            }
            16 => {
                let one: String = w1.chars().take(1).collect();
                (format!("\"{one}\""), Filters::default())
            }
            17 => {
                let name: String = t.speaker.chars().take(2).collect();
                (
                    w1,
                    Filters {
                        speaker: Some(name),
                        ..Default::default()
                    },
                )
            }
            _ => (
                w1,
                Filters {
                    from: m.date.checked_sub_days(Days::new(365)),
                    to: Some(m.date),
                    kind: Some(m.kind.clone()),
                    ..Default::default()
                },
            ),
        };
        kinds.push(match kind {
            0..=6 => "word",
            7 | 8 => "two words",
            9 => "quoted words",
            10..=13 => "quoted fragment",
            14 => "unquoted fragment",
            15 => "quoted 2 chars",
            16 => "quoted 1 char",
            17 => "word + speaker",
            _ => "word + dates/kind",
        });
        queries.push(q);
    }
    let mut times = Vec::with_capacity(queries.len());
    let mut hits_total = 0usize;
    let mut examples = Vec::new();
    let mut first_query_ms = 0.0;
    let mut phrase_times = Vec::new();
    let mut estimate_errors: Vec<f64> = Vec::new();
    let mut estimate_top_changed = 0usize;
    for (k, (q, f)) in queries.iter().enumerate() {
        let t = Instant::now();
        let (r, estimated) = match opts.estimate_over {
            Some(cap) => index.search_estimating(q, f, 10, cap)?,
            None => (index.search(q, f, 10)?, false),
        };
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        if estimated {
            let exact = index.search(q, f, 10)?;
            estimate_errors
                .push((r.total as f64 - exact.total as f64).abs() / exact.total.max(1) as f64);
            let keys = |r: &super::SearchResult| -> Vec<u64> {
                r.hits
                    .iter()
                    .map(|h| super::turn_key(h.turn.meeting_id, h.turn.seq))
                    .collect()
            };
            if keys(&r) != keys(&exact) {
                estimate_top_changed += 1;
            }
        }
        if k == 0 {
            first_query_ms = ms;
        }
        times.push(ms);
        if q.contains('"') {
            phrase_times.push(ms);
        }
        hits_total += r.total;
        if k < 20 {
            let mut label = q.clone();
            if let Some(s) = &f.speaker {
                label.push_str(&format!(" --speaker {s}"));
            }
            if f.from.is_some() {
                label.push_str(" --from/--to/--kind");
            }
            examples.push((label, r.total));
        }
    }
    let mut by_time: Vec<(String, f64)> = queries
        .iter()
        .zip(&times)
        .map(|((q, _), ms)| (q.clone(), *ms))
        .collect();
    by_time.sort_by(|a, b| b.1.total_cmp(&a.1));
    let slowest: Vec<(String, f64)> = by_time.into_iter().take(10).collect();
    estimate_errors.sort_by(|a, b| a.total_cmp(b));
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    phrase_times.sort_by(|a, b| a.total_cmp(b));
    let pct_of = |v: &[f64], p: f64| {
        let i = ((v.len() as f64 - 1.0) * p).round() as usize;
        v.get(i).copied().unwrap_or(0.0)
    };
    let pct = |p: f64| pct_of(&sorted, p);
    let mut kind_names: Vec<&str> = kinds.clone();
    kind_names.sort_unstable();
    kind_names.dedup();
    let kinds = kind_names
        .into_iter()
        .map(|k| {
            let mut v: Vec<f64> = kinds
                .iter()
                .zip(&times)
                .filter(|(q, _)| **q == k)
                .map(|(_, t)| *t)
                .collect();
            v.sort_by(|a, b| a.total_cmp(b));
            let max = v.last().copied().unwrap_or(0.0);
            (
                k.to_string(),
                v.len(),
                pct_of(&v, 0.5),
                pct_of(&v, 0.95),
                max,
            )
        })
        .collect();
    Ok(BenchReport {
        turns: n,
        text_bytes: bytes,
        index_seconds,
        turns_per_second: n as f64 / index_seconds,
        index_cpu_seconds,
        megabytes_per_second: bytes as f64 / 1e6 / index_seconds,
        index_bytes,
        segments,
        queries: queries.len(),
        first_query_ms,
        p50_ms: pct(0.50),
        p95_ms: pct(0.95),
        p99_ms: pct(0.99),
        max_ms: sorted.last().copied().unwrap_or(0.0),
        phrase_queries: phrase_times.len(),
        phrase_p95_ms: pct_of(&phrase_times, 0.95),
        slowest,
        kinds,
        mean_hits: hits_total as f64 / queries.len().max(1) as f64,
        analyzers,
        examples,
        estimated_queries: estimate_errors.len(),
        estimate_error_median: pct_of(&estimate_errors, 0.5),
        estimate_error_max: estimate_errors.last().copied().unwrap_or(0.0),
        estimate_top_changed,
    })
    .inspect(|_| tracing::info!("base: {} meetings, {base_turns} turns", base.len()))
}

/// A random piece of `len` characters of one line of `text`, starting anywhere (mostly inside
/// words), as a user would copy it; at least two thirds of it must be searchable characters
/// (rules like ──── are not text). `None` when no line gives one.
pub fn fragment(rng: &mut Rng, text: &str, len: usize) -> Option<String> {
    let lines: Vec<Vec<char>> = text
        .lines()
        .map(|l| l.trim().chars().collect::<Vec<char>>())
        .filter(|l| l.len() >= len)
        .collect();
    if lines.is_empty() {
        return None;
    }
    for _ in 0..20 {
        let line = &lines[rng.below(lines.len())];
        let start = rng.below(line.len() - len + 1);
        let piece: String = line[start..start + len].iter().collect();
        if super::japanese::normalize(&piece).chars().count() * 3 >= len * 2 {
            return Some(piece);
        }
    }
    None
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// User + system CPU seconds of this process (all threads), from /proc on Linux.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    // /proc reports clock ticks of USER_HZ, which Linux fixes at 100 for user space.
    Some((utime + stime) / 100.0)
}
