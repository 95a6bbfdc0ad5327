//! Transcription accuracy: word error rate (WER) and character error rate (CER).
//!
//! Owns text normalisation for scoring, the edit-distance alignment, finding audio files with a
//! `.txt` reference beside them, and running the pipeline over such a folder. It must not
//! change how anything is transcribed: it calls [`crate::pipeline::transcribe_file`] with the
//! options it is given and only reads the resulting [`Transcript`](crate::Transcript).
//!
//! Normalisation (the same for reference and hypothesis):
//! - both metrics: Unicode NFKC (folds full-width ＡＢＣ１２３ and half-width ｶﾅ), lowercase,
//!   apostrophes removed inside words (`don't` → `dont`, `y'know` → `yknow`), every other
//!   punctuation or symbol character (Unicode categories P* and S*) treated as a space;
//! - WER (languages written with spaces): the text split on white space;
//! - CER (ja, zh, th, ...; see [`crate::transcript::uses_spaces`]): the characters left after
//!   removing all white space.
//!
//! Numbers are not spelled out ("10" ≠ "ten"), so a reference with spelled numbers counts a
//! correctly heard digit as an error: rates here are comparable between engines, not absolute.

use crate::pipeline::{transcribe_file, TranscribeOptions};
use anyhow::{bail, Context};
use regex::Regex;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization;

/// What is counted: words or characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    Wer,
    Cer,
}

impl Metric {
    /// CER for languages written without spaces (ja, zh, ...), WER for the others.
    pub fn for_language(language: &str) -> Metric {
        if crate::transcript::uses_spaces(language) {
            Metric::Wer
        } else {
            Metric::Cer
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Metric::Wer => "WER",
            Metric::Cer => "CER",
        }
    }

    /// What the reference length counts.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::Wer => "words",
            Metric::Cer => "chars",
        }
    }
}

/// Edit operations of one alignment of a hypothesis against its reference.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EditCounts {
    /// Length of the reference in tokens (words or characters).
    pub ref_len: usize,
    pub substitutions: usize,
    pub deletions: usize,
    pub insertions: usize,
}

impl EditCounts {
    pub fn errors(&self) -> usize {
        self.substitutions + self.deletions + self.insertions
    }

    /// errors / reference length; `None` for an empty reference (the rate is undefined).
    pub fn rate(&self) -> Option<f64> {
        (self.ref_len > 0).then(|| self.errors() as f64 / self.ref_len as f64)
    }

    /// Sum of two counts (totals are sum of errors over sum of reference lengths).
    pub fn add(&mut self, other: &EditCounts) {
        self.ref_len += other.ref_len;
        self.substitutions += other.substitutions;
        self.deletions += other.deletions;
        self.insertions += other.insertions;
    }
}

