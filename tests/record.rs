//! `gijiroku record` without a sound card: an ALSA PCM of `type file` feeds a raw recording of
//! real speech into the capture path. The ALSA configuration lives in a temporary HOME per
//! test (`~/.asoundrc`), never on the machine. A regular file arrives unpaced (all at once),
//! so no test depends on wall-clock pacing; a FIFO lets a test decide how much is fed.

use std::io::Write;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const EVAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/eval");
const BIN: &str = env!("CARGO_BIN_EXE_gijiroku");

/// 11.0 s of speech, 16 kHz mono 16-bit.
fn jfk() -> Vec<i16> {
    let path = format!("{EVAL}/asr_en/whisper__jfk.wav");
    let mut r = hound::WavReader::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(r.spec().sample_rate, 16_000);
    assert_eq!(r.spec().channels, 1);
    r.samples::<i16>().map(|s| s.unwrap()).collect()
}

fn raw_bytes(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

/// A HOME whose ~/.asoundrc makes the default input read `infile`.
fn alsa_home(dir: &Path, infile: &Path) -> PathBuf {
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let conf = format!(
        "pcm.!default {{\n  type file\n  slave.pcm \"null\"\n  file \"/dev/null\"\n  \
         infile \"{}\"\n  format \"raw\"\n}}\n",
        infile.display()
    );
    std::fs::write(home.join(".asoundrc"), conf).unwrap();
    home
}

fn gijiroku(home: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env_remove("ALSA_CONFIG_PATH")
        .env_remove("RUST_LOG");
    c
}

fn wav_samples(path: &Path) -> (hound::WavSpec, Vec<i16>) {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = r.spec();
    let s = r.samples::<i16>().map(|s| s.unwrap()).collect();
    (spec, s)
}

fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn records_the_same_samples_mono_16k() {
    let dir = tempfile::tempdir().unwrap();
    let speech = jfk();
    let infile = dir.path().join("in.raw");
    std::fs::write(&infile, raw_bytes(&speech)).unwrap();
    let home = alsa_home(dir.path(), &infile);
    let out = dir.path().join("meeting.wav");
    let o = gijiroku(&home)
        .args([
            "--json",
            "record",
            "--no-transcribe",
            "--rate",
            "16000",
            "--channels",
            "1",
        ])
        .args(["--duration", "10.5", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr_of(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["recording"]["seconds"].as_f64(), Some(10.5));
    assert_eq!(
        summary["recording"]["format"]["rate"].as_u64(),
        Some(16_000)
    );

    let (spec, got) = wav_samples(&out);
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (16_000, 1, 16)
    );
    assert_eq!(got.len(), 168_000);
    assert!(
        got == speech[..168_000],
        "the WAV differs from what was fed"
    );
    assert!(
        !dir.path().join("meeting.wav.recording").exists(),
        "marker left behind"
    );
}

#[test]
fn records_the_same_samples_stereo_48k_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    // Left = the speech, right = its negation: channel order must survive.
    let stereo: Vec<i16> = jfk()
        .iter()
        .flat_map(|&s| [s, s.saturating_neg()])
        .collect();
    let infile = dir.path().join("in.raw");
    std::fs::write(&infile, raw_bytes(&stereo)).unwrap();
    let home = alsa_home(dir.path(), &infile);
    let out = dir.path().join("meeting.wav");
    std::fs::write(&out, b"an earlier file that must survive").unwrap();
    let o = gijiroku(&home)
        .args([
            "record",
            "--no-transcribe",
            "--rate",
            "48000",
            "--channels",
            "2",
        ])
        .args(["--duration", "3", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr_of(&o));
    assert_eq!(
        std::fs::read(&out).unwrap(),
        b"an earlier file that must survive"
    );
    assert!(stderr_of(&o).contains("meeting-2.wav"), "{}", stderr_of(&o));
    let (spec, got) = wav_samples(&dir.path().join("meeting-2.wav"));
    assert_eq!((spec.sample_rate, spec.channels), (48_000, 2));
    assert_eq!(got.len(), 3 * 48_000 * 2);
    assert!(
        got == stereo[..got.len()],
        "the WAV differs from what was fed"
    );
}

#[test]
fn no_input_device_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    // The default input names a card that no machine has: what a server without sound sees.
    std::fs::write(
        home.join(".asoundrc"),
        "pcm.!default { type hw card 97 }\nctl.!default { type hw card 97 }\n",
    )
    .unwrap();
    let o = gijiroku(&home)
        .args(["record", "--no-transcribe", "--out"])
        .arg(dir.path().join("x.wav"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = stderr_of(&o);
    assert_eq!(err.lines().count(), 1, "expected one line, got:\n{err}");
    assert!(
        err.starts_with("gijiroku: error: no audio input device"),
        "{err}"
    );
    assert!(!dir.path().join("x.wav").exists());

    // Without any sound card at all (CI, servers), `devices` says the same in one line.
    if !Path::new("/proc/asound/cards").exists() {
        let o = gijiroku(&home).arg("devices").output().unwrap();
        assert!(!o.status.success());
        let err = stderr_of(&o);
        assert_eq!(err.lines().count(), 1, "expected one line, got:\n{err}");
        assert!(err.contains("no audio input device"), "{err}");
    }
}

/// A FIFO as the ALSA input, held open read-write by the test so it never sees end-of-file,
/// with a 1 MiB buffer filled before the recorder starts: it reads whole periods until the
/// data runs out, then waits, like a microphone in a silent room that delivers nothing.
struct Fifo {
    path: PathBuf,
    file: std::fs::File,
}

impl Fifo {
    fn new(path: PathBuf) -> Fifo {
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: plain libc calls on a path and a descriptor this test owns.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        use std::os::fd::AsRawFd;
        let size = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20) };
        assert!(size >= 1 << 20, "cannot grow the pipe buffer");
        assert!(std::fs::metadata(&path).unwrap().file_type().is_fifo());
        Fifo { path, file }
    }

    fn feed(&mut self, samples: &[i16]) {
        self.file.write_all(&raw_bytes(samples)).unwrap();
    }
}

/// Waits until the WAV header counts at least `frames`, reading it as any player would.
fn wait_for_header(path: &Path, frames: u32, child: &mut Child) -> u32 {
    let t0 = Instant::now();
    loop {
        let n = hound::WavReader::open(path).map(|r| r.len()).unwrap_or(0);
        if n >= frames {
            return n;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("recorder exited early: {status}");
        }
        if t0.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the header still counts {n} frames, not {frames}: it is not kept up to date");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn start_recording(home: &Path, out: &Path) -> Child {
    gijiroku(home)
        .args([
            "-q",
            "record",
            "--no-transcribe",
            "--rate",
            "16000",
            "--channels",
            "1",
            "--out",
        ])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn kill_9_loses_at_most_a_second_and_the_next_start_repairs() {
    let dir = tempfile::tempdir().unwrap();
    let speech = jfk();
    let mut fifo = Fifo::new(dir.path().join("in.fifo"));
    let home = alsa_home(dir.path(), &fifo.path);
    let out = dir.path().join("council.wav");
    // 8 s of speech fed, then nothing.
    let fed = 8 * 16_000;
    fifo.feed(&speech[..fed]);
    let mut child = start_recording(&home, &out);
    wait_for_header(&out, (fed - 16_000) as u32, &mut child);
    std::thread::sleep(Duration::from_millis(1200));
    child.kill().unwrap(); // SIGKILL: no chance to finish the file
    child.wait().unwrap();

    // The file opens as it is and holds all but at most the last second of what was fed.
    let (spec, got) = wav_samples(&out);
    assert_eq!((spec.sample_rate, spec.channels), (16_000, 1));
    assert!(
        got.len() >= fed - 16_000,
        "only {} of {fed} samples",
        got.len()
    );
    let sure = fed - 16_000;
    assert!(
        got[..sure] == speech[..sure],
        "the WAV differs from what was fed"
    );
    assert!(dir.path().join("council.wav.recording").exists());

    // The next start repairs it instead of overwriting, and records into a new name.
    fifo.feed(&speech[fed..fed + 32_000]);
    let o = gijiroku(&home)
        .args([
            "record",
            "--no-transcribe",
            "--rate",
            "16000",
            "--channels",
            "1",
        ])
        .args(["--duration", "1", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr_of(&o));
    let err = stderr_of(&o);
    assert!(err.contains("recovered the recording"), "{err}");
    assert!(!dir.path().join("council.wav.recording").exists());
    let layout = gijiroku::record::wav_layout(&out).unwrap();
    assert!(!layout.is_unfinished(), "{layout:?}");
    let (_, repaired) = wav_samples(&out);
    assert!(repaired.len() >= got.len());
    assert!(repaired[..sure] == speech[..sure]);
    let (_, second) = wav_samples(&dir.path().join("council-2.wav"));
    assert_eq!(second.len(), 16_000);
}

#[test]
fn ctrl_c_finishes_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let speech = jfk();
    let mut fifo = Fifo::new(dir.path().join("in.fifo"));
    let home = alsa_home(dir.path(), &fifo.path);
    let out = dir.path().join("desk.wav");
    let fed = 3 * 16_000;
    fifo.feed(&speech[..fed]);
    let mut child = start_recording(&home, &out);
    wait_for_header(&out, (fed - 16_000) as u32, &mut child);
    // SAFETY: signals the child this test started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = child.wait().unwrap();
    assert!(status.success(), "exit after Ctrl-C: {status}");
    assert!(!dir.path().join("desk.wav.recording").exists());
    let layout = gijiroku::record::wav_layout(&out).unwrap();
    assert!(!layout.is_unfinished(), "{layout:?}");
    let (_, got) = wav_samples(&out);
    assert!(got.len() >= fed - 16_000);
    let sure = fed - 16_000;
    assert!(got[..sure] == speech[..sure]);
}
