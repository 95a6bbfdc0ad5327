//! The running transcript: the recorder's blocks, brought to 16 kHz mono, cut into finished
//! speech regions by the VAD and transcribed a few seconds behind the speakers.
//!
//! It only shows the meeting as it goes; the transcript that is kept comes from the full
//! pipeline run on the whole file when the recording stops.

use crate::transcript::Span;
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

/// Whisper's rate.
const RATE: usize = 16_000;

/// Brings interleaved 16-bit blocks at the capture format to 16 kHz mono f32, streaming.
pub struct To16kMono {
    channels: usize,
    resampler: Option<Fft<f32>>,
    /// Mono samples at the capture rate waiting for a whole resampler chunk.
    mono: Vec<f32>,
    scratch: Vec<f32>,
    /// Output samples still to drop (the resampler's delay).
    skip: usize,
}

impl To16kMono {
    pub fn new(rate: u32, channels: u16) -> anyhow::Result<To16kMono> {
        let resampler = if rate as usize == RATE {
            None
        } else {
            // Small chunks: the live transcript waits for each one (1024 frames ≈ 21 ms at 48 kHz).
            let r = Fft::<f32>::new(rate as usize, RATE, 1024, 1, FixedSync::Input)
                .map_err(|e| anyhow::anyhow!("cannot resample from {rate} Hz: {e}"))?;
            Some(r)
        };
        let skip = resampler.as_ref().map_or(0, |r| r.output_delay());
        let scratch = vec![0.0; resampler.as_ref().map_or(0, |r| r.output_frames_max())];
        Ok(To16kMono {
            channels: channels.max(1) as usize,
            resampler,
            mono: Vec::new(),
            scratch,
            skip,
        })
    }

    /// Converts one block, appending the 16 kHz samples that are ready to `out`.
    pub fn push(&mut self, interleaved: &[i16], out: &mut Vec<f32>) -> anyhow::Result<()> {
        let scale = 1.0 / (32768.0 * self.channels as f32);
        self.mono.extend(
            interleaved
                .chunks_exact(self.channels)
                .map(|f| f.iter().map(|&s| s as f32).sum::<f32>() * scale),
        );
        let Some(r) = self.resampler.as_mut() else {
            out.append(&mut self.mono);
            return Ok(());
        };
        let mut pos = 0;
        while self.mono.len() - pos >= r.input_frames_next() {
            let need = r.input_frames_next();
            let input = InterleavedSlice::new(&self.mono[pos..pos + need], 1, need)
                .map_err(|e| anyhow::anyhow!("resampler input: {e}"))?;
            let cap = self.scratch.len();
            let mut output = InterleavedSlice::new_mut(&mut self.scratch[..], 1, cap)
                .map_err(|e| anyhow::anyhow!("resampler output: {e}"))?;
            let (_, produced) = r
                .process_into_buffer(&input, &mut output, Some(&Indexing::new()))
                .map_err(|e| anyhow::anyhow!("resampling failed: {e}"))?;
            let drop = self.skip.min(produced);
            self.skip -= drop;
            out.extend_from_slice(&self.scratch[drop..produced]);
            pos += need;
        }
        self.mono.drain(..pos);
        Ok(())
    }
}

/// Audio not yet transcribed, and the rule for which speech regions in it are finished.
///
/// A region is finished when the audio after its end is long enough that the VAD would have
/// ended it anyway (its minimum silence plus padding): more audio cannot extend it.
pub struct Regions {
    pending: Vec<f32>,
    /// Absolute sample index (16 kHz) of `pending[0]`.
    pending_start: usize,
    /// `pending.len()` at the last VAD run.
    checked_len: usize,
    /// Seconds of audio after a region's end that make it final.
    margin: f64,
}

/// A finished region: its place on the recording's timeline and its samples.
pub struct Region {
    pub span: Span,
    pub samples: Vec<f32>,
}

impl Regions {
    pub fn new(margin_seconds: f64) -> Regions {
        Regions {
            pending: Vec::new(),
            pending_start: 0,
            checked_len: 0,
            margin: margin_seconds,
        }
    }

