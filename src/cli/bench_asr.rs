//! `gijiroku bench asr <file>`: wall time, real-time factor, CPU time and peak memory of one
//! transcription, beside faster-whisper's on the same CTranslate2 weights where it is installed.
//!
//! Each gijiroku run happens in a child process of this same binary (hidden `--child` flag), so
//! the peak memory is that of the transcription alone, like the Python process measured for
//! faster-whisper (`benches/faster_whisper_bench.py`, embedded here).

use super::Globals;
use anyhow::{bail, Context};
use gijiroku::eval::asr::{self, BenchRun, Metric};
use gijiroku::pipeline::TranscribeOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const FASTER_WHISPER_SCRIPT: &str = include_str!("../../benches/faster_whisper_bench.py");

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Recording to transcribe (a `.txt` reference beside it adds WER/CER to the figures).
    file: PathBuf,
    /// Whisper model name or ggml file (default: whisper-base).
    #[arg(long, short = 'm')]
    model: Option<String>,
    /// CPU threads, for both engines (default: all cores).
    #[arg(long, short = 't', value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: Option<u32>,
    /// Beam size for both engines (1 = greedy).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=16))]
    beam: u32,
    /// Spoken language (ja, en, ...); default: each engine detects it.
    #[arg(long, short = 'l')]
    language: Option<String>,
    /// No voice activity detection in either engine.
    #[arg(long)]
    no_vad: bool,
    /// Runs per engine (alternating); the median wall time is reported.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20))]
    runs: u32,
    /// Skip faster-whisper.
    #[arg(long)]
    no_faster_whisper: bool,
    /// CTranslate2 folder for faster-whisper (default: the source named in the model's card).
    #[arg(long)]
    ct2: Option<PathBuf>,
    /// CTranslate2 compute type for faster-whisper (int8, float32, ...).
    #[arg(long, default_value = "int8")]
    compute_type: String,
    /// Python interpreter that has faster-whisper.
    #[arg(long, env = "GIJIROKU_PYTHON", default_value = "python3")]
    python: String,
    /// One whisper state with all threads, each chunk prompted with the previous chunk's text
    /// (the build before parallel states), instead of one state per thread.
    #[arg(long)]
    sequential: bool,
    /// Word times: `dtw` (flash attention off) or `tokens` (token timestamps, flash attention
    /// on); default: the transcription default.
    #[arg(long, value_parser = ["dtw", "tokens"])]
    word_timing: Option<String>,
    /// Instead of timing: transcribe FILE (or every .wav in a folder) with DTW word times and
    /// with token-timestamp word times (flash attention), and print how far apart they are.
    #[arg(long)]
    word_times_vs_dtw: bool,
    /// Internal: transcribe in this process and print one JSON line of measurements.
    #[arg(long, hide = true)]
    child: bool,
}

