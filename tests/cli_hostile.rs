//! Issue 19, items 8, 10, 11, 12 (command line, models, guards): each test reproduces what a
//! hostile tester found, with the real binary and, where needed, the real models
//! (GIJIROKU_MODELS, default models/ from scripts/setup.sh).

mod common;

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn models() -> PathBuf {
    common::models_with("ggml-whisper-base.bin")
}

fn gijiroku(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gijiroku"));
    c.arg("--models-dir")
        .arg(models())
        .arg("--data")
        .arg(data)
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR");
    c
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write_wav(path: &Path, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}

/// Gaussian-ish white noise from a fixed xorshift seed (sum of 4 uniforms).
fn noise(n: usize, amp: f32, seed: u32) -> Vec<f32> {
    let mut x = seed.max(1);
    let mut u = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as f32 / u32::MAX as f32 - 0.5
    };
    (0..n).map(|_| (u() + u() + u() + u()) * amp).collect()
}

fn eval(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/eval")
        .join(rel)
}

/// Item 8: with --no-vad, Whisper wrote "ご視聴ありがとうございました" on white noise and hum
/// and "You" on digital silence; the guards must leave nothing, in a batch of one run.
#[test]
fn no_vad_on_silence_and_noise_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let n = 4 * 16_000;
    let silence = dir.path().join("silence.wav");
    let white = dir.path().join("white.wav");
    let hum = dir.path().join("hum.wav");
    write_wav(&silence, &vec![0.0; n]);
    write_wav(&white, &noise(n, 0.1, 7));
    let h: Vec<f32> = noise(n, 0.01, 9)
        .into_iter()
        .enumerate()
        .map(|(i, v)| 0.05 * (2.0 * std::f32::consts::PI * 50.0 * i as f32 / 16_000.0).sin() + v)
        .collect();
    write_wav(&hum, &h);
    // ja invented text on noise and hum, en on digital silence ("You"): one batch each.
    for (lang, inputs) in [("ja", vec![&silence, &white, &hum]), ("en", vec![&silence])] {
        let out = dir.path().join(format!("out-{lang}"));
        let o = gijiroku(dir.path())
            .args([
                "-q",
                "transcribe",
                "--no-vad",
                "--greedy",
                "-f",
                "txt",
                "-l",
                lang,
            ])
            .arg("-o")
            .arg(&out)
            .args(&inputs)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        for input in &inputs {
            let f = input.file_stem().unwrap().to_string_lossy();
            let text = std::fs::read_to_string(out.join(format!("{f}.txt"))).unwrap();
            assert_eq!(text.trim(), "", "{lang} {f}: invented text {text:?}");
        }
    }
}

/// Item 10: an unusable -o fails at once, in one line, before any model is loaded (here the
/// model does not even exist, and the input is long).
#[test]
fn unusable_output_folder_fails_before_transcribing() {
    let dir = tempfile::tempdir().unwrap();
    let input = eval("asr_en/whisper__jfk.wav");
    let a_file = dir.path().join("plain-file");
    std::fs::write(&a_file, b"x").unwrap();
    let read_only = dir.path().join("ro");
    std::fs::create_dir(&read_only).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o500)).unwrap();
    let is_root = unsafe { libc::geteuid() } == 0;
    let mut bad = vec![
        a_file.clone(),
        a_file.join("sub"),
        PathBuf::from("/proc/gijiroku"),
    ];
    if !is_root {
        bad.push(read_only.clone());
    }
    for out in bad {
        let t0 = Instant::now();
        let o = gijiroku(dir.path())
            .args(["transcribe", "-m", "no-such-model", "-o"])
            .arg(&out)
            .arg(&input)
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{out:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{out:?}: {err}");
        assert!(
            err.contains(&out.display().to_string()) && !err.contains("unknown model"),
            "{out:?}: {err}"
        );
        assert!(t0.elapsed() < Duration::from_secs(5));
    }
}

