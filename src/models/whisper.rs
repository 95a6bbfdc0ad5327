//! CTranslate2 Whisper (faster-whisper layout) → whisper.cpp ggml.
//!
//! Facts this depends on (shared notes/model-formats.md, checked against whisper.cpp 1.8.3's
//! loader): CTranslate2 fuses self-attention Q/K/V and cross-attention K/V (split here; keys
//! have no bias), the decoder output projection is an alias of the token embedding (dropped:
//! whisper.cpp reuses the embedding), 1-D tensors, conv biases and positional embeddings must be
//! f32 and matrices f16, the vocabulary is GPT-2 byte-level (written as raw bytes), and the
//! loader wants exactly 7 + 15·enc + 4 + 24·dec tensors.

use super::ct2::Model;
use super::mel::mel_filters;
use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

const GGML_MAGIC: u32 = 0x6767_6d6c;

/// Where the CTranslate2 files of one model are.
#[derive(Debug, Clone)]
pub struct Ct2Source {
    /// `model.bin`, or its parts in order (`model.bin.part1`, `model.bin.part2`, ...).
    pub model_parts: Vec<PathBuf>,
    pub config: Option<PathBuf>,
    pub vocabulary: Option<PathBuf>,
    pub tokenizer: Option<PathBuf>,
}

impl Ct2Source {
    /// Finds the files in one or more folders (the split packages put part 2 in another
    /// folder): `model.bin` or `model.bin.partN`, `config.json`, `vocabulary.txt`,
    /// `tokenizer.json`.
    pub fn find(dirs: &[PathBuf]) -> anyhow::Result<Ct2Source> {
        let mut whole = None;
        let mut parts: Vec<(u32, PathBuf)> = Vec::new();
        let (mut config, mut vocabulary, mut tokenizer) = (None, None, None);
        for dir in dirs {
            if !dir.is_dir() {
                bail!("{} is not a folder", dir.display());
            }
            for e in
                std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?
            {
                let p = e?.path();
                let name = p
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                match name.as_str() {
                    "model.bin" => whole = Some(p),
                    "config.json" => config = config.or(Some(p)),
                    "vocabulary.txt" => vocabulary = vocabulary.or(Some(p)),
                    "tokenizer.json" => tokenizer = tokenizer.or(Some(p)),
                    _ => {
                        if let Some(n) = name.strip_prefix("model.bin.part") {
                            if let Ok(n) = n.parse::<u32>() {
                                parts.push((n, p));
                            }
                        }
                    }
                }
            }
        }
        let model_parts = match (whole, parts.is_empty()) {
            (Some(p), _) => vec![p],
            (None, false) => {
                parts.sort();
                for (i, (n, _)) in parts.iter().enumerate() {
                    if *n != i as u32 + 1 {
                        bail!("model.bin.part{} is missing (found parts {:?}); give every folder that holds a part",
                            i + 1, parts.iter().map(|p| p.0).collect::<Vec<_>>());
                    }
                }
                parts.into_iter().map(|(_, p)| p).collect()
            }
            (None, true) => bail!(
                "no model.bin (or model.bin.part1...) in {}: not a CTranslate2 model folder",
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        if vocabulary.is_none() && tokenizer.is_none() {
            bail!("no vocabulary.txt or tokenizer.json beside model.bin");
        }
        Ok(Ct2Source {
            model_parts,
            config,
            vocabulary,
            tokenizer,
        })
    }
}

/// What is written beside each imported model (`ggml-NAME.json`), read by `models list` and
/// by the transcriber (alignment heads for word timestamps).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WhisperModelCard {
    pub name: String,
    pub kind: String,
    pub multilingual: bool,
    pub n_vocab: usize,
    pub n_audio_layer: usize,
    pub n_text_layer: usize,
    pub n_state: usize,
    pub n_mels: usize,
    /// (text layer, head) pairs whose cross-attention aligns with time (for DTW timestamps).
    #[serde(default)]
    pub alignment_heads: Vec<(usize, usize)>,
    pub source: String,
    pub source_sha256: String,
}

/// Weight-matrix types other than f16 that the importer can write: ggml's block-quantized
/// q8_0 / q5_1 (whisper.cpp's own `quantize` tool makes the same files) and bf16, which
/// ggml multiplies with VDPBF16PS on CPUs with AVX512_BF16 (and converts to f32 elsewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantization {
    Q8_0,
    Q5_1,
    Bf16,
}

