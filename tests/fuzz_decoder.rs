//! The decoder against mutated files: every format fixture, damaged in fixed-seed ways (bit
//! flips, truncation, byte runs, header field edits, cut-and-splice), run through the library
//! (`Decoder16k::open` and `next_block` to the end) inside `catch_unwind`. Errors are fine;
//! a panic, a sample outside [-1, 1] or a non-finite one is not. Then a smaller smoke through
//! `gijiroku transcribe`: no signal, one error line, non-zero exit.
//!
//! A test rather than cargo-fuzz so CI runs it on every change; the seed is fixed so a failure
//! names a case that can be replayed (`FUZZ_CASE=<n>` runs one case alone).

use gijiroku::audio::{Decoder16k, BLOCK_SAMPLES, SAMPLE_RATE};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/formats");
/// Mutated copies per fixture: 18 fixtures × 60 = 1080 cases (4.2 s measured, 2 threads).
const PER_FIXTURE: usize = 60;
/// The whole run must end within this, or the test fails naming the case that hangs.
const TIME_LIMIT: Duration = Duration::from_secs(240);

/// xorshift64*: a fixed sequence, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(FIXTURES)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e != "sh"))
        .collect();
    v.sort();
    v
}

/// One mutation of `bytes`, chosen by `rng`; returns a description of it.
fn mutate(bytes: &mut Vec<u8>, rng: &mut Rng) -> String {
    let len = bytes.len();
    // Container headers and codec set-up sit near the start: half the edits aim there.
    let anywhere = |rng: &mut Rng| rng.below(len);
    let near_start = |rng: &mut Rng| rng.below(len.min(512));
    match rng.below(7) {
        0 => {
            let n = 1 + rng.below(8);
            for _ in 0..n {
                let at = if rng.below(2) == 0 {
                    near_start(rng)
                } else {
                    anywhere(rng)
                };
                bytes[at] ^= 1 << rng.below(8);
            }
            format!("{n} bit flips")
        }
        1 => {
            let at = anywhere(rng);
            bytes.truncate(at);
            format!("truncated to {at} bytes")
        }
        2 => {
            let at = anywhere(rng);
            let n = (1 + rng.below(2048)).min(len - at);
            let fill = match rng.below(3) {
                0 => 0x00,
                1 => 0xff,
                _ => rng.next() as u8,
            };
            let random = rng.below(2) == 0;
            for b in &mut bytes[at..at + n] {
                *b = if random { rng.next() as u8 } else { fill };
            }
            format!("{n} bytes overwritten at {at}")
        }
        3 | 4 => {
            // A header field (1, 2, 4 or 8 bytes) set to an extreme or random value.
            let width = [1, 2, 4, 8][rng.below(4)];
            let at = near_start(rng).min(len.saturating_sub(width));
            let value: u64 = match rng.below(6) {
                0 => 0,
                1 => u64::MAX,
                2 => 0x7fff_ffff_ffff_ffff,
                3 => 0x8000_0000_0000_0000,
                4 => 1,
                _ => rng.next(),
            };
            let le = rng.below(2) == 0;
            let b = if le {
                value.to_le_bytes()
            } else {
                value.to_be_bytes()
            };
            let take = if le { &b[..width] } else { &b[8 - width..] };
            bytes[at..at + width].copy_from_slice(take);
            format!("{width}-byte field at {at} set to {value:#x}")
        }
        5 => {
            // A stretch repeated or dropped: packets out of place, sizes no longer matching.
            let a = anywhere(rng);
            let n = (1 + rng.below(4096)).min(len - a);
            let stretch: Vec<u8> = bytes[a..a + n].to_vec();
            if rng.below(2) == 0 {
                let at = anywhere(rng);
                bytes.splice(at..at, stretch);
                format!("{n} bytes from {a} inserted at {at}")
            } else {
                bytes.drain(a..a + n);
                format!("{n} bytes removed at {a}")
            }
        }
        _ => {
            // Many scattered byte changes over the whole file (noisy transmission).
            let n = 1 + rng.below(64);
            for _ in 0..n {
                let at = anywhere(rng);
                bytes[at] = rng.next() as u8;
            }
            format!("{n} random bytes")
        }
    }
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Decoded(usize),
    Error(String),
}

