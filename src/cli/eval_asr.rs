//! `gijiroku eval asr <dir>`: WER/CER over a folder of recordings with `.txt` references.

use super::bench_asr::FasterWhisper;
use super::Globals;
use anyhow::Context;
use gijiroku::eval::asr::{self, AsrReport, EvalOptions};
use gijiroku::pipeline::TranscribeOptions;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Folder with audio files (WAV, FLAC, MP3, ...) and a `.txt` reference beside each.
    dir: PathBuf,
    /// Whisper model name or ggml file (default: whisper-base).
    #[arg(long, short = 'm')]
    model: Option<String>,
    /// Spoken language (ja, en, ...); default: from the folder name (asr_ja → ja), else
    /// detected per file. `auto` always detects.
    #[arg(long, short = 'l')]
    language: Option<String>,
    /// Beam size (1 = greedy).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=16))]
    beam: u32,
    /// CPU threads for Whisper (default: all cores).
    #[arg(long, short = 't', value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: Option<u32>,
    /// Transcribe whole files without voice activity detection.
    #[arg(long)]
    no_vad: bool,
    /// Also print each reference and transcript (normalised as scored).
    #[arg(long)]
    show_text: bool,
    /// Engine to score: gijiroku, or faster-whisper on the CTranslate2 weights the model was
    /// imported from (same normalisation, for a fair comparison; needs `pip install faster-whisper`).
    #[arg(long, value_enum, default_value = "gijiroku")]
    engine: Engine,
    /// CTranslate2 folder for faster-whisper (default: the source named in the model's card).
    #[arg(long)]
    ct2: Option<PathBuf>,
    /// CTranslate2 compute type for faster-whisper (int8, float32, ...).
    #[arg(long, default_value = "int8")]
    compute_type: String,
    /// Python interpreter that has faster-whisper.
    #[arg(long, env = "GIJIROKU_PYTHON", default_value = "python3")]
    python: String,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Engine {
    Gijiroku,
    FasterWhisper,
}

pub fn run(a: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    if let Some(l) = a.language.as_deref() {
        if l != "auto" && !asr::is_whisper_language(l) {
            anyhow::bail!(
                "unknown language '{l}' (a Whisper language code such as ja or en, or auto)"
            );
        }
    }
    let model = gijiroku::models::resolve_whisper(&g.models_dir, a.model.as_deref())?;
    let mut opts = TranscribeOptions::new(model);
    opts.beam = a.beam as usize;
    if let Some(t) = a.threads {
        opts.threads = t as usize;
    }
    if !a.no_vad {
        opts.vad_model = gijiroku::models::vad_model(&g.models_dir);
        if opts.vad_model.is_none() {
            tracing::warn!("no VAD model installed: transcribing whole files");
        }
    }
    let eval = EvalOptions {
        language: a.language.clone(),
    };
    let (cases, _) = asr::find_cases(&a.dir)?;
    let bar = gijiroku::progress::bar(cases.len() as u64, "transcribing");
    let on_file = |f: &asr::FileScore, _, _| {
        bar.set_message(f.file.clone());
        bar.inc(1);
    };
    let report = match a.engine {
        Engine::Gijiroku => asr::evaluate(&a.dir, &opts, &eval, on_file)?,
        Engine::FasterWhisper => {
            let scratch = tempfile::Builder::new()
                .prefix("gijiroku-eval-")
                .tempdir()
                .context("cannot create a temporary folder")?;
            let fw = FasterWhisper::prepare(
                &a.python,
                a.ct2.as_deref(),
                &opts.model,
                &g.models_dir,
                scratch.path(),
                opts.threads,
                opts.beam,
                &a.compute_type,
                opts.vad_model.is_some(),
            )?;
            let info = asr::EngineInfo {
                engine: format!("faster-whisper ({})", a.compute_type),
                model: fw.model_dir.display().to_string(),
                beam: opts.beam,
                threads: opts.threads,
                vad: fw.vad,
            };
            let transcribe = |audio: &std::path::Path, language: Option<&str>| {
                let r = fw.run(audio, language)?;
                Ok(asr::Heard {
                    text: r.text,
                    language: r.language,
                    audio_seconds: r.audio_seconds,
                })
            };
            asr::evaluate_with(&a.dir, &eval, info, transcribe, on_file)?
        }
    };
    bar.finish_and_clear();
    if g.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report, a.show_text);
    }
    Ok(ExitCode::SUCCESS)
}

fn pct(rate: Option<f64>) -> String {
    rate.map(|r| format!("{:.1} %", 100.0 * r))
        .unwrap_or_else(|| "-".into())
}

fn print_table(r: &AsrReport, show_text: bool) {
    let width = r
        .files
        .iter()
        .map(|f| f.file.chars().count())
        .max()
        .unwrap_or(4)
        .max(5);
    let e = &r.engine;
    println!(
        "{}  model {}  beam {}  threads {}  vad {}",
        e.engine,
        e.model,
        e.beam,
        e.threads,
        if e.vad { "on" } else { "off" }
    );
    println!(
        "{:<width$}  {:<4} {:<6} {:>5} {:>5} {:>4} {:>4} {:>4} {:>6} {:>8}",
        "FILE", "LANG", "METRIC", "REF", "ERR", "SUB", "DEL", "INS", "RTF", "RATE"
    );
    for f in &r.files {
        let rtf = if f.audio_seconds > 0.0 {
            format!("{:.2}", f.transcribe_seconds / f.audio_seconds)
        } else {
            "-".into()
        };
        println!(
            "{:<width$}  {:<4} {:<6} {:>5} {:>5} {:>4} {:>4} {:>4} {:>6} {:>8}{}",
            f.file,
            f.language,
            f.metric.name(),
            f.counts.ref_len,
            f.errors,
            f.counts.substitutions,
            f.counts.deletions,
            f.counts.insertions,
            rtf,
            pct(f.rate),
            if f.note.is_some() { "  *" } else { "" }
        );
        if show_text {
            let join = |t: &str| match f.metric {
                asr::Metric::Wer => asr::words(t).join(" "),
                asr::Metric::Cer => asr::chars(t).into_iter().collect(),
            };
            println!("    ref: {}", join(&f.reference));
            println!("    hyp: {}", join(&f.hypothesis));
        }
    }
    for t in &r.totals {
        println!(
            "TOTAL {}: {} over {} files ({} errors / {} reference {}; {} sub, {} del, {} ins), \
             {:.1} s of audio in {:.1} s (RTF {:.2})",
            t.metric.name(),
            pct(t.rate),
            t.files,
            t.errors,
            t.counts.ref_len,
            t.metric.unit(),
            t.counts.substitutions,
            t.counts.deletions,
            t.counts.insertions,
            t.audio_seconds,
            t.transcribe_seconds,
            if t.audio_seconds > 0.0 {
                t.transcribe_seconds / t.audio_seconds
            } else {
                0.0
            }
        );
    }
    for f in r.files.iter().filter(|f| f.note.is_some()) {
        println!("* {}: {}", f.file, f.note.as_deref().unwrap_or_default());
    }
    if !r.skipped.is_empty() {
        println!(
            "skipped {} audio file(s) without a .txt reference",
            r.skipped.len()
        );
    }
    println!(
        "(WER/CER after NFKC, lowercase, punctuation and symbols removed; numbers are not spelled out)"
    );
}
