//! Simulated meetings for measuring diarization: real single-speaker speech laid on a
//! timeline with controlled pauses, overlaps, interjections, level differences, room-like
//! reverberation and a noise floor, so the reference RTTM is known exactly. Everything comes
//! from one seed (ChaCha8, whose stream is fixed across versions), so anyone holding the same
//! source clips gets the same files. Speakers are split into dev and held-out halves by
//! identity before any meeting is built: a held-out voice is never heard in dev.

use anyhow::{bail, Context};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SR: usize = 16_000;
/// Longest piece of one speaker's speech used as one utterance (seconds).
const MAX_UNIT: f64 = 8.0;
/// Shortest single-speaker stretch cut from a multi-speaker clip (seconds).
const MIN_STRETCH: f64 = 1.0;

/// A piece of one speaker's speech: its audio and where in it that speaker talks.
#[derive(Debug, Clone)]
pub struct Unit {
    pub samples: Vec<f32>,
    /// Speech intervals in seconds from the unit's start.
    pub speech: Vec<(f64, f64)>,
}

/// Everything one source speaker said, and where it came from.
#[derive(Debug, Clone)]
pub struct SourceSpeaker {
    pub id: String,
    /// `en`, `ja` or `meeting` (cut from a multi-speaker clip): the split alternates within
    /// each group so both halves get every kind of voice.
    pub group: String,
    pub units: Vec<Unit>,
}

impl SourceSpeaker {
    pub fn seconds(&self) -> f64 {
        self.units
            .iter()
            .map(|u| u.samples.len() as f64)
            .sum::<f64>()
            / SR as f64
    }
}

/// Knobs of the generator (defaults are what `gijiroku eval simulate` writes).
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub seed: u64,
    /// Meetings per half.
    pub meetings: usize,
    pub min_seconds: f64,
    pub max_seconds: f64,
    pub min_speakers: usize,
    pub max_speakers: usize,
    /// Chance that the next utterance starts before the previous one ends.
    pub overlap_prob: f64,
    /// Chance of a short interjection by a third voice inside an utterance.
    pub interject_prob: f64,
    /// Per-speaker level spread (dB below the loudest).
    pub level_spread_db: f64,
    /// Long meeting built from the dev meetings: at least this many seconds.
    pub long_seconds: f64,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            seed: 16,
            meetings: 24,
            min_seconds: 40.0,
            max_seconds: 90.0,
            min_speakers: 2,
            max_speakers: 6,
            // AMI-like: the 9 real clips have 12 s of overlap in 259 s, issue 16's 70 s in 300 s.
            overlap_prob: 0.4,
            interject_prob: 0.3,
            level_spread_db: 10.0,
            long_seconds: 1500.0,
        }
    }
}

/// One rendered meeting.
pub struct Meeting {
    pub name: String,
    pub samples: Vec<f32>,
    /// (speaker, start, end) in seconds.
    pub turns: Vec<(String, f64, f64)>,
    pub rt60: f64,
    pub speakers: Vec<String>,
}

impl Meeting {
    pub fn rttm(&self) -> String {
        let mut s = String::new();
        for (sp, a, b) in &self.turns {
            s.push_str(&format!(
                "SPEAKER {} 1 {a:.3} {:.3} <NA> <NA> {sp} <NA> <NA>\n",
                self.name,
                b - a
            ));
        }
        s
    }

    /// Seconds where two or more reference speakers talk at once.
    pub fn overlap_seconds(&self) -> f64 {
        let mut ev: Vec<(f64, i32)> = Vec::new();
        for (_, a, b) in &self.turns {
            ev.push((*a, 1));
            ev.push((*b, -1));
        }
        ev.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        let (mut n, mut last, mut tot) = (0, 0.0, 0.0);
        for (t, d) in ev {
            if n >= 2 {
                tot += t - last;
            }
            n += d;
            last = t;
        }
        tot
    }
}