impl Quantization {
    /// ggml's tensor type id (ggml.h `enum ggml_type`).
    fn ggml_type(self) -> i32 {
        match self {
            Quantization::Q8_0 => 8,
            Quantization::Q5_1 => 7,
            Quantization::Bf16 => 30,
        }
    }

    /// The header's ftype: ggml's `GGML_FTYPE_MOSTLY_*`, plus `GGML_QNT_VERSION` (2) × 1000
    /// for the block formats; whisper.cpp creates every weight matrix with the type this names.
    fn ftype(self) -> i32 {
        match self {
            Quantization::Q8_0 => 2000 + 7,
            Quantization::Q5_1 => 2000 + 9,
            // GGML_FTYPE_MOSTLY_BF16: not a block format, so no quantization version.
            Quantization::Bf16 => 24,
        }
    }

    /// Values per block: a matrix row must be whole blocks.
    fn block(self) -> usize {
        match self {
            Quantization::Q8_0 | Quantization::Q5_1 => QK,
            Quantization::Bf16 => 1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Quantization::Q8_0 => "q8_0",
            Quantization::Q5_1 => "q5_1",
            Quantization::Bf16 => "bf16",
        }
    }
}

/// Values per quantization block (QK8_0 = QK5_1 = 32).
const QK: usize = 32;

/// ggml's `quantize_row_q8_0_ref`, by hand because no crate writes ggml blocks: per 32 values
/// one f16 scale d = max|x|/127, then round(x/d) as i8 (34 bytes).
fn quantize_q8_0(x: &[f32], out: &mut Vec<u8>) {
    for b in x.chunks_exact(QK) {
        let amax = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&half::f16::from_f32(d).to_le_bytes());
        // f32::round rounds halves away from zero, as C's roundf does.
        out.extend(b.iter().map(|v| (v * id).round() as i8 as u8));
    }
}

/// ggml's `quantize_row_q5_1_ref`: per 32 values an f16 step d = (max-min)/31 and f16 min,
/// 32 high bits, then 16 bytes of low nibbles (value j and j+16 share a byte) (24 bytes).
fn quantize_q5_1(x: &[f32], out: &mut Vec<u8>) {
    for b in x.chunks_exact(QK) {
        let (min, max) = b
            .iter()
            .fold((f32::MAX, -f32::MAX), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let d = (max - min) / 31.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&half::f16::from_f32(d).to_le_bytes());
        out.extend_from_slice(&half::f16::from_f32(min).to_le_bytes());
        let mut qh: u32 = 0;
        let mut qs = [0u8; QK / 2];
        for j in 0..QK / 2 {
            // C truncates (uint8_t)(x + 0.5f); the values are 0..=31.5 here.
            let q0 = ((b[j] - min) * id + 0.5) as u8;
            let q1 = ((b[QK / 2 + j] - min) * id + 0.5) as u8;
            qs[j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
            qh |= (((q0 & 0x10) >> 4) as u32) << j;
            qh |= (((q1 & 0x10) >> 4) as u32) << (j + QK / 2);
        }
        out.extend_from_slice(&qh.to_le_bytes());
        out.extend_from_slice(&qs);
    }
}

/// The standard name of a Whisper architecture ("base", "tiny.en", "large-v3", ...).
pub fn architecture_name(
    n_audio_layer: usize,
    n_text_layer: usize,
    n_vocab: usize,
    n_mels: usize,
) -> String {
    let size = match n_audio_layer {
        4 => "tiny",
        6 => "base",
        12 => "small",
        24 => "medium",
        32 => "large",
        _ => "custom",
    };
    let mut name = size.to_string();
    if size == "large" && (n_vocab == 51866 || n_mels == 128) {
        name.push_str("-v3");
    }
    if n_audio_layer == 32 && n_text_layer < 32 {
        // distil-large / kotoba-whisper / large-v3-turbo keep the encoder, shrink the decoder.
        name = format!("{name}-dec{n_text_layer}");
    }
    if n_vocab < 51865 {
        name.push_str(".en");
    }
    name
}

/// GPT-2's byte-level alphabet: the character that stands for each byte in vocabulary.txt.
fn gpt2_byte_decoder() -> std::collections::HashMap<char, u8> {
    let mut bs: Vec<u32> = ('!' as u32..='~' as u32)
        .chain('¡' as u32..='¬' as u32)
        .chain('®' as u32..='ÿ' as u32)
        .collect();
    let mut cs = bs.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !bs.contains(&b) {
            bs.push(b);
            cs.push(256 + n);
            n += 1;
        }
    }
    bs.into_iter()
        .zip(cs)
        .map(|(b, c)| (char::from_u32(c).expect("valid"), b as u8))
        .collect()
}