    pub fn extend(&mut self, samples: &[f32]) {
        self.pending.extend_from_slice(samples);
    }

    /// Seconds of audio received so far.
    pub fn received_seconds(&self) -> f64 {
        (self.pending_start + self.pending.len()) as f64 / RATE as f64
    }

    /// Seconds of audio not yet transcribed or dropped as silence.
    pub fn pending_seconds(&self) -> f64 {
        self.pending.len() as f64 / RATE as f64
    }

    /// True when at least `step` seconds arrived since the last look.
    pub fn due(&self, step: f64) -> bool {
        (self.pending.len() - self.checked_len.min(self.pending.len())) as f64 >= step * RATE as f64
    }

    /// Runs `detect` (speech regions of a clip, in seconds from its start) over the pending
    /// audio and takes out the regions that are finished; at the end of the recording, all.
    pub fn take_finished(
        &mut self,
        detect: &mut dyn FnMut(&[f32]) -> anyhow::Result<Vec<Span>>,
        end_of_recording: bool,
    ) -> anyhow::Result<Vec<Region>> {
        let found = detect(&self.pending)?;
        let len_s = self.pending_seconds();
        let offset = self.pending_start as f64 / RATE as f64;
        let mut out = Vec::new();
        let mut cut = None;
        let mut first_open = None;
        for r in &found {
            if end_of_recording || r.end + self.margin <= len_s {
                let a = ((r.start.max(0.0) * RATE as f64) as usize).min(self.pending.len());
                let b = ((r.end * RATE as f64).ceil() as usize).clamp(a, self.pending.len());
                out.push(Region {
                    span: Span::new(offset + r.start, offset + r.end),
                    samples: self.pending[a..b].to_vec(),
                });
                cut = Some(b);
            } else {
                first_open = Some(r.start);
                break;
            }
        }
        // Keep from the end of the last finished region, or from the start of the open one,
        // or (no speech at all) only the last stretch a region could still grow from.
        let keep_from = match (cut, first_open) {
            (_, Some(s)) => ((s.max(0.0) * RATE as f64) as usize).min(self.pending.len()),
            (Some(b), None) => b,
            (None, None) => self
                .pending
                .len()
                .saturating_sub((self.margin * RATE as f64) as usize),
        };
        let keep_from = if end_of_recording {
            self.pending.len()
        } else {
            keep_from
        };
        self.pending.drain(..keep_from);
        self.pending_start += keep_from;
        self.checked_len = self.pending.len();
        Ok(out)
    }
}

/// One line of the running transcript.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LiveLine {
    /// Seconds from the start of the recording.
    pub start: f64,
    pub end: f64,
    pub text: String,
    /// How far the recording had got beyond the end of this line when it was ready (s).
    pub lag: f64,
}

/// What the live transcript reports while the meeting goes on.
#[derive(Debug, Clone)]
pub enum LiveEvent {
    Line(LiveLine),
    /// A line came this many seconds after it was spoken (said once): the model is too slow
    /// for this machine. The live path switches to a smaller model if it has one.
    Behind(f64),
    /// The live path now uses this smaller model.
    Switched(String),
}

/// Set by the caller to stop the live transcript; set by it when it has fallen behind.
#[derive(Debug, Default)]
pub struct LiveControl {
    pub cancel: std::sync::atomic::AtomicBool,
    pub behind: std::sync::atomic::AtomicBool,
}

/// How the live transcript kept up, for the user and for measurements.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LiveStats {
    /// Audio received (s).
    pub audio_seconds: f64,
    /// Time spent in VAD and Whisper (s); below `audio_seconds` means it keeps up.
    pub busy_seconds: f64,
    /// Processor time the process used meanwhile (all threads, s; Linux only): what the live
    /// path costs whatever else the machine is doing.
    pub cpu_seconds: Option<f64>,
    pub lines: usize,
    /// Seconds from the end of a line's speech to its text (what the user sees).
    pub mean_lag: f64,
    pub max_lag: f64,
    /// Seconds from the end of a Whisper call's audio to its text: the processing delay,
    /// without the wait for a long region to finish.
    pub max_delay: f64,
    /// True when stopped before the end of the recording.
    pub cancelled: bool,
}

