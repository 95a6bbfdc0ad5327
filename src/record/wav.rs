//! The WAV file of a recording, kept valid on disk while it grows, and the repair of one that
//! was cut off by a crash or a power cut.
//!
//! While recording, `NAME.wav.recording` sits beside the file and is locked by the recorder; the
//! operating system drops the lock when the process dies, so the next `gijiroku record` knows
//! the recording is unfinished (and not merely still running) and repairs it.

use super::RecordError;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often the header is brought up to date and the data forced to disk: the most a crash
/// can lose. Measured by wall clock and by audio, since a file input can arrive unpaced.
const FLUSH_WALL: Duration = Duration::from_millis(500);
const FLUSH_AUDIO_SECONDS: f64 = 0.5;

const MARKER_SUFFIX: &str = ".recording";

fn marker_path(wav: &Path) -> PathBuf {
    let mut s = wav.as_os_str().to_owned();
    s.push(MARKER_SUFFIX);
    PathBuf::from(s)
}

fn io_err(path: &Path, what: &str) -> impl FnOnce(std::io::Error) -> RecordError {
    let path = path.to_path_buf();
    let what = what.to_string();
    move |e| RecordError::Io {
        what,
        path,
        source: e,
    }
}

/// A 16-bit PCM WAV being recorded. Drop without `finish` leaves an unfinished recording that
/// the next start repairs.
pub struct RecordingWav {
    writer: hound::WavWriter<BufWriter<File>>,
    // The same open file, to force data to disk (hound's writer owns the buffered one).
    disk: File,
    marker: Option<(PathBuf, File)>,
    path: PathBuf,
    channels: u16,
    rate: u32,
    frames: u64,
    frames_at_flush: u64,
    flushed_at: Instant,
}

impl RecordingWav {
    /// Creates `path` (which must not exist: recordings are never overwritten).
    pub fn create(path: &Path, rate: u32, channels: u16) -> Result<RecordingWav, RecordError> {
        let marker = marker_path(path);
        let marker_file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&marker)
            .map_err(io_err(&marker, "cannot create"))?;
        marker_file
            .try_lock()
            .map_err(|_| RecordError::InUse(path.to_path_buf()))?;
        let note = format!(
            "gijiroku is recording {} (process {}). If it is not running any more, the next \
             `gijiroku record` into this folder repairs the recording.\n",
            path.display(),
            std::process::id()
        );
        (&marker_file)
            .write_all(note.as_bytes())
            .map_err(io_err(&marker, "cannot write"))?;

        let file = OpenOptions::new()
            .write(true)
            .read(true)
            .create_new(true)
            .open(path)
            .map_err(io_err(path, "cannot create"))?;
        let disk = file.try_clone().map_err(io_err(path, "cannot open"))?;
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer =
            hound::WavWriter::new(BufWriter::new(file), spec).map_err(|e| RecordError::Wav {
                path: path.to_path_buf(),
                source: e,
            })?;
        let mut w = RecordingWav {
            writer,
            disk,
            marker: Some((marker, marker_file)),
            path: path.to_path_buf(),
            channels,
            rate,
            frames: 0,
            frames_at_flush: 0,
            flushed_at: Instant::now(),
        };
        // A header on disk from the first moment: a crash now leaves an empty valid file.
        w.flush()?;
        Ok(w)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Frames written so far (one frame = one sample per channel).
    pub fn frames(&self) -> u64 {
        self.frames
    }

    pub fn seconds(&self) -> f64 {
        self.frames as f64 / self.rate as f64
    }

    /// Frames that still fit: a WAV counts its data in 32 bits, so it holds at most 4 GiB
    /// (6.2 h at 48 kHz stereo, 37 h at 16 kHz mono).
    pub fn room_frames(&self) -> u64 {
        let block = 2 * self.channels as u64;
        let max_data = (u32::MAX as u64 - 68) / block;
        max_data.saturating_sub(self.frames)
    }