pub fn run(a: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    if a.word_times_vs_dtw {
        return compare_word_times(&a, g);
    }
    if !a.file.is_file() {
        bail!("{} is not a file", a.file.display());
    }
    if let Some(l) = a.language.as_deref() {
        if !asr::is_whisper_language(l) {
            bail!("unknown language '{l}' (a Whisper language code such as ja or en)");
        }
    }
    let model = gijiroku::models::resolve_whisper(&g.models_dir, a.model.as_deref())?;
    let threads = a
        .threads
        .map(|t| t as usize)
        .unwrap_or_else(|| TranscribeOptions::new(model.clone()).threads);
    let vad_model = if a.no_vad {
        None
    } else {
        gijiroku::models::vad_model(&g.models_dir)
    };

    if a.child {
        let mut opts = TranscribeOptions::new(model);
        opts.threads = threads;
        opts.beam = a.beam as usize;
        opts.language = a.language.clone();
        opts.vad_model = vad_model;
        opts.parallel = !a.sequential;
        match a.word_timing.as_deref() {
            Some("dtw") => opts.word_timing = gijiroku::asr::WordTiming::Dtw,
            Some("tokens") => opts.word_timing = gijiroku::asr::WordTiming::Tokens,
            _ => {}
        }
        let r = asr::bench_in_process(&a.file, &opts)?;
        // The measurements plus how often chunks were read or decoded more than once.
        let mut v = serde_json::to_value(&r)?;
        v["decode_counts"] = serde_json::to_value(gijiroku::asr::decode_counts())?;
        println!("{v}");
        return Ok(ExitCode::SUCCESS);
    }

    let vad = vad_model.is_some();
    let scratch = tempfile::Builder::new()
        .prefix("gijiroku-bench-")
        .tempdir()
        .context("cannot create a temporary folder")?;

    // faster-whisper's side is prepared first, so a problem there is said before the long runs.
    let mut fw_note: Option<String> = None;
    let fw = if a.no_faster_whisper {
        fw_note = Some("skipped (--no-faster-whisper)".into());
        None
    } else {
        match FasterWhisper::prepare(
            &a.python,
            a.ct2.as_deref(),
            &model,
            &g.models_dir,
            scratch.path(),
            threads,
            a.beam as usize,
            &a.compute_type,
            vad,
        ) {
            Ok(fw) => Some(fw),
            Err(e) => {
                fw_note = Some(format!("skipped: {e:#}"));
                None
            }
        }
    };

    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let spinner = gijiroku::progress::spinner("benchmarking");
    for k in 1..=a.runs {
        spinner.set_message(format!("gijiroku run {k}/{}", a.runs));
        ours.push(run_child(&a, g, &model, threads)?);
        if let (Some(fw), None) = (&fw, &fw_note) {
            spinner.set_message(format!("faster-whisper run {k}/{}", a.runs));
            let fw = FasterWhisper {
                // Word timestamps only if gijiroku made them: same work on both sides.
                words: ours.last().is_some_and(|r| r.words > 0),
                ..fw.clone()
            };
            match fw.run(&a.file, a.language.as_deref()) {
                Ok(r) => theirs.push(r),
                Err(FwError::NotInstalled(m)) => {
                    fw_note = Some(format!("{m}: gijiroku's figures only"))
                }
                Err(e) => fw_note = Some(e.to_string()),
            }
        }
    }
    spinner.finish_and_clear();

    let reference = std::fs::read_to_string(a.file.with_extension("txt"))
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    let summary = Summary {
        file: a.file.display().to_string(),
        model: model.display().to_string(),
        threads,
        beam: a.beam as usize,
        vad,
        runs: a.runs as usize,
        gijiroku: summarize(&ours, reference.as_deref(), a.language.as_deref()),
        faster_whisper: (!theirs.is_empty())
            .then(|| summarize(&theirs, reference.as_deref(), a.language.as_deref())),
        faster_whisper_compute_type: a.compute_type.clone(),
        faster_whisper_note: fw_note,
    };
    if g.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary);
    }
    Ok(ExitCode::SUCCESS)
}

/// One gijiroku transcription in a child process of this binary.
fn run_child(a: &Args, g: &Globals, model: &Path, threads: usize) -> anyhow::Result<BenchRun> {
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let mut cmd = Command::new(exe);
    cmd.arg("--quiet")
        .arg("--models-dir")
        .arg(&g.models_dir)
        .args(["bench", "asr"])
        .arg(&a.file)
        .arg("--model")
        .arg(model)
        .args(["--threads", &threads.to_string()])
        .args(["--beam", &a.beam.to_string()])
        .arg("--child");
    if let Some(l) = &a.language {
        cmd.args(["--language", l]);
    }
    if a.no_vad {
        cmd.arg("--no-vad");
    }
    if a.sequential {
        cmd.arg("--sequential");
    }
    if let Some(w) = &a.word_timing {
        cmd.args(["--word-timing", w]);
    }
    let out = cmd
        .output()
        .context("cannot start the measuring child process")?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        let msg = last.trim_start_matches("gijiroku: error: ").trim();
        if msg.is_empty() {
            bail!("the measuring child process failed ({})", out.status);
        }
        bail!("{msg}");
    }
    serde_json::from_slice(&out.stdout).context("the measuring child printed no measurements")
}

/// faster-whisper through `benches/faster_whisper_bench.py`, on a CTranslate2 folder.
#[derive(Debug, Clone)]
pub(super) struct FasterWhisper {
    pub python: String,
    pub script: PathBuf,
    pub model_dir: PathBuf,
    pub threads: usize,
    pub beam: usize,
    pub compute_type: String,
    pub vad: bool,
    /// Word timestamps (gijiroku always makes them, so ask for them too when comparing).
    pub words: bool,
}

impl FasterWhisper {
    /// Finds the CTranslate2 weights (`ct2`, else the source in the model's card, joined into
    /// `scratch` if split) and writes the script there.
    #[allow(clippy::too_many_arguments)]
    pub fn prepare(
        python: &str,
        ct2: Option<&Path>,
        model: &Path,
        models_dir: &Path,
        scratch: &Path,
        threads: usize,
        beam: usize,
        compute_type: &str,
        vad: bool,
    ) -> anyhow::Result<FasterWhisper> {
        let model_dir = match ct2 {
            Some(d) if d.join("model.bin").is_file() => d.to_path_buf(),
            Some(d) => bail!("{} holds no model.bin", d.display()),
            None => asr::ct2_source_dir(model, models_dir, &scratch.join("ct2"))?,
        };
        let script = scratch.join("faster_whisper_bench.py");
        std::fs::write(&script, FASTER_WHISPER_SCRIPT)
            .with_context(|| format!("cannot write {}", script.display()))?;
        Ok(FasterWhisper {
            python: python.to_string(),
            script,
            model_dir,
            threads,
            beam,
            compute_type: compute_type.to_string(),
            vad,
            words: true,
        })
    }