/// Minimum number of substitutions, deletions and insertions turning `reference` into
/// `hypothesis` (Levenshtein), split by kind along one optimal path.
///
/// Written by hand because it is tiny and must be exact; it keeps two rows of the table, so a
/// one-hour Japanese reference (≈20 000 characters) needs kilobytes, not gigabytes.
pub fn align<T: PartialEq>(reference: &[T], hypothesis: &[T]) -> EditCounts {
    #[derive(Clone, Copy)]
    struct Cell {
        cost: usize,
        sub: usize,
        del: usize,
        ins: usize,
    }
    // Row 0: the empty reference prefix, so every hypothesis token is an insertion.
    let mut prev: Vec<Cell> = (0..=hypothesis.len())
        .map(|j| Cell {
            cost: j,
            sub: 0,
            del: 0,
            ins: j,
        })
        .collect();
    let mut cur = prev.clone();
    for (i, r) in reference.iter().enumerate() {
        cur[0] = Cell {
            cost: i + 1,
            sub: 0,
            del: i + 1,
            ins: 0,
        };
        for (j, h) in hypothesis.iter().enumerate() {
            let diag = prev[j];
            let same = r == h;
            let mut best = Cell {
                cost: diag.cost + usize::from(!same),
                sub: diag.sub + usize::from(!same),
                ..diag
            };
            let up = prev[j + 1]; // reference token dropped
            if up.cost + 1 < best.cost {
                best = Cell {
                    cost: up.cost + 1,
                    del: up.del + 1,
                    ..up
                };
            }
            let left = cur[j]; // hypothesis token added
            if left.cost + 1 < best.cost {
                best = Cell {
                    cost: left.cost + 1,
                    ins: left.ins + 1,
                    ..left
                };
            }
            cur[j + 1] = best;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let end = prev[hypothesis.len()];
    EditCounts {
        ref_len: reference.len(),
        substitutions: end.sub,
        deletions: end.del,
        insertions: end.ins,
    }
}

fn punctuation() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // Categories P* (punctuation) and S* (symbols: ♪, ~, +, $ ...).
    RE.get_or_init(|| Regex::new(r"[\p{P}\p{S}]").expect("static regex"))
}

/// NFKC, lowercase, apostrophes dropped, other punctuation and symbols turned into spaces.
pub fn normalize(text: &str) -> String {
    let folded: String = text.nfkc().collect::<String>().to_lowercase();
    // Apostrophes join the parts of a word ("i'm", "y'know"); after NFKC, ’ stays U+2019.
    let joined: String = folded
        .chars()
        .filter(|c| !matches!(c, '\'' | '\u{2019}' | '\u{02BC}'))
        .collect();
    punctuation().replace_all(&joined, " ").into_owned()
}

/// Words of a text for WER, normalised.
pub fn words(text: &str) -> Vec<String> {
    normalize(text)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Characters of a text for CER, normalised, white space removed.
pub fn chars(text: &str) -> Vec<char> {
    normalize(text)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// Scores a hypothesis against a reference with the given metric.
pub fn score(reference: &str, hypothesis: &str, metric: Metric) -> EditCounts {
    match metric {
        Metric::Wer => align(&words(reference), &words(hypothesis)),
        Metric::Cer => align(&chars(reference), &chars(hypothesis)),
    }
}

/// True when a reference is only kana (a reading, e.g. きょーわいいてんきだ), so kanji in a
/// correct transcript count as errors.
pub fn is_kana_only(reference: &str) -> bool {
    let cs = chars(reference);
    !cs.is_empty()
        && cs.iter().all(|&c| {
            matches!(c,
                '\u{3041}'..='\u{309F}' // hiragana
                | '\u{30A0}'..='\u{30FF}' // katakana, ー
            )
        })
}

/// Audio extensions `eval asr` picks up (the decoder reads more; these are the usual ones).
const AUDIO_EXTENSIONS: &[&str] = &["wav", "flac", "mp3", "m4a", "ogg", "opus", "webm"];

/// One recording with its reference transcript.
#[derive(Debug, Clone)]
pub struct EvalCase {
    pub audio: PathBuf,
    pub reference_file: PathBuf,
    pub reference: String,
}

/// Every audio file in `dir` (not recursive) with a non-empty `.txt` of the same base name,
/// sorted by name, and the audio files that have none.
pub fn find_cases(dir: &Path) -> anyhow::Result<(Vec<EvalCase>, Vec<PathBuf>)> {
    if !dir.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    let mut audio: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    audio.sort();
    let mut cases = Vec::new();
    let mut without = Vec::new();
    for a in audio {
        let txt = a.with_extension("txt");
        if !txt.is_file() {
            without.push(a);
            continue;
        }
        let reference = std::fs::read_to_string(&txt)
            .with_context(|| format!("cannot read reference {} (UTF-8 text)", txt.display()))?
            .trim()
            .to_string();
        if reference.is_empty() {
            bail!("reference {} is empty", txt.display());
        }
        cases.push(EvalCase {
            audio: a,
            reference_file: txt,
            reference,
        });
    }
    if cases.is_empty() {
        bail!(
            "no audio file with a .txt reference beside it in {}",
            dir.display()
        );
    }
    Ok((cases, without))
}

/// The language a folder's name gives, as the eval sets are named: `asr_ja` → "ja",
/// `common-voice-en` → "en". Only a final part after `_`, `-` or `.` that is one of
/// Whisper's language codes counts.
pub fn language_from_folder(dir: &Path) -> Option<String> {
    let name = dir.canonicalize().ok()?.file_name()?.to_str()?.to_string();
    let last = name.rsplit(['_', '-', '.']).next()?;
    (last != name && is_whisper_language(last)).then(|| last.to_string())
}

/// Whether Whisper knows this language code ("ja", "en", "yue", ...).
pub fn is_whisper_language(code: &str) -> bool {
    // Walks the table instead of `get_lang_id`, which logs an error for unknown codes.
    (0..=whisper_rs::get_lang_max_id()).any(|id| whisper_rs::get_lang_str(id) == Some(code))
}

/// Where the language used for scoring came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LanguageSource {
    /// `-l` on the command line.
    Flag,
    /// The folder's name (`asr_ja`).
    Folder,
    /// Detected by Whisper for this file.
    Detected,
}

/// The score of one recording.
#[derive(Debug, Clone, Serialize)]
pub struct FileScore {
    pub file: String,
    pub language: String,
    pub language_source: LanguageSource,
    pub metric: Metric,
    #[serde(flatten)]
    pub counts: EditCounts,
    pub errors: usize,
    pub rate: Option<f64>,
    pub audio_seconds: f64,
    pub transcribe_seconds: f64,
    pub reference: String,
    pub hypothesis: String,
    /// Caveats, e.g. a reading-only (kana) reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Sum over all files scored with one metric.
#[derive(Debug, Clone, Serialize)]
pub struct Total {
    pub metric: Metric,
    pub files: usize,
    #[serde(flatten)]
    pub counts: EditCounts,
    pub errors: usize,
    pub rate: Option<f64>,
    pub audio_seconds: f64,
    pub transcribe_seconds: f64,
}

/// Everything `eval asr` found.
#[derive(Debug, Clone, Serialize)]
pub struct AsrReport {
    pub folder: String,
    #[serde(flatten)]
    pub engine: EngineInfo,
    pub files: Vec<FileScore>,
    /// One total per metric present (WER and CER are never summed together).
    pub totals: Vec<Total>,
    /// Audio files skipped because no `.txt` reference sits beside them.
    pub skipped: Vec<String>,
}

/// How `evaluate` picks the language.
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// A language given on the command line; "auto" means detect even if the folder says.
    pub language: Option<String>,
}

/// What an engine heard in one recording.
#[derive(Debug, Clone)]
pub struct Heard {
    pub text: String,
    /// Language the engine used (given or detected).
    pub language: String,
    pub audio_seconds: f64,
}

/// The engine and settings a report was made with (printed with the figures).
#[derive(Debug, Clone, Serialize)]
pub struct EngineInfo {
    /// "gijiroku" or "faster-whisper".
    pub engine: String,
    pub model: String,
    pub beam: usize,
    pub threads: usize,
    pub vad: bool,
}

/// Transcribes every case in `dir` with gijiroku's pipeline and `opts`, and scores it. The
/// language is the flag's, else the folder name's, else the one Whisper detects per file; it
/// is passed to Whisper too, so a known language is not guessed. `on_file` is called after
/// each file (for a progress bar).
pub fn evaluate(
    dir: &Path,
    opts: &TranscribeOptions,
    eval: &EvalOptions,
    on_file: impl FnMut(&FileScore, usize, usize),
) -> anyhow::Result<AsrReport> {
    let info = EngineInfo {
        engine: "gijiroku".into(),
        model: opts.model.display().to_string(),
        beam: opts.beam,
        threads: opts.threads,
        vad: opts.vad_model.is_some(),
    };
    let transcribe = |audio: &Path, language: Option<&str>| {
        let mut o = opts.clone();
        o.language = language.map(str::to_string);
        let t = transcribe_file(audio, &o)?;
        Ok(Heard {
            text: t.text(),
            language: t.language.clone(),
            audio_seconds: t.source.duration,
        })
    };
    evaluate_with(dir, eval, info, transcribe, on_file)
}

/// Like [`evaluate`], with any engine: `transcribe(audio, language)` returns what it heard.
pub fn evaluate_with(
    dir: &Path,
    eval: &EvalOptions,
    info: EngineInfo,
    mut transcribe: impl FnMut(&Path, Option<&str>) -> anyhow::Result<Heard>,
    mut on_file: impl FnMut(&FileScore, usize, usize),
) -> anyhow::Result<AsrReport> {
    let (cases, without) = find_cases(dir)?;
    let (language, source) = match eval.language.as_deref() {
        Some("auto") => (None, LanguageSource::Detected),
        Some(l) => (Some(l.to_string()), LanguageSource::Flag),
        None => match language_from_folder(dir) {
            Some(l) => (Some(l), LanguageSource::Folder),
            None => (None, LanguageSource::Detected),
        },
    };
    let mut files = Vec::with_capacity(cases.len());
    for (k, case) in cases.iter().enumerate() {
        let t0 = std::time::Instant::now();
        let heard = transcribe(&case.audio, language.as_deref())
            .with_context(|| format!("cannot transcribe {}", case.audio.display()))?;
        let transcribe_seconds = t0.elapsed().as_secs_f64();
        let lang = language.clone().unwrap_or_else(|| heard.language.clone());
        let metric = Metric::for_language(&lang);
        let counts = score(&case.reference, &heard.text, metric);
        let note = (metric == Metric::Cer && is_kana_only(&case.reference)).then(|| {
            "reference is a kana reading only: kanji in the transcript count as errors".to_string()
        });
        let fs = FileScore {
            file: case
                .audio
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            language: lang,
            language_source: source,
            metric,
            counts,
            errors: counts.errors(),
            rate: counts.rate(),
            audio_seconds: heard.audio_seconds,
            transcribe_seconds,
            reference: case.reference.clone(),
            hypothesis: heard.text,
            note,
        };
        on_file(&fs, k + 1, cases.len());
        files.push(fs);
    }
    Ok(AsrReport {
        folder: dir.display().to_string(),
        engine: info,
        totals: totals(&files),
        files,
        skipped: without.iter().map(|p| p.display().to_string()).collect(),
    })
}

/// Sum of errors over sum of reference lengths, per metric (WER first).
pub fn totals(files: &[FileScore]) -> Vec<Total> {
    [Metric::Wer, Metric::Cer]
        .into_iter()
        .filter_map(|m| {
            let these: Vec<&FileScore> = files.iter().filter(|f| f.metric == m).collect();
            if these.is_empty() {
                return None;
            }
            let mut counts = EditCounts::default();
            for f in &these {
                counts.add(&f.counts);
            }
            Some(Total {
                metric: m,
                files: these.len(),
                counts,
                errors: counts.errors(),
                rate: counts.rate(),
                audio_seconds: these.iter().map(|f| f.audio_seconds).sum(),
                transcribe_seconds: these.iter().map(|f| f.transcribe_seconds).sum(),
            })
        })
        .collect()
}

// ---- Benchmark support (`gijiroku bench asr`) ----

/// One measured transcription, by gijiroku's measuring child process or by
/// `benches/faster_whisper_bench.py` (both print this as one JSON line).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct BenchRun {
    /// "gijiroku" or "faster-whisper".
    pub engine: String,
    pub audio_seconds: f64,
    /// Model loading alone, where the engine can tell it apart.
    #[serde(default)]
    pub load_seconds: Option<f64>,
    /// Model load + decode + transcription.
    pub wall_seconds: f64,
    pub user_seconds: f64,
    pub sys_seconds: f64,
    /// Peak resident memory of the whole measuring process.
    pub peak_rss_bytes: u64,
    pub language: String,
    pub segments: usize,
    /// Timed words in the transcript (tells whether word timestamps were made).
    #[serde(default)]
    pub words: usize,
    pub text: String,
}

impl BenchRun {
    /// Real-time factor: seconds of work per second of audio (below 1 is faster than real time).
    pub fn rtf(&self) -> Option<f64> {
        (self.audio_seconds > 0.0).then(|| self.wall_seconds / self.audio_seconds)
    }
}

/// CPU time and peak memory of the calling process so far.
#[derive(Debug, Clone, Copy)]
pub struct ProcessUsage {
    pub user_seconds: f64,
    pub sys_seconds: f64,
    pub peak_rss_bytes: u64,
}

/// Reads `getrusage(RUSAGE_SELF)`.
pub fn process_usage() -> anyhow::Result<ProcessUsage> {
    // SAFETY: getrusage only writes into the struct we pass; all-zero is a valid rusage.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    if rc != 0 {
        bail!("getrusage failed: {}", std::io::Error::last_os_error());
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(ProcessUsage {
        user_seconds: secs(ru.ru_utime),
        sys_seconds: secs(ru.ru_stime),
        // Linux reports ru_maxrss in KiB.
        peak_rss_bytes: (ru.ru_maxrss.max(0) as u64) * 1024,
    })
}

/// Transcribes `audio` in this process and measures it (the body of the measuring child).
pub fn bench_in_process(audio: &Path, opts: &TranscribeOptions) -> anyhow::Result<BenchRun> {
    let t0 = std::time::Instant::now();
    let t = transcribe_file(audio, opts)
        .with_context(|| format!("cannot transcribe {}", audio.display()))?;
    let wall_seconds = t0.elapsed().as_secs_f64();
    let u = process_usage()?;
    Ok(BenchRun {
        engine: "gijiroku".into(),
        audio_seconds: t.source.duration,
        load_seconds: None,
        wall_seconds,
        user_seconds: u.user_seconds,
        sys_seconds: u.sys_seconds,
        peak_rss_bytes: u.peak_rss_bytes,
        language: t.language.clone(),
        segments: t.segments.len(),
        words: t.segments.iter().map(|s| s.words.len()).sum(),
        text: t.text(),
    })
}

/// The CTranslate2 folder an imported ggml model was converted from (from the card beside it,
/// `ggml-NAME.json`), ready for faster-whisper: a whole `model.bin` is used where it lies; a
/// split `model.bin.part1` + `.part2` is joined into `scratch` with its config and tokenizer.
/// The joined bytes are checked against the card's sha256, so both engines run the SAME weights.
pub fn ct2_source_dir(model: &Path, models_dir: &Path, scratch: &Path) -> anyhow::Result<PathBuf> {
    use sha2::{Digest, Sha256};
    use std::io::{Read, Write};
    let card = crate::models::read_card(model).with_context(|| {
        format!(
            "{} has no import card (.json beside it) naming its CTranslate2 source: give --ct2 DIR",
            model.display()
        )
    })?;
    let parts: Vec<PathBuf> = card
        .source
        .split(" + ")
        .map(|s| locate_source(Path::new(s.trim()), models_dir))
        .collect::<anyhow::Result<_>>()?;
    let first = parts.first().context("model card names no source")?;
    let src_dir = first.parent().unwrap_or(Path::new("."));
    if parts.len() == 1 && first.file_name().is_some_and(|n| n == "model.bin") {
        return Ok(src_dir.to_path_buf());
    }
    std::fs::create_dir_all(scratch)
        .with_context(|| format!("cannot create {}", scratch.display()))?;
    let joined = scratch.join("model.bin");
    let mut out = std::fs::File::create(&joined)
        .with_context(|| format!("cannot create {}", joined.display()))?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    for p in &parts {
        let mut f =
            std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
        loop {
            let n = f
                .read(&mut buf)
                .with_context(|| format!("cannot read {}", p.display()))?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            out.write_all(&buf[..n])
                .with_context(|| format!("cannot write {}", joined.display()))?;
        }
    }
    let got = hex::encode(hash.finalize());
    if !card.source_sha256.is_empty() && got != card.source_sha256 {
        bail!(
            "the CTranslate2 parts of {} do not match the imported model (sha256 {got}, card says {})",
            model.display(),
            card.source_sha256
        );
    }
    // The parts' folders hold config.json, tokenizer.json and vocabulary.txt (in one of them).
    for name in [
        "config.json",
        "tokenizer.json",
        "vocabulary.txt",
        "vocabulary.json",
        "preprocessor_config.json",
    ] {
        if let Some(src) = parts
            .iter()
            .filter_map(|p| p.parent())
            .map(|d| d.join(name))
            .find(|f| f.is_file())
        {
            std::fs::copy(&src, scratch.join(name))
                .with_context(|| format!("cannot copy {}", src.display()))?;
        }
    }
    Ok(scratch.to_path_buf())
}

/// A source path from a model card: as written (absolute, or relative to the working folder),
/// else relative to the models folder's parent (cards say `models/sources/...`), else inside
/// the models folder.
fn locate_source(p: &Path, models_dir: &Path) -> anyhow::Result<PathBuf> {
    let mut candidates = vec![p.to_path_buf()];
    if p.is_relative() {
        if let Some(parent) = models_dir.parent() {
            candidates.push(parent.join(p));
        }
        if let Ok(rest) = p.strip_prefix("models") {
            candidates.push(models_dir.join(rest));
        }
        candidates.push(models_dir.join(p));
    }
    candidates
        .into_iter()
        .find(|c| c.is_file())
        .with_context(|| {
            format!(
                "CTranslate2 source {} not found (looked beside {}): give --ct2 DIR",
                p.display(),
                models_dir.display()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(r: usize, s: usize, d: usize, i: usize) -> EditCounts {
        EditCounts {
            ref_len: r,
            substitutions: s,
            deletions: d,
            insertions: i,
        }
    }

    #[test]
    fn identical_and_empty() {
        assert_eq!(score("a b c", "a b c", Metric::Wer), counts(3, 0, 0, 0));
        assert_eq!(score("a b c", "", Metric::Wer), counts(3, 0, 3, 0));
        assert_eq!(score("", "x y", Metric::Wer), counts(0, 0, 0, 2));
        assert_eq!(score("", "", Metric::Wer).rate(), None);
    }

    #[test]
    fn substitution_insertion_deletion() {
        // "sat" → "sit": one substitution.
        assert_eq!(
            score("the cat sat", "the cat sit", Metric::Wer),
            counts(3, 1, 0, 0)
        );
        // one word dropped.
        assert_eq!(
            score("the cat sat down", "the cat down", Metric::Wer),
            counts(4, 0, 1, 0)
        );
        // one word added.
        assert_eq!(
            score("the cat sat", "the black cat sat", Metric::Wer),
            counts(3, 0, 0, 1)
        );
        // all three at once: b→x, d dropped, g added (3 substitutions would cost 4).
        let c = score("a b c d e f", "a x c e f g", Metric::Wer);
        assert_eq!(c, counts(6, 1, 1, 1));
        assert_eq!(c.rate(), Some(0.5));
        // more errors than reference words: the rate goes above 1.
        assert_eq!(score("a", "x y z", Metric::Wer).rate(), Some(3.0));
    }

    #[test]
    fn english_case_and_punctuation() {
        let r = "And so, my fellow Americans, ask not what your country can do for you; ask what you can do for your country.";
        let h = " and so my fellow americans ask not what your country can do for you ask what you can do for your country";
        assert_eq!(score(r, h, Metric::Wer), counts(22, 0, 0, 0));
        // Apostrophes join, hyphens separate.
        assert_eq!(
            words("I'm ill-disposed, y’know?"),
            ["im", "ill", "disposed", "yknow"]
        );
    }

    #[test]
    fn nfkc_width_folding() {
        // Full-width Latin and digits, half-width katakana fold to their usual forms.
        assert_eq!(words("ＡＢＣ　１２３"), ["abc", "123"]);
        assert_eq!(chars("ｶﾀｶﾅ"), chars("カタカナ"));
        assert_eq!(score("ｶﾀｶﾅ", "カタカナ", Metric::Cer), counts(4, 0, 0, 0));
    }

    #[test]
    fn japanese_characters_without_punctuation_or_spaces() {
        let r = "「こりゃきっと仲間によくないことがあったにちがいない。」と小悪魔は考えました。";
        let h = "こりゃ きっと 仲間に よくないことが あったに違いない、と小悪魔は考えました";
        // 35 characters after removing 「」。; ちが → 違 is one substitution and one deletion.
        assert_eq!(chars(r).len(), 35);
        assert_eq!(score(r, h, Metric::Cer), counts(35, 1, 1, 0));
        // The long-vowel mark is a letter, not punctuation.
        assert_eq!(chars("きょーわ"), ['き', 'ょ', 'ー', 'わ']);
    }

    #[test]
    fn metric_by_language() {
        assert_eq!(Metric::for_language("ja"), Metric::Cer);
        assert_eq!(Metric::for_language("zh"), Metric::Cer);
        assert_eq!(Metric::for_language("en"), Metric::Wer);
        assert_eq!(Metric::for_language("de"), Metric::Wer);
    }

    #[test]
    fn kana_only_references() {
        assert!(is_kana_only("きょーわいいてんきだ"));
        assert!(!is_kana_only("今日はいい天気だ"));
        assert!(!is_kana_only(""));
    }

    #[test]
    fn usage_of_this_process() {
        let u = process_usage().unwrap();
        // A test binary holds at least a few MB and has spent some CPU time by now.
        assert!(u.peak_rss_bytes > 1 << 20, "{u:?}");
        assert!(u.user_seconds + u.sys_seconds > 0.0, "{u:?}");
    }

    #[test]
    fn split_ct2_sources_are_joined_and_checked() {
        use sha2::{Digest, Sha256};
        let t = tempfile::tempdir().unwrap();
        let models = t.path().join("models");
        for (dir, file, bytes) in [
            ("sources/a", "model.bin.part1", &b"first half,"[..]),
            ("sources/a", "config.json", b"{}"),
            ("sources/b", "model.bin.part2", b" second half"),
        ] {
            std::fs::create_dir_all(models.join(dir)).unwrap();
            std::fs::write(models.join(dir).join(file), bytes).unwrap();
        }
        let model = models.join("ggml-x.bin");
        std::fs::write(&model, b"ggml").unwrap();
        let card = |sha: &str| {
            format!(
                r#"{{"name":"x","kind":"k","multilingual":true,"n_vocab":1,"n_audio_layer":1,
                "n_text_layer":1,"n_state":1,"n_mels":80,
                "source":"models/sources/a/model.bin.part1 + models/sources/b/model.bin.part2",
                "source_sha256":"{sha}"}}"#
            )
        };
        let sha = hex::encode(Sha256::digest(b"first half, second half"));
        std::fs::write(models.join("ggml-x.json"), card(&sha)).unwrap();
        let dir = ct2_source_dir(&model, &models, &t.path().join("scratch")).unwrap();
        assert_eq!(
            std::fs::read(dir.join("model.bin")).unwrap(),
            b"first half, second half"
        );
        assert!(dir.join("config.json").is_file());
        // Different weights than the imported model: refused.
        std::fs::write(models.join("ggml-x.json"), card(&"0".repeat(64))).unwrap();
        let err = ct2_source_dir(&model, &models, &t.path().join("s2")).unwrap_err();
        assert!(format!("{err:#}").contains("do not match"), "{err:#}");
    }

    #[test]
    fn folder_languages() {
        let t = tempfile::tempdir().unwrap();
        for (name, want) in [
            ("asr_ja", Some("ja")),
            ("asr_en", Some("en")),
            ("cv-yue", Some("yue")),
            ("recordings", None),
            ("ja", None),
            ("set_EN", None),
            ("test_wav", None),
        ] {
            let d = t.path().join(name);
            std::fs::create_dir(&d).unwrap();
            assert_eq!(language_from_folder(&d).as_deref(), want, "{name}");
        }
    }

    #[test]
    fn totals_sum_errors_over_reference_lengths() {
        let f = |metric, c: EditCounts| FileScore {
            file: String::new(),
            language: String::new(),
            language_source: LanguageSource::Flag,
            metric,
            counts: c,
            errors: c.errors(),
            rate: c.rate(),
            audio_seconds: 1.0,
            transcribe_seconds: 0.5,
            reference: String::new(),
            hypothesis: String::new(),
            note: None,
        };
        let files = [
            f(Metric::Wer, counts(10, 1, 0, 0)),
            f(Metric::Wer, counts(30, 2, 1, 0)),
            f(Metric::Cer, counts(20, 0, 0, 5)),
        ];
        let t = totals(&files);
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].metric, t[0].files, t[0].errors), (Metric::Wer, 2, 4));
        assert_eq!(t[0].rate, Some(0.1)); // 4 / 40, not the mean of 10 % and 10 %
        assert_eq!((t[1].metric, t[1].rate), (Metric::Cer, Some(0.25)));
    }
}
