//! `gijiroku record` and `gijiroku devices`: printing and Ctrl-C around `gijiroku::record`.

use super::Globals;
use anyhow::{bail, Context};
use gijiroku::record::live::{self, LiveControl, LiveEvent, LiveStats};
use gijiroku::record::{self, RecordOptions, Recorder};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input device: its id or part of its name (see `gijiroku devices`). Default: the
    /// system's default input.
    #[arg(long, short = 'd')]
    device: Option<String>,
    /// WAV file to write. Default: recording-YYYYMMDD-HHMMSS.wav here. An existing file is
    /// never overwritten: the new recording gets -2, -3, ... added to its name.
    #[arg(long, short = 'o')]
    out: Option<PathBuf>,
    /// Title of the meeting: shown while recording and kept in the --json summary.
    #[arg(long)]
    title: Option<String>,
    /// Capture rate in Hz. Default: the device's. 16000 is enough for transcription and
    /// takes a third of the space of 48000.
    #[arg(long, value_parser = clap::value_parser!(u32).range(8000..=384000))]
    rate: Option<u32>,
    /// Channels to capture. Default: the device's.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=32))]
    channels: Option<u16>,
    /// Stop by itself after this many seconds of audio.
    #[arg(long)]
    duration: Option<f64>,
    /// Only record: no live transcript and no transcription at the end.
    #[arg(long)]
    no_transcribe: bool,
    /// No running transcript while recording (the transcription at the end still runs).
    #[arg(long)]
    no_live: bool,
    /// No transcription at the end (the running transcript still shows); transcribe the WAV
    /// later with `gijiroku transcribe`.
    #[arg(long)]
    no_final: bool,
    /// Whisper model for the transcript at the end: a name from `gijiroku models list` or a
    /// file. Default: whisper-base.
    #[arg(long, short = 'm')]
    model: Option<String>,
    /// Whisper model for the running transcript. Default: the same as --model; a smaller
    /// one (e.g. tiny) keeps up on a slow PC.
    #[arg(long)]
    live_model: Option<String>,
    /// Spoken language (ja, en, ...); default: detected.
    #[arg(long, short = 'l')]
    language: Option<String>,
    /// Find who spoke when in the transcript at the end (the default when the speaker
    /// encoder is installed; with this flag a missing encoder is an error).
    #[arg(long, conflicts_with = "no_diarize")]
    diarize: bool,
    /// No speaker diarization at the end.
    #[arg(long)]
    no_diarize: bool,
}

/// Models checked before recording starts, so a missing one is said at once, not after the
/// meeting.
struct Models {
    whisper: PathBuf,
    live_whisper: PathBuf,
    /// A smaller installed model for the live path when it cannot keep up.
    live_fallback: Option<PathBuf>,
    vad: Option<PathBuf>,
}

/// The largest installed Whisper model smaller than `than` that can transcribe `language`
/// (English-only models only for English).
fn smaller_model(models_dir: &Path, than: &Path, language: Option<&str>) -> Option<PathBuf> {
    use gijiroku::models::{list, ModelType};
    let size = std::fs::metadata(than).ok()?.len();
    list(models_dir)
        .ok()?
        .into_iter()
        .filter(|m| m.kind == ModelType::Whisper && m.size < size)
        .filter(|m| {
            m.languages == "multilingual" || (language == Some("en") && m.languages == "en")
        })
        .max_by_key(|m| m.size)
        .map(|m| m.path)
}

