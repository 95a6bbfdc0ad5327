//! Enrolled speakers: a voiceprint (mean CAM++ embedding and its spread) per person, stored in
//! `voiceprints.json` in the data folder. It never leaves the machine.

use super::encoder::{cosine, l2_normalized, SpeakerEncoder, DIM};
use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Speech (after the energy gate) a clip must hold to enroll from it.
pub const MIN_ENROLL_SECONDS: f64 = 1.0;

pub const VOICEPRINTS_FILE: &str = "voiceprints.json";

/// One enrolled person.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Voiceprint {
    pub name: String,
    #[serde(default)]
    pub role: Option<String>,
    /// L2-normalised mean of the window embeddings.
    pub embedding: Vec<f32>,
    /// Number of embedding windows averaged.
    pub windows: usize,
    /// Mean cosine similarity of the windows to `embedding` (how steady the voice was).
    pub consistency: f32,
    /// Seconds of audio enrolled.
    pub seconds: f64,
    /// Files it was enrolled from (names only).
    #[serde(default)]
    pub sources: Vec<String>,
    pub enrolled_at: String,
}

/// The voiceprint file of a data folder.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VoiceprintStore {
    #[serde(skip)]
    path: PathBuf,
    pub speakers: Vec<Voiceprint>,
}

impl VoiceprintStore {
    pub fn path_in(data: &Path) -> PathBuf {
        data.join(VOICEPRINTS_FILE)
    }

    /// Opens the store of a data folder (empty if it does not exist yet).
    pub fn open(data: &Path) -> anyhow::Result<VoiceprintStore> {
        let path = Self::path_in(data);
        let mut store = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice::<VoiceprintStore>(&b)
                .with_context(|| format!("{} is not a voiceprint file", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => VoiceprintStore::default(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        for v in &store.speakers {
            if v.embedding.len() != DIM {
                bail!(
                    "{}: the voiceprint of {} has {} values, not {DIM}: it was made by another \
                     speaker encoder; enroll {} again with `gijiroku speakers enroll`",
                    path.display(),
                    v.name,
                    v.embedding.len(),
                    v.name
                );
            }
        }
        store.path = path;
        Ok(store)
    }

    pub fn save(&self) -> anyhow::Result<()> {
        crate::util::write_atomic(&self.path, &serde_json::to_vec_pretty(self)?)
    }

    pub fn get(&self, name: &str) -> Option<&Voiceprint> {
        self.speakers.iter().find(|v| v.name == name)
    }

    /// Adds or replaces the voiceprint of `v.name`.
    pub fn upsert(&mut self, v: Voiceprint) {
        self.speakers.retain(|x| x.name != v.name);
        self.speakers.push(v);
        self.speakers.sort_by(|a, b| a.name.cmp(&b.name));
    }

    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.speakers.len();
        self.speakers.retain(|x| x.name != name);
        self.speakers.len() != before
    }
}

/// Builds a voiceprint from clips of one person (16 kHz mono). Each clip is split into
/// speech by a simple energy gate, windowed like diarization does, and all windows averaged.
pub fn enroll(
    encoder: &SpeakerEncoder,
    name: &str,
    role: Option<&str>,
    clips: &[(String, Vec<f32>)],
) -> anyhow::Result<Voiceprint> {
    if name.trim().is_empty() {
        bail!("the speaker's name is empty");
    }
    let mut embs = Vec::new();
    let mut seconds = 0.0;
    for (src, samples) in clips {
        let speech = super::energy_speech(samples);
        let dur: f64 = speech.iter().map(|s| s.duration()).sum();
        // The rule the help and this message state; the windowing below would take less.
        if dur == 0.0 {
            bail!("{src}: no usable speech (need at least {MIN_ENROLL_SECONDS:.0} s of voice)");
        }
        if dur < MIN_ENROLL_SECONDS {
            bail!("{src}: {dur:.1} s of speech; need at least {MIN_ENROLL_SECONDS:.0} s of voice");
        }
        let e = super::embed_regions(
            encoder,
            samples,
            0.0,
            &speech,
            &super::WindowOptions::default(),
        )?;
        if e.is_empty() {
            bail!("{src}: no usable speech (need at least a second of voice)");
        }
        seconds += dur;
        embs.extend(e.into_iter().map(|w| w.embedding));
    }
    let mut sum = vec![0f32; DIM];
    for e in &embs {
        for (a, b) in sum.iter_mut().zip(e) {
            *a += b;
        }
    }
    let mean = l2_normalized(&sum);
    let consistency = embs.iter().map(|e| cosine(e, &mean)).sum::<f32>() / embs.len() as f32;
    Ok(Voiceprint {
        name: name.trim().to_string(),
        role: role.map(|r| r.trim().to_string()).filter(|r| !r.is_empty()),
        embedding: mean,
        windows: embs.len(),
        consistency,
        seconds,
        sources: clips.iter().map(|(s, _)| s.clone()).collect(),
        enrolled_at: chrono::Utc::now().to_rfc3339(),
    })
}
