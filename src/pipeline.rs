//! One recording through the whole chain: decode → VAD → Whisper → (diarization) → Transcript.
//!
//! Owns the order of the stages and the bounded audio buffer between them: the recording is
//! decoded in blocks, speech regions are grouped into chunks of at most ~28 s, each chunk is
//! transcribed as soon as its regions are final, and audio older than what is still needed is
//! dropped, so memory stays flat however long the meeting. Chunk times are mapped back to the
//! original timeline. It never writes files (the CLI does) and never touches the archive.

use crate::asr::{AsrOptions, Pool, Session, Transcriber, WordTiming};
use crate::audio::{Decoder16k, SAMPLE_RATE};
use crate::transcript::{ModelInfo, Segment, Source, Span, Transcript, SCHEMA_VERSION};
use crate::vad::{SpeechDetector, VadOptions};
use anyhow::{bail, Context};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Everything `transcribe` can be told.
#[derive(Debug, Clone)]
pub struct TranscribeOptions {
    /// ggml Whisper model file.
    pub model: PathBuf,
    /// ggml Silero VAD model file; `None` transcribes everything (no VAD).
    pub vad_model: Option<PathBuf>,
    /// "ja", "en", ... or `None` to detect.
    pub language: Option<String>,
    pub threads: usize,
    /// Beam size; 1 = greedy.
    pub beam: usize,
    /// Initial prompt (glossary terms and/or free text).
    pub prompt: Option<String>,
    /// Run speaker diarization.
    pub diarize: bool,
    pub num_speakers: Option<usize>,
    pub min_speakers: Option<usize>,
    pub max_speakers: Option<usize>,
    /// Which diarization path (classic is the default; see `diarize::DiarizerKind`).
    pub diarizer: crate::diarize::DiarizerKind,
    /// Data folder holding enrolled voiceprints (diarization names speakers from it).
    pub data: Option<PathBuf>,
    /// Told how far the work is (the web server's job progress); the CLI draws a bar instead.
    pub progress: Option<Progress>,
    /// Decode chunks on `threads` whisper states at once, one thread each (else one state
    /// with `threads` threads, each chunk prompted with the previous chunk's text).
    pub parallel: bool,
    /// Word times from DTW (flash attention off) or from token timestamps (flash attention on).
    pub word_timing: WordTiming,
    /// The recording is sealed with this key (a web upload in an archive with a key): it is
    /// decrypted as it streams, and its sha256 is that of the plain recording.
    pub input_key: Option<std::sync::Arc<crate::crypt::Key>>,
}

/// What the pipeline is doing, for a progress report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Decoding, voice activity and Whisper run together, block by block.
    Transcribing,
    /// Clustering the voices of the whole recording (after the last block).
    Diarizing,
}

/// Receives `(stage, seconds done, seconds in all)`; the total is 0 when the container does not
/// tell the duration.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(Stage, f64, f64) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress(..)")
    }
}

impl Progress {
    fn report(p: &Option<Progress>, stage: Stage, done: f64, total: f64) {
        if let Some(p) = p {
            (p.0)(stage, done, total);
        }
    }
}

impl TranscribeOptions {
    pub fn new(model: PathBuf) -> Self {
        TranscribeOptions {
            model,
            vad_model: None,
            language: None,
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            beam: 5,
            prompt: None,
            diarize: false,
            num_speakers: None,
            min_speakers: None,
            diarizer: Default::default(),
            max_speakers: None,
            data: None,
            progress: None,
            parallel: true,
            word_timing: WordTiming::default(),
            input_key: None,
        }
    }
}

/// Upper bound of speech in one Whisper call: one 30 s window with a margin.
const CHUNK_SECONDS: f64 = 28.0;
/// Without VAD, the recording is cut into windows of this length.
const PLAIN_WINDOW_SECONDS: f64 = 28.0;
/// Audio kept behind the decoding position while no region is pending: the VAD reports a
/// region up to one 30.72 s analysis slice (plus padding) after it began.
const KEEP_BEHIND_SECONDS: f64 = 70.0;

/// Audio between `start` (absolute sample) and the decoding position.
struct Window {
    start: usize,
    samples: Vec<f32>,
}

