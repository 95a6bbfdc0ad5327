//! Ogg pages with a bad checksum or a damaged capture pattern, kept instead of dropped.
//!
//! symphonia drops an Ogg page whose CRC does not match. A dropped page in the stream's
//! headers or first audio page refuses the whole file; a dropped middle page silently moves all
//! that follows one page (~1 s) earlier, until the next page's granule position puts it back
//! one page later. One flipped bit should cost a click, not a second or the file: like
//! ffmpeg (which does not check Ogg CRCs by default) the page is kept, so its granule position
//! keeps the timeline. A page is kept only when its structure is intact: its segment table
//! must end exactly where the next page (or the file) starts; otherwise symphonia resyncs as
//! before. Hand-written: a walk over page headers, with symphonia's own CRC.

use std::io::{BufReader, Read, Seek, SeekFrom};
use symphonia::core::checksum::Crc32;
use symphonia::core::io::Monitor;

const CAPTURE: [u8; 4] = *b"OggS";
/// Flag of a stream's first page: on a damaged page mid-file it would start a new stream.
const FIRST_PAGE: u8 = 0x02;

/// Header fields to show differently so that damaged pages are read.
pub struct PageFix {
    pub fields: Vec<(u64, [u8; 4])>,
    /// Pages mended.
    pub pages: usize,
}

/// The fix for a recording (`len` bytes) when it is an Ogg file with damaged pages; `None` otherwise.
pub fn damaged_pages<R: Read + Seek>(file: R, len: u64) -> Option<PageFix> {
    let mut r = BufReader::with_capacity(1 << 16, file);
    let mut head = [0u8; 27];
    r.read_exact(&mut head).ok()?;
    if head[..4] != CAPTURE {
        return None;
    }
    let mut fix = PageFix {
        fields: Vec::new(),
        pages: 0,
    };
    let mut body = Vec::new();
    let mut pos = 0u64;
    // Where the reader is: moves within its buffer keep it (a seek would drop it per page).
    let mut at = 27u64;
    let mut first = true;
    while pos + 27 <= len {
        if at != pos {
            r.seek_relative(pos as i64 - at as i64).ok()?;
        }
        r.read_exact(&mut head).ok()?;
        at = pos + 27;
        let capture_ok = head[..4] == CAPTURE;
        let capture_close = head[..4]
            .iter()
            .zip(CAPTURE)
            .filter(|(a, b)| **a == *b)
            .count()
            >= 3;
        let segments = head[26] as usize;
        let mut table = [0u8; 255];
        let structure = (capture_close && head[4] == 0)
            .then(|| r.read_exact(&mut table[..segments]).ok())
            .flatten()
            .inspect(|_| at += segments as u64)
            .map(|_| table[..segments].iter().map(|&s| s as u64).sum::<u64>())
            .filter(|&b| pos + 27 + segments as u64 + b <= len);
        let Some(body_len) = structure else {
            // Not a page here: find the next capture pattern (symphonia does the same).
            pos = next_capture(&mut r, pos + 1, len)?;
            at = pos + 4;
            continue;
        };
        body.resize(body_len as usize, 0);
        if r.read_exact(&mut body).is_err() {
            break;
        }
        at += body_len;
        let end = pos + 27 + segments as u64 + body_len;
        let mut crc = Crc32::new(0);
        let mut h = head;
        h[..4].copy_from_slice(&CAPTURE);
        h[22..26].fill(0);
        crc.process_buf_bytes(&h);
        crc.process_buf_bytes(&table[..segments]);
        crc.process_buf_bytes(&body);
        let stored = [head[22], head[23], head[24], head[25]];
        let computed = crc.crc().to_le_bytes();
        if !capture_ok || stored != computed {
            let mut next = [0u8; 4];
            let next_ok = end == len || (r.read_exact(&mut next).is_ok() && next == CAPTURE);
            at += 4;
            if next_ok {
                fix.pages += 1;
                if !capture_ok {
                    fix.fields.push((pos, CAPTURE));
                }
                if !first && head[5] & FIRST_PAGE != 0 {
                    fix.fields
                        .push((pos + 4, [head[4], head[5] & !FIRST_PAGE, head[6], head[7]]));
                }
                fix.fields.push((pos + 22, computed));
            }
        }
        first = false;
        pos = end;
    }
    (fix.pages > 0).then_some(fix)
}

/// Position of the next "OggS" at or after `from`, if any.
fn next_capture<R: Read + Seek>(r: &mut R, from: u64, len: u64) -> Option<u64> {
    r.seek(SeekFrom::Start(from)).ok()?;
    let mut window = [0u8; 4];
    let mut pos = from;
    let mut byte = [0u8; 1];
    while pos < len {
        r.read_exact(&mut byte).ok()?;
        window.rotate_left(1);
        window[3] = byte[0];
        pos += 1;
        if window == CAPTURE {
            return Some(pos - 4);
        }
    }
    None
}
