//! One recording through the whole chain: decode → VAD → Whisper → (diarization) → Transcript.
//! (Being built: the options and entry point below are the contract other modules use.)

use crate::transcript::Transcript;
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
            max_speakers: None,
        }
    }
}

/// Transcribes one recording file.
pub fn transcribe_file(_path: &Path, _opts: &TranscribeOptions) -> anyhow::Result<Transcript> {
    anyhow::bail!("pipeline not built yet")
}
