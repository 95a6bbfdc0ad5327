//! Reader for CTranslate2's `model.bin` (binary version 6, as written by ctranslate2 4.x).
//!
//! Written by hand because no Rust crate reads this format; the layout is small and fixed
//! (see shared notes/model-formats.md): header, variables sorted by name, then aliases.

use anyhow::{bail, Context};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    BF16,
}

impl DType {
    fn from_u8(v: u8) -> anyhow::Result<DType> {
        Ok(match v {
            0 => DType::F32,
            1 => DType::I8,
            2 => DType::I16,
            3 => DType::I32,
            4 => DType::F16,
            5 => DType::BF16,
            _ => bail!("unknown CTranslate2 data type {v}"),
        })
    }
    pub fn size(self) -> usize {
        match self {
            DType::I8 => 1,
            DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::F32 | DType::I32 => 4,
        }
    }
}

/// One variable: a borrowed view of its bytes in the model file.
#[derive(Debug, Clone)]
pub struct Variable<'a> {
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub data: &'a [u8],
}

impl Variable<'_> {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as f32 (f16/bf16/f32 widen; integers convert; int8 is returned raw —
    /// dequantisation needs the `_scale` variable, see `Model::weight_f32`).
    pub fn to_f32(&self) -> Vec<f32> {
        let d = self.data;
        match self.dtype {
            DType::F32 => d
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            DType::F16 => d
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            DType::BF16 => d
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            DType::I8 => d.iter().map(|&b| b as i8 as f32).collect(),
            DType::I16 => d
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32)
                .collect(),
            DType::I32 => d
                .chunks_exact(4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32)
                .collect(),
        }
    }

    /// A scalar integer (e.g. `encoder/num_heads`).
    pub fn scalar_i64(&self) -> anyhow::Result<i64> {
        if self.len() != 1 {
            bail!("expected a scalar, found shape {:?}", self.shape);
        }
        Ok(self.to_f32()[0] as i64)
    }
}

/// A parsed model: variables by name, with aliases resolved.
pub struct Model<'a> {
    pub spec: String,
    pub revision: u32,
    vars: BTreeMap<String, Variable<'a>>,
    aliases: BTreeMap<String, String>,
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> anyhow::Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .with_context(|| {
                format!(
                    "file ends early (wanted {n} bytes at offset {} of {}): truncated model.bin?",
                    self.pos,
                    self.buf.len()
                )
            })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> anyhow::Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> anyhow::Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> anyhow::Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// u16 length (including the trailing NUL), bytes, NUL.
    fn string(&mut self) -> anyhow::Result<String> {
        let n = self.u16()? as usize;
        let b = self.take(n)?;
        let b = b.strip_suffix(&[0]).unwrap_or(b);
        Ok(String::from_utf8_lossy(b).into_owned())
    }
}

impl<'a> Model<'a> {
    pub fn parse(buf: &'a [u8]) -> anyhow::Result<Model<'a>> {
        let mut c = Cursor { buf, pos: 0 };
        let version = c.u32()?;
        if version != 6 {
            bail!(
                "not a CTranslate2 model.bin of binary version 6 (found {version}); \
                 convert it with ctranslate2 4.x"
            );
        }
        let spec = c.string()?;
        let revision = c.u32()?;
        let n_vars = c.u32()?;
        if n_vars as usize > buf.len() / 8 {
            bail!("implausible variable count {n_vars}: corrupt model.bin");
        }
        let mut vars = BTreeMap::new();
        for _ in 0..n_vars {
            let name = c.string()?;
            let rank = c.u8()? as usize;
            let mut shape = Vec::with_capacity(rank);
            for _ in 0..rank {
                shape.push(c.u32()? as usize);
            }
            let dtype = DType::from_u8(c.u8()?)?;
            let nbytes = c.u32()? as usize;
            let expect = shape.iter().product::<usize>() * dtype.size();
            if nbytes != expect {
                bail!("variable {name}: {nbytes} bytes for shape {shape:?} {dtype:?}: corrupt model.bin");
            }
            let data = c.take(nbytes)?;
            vars.insert(name, Variable { shape, dtype, data });
        }
        let mut aliases = BTreeMap::new();
        if c.pos < buf.len() {
            let n_aliases = c.u32()?;
            for _ in 0..n_aliases {
                let alias = c.string()?;
                let target = c.string()?;
                aliases.insert(alias, target);
            }
        }
        Ok(Model {
            spec,
            revision,
            vars,
            aliases,
        })
    }

    pub fn get(&self, name: &str) -> Option<&Variable<'a>> {
        self.vars
            .get(name)
            .or_else(|| self.aliases.get(name).and_then(|t| self.vars.get(t)))
    }

    pub fn var(&self, name: &str) -> anyhow::Result<&Variable<'a>> {
        self.get(name)
            .with_context(|| format!("model has no variable {name}"))
    }

    pub fn is_alias(&self, name: &str) -> bool {
        self.aliases.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(|s| s.as_str())
    }

    /// A weight as f32, dequantising int8 weights with their `<name>_scale` (CTranslate2
    /// stores q = round(w · scale) per output row).
    pub fn weight_f32(&self, name: &str) -> anyhow::Result<Vec<f32>> {
        let v = self.var(name)?;
        let mut w = v.to_f32();
        if v.dtype == DType::I8 || v.dtype == DType::I16 {
            let scale = self
                .var(&format!("{name}_scale"))
                .with_context(|| format!("quantized weight {name} has no scale"))?
                .to_f32();
            let rows = scale.len().max(1);
            let per_row = w.len() / rows;
            for (r, chunk) in w.chunks_mut(per_row).enumerate() {
                let s = scale[r.min(scale.len() - 1)];
                for x in chunk {
                    *x /= s;
                }
            }
        }
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put_str(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&((s.len() + 1) as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }

    #[test]
    fn parses_variables_and_aliases() {
        let mut b = Vec::new();
        b.extend_from_slice(&6u32.to_le_bytes());
        put_str(&mut b, "WhisperSpec");
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        put_str(&mut b, "a/w");
        b.push(2);
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&2u32.to_le_bytes());
        b.push(4);
        b.extend_from_slice(&4u32.to_le_bytes());
        b.extend_from_slice(&half::f16::from_f32(1.5).to_le_bytes());
        b.extend_from_slice(&half::f16::from_f32(-2.0).to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        put_str(&mut b, "b/w");
        put_str(&mut b, "a/w");
        let m = Model::parse(&b).unwrap();
        assert_eq!(m.spec, "WhisperSpec");
        assert_eq!(m.var("b/w").unwrap().to_f32(), vec![1.5, -2.0]);
        assert!(m.is_alias("b/w"));
        // Truncation is an error, not a panic.
        assert!(Model::parse(&b[..b.len() - 12]).is_err());
    }
}
