//! WAVs whose RIFF and data sizes were never filled in (0, or 0xFFFFFFFF left by a writer that
//! meant to come back): what a recorder that crashed or lost power leaves. symphonia refuses a
//! RIFF size of 0 and reads a data size of 0 as no audio, though the samples are all there.
//!
//! The file is not changed (it may be evidence, or read-only): the decoder reads it through
//! [`Patched`], which shows the sizes the header should hold (every whole frame on disk, as
//! `record::repair_wav` writes them for our own recordings). Hand-written because it is a
//! byte overlay of two header fields, not something a crate offers.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use symphonia::core::io::MediaSource;

/// The header fields to show differently, and how much audio that makes readable.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeFix {
    /// (byte offset, little-endian value) of the RIFF size and of the data chunk's size.
    fields: [(u64, [u8; 4]); 2],
    /// Seconds of whole frames after the data chunk's start.
    pub seconds: f64,
}

/// The fix for `path` when it is a WAV whose sizes were never filled in and audio follows the
/// header; `None` for any other file (including a WAV whose sizes are merely wrong: a chunk
/// after the data, or a short file, which symphonia handles as it is).
pub fn unfilled_sizes<R: Read + Seek>(r: R, len: u64) -> Option<SizeFix> {
    let layout = crate::record::wav_layout_of(r, len, Path::new("recording")).ok()?;
    let unset = |v: u32| v == 0 || v == u32::MAX;
    if !unset(layout.data_len_in_header) && !unset(layout.riff_len_in_header) {
        return None;
    }
    // Whole frames only: a final frame cut by the crash is left out (capped at 4 GiB).
    let whole = layout.data_len_on_disk();
    if whole == 0 {
        return None;
    }
    let on_disk = layout.file_len - layout.data_offset;
    let (riff, data) = if on_disk > u32::MAX as u64 - layout.data_offset {
        // More than a WAV can count: both "unknown", which symphonia reads to the end of file.
        (u32::MAX, u32::MAX)
    } else {
        ((layout.data_offset - 8 + whole) as u32, whole as u32)
    };
    if (riff, data) == (layout.riff_len_in_header, layout.data_len_in_header) {
        return None;
    }
    let bytes_per_second = layout.rate as f64 * layout.block_align.max(1) as f64;
    Some(SizeFix {
        fields: [
            (4, riff.to_le_bytes()),
            (layout.data_offset - 4, data.to_le_bytes()),
        ],
        seconds: whole as f64 / bytes_per_second.max(1.0),
    })
}

impl SizeFix {
    pub fn fields(&self) -> Vec<(u64, [u8; 4])> {
        self.fields.to_vec()
    }
}

/// A file read with some 4-byte fields shown with other values (also used for Ogg pages).
pub struct Patched<R> {
    file: R,
    fields: Vec<(u64, [u8; 4])>,
    pos: u64,
}

impl<R> Patched<R> {
    pub fn new(file: R, fields: Vec<(u64, [u8; 4])>) -> Patched<R> {
        Patched {
            file,
            fields,
            pos: 0,
        }
    }
}

impl<R: Read> Read for Patched<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        let (start, end) = (self.pos, self.pos + n as u64);
        for (at, value) in &self.fields {
            if *at >= end || at + 4 <= start {
                continue;
            }
            for (i, b) in value.iter().enumerate() {
                let off = at + i as u64;
                if (start..end).contains(&off) {
                    buf[(off - start) as usize] = *b;
                }
            }
        }
        self.pos = end;
        Ok(n)
    }
}

impl<R: Seek> Seek for Patched<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = self.file.seek(to)?;
        Ok(self.pos)
    }
}

impl<R: MediaSource> MediaSource for Patched<R> {
    fn is_seekable(&self) -> bool {
        self.file.is_seekable()
    }
    fn byte_len(&self) -> Option<u64> {
        self.file.byte_len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;

    #[test]
    fn reads_show_the_fixed_sizes_at_any_split() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.wav");
        // 16-bit mono, 16 kHz: 44-byte header, sizes 0, 10 bytes of data + 1 stray byte.
        let mut b = Vec::new();
        b.extend_from_slice(b"RIFF\0\0\0\0WAVEfmt ");
        b.extend_from_slice(&16u32.to_le_bytes());
        b.extend_from_slice(&[1, 0, 1, 0]);
        b.extend_from_slice(&16_000u32.to_le_bytes());
        b.extend_from_slice(&32_000u32.to_le_bytes());
        b.extend_from_slice(&[2, 0, 16, 0]);
        b.extend_from_slice(b"data\0\0\0\0");
        b.extend_from_slice(&[7; 11]);
        std::fs::write(&p, &b).unwrap();
        let fix = unfilled_sizes(File::open(&p).unwrap(), b.len() as u64).expect("sizes unset");
        let mut want = b.clone();
        want[4..8].copy_from_slice(&46u32.to_le_bytes());
        want[40..44].copy_from_slice(&10u32.to_le_bytes());
        // Reads of every size, including ones that split a field, see the same bytes.
        for chunk in 1..=13 {
            let mut r = Patched::new(File::open(&p).unwrap(), fix.fields());
            let mut got = Vec::new();
            let mut buf = vec![0u8; chunk];
            loop {
                let n = r.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            assert_eq!(got, want, "reads of {chunk}");
        }
        let mut r = Patched::new(File::open(&p).unwrap(), fix.fields());
        r.seek(SeekFrom::Start(40)).unwrap();
        let mut two = [0u8; 2];
        r.read_exact(&mut two).unwrap();
        assert_eq!(two, [10, 0]);
        // A finished file needs nothing.
        std::fs::write(&p, &want).unwrap();
        assert_eq!(
            unfilled_sizes(
                File::open(&p).unwrap(),
                std::fs::metadata(&p).unwrap().len()
            ),
            None
        );
    }
}
