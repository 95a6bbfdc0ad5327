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