/// Opens and decodes `path` to the end, checking every block.
fn decode(path: &Path) -> Result<Outcome, String> {
    let mut d = match Decoder16k::open(path) {
        Ok(d) => d,
        Err(e) => return Ok(Outcome::Error(format!("{e:#}"))),
    };
    let mut total = 0usize;
    loop {
        match d.next_block() {
            Ok(Some(b)) => {
                if b.is_empty() || b.len() > BLOCK_SAMPLES {
                    return Err(format!("a block of {} samples", b.len()));
                }
                if let Some(s) = b.iter().find(|s| !(s.is_finite() && s.abs() <= 1.0)) {
                    return Err(format!("sample {s} out of range"));
                }
                total += b.len();
            }
            Ok(None) => return Ok(Outcome::Decoded(total)),
            Err(e) => return Ok(Outcome::Error(format!("{e:#}"))),
        }
    }
}

struct Case {
    n: usize,
    fixture: PathBuf,
    what: String,
    bytes: Vec<u8>,
}

fn cases() -> Vec<Case> {
    let mut rng = Rng(0x6a69_6a69_726f_6b75);
    let mut cases = Vec::new();
    for fixture in fixtures() {
        let original = std::fs::read(&fixture).expect("fixture");
        for _ in 0..PER_FIXTURE {
            let mut bytes = original.clone();
            let what = mutate(&mut bytes, &mut rng);
            cases.push(Case {
                n: cases.len(),
                fixture: fixture.clone(),
                what,
                bytes,
            });
        }
    }
    cases
}