/// Speech intervals of a clean single-speaker clip from its 10 ms frame energy: frames within
/// 30 dB of the clip's loud frames (95th percentile, floor −60 dBFS), pauses under 0.3 s
/// bridged, blips under 0.1 s dropped. An energy gate is enough on clean read speech and,
/// unlike the VAD, is not part of the system being measured.
pub fn energy_speech(samples: &[f32]) -> Vec<(f64, f64)> {
    const F: usize = 160;
    let db: Vec<f32> = samples
        .chunks(F)
        .map(|c| {
            let e = c.iter().map(|x| x * x).sum::<f32>() / c.len() as f32;
            10.0 * (e + 1e-12).log10()
        })
        .collect();
    if db.is_empty() {
        return Vec::new();
    }
    let mut sorted = db.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let loud = sorted[(sorted.len() as f32 * 0.95) as usize % sorted.len()];
    let thr = (loud - 30.0).max(-60.0);
    let mut out: Vec<(f64, f64)> = Vec::new();
    let mut start: Option<usize> = None;
    for (i, &d) in db.iter().chain(std::iter::once(&f32::MIN)).enumerate() {
        match (d > thr, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                let (a, b) = (s as f64 * 0.01, i as f64 * 0.01);
                match out.last_mut() {
                    Some(l) if a - l.1 < 0.3 => l.1 = b,
                    _ => out.push((a, b)),
                }
                start = None;
            }
            _ => {}
        }
    }
    let dur = samples.len() as f64 / SR as f64;
    out.into_iter()
        .map(|(a, b)| (a, b.min(dur)))
        .filter(|(a, b)| b - a >= 0.1)
        .collect()
}

/// Cuts a clean clip into utterances of at most `MAX_UNIT` seconds at its pauses.
fn units_of_clip(samples: &[f32]) -> Vec<Unit> {
    let speech = energy_speech(samples);
    let dur = samples.len() as f64 / SR as f64;
    // Speech longer than an utterance without a pause (a 27 s read passage) is cut into
    // equal pieces, so one voice does not hold the floor for the whole clip.
    let speech = speech.into_iter().flat_map(|(a, b)| {
        let n = ((b - a) / MAX_UNIT).ceil().max(1.0);
        let w = (b - a) / n;
        (0..n as usize).map(move |i| (a + i as f64 * w, a + (i + 1) as f64 * w))
    });
    let mut groups: Vec<Vec<(f64, f64)>> = Vec::new();
    for iv in speech {
        match groups.last_mut() {
            Some(g) if iv.1 - g[0].0 <= MAX_UNIT => g.push(iv),
            _ => groups.push(vec![iv]),
        }
    }
    groups
        .into_iter()
        .filter_map(|g| {
            let a = (g[0].0 - 0.05).max(0.0);
            let b = (g[g.len() - 1].1 + 0.05).min(dur);
            let (sa, sb) = ((a * SR as f64) as usize, (b * SR as f64) as usize);
            (sb > sa + SR / 4).then(|| Unit {
                samples: samples[sa..sb].to_vec(),
                speech: g.iter().map(|(x, y)| (x - a, y - a)).collect(),
            })
        })
        .collect()
}

/// Stretches where only `who` talks in a multi-speaker reference, cut to ≤ `MAX_UNIT` s.
fn solo_stretches(turns: &[(String, f64, f64)], who: &str) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for (_, a, b) in turns.iter().filter(|t| t.0 == who) {
        let mut pieces = vec![(*a, *b)];
        for (_, oa, ob) in turns.iter().filter(|t| t.0 != who) {
            pieces = pieces
                .into_iter()
                .flat_map(|(x, y)| {
                    let mut v = Vec::new();
                    if *oa > x {
                        v.push((x, y.min(*oa)));
                    }
                    if *ob < y {
                        v.push((x.max(*ob), y));
                    }
                    v.into_iter().filter(|(p, q)| q > p)
                })
                .collect();
        }
        for (x, y) in pieces {
            let mut t = x;
            while y - t >= MIN_STRETCH {
                let e = (t + MAX_UNIT).min(y);
                out.push((t, e));
                t = e;
            }
        }
    }
    out
}

