//! `gijiroku eval der <dir>`: diarizes every WAV with an `.rttm` beside it and prints DER.

use super::Globals;
use anyhow::{bail, Context};
use gijiroku::diarize::{self, DiarizeOptions, SpeakerEncoder};
use gijiroku::eval::der::{self, DerBreakdown};
use gijiroku::transcript::Span;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq)]
pub enum SpeechSource {
    /// Silero VAD with the diarization rules, as `transcribe --diarize` uses it (the whole
    /// system is measured).
    Vad,
    /// pyannote's segmentation-3.0 model (speech, split where its local speaker changes): the
    /// alternative measured against Silero (`--vad-threshold` sets its speech threshold).
    Segmentation,
    /// A simple energy gate (no model).
    Energy,
    /// The reference RTTM's speech regions (oracle: measures clustering alone).
    Oracle,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq)]
pub enum DiarizerChoice {
    /// CAM++ windows clustered, then resegmented by the segmentation model.
    Classic,
    /// pyannote 3.1 style: the segmentation model's local speakers embedded, clustered with
    /// cannot-link and aggregated into overlapping turns.
    Overlap,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Folder of WAV files, each with a reference `.rttm` of the same name.
    dir: PathBuf,
    /// Where speech regions come from.
    #[arg(long, value_enum, default_value = "vad")]
    speech: SpeechSource,
    /// Which diarization (default: as transcription).
    #[arg(long, value_enum)]
    diarizer: Option<DiarizerChoice>,
    /// Overlap-aware path: seconds between chunks, least solo speech (s) for a local
    /// speaker's embedding, most solo speech embedded (s), chunks that must hear m voices at
    /// once for at least m speakers, and whether the VAD's speech has at least one speaker.
    #[arg(long)]
    ov_step: Option<f64>,
    #[arg(long)]
    ov_min_solo: Option<f64>,
    #[arg(long)]
    ov_max_embed: Option<f64>,
    #[arg(long)]
    ov_robust: Option<usize>,
    #[arg(long)]
    ov_vad_floor: Option<bool>,
    /// VAD speech threshold, padding and shortest pause (default: as `transcribe --diarize`
    /// gives the diarizer, `VadOptions::for_diarization`).
    #[arg(long)]
    vad_threshold: Option<f32>,
    #[arg(long)]
    vad_pad_ms: Option<u32>,
    #[arg(long)]
    vad_min_silence_ms: Option<u32>,
    /// Exact number of speakers (default: estimated).
    #[arg(long)]
    speakers: Option<usize>,
    /// Bounds on the estimated number of speakers.
    #[arg(long)]
    min_speakers: Option<usize>,
    #[arg(long)]
    max_speakers: Option<usize>,
    /// Clustering threshold (cosine distance): the cut when the eigengap is off, else the
    /// cut whenever more voices are still apart at it than the eigengap counts.
    #[arg(long)]
    threshold: Option<f32>,
    /// Fraction of affinities kept for the eigengap speaker count (negative: off, cut the
    /// dendrogram at --threshold instead); default as in transcription (classic: 0.5,
    /// overlap: off).
    #[arg(long, allow_hyphen_values = true)]
    eigengap: Option<f32>,
    /// Embedding window and hop, seconds.
    #[arg(long)]
    window: Option<f64>,
    #[arg(long)]
    hop: Option<f64>,
    /// Shortest turn kept (s) and longest pause inside a turn (s) of the clustering's turns;
    /// the pause is bridged only with --no-resegment (the resegmentation bridges its own
    /// turns' pauses under 0.25 s).
    #[arg(long)]
    min_turn: Option<f64>,
    #[arg(long)]
    merge_gap: Option<f64>,
    /// Cosine margin for splitting a window at its middle (negative: never split).
    #[arg(long, allow_hyphen_values = true)]
    split_margin: Option<f32>,
    /// Leave out the resegmentation by the segmentation model (turns from the clustering
    /// alone, one speaker at a time).
    #[arg(long)]
    no_resegment: bool,
    /// Resegmentation: seconds between segmentation chunks, margin around speaker changes
    /// (s) and the share a cluster needs to take a local speaker whole.
    #[arg(long)]
    reseg_step: Option<f64>,
    #[arg(long)]
    reseg_margin: Option<f64>,
    #[arg(long)]
    reseg_share: Option<f32>,
    /// Join all files into one recording (one after the other; equal RTTM labels are the
    /// same person) and score that: many speakers, each with little speech.
    #[arg(long)]
    join: bool,
    /// Write each hypothesis as `<name>.rttm` into this folder (e.g. to score it elsewhere).
    #[arg(long)]
    write_rttm: Option<PathBuf>,
    /// Write each file's window embeddings as `<name>.windows.json` into this folder (for
    /// studying clustering offline).
    #[arg(long, hide = true)]
    dump_windows: Option<PathBuf>,
    /// Take speech regions from `<name>.rttm` in this folder instead (union of its turns;
    /// for trying speech detectors offline).
    #[arg(long, hide = true)]
    speech_rttm: Option<PathBuf>,
    /// Write each file's speech regions, clustered turns (before resegmentation) and the
    /// segmentation model's powerset probabilities on 10 s chunks every 1 s as
    /// `<name>.seg.json` into this folder (for studying resegmentation offline).
    #[arg(long, hide = true)]
    dump_segmentation: Option<PathBuf>,
    /// Also count each file's speakers by the eigengap with the dense eigensolver and with
    /// Lanczos on the same windows, and print both counts and times (the check that the
    /// partial solver gives the counts the dense one does; with --join, also the time of the
    /// whole clustering).
    #[arg(long, hide = true)]
    eigengap_check: bool,
}

