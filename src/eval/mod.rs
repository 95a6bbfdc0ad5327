//! Measuring: WER/CER for transcription, DER for diarization.

pub mod asr;
pub mod der;
pub mod simulate;