    /// Appends interleaved samples (whole frames), flushing when it is time.
    pub fn write(&mut self, interleaved: &[i16]) -> Result<(), RecordError> {
        let mut w = self.writer.get_i16_writer(interleaved.len() as u32);
        for &s in interleaved {
            w.write_sample(s);
        }
        w.flush().map_err(|e| RecordError::Wav {
            path: self.path.clone(),
            source: e,
        })?;
        self.frames += (interleaved.len() / self.channels as usize) as u64;
        let audio_due =
            (self.frames - self.frames_at_flush) as f64 >= FLUSH_AUDIO_SECONDS * self.rate as f64;
        if audio_due || self.flushed_at.elapsed() >= FLUSH_WALL {
            self.flush()?;
        }
        Ok(())
    }

    /// Flushes if the last flush is older than the flush interval (for quiet stretches when
    /// the device delivers nothing).
    pub fn flush_if_due(&mut self) -> Result<(), RecordError> {
        if self.frames != self.frames_at_flush && self.flushed_at.elapsed() >= FLUSH_WALL {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the buffered data, then the header counting it, and forces both to disk.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        // hound's flush writes the buffered samples before it rewrites the header sizes.
        self.writer.flush().map_err(|e| RecordError::Wav {
            path: self.path.clone(),
            source: e,
        })?;
        self.disk
            .sync_data()
            .map_err(io_err(&self.path, "cannot write"))?;
        self.frames_at_flush = self.frames;
        self.flushed_at = Instant::now();
        Ok(())
    }

    /// Completes the file and removes the marker. Returns the length in seconds.
    pub fn finish(mut self) -> Result<f64, RecordError> {
        self.flush()?;
        let seconds = self.seconds();
        let path = self.path.clone();
        self.writer.finalize().map_err(|e| RecordError::Wav {
            path: path.clone(),
            source: e,
        })?;
        self.disk
            .sync_all()
            .map_err(io_err(&path, "cannot write"))?;
        if let Some((marker, file)) = self.marker.take() {
            drop(file);
            std::fs::remove_file(&marker).map_err(io_err(&marker, "cannot remove"))?;
        }
        Ok(seconds)
    }
}

/// Where the parts of a WAV file are, as its header states them.
#[derive(Debug, Clone, PartialEq)]
pub struct WavLayout {
    pub data_offset: u64,
    pub data_len_in_header: u32,
    pub riff_len_in_header: u32,
    pub block_align: u16,
    pub rate: u32,
    pub file_len: u64,
}

impl WavLayout {
    /// Bytes of whole frames actually present after the data chunk's start.
    pub fn data_len_on_disk(&self) -> u64 {
        let on_disk = self.file_len.saturating_sub(self.data_offset);
        // A WAV cannot describe more than 4 GiB of data.
        let on_disk = on_disk.min(u32::MAX as u64);
        on_disk - on_disk % self.block_align.max(1) as u64
    }

    /// True when the header does not count the data on disk (the writer never finished).
    pub fn is_unfinished(&self) -> bool {
        self.data_len_in_header as u64 != self.data_len_on_disk()
            || self.riff_len_in_header as u64 != self.data_offset - 8 + self.data_len_on_disk()
    }

