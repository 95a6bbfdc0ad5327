//! The job worker: one thread that takes queued uploads one at a time and runs the same library
//! chain as `transcribe --diarize` → `minutes` → `archive add` (one job at a time, since
//! Whisper already uses every core). Progress is published to the server's live map.

use super::{AppState, Live};
use crate::archive::jobs::Job;
use crate::archive::{AlreadyArchived, Viewer};
use crate::pipeline::{Progress, Stage, TranscribeOptions};
use anyhow::Context;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) struct Worker {
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    /// Asks the running job to stop (whisper.cpp polls the abort flag) and waits briefly; the
    /// job stays 'running' in the catalog and is queued again at the next start.
    pub fn stop(mut self) {
        crate::asr::request_abort();
        if let Some(t) = self.thread.take() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

pub(crate) fn start(state: Arc<AppState>, wakes: Receiver<()>) -> anyhow::Result<Worker> {
    let thread = std::thread::Builder::new()
        .name("gijiroku-jobs".into())
        .spawn(move || run(state, wakes))
        .context("cannot start the job worker")?;
    Ok(Worker {
        thread: Some(thread),
    })
}

fn run(st: Arc<AppState>, wakes: Receiver<()>) {
    loop {
        if crate::asr::abort_requested() {
            return;
        }
        let job = match st.archive.lock() {
            Ok(a) => a.claim_job(),
            Err(_) => return,
        };
        match job {
            Ok(Some(job)) => {
                let id = job.id;
                let _ = st.changed.send(id);
                let result = process(&st, &job);
                if crate::asr::abort_requested() {
                    return; // stopping: the job is queued again at the next start
                }
                let outcome = match st.archive.lock() {
                    Ok(a) => match &result {
                        Ok(meeting) => a.finish_job(id, *meeting),
                        Err(e) => {
                            tracing::warn!("job {id} failed: {e:#}");
                            a.fail_job(id, &one_line(e))
                        }
                    },
                    Err(_) => return,
                };
                if let Err(e) = outcome {
                    tracing::error!("cannot record the end of job {id}: {e:#}");
                }
                if let Ok(mut live) = st.live.lock() {
                    live.remove(&id);
                }
                let _ = st.changed.send(id);
            }
            Ok(None) => {
                // Sleep until an upload wakes us (or look again in a while).
                match wakes.recv_timeout(Duration::from_secs(5)) {
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
                    _ => continue,
                }
            }
            Err(e) => {
                tracing::error!("cannot read the job queue: {e:#}");
                std::thread::sleep(Duration::from_secs(5));
            }
        }
    }
}

fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}")
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(500)
        .collect()
}

/// Publishes a job's stage and progress to the browsers.
fn publish(st: &AppState, id: i64, stage: &str, percent: f64, eta: Option<f64>) {
    if let Ok(mut live) = st.live.lock() {
        live.insert(
            id,
            Live {
                stage: stage.into(),
                percent: percent.clamp(0.0, 100.0),
                eta_seconds: eta,
            },
        );
    }
    let _ = st.changed.send(id);
}

fn set_stage(st: &AppState, job: &Job, stage: &str, percent: f64) {
    if let Ok(a) = st.archive.lock() {
        let _ = a.set_job_stage(job.id, stage);
    }
    publish(st, job.id, stage, percent, None);
}

