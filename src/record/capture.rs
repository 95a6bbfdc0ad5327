//! The capture: cpal's callback converts each block to 16-bit samples and hands it over a
//! channel to a writer thread, which writes the WAV, measures the level and feeds the live
//! transcript. The callback never waits on the disk.

use super::device::{self, CaptureFormat};
use super::quiet;
use super::wav::RecordingWav;
use super::RecordError;
use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What to record and where.
#[derive(Debug, Clone)]
pub struct RecordOptions {
    /// Input device id or part of its name; `None` = the default input.
    pub device: Option<String>,
    /// The WAV to create. It must not exist (see [`super::free_path`]).
    pub out: PathBuf,
    /// Capture rate; `None` = the device's default rate.
    pub rate: Option<u32>,
    /// Capture channels; `None` = the device's default.
    pub channels: Option<u16>,
    /// Stop by itself after this much audio.
    pub max_seconds: Option<f64>,
}

/// A finished recording.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Recording {
    pub path: PathBuf,
    pub seconds: f64,
    pub format: CaptureFormat,
    pub device: String,
}

/// The recorder's state, for the level meter.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// Audio written so far.
    pub seconds: f64,
    /// Loudest sample since the previous call, in dB relative to full scale (−∞ for silence).
    pub peak_dbfs: f32,
    /// The recorder stopped by itself (`max_seconds` reached, or the device failed).
    pub finished: bool,
    /// Why the recording stopped by itself when it was not asked to: the device failed or
    /// went away, or the file is full. The file holds everything before that.
    pub stop_reason: Option<String>,
}

#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    finished: AtomicBool,
    frames: AtomicU64,
    peak: AtomicU32,
    stop_reason: Mutex<Option<String>>,
}

/// A running recording. [`Recorder::stop`] completes the file.
pub struct Recorder {
    stream: Option<cpal::Stream>,
    writer: Option<JoinHandle<Result<f64, RecordError>>>,
    shared: Arc<Shared>,
    format: CaptureFormat,
    path: PathBuf,
    device: String,
}