impl Window {
    fn end(&self) -> usize {
        self.start + self.samples.len()
    }
    fn slice(&self, span: &Span) -> &[f32] {
        let a = ((span.start * SAMPLE_RATE as f64).round() as usize).clamp(self.start, self.end());
        let b = ((span.end * SAMPLE_RATE as f64).round() as usize).clamp(a, self.end());
        &self.samples[a - self.start..b - self.start]
    }
    fn drop_before(&mut self, sample: usize) {
        if sample > self.start {
            let n = (sample - self.start).min(self.samples.len());
            self.samples.drain(..n);
            self.start += n;
        }
    }
}

/// Where each piece of a chunk came from: (offset in chunk, start on the timeline, length), s.
struct TimeMap(Vec<(f64, f64, f64)>);

impl TimeMap {
    fn map(&self, t: f64) -> f64 {
        let mut best = self.0.first().map(|p| p.1).unwrap_or(0.0);
        for &(off, orig, len) in &self.0 {
            if t >= off {
                best = orig + (t - off).min(len);
            }
        }
        best
    }
}

/// Chunks on their way through Whisper: numbered as they are cut, decoded on one session or on
/// a pool of states, and handed back strictly in cutting order (so the transcript does not
/// depend on which thread finished first).
struct Chunks<'scope, 't> {
    /// The single session, until it becomes the pool's first state.
    session: Option<Session<'t>>,
    pool: Option<Pool<'scope>>,
    workers: usize,
    language: Option<String>,
    next_id: usize,
    next_emit: usize,
    maps: BTreeMap<usize, TimeMap>,
    done: BTreeMap<usize, Vec<Segment>>,
}

impl<'scope, 't: 'scope> Chunks<'scope, 't> {
    fn submit(
        &mut self,
        t: &'t Transcriber,
        scope: &'scope std::thread::Scope<'scope, '_>,
        audio: Vec<f32>,
        map: TimeMap,
        last: bool,
        out: &mut Vec<Segment>,
    ) -> anyhow::Result<()> {
        let id = self.next_id;
        self.next_id += 1;
        self.maps.insert(id, map);
        // The pool starts once the language is known: a detected language comes from the
        // first chunk, decoded alone with every thread. A recording of one chunk is decoded the
        // same way (a pool would leave all threads but one idle).
        let alone = last && id == 0;
        if self.workers > 1 && self.pool.is_none() && !alone {
            if let Some(s) = self.session.take_if(|s| s.language().is_some()) {
                self.language = s.language().map(str::to_string);
                self.pool = Some(Pool::start(t, scope, s, self.workers)?);
            }
        }
        match (&mut self.pool, &mut self.session) {
            (Some(p), _) => {
                if last {
                    for (i, r) in p.submit_last(id, audio)? {
                        self.done.insert(i, r?.segments);
                    }
                } else {
                    p.submit(id, audio)?;
                }
                for (i, r) in p.ready() {
                    self.done.insert(i, r?.segments);
                }
            }
            (None, Some(s)) => {
                let r = s.transcribe(&audio)?;
                self.done.insert(id, r.segments);
            }
            (None, None) => bail!("no decoding state"),
        }
        self.emit(out);
        Ok(())
    }

    fn emit(&mut self, out: &mut Vec<Segment>) {
        while let Some(segs) = self.done.remove(&self.next_emit) {
            let map = self
                .maps
                .remove(&self.next_emit)
                .unwrap_or(TimeMap(Vec::new()));
            for mut s in segs {
                s.start = map.map(s.start);
                s.end = map.map(s.end).max(s.start);
                for w in &mut s.words {
                    w.start = map.map(w.start);
                    w.end = map.map(w.end).max(w.start);
                }
                out.push(s);
            }
            self.next_emit += 1;
        }
    }

    /// Waits for the chunks still decoding; returns the language used.
    fn finish(mut self, out: &mut Vec<Segment>) -> anyhow::Result<Option<String>> {
        if let Some(p) = self.pool.take() {
            for (i, r) in p.finish() {
                self.done.insert(i, r?.segments);
            }
        }
        self.emit(out);
        if self.next_emit != self.next_id {
            bail!(
                "a decoding thread stopped before chunk {} was done",
                self.next_emit
            );
        }
        Ok(self
            .session
            .as_ref()
            .and_then(|s| s.language().map(str::to_string))
            .or(self.language))
    }
}