/// Finished regions are gathered into one Whisper call (its encoder costs the same for 2 s as
/// for 30 s): until this much speech is waiting, or the newest region has waited this long.
const BATCH_FULL_S: f64 = 20.0;
const BATCH_WAIT_S: f64 = 3.0;
/// Longest call, and the longest pause kept inside one (silence in between goes in as zeros).
const BATCH_MAX_S: f64 = 28.0;
const BATCH_MAX_GAP_S: f64 = 4.0;

/// Speech regions gathered for one Whisper call, on their own timeline from `start`.
#[derive(Default)]
struct Batch {
    start: f64,
    samples: Vec<f32>,
}

impl Batch {
    fn end(&self) -> f64 {
        self.start + self.samples.len() as f64 / RATE as f64
    }

    /// Adds a region; returns the batch so far when the region does not fit in it.
    fn add(&mut self, r: Region) -> Option<Batch> {
        let mut full = None;
        if !self.samples.is_empty()
            && (r.span.start - self.end() > BATCH_MAX_GAP_S
                || r.span.end - self.start > BATCH_MAX_S)
        {
            full = Some(std::mem::take(self));
        }
        if self.samples.is_empty() {
            self.start = r.span.start;
            self.samples = r.samples;
            return full;
        }
        let gap = r.span.start - self.end();
        if gap >= 0.0 {
            let n = (gap * RATE as f64).round() as usize;
            self.samples.resize(self.samples.len() + n, 0.0);
            self.samples.extend_from_slice(&r.samples);
        } else {
            // Regions overlap by their padding: keep the overlap once.
            let skip = ((-gap * RATE as f64).round() as usize).min(r.samples.len());
            self.samples.extend_from_slice(&r.samples[skip..]);
        }
        full
    }

    fn due(&self, received: f64, ended: bool) -> bool {
        !self.samples.is_empty()
            && (ended
                || self.samples.len() as f64 >= BATCH_FULL_S * RATE as f64
                || received - self.end() >= BATCH_WAIT_S)
    }
}

/// Processing delay beyond which the live transcript counts as not keeping up: text normally
/// comes the batching wait plus one Whisper call after the end of its region.
const BEHIND_S: f64 = 30.0;
/// How much new audio makes a new VAD look.
const VAD_STEP_S: f64 = 0.5;