impl Recorder {
    /// Opens the input, creates the WAV and starts capturing. `tap`, if given, receives every
    /// block written (interleaved 16-bit samples in the capture format) and is closed when the
    /// recording ends.
    pub fn start(
        opts: &RecordOptions,
        tap: Option<Sender<Vec<i16>>>,
    ) -> Result<Recorder, RecordError> {
        quiet::silence_on_this_thread();
        let dev = device::find_input_device(opts.device.as_deref())?;
        let format = device::capture_format(&dev, opts.rate, opts.channels)?;
        let device_name = device::name_of(&dev);
        let wav = RecordingWav::create(&opts.out, format.rate, format.channels)?;
        let shared = Arc::new(Shared::default());
        let max_frames = opts
            .max_seconds
            .map(|s| (s.max(0.0) * format.rate as f64).round() as u64);

        let (tx, rx) = mpsc::channel::<Vec<i16>>();
        let stream = build_stream(&dev, format, tx, shared.clone())?;
        let writer = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("record-writer".into())
                .spawn(move || write_loop(wav, rx, tap, shared, format.channels, max_frames))
                .map_err(|e| RecordError::Stream(format!("cannot start the writer thread: {e}")))?
        };
        stream
            .play()
            .map_err(|e| RecordError::Stream(e.to_string()))?;
        tracing::info!(
            "recording {} from {device_name}: {} Hz, {} ch, {}",
            opts.out.display(),
            format.rate,
            format.channels,
            format.sample_format
        );
        Ok(Recorder {
            stream: Some(stream),
            writer: Some(writer),
            shared,
            format,
            path: opts.out.clone(),
            device: device_name,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    pub fn device(&self) -> &str {
        &self.device
    }

    /// Elapsed audio and the peak level since the last call.
    pub fn status(&self) -> Status {
        let frames = self.shared.frames.load(Ordering::Relaxed);
        let peak = self.shared.peak.swap(0, Ordering::Relaxed);
        let finished = self.shared.finished.load(Ordering::Relaxed)
            || self.writer.as_ref().is_none_or(|w| w.is_finished());
        Status {
            seconds: frames as f64 / self.format.rate as f64,
            peak_dbfs: 20.0 * (peak as f32 / 32768.0).log10(),
            finished,
            stop_reason: self
                .shared
                .stop_reason
                .lock()
                .map(|e| e.clone())
                .unwrap_or(None),
        }
    }

    /// Stops capturing, writes what was captured and completes the file.
    pub fn stop(mut self) -> Result<Recording, RecordError> {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(stream) = self.stream.take() {
            close_stream(stream);
        }
        let seconds = match self.writer.take().map(|w| w.join()) {
            Some(Ok(r)) => r?,
            Some(Err(_)) | None => {
                return Err(RecordError::Stream(
                    "the writer thread failed; the next start repairs the file".into(),
                ))
            }
        };
        Ok(Recording {
            path: self.path.clone(),
            seconds,
            format: self.format,
            device: self.device.clone(),
        })
    }
}

/// Drops the stream, waiting at most a moment: a driver blocked in a read (a stalled USB
/// device, a file input that ran dry) would otherwise hang the stop; the process exit
/// reclaims it.
fn close_stream(stream: cpal::Stream) {
    let _ = stream.pause();
    let (done_tx, done_rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("record-close".into())
        .spawn(move || {
            drop(stream);
            let _ = done_tx.send(());
        });
    if spawned.is_ok() && done_rx.recv_timeout(Duration::from_millis(500)).is_err() {
        tracing::debug!("the input device did not close in time; leaving it to the process exit");
    }
}

fn build_stream(
    dev: &cpal::Device,
    format: CaptureFormat,
    tx: Sender<Vec<i16>>,
    shared: Arc<Shared>,
) -> Result<cpal::Stream, RecordError> {
    match format.sample_format {
        SampleFormat::I8 => build_typed::<i8>(dev, format, tx, shared),
        SampleFormat::I16 => build_typed::<i16>(dev, format, tx, shared),
        SampleFormat::I32 => build_typed::<i32>(dev, format, tx, shared),
        SampleFormat::U8 => build_typed::<u8>(dev, format, tx, shared),
        SampleFormat::U16 => build_typed::<u16>(dev, format, tx, shared),
        SampleFormat::F32 => build_typed::<f32>(dev, format, tx, shared),
        SampleFormat::F64 => build_typed::<f64>(dev, format, tx, shared),
        other => Err(RecordError::Stream(format!(
            "sample format {other} is not supported"
        ))),
    }
}

fn build_typed<T>(
    dev: &cpal::Device,
    format: CaptureFormat,
    tx: Sender<Vec<i16>>,
    shared: Arc<Shared>,
) -> Result<cpal::Stream, RecordError>
where
    T: SizedSample,
    i16: FromSample<T>,
{
    let config = cpal::StreamConfig {
        channels: format.channels,
        sample_rate: format.rate,
        buffer_size: cpal::BufferSize::Default,
    };
    let on_data = move |data: &[T], _: &cpal::InputCallbackInfo| {
        let block: Vec<i16> = data.iter().map(|&s| s.to_sample::<i16>()).collect();
        // Fails only after the writer has finished; the remaining audio is not wanted then.
        let _ = tx.send(block);
    };
    let on_error = move |e: cpal::Error| {
        if e.kind() == cpal::ErrorKind::DeviceNotAvailable {
            if let Ok(mut slot) = shared.stop_reason.lock() {
                slot.get_or_insert_with(|| e.to_string());
            }
            shared.finished.store(true, Ordering::SeqCst);
        } else {
            tracing::warn!("input: {e}");
        }
    };
    dev.build_input_stream::<T, _, _>(config, on_data, on_error, None)
        .map_err(|e| match e.kind() {
            cpal::ErrorKind::DeviceNotAvailable => RecordError::NoInput,
            _ => RecordError::Stream(e.to_string()),
        })
}

fn write_loop(
    mut wav: RecordingWav,
    rx: Receiver<Vec<i16>>,
    tap: Option<Sender<Vec<i16>>>,
    shared: Arc<Shared>,
    channels: u16,
    max_frames: Option<u64>,
) -> Result<f64, RecordError> {
    let channels = channels.max(1) as usize;
    let mut stopping = false;
    loop {
        let block = if stopping {
            // Stop asked: write what the device delivered before it, then finish.
            match rx.try_recv() {
                Ok(b) => b,
                Err(_) => break,
            }
        } else {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(b) => b,
                Err(RecvTimeoutError::Timeout) => {
                    stopping = shared.stop.load(Ordering::SeqCst);
                    if !stopping {
                        wav.flush_if_due()?;
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        };
        let mut block = block;
        // Whole frames only, and no more than asked for.
        let mut keep = block.len() - block.len() % channels;
        if let Some(max) = max_frames {
            let room = max.saturating_sub(wav.frames()) as usize * channels;
            keep = keep.min(room);
        }
        let room = wav.room_frames().min(usize::MAX as u64 / 64) as usize * channels;
        let full = keep > room;
        if full {
            keep = room;
            if let Ok(mut slot) = shared.stop_reason.lock() {
                slot.get_or_insert_with(|| {
                    format!(
                        "{} is full: a WAV holds at most 4 GiB ({:.1} h in this format); \
                         --rate 16000 --channels 1 records 37 h",
                        wav.path().display(),
                        wav.seconds() / 3600.0
                    )
                });
            }
        }
        block.truncate(keep);
        if !block.is_empty() {
            wav.write(&block)?;
            let peak = block
                .iter()
                .map(|s| s.unsigned_abs() as u32)
                .max()
                .unwrap_or(0);
            shared.peak.fetch_max(peak, Ordering::Relaxed);
            shared.frames.store(wav.frames(), Ordering::Relaxed);
            if let Some(t) = &tap {
                let _ = t.send(block);
            }
        }
        if full || max_frames.is_some_and(|m| wav.frames() >= m) {
            shared.finished.store(true, Ordering::SeqCst);
            break;
        }
        if !stopping {
            stopping = shared.stop.load(Ordering::SeqCst);
        }
    }
    drop(tap);
    wav.finish()
}
