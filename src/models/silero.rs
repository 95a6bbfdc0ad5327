//! Silero VAD safetensors → whisper.cpp VAD ggml.
//!
//! Owns one conversion: the 16 kHz weights of the PyPI package `silero-vad`
//! (`silero_vad_16k.safetensors`) into the file whisper.cpp's `whisper_vad_init_from_file`
//! loads. The layout follows whisper.cpp's `models/convert-silero-vad-to-ggml.py` (header,
//! tensor names, f16 for convolution kernels and f32 for the rest). It never downloads anything.

use anyhow::{bail, Context};
use half::f16;
use safetensors::{Dtype, SafeTensors};
use std::path::Path;

const GGML_MAGIC: u32 = 0x6767_6d6c;
const MODEL_TYPE: &str = "silero-16k";
/// Version of the silero-vad package the weights come from (written into the header).
const VERSION: [i32; 3] = [6, 2, 3];
/// whisper.cpp's VAD runs on 512-sample windows with 64 samples of context.
const WINDOW: i32 = 512;
const CONTEXT: i32 = 64;
const ENCODER: [(i32, i32, i32); 4] = [(129, 128, 3), (128, 64, 3), (64, 64, 3), (64, 128, 3)];
const LSTM_INPUT: i32 = 128;
const LSTM_HIDDEN: i32 = 128;
const FINAL_CONV: (i32, i32) = (128, 1);

#[derive(Clone, Copy, PartialEq)]
enum Out {
    F32,
    F16,
}

/// (safetensors name, ggml name, stored type, expected safetensors shape), in the order the
/// reference converter writes them.
fn plan() -> Vec<(String, String, Out, Vec<usize>)> {
    let mut v = Vec::new();
    for (i, (cin, cout, k)) in ENCODER.iter().enumerate() {
        let (cin, cout, k) = (*cin as usize, *cout as usize, *k as usize);
        v.push((
            format!("conv{}.weight", i + 1),
            format!("_model.encoder.{i}.reparam_conv.weight"),
            Out::F16,
            vec![cout, cin, k],
        ));
        v.push((
            format!("conv{}.bias", i + 1),
            format!("_model.encoder.{i}.reparam_conv.bias"),
            Out::F32,
            vec![cout],
        ));
    }
    let h4 = 4 * LSTM_HIDDEN as usize;
    let inp = LSTM_INPUT as usize;
    for (name, shape) in [
        ("weight_ih", vec![h4, inp]),
        ("weight_hh", vec![h4, LSTM_HIDDEN as usize]),
        ("bias_ih", vec![h4]),
        ("bias_hh", vec![h4]),
    ] {
        v.push((
            format!("lstm_cell.{name}"),
            format!("_model.decoder.rnn.{name}"),
            Out::F32,
            shape,
        ));
    }
    v.push((
        "final_conv.weight".into(),
        "_model.decoder.decoder.2.weight".into(),
        Out::F16,
        vec![1, FINAL_CONV.0 as usize, 1],
    ));
    v.push((
        "final_conv.bias".into(),
        "_model.decoder.decoder.2.bias".into(),
        Out::F32,
        vec![1],
    ));
    v.push((
        "stft_conv.weight".into(),
        "_model.stft.forward_basis_buffer".into(),
        Out::F16,
        vec![258, 1, 256],
    ));
    v
}

/// Converts `silero_vad_16k.safetensors` at `src` into whisper.cpp's VAD ggml file at `dst`
/// (written through a temporary file and a rename).
pub fn import_silero(src: &Path, dst: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(src).with_context(|| format!("cannot read {}", src.display()))?;
    let out = convert(&bytes).with_context(|| {
        format!(
            "{} is not the Silero VAD 16 kHz safetensors file (silero_vad_16k.safetensors)",
            src.display()
        )
    })?;
    crate::util::write_atomic(dst, &out)?;
    tracing::info!(
        "wrote Silero VAD ({} bytes) to {}",
        out.len(),
        dst.display()
    );
    Ok(())
}

fn put_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn convert(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let st = SafeTensors::deserialize(bytes).context("not a safetensors file")?;
    let mut out = Vec::with_capacity(900_000);
    out.extend_from_slice(&GGML_MAGIC.to_le_bytes());
    put_i32(&mut out, MODEL_TYPE.len() as i32);
    out.extend_from_slice(MODEL_TYPE.as_bytes());
    for v in VERSION {
        put_i32(&mut out, v);
    }
    put_i32(&mut out, WINDOW);
    put_i32(&mut out, CONTEXT);
    put_i32(&mut out, ENCODER.len() as i32);
    for (cin, cout, k) in ENCODER {
        put_i32(&mut out, cin);
        put_i32(&mut out, cout);
        put_i32(&mut out, k);
    }
    put_i32(&mut out, LSTM_INPUT);
    put_i32(&mut out, LSTM_HIDDEN);
    put_i32(&mut out, FINAL_CONV.0);
    put_i32(&mut out, FINAL_CONV.1);

    for (src_name, name, kind, shape) in plan() {
        let t = st
            .tensor(&src_name)
            .with_context(|| format!("tensor {src_name} missing"))?;
        if t.shape() != shape.as_slice() {
            bail!(
                "tensor {src_name} has shape {:?}, expected {:?}",
                t.shape(),
                shape
            );
        }
        let values: Vec<f32> = match t.dtype() {
            Dtype::F32 => t
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => t
                .data()
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => bail!("tensor {src_name} has type {other:?}, expected F32"),
        };
        // ggml lists dimensions innermost first. The reference converter squeezes every
        // tensor but the STFT basis, so the final conv's [1,128,1] kernel becomes 1-D and
        // its bias a 0-d scalar (no dimensions at all).
        let ne: Vec<i32> = if src_name == "stft_conv.weight" {
            shape.iter().rev().map(|&d| d as i32).collect()
        } else {
            shape
                .iter()
                .rev()
                .filter(|&&d| d != 1)
                .map(|&d| d as i32)
                .collect()
        };
        put_i32(&mut out, ne.len() as i32);
        put_i32(&mut out, name.len() as i32);
        put_i32(&mut out, if kind == Out::F16 { 1 } else { 0 });
        for d in &ne {
            put_i32(&mut out, *d);
        }
        out.extend_from_slice(name.as_bytes());
        match kind {
            Out::F32 => values
                .iter()
                .for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
            Out::F16 => values
                .iter()
                .for_each(|v| out.extend_from_slice(&f16::from_f32(*v).to_le_bytes())),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_safetensors() {
        assert!(convert(b"hello, this is not a model").is_err());
    }
}