/// Transcribes one recording file.
pub fn transcribe_file(path: &Path, opts: &TranscribeOptions) -> anyhow::Result<Transcript> {
    if path.is_dir() {
        bail!("{} is a folder, not an audio file", path.display());
    }
    let key = opts.input_key.as_deref();
    let mut decoder = Decoder16k::open_sealed(path, key)?;
    let info = decoder.info().clone();
    let sha256 = match key {
        Some(k) => crate::util::sha256_reader(crate::crypt::open_plain(path, Some(k))?.0)
            .with_context(|| format!("cannot read {}", path.display()))?,
        None => crate::util::sha256_file(path)?,
    };
    let transcriber = Transcriber::load_with(&opts.model, opts.word_timing)?;
    let asr_opts = AsrOptions {
        language: opts.language.clone(),
        threads: opts.threads,
        beam: opts.beam,
        prompt: opts.prompt.clone(),
        // Parallel chunks cannot wait for the previous chunk's text.
        condition_on_previous: !opts.parallel,
    };
    let session = transcriber.session(&asr_opts)?;
    let mut vad = match &opts.vad_model {
        // Diarization reads the same speech probabilities with its own, finer rules.
        Some(m) if opts.diarize => Some(
            SpeechDetector::new(m, VadOptions::default())?
                .with_secondary(VadOptions::for_diarization())?,
        ),
        Some(m) => Some(SpeechDetector::new(m, VadOptions::default())?),
        None => None,
    };
    let models_dir = opts.model.parent().unwrap_or(Path::new(".")).to_path_buf();
    let encoder = if opts.diarize {
        if vad.is_none() {
            bail!(
                "--diarize needs the VAD model (ggml-silero-vad.bin in {})",
                models_dir.display()
            );
        }
        Some(
            crate::diarize::SpeakerEncoder::from_models_dir(&models_dir)
                .context("cannot load the speaker encoder")?,
        )
    } else {
        None
    };
    // The segmentation model refines turns and finds overlapped speech; without it (a models
    // folder set up before it existed) diarization still works, one speaker at a time.
    let segmentation = match &encoder {
        Some(_) => {
            let m = crate::diarize::speech::load_segmentation(&models_dir)?;
            if m.is_none() {
                tracing::warn!(
                    "no {} in {}: speaker turns without overlap detection (run scripts/setup.sh)",
                    crate::diarize::speech::SEGMENTATION_FILE,
                    models_dir.display()
                );
            }
            m
        }
        None => None,
    };
    let mut diarizer = match &encoder {
        Some(enc) => {
            let data = opts.data.clone().unwrap_or_else(|| PathBuf::from("data"));
            let mut dopts = crate::diarize::DiarizeOptions::for_meeting(
                opts.num_speakers,
                opts.min_speakers,
                opts.max_speakers,
                &data,
            )?;
            dopts.diarizer = opts.diarizer;
            let d = crate::diarize::Diarizer::new(enc, dopts);
            Some(match &segmentation {
                Some(m) => d.with_segmentation(m),
                None => d,
            })
        }
        None => None,
    };

    let pb = crate::progress::bar(info.duration.unwrap_or(0.0).round() as u64, "transcribing");
    let sr = SAMPLE_RATE as f64;
    let mut window = Window {
        start: 0,
        samples: Vec::new(),
    };
    let mut pending: Vec<Span> = Vec::new();
    let mut speech: Vec<Span> = Vec::new();
    let mut segments: Vec<Segment> = Vec::new();
    let mut plain_from = 0.0f64; // without VAD: start of the next fixed window

    let transcriber_ref = &transcriber;
    let detected = std::thread::scope(|scope| -> anyhow::Result<Option<String>> {
        let mut chunks = Chunks {
            session: Some(session),
            pool: None,
            workers: if opts.parallel { opts.threads } else { 1 },
            language: None,
            next_id: 0,
            next_emit: 0,
            maps: BTreeMap::new(),
            done: BTreeMap::new(),
        };
        let mut run_chunk = |regions: &[Span],
                             window: &Window,
                             last: bool,
                             segments: &mut Vec<Segment>|
         -> anyhow::Result<()> {
            let mut audio = Vec::new();
            let mut map = Vec::new();
            for r in regions {
                let piece = window.slice(r);
                map.push((audio.len() as f64 / sr, r.start, piece.len() as f64 / sr));
                audio.extend_from_slice(piece);
            }
            chunks.submit(transcriber_ref, scope, audio, TimeMap(map), last, segments)
        };

        loop {
            if crate::asr::abort_requested() {
                bail!("interrupted");
            }
            let block = decoder.next_block()?;
            let done = block.is_none();
            let block = block.unwrap_or_default();
            let block_start = window.end() as f64 / sr;
            if let Some(d) = diarizer.as_mut() {
                if !block.is_empty() {
                    d.push_audio(block_start, &block)?;
                }
            }
            window.samples.extend_from_slice(&block);
            let pos = window.end() as f64 / sr;
            pb.set_position(pos as u64);
            Progress::report(
                &opts.progress,
                Stage::Transcribing,
                pos,
                info.duration.unwrap_or(0.0),
            );

            let mut finished = Vec::new();
            match vad.as_mut() {
                Some(v) => {
                    if !block.is_empty() {
                        finished.extend(v.push(&block)?);
                    }
                    if done {
                        finished.extend(v.finish()?);
                    }
                }
                None => {
                    while pos - plain_from >= PLAIN_WINDOW_SECONDS || (done && pos > plain_from) {
                        let end = (plain_from + PLAIN_WINDOW_SECONDS).min(pos);
                        finished.push(Span::new(plain_from, end));
                        plain_from = end;
                    }
                }
            }
            if let (Some(d), Some(v)) = (diarizer.as_mut(), vad.as_mut()) {
                for r in v.take_secondary() {
                    d.push_speech(r)?;
                }
            }
            for r in finished {
                speech.push(r);
                pending.push(r);
            }
            // Transcribe full chunks now; everything at the end.
            loop {
                let mut total = 0.0;
                let mut n = 0;
                while n < pending.len()
                    && (n == 0 || total + pending[n].duration() <= CHUNK_SECONDS)
                {
                    total += pending[n].duration();
                    n += 1;
                }
                let full = n < pending.len() || total >= CHUNK_SECONDS * 0.85;
                if n == 0 || !(full || done) {
                    break;
                }
                let chunk: Vec<Span> = pending.drain(..n).collect();
                run_chunk(&chunk, &window, done && pending.is_empty(), &mut segments)?;
            }
            let keep_from = pending
                .first()
                .map(|r| r.start)
                .unwrap_or(pos - KEEP_BEHIND_SECONDS)
                .min(pos - KEEP_BEHIND_SECONDS.min(pos));
            window.drop_before((keep_from.max(0.0) * sr) as usize);
            if done {
                break;
            }
        }
        chunks.finish(&mut segments)
    })?;
    pb.finish_and_clear();
    let duration = window.end() as f64 / sr;
    if duration == 0.0 {
        bail!("{} holds no audio samples", path.display());
    }
    for (i, s) in segments.iter_mut().enumerate() {
        s.id = i;
    }
    let language = detected
        .or_else(|| opts.language.clone())
        .unwrap_or_else(|| "und".into());
    let mut transcript = Transcript {
        schema_version: SCHEMA_VERSION,
        source: Source {
            path: path.display().to_string(),
            file_name: path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            sha256,
            duration,
            sample_rate: info.sample_rate,
            channels: info.channels,
            codec: info.codec.clone(),
        },
        language,
        model: ModelInfo {
            name: transcriber.model_name.clone(),
            file: opts
                .model
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            vad: opts.vad_model.as_ref().map(|p| {
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            }),
            speaker_encoder: encoder
                .as_ref()
                .map(|_| crate::diarize::ENCODER_FILE.to_string()),
            segmentation: segmentation
                .as_ref()
                .map(|_| crate::diarize::speech::SEGMENTATION_FILE.to_string()),
        },
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        speech,
        segments,
        speakers: Vec::new(),
        turns: Vec::new(),
    };
    if let Some(d) = diarizer {
        let sp = crate::progress::spinner("clustering speakers");
        let total = transcript.source.duration;
        Progress::report(&opts.progress, Stage::Diarizing, total, total);
        let result = d.finish()?;
        sp.finish_and_clear();
        crate::diarize::assign_speakers(&mut transcript, &result);
    }
    Ok(transcript)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_chunk_times_back_to_the_timeline() {
        // Two regions: 10–15 s and 40–42 s, concatenated into a 7 s chunk.
        let m = TimeMap(vec![(0.0, 10.0, 5.0), (5.0, 40.0, 2.0)]);
        assert_eq!(m.map(0.0), 10.0);
        assert_eq!(m.map(4.5), 14.5);
        assert_eq!(m.map(5.5), 40.5);
        assert_eq!(m.map(9.0), 42.0); // past the end clamps to the last region's end
    }
}