#[derive(Serialize)]
struct FileScore {
    file: String,
    seconds: f64,
    ref_speakers: usize,
    hyp_speakers: usize,
    collar_025: DerBreakdown,
    der_collar_025: f64,
    collar_0: DerBreakdown,
    der_collar_0: f64,
    /// Overlapped speech: hypothesis seconds, of which in reference overlap, reference seconds.
    overlap_hyp: f64,
    overlap_correct: f64,
    overlap_ref: f64,
    diarize_seconds: f64,
}

pub fn run(a: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(&a.dir)
        .with_context(|| format!("cannot list {}", a.dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("wav")))
        .filter(|p| p.with_extension("rttm").is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no WAV file with an .rttm beside it in {}", a.dir.display());
    }
    let encoder = SpeakerEncoder::from_models_dir(&g.models_dir)?;
    let mut opts = DiarizeOptions::default();
    opts.cluster.num_speakers = a.speakers;
    opts.cluster.min_speakers = a.min_speakers;
    opts.cluster.max_speakers = a.max_speakers;
    if let Some(t) = a.threshold {
        opts.cluster.threshold = t;
    }
    if let Some(p) = a.eigengap {
        opts.cluster.eigengap = (p > 0.0).then_some(p);
        opts.overlap.eigengap = (p > 0.0).then_some(p);
    }
    if let Some(w) = a.window {
        opts.windows.window = w;
    }
    if let Some(h) = a.hop {
        opts.windows.hop = h;
    }
    if let Some(m) = a.min_turn {
        opts.min_turn = m;
    }
    if let Some(m) = a.merge_gap {
        opts.merge_gap = m;
    }
    if let Some(m) = a.split_margin {
        opts.split_margin = (m >= 0.0).then_some(m);
    }
    if let Some(x) = a.reseg_step {
        opts.resegment.step = x;
    }
    if let Some(x) = a.reseg_margin {
        opts.resegment.core_margin = x;
    }
    if let Some(x) = a.reseg_share {
        opts.resegment.min_share = x;
    }
    match a.diarizer {
        Some(DiarizerChoice::Classic) => opts.diarizer = diarize::DiarizerKind::Classic,
        Some(DiarizerChoice::Overlap) => opts.diarizer = diarize::DiarizerKind::Overlap,
        None => {}
    }
    if let Some(x) = a.ov_step {
        opts.overlap.step = x;
    }
    if let Some(x) = a.ov_min_solo {
        opts.overlap.min_solo = x;
    }
    if let Some(x) = a.ov_max_embed {
        opts.overlap.max_embed = x;
    }
    if let Some(x) = a.ov_robust {
        opts.overlap.robust_chunks = x;
    }
    if let Some(x) = a.ov_vad_floor {
        opts.overlap.vad_floor = x;
    }
    opts.validate()?;
    if let Some(d) = &a.write_rttm {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let mut vad = match a.speech {
        SpeechSource::Vad => {
            let model = gijiroku::models::vad_model(&g.models_dir).with_context(|| {
                format!(
                    "no VAD model in {} (run scripts/setup.sh, or use --speech energy)",
                    g.models_dir.display()
                )
            })?;
            let mut o = gijiroku::vad::VadOptions::for_diarization();
            if let Some(t) = a.vad_threshold {
                o.threshold = t;
            }
            if let Some(p) = a.vad_pad_ms {
                o.speech_pad_ms = p;
            }
            if let Some(m) = a.vad_min_silence_ms {
                o.min_silence_ms = m;
            }
            Some(gijiroku::vad::SpeechDetector::new(&model, o)?)
        }
        _ => None,
    };
    let seg = match (a.speech, a.no_resegment) {
        (SpeechSource::Segmentation, _) | (_, false) => Some(
            diarize::speech::load_segmentation(&g.models_dir)?.with_context(|| {
                format!(
                    "no segmentation model in {} (run scripts/setup.sh, or use --speech vad)",
                    g.models_dir.display()
                )
            })?,
        ),
        _ => None,
    };
    let mut rules = diarize::speech::SpeechRules::default();
    if let Some(t) = a.vad_threshold {
        rules.threshold = t;
    }
    let mut scores = Vec::new();
    let mut items = Vec::new();
    for f in &files {
        let name = f
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(f.with_extension("rttm"))
            .with_context(|| format!("cannot read {}", f.with_extension("rttm").display()))?;
        let reference: Vec<(String, f64, f64)> = der::parse_rttm(&text)
            .with_context(|| format!("{}", f.with_extension("rttm").display()))?
            .into_iter()
            .map(|t| (t.speaker, t.start, t.end))
            .collect();
        items.push((name, f.clone(), reference));
    }
    let joined = if a.join {
        let mut samples: Vec<f32> = Vec::new();
        let mut reference = Vec::new();
        for (_, f, r) in &items {
            let off = samples.len() as f64 / 16_000.0;
            reference.extend(r.iter().map(|(s, a, b)| (s.clone(), a + off, b + off)));
            samples.extend(gijiroku::audio::load_16k(f)?.0);
        }
        Some((samples, reference))
    } else {
        None
    };
    if let Some((_, r)) = &joined {
        items = vec![("joined".to_string(), PathBuf::new(), r.clone())];
    }
    let pb = gijiroku::progress::bar(items.len() as u64, "diarizing");
    let mut eig_equal = (0usize, 0usize);
    for (name, f, reference) in items {
        let samples = match &joined {
            Some((s, _)) => s.clone(),
            None => gijiroku::audio::load_16k(&f)?.0,
        };
        let seconds = samples.len() as f64 / 16_000.0;
        let t0 = Instant::now();
        let mut speech = Vec::new();
        let reseg = if a.no_resegment { None } else { seg.as_ref() };
        // The segmentation model runs beside the VAD and the embeddings (`diarize_clip`). In
        // `transcribe --diarize` the streaming Diarizer runs the same work inline between
        // Whisper's chunks, where it is ≈ 5 % of the job (30 s AMI sample: 5.3 s either way).
        let find_speech = || -> anyhow::Result<Vec<gijiroku::transcript::Span>> {
            let found = match (a.speech, vad.as_mut()) {
                (SpeechSource::Segmentation, _) => match &seg {
                    Some(m) => diarize::speech::speech_regions(m, &samples, rules)?,
                    None => Vec::new(),
                },
                (SpeechSource::Vad, Some(v)) => v.speech_regions(&samples)?,
                (SpeechSource::Vad, None) | (SpeechSource::Energy, _) => {
                    diarize::energy_speech(&samples)
                }
                (SpeechSource::Oracle, _) => oracle_speech(&reference),
            };
            let regions = match &a.speech_rttm {
                Some(dir) => {
                    let p = dir.join(format!("{name}.rttm"));
                    let t = std::fs::read_to_string(&p)
                        .with_context(|| format!("cannot read {}", p.display()))?;
                    let turns: Vec<(String, f64, f64)> = der::parse_rttm(&t)?
                        .into_iter()
                        .map(|t| (t.speaker, t.start, t.end))
                        .collect();
                    oracle_speech(&turns)
                }
                None => found,
            };
            speech = regions.clone();
            Ok(regions)
        };
        let d = diarize::diarize_clip(&encoder, reseg, &samples, find_speech, &opts)?;
        if let Some(dir) = &a.dump_windows {
            std::fs::create_dir_all(dir)?;
            let w = diarize::embed_regions(&encoder, &samples, 0.0, &speech, &opts.windows)?;
            let rows: Vec<_> = w
                .iter()
                .map(|w| serde_json::json!({"start": w.start, "end": w.end, "e": w.embedding}))
                .collect();
            let speech: Vec<_> = speech.iter().map(|s| [s.start, s.end]).collect();
            let j = serde_json::json!({"windows": rows, "speech": speech});
            std::fs::write(dir.join(format!("{name}.windows.json")), j.to_string())?;
        }
        if a.eigengap_check {
            eigengap_check(&encoder, &samples, &speech, &opts, &name, &mut eig_equal)?;
        }
        if let (Some(dir), Some(m)) = (&a.dump_segmentation, seg.as_ref()) {
            dump_segmentation(dir, &name, m, &encoder, &samples, &speech, &opts)?;
        }
        let took = t0.elapsed().as_secs_f64();
        let hyp: Vec<(String, f64, f64)> = d
            .turns
            .iter()
            .map(|t| (t.speaker.clone(), t.start, t.end))
            .collect();
        if let Some(dir) = &a.write_rttm {
            let mut s = String::new();
            for (sp, st, en) in &hyp {
                s.push_str(&format!(
                    "SPEAKER {name} 1 {st:.3} {:.3} <NA> <NA> {sp} <NA> <NA>\n",
                    en - st
                ));
            }
            gijiroku::util::write_atomic(&dir.join(format!("{name}.rttm")), s.as_bytes())?;
        }
        let c25 = der::der(&reference, &hyp, 0.25, seconds);
        let c0 = der::der(&reference, &hyp, 0.0, seconds);
        let (overlap_hyp, overlap_correct, overlap_ref) =
            der::overlap_detection(&reference, &hyp, seconds);
        scores.push(FileScore {
            overlap_hyp,
            overlap_correct,
            overlap_ref,
            file: name,
            seconds,
            ref_speakers: der::speaker_count(&reference),
            hyp_speakers: der::speaker_count(&hyp),
            der_collar_025: c25.der(),
            collar_025: c25,
            der_collar_0: c0.der(),
            collar_0: c0,
            diarize_seconds: took,
        });
        pb.inc(1);
    }
    pb.finish_and_clear();
    let mut t25 = DerBreakdown::default();
    let mut t0 = DerBreakdown::default();
    let (mut audio, mut took, mut count_err, mut exact) = (0.0, 0.0, 0usize, 0usize);
    let mut within1 = 0usize;
    let (mut ov_h, mut ov_c, mut ov_r) = (0.0, 0.0, 0.0);
    for s in &scores {
        ov_h += s.overlap_hyp;
        ov_c += s.overlap_correct;
        ov_r += s.overlap_ref;
        t25.add(&s.collar_025);
        t0.add(&s.collar_0);
        audio += s.seconds;
        took += s.diarize_seconds;
        count_err += s.ref_speakers.abs_diff(s.hyp_speakers);
        exact += usize::from(s.ref_speakers == s.hyp_speakers);
        within1 += usize::from(s.ref_speakers.abs_diff(s.hyp_speakers) <= 1);
    }
    if a.eigengap_check {
        println!(
            "eigengap check: Lanczos count equal to the dense one on {}/{} files",
            eig_equal.0, eig_equal.1
        );
    }
    let speech_note = match a.speech {
        SpeechSource::Segmentation => "pyannote segmentation-3.0",
        SpeechSource::Vad => "Silero VAD",
        SpeechSource::Energy => "energy gate",
        SpeechSource::Oracle => "reference RTTM (oracle)",
    };
    if g.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "speech_regions": speech_note,
                "files": scores,
                "total": {
                    "collar_025": t25, "der_collar_025": t25.der(),
                    "collar_0": t0, "der_collar_0": t0.der(),
                    "speaker_count_abs_error": count_err, "speaker_count_exact": exact,
                    "speaker_count_within_1": within1,
                    "overlap_hyp_seconds": ov_h, "overlap_correct_seconds": ov_c,
                    "overlap_ref_seconds": ov_r,
                    "audio_seconds": audio, "diarize_seconds": took,
                    "speed_x_realtime": audio / took.max(1e-9),
                }
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("speech regions: {speech_note}; collar ±0.25 s and 0 s, overlap scored");
    println!(
        "{:<28} {:>6} {:>4} {:>4} {:>7} {:>7} {:>6} {:>6} {:>6} {:>7}",
        "FILE", "SEC", "REF", "HYP", "DER.25", "DER0", "MISS0", "FA0", "CONF0", "×RT"
    );
    let pct = |x: f64, tot: f64| 100.0 * x / tot.max(1e-9);
    for s in &scores {
        println!(
            "{:<28} {:>6.1} {:>4} {:>4} {:>6.1}% {:>6.1}% {:>5.1}% {:>5.1}% {:>5.1}% {:>7.0}",
            s.file,
            s.seconds,
            s.ref_speakers,
            s.hyp_speakers,
            100.0 * s.der_collar_025,
            100.0 * s.der_collar_0,
            pct(s.collar_0.missed, s.collar_0.total),
            pct(s.collar_0.false_alarm, s.collar_0.total),
            pct(s.collar_0.confusion, s.collar_0.total),
            s.seconds / s.diarize_seconds.max(1e-9)
        );
    }
    println!(
        "{:<28} {:>6.1} {:>9} {:>6.1}% {:>6.1}% {:>5.1}% {:>5.1}% {:>5.1}% {:>7.0}",
        "TOTAL",
        audio,
        format!("±{count_err}"),
        100.0 * t25.der(),
        100.0 * t0.der(),
        pct(t0.missed, t0.total),
        pct(t0.false_alarm, t0.total),
        pct(t0.confusion, t0.total),
        audio / took.max(1e-9)
    );
    println!(
        "overlapped speech: {ov_h:.1} s found, {ov_c:.1} s of it right (precision {:.0} %), \
         recall {:.0} % of the reference's {ov_r:.1} s",
        100.0 * ov_c / ov_h.max(1e-9),
        100.0 * ov_c / ov_r.max(1e-9)
    );
    println!(
        "speaker count exact on {exact}/{n} files, within ±1 on {within1}/{n}, total absolute error {count_err}; speed {:.0}× real time (diarization only)",
        audio / took.max(1e-9),
        n = scores.len(),
    );
    Ok(ExitCode::SUCCESS)
}

/// See `Args::eigengap_check`.
fn eigengap_check(
    encoder: &SpeakerEncoder,
    samples: &[f32],
    speech: &[Span],
    opts: &DiarizeOptions,
    name: &str,
    equal: &mut (usize, usize),
) -> anyhow::Result<()> {
    use diarize::cluster;
    let w = diarize::embed_regions(encoder, samples, 0.0, speech, &opts.windows)?;
    let embs: Vec<Vec<f32>> = w.into_iter().map(|w| w.embedding).collect();
    let keep = opts.cluster.eigengap.unwrap_or(0.4);
    // The whole file, and for long ones also its first 2,000 and 5,000 windows (timing).
    let mut sizes = vec![embs.len()];
    sizes.extend([2000, 5000].into_iter().filter(|&m| m < embs.len()));
    let all = embs.len();
    for m in sizes {
        let embs = &embs[..m];
        let t = Instant::now();
        let dense = cluster::eigengap_count_dense(embs, 40, keep);
        let t_dense = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let lanczos = cluster::eigengap_count_lanczos(embs, 40, keep);
        let t_lanczos = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let labels = cluster::cluster(embs, &opts.cluster);
        let t_cluster = t.elapsed().as_secs_f64();
        if m == all {
            equal.0 += usize::from(dense == lanczos);
            equal.1 += 1;
        }
        eprintln!(
            "eigengap {name}: {m} windows, dense {dense} ({t_dense:.3} s), Lanczos {lanczos} \
             ({t_lanczos:.3} s); whole clustering {t_cluster:.3} s, {} clusters",
            labels.iter().max().map_or(0, |m| m + 1)
        );
    }
    Ok(())
}

/// Union of the reference turns (speech as the annotators heard it).
fn oracle_speech(reference: &[(String, f64, f64)]) -> Vec<Span> {
    let mut v: Vec<(f64, f64)> = reference.iter().map(|(_, s, e)| (*s, *e)).collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<Span> = Vec::new();
    for (s, e) in v {
        match out.last_mut() {
            Some(l) if s <= l.end => l.end = l.end.max(e),
            _ => out.push(Span::new(s, e)),
        }
    }
    out
}

/// See `Args::dump_segmentation`.
fn dump_segmentation(
    dir: &std::path::Path,
    name: &str,
    m: &diarize::segmentation::Segmentation,
    encoder: &SpeakerEncoder,
    samples: &[f32],
    speech: &[Span],
    opts: &DiarizeOptions,
) -> anyhow::Result<()> {
    use diarize::segmentation::CHUNK_SAMPLES;
    std::fs::create_dir_all(dir)?;
    let w = diarize::embed_regions(encoder, samples, 0.0, speech, &opts.windows)?;
    let d = diarize::finish_diarization(&w, speech, opts);
    let mut chunks = Vec::new();
    let mut start = 0usize;
    loop {
        let end = (start + CHUNK_SAMPLES).min(samples.len());
        let mut c = samples[start..end].to_vec();
        let valid = c.len();
        c.resize(CHUNK_SAMPLES, 0.0);
        let p = m.run(&[&c])?;
        chunks.push(serde_json::json!({"start": start, "valid": valid,
            "p": p[0].iter().map(|r| r.to_vec()).collect::<Vec<_>>()}));
        if end >= samples.len() {
            break;
        }
        start += 16_000;
    }
    let turns: Vec<_> = d
        .turns
        .iter()
        .map(|t| serde_json::json!([t.start, t.end, t.speaker]))
        .collect();
    let windows: Vec<_> = w
        .iter()
        .map(|w| serde_json::json!({"start": w.start, "end": w.end, "e": w.embedding}))
        .collect();
    let sp: Vec<_> = speech.iter().map(|s| [s.start, s.end]).collect();
    let j = serde_json::json!({"speech": sp, "turns": turns, "chunks": chunks,
        "windows": windows, "samples": samples.len()});
    std::fs::write(dir.join(format!("{name}.seg.json")), j.to_string())?;
    Ok(())
}