/// Item 10: a batch reports a bad input in one line and goes on; exit 1 at the end.
#[test]
fn batch_goes_on_after_a_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let good1 = dir.path().join("one.wav");
    let good2 = dir.path().join("two.wav");
    std::fs::copy(eval("asr_en/pocketsphinx__cards_001.wav"), &good1).unwrap();
    std::fs::copy(eval("asr_en/pocketsphinx__cards_003.wav"), &good2).unwrap();
    let garbage = dir.path().join("garbage.wav");
    std::fs::write(&garbage, vec![0x5au8; 5000]).unwrap();
    let missing = dir.path().join("missing.wav");
    let out = dir.path().join("out");
    let o = gijiroku(dir.path())
        .args([
            "-q",
            "transcribe",
            "-m",
            "whisper-tiny.en",
            "--greedy",
            "-f",
            "txt",
            "-o",
        ])
        .arg(&out)
        .args([&good1, &missing, &garbage, &good2])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    for g in ["one", "two"] {
        let t = std::fs::read_to_string(out.join(format!("{g}.txt"))).unwrap();
        assert!(!t.trim().is_empty(), "{g}: empty");
    }
    assert!(!out.join("garbage.txt").exists());
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(lines.iter().any(|l| l.contains("missing.wav")), "{err}");
    assert!(lines.iter().any(|l| l.contains("garbage.wav")), "{err}");
    assert!(lines[2].contains("2 of 4"), "{err}");
}

/// Copies the first `len` bytes of a model, then patches 4-byte little-endian values.
fn forged_model(src: &Path, dst: &Path, len: Option<u64>, patches: &[(u64, i32)]) {
    let mut data = Vec::new();
    let mut f = std::fs::File::open(src).unwrap();
    match len {
        Some(n) => {
            Read::by_ref(&mut f).take(n).read_to_end(&mut data).unwrap();
        }
        None => {
            f.read_to_end(&mut data).unwrap();
        }
    }
    let mut out = std::fs::File::create(dst).unwrap();
    out.write_all(&data).unwrap();
    for &(at, v) in patches {
        out.seek(SeekFrom::Start(at)).unwrap();
        out.write_all(&v.to_le_bytes()).unwrap();
    }
}

/// Item 11: absurd ggml headers (n_vocab 2^30 aborted the process) and truncated models are
/// refused with one line by `models import` and by `transcribe -m FILE`; the real model
/// still imports.
#[test]
fn absurd_model_headers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let real = models().join("ggml-whisper-tiny.en.bin");
    let size = real.metadata().unwrap().len();
    // (name, truncate to, (offset, value) patches)
    type Forgery = (&'static str, Option<u64>, Vec<(u64, i32)>);
    let cases: Vec<Forgery> = vec![
        ("vocab", None, vec![(4, 1 << 30)]),
        ("layers", None, vec![(4 + 4 * 4, 100_000)]),
        ("negative", None, vec![(4 + 9 * 4, -1)]),
        ("mels", None, vec![(4 + 9 * 4, 0)]),
        ("truncated", Some(size / 2), vec![]),
        ("header-only", Some(48), vec![]),
    ];
    let input = eval("asr_en/pocketsphinx__cards_001.wav");
    for (name, len, patches) in cases {
        let bad = dir.path().join(format!("ggml-bad-{name}.bin"));
        forged_model(&real, &bad, len, &patches);
        let imported = dir.path().join(format!("models-{name}"));
        let o = Command::new(env!("CARGO_BIN_EXE_gijiroku"))
            .arg("--data")
            .arg(dir.path())
            .arg("--models-dir")
            .arg(&imported)
            .args(["models", "import"])
            .arg(&bad)
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "import {name}: {err}");
        assert_eq!(err.lines().count(), 1, "import {name}: {err}");
        assert!(
            err.contains("not a valid Whisper ggml model"),
            "{name}: {err}"
        );
        let o = gijiroku(dir.path())
            .args(["-q", "transcribe", "--no-vad", "-f", "txt", "-m"])
            .arg(&bad)
            .arg("-o")
            .arg(dir.path())
            .arg(&input)
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "transcribe {name}: {err}");
        assert!(
            err.contains("not a valid Whisper ggml model"),
            "{name}: {err}"
        );
        // One forged copy (~75 MB) on disk at a time.
        std::fs::remove_file(&bad).unwrap();
        assert!(!imported.join(bad.file_name().unwrap()).exists(), "{name}");
    }
    let o = Command::new(env!("CARGO_BIN_EXE_gijiroku"))
        .arg("--data")
        .arg(dir.path())
        .arg("--models-dir")
        .arg(dir.path().join("models-good"))
        .args(["models", "import"])
        .arg(&real)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Item 11 and 12: `-t 1000` ran 1001 threads; now clamped to the cores with a warning, and
