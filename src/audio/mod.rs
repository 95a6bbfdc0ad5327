//! Audio in: opens a recording of any common format and streams it as 16 kHz mono f32.
//!
//! Owns decoding (symphonia, plus libopus through `symphonia-adapter-libopus` for Opus),
//! downmixing to mono (mean of the channels) and resampling to 16 kHz (rubato's FFT
//! resampler, chunked, its delay removed and its tail flushed so the output length matches the
//! recording). Everything streams: memory stays flat whatever the recording's length.
//! It must not know what the samples are used for (no VAD, no transcription here).

mod mp4;
mod ogg;
mod riff;

use anyhow::{bail, Context};
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler, WindowFunction};
use std::path::Path;
use std::sync::OnceLock;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::codecs::registry::CodecRegistry;
use symphonia::core::codecs::CodecParameters;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, Track};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

/// Every later stage works at Whisper's rate.
pub const SAMPLE_RATE: u32 = 16_000;

/// Samples per block handed out by [`Decoder16k::next_block`] (at most): 10 s.
pub const BLOCK_SAMPLES: usize = SAMPLE_RATE as usize * 10;

/// Frames per resampler call at the source rate (before rounding to the rate pair's block).
const RESAMPLE_CHUNK: usize = 8192;
/// FFT sub-chunks per call: ~2048-frame FFTs. rubato's default (~256) gives a short filter
/// whose cutoff falls near 7 kHz at 16 kHz output and cost 1 % correlation on speech here.
const RESAMPLE_SUB_CHUNKS: usize = 4;

/// Consecutive undecodable packets after which the rest of the file is taken as garbage.
const MAX_BAD_PACKETS: usize = 1000;

/// A decoded sample beyond this magnitude is not sound but damage or a misread format (integer
/// samples stored as float reach 32768): it becomes silence. Between 1 and this it is clipped.
/// Spikes of 1e20 crashed whisper.cpp's DTW and 1e5 made it invent text (issue 19).
const ABSURD_LEVEL: f32 = 1e3;
/// A recording with more than this share of absurd samples (NaN, infinite or beyond
/// [`ABSURD_LEVEL`]) is refused rather than transcribed as silence and clicks.
const ABSURD_SHARE: f64 = 0.01;
/// The share is judged over the first this-many seconds (from the first second on, at open
/// for most files), so a refusal comes before a long transcription; later damage is silenced
/// and reported in a warning like any damaged packet.
const VERDICT_SECONDS: u64 = 30;

/// What was done to decoded samples that could not go to the later stages as they were.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SampleFixes {
    /// Samples (per channel) looked at.
    pub samples: u64,
    /// Samples outside [-1, 1] but plausible (a hot float recording), clipped to ±1.
    pub clipped: u64,
    /// NaN, infinite or beyond ±1000: replaced by silence.
    pub absurd: u64,
}

impl SampleFixes {
    /// The sample as the later stages may see it, counted.
    #[inline]
    fn fix(&mut self, s: f32) -> f32 {
        if s.abs() <= 1.0 {
            s
        } else if s.abs() <= ABSURD_LEVEL {
            self.clipped += 1;
            s.clamp(-1.0, 1.0)
        } else {
            // NaN fails every comparison and lands here too.
            self.absurd += 1;
            0.0
        }
    }

    fn absurd_share(&self) -> f64 {
        self.absurd as f64 / self.samples.max(1) as f64
    }
}

/// What the container and codec say about a recording.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    pub sample_rate: u32,
    pub channels: u16,
    pub codec: String,
    /// Length in seconds when the container knows it (it may not for some streams).
    pub duration: Option<f64>,
}

/// symphonia's codecs plus Opus (symphonia has no Opus decoder of its own).
fn codecs() -> &'static CodecRegistry {
    static REGISTRY: OnceLock<CodecRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut r = CodecRegistry::new();
        symphonia::default::register_enabled_codecs(&mut r);
        r.register_audio_decoder::<symphonia_adapter_libopus::OpusDecoder>();
        r
    })
}

