//! Recording a meeting live: audio from a microphone or line input (cpal) into a WAV file that
//! stays valid on disk while it grows, with a level meter and, optionally, a running transcript.
//!
//! Owns: input devices and their formats ([`list_input_devices`]), the capture thread and the
//! WAV writer ([`Recorder`]), the repair of recordings cut off by a crash
//! ([`repair_unfinished_in`], [`repair_wav`]), and the live transcript (`live`). It never
//! resamples what it writes (the file keeps the device's rate; only the live transcript is
//! resampled), never overwrites a file, and leaves the final transcription to `pipeline`.

mod capture;
mod device;
pub mod live;
mod quiet;
mod wav;

pub use capture::{RecordOptions, Recorder, Recording, Status};
pub use device::{
    capture_format, find_input_device, list_input_devices, CaptureFormat, FormatRange, InputDevice,
};
pub use wav::{
    free_path, repair_unfinished_in, repair_wav, wav_layout, wav_layout_of, RecordingWav, Repair,
    WavLayout,
};

use std::path::PathBuf;

/// Why recording could not start or go on. Each reads as one line for the user.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(
        "no audio input device: the sound system finds no microphone or line input \
         (is a sound card connected? `gijiroku devices` lists the inputs)"
    )]
    NoInput,
    #[error("the sound system is not available: {0}")]
    Host(String),
    #[error("no input device matches {0:?} (`gijiroku devices` lists the inputs)")]
    UnknownDevice(String),
    #[error("{0:?} matches several input devices ({1}); give the exact id")]
    AmbiguousDevice(String, String),
    #[error(
        "the input cannot record {} at {}; it offers: {offered}",
        channels.map(|c| format!("{c} channel(s)")).unwrap_or_else(|| "any channel count".into()),
        rate.map(|r| format!("{r} Hz")).unwrap_or_else(|| "any rate".into())
    )]
    UnsupportedFormat {
        rate: Option<u32>,
        channels: Option<u16>,
        offered: String,
    },
    #[error("cannot open the input device: {0}")]
    Stream(String),
    #[error("{0} is being recorded by another gijiroku process")]
    InUse(PathBuf),
    #[error("{0}: not a WAV file ({1})")]
    NotWav(PathBuf, String),
    #[error("{what} {path}: {source}")]
    Io {
        what: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Wav { path: PathBuf, source: hound::Error },
}