/// Token byte strings in id order, up to (not including) `<|endoftext|>`: whisper.cpp makes
/// the special tokens itself from n_vocab.
fn read_vocabulary(src: &Ct2Source) -> anyhow::Result<Vec<Vec<u8>>> {
    let tokens: Vec<String> = if let Some(v) = &src.vocabulary {
        let text =
            std::fs::read_to_string(v).with_context(|| format!("cannot read {}", v.display()))?;
        // Split on '\n' only and keep blank lines: id 50256 of the multilingual vocabulary
        // is an empty line.
        let mut t: Vec<String> = text.split('\n').map(|s| s.to_string()).collect();
        if t.last().is_some_and(|s| s.is_empty()) {
            t.pop();
        }
        t
    } else {
        let p = src.tokenizer.as_ref().expect("checked in find");
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(p)?)
            .with_context(|| format!("{} is not JSON", p.display()))?;
        let vocab = json["model"]["vocab"]
            .as_object()
            .context("tokenizer.json has no model.vocab")?;
        let mut t = vec![String::new(); vocab.len()];
        for (tok, id) in vocab {
            let id = id.as_u64().context("bad id in tokenizer.json")? as usize;
            if id < t.len() {
                t[id] = tok.clone();
            }
        }
        t
    };
    let eot = tokens
        .iter()
        .position(|t| t == "<|endoftext|>")
        .unwrap_or(tokens.len());
    let dec = gpt2_byte_decoder();
    Ok(tokens[..eot]
        .iter()
        .map(|t| {
            t.chars()
                .map(|c| dec.get(&c).copied().unwrap_or(b'?'))
                .collect()
        })
        .collect())
}

/// A ggml tensor ready to write.
struct Tensor {
    name: String,
    /// Shape as PyTorch states it (outermost first); written reversed.
    shape: Vec<usize>,
    data: Vec<f32>,
    /// f16 in an f16 model; these are the tensors whisper.cpp creates with the model's
    /// weight type (2-D matrices) or as f16 (3-D conv kernels).
    f16: bool,
}

fn count_layers(m: &Model, prefix: &str) -> usize {
    let re = regex::Regex::new(&format!("^{prefix}/layer_(\\d+)/")).expect("static regex");
    m.names()
        .filter_map(|n| re.captures(n).and_then(|c| c[1].parse::<usize>().ok()))
        .map(|i| i + 1)
        .max()
        .unwrap_or(0)
}