/// Drives the running transcript until the recording ends (`tap` closes) or `cancel` is set.
/// `detect` finds speech regions in a clip; `transcribe` turns a region into segments with
/// times relative to it.
pub fn live_loop(
    tap: &std::sync::mpsc::Receiver<Vec<i16>>,
    format: super::CaptureFormat,
    margin_seconds: f64,
    detect: &mut dyn FnMut(&[f32]) -> anyhow::Result<Vec<Span>>,
    transcribe: &mut dyn FnMut(&[f32]) -> anyhow::Result<Vec<crate::transcript::Segment>>,
    events: &std::sync::mpsc::Sender<LiveEvent>,
    control: &LiveControl,
) -> anyhow::Result<LiveStats> {
    use std::sync::atomic::Ordering;
    use std::sync::mpsc::RecvTimeoutError;
    use std::time::{Duration, Instant};

    let mut conv = To16kMono::new(format.rate, format.channels)?;
    let mut regions = Regions::new(margin_seconds);
    let mut stats = LiveStats::default();
    let mut lag_sum = 0.0;
    let mut ended = false;
    let mut fresh = Vec::new();
    let mut batch = Batch::default();
    while !ended {
        if control.cancel.load(Ordering::SeqCst) {
            stats.cancelled = true;
            break;
        }
        match tap.recv_timeout(Duration::from_millis(200)) {
            Ok(b) => conv.push(&b, &mut fresh)?,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => ended = true,
        }
        ended |= take_queued(tap, &mut conv, &mut fresh)?;
        regions.extend(&fresh);
        fresh.clear();
        let mut ready = Vec::new();
        if ended || regions.due(VAD_STEP_S) {
            let t0 = Instant::now();
            let finished = regions.take_finished(detect, ended)?;
            stats.busy_seconds += t0.elapsed().as_secs_f64();
            for r in finished {
                ready.extend(batch.add(r));
            }
        }
        if batch.due(regions.received_seconds(), ended) {
            ready.push(std::mem::take(&mut batch));
        }
        for b in ready {
            if control.cancel.load(Ordering::SeqCst) {
                stats.cancelled = true;
                break;
            }
            let t = Instant::now();
            let cpu = process_cpu_seconds();
            let segments = transcribe(&b.samples)?;
            stats.busy_seconds += t.elapsed().as_secs_f64();
            if let (Some(a), Some(b)) = (cpu, process_cpu_seconds()) {
                *stats.cpu_seconds.get_or_insert(0.0) += b - a;
            }
            ended |= take_queued(tap, &mut conv, &mut fresh)?;
            regions.extend(&fresh);
            fresh.clear();
            let delay = regions.received_seconds() - b.end();
            stats.max_delay = stats.max_delay.max(delay);
            if delay > BEHIND_S && !control.behind.swap(true, Ordering::SeqCst) {
                let _ = events.send(LiveEvent::Behind(delay));
            }
            for s in segments {
                let end = (b.start + s.end).min(b.end());
                let lag = regions.received_seconds() - end;
                let line = LiveLine {
                    start: b.start + s.start,
                    end,
                    text: s.text,
                    lag,
                };
                stats.lines += 1;
                lag_sum += lag;
                stats.max_lag = stats.max_lag.max(lag);
                let _ = events.send(LiveEvent::Line(line));
            }
        }
    }
    stats.audio_seconds = regions.received_seconds();
    if stats.lines > 0 {
        stats.mean_lag = lag_sum / stats.lines as f64;
    }
    Ok(stats)
}

/// User + system time of this process so far. Read from /proc by hand: std has no CPU-time
/// call, and it is only a measurement (`None` elsewhere).
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // Linux reports in USER_HZ, 100 on every architecture it runs on.
    Some(ticks / 100.0)
}

/// Converts every block already queued; true when the recording has ended.
fn take_queued(
    tap: &std::sync::mpsc::Receiver<Vec<i16>>,
    conv: &mut To16kMono,
    out: &mut Vec<f32>,
) -> anyhow::Result<bool> {
    use std::sync::mpsc::TryRecvError;
    loop {
        match tap.try_recv() {
            Ok(b) => conv.push(&b, out)?,
            Err(TryRecvError::Empty) => return Ok(false),
            Err(TryRecvError::Disconnected) => return Ok(true),
        }
    }
}

/// What the live transcript runs with.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// ggml Whisper model (the live path may use a smaller one than the final transcription).
    pub model: std::path::PathBuf,
    /// A smaller model to switch to when the live path falls behind.
    pub fallback_model: Option<std::path::PathBuf>,
    /// ggml Silero VAD model.
    pub vad_model: std::path::PathBuf,
    pub asr: crate::asr::AsrOptions,
    pub vad: crate::vad::VadOptions,
}