    /// One transcription in a fresh Python process. `Err(NotInstalled)` when the interpreter
    /// has no faster-whisper.
    pub fn run(&self, audio: &Path, language: Option<&str>) -> Result<BenchRun, FwError> {
        let mut cmd = Command::new(&self.python);
        cmd.arg(&self.script)
            .arg("--model-dir")
            .arg(&self.model_dir)
            .arg("--audio")
            .arg(audio)
            .args(["--threads", &self.threads.to_string()])
            .args(["--beam", &self.beam.to_string()])
            .args(["--compute-type", &self.compute_type])
            .env("HF_HUB_OFFLINE", "1");
        if let Some(l) = language {
            cmd.args(["--language", l]);
        }
        if self.vad {
            cmd.arg("--vad");
        }
        if self.words {
            cmd.arg("--words");
        }
        let out = cmd
            .output()
            .map_err(|e| FwError::Failed(format!("cannot run {}: {e}", self.python)))?;
        if out.status.code() == Some(3) {
            return Err(FwError::NotInstalled(format!(
                "faster-whisper is not installed for {} (pip install faster-whisper)",
                self.python
            )));
        }
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            return Err(FwError::Failed(format!("faster-whisper failed: {last}")));
        }
        serde_json::from_slice(&out.stdout)
            .map_err(|e| FwError::Failed(format!("faster-whisper printed no measurements: {e}")))
    }
}

#[derive(Debug, thiserror::Error)]
pub(super) enum FwError {
    #[error("{0}")]
    NotInstalled(String),
    #[error("{0}")]
    Failed(String),
}

/// Median figures of one engine's runs.
#[derive(Debug, serde::Serialize)]
struct EngineSummary {
    audio_seconds: f64,
    wall_seconds: f64,
    rtf: Option<f64>,
    cpu_seconds: f64,
    peak_rss_mib: f64,
    language: String,
    /// Against the `.txt` beside the recording, if there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    metric: Option<Metric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_rate: Option<f64>,
    text: String,
    runs: Vec<BenchRun>,
}

#[derive(Debug, serde::Serialize)]
struct Summary {
    file: String,
    model: String,
    threads: usize,
    beam: usize,
    vad: bool,
    runs: usize,
    gijiroku: EngineSummary,
    faster_whisper: Option<EngineSummary>,
    faster_whisper_compute_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    faster_whisper_note: Option<String>,
}

fn summarize(runs: &[BenchRun], reference: Option<&str>, language: Option<&str>) -> EngineSummary {
    let mut by_wall: Vec<&BenchRun> = runs.iter().collect();
    by_wall.sort_by(|x, y| x.wall_seconds.total_cmp(&y.wall_seconds));
    let median = by_wall[by_wall.len() / 2];
    let lang = language.unwrap_or(&median.language);
    let metric = reference.map(|_| Metric::for_language(lang));
    let error_rate = reference
        .zip(metric)
        .and_then(|(r, m)| asr::score(r, &median.text, m).rate());
    EngineSummary {
        audio_seconds: median.audio_seconds,
        wall_seconds: median.wall_seconds,
        rtf: median.rtf(),
        cpu_seconds: median.user_seconds + median.sys_seconds,
        peak_rss_mib: runs.iter().map(|r| r.peak_rss_bytes).max().unwrap_or(0) as f64
            / (1024.0 * 1024.0),
        language: median.language.clone(),
        metric,
        error_rate,
        text: median.text.clone(),
        runs: runs.to_vec(),
    }
}