/// Converts one model; returns its card. `progress` is called with (done, total) tensors.
pub fn convert(
    src: &Ct2Source,
    dst: &Path,
    name: Option<&str>,
    quantize: Option<Quantization>,
    progress: &dyn Fn(u64, u64),
) -> anyhow::Result<WhisperModelCard> {
    // One part: map it; several: read them into one buffer (the format is one stream).
    let mapped;
    let joined;
    let bytes: &[u8] = if src.model_parts.len() == 1 {
        let f = std::fs::File::open(&src.model_parts[0])
            .with_context(|| format!("cannot open {}", src.model_parts[0].display()))?;
        // SAFETY: the file is opened read-only and not modified while mapped.
        mapped = unsafe { memmap2::Mmap::map(&f) }.context("cannot map model.bin")?;
        &mapped
    } else {
        let mut v = Vec::new();
        for p in &src.model_parts {
            let mut f =
                std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
            std::io::Read::read_to_end(&mut f, &mut v)
                .with_context(|| format!("cannot read {}", p.display()))?;
        }
        joined = v;
        &joined
    };
    let source_sha256 = {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(bytes))
    };
    let m = Model::parse(bytes).context("cannot read model.bin")?;
    if !m.spec.contains("Whisper") {
        bail!("model.bin holds a {} model, not Whisper", m.spec);
    }
    let emb = m.var("decoder/embeddings/weight")?;
    let (n_vocab, n_state) = (emb.shape[0], emb.shape[1]);
    let enc_pos = m.var("encoder/position_encodings/encodings")?;
    let dec_pos = m.var("decoder/position_encodings/encodings")?;
    let n_audio_ctx = enc_pos.shape[0];
    let n_text_ctx = dec_pos.shape[0];
    let n_mels = m.var("encoder/conv1/weight")?.shape[1];
    let n_audio_layer = count_layers(&m, "encoder");
    let n_text_layer = count_layers(&m, "decoder");
    let n_audio_head = m.var("encoder/num_heads")?.scalar_i64()? as usize;
    let n_text_head = m.var("decoder/num_heads")?.scalar_i64()? as usize;
    if n_audio_layer == 0 || n_text_layer == 0 {
        bail!("model.bin has no encoder/decoder layers");
    }

    let mut tensors: Vec<(String, String, bool)> = Vec::new(); // (ct2 name, ggml name, plain copy)
    let plain =
        |t: &mut Vec<(String, String, bool)>, a: &str, b: &str| t.push((a.into(), b.into(), true));
    plain(&mut tensors, "encoder/conv1/weight", "encoder.conv1.weight");
    plain(&mut tensors, "encoder/conv1/bias", "encoder.conv1.bias");
    plain(&mut tensors, "encoder/conv2/weight", "encoder.conv2.weight");
    plain(&mut tensors, "encoder/conv2/bias", "encoder.conv2.bias");
    plain(
        &mut tensors,
        "encoder/position_encodings/encodings",
        "encoder.positional_embedding",
    );
    plain(
        &mut tensors,
        "encoder/layer_norm/gamma",
        "encoder.ln_post.weight",
    );
    plain(
        &mut tensors,
        "encoder/layer_norm/beta",
        "encoder.ln_post.bias",
    );
    plain(
        &mut tensors,
        "decoder/embeddings/weight",
        "decoder.token_embedding.weight",
    );
    plain(
        &mut tensors,
        "decoder/position_encodings/encodings",
        "decoder.positional_embedding",
    );
    plain(
        &mut tensors,
        "decoder/layer_norm/gamma",
        "decoder.ln.weight",
    );
    plain(&mut tensors, "decoder/layer_norm/beta", "decoder.ln.bias");
    for (side, short, n) in [
        ("encoder", "encoder", n_audio_layer),
        ("decoder", "decoder", n_text_layer),
    ] {
        for i in 0..n {
            let c = format!("{side}/layer_{i}");
            let g = format!("{short}.blocks.{i}");
            for (a, b) in [
                ("self_attention/layer_norm/gamma", "attn_ln.weight"),
                ("self_attention/layer_norm/beta", "attn_ln.bias"),
                ("self_attention/linear_1/weight", "attn.out.weight"),
                ("self_attention/linear_1/bias", "attn.out.bias"),
                ("ffn/layer_norm/gamma", "mlp_ln.weight"),
                ("ffn/layer_norm/beta", "mlp_ln.bias"),
                ("ffn/linear_0/weight", "mlp.0.weight"),
                ("ffn/linear_0/bias", "mlp.0.bias"),
                ("ffn/linear_1/weight", "mlp.2.weight"),
                ("ffn/linear_1/bias", "mlp.2.bias"),
            ] {
                plain(&mut tensors, &format!("{c}/{a}"), &format!("{g}.{b}"));
            }
            tensors.push((
                format!("{c}/self_attention/linear_0"),
                format!("{g}.attn"),
                false,
            ));
            if side == "decoder" {
                for (a, b) in [
                    ("attention/layer_norm/gamma", "cross_attn_ln.weight"),
                    ("attention/layer_norm/beta", "cross_attn_ln.bias"),
                    ("attention/linear_0/weight", "cross_attn.query.weight"),
                    ("attention/linear_0/bias", "cross_attn.query.bias"),
                    ("attention/linear_2/weight", "cross_attn.out.weight"),
                    ("attention/linear_2/bias", "cross_attn.out.bias"),
                ] {
                    plain(&mut tensors, &format!("{c}/{a}"), &format!("{g}.{b}"));
                }
                tensors.push((
                    format!("{c}/attention/linear_1"),
                    format!("{g}.cross_attn"),
                    false,
                ));
            }
        }
    }

    let vocab = read_vocabulary(src)?;
    let config: serde_json::Value = match &src.config {
        Some(p) => serde_json::from_slice(&std::fs::read(p)?)
            .with_context(|| format!("{} is not JSON", p.display()))?,
        None => serde_json::Value::Null,
    };
    let alignment_heads: Vec<(usize, usize)> = config["alignment_heads"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| Some((p[0].as_u64()? as usize, p[1].as_u64()? as usize)))
                .collect()
        })
        .unwrap_or_default();

    let dir = dst.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dst.with_extension("bin.partial");
    let result = (|| -> anyhow::Result<()> {
        let f = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        let i32w = |w: &mut std::io::BufWriter<std::fs::File>, v: i64| {
            w.write_all(&(v as i32).to_le_bytes())
        };
        w.write_all(&GGML_MAGIC.to_le_bytes())?;
        for v in [
            n_vocab,
            n_audio_ctx,
            n_state,
            n_audio_head,
            n_audio_layer,
            n_text_ctx,
            n_state,
            n_text_head,
            n_text_layer,
            n_mels,
            quantize.map_or(1, Quantization::ftype) as usize,
        ] {
            i32w(&mut w, v as i64)?;
        }
        let filters = mel_filters(16000, 400, n_mels);
        i32w(&mut w, n_mels as i64)?;
        i32w(&mut w, 201)?;
        for x in &filters {
            w.write_all(&x.to_le_bytes())?;
        }
        i32w(&mut w, vocab.len() as i64)?;
        for t in &vocab {
            w.write_all(&(t.len() as u32).to_le_bytes())?;
            w.write_all(t)?;
        }
        let total = tensors.len() as u64;
        let mut written = 0usize;
        for (k, (ct2, ggml, is_plain)) in tensors.iter().enumerate() {
            for t in make_tensors(&m, ct2, ggml, *is_plain, n_state)? {
                write_tensor(&mut w, &t, quantize)?;
                written += 1;
            }
            progress(k as u64 + 1, total);
        }
        let expect = 7 + 15 * n_audio_layer + 4 + 24 * n_text_layer;
        if written != expect {
            bail!("wrote {written} tensors but whisper.cpp expects {expect}: unsupported model layout");
        }
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, dst).with_context(|| format!("cannot write {}", dst.display()))?;

    let arch = architecture_name(n_audio_layer, n_text_layer, n_vocab, n_mels);
    let card = WhisperModelCard {
        name: name
            .map(str::to_string)
            // A quantized import must not replace the f16 one of the same architecture.
            .unwrap_or_else(|| match quantize {
                Some(q) => format!("whisper-{arch}-{}", q.name()),
                None => format!("whisper-{arch}"),
            }),
        kind: format!(
            "whisper {arch} ({})",
            quantize.map_or("f16", Quantization::name)
        ),
        multilingual: n_vocab >= 51865,
        n_vocab,
        n_audio_layer,
        n_text_layer,
        n_state,
        n_mels,
        alignment_heads,
        source: src
            .model_parts
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" + "),
        source_sha256,
    };
    Ok(card)
}

