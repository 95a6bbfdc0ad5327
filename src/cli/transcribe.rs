use super::Globals;
use anyhow::{bail, Context};
use gijiroku::export::{self, Format};
use gijiroku::pipeline::{transcribe_file, TranscribeOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Recordings (wav, mp3, m4a/mp4, flac, ogg, opus, webm, aiff, caf, ...).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Spoken language: ja, en, ... or auto (detected once from the first speech).
    #[arg(short = 'l', long, default_value = "auto")]
    language: String,
    /// Whisper model: a name from `models list` or a ggml file (default: whisper-base).
    #[arg(short = 'm', long)]
    model: Option<String>,
    /// CPU threads for Whisper.
    #[arg(short = 't', long)]
    threads: Option<usize>,
    /// Beam width (1 = greedy, faster).
    #[arg(long, default_value_t = 5)]
    beam: usize,
    /// Greedy decoding (same as --beam 1).
    #[arg(long)]
    greedy: bool,
    /// Initial prompt: words and style the recording uses.
    #[arg(long)]
    prompt: Option<String>,
    /// File of terms, one a line (members' names, places, ordinances), fed as prompt.
    #[arg(long)]
    glossary: Option<PathBuf>,
    /// Transcribe everything, without voice activity detection.
    #[arg(long)]
    no_vad: bool,
    /// Output folder (default: beside each input).
    #[arg(short = 'o', long)]
    out: Option<PathBuf>,
    /// Output formats, comma-separated: json,txt,srt,vtt,rttm.
    #[arg(short = 'f', long, default_value = "json,txt,srt,vtt")]
    formats: String,
    /// Find who spoke when (speaker diarization, enrolled speakers by name).
    #[arg(long)]
    diarize: bool,
    /// Exact number of speakers (with --diarize).
    #[arg(long)]
    speakers: Option<usize>,
    #[arg(long)]
    min_speakers: Option<usize>,
    #[arg(long)]
    max_speakers: Option<usize>,
    /// Diarization path: classic (default), or overlap (pyannote 3.1 style, several speakers
    /// at once; better on the simulated dev set, worse on unseen voices so far).
    #[arg(long, value_enum)]
    diarizer: Option<DiarizerArg>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum DiarizerArg {
    Classic,
    Overlap,
}

/// One input with where its outputs go, checked before any model is loaded.
struct Job {
    file: PathBuf,
    dir: PathBuf,
    stem: String,
}

/// Checks an input and its output folder at once, so a long transcription never ends in
/// "cannot write": the input must be a readable file, the folder must exist or be creatable,
/// and a probe file must be writable in it.
fn prepare(file: &Path, out: Option<&Path>, formats: &[Format]) -> anyhow::Result<Job> {
    if file.is_dir() {
        bail!("{} is a folder, not a recording", file.display());
    }
    match std::fs::File::open(file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("{}: no such file", file.display())
        }
        r => r.with_context(|| format!("cannot read {}", file.display()))?,
    };
    let dir = match out {
        Some(d) => d.to_path_buf(),
        None => file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| p.to_path_buf())
            .unwrap_or_else(|| PathBuf::from(".")),
    };
    check_writable_dir(&dir)?;
    let stem = file
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    for f in formats {
        let path = dir.join(format!("{stem}.{}", f.extension()));
        if path.is_dir() {
            bail!("cannot write {}: it is a folder", path.display());
        }
    }
    Ok(Job {
        file: file.to_path_buf(),
        dir,
        stem,
    })
}

