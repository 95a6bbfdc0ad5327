//! Audio in: opens a recording of any common format and streams it as 16 kHz mono f32.
//!
//! (Temporary WAV-only version through hound; the symphonia decoder replaces it.)

use anyhow::{bail, Context};
use std::path::Path;

/// Every later stage works at Whisper's rate.
pub const SAMPLE_RATE: u32 = 16_000;

/// What the container and codec say about a recording.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    pub sample_rate: u32,
    pub channels: u16,
    pub codec: String,
    /// Length in seconds when the container knows it (it may not for some streams).
    pub duration: Option<f64>,
}

/// Streaming decoder: yields blocks of 16 kHz mono samples until the recording ends.
pub struct Decoder16k {
    info: AudioInfo,
    samples: std::vec::IntoIter<f32>,
}

impl Decoder16k {
    pub fn open(path: &Path) -> anyhow::Result<Decoder16k> {
        let mut r = hound::WavReader::open(path)
            .with_context(|| format!("cannot decode {}", path.display()))?;
        let spec = r.spec();
        if spec.sample_rate != SAMPLE_RATE || spec.channels != 1 {
            bail!("temporary decoder reads 16 kHz mono WAV only");
        }
        let s: Vec<f32> = r
            .samples::<i16>()
            .map(|x| x.map(|v| v as f32 / 32768.0))
            .collect::<Result<_, _>>()?;
        Ok(Decoder16k {
            info: AudioInfo {
                sample_rate: spec.sample_rate,
                channels: spec.channels,
                codec: "pcm_s16le".into(),
                duration: Some(s.len() as f64 / SAMPLE_RATE as f64),
            },
            samples: s.into_iter(),
        })
    }

    pub fn info(&self) -> &AudioInfo {
        &self.info
    }

    /// The next block of samples (any length > 0), or `None` at the end.
    pub fn next_block(&mut self) -> anyhow::Result<Option<Vec<f32>>> {
        let b: Vec<f32> = self
            .samples
            .by_ref()
            .take(SAMPLE_RATE as usize * 10)
            .collect();
        Ok(if b.is_empty() { None } else { Some(b) })
    }
}

/// Decodes a whole (short) recording into memory: for clips, tests and evaluation only.
pub fn load_16k(path: &Path) -> anyhow::Result<(Vec<f32>, AudioInfo)> {
    let mut d = Decoder16k::open(path)?;
    let mut all = Vec::new();
    while let Some(b) = d.next_block()? {
        all.extend_from_slice(&b);
    }
    Ok((all, d.info().clone()))
}