/// The ggml tensors for one CTranslate2 variable (fused ones split in two or three).
fn make_tensors(
    m: &Model,
    ct2: &str,
    ggml: &str,
    plain: bool,
    d: usize,
) -> anyhow::Result<Vec<Tensor>> {
    let f16_for = |name: &str, rank: usize| {
        !(rank < 2
            || name.ends_with("conv1.bias")
            || name.ends_with("conv2.bias")
            || name.ends_with("positional_embedding"))
    };
    if plain {
        let v = m.var(ct2)?;
        let data = m.weight_f32(ct2)?;
        let mut shape = v.shape.clone();
        if ggml.ends_with("conv1.bias") || ggml.ends_with("conv2.bias") {
            shape = vec![shape[0], 1];
        }
        let f16 = f16_for(ggml, v.shape.len());
        return Ok(vec![Tensor {
            name: ggml.into(),
            shape,
            data,
            f16,
        }]);
    }
    // Fused projections: rows [0:D) [D:2D) [2D:3D).
    let w = m.weight_f32(&format!("{ct2}/weight"))?;
    let b = m.weight_f32(&format!("{ct2}/bias")).ok();
    let rows = w.len() / d;
    let part = |k: usize| w[k * d * d..(k + 1) * d * d].to_vec();
    let bpart = |k: usize| b.as_ref().map(|b| b[k * d..(k + 1) * d].to_vec());
    let mat = |n: String, data| Tensor {
        name: n,
        shape: vec![d, d],
        data,
        f16: true,
    };
    let vec1 = |n: String, data| Tensor {
        name: n,
        shape: vec![d],
        data,
        f16: false,
    };
    let mut out = Vec::new();
    if rows == 3 * d {
        // Self-attention: query, key (no bias), value.
        out.push(mat(format!("{ggml}.query.weight"), part(0)));
        if let Some(bq) = bpart(0) {
            out.push(vec1(format!("{ggml}.query.bias"), bq));
        }
        out.push(mat(format!("{ggml}.key.weight"), part(1)));
        out.push(mat(format!("{ggml}.value.weight"), part(2)));
        if let Some(bv) = bpart(2) {
            out.push(vec1(format!("{ggml}.value.bias"), bv));
        }
    } else if rows == 2 * d {
        // Cross-attention: key (no bias), value.
        out.push(mat(format!("{ggml}.key.weight"), part(0)));
        out.push(mat(format!("{ggml}.value.weight"), part(1)));
        if let Some(bv) = bpart(1) {
            out.push(vec1(format!("{ggml}.value.bias"), bv));
        }
    } else {
        bail!("{ct2}: fused projection with {rows} rows for width {d}");
    }
    Ok(out)
}