/// Reads the source speakers from a folder laid out as ../shared/eval: `asr_en/*.wav`,
/// `asr_ja/*.wav` (one speaker per clip unless the README says the clips share a reader) and
/// `diarization/*.wav` with `.rttm` (single-speaker stretches; RTTM labels are people, so
/// AMI participants heard in several clips are one speaker). The Picovoice clip is left out:
/// its segments are hand-set and loose, so its "solo" stretches are not.
pub fn load_sources(eval_dir: &Path) -> anyhow::Result<Vec<SourceSpeaker>> {
    let mut by_id: BTreeMap<String, SourceSpeaker> = BTreeMap::new();
    for group in ["asr_en", "asr_ja"] {
        let dir = eval_dir.join(group);
        for f in wavs_in(&dir)? {
            let stem = f
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            // Clips the README states share one reader (LibriVox's Sense and Sensibility) or
            // that come from one small test set whose voice is not stated (CMU cards) are one
            // speaker, so the split cannot put one voice in both halves.
            let id = if stem.starts_with("pocketsphinx__ss01") {
                "librivox_ss01".to_string()
            } else if stem.starts_with("pocketsphinx__cards") {
                "cmu_cards".to_string()
            } else {
                stem.clone()
            };
            let (samples, _) = crate::audio::load_16k(&f)?;
            let units = units_of_clip(&samples);
            let e = by_id.entry(id.clone()).or_insert_with(|| SourceSpeaker {
                id,
                group: group.trim_start_matches("asr_").to_string(),
                units: Vec::new(),
            });
            e.units.extend(units);
        }
    }
    let dir = eval_dir.join("diarization");
    for f in wavs_in(&dir)? {
        let stem = f
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let rttm = f.with_extension("rttm");
        if stem.starts_with("picovoice") || !rttm.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&rttm)
            .with_context(|| format!("cannot read {}", rttm.display()))?;
        let turns: Vec<(String, f64, f64)> = super::der::parse_rttm(&text)?
            .into_iter()
            .map(|t| (t.speaker, t.start, t.end))
            .collect();
        let (samples, _) = crate::audio::load_16k(&f)?;
        let mut who: Vec<&String> = turns.iter().map(|t| &t.0).collect();
        who.sort();
        who.dedup();
        for w in who {
            // The telephone sample's labels are per file; AMI's are participant ids.
            let id = if stem.starts_with("pyannote__sample") {
                format!("tel_{w}")
            } else {
                format!("ami_{w}")
            };
            let units: Vec<Unit> = solo_stretches(&turns, w)
                .into_iter()
                .filter_map(|(a, b)| {
                    let (sa, sb) = ((a * SR as f64) as usize, (b * SR as f64) as usize);
                    let sb = sb.min(samples.len());
                    (sb > sa + SR / 2).then(|| Unit {
                        samples: samples[sa..sb].to_vec(),
                        speech: vec![(0.0, (sb - sa) as f64 / SR as f64)],
                    })
                })
                .collect();
            if units.is_empty() {
                continue;
            }
            let e = by_id.entry(id.clone()).or_insert_with(|| SourceSpeaker {
                id,
                group: "meeting".into(),
                units: Vec::new(),
            });
            e.units.extend(units);
        }
    }
    let out: Vec<SourceSpeaker> = by_id
        .into_values()
        .filter(|s| !s.units.is_empty())
        .collect();
    if out.len() < 8 {
        bail!(
            "only {} source speakers under {} (expected asr_en, asr_ja and diarization as in ../shared/eval)",
            out.len(),
            eval_dir.display()
        );
    }
    Ok(out)
}

fn wavs_in(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("wav")))
        .collect();
    v.sort();
    Ok(v)
}

/// Splits speakers into (dev, held-out) by identity: shuffled with the seed within each group,
/// then dealt alternately, so each half has about half of every kind of voice.
pub fn split_speakers(
    speakers: Vec<SourceSpeaker>,
    seed: u64,
) -> (Vec<SourceSpeaker>, Vec<SourceSpeaker>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5117);
    let mut groups: BTreeMap<String, Vec<SourceSpeaker>> = BTreeMap::new();
    for s in speakers {
        groups.entry(s.group.clone()).or_default().push(s);
    }
    let (mut dev, mut held) = (Vec::new(), Vec::new());
    let mut turn = 0usize;
    for (_, mut g) in groups {
        g.shuffle(&mut rng);
        for s in g {
            if turn.is_multiple_of(2) {
                dev.push(s);
            } else {
                held.push(s);
            }
            turn += 1;
        }
    }
    (dev, held)
}

