//! Speech recognition: 16 kHz speech in, timed segments and words out, with whisper.cpp.
//!
//! Owns the Whisper context, decoding options, word timing and the guards against Whisper's
//! known failures (repetition loops, text hallucinated on silence). Never reads files other
//! than the model, never sees speakers, never writes the archive.

mod guards;
mod words;

use crate::transcript::{Segment, Word};
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use whisper_rs::{
    DtwMode, DtwParameters, FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters,
    WhisperState,
};

/// Set by Ctrl-C (see `request_abort`); whisper.cpp polls it between decoding steps.
static ABORT: AtomicBool = AtomicBool::new(false);

/// Asks every running transcription to stop as soon as it can.
pub fn request_abort() {
    ABORT.store(true, Ordering::SeqCst);
}

pub fn abort_requested() -> bool {
    ABORT.load(Ordering::SeqCst)
}

// The raw callback reads a static: whisper-rs 0.16's `set_abort_callback_safe` passes a
// dangling pointer for capturing closures (shared notes), so no closure state is used.
unsafe extern "C" fn abort_callback(_user: *mut std::ffi::c_void) -> bool {
    ABORT.load(Ordering::Relaxed)
}

/// Decoding work done in this process, for `bench asr`: how often a chunk costs more than one
/// encoder pass and one decoding pass (whisper.cpp's seeking and temperature fallback, and the
/// repetition guard's own re-decode).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DecodeCounts {
    /// Chunks given to `Session::transcribe` (speech under 0.1 s not counted).
    pub chunks: u64,
    /// `whisper_full` calls (a chunk decoded again by the repetition guard counts twice).
    pub full_calls: u64,
    /// Encoder passes: one per 30 s window whisper.cpp reads; a chunk whose decoded text ends
    /// before its end is read again from the last timestamp.
    pub encoder_passes: u64,
    /// Temperature fallbacks: a window decoded again at a higher temperature.
    pub fallbacks: u64,
    /// Chunks decoded again by the repetition guard.
    pub guard_redecodes: u64,
}

static COUNT_CHUNKS: AtomicU64 = AtomicU64::new(0);
static COUNT_FULL: AtomicU64 = AtomicU64::new(0);
static COUNT_ENCODER: AtomicU64 = AtomicU64::new(0);
static COUNT_FALLBACKS: AtomicU64 = AtomicU64::new(0);
static COUNT_GUARD: AtomicU64 = AtomicU64::new(0);

/// The decoding work counted since the process started.
pub fn decode_counts() -> DecodeCounts {
    DecodeCounts {
        chunks: COUNT_CHUNKS.load(Ordering::Relaxed),
        full_calls: COUNT_FULL.load(Ordering::Relaxed),
        encoder_passes: COUNT_ENCODER.load(Ordering::Relaxed),
        fallbacks: COUNT_FALLBACKS.load(Ordering::Relaxed),
        guard_redecodes: COUNT_GUARD.load(Ordering::Relaxed),
    }
}

/// Counts of one `whisper_full` call, filled by whisper.cpp's callbacks (the decoders of one
/// step may run on several threads, hence atomics).
#[derive(Default)]
struct CallTally {
    encoder_passes: std::sync::atomic::AtomicU32,
    /// Decoders started (the logits filter sees an empty sequence): `beam` per window at
    /// temperature 0, then 1 per fallback with beam search, `best_of` with greedy decoding.
    decoder_starts: std::sync::atomic::AtomicU32,
}

unsafe extern "C" fn count_encoder_pass(
    _ctx: *mut whisper_rs::whisper_rs_sys::whisper_context,
    _state: *mut whisper_rs::whisper_rs_sys::whisper_state,
    user: *mut std::ffi::c_void,
) -> bool {
    // SAFETY: `user` is the `CallTally` that `decode` keeps alive across `full`.
    let tally = unsafe { &*(user as *const CallTally) };
    tally.encoder_passes.fetch_add(1, Ordering::Relaxed);
    true
}