/// the warning (stderr is a pipe here) carries no ANSI colour codes.
#[test]
fn threads_are_clamped_and_logs_to_a_pipe_have_no_colour() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = gijiroku(dir.path())
        .args([
            "transcribe",
            "-m",
            "whisper-tiny.en",
            "--greedy",
            "--no-vad",
            "-f",
            "txt",
            "-t",
            "1000",
            "-o",
        ])
        .arg(dir.path())
        .arg(eval("asr_en/whisper__jfk.wav"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut most = 0usize;
    while child.try_wait().unwrap().is_none() {
        if let Ok(s) = std::fs::read_to_string(&status_file) {
            if let Some(n) = s
                .lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse::<usize>().ok())
            {
                most = most.max(n);
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let cores = std::thread::available_parallelism().unwrap().get();
    assert!(child.wait().unwrap().success(), "{err}");
    assert!(most < 64, "{most} threads at once on {cores} cores");
    assert!(
        err.contains(&format!("using {cores} threads")),
        "no warning: {err}"
    );
    assert!(!err.contains('\u{1b}'), "ANSI codes in a pipe: {err:?}");
}

/// Item 12: argument errors are one line with a hint, not clap's 4–5 lines.
#[test]
fn argument_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["transcribe", "--bogus", "x.wav"],
        vec!["transcribe"],
        vec!["transcribe", "-t", "many", "x.wav"],
        vec!["no-such-command"],
        vec!["search", "--from"],
    ] {
        let o = gijiroku(dir.path()).args(&args).output().unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("gijiroku: error: "), "{args:?}: {err}");
        assert!(err.contains("--help"), "{args:?}: {err}");
    }
    let o = gijiroku(dir.path())
        .args(["transcribe", "--help"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("--no-vad"));
}

/// Item 12: temp folders of killed processes are removed at the next start; a live
/// process's build folder and fresh temp files are left alone.
#[test]
fn stale_temp_folders_are_cleaned_at_start() {
    let data = tempfile::tempdir().unwrap();
    let dict = data.path().join("dict");
    let index = data.path().join("index");
    std::fs::create_dir_all(&index).unwrap();
    // A pid that is certainly gone: a child that has exited and been reaped.
    let mut c = Command::new("true").spawn().unwrap();
    let dead = c.id();
    c.wait().unwrap();
    let dead_build = dict.join(format!(".ipadic-build-{dead}"));
    let live_build = dict.join(format!(".ipadic-build-{}", std::process::id()));
    std::fs::create_dir_all(dead_build.join("sub")).unwrap();
    std::fs::write(dead_build.join("sub/matrix.mtx"), b"x").unwrap();
    std::fs::create_dir_all(&live_build).unwrap();
    let old_tmp = index.join(".tmpAbC123");
    let new_tmp = index.join(".tmpXyZ789");
    std::fs::write(&old_tmp, b"half a segment").unwrap();
    std::fs::write(&new_tmp, b"being written").unwrap();
    let day_ago = std::time::SystemTime::now() - Duration::from_secs(24 * 3600);
    std::fs::File::options()
        .write(true)
        .open(&old_tmp)
        .unwrap()
        .set_modified(day_ago)
        .unwrap();
    let o = gijiroku(data.path())
        .args(["models", "list"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!dead_build.exists(), "build folder of a dead process kept");
    assert!(!old_tmp.exists(), "day-old index temp file kept");
    assert!(live_build.exists(), "a running build's folder was removed");
    assert!(new_tmp.exists(), "a fresh temp file was removed");
}

/// Item 12: `speakers enroll` said "≥ 1 s" but took 0.7 s; now the check is the message.
#[test]
fn enroll_refuses_under_a_second_of_voice() {
    let data = tempfile::tempdir().unwrap();
    let mut r = hound::WavReader::open(eval("asr_en/whisper__jfk.wav")).unwrap();
    let all: Vec<f32> = r
        .samples::<i16>()
        .map(|s| s.unwrap() as f32 / 32768.0)
        .collect();
    // "And so my fellow Americans": voiced from about 0.3 s.
    let short = data.path().join("short.wav");
    write_wav(
        &short,
        &all[(0.3 * 16_000.0) as usize..(1.0 * 16_000.0) as usize],
    );
    let o = gijiroku(data.path())
        .args(["speakers", "enroll", "Kennedy"])
        .arg(&short)
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "0.7 s accepted: {err}");
    assert!(err.contains("at least 1 s"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let long = data.path().join("long.wav");
    write_wav(&long, &all[..4 * 16_000]);
    let o = gijiroku(data.path())
        .args(["-q", "speakers", "enroll", "Kennedy"])
        .arg(&long)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}