/// RMS of a unit over its speech, for levelling units of different recordings.
fn speech_rms(u: &Unit) -> f32 {
    let (mut e, mut n) = (0.0f64, 0usize);
    for (a, b) in &u.speech {
        let (sa, sb) = (
            (a * SR as f64) as usize,
            ((b * SR as f64) as usize).min(u.samples.len()),
        );
        for x in &u.samples[sa.min(sb)..sb] {
            e += (*x as f64) * (*x as f64);
            n += 1;
        }
    }
    ((e / n.max(1) as f64).sqrt() as f32).max(1e-5)
}

/// A room impulse response: the direct sound, then (after a short pre-delay) Gaussian noise
/// under an exponential decay reaching −60 dB at `rt60`, scaled to a direct-to-reverberant
/// ratio. This is the statistical late-reverberation model (Polack); hand-written because no
/// maintained Rust crate simulates rooms, and a diarizer needs the smearing, not the geometry.
fn impulse_response(rng: &mut ChaCha8Rng, rt60: f64, drr_db: f64) -> Vec<f32> {
    let len = ((rt60 * 1.2).min(0.8) * SR as f64) as usize;
    let pre = rng.random_range(0.002..0.010);
    let pre = (pre * SR as f64) as usize;
    let normal = Normal::new(0.0f32, 1.0).expect("unit normal");
    let mut h = vec![0.0f32; len.max(pre + 2)];
    h[0] = 1.0;
    let decay = 3.0 * std::f64::consts::LN_10 / (rt60 * SR as f64);
    let mut tail_e = 0.0f64;
    for (i, v) in h.iter_mut().enumerate().skip(pre) {
        let g = (-(decay * i as f64)).exp() as f32;
        *v = normal.sample(rng) * g;
        tail_e += (*v as f64).powi(2);
    }
    let want = 10f64.powf(-drr_db / 10.0);
    let k = (want / tail_e.max(1e-12)).sqrt() as f32;
    for v in h.iter_mut().skip(pre) {
        *v *= k;
    }
    h
}

/// Linear convolution by FFT (realfft): a 90 s track with a 0.7 s response is 1.6 G
/// multiply-adds directly, a few tens of ms this way.
fn convolve(x: &[f32], h: &[f32]) -> Vec<f32> {
    let n = (x.len() + h.len() - 1).next_power_of_two();
    let mut planner = realfft::RealFftPlanner::<f32>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);
    let spec = |v: &[f32]| {
        let mut buf = vec![0.0f32; n];
        buf[..v.len()].copy_from_slice(v);
        let mut out = fwd.make_output_vec();
        fwd.process(&mut buf, &mut out).expect("fft sizes match");
        out
    };
    let (a, b) = (spec(x), spec(h));
    let mut prod: Vec<_> = a.iter().zip(&b).map(|(p, q)| p * q).collect();
    let mut out = inv.make_output_vec();
    inv.process(&mut prod, &mut out).expect("fft sizes match");
    let scale = 1.0 / n as f32;
    out.truncate(x.len());
    out.iter_mut().for_each(|v| *v *= scale);
    out
}

/// Where one utterance goes: speaker (index into the meeting's speakers), unit, start sample,
/// and the part of the unit used (samples).
struct Placed {
    spk: usize,
    unit: usize,
    at: usize,
    from: usize,
    to: usize,
}

