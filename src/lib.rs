//! gijiroku — offline speech-to-minutes engine.
//!
//! Data flows one way, and the modules follow it:
//! `audio` (decode, resample) → `vad` (speech regions) → `asr` (Whisper) → `diarize` (who spoke)
//! → [`transcript::Transcript`] → `minutes` and `export` → `archive` + `search`.
//! `pipeline` runs the chain for one recording; `models` imports model files; `eval` measures.
//! Nothing here opens a network connection.

pub mod archive;
pub mod asr;
pub mod audio;
pub mod crypt;
pub mod diarize;
pub mod eval;
pub mod export;
pub mod minutes;
pub mod models;
pub mod pipeline;
pub mod progress;
pub mod record;
pub mod search;
pub mod server;
pub mod transcript;
pub mod util;
pub mod vad;

pub use transcript::Transcript;
