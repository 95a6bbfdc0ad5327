//! The canonical transcript: the one type every stage of the pipeline reads or writes.
//!
//! Audio → VAD → ASR fill `segments` (with `words`); diarization fills `speakers`, `turns` and
//! the `speaker` fields; minutes, exports, the archive and search only read it. Times are seconds
//! on the original recording's timeline. The verbatim words are never edited in place: later
//! stages (ケバ取り, renaming) record what they change beside them.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// Version of the JSON layout below; bump when a field changes meaning.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Transcript {
    pub schema_version: u32,
    pub source: Source,
    /// ISO 639-1 code of the spoken language (detected or given), e.g. "ja", "en".
    pub language: String,
    pub model: ModelInfo,
    /// RFC 3339 time at which this transcript was produced.
    pub created_at: String,
    /// Speech regions found by voice activity detection, in seconds.
    #[serde(default)]
    pub speech: Vec<Span>,
    pub segments: Vec<Segment>,
    /// Speakers found by diarization (empty when it did not run).
    #[serde(default)]
    pub speakers: Vec<Speaker>,
    /// Who spoke when, sorted by start (empty when diarization did not run). Two turns
    /// overlap where two people talk at once; each word's speaker is in `segments`.
    #[serde(default)]
    pub turns: Vec<Turn>,
}

/// The recording a transcript was made from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Source {
    pub path: String,
    pub file_name: String,
    /// sha256 of the file's bytes, lowercase hex.
    pub sha256: String,
    pub duration: f64,
    pub sample_rate: u32,
    pub channels: u16,
    /// Codec as the decoder named it ("pcm_s16le", "mp3", "aac", "opus", ...).
    pub codec: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ModelInfo {
    /// Model name as `models list` shows it, e.g. "whisper-base".
    pub name: String,
    pub file: String,
    #[serde(default)]
    pub vad: Option<String>,
    #[serde(default)]
    pub speaker_encoder: Option<String>,
    /// The segmentation model that refined speaker turns (overlapped speech), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segmentation: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Span {
    pub start: f64,
    pub end: f64,
}

impl Span {
    pub fn new(start: f64, end: f64) -> Self {
        Span { start, end }
    }
    pub fn duration(&self) -> f64 {
        (self.end - self.start).max(0.0)
    }
    /// Length of the overlap of two spans, 0 when they do not meet.
    pub fn overlap(&self, other: &Span) -> f64 {
        (self.end.min(other.end) - self.start.max(other.start)).max(0.0)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Segment {
    pub id: usize,
    pub start: f64,
    pub end: f64,
    /// Verbatim text as recognised (leading/trailing spaces trimmed).
    pub text: String,
    #[serde(default)]
    pub words: Vec<Word>,
    /// Speaker id (`Speaker::id`) once diarization ran.
    #[serde(default)]
    pub speaker: Option<String>,
    /// Mean log-probability of the segment's tokens.
    #[serde(default)]
    pub avg_logprob: f32,
    /// Probability that the window held no speech, as Whisper estimated it.
    #[serde(default)]
    pub no_speech_prob: f32,
    /// Sampling temperature that produced the kept decoding (0 = greedy/beam).
    #[serde(default)]
    pub temperature: f32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Word {
    pub start: f64,
    pub end: f64,
    /// The word as spoken, including its leading space in languages that use spaces.
    pub text: String,
    pub probability: f32,
    #[serde(default)]
    pub speaker: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Speaker {
    /// Stable id within this transcript: "S1", "S2", ...
    pub id: String,
    /// What exports print when no name is known: "話者1" / "Speaker 1".
    pub label: String,
    /// Enrolled or assigned name, e.g. "山田太郎".
    #[serde(default)]
    pub name: Option<String>,
    /// Role, e.g. "議長", "委員", "相談員".
    #[serde(default)]
    pub role: Option<String>,
}

impl Speaker {
    /// The name to show: the person's name if known, else the anonymous label.
    pub fn display(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.label)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Turn {
    pub speaker: String,
    pub start: f64,
    pub end: f64,
}

impl Transcript {
    /// The whole text, segments joined as the language writes them.
    pub fn text(&self) -> String {
        let sep = if uses_spaces(&self.language) { " " } else { "" };
        self.segments
            .iter()
            .map(|s| s.text.trim())
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(sep)
    }

    pub fn speaker(&self, id: &str) -> Option<&Speaker> {
        self.speakers.iter().find(|s| s.id == id)
    }

    /// Name or label for a speaker id; the id itself if it is unknown.
    pub fn speaker_display<'a>(&'a self, id: &'a str) -> &'a str {
        self.speaker(id).map(|s| s.display()).unwrap_or(id)
    }

    pub fn load(path: &Path) -> anyhow::Result<Transcript> {
        use anyhow::Context;
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read transcript {}", path.display()))?;
        Self::from_json(&bytes, path)
    }

    /// Parses a transcript's JSON; `path` names it in errors.
    pub fn from_json(bytes: &[u8], path: &Path) -> anyhow::Result<Transcript> {
        use anyhow::Context;
        let t: Transcript = serde_json::from_slice(bytes)
            .with_context(|| format!("{} is not a gijiroku transcript", path.display()))?;
        if t.schema_version > SCHEMA_VERSION {
            anyhow::bail!(
                "{} has transcript schema {} but this gijiroku reads up to {}",
                path.display(),
                t.schema_version,
                SCHEMA_VERSION
            );
        }
        Ok(t)
    }

    /// Writes the JSON atomically (temp file + rename) so a crash never leaves half a file.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_vec_pretty(self)?;
        crate::util::write_atomic(path, &json)
    }
}

/// Languages written without spaces between words: words are split per token there.
pub fn uses_spaces(language: &str) -> bool {
    !matches!(
        language,
        "ja" | "zh" | "yue" | "th" | "lo" | "my" | "km" | "bo"
    )
}