/// Streaming decoder: yields blocks of 16 kHz mono samples until the recording ends.
pub struct Decoder16k {
    info: AudioInfo,
    name: String,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    resampler: Option<Fft<f32>>,
    /// Mono samples at the source rate waiting for the resampler.
    mono: Vec<f32>,
    /// Planar scratch for one decoded packet.
    planes: Vec<Vec<f32>>,
    /// 16 kHz output scratch for one resampler call.
    scratch: Vec<f32>,
    /// 16 kHz samples ready to hand out.
    out: Vec<f32>,
    /// Output frames still to drop at the start (the resampler's delay).
    skip: usize,
    frames_in: u64,
    frames_out: u64,
    bad_packets: usize,
    decoded_packets: u64,
    /// Where the next packet should start, in frames, when the track counts time in frames.
    next_pts: Option<i64>,
    /// The track's time base is 1/sample rate (packet times are frame numbers).
    frame_times: bool,
    /// Decoded frames still to drop at the start (MP4 edit list: encoder priming).
    pre_trim: u64,
    /// Frames the recording has, when the container says (MP4 edit list).
    limit: Option<u64>,
    fixes: SampleFixes,
    /// The absurd share has been judged acceptable for good (past [`VERDICT_SECONDS`]).
    verdict_done: bool,
    ended: bool,
    flushed: bool,
}

/// A recording's bytes as symphonia reads them. The Mutex is only there because symphonia's
/// `MediaSource` must be `Sync`; reads go through `get_mut` and never lock.
struct Source {
    inner: std::sync::Mutex<Box<dyn crate::crypt::ReadSeek>>,
    len: u64,
}

impl Source {
    fn new(inner: Box<dyn crate::crypt::ReadSeek>, len: u64) -> Source {
        Source {
            inner: std::sync::Mutex::new(inner),
            len,
        }
    }

    fn reader(&mut self) -> &mut Box<dyn crate::crypt::ReadSeek> {
        self.inner.get_mut().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::io::Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reader().read(buf)
    }
}

impl std::io::Seek for Source {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        self.reader().seek(to)
    }
}

impl symphonia::core::io::MediaSource for Source {
    fn is_seekable(&self) -> bool {
        true
    }
    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}

impl Decoder16k {
    pub fn open(path: &Path) -> anyhow::Result<Decoder16k> {
        Self::open_sealed(path, None)
    }