/// Builds one meeting of `pool`'s speakers.
pub fn render_meeting(
    name: &str,
    pool: &[SourceSpeaker],
    opts: &SimOptions,
    rng: &mut ChaCha8Rng,
) -> Meeting {
    let k = rng
        .random_range(opts.min_speakers..=opts.max_speakers)
        .min(pool.len());
    let mut idx: Vec<usize> = (0..pool.len()).collect();
    idx.shuffle(rng);
    let who: Vec<&SourceSpeaker> = idx[..k].iter().map(|&i| &pool[i]).collect();
    let target = rng.random_range(opts.min_seconds..opts.max_seconds);
    // Each voice gets a level (dB below the loudest) and some voices talk more than others.
    let gain_db: Vec<f64> = (0..k)
        .map(|_| -rng.random_range(0.0..opts.level_spread_db))
        .collect();
    let weight: Vec<f64> = (0..k).map(|_| rng.random_range(0.3..1.0)).collect();
    let pick_other = |rng: &mut ChaCha8Rng, not: &[usize]| -> usize {
        let tot: f64 = (0..k).filter(|i| !not.contains(i)).map(|i| weight[i]).sum();
        let mut r = rng.random_range(0.0..tot.max(1e-9));
        for i in (0..k).filter(|i| !not.contains(i)) {
            r -= weight[i];
            if r <= 0.0 {
                return i;
            }
        }
        (0..k).find(|i| !not.contains(i)).unwrap_or(0)
    };
    let mut placed: Vec<Placed> = Vec::new();
    let mut cursor = (rng.random_range(0.3..1.5) * SR as f64) as usize;
    let mut prev: Option<(usize, usize, usize)> = None; // speaker, start, end
    while (cursor as f64) < target * SR as f64 {
        let spk = match prev {
            Some((p, _, _)) if k > 1 => pick_other(rng, &[p]),
            _ => pick_other(rng, &[]),
        };
        let ui = rng.random_range(0..who[spk].units.len());
        let len = who[spk].units[ui].samples.len();
        let at = match prev {
            Some((_, ps, pe)) if rng.random_bool(opts.overlap_prob) => {
                // Talk over the end of the previous utterance, never from before its start.
                let most = ((pe - ps) / 2).min(len * 4 / 5).min(2 * SR);
                let ov = rng.random_range(SR * 3 / 10..(SR * 3 / 10 + 1).max(most));
                pe.saturating_sub(ov).max(ps)
            }
            _ => {
                let gap = if rng.random_bool(0.1) {
                    rng.random_range(1.5..4.0)
                } else {
                    rng.random_range(0.1..1.2)
                };
                cursor + (gap * SR as f64) as usize
            }
        };
        placed.push(Placed {
            spk,
            unit: ui,
            at,
            from: 0,
            to: len,
        });
        // A short interjection ("yes", "right") by another voice inside this utterance.
        if k > 2 && len > 2 * SR && rng.random_bool(opts.interject_prob) {
            let exclude: Vec<usize> = match prev {
                Some((p, _, _)) => vec![spk, p],
                None => vec![spk],
            };
            let o = pick_other(rng, &exclude);
            let oi = rng.random_range(0..who[o].units.len());
            let ol = who[o].units[oi].samples.len();
            let cut = ol.min((rng.random_range(0.5..1.5) * SR as f64) as usize);
            let pos = at + rng.random_range(SR / 2..len - SR);
            placed.push(Placed {
                spk: o,
                unit: oi,
                at: pos,
                from: 0,
                to: cut,
            });
        }
        cursor = cursor.max(at + len);
        prev = Some((spk, at, at + len));
    }
    let rt60 = rng.random_range(0.15..0.6);
    let total = cursor + SR / 2;
    let mut mix = vec![0.0f32; total];
    let mut turns = Vec::new();
    for s in 0..k {
        let mut dry = vec![0.0f32; total];
        let g = 10f64.powf(gain_db[s] / 20.0) as f32;
        for p in placed.iter().filter(|p| p.spk == s) {
            let u = &who[s].units[p.unit];
            let level = 0.05 / speech_rms(u) * g;
            for (i, x) in u.samples[p.from..p.to].iter().enumerate() {
                if let Some(d) = dry.get_mut(p.at + i) {
                    *d += x * level;
                }
            }
            let (ua, ub) = (p.from as f64 / SR as f64, p.to as f64 / SR as f64);
            let off = p.at as f64 / SR as f64 - ua;
            for (a, b) in &u.speech {
                let (a, b) = (a.max(ua), b.min(ub));
                if b - a >= 0.05 {
                    turns.push((who[s].id.clone(), a + off, b + off));
                }
            }
        }
        let drr = rng.random_range(2.0..10.0);
        let h = impulse_response(rng, rt60, drr);
        for (m, w) in mix.iter_mut().zip(convolve(&dry, &h)) {
            *m += w;
        }
    }
    // A noise floor 35–50 dB under the speech level.
    let noise = Normal::new(
        0.0f32,
        0.05 * 10f32.powf(-rng.random_range(35.0..50.0) / 20.0),
    )
    .expect("positive deviation");
    for m in mix.iter_mut() {
        *m += noise.sample(rng);
    }
    let peak = mix.iter().fold(0.0f32, |a, x| a.max(x.abs()));
    if peak > 0.9 {
        mix.iter_mut().for_each(|x| *x *= 0.9 / peak);
    }
    turns.sort_by(|a, b| a.1.total_cmp(&b.1));
    let turns = merge_touching(turns);
    Meeting {
        name: name.to_string(),
        samples: mix,
        turns,
        rt60,
        speakers: who.iter().map(|s| s.id.clone()).collect(),
    }
}