unsafe extern "C" fn count_decoder_start(
    _ctx: *mut whisper_rs::whisper_rs_sys::whisper_context,
    _state: *mut whisper_rs::whisper_rs_sys::whisper_state,
    _tokens: *const whisper_rs::whisper_rs_sys::whisper_token_data,
    n_tokens: std::ffi::c_int,
    _logits: *mut f32,
    user: *mut std::ffi::c_void,
) {
    if n_tokens == 0 {
        // SAFETY: as in `count_encoder_pass`.
        let tally = unsafe { &*(user as *const CallTally) };
        tally.decoder_starts.fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Debug, Clone)]
pub struct AsrOptions {
    /// Language code, or `None` to detect it once from the first speech.
    pub language: Option<String>,
    pub threads: usize,
    /// Beam width; 1 = greedy decoding.
    pub beam: usize,
    /// Fixed prompt: glossary terms (member names, places, ordinances) and/or free text.
    pub prompt: Option<String>,
    /// Condition each chunk on the previous chunk's text (as faster-whisper does).
    pub condition_on_previous: bool,
}

impl Default for AsrOptions {
    fn default() -> Self {
        AsrOptions {
            language: None,
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            beam: 5,
            prompt: None,
            condition_on_previous: true,
        }
    }
}

/// How word times are found; chosen when the model is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WordTiming {
    /// Cross-attention DTW on the alignment heads: the finest word starts, but whisper.cpp
    /// cannot use flash attention with it.
    #[default]
    Dtw,
    /// whisper.cpp's token timestamps, with flash attention on (faster decoding).
    Tokens,
}

/// A loaded Whisper model.
pub struct Transcriber {
    ctx: WhisperContext,
    pub model_path: PathBuf,
    pub model_name: String,
    multilingual: bool,
    pub word_timing: WordTiming,
}

/// Keeps decoding state between chunks of one recording.
pub struct Session<'t> {
    t: &'t Transcriber,
    state: WhisperState,
    opts: AsrOptions,
    language: Option<String>,
    previous_text: String,
}

impl Transcriber {
    pub fn load(model: &Path) -> anyhow::Result<Transcriber> {
        Self::load_with(model, WordTiming::default())
    }

    pub fn load_with(model: &Path, timing: WordTiming) -> anyhow::Result<Transcriber> {
        whisper_rs::install_logging_hooks();
        let header = crate::models::read_ggml_header(model)?;
        let card = crate::models::read_card(model);
        let model_name = card.as_ref().map(|c| c.name.clone()).unwrap_or_else(|| {
            model
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .trim_start_matches("ggml-")
                .to_string()
        });
        // DTW word timing needs the alignment heads; flash attention must stay off for it.
        let mut params = WhisperContextParameters {
            flash_attn: timing == WordTiming::Tokens,
            ..Default::default()
        };
        let heads: Vec<(usize, usize)> = card.map(|c| c.alignment_heads).unwrap_or_default();
        if !heads.is_empty() && timing == WordTiming::Dtw {
            // whisper.cpp keeps this pointer for the context's lifetime: leak the few bytes once
            // per loaded model.
            let aheads: &'static [whisper_rs::whisper_rs_sys::whisper_ahead] = Box::leak(
                heads
                    .iter()
                    .map(|&(l, h)| whisper_rs::whisper_rs_sys::whisper_ahead {
                        n_text_layer: l as i32,
                        n_head: h as i32,
                    })
                    .collect::<Vec<_>>()
                    .into_boxed_slice(),
            );
            params.dtw_parameters = DtwParameters {
                mode: DtwMode::Custom { aheads },
                ..Default::default()
            };
        }
        let path_str = model.to_str().context("model path is not UTF-8")?;
        let ctx = WhisperContext::new_with_params(path_str, params).map_err(|e| {
            anyhow::anyhow!(
                "whisper.cpp could not load {} ({e}): not a valid Whisper ggml model",
                model.display()
            )
        })?;
        Ok(Transcriber {
            ctx,
            model_path: model.to_path_buf(),
            model_name,
            multilingual: header.n_vocab >= 51865,
            word_timing: timing,
        })
    }

    pub fn is_multilingual(&self) -> bool {
        self.multilingual
    }

    /// Starts a recording: decoding options and context carried from chunk to chunk.
    pub fn session(&self, opts: &AsrOptions) -> anyhow::Result<Session<'_>> {
        let mut language = opts.language.clone().filter(|l| l != "auto");
        if let Some(l) = &language {
            if whisper_rs::get_lang_id(l).is_none() {
                bail!(
                    "unknown language '{l}' (use a Whisper language code such as ja, en, or auto)"
                );
            }
            if !self.multilingual && l != "en" {
                bail!(
                    "model {} is English-only: it cannot transcribe '{l}'",
                    self.model_name
                );
            }
        }
        if !self.multilingual {
            language = Some("en".into());
        }
        if opts.threads == 0 || opts.beam == 0 {
            bail!("--threads and --beam must be at least 1");
        }
        let state = self
            .ctx
            .create_state()
            .context("whisper.cpp could not create a decoding state")?;
        Ok(Session {
            t: self,
            state,
            opts: opts.clone(),
            language,
            previous_text: String::new(),
        })
    }
}

