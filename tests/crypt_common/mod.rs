//! Shared by the encryption and purge tests: a consultation transcript with chosen phrases,
//! meeting metadata, a byte search over a data folder, archives on disk for the CLI.

#![allow(dead_code)]

use gijiroku::archive::MeetingMeta;
use gijiroku::transcript::{Segment, Source, Speaker, Transcript};
use std::path::{Path, PathBuf};

/// A small real WAV (22 kHz 16-bit, 176 kB: three 64 KiB chunks when encrypted).
pub fn wav() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/formats/wav_s16_22k.wav"
    ))
}

/// A consultation transcript whose text holds `phrase` and whose second speaker is
/// `client`, made from `audio` (its sha256), or from no recording when `audio` is `None`.
pub fn transcript(phrase: &str, client: &str, audio: Option<&Path>) -> Transcript {
    let lines = [
        "本日はどのようなご相談でしょうか。".to_string(),
        format!("はい、{phrase}のことでお話があります。"),
        "生活保護の申請についても伺いたいです。".to_string(),
        format!("{client}さんのご家族の状況を教えてください。"),
    ];
    let segments = lines
        .iter()
        .enumerate()
        .map(|(i, text)| Segment {
            id: i,
            start: i as f64 * 2.0,
            end: i as f64 * 2.0 + 1.8,
            text: text.clone(),
            words: Vec::new(),
            speaker: Some(if i % 2 == 0 { "S1" } else { "S2" }.into()),
            avg_logprob: -0.2,
            no_speech_prob: 0.01,
            temperature: 0.0,
        })
        .collect();
    Transcript {
        schema_version: gijiroku::transcript::SCHEMA_VERSION,
        source: Source {
            path: audio.map(|a| a.display().to_string()).unwrap_or_default(),
            file_name: "consultation.wav".into(),
            sha256: audio
                .map(|a| gijiroku::util::sha256_file(a).unwrap())
                .unwrap_or_default(),
            duration: 8.0,
            sample_rate: 22050,
            channels: 1,
            codec: "pcm_s16le".into(),
        },
        language: "ja".into(),
        model: Default::default(),
        created_at: "2024-06-10T10:00:00Z".into(),
        speech: Vec::new(),
        segments,
        speakers: vec![
            Speaker {
                id: "S1".into(),
                label: "話者1".into(),
                name: Some("相談員".into()),
                role: Some("相談員".into()),
            },
            Speaker {
                id: "S2".into(),
                label: "話者2".into(),
                name: Some(client.into()),
                role: None,
            },
        ],
        turns: Vec::new(),
    }
}

/// Metadata of a meeting of `kind` on `date`, department 福祉課, with an explicit
/// classification ("public" or "confidential").
pub fn meta(kind: &str, date: &str, classification: &str) -> MeetingMeta {
    MeetingMeta::parse(
        &format!(
            "kind = \"{kind}\"\ntitle = \"{kind} {date}\"\ndate = \"{date}\"\n\
             department = \"福祉課\"\nclassification = \"{classification}\"\n"
        ),
        None,
    )
    .unwrap()
}

/// Every file under `dir` whose bytes contain `needle` (symlinks are not followed: the
/// shared dictionary is linked into test archives).
pub fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                let bytes = std::fs::read(e.path()).unwrap();
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    out.push(e.path());
                }
            }
        }
    }
    out
}

/// A data folder `<tmp>/data` (not yet opened) that links the shared test dictionary, for
/// archives the CLI opens.
pub fn data_folder(tmp: &Path) -> PathBuf {
    // new_archive builds the shared dictionary on first use.
    drop(crate::archive_common::new_archive());
    let data = tmp.join("data");
    std::fs::create_dir_all(data.join("dict")).unwrap();
    std::os::unix::fs::symlink(
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ipadic-test-dict"),
        data.join("dict/ipadic"),
    )
    .unwrap();
    data
}

/// A copy of the test recording in `dir` (archiving moves or seals what it is given).
pub fn recording(dir: &Path) -> PathBuf {
    let audio = dir.join("c.wav");
    std::fs::copy(wav(), &audio).unwrap();
    audio
}

/// Saves the transcript of `phrase` by `client` as `dir/name.json` and archives it with `meta`,
/// with the recording when one is given.
pub fn archive_transcript(
    a: &mut gijiroku::archive::Archive,
    dir: &Path,
    name: &str,
    (phrase, client): (&str, &str),
    meta: &MeetingMeta,
    audio: Option<&Path>,
) -> anyhow::Result<i64> {
    let p = dir.join(format!("{name}.json"));
    transcript(phrase, client, audio).save(&p).unwrap();
    a.add_transcript(&p, meta, audio)
}
