//! The edit list of an MP4/M4A audio track: how many encoder priming frames to drop at the
//! start and how long the track really is.
//!
//! symphonia 0.6's MP4 reader parses `elst` but does not apply it (its own TODO), so AAC from
//! MP4 came out 1024 frames late (ffmpeg; Apple encoders use 2112) with padding at the end.
//! This reads just the boxes needed (moov → trak → mdia/hdlr, mdia/mdhd, edts/elst), seeking
//! over everything else, so it costs a few reads even for a multi-gigabyte video.

use std::io::{Read, Seek, SeekFrom};

/// What the edit list of the first sound track says, in the track's own sample units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioEdit {
    /// Frames at the start of the decoded track that are not part of the recording.
    pub skip: u64,
    /// Frames of the recording after `skip` (None when the edit covers the whole track).
    pub length: Option<u64>,
    /// The track's time scale (normally its sample rate).
    pub timescale: u32,
}

struct Reader<R> {
    r: R,
}

impl<R: Read + Seek> Reader<R> {
    fn u32(&mut self) -> Option<u32> {
        let mut b = [0u8; 4];
        self.r.read_exact(&mut b).ok()?;
        Some(u32::from_be_bytes(b))
    }
    fn u64(&mut self) -> Option<u64> {
        let mut b = [0u8; 8];
        self.r.read_exact(&mut b).ok()?;
        Some(u64::from_be_bytes(b))
    }
    fn pos(&mut self) -> Option<u64> {
        self.r.stream_position().ok()
    }
    /// Next box header within `end`: (type, start of body, end of box).
    fn header(&mut self, end: u64) -> Option<([u8; 4], u64, u64)> {
        let start = self.pos()?;
        if start + 8 > end {
            return None;
        }
        let size = self.u32()? as u64;
        let mut kind = [0u8; 4];
        self.r.read_exact(&mut kind).ok()?;
        let (body, box_end) = match size {
            1 => {
                let large = self.u64()?;
                (start + 16, start.checked_add(large)?)
            }
            0 => (start + 8, end),
            s => (start + 8, start + s),
        };
        if box_end < body || box_end > end {
            return None;
        }
        Some((kind, body, box_end))
    }
    /// Calls `f` for each child box in [`from`, `end`), stopping when it returns Some.
    fn find<T>(
        &mut self,
        from: u64,
        end: u64,
        mut f: impl FnMut(&mut Self, [u8; 4], u64, u64) -> Option<Option<T>>,
    ) -> Option<T> {
        let mut at = from;
        while at + 8 <= end {
            self.r.seek(SeekFrom::Start(at)).ok()?;
            let (kind, body, box_end) = self.header(end)?;
            if let Some(found) = f(self, kind, body, box_end)? {
                return Some(found);
            }
            at = box_end;
        }
        None
    }
}

/// Reads the edit of the first sound track, if the file is MP4-like and has one worth
/// applying. Any malformed structure gives `None` (decode as symphonia does).
pub fn audio_edit<R: Read + Seek>(r: R) -> Option<AudioEdit> {
    let mut rd = Reader { r };
    let len = rd.r.seek(SeekFrom::End(0)).ok()?;
    rd.r.seek(SeekFrom::Start(0)).ok()?;
    let (first, _, _) = rd.header(len)?;
    if &first != b"ftyp" {
        return None;
    }
    let (moov, moov_end) = rd.find(0, len, |_, k, b, e| Some((&k == b"moov").then_some((b, e))))?;
    // Movie time scale (mvhd), in which edit durations are counted.
    let movie_scale = rd.find(moov, moov_end, |rd, k, _, _| {
        if &k != b"mvhd" {
            return Some(None);
        }
        Some(Some(header_timescale(rd)?))
    })?;
    rd.find(moov, moov_end, |rd, k, b, e| {
        if &k != b"trak" {
            return Some(None);
        }
        Some(sound_track_edit(rd, b, e, movie_scale))
    })
}

/// The time scale of an `mvhd` or `mdhd` box (both start alike): after version/flags and the
/// creation and modification times, 64-bit in version 1, 32-bit otherwise.
fn header_timescale<R: Read + Seek>(rd: &mut Reader<R>) -> Option<u32> {
    let version = rd.u32()? >> 24;
    if version == 1 {
        rd.u64()?;
        rd.u64()?;
    } else {
        rd.u32()?;
        rd.u32()?;
    }
    rd.u32()
}

fn sound_track_edit<R: Read + Seek>(
    rd: &mut Reader<R>,
    trak: u64,
    trak_end: u64,
    movie_scale: u32,
) -> Option<AudioEdit> {
    let (mdia, mdia_end) = rd.find(trak, trak_end, |_, k, b, e| {
        Some((&k == b"mdia").then_some((b, e)))
    })?;
    let is_sound = rd.find(mdia, mdia_end, |rd, k, _, _| {
        if &k != b"hdlr" {
            return Some(None);
        }
        rd.u32()?; // version, flags
        rd.u32()?; // pre-defined
        Some(Some(rd.u32()? == u32::from_be_bytes(*b"soun")))
    })?;
    if !is_sound {
        return None;
    }
    let timescale = rd.find(mdia, mdia_end, |rd, k, _, _| {
        if &k != b"mdhd" {
            return Some(None);
        }
        Some(Some(header_timescale(rd)?))
    })?;
    let (edts, edts_end) = rd.find(trak, trak_end, |_, k, b, e| {
        Some((&k == b"edts").then_some((b, e)))
    })?;
    rd.find(edts, edts_end, |rd, k, _, _| {
        if &k != b"elst" {
            return Some(None);
        }
        let version = rd.u32()? >> 24;
        let entries = rd.u32()?;
        // Only the usual single edit (priming skip + length) is applied; empty edits
        // (media_time -1, a delayed start) and multi-part edits are left alone.
        if entries != 1 {
            return Some(None);
        }
        let (duration, media_time) = if version == 1 {
            (rd.u64()?, rd.u64()? as i64)
        } else {
            (rd.u32()? as u64, rd.u32()? as i32 as i64)
        };
        if media_time < 0 || movie_scale == 0 || timescale == 0 {
            return Some(None);
        }
        let length = (duration > 0)
            .then(|| (duration as u128 * timescale as u128 / movie_scale as u128) as u64);
        Some(Some(AudioEdit {
            skip: media_time as u64,
            length,
            timescale,
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn not_mp4_gives_none() {
        assert_eq!(
            audio_edit(Cursor::new(b"RIFF\0\0\0\0WAVEfmt ".to_vec())),
            None
        );
        assert_eq!(audio_edit(Cursor::new(Vec::new())), None);
        // A box claiming to be larger than the file.
        let mut b = vec![0, 0, 0, 200];
        b.extend_from_slice(b"ftyp");
        assert_eq!(audio_edit(Cursor::new(b)), None);
    }
}