/// Decodes independent chunks on several whisper states at once, one thread each, in scoped
/// threads: ggml's threading gains little on base-sized matrices, so N single-threaded states
/// keep N cores busier than one state with N threads. One context (the weights) is shared;
/// each state adds only its KV caches and compute buffers. Chunks are decoded without the
/// previous chunk's text (it is not known yet), so the results do not depend on timing.
///
/// The recording's last chunk may be decoded by one state with every thread once the others
/// are done ([`Pool::submit_last`]): otherwise the cores but one idle while it decodes (three
/// 28 s chunks on two states took two chunk-times; this way about 1.6).
pub struct Pool<'scope> {
    jobs: Option<std::sync::mpsc::SyncSender<Job>>,
    results: std::sync::mpsc::Receiver<Done>,
    workers: Vec<std::thread::ScopedJoinHandle<'scope, ()>>,
    in_flight: usize,
    /// What each worker is decoding: since when, and how many seconds of audio.
    running: Running,
    /// Decoding seconds and audio seconds of the chunks done so far (one thread each).
    decoded: (f64, f64),
}

/// Per worker, the chunk it is decoding: since when, and how many seconds of audio.
type Running = std::sync::Arc<std::sync::Mutex<Vec<Option<(std::time::Instant, f64)>>>>;
/// A chunk to decode: its number, its samples and the threads to decode it with.
type Job = (usize, Vec<f32>, usize);
/// A decoded chunk: its number, the result, and (wall seconds, audio seconds, threads).
type Done = (usize, anyhow::Result<ChunkResult>, (f64, f64, usize));

/// Wall-time speed-up of one state decoding with `n` threads over one thread. Measured for 2 on
/// the 2-core machine of the benchmarks (a 28 s chunk: 6.8–7.4 s on 1 thread, 4.2 s on 2, so
/// 1.6–1.75); assumed to grow the same way beyond.
fn thread_speedup(n: usize) -> f64 {
    (0.8 * n as f64).max(1.0)
}

/// Whether the last chunk (`seconds` of audio) ends sooner waiting for the chunks still
/// decoding (`(seconds decoding so far, seconds of audio)` each) and then taking all `workers`
/// threads, than decoding now on one. `pace` is decoding seconds per audio second on one
/// thread, from the chunks done (unknown: no).
pub fn last_alone_pays(
    pace: Option<f64>,
    others: &[(f64, f64)],
    seconds: f64,
    workers: usize,
) -> bool {
    let Some(pace) = pace else {
        return false;
    };
    let others_left = others
        .iter()
        .map(|&(elapsed, s)| (pace * s - elapsed).max(0.0))
        .fold(0.0, f64::max);
    let alone = pace * seconds;
    workers > 1 && others_left + alone / thread_speedup(workers) < alone
}