fn find_models(a: &Args, g: &Globals) -> anyhow::Result<Option<Models>> {
    if a.no_transcribe {
        return Ok(None);
    }
    let hint = "; or record with --no-transcribe and transcribe later";
    let whisper = gijiroku::models::resolve_whisper(&g.models_dir, a.model.as_deref())
        .map_err(|e| anyhow::anyhow!("{e:#}{hint}"))?;
    let live_whisper = match a.live_model.as_deref() {
        Some(m) => gijiroku::models::resolve_whisper(&g.models_dir, Some(m))
            .map_err(|e| anyhow::anyhow!("{e:#}{hint}"))?,
        None => whisper.clone(),
    };
    let vad = gijiroku::models::vad_model(&g.models_dir);
    if vad.is_none() && !a.no_live {
        bail!(
            "the running transcript needs the VAD model {} in {} (`gijiroku models import \
             silero_vad_16k.safetensors`); or record with --no-live",
            gijiroku::models::VAD_FILE,
            g.models_dir.display()
        );
    }
    let live_fallback = smaller_model(&g.models_dir, &live_whisper, a.language.as_deref());
    Ok(Some(Models {
        whisper,
        live_whisper,
        live_fallback,
        vad,
    }))
}

/// Ctrl-C presses so far: the first stops the recording.
static INTERRUPTS: AtomicUsize = AtomicUsize::new(0);

fn install_ctrl_c() -> anyhow::Result<()> {
    ctrlc::set_handler(|| {
        INTERRUPTS.fetch_add(1, Ordering::SeqCst);
    })
    .context("cannot install the Ctrl-C handler")
}

fn default_out() -> PathBuf {
    PathBuf::from(
        chrono::Local::now()
            .format("recording-%Y%m%d-%H%M%S.wav")
            .to_string(),
    )
}

fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// A text level meter: 20 cells from −60 dBFS to 0 dBFS.
fn meter(dbfs: f32) -> String {
    let cells = ((dbfs + 60.0) / 3.0).clamp(0.0, 20.0) as usize;
    format!("{}{}", "█".repeat(cells), "·".repeat(20 - cells))
}

/// Repairs recordings a crash left unfinished in the folder of `out`, and picks a free name.
fn prepare_out(out: &Path, quiet: bool) -> anyhow::Result<PathBuf> {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut repairs = record::repair_unfinished_in(&dir)?;
    // Also a file at the very name asked for, whose marker is gone.
    if out.exists()
        && record::wav_layout(out).is_ok_and(|l| l.is_unfinished())
        && !repairs.iter().any(|r| r.path == out)
    {
        repairs.push(record::repair_wav(out)?);
    }
    for r in &repairs {
        if quiet {
            continue;
        }
        let fix = if r.header_fixed {
            format!("; header repaired, it said {}", clock(r.seconds_before))
        } else {
            String::new()
        };
        eprintln!(
            "gijiroku: recovered the recording {} that was cut off ({} kept{fix})",
            r.path.display(),
            clock(r.seconds),
        );
    }
    Ok(record::free_path(out))
}

pub fn run(a: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    if let Some(d) = a.duration {
        if !(d.is_finite() && d > 0.0) {
            bail!("--duration must be a positive number of seconds, not {d}");
        }
    }
    let asked = a.out.clone().unwrap_or_else(default_out);
    if asked
        .extension()
        .is_none_or(|e| !e.eq_ignore_ascii_case("wav"))
    {
        bail!("--out must name a .wav file, not {}", asked.display());
    }
    let models = find_models(&a, g)?;
    // The device first: without one nothing is created on disk.
    let device = record::find_input_device(a.device.as_deref())?;
    record::capture_format(&device, a.rate, a.channels)?;
    drop(device);
    let out = prepare_out(&asked, g.quiet)?;
    if out != asked && !g.quiet {
        eprintln!(
            "gijiroku: {} exists; recording into {}",
            asked.display(),
            out.display()
        );
    }
    let opts = RecordOptions {
        device: a.device.clone(),
        out: out.clone(),
        rate: a.rate,
        channels: a.channels,
        max_seconds: a.duration,
    };
    install_ctrl_c()?;
    let live_wanted = models.as_ref().filter(|_| !a.no_live);
    let (tap_tx, tap_rx) = mpsc::channel();
    let recorder = Recorder::start(&opts, live_wanted.map(|_| tap_tx))?;
    let f = recorder.format();
    let mut live = match live_wanted {
        Some(m) => Some(Live::start(tap_rx, f, m, &a)?),
        None => None,
    };
    if !g.quiet {
        eprintln!(
            "gijiroku: recording {} from {} ({} Hz, {} ch){}. Ctrl-C stops.",
            out.display(),
            recorder.device(),
            f.rate,
            f.channels,
            a.title
                .as_deref()
                .map(|t| format!(", “{t}”"))
                .unwrap_or_default()
        );
    }
    let status = watch(&recorder, live.as_mut(), g);
    let recording = recorder.stop()?;
    let live_stats = match live {
        Some(l) => l.finish(g),
        None => None,
    };
    if !g.quiet && !g.json {
        eprintln!(
            "gijiroku: saved {} ({}, {} Hz, {} ch)",
            recording.path.display(),
            clock(recording.seconds),
            recording.format.rate,
            recording.format.channels
        );
    }
    let device_failed = status.stop_reason.map(|e| {
        format!(
            "recording stopped after {}: {e}; the recording up to then is saved in {}",
            clock(recording.seconds),
            recording.path.display()
        )
    });
    let transcript = match &models {
        Some(m) if recording.seconds > 0.0 && !a.no_final => {
            Some(transcribe_recording(&recording.path, m, &a, g)?)
        }
        _ => None,
    };
    if g.json {
        let summary = serde_json::json!({
            "title": a.title,
            "recording": recording,
            "live": live_stats,
            "transcript": transcript,
        });
        println!("{}", serde_json::to_string_pretty(&summary)?);
    }
    if let Some(e) = device_failed {
        bail!(e);
    }
    Ok(ExitCode::SUCCESS)
}