fn write_tensor(
    w: &mut impl Write,
    t: &Tensor,
    quantize: Option<Quantization>,
) -> anyhow::Result<()> {
    let n: usize = t.shape.iter().product();
    if n != t.data.len() {
        bail!(
            "tensor {}: {} values for shape {:?}",
            t.name,
            t.data.len(),
            t.shape
        );
    }
    // whisper.cpp gives the model's weight type to the 2-D matrices only; conv kernels (3-D)
    // stay f16 and the rest f32 (as whisper.cpp's quantize tool does).
    let quant = quantize.filter(|_| t.f16 && t.shape.len() == 2);
    let row = *t.shape.last().unwrap_or(&0);
    if let Some(q) = quant.filter(|q| !row.is_multiple_of(q.block())) {
        bail!(
            "tensor {}: rows of {row} values are not whole blocks of {}: cannot quantize",
            t.name,
            q.block()
        );
    }
    let ttype = match quant {
        Some(q) => q.ggml_type(),
        None if t.f16 => 1,
        None => 0,
    };
    w.write_all(&(t.shape.len() as i32).to_le_bytes())?;
    w.write_all(&(t.name.len() as i32).to_le_bytes())?;
    w.write_all(&ttype.to_le_bytes())?;
    for &dim in t.shape.iter().rev() {
        w.write_all(&(dim as i32).to_le_bytes())?;
    }
    w.write_all(t.name.as_bytes())?;
    let mut buf = Vec::with_capacity(n * if t.f16 { 2 } else { 4 });
    match quant {
        // Rows are contiguous and whole blocks, so the flat data quantizes block by block.
        Some(Quantization::Q8_0) => quantize_q8_0(&t.data, &mut buf),
        Some(Quantization::Q5_1) => quantize_q5_1(&t.data, &mut buf),
        // half's conversion rounds to nearest even, as ggml's GGML_FP32_TO_BF16 does.
        Some(Quantization::Bf16) => {
            for &x in &t.data {
                buf.extend_from_slice(&half::bf16::from_f32(x).to_le_bytes());
            }
        }
        None if t.f16 => {
            for &x in &t.data {
                buf.extend_from_slice(&half::f16::from_f32(x).to_le_bytes());
            }
        }
        None => {
            for &x in &t.data {
                buf.extend_from_slice(&x.to_le_bytes());
            }
        }
    }
    w.write_all(&buf)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_decoder_covers_all_bytes() {
        let d = gpt2_byte_decoder();
        assert_eq!(d.len(), 256);
        assert_eq!(d[&'Ġ'], b' ');
        assert_eq!(d[&'A'], b'A');
    }

    fn dequantize_q8_0(b: &[u8]) -> Vec<f32> {
        b.chunks_exact(34)
            .flat_map(|b| {
                let d = half::f16::from_le_bytes([b[0], b[1]]).to_f32();
                b[2..].iter().map(move |&q| q as i8 as f32 * d)
            })
            .collect()
    }

    fn dequantize_q5_1(b: &[u8]) -> Vec<f32> {
        b.chunks_exact(24)
            .flat_map(|b| {
                let d = half::f16::from_le_bytes([b[0], b[1]]).to_f32();
                let m = half::f16::from_le_bytes([b[2], b[3]]).to_f32();
                let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
                let qs = b[8..24].to_vec();
                (0..32).map(move |j| {
                    let nib = if j < 16 {
                        qs[j] & 0x0f
                    } else {
                        qs[j - 16] >> 4
                    };
                    let q = nib as u32 | (((qh >> j) & 1) << 4);
                    q as f32 * d + m
                })
            })
            .collect()
    }

    /// Deterministic weights like a trained matrix's: mostly small, a few large.
    fn weights(n: usize) -> Vec<f32> {
        let mut s = 0x9e37_79b9u32;
        (0..n)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                let u = s as f32 / u32::MAX as f32 - 0.5;
                if i % 97 == 0 {
                    u * 2.0
                } else {
                    u * 0.1
                }
            })
            .collect()
    }

    #[test]
    fn q8_0_blocks_are_ggml_layout_and_round_trip() {
        // Hand-made block: amax 127 → d = 1, values stored as they are.
        let x: Vec<f32> = (0..32)
            .map(|i| i as f32 * 4.0 - 64.0)
            .chain([127.0])
            .collect();
        let mut out = Vec::new();
        quantize_q8_0(&x[1..], &mut out);
        assert_eq!(out.len(), 34);
        assert_eq!(&out[..2], &half::f16::from_f32(1.0).to_le_bytes());
        assert_eq!(out[2] as i8, -60);
        assert_eq!(out[33] as i8, 127);
        // Zero block: scale 0, all zeros (no division by zero).
        let mut z = Vec::new();
        quantize_q8_0(&[0.0; 32], &mut z);
        assert!(z.iter().all(|&b| b == 0));
        // Random weights: every value within half a step (plus the f16 rounding of the scale).
        let x = weights(32 * 64);
        let mut out = Vec::new();
        quantize_q8_0(&x, &mut out);
        assert_eq!(out.len(), 64 * 34);
        let y = dequantize_q8_0(&out);
        for (b, (xb, yb)) in x.chunks(32).zip(y.chunks(32)).enumerate() {
            let amax = xb.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let d = amax / 127.0;
            for (a, q) in xb.iter().zip(yb) {
                assert!(
                    (a - q).abs() <= d * 0.5 + amax * 1e-3,
                    "block {b}: {a} → {q}"
                );
            }
        }
    }

    #[test]
    fn q5_1_blocks_are_ggml_layout_and_round_trip() {
        // 0..31: d = 1, min 0, value j stored as j: low nibbles j | j << 4, high bits of 16..31.
        let x: Vec<f32> = (0..32).map(|i| i as f32).collect();
        let mut out = Vec::new();
        quantize_q5_1(&x, &mut out);
        assert_eq!(out.len(), 24);
        assert_eq!(&out[..2], &half::f16::from_f32(1.0).to_le_bytes());
        assert_eq!(&out[2..4], &half::f16::from_f32(0.0).to_le_bytes());
        assert_eq!(
            u32::from_le_bytes([out[4], out[5], out[6], out[7]]),
            0xffff_0000
        );
        for j in 0..16 {
            assert_eq!(out[8 + j], j as u8 | (j as u8) << 4);
        }
        assert_eq!(dequantize_q5_1(&out), x);
        let x = weights(32 * 64);
        let mut out = Vec::new();
        quantize_q5_1(&x, &mut out);
        assert_eq!(out.len(), 64 * 24);
        let y = dequantize_q5_1(&out);
        for (b, (xb, yb)) in x.chunks(32).zip(y.chunks(32)).enumerate() {
            let (lo, hi) = xb
                .iter()
                .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
            let d = (hi - lo) / 31.0;
            for (a, q) in xb.iter().zip(yb) {
                assert!(
                    (a - q).abs() <= d * 0.5 + (hi.abs() + lo.abs()) * 2e-3,
                    "block {b}: {a} → {q}"
                );
            }
        }
    }

    #[test]
    fn names_architectures() {
        assert_eq!(architecture_name(6, 6, 51865, 80), "base");
        assert_eq!(architecture_name(4, 4, 51864, 80), "tiny.en");
        assert_eq!(architecture_name(32, 32, 51866, 128), "large-v3");
        assert_eq!(architecture_name(32, 2, 51866, 128), "large-v3-dec2");
    }
}