impl<'scope> Pool<'scope> {
    /// Turns `first` (whose language must be known: detect it on the first chunk) into the
    /// first of `workers` states; the others decode in the same language with the same options.
    pub fn start<'env>(
        t: &'env Transcriber,
        scope: &'scope std::thread::Scope<'scope, '_>,
        mut first: Session<'env>,
        workers: usize,
    ) -> anyhow::Result<Pool<'scope>>
    where
        'env: 'scope,
    {
        let Some(language) = first.language.clone() else {
            bail!("the decoding pool needs the language (detect it on the first chunk)");
        };
        let opts = AsrOptions {
            threads: 1,
            condition_on_previous: false,
            language: Some(language),
            ..first.opts.clone()
        };
        first.opts = opts.clone();
        first.previous_text.clear();
        let mut sessions = vec![first];
        for _ in 1..workers.max(1) {
            sessions.push(t.session(&opts)?);
        }
        // Bounded: at most `workers` chunks wait, so audio held stays a few chunks however long
        // the recording.
        let (jobs, job_rx) = std::sync::mpsc::sync_channel::<Job>(workers.max(1));
        let job_rx = std::sync::Arc::new(std::sync::Mutex::new(job_rx));
        let (res_tx, results) = std::sync::mpsc::channel();
        let running = std::sync::Arc::new(std::sync::Mutex::new(vec![None; sessions.len()]));
        let mut handles = Vec::new();
        for (k, mut session) in sessions.into_iter().enumerate() {
            let job_rx = job_rx.clone();
            let res_tx = res_tx.clone();
            let running = running.clone();
            let h = std::thread::Builder::new()
                .name("whisper".into())
                .spawn_scoped(scope, move || loop {
                    let job = job_rx.lock().map(|rx| rx.recv());
                    let Ok(Ok((id, audio, threads))) = job else {
                        return; // channel closed (or poisoned): no more chunks
                    };
                    let seconds = audio.len() as f64 / crate::audio::SAMPLE_RATE as f64;
                    let t0 = std::time::Instant::now();
                    if let Ok(mut r) = running.lock() {
                        r[k] = Some((t0, seconds));
                    }
                    session.opts.threads = threads.max(1);
                    let r = session.transcribe(&audio);
                    session.opts.threads = 1;
                    if let Ok(mut r) = running.lock() {
                        r[k] = None;
                    }
                    let took = t0.elapsed().as_secs_f64();
                    if res_tx.send((id, r, (took, seconds, threads))).is_err() {
                        return;
                    }
                })
                .context("cannot start a decoding thread")?;
            handles.push(h);
        }
        Ok(Pool {
            jobs: Some(jobs),
            results,
            workers: handles,
            in_flight: 0,
            running,
            decoded: (0.0, 0.0),
        })
    }

    /// Queues one chunk (blocks while every state is busy and the queue is full).
    pub fn submit(&mut self, id: usize, audio: Vec<f32>) -> anyhow::Result<()> {
        self.send((id, audio, 1))
    }

    fn send(&mut self, job: Job) -> anyhow::Result<()> {
        let tx = self.jobs.as_ref().context("decoding pool already closed")?;
        tx.send(job)
            .map_err(|_| anyhow::anyhow!("the decoding threads stopped"))?;
        self.in_flight += 1;
        Ok(())
    }

    fn note(&mut self, done: Done) -> (usize, anyhow::Result<ChunkResult>) {
        let (id, r, (took, seconds, threads)) = done;
        self.in_flight -= 1;
        if threads == 1 && seconds > 0.0 {
            self.decoded.0 += took;
            self.decoded.1 += seconds;
        }
        (id, r)
    }

    /// Queues the recording's last chunk. When the other states would idle while it decodes on
    /// one thread, it waits for them and is decoded with every thread instead: that is when the
    /// chunks still decoding are estimated (from the pace of those done) to end sooner than
    /// what the extra threads save. Returns the results that came in while waiting.
    pub fn submit_last(
        &mut self,
        id: usize,
        audio: Vec<f32>,
    ) -> anyhow::Result<Vec<(usize, anyhow::Result<ChunkResult>)>> {
        let workers = self.workers.len();
        let mut out = Vec::new();
        if workers < 2 {
            self.submit(id, audio)?;
            return Ok(out);
        }
        // While every state is busy, the chunk would wait anyway.
        self.wait_until(workers - 1, &mut out)?;
        let seconds = audio.len() as f64 / crate::audio::SAMPLE_RATE as f64;
        let now = std::time::Instant::now();
        let others: Vec<(f64, f64)> = self
            .running
            .lock()
            .map(|r| {
                r.iter()
                    .flatten()
                    .map(|(since, s)| (now.duration_since(*since).as_secs_f64(), *s))
                    .collect()
            })
            .unwrap_or_default();
        let pace = (self.decoded.1 > 0.0).then(|| self.decoded.0 / self.decoded.1);
        let solo = self.in_flight == 0 || last_alone_pays(pace, &others, seconds, workers);
        if solo {
            self.wait_until(0, &mut out)?;
            tracing::debug!("last chunk ({seconds:.1} s) decoded with {workers} threads");
            self.send((id, audio, workers))?;
        } else {
            self.submit(id, audio)?;
        }
        Ok(out)
    }

    /// Waits for results until at most `in_flight` chunks are queued or decoding.
    fn wait_until(
        &mut self,
        in_flight: usize,
        out: &mut Vec<(usize, anyhow::Result<ChunkResult>)>,
    ) -> anyhow::Result<()> {
        while self.in_flight > in_flight {
            match self.results.recv() {
                Ok(d) => out.push(self.note(d)),
                Err(_) => bail!("the decoding threads stopped"),
            }
        }
        Ok(())
    }

    /// Results finished so far, without waiting.
    pub fn ready(&mut self) -> Vec<(usize, anyhow::Result<ChunkResult>)> {
        let mut out = Vec::new();
        while let Ok(d) = self.results.try_recv() {
            out.push(self.note(d));
        }
        out
    }

    /// Waits for every queued chunk and stops the threads.
    pub fn finish(mut self) -> Vec<(usize, anyhow::Result<ChunkResult>)> {
        self.jobs = None; // workers end once the queue is empty
        let mut out = Vec::new();
        while self.in_flight > 0 {
            match self.results.recv() {
                Ok(d) => out.push(self.note(d)),
                Err(_) => break,
            }
        }
        for h in self.workers.drain(..) {
            let _ = h.join();
        }
        out
    }
}