/// One speaker's overlapping or touching intervals joined (a voice repeated over itself by an
/// interjection of its own is still one turn).
fn merge_touching(mut turns: Vec<(String, f64, f64)>) -> Vec<(String, f64, f64)> {
    turns.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut out: Vec<(String, f64, f64)> = Vec::new();
    for t in turns {
        match out.last_mut() {
            Some(l) if l.0 == t.0 && t.1 <= l.2 => l.2 = l.2.max(t.2),
            _ => out.push(t),
        }
    }
    out.sort_by(|a, b| a.1.total_cmp(&b.1));
    out
}

/// The dev and held-out meetings (in that order), from one seed.
pub fn simulate(
    dev: &[SourceSpeaker],
    held: &[SourceSpeaker],
    opts: &SimOptions,
) -> (Vec<Meeting>, Vec<Meeting>) {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let d = (0..opts.meetings)
        .map(|i| render_meeting(&format!("sim_dev_{i:03}"), dev, opts, &mut rng))
        .collect();
    let h = (0..opts.meetings)
        .map(|i| render_meeting(&format!("sim_held_{i:03}"), held, opts, &mut rng))
        .collect();
    (d, h)
}

/// A long meeting: the given meetings shuffled and joined with 1–4 s gaps, then shuffled
/// again and repeated until at least `opts.long_seconds` (the same voices come back, as in a
/// council session).
pub fn long_meeting(parts: &[Meeting], opts: &SimOptions) -> Meeting {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed ^ 0x0109);
    let mut samples: Vec<f32> = Vec::new();
    let mut turns = Vec::new();
    let mut speakers: Vec<String> = Vec::new();
    while (samples.len() as f64) < opts.long_seconds * SR as f64 && !parts.is_empty() {
        let mut order: Vec<usize> = (0..parts.len()).collect();
        order.shuffle(&mut rng);
        for i in order {
            if samples.len() as f64 >= opts.long_seconds * SR as f64 {
                break;
            }
            let gap = (rng.random_range(1.0..4.0) * SR as f64) as usize;
            samples.extend(std::iter::repeat_n(0.0f32, gap));
            let off = samples.len() as f64 / SR as f64;
            samples.extend_from_slice(&parts[i].samples);
            turns.extend(
                parts[i]
                    .turns
                    .iter()
                    .map(|(s, a, b)| (s.clone(), a + off, b + off)),
            );
            speakers.extend(parts[i].speakers.iter().cloned());
        }
    }
    speakers.sort();
    speakers.dedup();
    Meeting {
        name: "sim_long".into(),
        samples,
        turns,
        rt60: f64::NAN,
        speakers,
    }
}

/// Writes a meeting as 16-bit WAV + RTTM into `dir`.
pub fn write_meeting(dir: &Path, m: &Meeting) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let wav = dir.join(format!("{}.wav", m.name));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SR as u32,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&wav, spec)
        .with_context(|| format!("cannot write {}", wav.display()))?;
    for x in &m.samples {
        w.write_sample((x.clamp(-1.0, 1.0) * 32767.0).round() as i16)?;
    }
    w.finalize()?;
    crate::util::write_atomic(&dir.join(format!("{}.rttm", m.name)), m.rttm().as_bytes())?;
    Ok(())
}