    fn seconds(&self, data_len: u64) -> f64 {
        let bytes_per_second = self.rate as f64 * self.block_align.max(1) as f64;
        data_len as f64 / bytes_per_second
    }
}

/// Reads the RIFF header of `path` up to the start of its data chunk.
pub fn wav_layout(path: &Path) -> Result<WavLayout, RecordError> {
    let f = File::open(path).map_err(io_err(path, "cannot open"))?;
    let file_len = f.metadata().map_err(io_err(path, "cannot open"))?.len();
    wav_layout_of(f, file_len, path)
}

/// [`wav_layout`] of bytes read from `f` (`file_len` long; `path` names it in errors): the
/// decoder reads sealed uploads through a decrypting reader.
pub fn wav_layout_of<R: Read + Seek>(
    mut f: R,
    file_len: u64,
    path: &Path,
) -> Result<WavLayout, RecordError> {
    let not_wav = |why: &str| RecordError::NotWav(path.to_path_buf(), why.to_string());
    let mut head = [0u8; 12];
    f.read_exact(&mut head)
        .map_err(|_| not_wav("shorter than a WAV header"))?;
    if &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return Err(not_wav("no RIFF/WAVE header"));
    }
    let riff_len_in_header = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    let mut pos = 12u64;
    let mut fmt: Option<(u32, u16)> = None;
    loop {
        let mut chunk = [0u8; 8];
        f.seek(SeekFrom::Start(pos))
            .map_err(io_err(path, "cannot read"))?;
        f.read_exact(&mut chunk)
            .map_err(|_| not_wav("no data chunk"))?;
        let len = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        match &chunk[0..4] {
            b"fmt " => {
                let mut body = [0u8; 14];
                f.read_exact(&mut body)
                    .map_err(|_| not_wav("truncated fmt chunk"))?;
                let rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
                let block_align = u16::from_le_bytes([body[12], body[13]]);
                fmt = Some((rate, block_align));
            }
            b"data" => {
                let (rate, block_align) = fmt.ok_or_else(|| not_wav("data before fmt chunk"))?;
                return Ok(WavLayout {
                    data_offset: pos + 8,
                    data_len_in_header: len,
                    riff_len_in_header,
                    block_align,
                    rate,
                    file_len,
                });
            }
            _ => {}
        }
        // Chunks are padded to even lengths.
        pos += 8 + len as u64 + (len as u64 & 1);
        if pos >= file_len {
            return Err(not_wav("no data chunk"));
        }
    }
}

/// What a repair did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Repair {
    pub path: PathBuf,
    /// Length the damaged header claimed.
    pub seconds_before: f64,
    /// Length after the repair: everything that reached the disk.
    pub seconds: f64,
    /// False when the header was already right (the crash came just after a flush).
    pub header_fixed: bool,
}

/// Fixes the header sizes of a WAV that was being written when its writer died, so that it
/// holds every whole frame that reached the disk (a trailing partial frame is cut). A file
/// whose header is already right is left untouched.
pub fn repair_wav(path: &Path) -> Result<Repair, RecordError> {
    let layout = wav_layout(path)?;
    if !layout.is_unfinished() {
        let seconds = layout.seconds(layout.data_len_in_header as u64);
        return Ok(Repair {
            path: path.to_path_buf(),
            seconds_before: seconds,
            seconds,
            header_fixed: false,
        });
    }
    let data_len = layout.data_len_on_disk();
    let mut f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_err(path, "cannot open for repair"))?;
    let riff_len = (layout.data_offset - 8 + data_len).min(u32::MAX as u64) as u32;
    let write = |f: &mut File, at: u64, v: u32| -> std::io::Result<()> {
        f.seek(SeekFrom::Start(at))?;
        f.write_all(&v.to_le_bytes())
    };
    write(&mut f, 4, riff_len).map_err(io_err(path, "cannot repair"))?;
    write(&mut f, layout.data_offset - 4, data_len as u32)
        .map_err(io_err(path, "cannot repair"))?;
    f.set_len(layout.data_offset + data_len)
        .map_err(io_err(path, "cannot repair"))?;
    f.sync_all().map_err(io_err(path, "cannot repair"))?;
    Ok(Repair {
        path: path.to_path_buf(),
        seconds_before: layout.seconds(layout.data_len_in_header as u64),
        seconds: layout.seconds(data_len),
        header_fixed: true,
    })
}

/// Finds and repairs every recording in `dir` whose recorder died (its marker is no longer locked), and
/// removes their markers. Recordings still running in another process are left alone.
pub fn repair_unfinished_in(dir: &Path) -> Result<Vec<Repair>, RecordError> {
    let mut repaired = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(repaired),
        Err(e) => return Err(io_err(dir, "cannot list")(e)),
    };
    for entry in entries.flatten() {
        let marker = entry.path();
        let Some(name) = marker.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(wav_name) = name.strip_suffix(MARKER_SUFFIX) else {
            continue;
        };
        let Ok(lock) = OpenOptions::new().write(true).open(&marker) else {
            continue;
        };
        if lock.try_lock().is_err() {
            // Another gijiroku is recording into it right now.
            continue;
        }
        let wav = marker.with_file_name(wav_name);
        if wav.exists() {
            match repair_wav(&wav) {
                Ok(r) => repaired.push(r),
                Err(RecordError::NotWav(..)) => {
                    // The crash came before the header reached the disk: no audio to keep.
                    tracing::warn!("{} holds no audio; left as it is", wav.display());
                }
                Err(e) => return Err(e),
            }
        }
        drop(lock);
        std::fs::remove_file(&marker).map_err(io_err(&marker, "cannot remove"))?;
    }
    Ok(repaired)
}