/// What one chunk of speech gave.
#[derive(Debug, Clone, Default)]
pub struct ChunkResult {
    /// Segments with times relative to the chunk's start.
    pub segments: Vec<Segment>,
}

impl Session<'_> {
    /// The language in use (known after the first chunk when it was detected).
    pub fn language(&self) -> Option<&str> {
        self.language.as_deref()
    }

    /// Transcribes one chunk of speech (16 kHz mono; Whisper works on ≤ 30 s windows and seeks
    /// by itself through longer ones). Times in the result are relative to the chunk.
    pub fn transcribe(&mut self, samples: &[f32]) -> anyhow::Result<ChunkResult> {
        if abort_requested() {
            bail!("interrupted");
        }
        if samples.len() < 1600 {
            // Under 0.1 s: nothing Whisper can read, and it may hallucinate on it.
            return Ok(ChunkResult::default());
        }
        COUNT_CHUNKS.fetch_add(1, Ordering::Relaxed);
        let first = self.decode(samples, 0.0)?;
        let segments = if guards::looks_broken(&first) {
            COUNT_GUARD.fetch_add(1, Ordering::Relaxed);
            // A repetition loop that whisper.cpp's own fallback did not catch: decode again
            // without the previous text (which often seeds loops) and a higher temperature.
            tracing::debug!("repetition detected, decoding the chunk again");
            self.previous_text.clear();
            let second = self.decode(samples, 0.4)?;
            if guards::looks_broken(&second) {
                guards::cut_repetitions(second)
            } else {
                second
            }
        } else {
            first
        };
        let segments = guards::drop_hallucinations(segments, samples);
        if self.opts.condition_on_previous {
            let text: String = segments
                .iter()
                .map(|s| s.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            self.previous_text = tail_chars(&text, 200);
        }
        Ok(ChunkResult { segments })
    }

    fn decode(&mut self, samples: &[f32], temperature: f32) -> anyhow::Result<Vec<Segment>> {
        let strategy = if self.opts.beam > 1 {
            SamplingStrategy::BeamSearch {
                beam_size: self.opts.beam as i32,
                patience: -1.0,
            }
        } else {
            SamplingStrategy::Greedy { best_of: 5 }
        };
        let mut p = FullParams::new(strategy);
        p.set_n_threads(self.opts.threads as i32);
        p.set_language(Some(self.language.as_deref().unwrap_or("auto")));
        p.set_translate(false);
        p.set_no_context(true);
        p.set_token_timestamps(true);
        p.set_print_progress(false);
        p.set_print_realtime(false);
        p.set_print_special(false);
        p.set_print_timestamps(false);
        p.set_suppress_blank(true);
        p.set_suppress_nst(true);
        // whisper.cpp's fallback: re-decode at +0.2 temperature when the entropy of the last
        // tokens is low (a loop) or the mean log-probability is poor.
        p.set_temperature(temperature);
        p.set_temperature_inc(0.2);
        p.set_entropy_thold(2.4);
        p.set_logprob_thold(-1.0);
        p.set_no_speech_thold(0.6);
        let prompt = build_prompt(self.opts.prompt.as_deref(), &self.previous_text);
        if !prompt.is_empty() {
            p.set_initial_prompt(&prompt);
        }
        // SAFETY: a plain function reading a static; no user data.
        unsafe {
            p.set_abort_callback(Some(abort_callback));
        }
        let tally = CallTally::default();
        // SAFETY: the callbacks only count into `tally`, which outlives `full` below.
        unsafe {
            let user = &tally as *const CallTally as *mut std::ffi::c_void;
            p.set_start_encoder_callback(Some(count_encoder_pass));
            p.set_start_encoder_callback_user_data(user);
            p.set_filter_logits_callback(Some(count_decoder_start));
            p.set_filter_logits_callback_user_data(user);
        }
        self.state
            .full(p, samples)
            .map_err(|e| anyhow::anyhow!("whisper.cpp failed to transcribe ({e})"))?;
        let passes = tally.encoder_passes.load(Ordering::Relaxed) as u64;
        let starts = tally.decoder_starts.load(Ordering::Relaxed) as u64;
        // Per window: `beam` decoders at temperature 0 (1 when greedy); each fallback starts 1
        // (beam search: whisper.cpp's best_of is unset) or `best_of` = 5 (greedy).
        let fallbacks = if self.opts.beam > 1 {
            starts.saturating_sub(passes * self.opts.beam as u64)
        } else {
            starts.saturating_sub(passes) / 5
        };
        COUNT_FULL.fetch_add(1, Ordering::Relaxed);
        COUNT_ENCODER.fetch_add(passes, Ordering::Relaxed);
        COUNT_FALLBACKS.fetch_add(fallbacks, Ordering::Relaxed);
        tracing::debug!(
            "chunk of {:.1} s: {passes} encoder pass(es), {fallbacks} fallback(s) at temperature {temperature}",
            samples.len() as f64 / 16000.0
        );
        if abort_requested() {
            bail!("interrupted");
        }
        if self.language.is_none() {
            let id = self.state.full_lang_id_from_state();
            let lang = whisper_rs::get_lang_str(id).unwrap_or("en").to_string();
            tracing::info!("detected language: {lang}");
            self.language = Some(lang);
        }
        let lang = self.language.clone().unwrap_or_default();
        let eot = self.t.ctx.token_eot();
        let mut out = Vec::new();
        for seg in self.state.as_iter() {
            let start = seg.start_timestamp() as f64 / 100.0;
            let end = seg.end_timestamp() as f64 / 100.0;
            let mut tokens = Vec::new();
            for i in 0..seg.n_tokens() {
                let Some(tok) = seg.get_token(i) else {
                    continue;
                };
                let d = tok.token_data();
                if d.id >= eot {
                    continue; // timestamps and other special tokens
                }
                let bytes = tok.to_bytes().unwrap_or_default().to_vec();
                tokens.push(words::Token {
                    bytes,
                    p: d.p,
                    plog: d.plog,
                    t0: d.t0 as f64 / 100.0,
                    t1: d.t1 as f64 / 100.0,
                    t_dtw: (d.t_dtw >= 0).then(|| d.t_dtw as f64 / 100.0),
                });
            }
            let text = seg
                .to_str_lossy()
                .map(|s| s.trim().to_string())
                .unwrap_or_default();
            if text.is_empty() {
                continue;
            }
            let avg_logprob = if tokens.is_empty() {
                0.0
            } else {
                tokens.iter().map(|t| t.plog).sum::<f32>() / tokens.len() as f32
            };
            let words: Vec<Word> = words::group(&tokens, &lang, start, end);
            out.push(Segment {
                id: 0,
                start,
                end,
                text,
                words,
                speaker: None,
                avg_logprob,
                no_speech_prob: seg.no_speech_probability(),
                temperature,
            });
        }
        Ok(out)
    }
}