    /// Opens a recording that may be sealed with `key` (a web upload waiting for its job in
    /// an archive with a key): decrypted chunk by chunk as it is read, never written out plain.
    pub fn open_sealed(path: &Path, key: Option<&crate::crypt::Key>) -> anyhow::Result<Decoder16k> {
        let shown = path.display().to_string();
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                bail!("{shown}: no such file")
            }
            Err(e) => return Err(e).with_context(|| format!("cannot open {shown}")),
        };
        if meta.is_dir() {
            bail!("{shown} is a folder, not an audio file");
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        let (reader, len) = crate::crypt::open_plain(path, key)?;
        Self::open_reader(&shown, ext.as_deref(), reader, len)
    }

    /// Opens a recording from a reader over its bytes (`len` of them): a sealed file's
    /// plaintext, or an archived recording. `shown` names it in messages, `ext` hints the
    /// format.
    pub fn open_reader(
        shown: &str,
        ext: Option<&str>,
        mut file: Box<dyn crate::crypt::ReadSeek>,
        len: u64,
    ) -> anyhow::Result<Decoder16k> {
        use std::io::{Seek, SeekFrom};
        let shown = shown.to_string();
        if len == 0 {
            bail!("{shown} is empty (0 bytes)");
        }
        let rewind = |f: &mut Box<dyn crate::crypt::ReadSeek>| {
            f.seek(SeekFrom::Start(0))
                .with_context(|| format!("cannot read {shown}"))
        };
        // Damage that symphonia would take as the end of the recording is mended on the way
        // in (the file itself is never changed).
        let mut fields = Vec::new();
        rewind(&mut file)?;
        if let Some(fix) = riff::unfilled_sizes(&mut file, len) {
            tracing::warn!(
                "{shown}: WAV sizes were never filled in (the recorder did not finish?); \
                 reading to the end of the file: {:.1} s",
                fix.seconds
            );
            fields = fix.fields();
        } else if let Some(fix) = {
            rewind(&mut file)?;
            ogg::damaged_pages(&mut file, len)
        } {
            tracing::warn!(
                "{shown}: {} damaged Ogg page(s) (checksum or capture pattern) kept, so later \
                 audio keeps its time; their audio may click",
                fix.pages
            );
            fields = fix.fields;
        }
        // MP4 edit lists (AAC encoder priming) are read here: symphonia does not apply them.
        rewind(&mut file)?;
        let edit = mp4::audio_edit(std::io::BufReader::new(&mut file));
        rewind(&mut file)?;
        let file = Source::new(file, len);
        let source: Box<dyn symphonia::core::io::MediaSource> = if fields.is_empty() {
            Box::new(file)
        } else {
            Box::new(riff::Patched::new(file, fields))
        };
        let mss = MediaSourceStream::new(source, MediaSourceStreamOptions::default());
        let mut hint = Hint::new();
        if let Some(ext) = ext {
            hint.with_extension(ext);
        }
        let format = symphonia::default::get_probe()
            .probe(
                &hint,
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|e| {
                tracing::debug!("probe of {shown} failed: {e}");
                anyhow::anyhow!("{shown}: not an audio file or unsupported format")
            })?;
        Self::from_format(format, shown, edit)
    }

    fn from_format(
        format: Box<dyn FormatReader>,
        name: String,
        edit: Option<mp4::AudioEdit>,
    ) -> anyhow::Result<Decoder16k> {
        // The first audio track whose codec we can decode (a video's H.264 track is skipped).
        let audio_tracks: Vec<&Track> = format
            .tracks()
            .iter()
            .filter(|t| matches!(t.codec_params, Some(CodecParameters::Audio(_))))
            .collect();
        if audio_tracks.is_empty() {
            bail!("{name} has no audio track");
        }
        let track = audio_tracks
            .iter()
            .find(|t| match &t.codec_params {
                Some(CodecParameters::Audio(p)) => codecs().get_audio_decoder(p.codec).is_some(),
                _ => false,
            })
            .copied();
        let Some(track) = track else {
            bail!("{name}: unsupported audio codec (no decoder for its audio track)");
        };
        let Some(CodecParameters::Audio(params)) = &track.codec_params else {
            bail!("{name} has no audio track");
        };
        let decoder = codecs()
            .make_audio_decoder(params, &AudioDecoderOptions::default().gapless(true))
            .map_err(|e| anyhow::anyhow!("{name}: cannot decode its audio ({e})"))?;
        let codec = codecs()
            .get_audio_decoder(params.codec)
            .map(|d| d.codec.info.short_name.to_string())
            .unwrap_or_else(|| "unknown".into());
        let sample_rate = params.sample_rate.unwrap_or(0);
        let channels = params.channels.as_ref().map(|c| c.count()).unwrap_or(0) as u16;
        // The AAC decoder keeps the encoder's priming; the edit list says how much it is.
        // Applied only when it counts in frames and looks like priming (under a second).
        let edit = edit.filter(|e| {
            codec == "aac" && e.timescale == sample_rate && e.skip < sample_rate as u64
        });
        if let Some(e) = edit {
            tracing::debug!(
                "{name}: MP4 edit list: skip {} frames, keep {:?}",
                e.skip,
                e.length
            );
        }
        let duration = match (edit.and_then(|e| e.length), track.num_frames, sample_rate) {
            (Some(n), _, sr) if sr > 0 => Some(n as f64 / sr as f64),
            (_, Some(n), sr) if sr > 0 => Some(n as f64 / sr as f64),
            _ => track
                .time_base
                .zip(track.duration)
                .and_then(|(tb, d)| tb.calc_duration(d))
                .map(|t| t.as_secs_f64()),
        };
        let track_id = track.id;
        let frame_times = track
            .time_base
            .is_some_and(|tb| tb.numer.get() == 1 && tb.denom.get() == sample_rate);
        tracing::debug!(
            "{name}: track delay {:?} padding {:?} start_ts {:?}",
            track.delay,
            track.padding,
            track.start_ts
        );
        let mut d = Decoder16k {
            info: AudioInfo {
                sample_rate,
                channels,
                codec,
                duration,
            },
            name,
            format,
            decoder,
            track_id,
            frame_times,
            resampler: None,
            mono: Vec::new(),
            planes: Vec::new(),
            scratch: Vec::new(),
            out: Vec::new(),
            skip: 0,
            frames_in: 0,
            frames_out: 0,
            bad_packets: 0,
            decoded_packets: 0,
            next_pts: None,
            pre_trim: edit.map_or(0, |e| e.skip),
            limit: edit.and_then(|e| e.length),
            fixes: SampleFixes::default(),
            verdict_done: false,
            ended: false,
            flushed: false,
        };
        // Decode the first second (the true rate and channel count are known only then for
        // some formats); this also turns "nothing decodes" and absurd samples into errors at
        // open, before any later stage starts.
        d.fill(SAMPLE_RATE as usize)?;
        if d.decoded_packets == 0 {
            bail!(
                "{}: no audio could be decoded (corrupt or truncated file)",
                d.name
            );
        }
        Ok(d)
    }

    pub fn info(&self) -> &AudioInfo {
        &self.info
    }

    /// Samples clipped or silenced so far (complete once [`Self::next_block`] gave `None`).
    pub fn sample_fixes(&self) -> SampleFixes {
        self.fixes
    }

    /// The next block of samples (at most [`BLOCK_SAMPLES`], never empty), or `None` at the end.
    pub fn next_block(&mut self) -> anyhow::Result<Option<Vec<f32>>> {
        self.fill(BLOCK_SAMPLES)?;
        if self.out.is_empty() {
            return Ok(None);
        }
        let n = self.out.len().min(BLOCK_SAMPLES);
        let rest = self.out.split_off(n);
        Ok(Some(std::mem::replace(&mut self.out, rest)))
    }

    /// Decodes until `want` output samples are ready or the recording is over.
    fn fill(&mut self, want: usize) -> anyhow::Result<()> {
        while self.out.len() < want && !self.flushed {
            if self.ended {
                self.flush()?;
                break;
            }
            self.decode_packet()?;
            self.resample(false)?;
        }
        Ok(())
    }

    /// Reads and decodes one packet of our track into `mono` (or marks the end).
    fn decode_packet(&mut self) -> anyhow::Result<()> {
        let packet = match self.format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => {
                self.ended = true;
                return Ok(());
            }
            Err(SymError::ResetRequired) => {
                // A chained stream (e.g. concatenated Ogg files): the rest is another
                // recording with its own parameters; stop here rather than mix them.
                tracing::warn!("{}: stream changes format midway; stopped there", self.name);
                self.ended = true;
                return Ok(());
            }
            Err(e) => {
                // A truncated or damaged container: keep what was decoded, like ffmpeg.
                if self.decoded_packets > 0 {
                    tracing::warn!(
                        "{}: stopped reading at {:.1} s: {e} (file truncated or damaged?)",
                        self.name,
                        self.frames_in as f64 / self.info.sample_rate.max(1) as f64
                    );
                }
                self.ended = true;
                return Ok(());
            }
        };
        if packet.track_id != self.track_id {
            return Ok(());
        }
        // Packets lost to damage leave a hole in the timeline: fill it with silence so all
        // that follows keeps its true time (minutes cite times in the recording).
        if self.frame_times {
            let pts = packet.pts.get();
            if let Some(next) = self.next_pts {
                self.silence(pts - next, "missing");
            }
            let block = packet.dur.get() + packet.trim_start.get() + packet.trim_end.get();
            self.next_pts = Some(pts.saturating_add(block as i64));
        }
        let lost = packet.dur.get() as i64;
        let buf = match self.decoder.decode(&packet) {
            Ok(b) => b,
            Err(SymError::DecodeError(e)) => {
                self.silence(lost, "undecodable");
                return self.bad_packet(e);
            }
            Err(SymError::IoError(e)) => {
                self.silence(lost, "undecodable");
                return self.bad_packet(e);
            }
            Err(e) => {
                if self.decoded_packets == 0 {
                    bail!("{}: cannot decode its audio ({e})", self.name);
                }
                tracing::warn!("{}: decoding stopped: {e}", self.name);
                self.ended = true;
                return Ok(());
            }
        };
        self.bad_packets = 0;
        let frames = buf.frames();
        if frames == 0 {
            return Ok(());
        }
        let spec = buf.spec();
        let rate = spec.rate();
        let channels = spec.channels().count().max(1);
        if self.decoded_packets == 0 {
            // A damaged header can claim any rate; the resampler's FFT size grows with it.
            if !(1_000..=768_000).contains(&rate) {
                bail!(
                    "{}: unsupported sample rate {rate} Hz (damaged header?)",
                    self.name
                );
            }
            self.info.sample_rate = rate;
            self.info.channels = channels as u16;
            if rate != SAMPLE_RATE {
                let r = Fft::<f32>::new_custom(
                    rate as usize,
                    SAMPLE_RATE as usize,
                    RESAMPLE_CHUNK,
                    RESAMPLE_SUB_CHUNKS,
                    1,
                    WindowFunction::BlackmanHarris2,
                    FixedSync::Input,
                )
                .map_err(|e| {
                    anyhow::anyhow!("{}: cannot resample from {rate} Hz: {e}", self.name)
                })?;
                // rubato's filter is centred on input frame floor(n_in/2) of each FFT block,
                // a fractional number of output frames for most rate pairs, while
                // `output_delay()` rounds it (a 0.35-sample shift at 22.05 kHz cost 1 %
                // correlation). Leading silence makes the delay a whole number of output frames.
                let g = gcd(rate as usize, SAMPLE_RATE as usize);
                let (in_g, out_g) = (rate as usize / g, SAMPLE_RATE as usize / g);
                let k = (RESAMPLE_CHUNK / RESAMPLE_SUB_CHUNKS).div_ceil(in_g).max(1);
                let half = k * in_g / 2;
                if k * out_g / 2 == r.output_delay() {
                    let lead = (in_g - half % in_g) % in_g;
                    self.mono.resize(lead, 0.0);
                    self.skip = (half + lead) / in_g * out_g;
                } else {
                    self.skip = r.output_delay();
                }
                self.scratch = vec![0.0; r.output_frames_max()];
                self.resampler = Some(r);
            }
        } else if rate != self.info.sample_rate {
            tracing::warn!(
                "{}: sample rate changes midway ({} → {rate} Hz); packet skipped",
                self.name,
                self.info.sample_rate
            );
            return Ok(());
        }
        self.decoded_packets += 1;
        buf.copy_to_vecs_planar::<f32>(&mut self.planes);
        let planes = &self.planes[..channels.min(self.planes.len())];
        let scale = 1.0 / planes.len().max(1) as f32;
        let start = self.mono.len();
        self.mono.resize(start + frames, 0.0);
        // Float files can hold NaN, infinities or any magnitude (damage, bad encoders): each
        // channel's samples are brought into [-1, 1] before they are mixed, so nothing out of
        // range reaches the resampler's FFT or the models.
        for p in planes {
            for (m, s) in self.mono[start..].iter_mut().zip(p.iter()) {
                *m += self.fixes.fix(*s);
            }
        }
        self.fixes.samples += (frames * planes.len()) as u64;
        for m in &mut self.mono[start..] {
            *m *= scale;
        }
        let mut frames = frames as u64;
        if self.pre_trim > 0 {
            let cut = self.pre_trim.min(frames);
            self.mono.drain(start..start + cut as usize);
            self.pre_trim -= cut;
            frames -= cut;
        }
        self.frames_in += frames;
        self.judge_samples(false)?;
        if let Some(limit) = self.limit {
            if self.frames_in >= limit {
                let extra = (self.frames_in - limit) as usize;
                self.mono
                    .truncate(self.mono.len() - extra.min(self.mono.len() - start));
                self.frames_in = limit;
                self.ended = true;
            }
        }
        Ok(())
    }

    /// Refuses the recording when too many of its samples are absurd: judged from the first
    /// second until [`VERDICT_SECONDS`], or at the end of a shorter one (`end`).
    fn judge_samples(&mut self, end: bool) -> anyhow::Result<()> {
        if self.verdict_done {
            return Ok(());
        }
        let rate = self.info.sample_rate.max(1) as u64;
        if !end && self.frames_in < rate {
            return Ok(());
        }
        let share = self.fixes.absurd_share();
        if share > ABSURD_SHARE {
            bail!(
                "{}: not valid audio: {:.1} % of the samples are NaN, infinite or beyond ±{} \
                 (damaged file, or integer samples stored as float?)",
                self.name,
                share * 100.0,
                ABSURD_LEVEL
            );
        }
        if end || self.frames_in >= rate * VERDICT_SECONDS {
            self.verdict_done = true;
        }
        Ok(())
    }

    /// Adds `frames` of silence at the source rate (once the rate is known; jumps over ten
    /// minutes are taken as broken timestamps, not lost audio).
    fn silence(&mut self, frames: i64, what: &str) {
        let rate = self.info.sample_rate as i64;
        if frames <= 0 || self.decoded_packets == 0 || rate == 0 {
            return;
        }
        let at = self.frames_in as f64 / rate as f64;
        if frames > rate * 600 {
            tracing::warn!(
                "{}: timestamps jump by {:.0} s at {at:.1} s; ignored",
                self.name,
                frames as f64 / rate as f64
            );
            return;
        }
        tracing::warn!(
            "{}: {:.3} s of audio {what} at {at:.1} s; replaced by silence",
            self.name,
            frames as f64 / rate as f64
        );
        let len = self.mono.len();
        self.mono.resize(len + frames as usize, 0.0);
        self.frames_in += frames as u64;
    }

    fn bad_packet(&mut self, why: impl std::fmt::Display) -> anyhow::Result<()> {
        self.bad_packets += 1;
        tracing::warn!(
            "{}: skipped an undecodable packet at {:.1} s ({why})",
            self.name,
            self.frames_in as f64 / self.info.sample_rate.max(1) as f64
        );
        if self.bad_packets >= MAX_BAD_PACKETS {
            if self.decoded_packets == 0 {
                bail!(
                    "{}: no audio could be decoded (corrupt or truncated file)",
                    self.name
                );
            }
            tracing::warn!("{}: too many damaged packets; stopped there", self.name);
            self.ended = true;
        }
        Ok(())
    }

    /// Moves what is in `mono` to `out` through the resampler (whole chunks only unless
    /// `last`, which also pads the final partial chunk with silence).
    fn resample(&mut self, last: bool) -> anyhow::Result<()> {
        let Some(r) = self.resampler.as_mut() else {
            self.out.append(&mut self.mono);
            self.frames_out = self.frames_in;
            return Ok(());
        };
        let mut pos = 0;
        loop {
            let need = r.input_frames_next();
            let avail = self.mono.len() - pos;
            if avail < need && !(last && avail > 0) {
                break;
            }
            let take = avail.min(need);
            let input = InterleavedSlice::new(&self.mono[pos..pos + take], 1, take)
                .map_err(|e| anyhow::anyhow!("resampler input: {e}"))?;
            let cap = self.scratch.len();
            let mut output = InterleavedSlice::new_mut(&mut self.scratch[..], 1, cap)
                .map_err(|e| anyhow::anyhow!("resampler output: {e}"))?;
            let idx = Indexing::new().partial_len(take);
            let (_, produced) = r
                .process_into_buffer(&input, &mut output, Some(&idx))
                .map_err(|e| anyhow::anyhow!("resampling failed: {e}"))?;
            let drop = self.skip.min(produced);
            self.skip -= drop;
            // The resampler's filter rings past full scale on clipped input.
            let ready = self.scratch[drop..produced].iter();
            self.out.extend(ready.map(|s| s.clamp(-1.0, 1.0)));
            self.frames_out += (produced - drop) as u64;
            pos += take;
        }
        self.mono.drain(..pos);
        Ok(())
    }

    /// At the end: resample what is left, then feed silence until the resampler has given
    /// out the tail it holds, and cut the output to the input's length at 16 kHz.
    fn flush(&mut self) -> anyhow::Result<()> {
        self.judge_samples(true)?;
        let f = self.fixes;
        if f.clipped > 0 {
            tracing::warn!(
                "{}: {} samples outside [-1, 1] clipped (recorded too loud?)",
                self.name,
                f.clipped
            );
        }
        if f.absurd > 0 {
            tracing::warn!(
                "{}: {} samples NaN, infinite or beyond ±{ABSURD_LEVEL} ({:.3} %) replaced by silence",
                self.name,
                f.absurd,
                f.absurd_share() * 100.0
            );
        }
        self.resample(true)?;
        if let Some(r) = self.resampler.as_mut() {
            let expected = (self.frames_in as u128 * SAMPLE_RATE as u128
                / self.info.sample_rate.max(1) as u128) as u64;
            let silence = vec![0.0f32; r.input_frames_next()];
            while self.frames_out < expected {
                let need = r.input_frames_next();
                let input = InterleavedSlice::new(&silence[..need.min(silence.len())], 1, need)
                    .map_err(|e| anyhow::anyhow!("resampler input: {e}"))?;
                let cap = self.scratch.len();
                let mut output = InterleavedSlice::new_mut(&mut self.scratch[..], 1, cap)
                    .map_err(|e| anyhow::anyhow!("resampler output: {e}"))?;
                let (_, produced) = r
                    .process_into_buffer(&input, &mut output, None)
                    .map_err(|e| anyhow::anyhow!("resampling failed: {e}"))?;
                let drop = self.skip.min(produced);
                self.skip -= drop;
                let ready = self.scratch[drop..produced].iter();
                self.out.extend(ready.map(|s| s.clamp(-1.0, 1.0)));
                self.frames_out += (produced - drop) as u64;
            }
            let extra = (self.frames_out - expected) as usize;
            let keep = self.out.len().saturating_sub(extra);
            self.out.truncate(keep);
            self.frames_out = expected;
        }
        self.flushed = true;
        Ok(())
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Decodes a whole (short) recording into memory: for clips, tests and evaluation only.
pub fn load_16k(path: &Path) -> anyhow::Result<(Vec<f32>, AudioInfo)> {
    let mut d = Decoder16k::open(path)?;
    let mut all = Vec::new();
    while let Some(b) = d.next_block()? {
        all.extend_from_slice(&b);
    }
    Ok((all, d.info().clone()))
}
