//! Silero VAD safetensors → whisper.cpp VAD ggml. (Being built.)

use std::path::Path;

pub fn import_silero(_src: &Path, _dst: &Path) -> anyhow::Result<()> {
    anyhow::bail!("Silero VAD import is being built")
}