/// Transcribes (with speakers when the models are there), drafts the minutes and archives
/// the meeting with its recording; returns the meeting id.
fn process(st: &Arc<AppState>, job: &Job) -> anyhow::Result<i64> {
    let o = &st.options;
    let viewer = {
        let a = st
            .archive
            .lock()
            .map_err(|_| anyhow::anyhow!("the archive is unavailable"))?;
        match a.user(&job.user)? {
            Some(u) => Viewer::for_user(&u),
            None => anyhow::bail!("the user {} who uploaded this no longer exists", job.user),
        }
    };
    let mut meta: crate::minutes::MeetingMeta =
        toml::from_str(&job.meta_toml).context("the job's meeting metadata is unreadable")?;
    if let Some(style) = &o.minutes_style {
        meta.apply_style(style)?;
    }
    let archive_meta = crate::archive::MeetingMeta::parse(&job.meta_toml, None)?;
    if !job.upload.exists() {
        anyhow::bail!("the uploaded file {} is missing", job.upload.display());
    }
    let model = crate::models::resolve_whisper(&o.models_dir, job.options.model.as_deref())?;
    let mut opts = TranscribeOptions::new(model);
    opts.vad_model = crate::models::vad_model(&o.models_dir);
    opts.language = job.options.language.clone();
    if let Some(t) = o.threads {
        opts.threads = t;
    }
    opts.diarize = opts.vad_model.is_some()
        && o.models_dir
            .join(crate::diarize::encoder::ENCODER_FILE)
            .exists();
    opts.num_speakers = job.options.speakers;
    opts.min_speakers = job.options.min_speakers;
    opts.max_speakers = job.options.max_speakers;
    opts.data = Some(o.data.clone());
    let started = Instant::now();
    let (id, pst) = (job.id, st.clone());
    let last = std::sync::Mutex::new(Instant::now() - Duration::from_secs(1));
    opts.progress = Some(Progress(Arc::new(move |stage, done, total| {
        // Transcription is 95 % of the work; the clustering after it the rest.
        let (name, pct) = match stage {
            Stage::Transcribing if total > 0.0 => ("transcribing", 95.0 * done / total),
            Stage::Transcribing => ("transcribing", 0.0),
            Stage::Diarizing => ("diarizing", 95.0),
        };
        let mut l = last.lock().unwrap_or_else(|e| e.into_inner());
        if l.elapsed() < Duration::from_millis(250) && stage == Stage::Transcribing {
            return;
        }
        *l = Instant::now();
        let secs = started.elapsed().as_secs_f64();
        let eta = (pct > 2.0 && secs > 2.0).then(|| secs * (100.0 - pct) / pct);
        publish(&pst, id, name, pct, eta);
    })));
    // A sealed upload (archive with a key) is read through the key; the transcript and the
    // drafts stay in memory until the archive stores them, so nothing of it is written plain.
    let key = st
        .archive
        .lock()
        .map_err(|_| anyhow::anyhow!("the archive is unavailable"))?
        .upload_key();
    opts.input_key = key.clone();
    set_stage(st, job, "transcribing", 0.0);
    let t = crate::pipeline::transcribe_file(&job.upload, &opts)
        .with_context(|| format!("cannot transcribe {}", job.file_name))?;

    set_stage(st, job, "drafting", 97.0);
    let folder = job.upload.parent().context("the upload has no folder")?;
    let transcript_json = serde_json::to_vec_pretty(&t)?;
    let minutes = crate::minutes::draft(
        &t,
        &meta,
        &crate::minutes::MinutesOptions::default().with_dictionary(&st.options.data),
    )
    .map_err(|e| anyhow::anyhow!("cannot draft the minutes: {e}"))?;
    let mut drafts = Vec::new();
    for f in [
        crate::minutes::Format::Docx,
        crate::minutes::Format::Markdown,
    ] {
        drafts.push((crate::minutes::render(&minutes, f)?, f.extension()));
    }

    set_stage(st, job, "archiving", 99.0);
    let mut a = st
        .archive
        .lock()
        .map_err(|_| anyhow::anyhow!("the archive is unavailable"))?;
    let meeting = match a.add_transcript_json(
        &transcript_json,
        &folder.join("transcript.json"),
        &archive_meta,
        Some((&job.upload, key.as_deref())),
    ) {
        Ok(m) => m,
        // Archived before a crash, not marked done: the same meeting.
        Err(e) => match e.downcast_ref::<AlreadyArchived>() {
            Some(dup) => dup.id,
            None => return Err(e),
        },
    };
    a.set_meeting_meta_toml(&viewer, meeting, &job.meta_toml)?;
    if a.show(&viewer, meeting)?.minutes.is_empty() {
        for (bytes, ext) in &drafts {
            a.attach_minutes_bytes(&viewer, meeting, bytes, ext)?;
        }
    }
    Ok(meeting)
}