/// `path` if it is free, else `stem-2.ext`, `stem-3.ext`, ...: a recording never replaces a file.
pub fn free_path(path: &Path) -> PathBuf {
    if !path.exists() && !marker_path(path).exists() {
        return path.to_path_buf();
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "recording".into());
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_else(|| "wav".into());
    (2..)
        .map(|n| path.with_file_name(format!("{stem}-{n}.{ext}")))
        .find(|p| !p.exists() && !marker_path(p).exists())
        .expect("an unbounded range always finds a free name")
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/eval");

    fn speech() -> Vec<i16> {
        let path = format!("{EVAL}/asr_en/whisper__jfk.wav");
        let mut r = hound::WavReader::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        r.samples::<i16>().map(|s| s.unwrap()).collect()
    }

    /// A writer that dies between flushes: hound's buffer had already spilled data to disk
    /// beyond what the header counts. The repair keeps every whole frame on disk.
    #[test]
    fn a_writer_killed_between_flushes_is_repaired() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.wav");
        let speech = speech();
        let mut w = RecordingWav::create(&path, 16_000, 1).unwrap();
        // 0.7 s in 0.1 s blocks: the flush at 0.5 s, then 0.2 s more (6400 bytes, under
        // BufWriter's 8 KiB), then 1000 frames that make the buffer spill its 6400 bytes.
        for block in speech[..11_200].chunks(1_600) {
            w.write(block).unwrap();
        }
        w.write(&speech[11_200..12_200]).unwrap();
        let header_frames = hound::WavReader::open(&path).unwrap().len() as usize;
        // Die without finishing: the marker's lock goes, the writer's buffer is lost.
        let (marker, lock) = w.marker.take().unwrap();
        drop(lock);
        std::mem::forget(w);

        let before = wav_layout(&path).unwrap();
        let on_disk = before.data_len_on_disk() as usize / 2;
        assert!(
            on_disk > header_frames,
            "{on_disk} on disk, {header_frames} in the header"
        );
        let repairs = repair_unfinished_in(dir.path()).unwrap();
        assert_eq!(repairs.len(), 1);
        assert!(!marker.exists());
        let after = wav_layout(&path).unwrap();
        assert!(!after.is_unfinished());
        let got: Vec<i16> = hound::WavReader::open(&path)
            .unwrap()
            .samples::<i16>()
            .map(|s| s.unwrap())
            .collect();
        assert_eq!(got.len(), on_disk);
        assert_eq!(got[..], speech[..on_disk]);
        // At least the audio up to the last flush (0.5 s) survived.
        assert!(got.len() >= 8_000, "{}", got.len());
        assert!(repairs[0].header_fixed);
    }

    #[test]
    fn a_running_recording_is_left_alone_and_names_are_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("live.wav");
        let mut w = RecordingWav::create(&path, 16_000, 1).unwrap();
        w.write(&speech()[..16_000]).unwrap();
        assert!(repair_unfinished_in(dir.path()).unwrap().is_empty());
        assert!(marker_path(&path).exists());
        assert_eq!(free_path(&path), dir.path().join("live-2.wav"));
        assert!(RecordingWav::create(&path, 16_000, 1).is_err());
        assert_eq!(w.finish().unwrap(), 1.0);
        assert!(!marker_path(&path).exists());
        assert!(matches!(
            wav_layout(&dir.path().join("nothing.wav")),
            Err(RecordError::Io { .. })
        ));
        std::fs::write(dir.path().join("text.wav"), b"not audio at all").unwrap();
        assert!(matches!(
            repair_wav(&dir.path().join("text.wav")),
            Err(RecordError::NotWav(..))
        ));
    }
}