fn check_writable_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!("output folder {} is a file", dir.display());
    }
    gijiroku::util::create_private_dir_all(dir)
        .with_context(|| format!("unusable output folder {}", dir.display()))?;
    let probe = dir.join(format!(".gijiroku-probe-{}", std::process::id()));
    gijiroku::util::create_private_file(&probe)
        .with_context(|| format!("output folder {} is not writable", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Whisper's threads, at most one per core: more only spin against each other (`-t 1000`
/// started 1001 threads on 2 cores).
fn clamp_threads(wanted: usize) -> usize {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    if wanted > cores {
        tracing::warn!("-t {wanted}: this machine has {cores} cores, using {cores} threads");
        cores
    } else {
        wanted
    }
}

pub fn run(a: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    let formats = Format::parse_list(&a.formats)?;
    if formats.contains(&Format::Rttm) && !a.diarize {
        bail!("-f rttm needs --diarize");
    }
    if a.diarizer.is_some() && !a.diarize {
        bail!("--diarizer needs --diarize");
    }
    if a.threads == Some(0) {
        bail!("-t/--threads must be at least 1");
    }
    if let Some(d) = &a.out {
        // One output folder for all: unusable means nothing can be done.
        check_writable_dir(d)?;
    }
    // Every input checked first: a bad one is reported in one line and the others go on.
    let mut failed = 0usize;
    let mut jobs = Vec::new();
    for f in &a.files {
        match prepare(f, a.out.as_deref(), &formats) {
            Ok(j) => jobs.push(j),
            // One input: its error is the one line, with no batch summary after it.
            Err(e) if a.files.len() == 1 => return Err(e),
            Err(e) => {
                failed += 1;
                report(&e);
            }
        }
    }
    if jobs.is_empty() {
        bail!("no usable input ({failed} refused)");
    }
    let model = gijiroku::models::resolve_whisper(&g.models_dir, a.model.as_deref())?;
    let mut opts = TranscribeOptions::new(model);
    if !a.no_vad {
        opts.vad_model = Some(gijiroku::models::vad_model(&g.models_dir).with_context(|| {
            format!(
                "no VAD model ({} in {}): run scripts/setup.sh, or pass --no-vad",
                gijiroku::models::VAD_FILE,
                g.models_dir.display()
            )
        })?);
    }
    opts.language = Some(a.language.clone()).filter(|l| l != "auto");
    if let Some(t) = a.threads {
        opts.threads = clamp_threads(t);
    }
    opts.beam = if a.greedy { 1 } else { a.beam };
    let mut prompt = Vec::new();
    if let Some(gl) = &a.glossary {
        prompt.push(gijiroku::asr::glossary_prompt(gl)?);
    }
    if let Some(p) = &a.prompt {
        prompt.push(p.clone());
    }
    opts.prompt = (!prompt.is_empty()).then(|| prompt.join(" "));
    opts.diarize = a.diarize;
    opts.num_speakers = a.speakers;
    opts.min_speakers = a.min_speakers;
    opts.max_speakers = a.max_speakers;
    opts.diarizer = match a.diarizer {
        None | Some(DiarizerArg::Classic) => gijiroku::diarize::DiarizerKind::Classic,
        Some(DiarizerArg::Overlap) => gijiroku::diarize::DiarizerKind::Overlap,
    };
    opts.data = Some(g.data.clone());
    let _ = ctrlc::set_handler(gijiroku::asr::request_abort);

    let mut written_all = Vec::new();
    for job in &jobs {
        match transcribe_one(job, &opts, &formats, &a, g) {
            Ok(v) => written_all.push(v),
            // Ctrl-C stops the batch, not just this file.
            Err(e) if gijiroku::asr::abort_requested() || a.files.len() == 1 => return Err(e),
            Err(e) => {
                failed += 1;
                report(&e);
            }
        }
    }
    if g.json {
        println!("{}", serde_json::to_string_pretty(&written_all)?);
    }
    if failed > 0 {
        eprintln!(
            "gijiroku: error: {failed} of {} inputs failed",
            a.files.len()
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per failed input, like main's error line.
fn report(e: &anyhow::Error) {
    eprintln!("gijiroku: error: {}", format!("{e:#}").replace('\n', " "));
}

fn transcribe_one(
    job: &Job,
    opts: &TranscribeOptions,
    formats: &[Format],
    a: &Args,
    g: &Globals,
) -> anyhow::Result<serde_json::Value> {
    let file = &job.file;
    let t0 = std::time::Instant::now();
    let t = transcribe_file(file, opts)
        .with_context(|| format!("cannot transcribe {}", file.display()))?;
    let mut written = Vec::new();
    for f in formats {
        let path = job.dir.join(format!("{}.{}", job.stem, f.extension()));
        gijiroku::util::write_atomic(&path, export::render(&t, *f)?.as_bytes())?;
        written.push(path.display().to_string());
    }
    let secs = t0.elapsed().as_secs_f64();
    if !g.json && !g.quiet {
        eprintln!(
            "{}: {:.1} s of audio, language {}, {} segments{} in {:.1} s",
            file.display(),
            t.source.duration,
            t.language,
            t.segments.len(),
            if a.diarize {
                format!(", {} speakers", t.speakers.len())
            } else {
                String::new()
            },
            secs
        );
        for w in &written {
            println!("{w}");
        }
    }
    Ok(
        serde_json::json!({"input": file, "outputs": written, "language": t.language,
        "duration": t.source.duration, "segments": t.segments.len(), "speakers": t.speakers.len(), "seconds": secs}),
    )
}