/// Glossary/prompt first (it must survive truncation), then the tail of the previous text.
fn build_prompt(fixed: Option<&str>, previous: &str) -> String {
    let mut p = String::new();
    if let Some(f) = fixed {
        p.push_str(f.trim());
    }
    if !previous.is_empty() {
        if !p.is_empty() {
            p.push(' ');
        }
        p.push_str(previous);
    }
    p
}

fn tail_chars(s: &str, n: usize) -> String {
    let count = s.chars().count();
    s.chars().skip(count.saturating_sub(n)).collect()
}

/// Reads a glossary file: one term a line (`#` starts a comment), joined into a prompt.
pub fn glossary_prompt(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read glossary {}", path.display()))?;
    let terms: Vec<&str> = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .collect();
    if terms.is_empty() {
        bail!("glossary {} has no terms", path.display());
    }
    // Whisper's prompt holds at most 223 tokens; the glossary goes first, so keep it short.
    Ok(terms.join("、"))
}

#[cfg(test)]
mod tests {
    use super::last_alone_pays;

    #[test]
    fn the_last_chunk_waits_only_when_the_others_end_soon() {
        // Three 28 s chunks on two states at 0.25 s per audio second: the second chunk started
        // with the first and is nearly done, so the third waits and takes both threads.
        assert!(last_alone_pays(Some(0.25), &[(6.5, 28.0)], 28.0, 2));
        // Four chunks: the third has just started on the other state; waiting would cost more
        // than the second thread saves.
        assert!(!last_alone_pays(Some(0.25), &[(0.2, 28.0)], 28.0, 2));
        // A short last chunk is not worth a wait of 3 s.
        assert!(!last_alone_pays(Some(0.25), &[(4.0, 28.0)], 5.0, 2));
        // No pace measured yet, or one state only: decode as usual.
        assert!(!last_alone_pays(None, &[(6.5, 28.0)], 28.0, 2));
        assert!(!last_alone_pays(Some(0.25), &[], 28.0, 1));
    }
}