/// Starts the live transcript on its own thread. It loads the models there, so recording is
/// not held up; audio queues in `tap` meanwhile.
pub fn spawn(
    tap: std::sync::mpsc::Receiver<Vec<i16>>,
    format: super::CaptureFormat,
    opts: LiveOptions,
    events: std::sync::mpsc::Sender<LiveEvent>,
    control: std::sync::Arc<LiveControl>,
) -> std::io::Result<std::thread::JoinHandle<anyhow::Result<LiveStats>>> {
    use crate::asr::Transcriber;
    use std::sync::atomic::Ordering;
    std::thread::Builder::new()
        .name("record-live".into())
        .spawn(move || {
            let whisper = Transcriber::load(&opts.model)?;
            let mut session = whisper.session(&opts.asr)?;
            // Loaded only when needed; the cell outlives the session that borrows it.
            let smaller: std::cell::OnceCell<Transcriber> = std::cell::OnceCell::new();
            let mut smaller_session = None;
            let mut vad = crate::vad::SpeechDetector::new(&opts.vad_model, opts.vad)?;
            let o = *vad.options();
            // A region is over once the VAD has seen its closing pause and padding.
            let margin = (o.min_silence_ms + o.speech_pad_ms) as f64 / 1000.0;
            let switch_events = events.clone();
            let switch_control = control.clone();
            live_loop(
                &tap,
                format,
                margin,
                &mut |x| vad.speech_regions(x),
                &mut |x| {
                    if smaller_session.is_none() && switch_control.behind.load(Ordering::SeqCst) {
                        if let Some(path) = &opts.fallback_model {
                            if smaller.get().is_none() {
                                let _ = smaller.set(Transcriber::load(path)?);
                            }
                            if let Some(t) = smaller.get() {
                                smaller_session = Some(t.session(&opts.asr)?);
                                let _ =
                                    switch_events.send(LiveEvent::Switched(t.model_name.clone()));
                            }
                        }
                    }
                    let s = smaller_session.as_mut().unwrap_or(&mut session);
                    Ok(s.transcribe(x)?.segments)
                },
                &events,
                &control,
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/eval");

    fn jfk() -> Vec<i16> {
        let path = format!("{EVAL}/asr_en/whisper__jfk.wav");
        let mut r = hound::WavReader::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        r.samples::<i16>().map(|s| s.unwrap()).collect()
    }

    fn correlation(a: &[f32], b: &[f32]) -> f64 {
        let n = a.len().min(b.len());
        let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
        for i in 0..n {
            ab += a[i] as f64 * b[i] as f64;
            aa += a[i] as f64 * a[i] as f64;
            bb += b[i] as f64 * b[i] as f64;
        }
        ab / (aa.sqrt() * bb.sqrt())
    }

    /// 48 kHz stereo in small blocks, as a sound card delivers it, comes back as the 16 kHz
    /// speech it was made from, in time (the resampler's delay removed).
    #[test]
    fn stereo_48k_blocks_become_the_16k_speech() {
        let speech = jfk();
        // Each 16 kHz sample held for three 48 kHz frames, on both channels.
        let stereo48: Vec<i16> = speech.iter().flat_map(|&s| [s; 6]).collect();
        let mut conv = To16kMono::new(48_000, 2).unwrap();
        let mut out = Vec::new();
        for block in stereo48.chunks(2 * 441) {
            conv.push(block, &mut out).unwrap();
        }
        let reference: Vec<f32> = speech.iter().map(|&s| s as f32 / 32768.0).collect();
        // All but the last resampler chunk (1024 frames at 48 kHz) has come out.
        assert!(
            out.len() + 400 >= reference.len(),
            "{} of {}",
            out.len(),
            reference.len()
        );
        // Measured here: 0.9911 in time, 0.9649 one sample early, 0.8665 one sample late;
        // 175,741 of 176,000 samples out (the rest waits in the last resampler chunk).
        let c = correlation(&out, &reference);
        let early = correlation(&out[1..], &reference);
        let late = correlation(&out, &reference[1..]);
        assert!(c > 0.985, "correlation {c:.4}");
        assert!(
            c > early + 0.01 && c > late + 0.01,
            "{c:.4} vs {early:.4} / {late:.4}"
        );
    }

    #[test]
    fn mono_16k_passes_through_unchanged() {
        let speech = jfk();
        let mut conv = To16kMono::new(16_000, 1).unwrap();
        let mut out = Vec::new();
        for block in speech.chunks(1000) {
            conv.push(block, &mut out).unwrap();
        }
        assert_eq!(out.len(), speech.len());
        assert!(out
            .iter()
            .zip(&speech)
            .all(|(a, &b)| *a == b as f32 / 32768.0));
    }
}
