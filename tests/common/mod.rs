//! Helpers shared by the integration tests: where the models are, and loading them.
#![allow(dead_code)] // each test file uses its own subset

use gijiroku::diarize::SpeakerEncoder;
use std::path::{Path, PathBuf};

/// The models folder: GIJIROKU_MODELS, else models/ in the repository (scripts/setup.sh fills it).
pub fn models_dir() -> PathBuf {
    std::env::var_os("GIJIROKU_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("models"))
}

/// The models folder, checked to hold `file` (a missing model fails the test with what to do).
pub fn models_with(file: &str) -> PathBuf {
    let p = models_dir();
    assert!(
        p.join(file).is_file(),
        "{file} missing in {}: run scripts/setup.sh",
        p.display()
    );
    p
}

/// The real CAM++ speaker encoder; a missing model fails the test with what to do.
pub fn encoder() -> SpeakerEncoder {
    SpeakerEncoder::from_models_dir(&models_dir()).unwrap_or_else(|e| {
        panic!(
            "speaker encoder missing in {} (set GIJIROKU_MODELS or run scripts/setup.sh): {e:#}",
            models_dir().display()
        )
    })
}

/// The real segmentation-3.0 model (resegmentation, overlapped speech); a missing model fails
/// the test with what to do.
pub fn segmentation() -> gijiroku::diarize::segmentation::Segmentation {
    gijiroku::diarize::speech::load_segmentation(&models_dir())
        .unwrap_or_else(|e| panic!("{e:#}"))
        .unwrap_or_else(|| {
            panic!(
                "segmentation model missing in {} (set GIJIROKU_MODELS or run scripts/setup.sh)",
                models_dir().display()
            )
        })
}

/// A Japanese transcript of (speaker id, start, end, text) lines, each its own diarization
/// turn (as a diarizer that cuts at every pause gives them), with these speakers.
pub fn turns_transcript(
    lines: &[(&str, f64, f64, &str)],
    speakers: Vec<gijiroku::transcript::Speaker>,
) -> gijiroku::transcript::Transcript {
    use gijiroku::transcript::{ModelInfo, Segment, Source, Transcript, Turn};
    let segments: Vec<Segment> = lines
        .iter()
        .enumerate()
        .map(|(i, (sp, a, b, t))| Segment {
            id: i,
            start: *a,
            end: *b,
            text: t.to_string(),
            words: Vec::new(),
            speaker: Some(sp.to_string()),
            avg_logprob: 0.0,
            no_speech_prob: 0.0,
            temperature: 0.0,
        })
        .collect();
    let turns = lines
        .iter()
        .map(|(sp, a, b, _)| Turn {
            speaker: sp.to_string(),
            start: *a,
            end: *b,
        })
        .collect();
    Transcript {
        schema_version: gijiroku::transcript::SCHEMA_VERSION,
        source: Source {
            file_name: "m.wav".into(),
            duration: lines.last().map(|l| l.2).unwrap_or(0.0),
            ..Default::default()
        },
        language: "ja".into(),
        model: ModelInfo::default(),
        created_at: String::new(),
        speech: Vec::new(),
        segments,
        speakers,
        turns,
    }
}