/// The full pipeline on the finished file; the transcript goes beside it as NAME.json.
fn transcribe_recording(wav: &Path, m: &Models, a: &Args, g: &Globals) -> anyhow::Result<PathBuf> {
    let mut opts = gijiroku::pipeline::TranscribeOptions::new(m.whisper.clone());
    opts.vad_model = m.vad.clone();
    opts.language = a.language.clone();
    // Minutes need speakers: diarize whenever the speaker encoder is installed (--no-diarize
    // turns it off); --diarize insists, and fails if it cannot.
    let encoder_installed = g.models_dir.join(gijiroku::diarize::ENCODER_FILE).is_file();
    opts.diarize = !a.no_diarize && (a.diarize || (encoder_installed && opts.vad_model.is_some()));
    opts.data = Some(g.data.clone());
    // The recording stopped just now: its clock start is now minus its length.
    let stopped_at = chrono::Local::now();
    let spinner = gijiroku::progress::spinner("transcribing the recording (Ctrl-C skips)");
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let done = done.clone();
        // The first Ctrl-C stopped the recording; one more stops the transcription.
        let pressed = INTERRUPTS.load(Ordering::SeqCst);
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                if INTERRUPTS.load(Ordering::SeqCst) > pressed {
                    gijiroku::asr::request_abort();
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let result = gijiroku::pipeline::transcribe_file(wav, &opts);
    done.store(true, Ordering::SeqCst);
    let _ = watcher.join();
    spinner.finish_and_clear();
    let transcript = result.with_context(|| {
        format!(
            "transcription stopped; the recording is saved in {} (`gijiroku transcribe` it later)",
            wav.display()
        )
    })?;
    let out = wav.with_extension("json");
    let out = record::free_path(&out);
    gijiroku::util::write_atomic(&out, serde_json::to_string_pretty(&transcript)?.as_bytes())?;
    if !g.quiet && !g.json {
        eprintln!(
            "gijiroku: transcript {} ({} segments)",
            out.display(),
            transcript.segments.len()
        );
    }
    // Last step, as for a file: a draft of the minutes beside the transcript. A failure here
    // must not hide the transcript that is already saved, so it is a warning.
    let started =
        stopped_at - chrono::Duration::milliseconds((transcript.source.duration * 1000.0) as i64);
    match draft_minutes(&transcript, &out, a.title.clone(), started) {
        Ok(files) if !g.quiet && !g.json => {
            for f in files {
                eprintln!("gijiroku: minutes draft {}", f.display());
            }
        }
        Ok(_) => {}
        Err(e) => eprintln!("gijiroku: warning: no minutes draft: {e:#}"),
    }
    Ok(out)
}

/// A generic meeting draft (title, date and clock times from the recording) in Markdown and
/// DOCX; the clerk re-drafts with `gijiroku minutes --meta` for council conventions.
fn draft_minutes(
    t: &gijiroku::Transcript,
    transcript_path: &Path,
    title: Option<String>,
    started: chrono::DateTime<chrono::Local>,
) -> anyhow::Result<Vec<PathBuf>> {
    use gijiroku::minutes::{self, MeetingKind, MeetingMeta, MinutesOptions};
    let meta = MeetingMeta {
        kind: MeetingKind::Meeting,
        title,
        date: Some(started.format("%Y-%m-%d").to_string()),
        recording_start: Some(started.format("%H:%M").to_string()),
        ..Default::default()
    };
    let m = minutes::draft(t, &meta, &MinutesOptions::default())?;
    let mut written = Vec::new();
    for (f, ext) in [
        (minutes::Format::Markdown, "minutes.md"),
        (minutes::Format::Docx, "minutes.docx"),
    ] {
        let path = transcript_path.with_extension(ext);
        gijiroku::util::write_atomic(&path, &minutes::render(&m, f)?)?;
        written.push(path);
    }
    Ok(written)
}

/// The running transcript's thread and what it reports.
struct Live {
    events: mpsc::Receiver<LiveEvent>,
    control: Arc<LiveControl>,
    thread: std::thread::JoinHandle<anyhow::Result<LiveStats>>,
    behind: bool,
}

impl Live {
    fn start(
        tap: mpsc::Receiver<Vec<i16>>,
        format: record::CaptureFormat,
        m: &Models,
        a: &Args,
    ) -> anyhow::Result<Live> {
        let (tx, events) = mpsc::channel();
        let control = Arc::new(LiveControl::default());
        let vad_model = m
            .vad
            .clone()
            .context("the running transcript needs the VAD model")?;
        let opts = live::LiveOptions {
            model: m.live_whisper.clone(),
            fallback_model: m.live_fallback.clone(),
            vad_model,
            // Greedy: the live text is a preview, and beam search costs twice the time.
            asr: gijiroku::asr::AsrOptions {
                language: a.language.clone(),
                beam: 1,
                ..Default::default()
            },
            vad: gijiroku::vad::VadOptions::default(),
        };
        let thread = live::spawn(tap, format, opts, tx, control.clone())
            .context("cannot start the running transcript")?;
        Ok(Live {
            events,
            control,
            thread,
            behind: false,
        })
    }

    /// Prints what the transcript has produced since the last call.
    fn show(&mut self, bar: &indicatif::ProgressBar, g: &Globals) {
        while let Ok(e) = self.events.try_recv() {
            match e {
                LiveEvent::Line(l) => {
                    let text = format!("[{}] {}", clock(l.start), l.text);
                    bar.suspend(|| {
                        if g.json {
                            if !g.quiet {
                                eprintln!("{text}");
                            }
                        } else {
                            println!("{text}");
                        }
                    });
                }
                LiveEvent::Behind(s) => {
                    self.behind = true;
                    if !g.quiet {
                        bar.suspend(|| {
                            eprintln!(
                                "gijiroku: the running transcript is {s:.0} s behind: this PC is \
                                 too slow for its model (the final transcript is not affected)"
                            )
                        });
                    }
                }
                LiveEvent::Switched(model) => {
                    if !g.quiet {
                        bar.suspend(|| {
                            eprintln!("gijiroku: the running transcript goes on with {model}")
                        });
                    }
                }
            }
        }
    }

    /// After the recording: lets the transcript catch up (unless it had fallen behind, when
    /// the full transcription is the quicker way), prints the rest, returns its figures.
    fn finish(mut self, g: &Globals) -> Option<LiveStats> {
        if self.behind {
            self.control.cancel.store(true, Ordering::SeqCst);
        }
        let bar = gijiroku::progress::spinner("finishing the running transcript");
        while !self.thread.is_finished() {
            self.show(&bar, g);
            if INTERRUPTS.load(Ordering::SeqCst) > 1 {
                self.control.cancel.store(true, Ordering::SeqCst);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.show(&bar, g);
        bar.finish_and_clear();
        match self.thread.join() {
            Ok(Ok(stats)) => {
                tracing::info!(
                    "running transcript: {} lines, lag mean {:.1} s / max {:.1} s (processing \
                     delay max {:.1} s), busy {:.1} s (processor {:.1} s) for {:.1} s of audio",
                    stats.lines,
                    stats.mean_lag,
                    stats.max_lag,
                    stats.max_delay,
                    stats.busy_seconds,
                    stats.cpu_seconds.unwrap_or(f64::NAN),
                    stats.audio_seconds
                );
                Some(stats)
            }
            Ok(Err(e)) => {
                eprintln!("gijiroku: the running transcript stopped: {e:#}");
                None
            }
            Err(_) => {
                eprintln!("gijiroku: the running transcript failed");
                None
            }
        }
    }
}

/// Shows elapsed time, level and the running transcript until Ctrl-C or until the recorder
/// stops by itself.
fn watch(recorder: &Recorder, mut live: Option<&mut Live>, g: &Globals) -> record::Status {
    let bar = gijiroku::progress::spinner("");
    let plain_log = !g.quiet && !std::io::stderr().is_terminal();
    let mut last_log = Instant::now();
    let mut level = -90.0f32;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let s = recorder.status();
        // Falls by 1.5 dB per tick so that short peaks stay visible.
        level = s.peak_dbfs.max(level - 1.5).max(-90.0);
        bar.set_message(format!(
            "● REC {}  {} {:>4.0} dBFS",
            clock(s.seconds),
            meter(level),
            level
        ));
        if let Some(l) = live.as_deref_mut() {
            l.show(&bar, g);
        }
        if plain_log && last_log.elapsed() >= Duration::from_secs(60) {
            tracing::info!("recorded {}", clock(s.seconds));
            last_log = Instant::now();
        }
        if s.finished || INTERRUPTS.load(Ordering::SeqCst) > 0 {
            bar.finish_and_clear();
            return s;
        }
    }
}

pub fn devices(g: &Globals) -> anyhow::Result<ExitCode> {
    let list = record::list_input_devices()?;
    if list.is_empty() {
        return Err(record::RecordError::NoInput.into());
    }
    if g.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    for d in &list {
        let mark = if d.is_default { "*" } else { " " };
        let default = d
            .default_format
            .map(|f| {
                format!(
                    "  [default {} Hz, {} ch, {}]",
                    f.rate, f.channels, f.sample_format
                )
            })
            .unwrap_or_default();
        println!("{mark} {}  {}{default}", d.id, d.name);
        for line in compact_formats(&d.formats) {
            println!("      {line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per sample format and rate range, channel counts joined ("1–64 ch"): virtual
/// devices offer every combination.
fn compact_formats(formats: &[record::FormatRange]) -> Vec<String> {
    let mut groups: Vec<((String, u32, u32), Vec<u16>)> = Vec::new();
    for f in formats {
        let key = (f.sample_format.clone(), f.min_rate, f.max_rate);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, ch)) => ch.push(f.channels),
            None => groups.push((key, vec![f.channels])),
        }
    }
    groups
        .into_iter()
        .map(|((fmt, lo, hi), mut ch)| {
            ch.sort_unstable();
            ch.dedup();
            let contiguous = ch.windows(2).all(|w| w[1] == w[0] + 1);
            let channels = match (ch.first(), ch.last()) {
                (Some(a), Some(b)) if a != b && contiguous => format!("{a}–{b}"),
                _ => ch
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            let rates = if lo == hi {
                format!("{lo} Hz")
            } else {
                format!("{lo}–{hi} Hz")
            };
            format!("{fmt}: {channels} ch, {rates}")
        })
        .collect()
}