fn print_summary(s: &Summary) {
    println!(
        "{}: {:.1} s of audio; model {}; {} threads, beam {}, VAD {}; median of {} run(s)",
        s.file,
        s.gijiroku.audio_seconds,
        s.model,
        s.threads,
        s.beam,
        if s.vad { "on" } else { "off" },
        s.runs
    );
    println!(
        "{:<24} {:>8} {:>6} {:>8} {:>9} {:>5} {:>8}",
        "ENGINE", "WALL s", "RTF", "CPU s", "PEAK MiB", "LANG", "ERR"
    );
    let row = |name: &str, e: &EngineSummary| {
        let err = match (e.metric, e.error_rate) {
            (Some(m), Some(r)) => format!("{} {:.1}%", m.name(), 100.0 * r),
            _ => "-".into(),
        };
        println!(
            "{:<24} {:>8.2} {:>6} {:>8.2} {:>9.0} {:>5} {:>8}",
            name,
            e.wall_seconds,
            e.rtf
                .map(|r| format!("{r:.3}"))
                .unwrap_or_else(|| "-".into()),
            e.cpu_seconds,
            e.peak_rss_mib,
            e.language,
            err
        );
    };
    row("gijiroku (whisper.cpp)", &s.gijiroku);
    match &s.faster_whisper {
        Some(fw) => {
            row(
                &format!("faster-whisper ({})", s.faster_whisper_compute_type),
                fw,
            );
            println!(
                "ratio gijiroku / faster-whisper: wall {:.2}×, peak memory {:.2}×",
                s.gijiroku.wall_seconds / fw.wall_seconds.max(1e-9),
                s.gijiroku.peak_rss_mib / fw.peak_rss_mib.max(1e-9)
            );
        }
        None => println!(
            "faster-whisper: {}",
            s.faster_whisper_note.as_deref().unwrap_or("no result")
        ),
    }
    if let (Some(_), Some(note)) = (&s.faster_whisper, &s.faster_whisper_note) {
        println!("faster-whisper: {note}");
    }
    println!("(wall = model load + decoding + transcription, in a fresh process per run)");
}

/// Word times with flash attention on (token timestamps) against the DTW ones, on the words
/// both runs recognised identically (a diff of the word sequences), per file and in all.
fn compare_word_times(a: &Args, g: &Globals) -> anyhow::Result<ExitCode> {
    use gijiroku::asr::WordTiming;
    let files: Vec<PathBuf> = if a.file.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&a.file)
            .with_context(|| format!("cannot read {}", a.file.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "wav"))
            .collect();
        v.sort();
        v
    } else if a.file.is_file() {
        vec![a.file.clone()]
    } else {
        bail!("{} is neither a file nor a folder", a.file.display());
    };
    if files.is_empty() {
        bail!("no .wav files in {}", a.file.display());
    }
    let model = gijiroku::models::resolve_whisper(&g.models_dir, a.model.as_deref())?;
    let mut opts = TranscribeOptions::new(model);
    if let Some(t) = a.threads {
        opts.threads = t as usize;
    }
    opts.beam = a.beam as usize;
    opts.language = a.language.clone();
    opts.vad_model = if a.no_vad {
        None
    } else {
        gijiroku::models::vad_model(&g.models_dir)
    };
    let words_of = |t: &gijiroku::transcript::Transcript| -> Vec<(String, f64, f64)> {
        t.segments
            .iter()
            .flat_map(|s| s.words.iter())
            .map(|w| (w.text.trim().to_lowercase(), w.start, w.end))
            .collect()
    };
    let (mut all_start, mut all_end, mut all_n, mut all_words) = (Vec::new(), Vec::new(), 0, 0);
    println!(
        "{:<44} {:>6} {:>7} {:>9} {:>9} {:>9}",
        "FILE", "WORDS", "SAME", "|Δstart|", "|Δend|", "p90 start"
    );
    for f in &files {
        opts.word_timing = WordTiming::Dtw;
        let dtw = gijiroku::pipeline::transcribe_file(f, &opts)?;
        opts.word_timing = WordTiming::Tokens;
        let tok = gijiroku::pipeline::transcribe_file(f, &opts)?;
        let (wd, wt) = (words_of(&dtw), words_of(&tok));
        let kd: Vec<&str> = wd.iter().map(|w| w.0.as_str()).collect();
        let kt: Vec<&str> = wt.iter().map(|w| w.0.as_str()).collect();
        let (mut ds, mut de) = (Vec::new(), Vec::new());
        for op in similar::capture_diff_slices(similar::Algorithm::Myers, &kd, &kt) {
            if let similar::DiffOp::Equal {
                old_index,
                new_index,
                len,
            } = op
            {
                for k in 0..len {
                    let (x, y) = (&wd[old_index + k], &wt[new_index + k]);
                    ds.push((x.1 - y.1).abs());
                    de.push((x.2 - y.2).abs());
                }
            }
        }
        all_words += wd.len();
        all_n += ds.len();
        println!(
            "{:<44} {:>6} {:>7} {:>8.3}s {:>8.3}s {:>8.3}s",
            f.file_name().unwrap_or_default().to_string_lossy(),
            wd.len(),
            ds.len(),
            mean(&ds),
            mean(&de),
            quantile(&ds, 0.9)
        );
        all_start.extend(ds);
        all_end.extend(de);
    }
    println!(
        "{:<44} {:>6} {:>7} {:>8.3}s {:>8.3}s {:>8.3}s",
        "ALL",
        all_words,
        all_n,
        mean(&all_start),
        mean(&all_end),
        quantile(&all_start, 0.9)
    );
    Ok(ExitCode::SUCCESS)
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.iter().sum::<f64>() / v.len() as f64
}

fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * q).round() as usize]
}