#[test]
fn mutated_files_never_panic_and_decode_within_range() {
    let all = cases();
    let only: Option<usize> = std::env::var("FUZZ_CASE").ok().and_then(|v| v.parse().ok());
    let all: Vec<Case> = all
        .into_iter()
        .filter(|c| only.is_none_or(|n| n == c.n))
        .collect();
    assert!(only.is_some() || all.len() >= 1000, "{} cases", all.len());
    let dir = tempfile::tempdir().expect("temp dir");
    let all = Arc::new(all);
    let next = Arc::new(AtomicUsize::new(0));
    // Per worker: the case it is on (to name a hang).
    let current: Arc<Mutex<Vec<Option<usize>>>> = Arc::new(Mutex::new(vec![None; 2]));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let counts = Arc::new(Mutex::new((0usize, 0usize, 0usize))); // ok, clean error, panic
    let slowest = Arc::new(Mutex::new((Duration::ZERO, 0usize)));
    let longest = Arc::new(Mutex::new((0f64, 0usize)));
    let started = Instant::now();
    // A panic inside a case is caught and counted; silence the default hook's report of it
    // so the summary stays readable (failures list each case with its message).
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let workers: Vec<_> = (0..2)
        .map(|w| {
            let (all, next, current, failures, counts, slowest, longest) = (
                all.clone(),
                next.clone(),
                current.clone(),
                failures.clone(),
                counts.clone(),
                slowest.clone(),
                longest.clone(),
            );
            let path_dir = dir.path().to_path_buf();
            std::thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = all.get(i) else { break };
                current.lock().unwrap()[w] = Some(case.n);
                let ext = case.fixture.extension().unwrap().to_string_lossy();
                let path = path_dir.join(format!("case{}.{ext}", case.n));
                std::fs::write(&path, &case.bytes).expect("write case");
                let t = Instant::now();
                let result = catch_unwind(AssertUnwindSafe(|| decode(&path)));
                let took = t.elapsed();
                let _ = std::fs::remove_file(&path);
                let name = case.fixture.file_name().unwrap().to_string_lossy();
                let label = format!("case {} ({name}, {})", case.n, case.what);
                let mut c = counts.lock().unwrap();
                match result {
                    Ok(Ok(Outcome::Decoded(n))) => {
                        c.0 += 1;
                        let secs = n as f64 / SAMPLE_RATE as f64;
                        let mut l = longest.lock().unwrap();
                        if secs > l.0 {
                            *l = (secs, case.n);
                        }
                        // Damaged timestamps must not turn 4 s into hours of silence.
                        if secs > 60.0 {
                            failures
                                .lock()
                                .unwrap()
                                .push(format!("{label}: decoded to {secs:.0} s"));
                        }
                    }
                    Ok(Ok(Outcome::Error(e))) => {
                        c.1 += 1;
                        if e.contains('\n') || e.is_empty() {
                            failures
                                .lock()
                                .unwrap()
                                .push(format!("{label}: error not one line: {e:?}"));
                        }
                    }
                    Ok(Err(bad)) => {
                        c.0 += 1;
                        failures.lock().unwrap().push(format!("{label}: {bad}"));
                    }
                    Err(p) => {
                        c.2 += 1;
                        let msg = p
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("{label}: PANIC {msg}"));
                    }
                }
                let mut s = slowest.lock().unwrap();
                if took > s.0 {
                    *s = (took, case.n);
                }
                current.lock().unwrap()[w] = None;
            })
        })
        .collect();
    while workers.iter().any(|w| !w.is_finished()) {
        if started.elapsed() > TIME_LIMIT {
            std::panic::set_hook(hook);
            panic!(
                "still running after {:?}: case(s) {:?} hang",
                TIME_LIMIT,
                current.lock().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for w in workers {
        w.join().expect("worker");
    }
    std::panic::set_hook(hook);
    let (ok, errors, panics) = *counts.lock().unwrap();
    let (slow, slow_case) = *slowest.lock().unwrap();
    let (long, long_case) = *longest.lock().unwrap();
    eprintln!(
        "decoder fuzz: {} cases: {ok} decoded, {errors} clean errors, {panics} panics in {:.1} s \
         (slowest case {slow_case}: {:.2} s; longest output case {long_case}: {long:.1} s)",
        all.len(),
        started.elapsed().as_secs_f64(),
        slow.as_secs_f64()
    );
    let failures = failures.lock().unwrap();
    for f in failures.iter() {
        eprintln!("  {f}");
    }
    assert!(failures.is_empty(), "{} failing cases", failures.len());
    assert_eq!(ok + errors, all.len());
}

// ---- the same through the command line ----

/// Files that cannot be transcribed, each from a fixture: `gijiroku transcribe` must exit 1 by
/// itself with one `gijiroku: error:` line naming the file.
#[test]
fn cli_refuses_broken_files_with_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rng = Rng(0x5eed);
    let mut cases: Vec<(String, PathBuf)> = Vec::new();
    for fixture in fixtures() {
        let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&fixture).expect("fixture");
        let ext = fixture.extension().unwrap().to_string_lossy().into_owned();
        // Cut inside the header: nothing to decode.
        let p = dir.path().join(format!("cut_{name}"));
        let cut = 1 + rng.below(24);
        std::fs::write(&p, &bytes[..cut]).expect("write");
        cases.push((format!("{name} cut to {cut} bytes"), p));
        // The format's first 16 bytes (its magic) and then only zeros.
        let mut hollow = vec![0u8; bytes.len()];
        hollow[..16].copy_from_slice(&bytes[..16]);
        let p = dir.path().join(format!("hollow_{name}"));
        std::fs::write(&p, &hollow).expect("write");
        cases.push((format!("{name}: its first 16 bytes, then zeros"), p));
        if name == "wav_f32.wav" {
            // Float samples mostly 1e30 (item 2's refusal).
            let mut absurd = bytes.clone();
            for s in absurd[44..].chunks_exact_mut(4).step_by(3) {
                s.copy_from_slice(&1e30f32.to_le_bytes());
            }
            let p = dir.path().join(format!("absurd.{ext}"));
            std::fs::write(&p, &absurd).expect("write");
            cases.push(("float WAV, a third of the samples 1e30".into(), p));
        }
    }
    // Every other case, to keep the run short (~20 processes; none loads a model).
    let cases: Vec<_> = cases.into_iter().step_by(2).collect();
    let models = std::env::var("GIJIROKU_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("models"));
    for (what, p) in &cases {
        let o = Command::new(env!("CARGO_BIN_EXE_gijiroku"))
            .arg("--models-dir")
            .arg(&models)
            .args(["transcribe", "-m", "whisper-tiny.en", "-f", "txt", "--out"])
            .arg(dir.path())
            .arg(p)
            .env_remove("RUST_LOG")
            .output()
            .expect("runs gijiroku");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{what}: {:?} (None = killed by a signal)\n{stderr}",
            o.status
        );
        // Warnings may come first (what was tried) and a batch's summary line last ("1 of 1
        // inputs failed"); the error about the file itself is one line.
        let file = p.file_name().unwrap().to_string_lossy();
        let errors: Vec<&str> = stderr.lines().filter(|l| !l.contains("WARN")).collect();
        let about: Vec<&str> = errors
            .iter()
            .copied()
            .filter(|l| l.contains(&*file))
            .collect();
        let others_ok = errors.iter().all(|l| l.starts_with("gijiroku: error:"));
        assert!(
            about.len() == 1 && about[0].starts_with("gijiroku: error:") && others_ok,
            "{what}: stderr is not one error line naming the file:\n{stderr}"
        );
    }
    eprintln!(
        "CLI: {} broken files refused with one line each",
        cases.len()
    );
}
