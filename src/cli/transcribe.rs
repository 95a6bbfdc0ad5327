use super::Globals;
use anyhow::{bail, Context};
use gijiroku::export::{self, Format};
use gijiroku::pipeline::{transcribe_file, TranscribeOptions};
use std::path::PathBuf;
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
}

pub fn run(a: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    let formats = Format::parse_list(&a.formats)?;
    if formats.contains(&Format::Rttm) && !a.diarize {
        bail!("-f rttm needs --diarize");
    }
    for f in &a.files {
        if !f.exists() {
            bail!("{}: no such file", f.display());
        }
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
        opts.threads = t;
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
    opts.data = Some(g.data.clone());
    let _ = ctrlc::set_handler(gijiroku::asr::request_abort);

    let mut written_all = Vec::new();
    for file in &a.files {
        let t0 = std::time::Instant::now();
        let t = transcribe_file(file, &opts)
            .with_context(|| format!("cannot transcribe {}", file.display()))?;
        let dir = match &a.out {
            Some(d) => d.clone(),
            None => file.parent().map(|p| p.to_path_buf()).unwrap_or_default(),
        };
        let stem = file
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let mut written = Vec::new();
        for f in &formats {
            let path = dir.join(format!("{stem}.{}", f.extension()));
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
        written_all.push(serde_json::json!({"input": file, "outputs": written, "language": t.language,
            "duration": t.source.duration, "segments": t.segments.len(), "speakers": t.speakers.len(), "seconds": secs}));
    }
    if g.json {
        println!("{}", serde_json::to_string_pretty(&written_all)?);
    }
    Ok(ExitCode::SUCCESS)
}
