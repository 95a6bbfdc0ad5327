//! Hostile input to the minutes (issue 19, items 3 and 4): clock strings that are not ASCII
//! must give an error, never a panic; text and titles with XML-illegal control characters
//! must still give a DOCX whose XML parses.

use gijiroku::minutes::{self, style, MeetingMeta, MinutesOptions};
use gijiroku::transcript::{ModelInfo, Segment, Source, Transcript};
use std::io::Read;

fn transcript(texts: &[&str]) -> Transcript {
    let segments: Vec<Segment> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| Segment {
            id: i,
            start: i as f64 * 5.0,
            end: i as f64 * 5.0 + 4.0,
            text: t.to_string(),
            words: Vec::new(),
            speaker: None,
            avg_logprob: 0.0,
            no_speech_prob: 0.0,
            temperature: 0.0,
        })
        .collect();
    Transcript {
        schema_version: gijiroku::transcript::SCHEMA_VERSION,
        source: Source {
            file_name: "m.wav".into(),
            duration: texts.len() as f64 * 5.0,
            ..Default::default()
        },
        language: "ja".into(),
        model: ModelInfo::default(),
        created_at: String::new(),
        speech: Vec::new(),
        segments,
        speakers: Vec::new(),
        turns: Vec::new(),
    }
}

fn gijiroku(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_gijiroku"))
        .args(args)
        .output()
        .expect("run gijiroku")
}

#[test]
fn clock_strings_that_are_not_ascii_are_errors_not_panics() {
    // "1時" is 4 bytes: it used to be cut at byte 2, inside 時.
    for s in [
        "1時",
        "時時",
        "１時",
        "ａｂｃｄ",
        "1３:00x",
        "13：0０:９９",
        "é12",
        "🕐",
    ] {
        assert_eq!(style::parse_clock(s), None, "{s}");
    }
    assert_eq!(style::parse_clock("１３：００"), Some(13.0 * 3600.0));
    assert_eq!(style::parse_clock("1330"), Some(13.5 * 3600.0));
    for field in ["recording_start", "start_time", "end_time"] {
        let meta: MeetingMeta = toml::from_str(&format!("{field} = \"1時\"")).unwrap();
        let e = meta.validate().unwrap_err();
        assert!(format!("{e:#}").contains("clock time"), "{e:#}");
    }
    let meta: MeetingMeta = toml::from_str("[[agenda]]\ntitle = \"会期\"\nat = \"1時\"\n").unwrap();
    assert!(meta.validate().is_err());

    let dir = tempfile::tempdir().unwrap();
    let tp = dir.path().join("t.json");
    transcript(&["ただいまから会議を開きます。"])
        .save(&tp)
        .unwrap();
    let tp = tp.to_str().unwrap();
    let mp = dir.path().join("m.toml");
    std::fs::write(
        &mp,
        "kind = \"committee\"\n[[agenda]]\ntitle = \"会期\"\nat = \"1時\"\n",
    )
    .unwrap();
    let mp = mp.to_str().unwrap();
    for args in [
        vec!["minutes", tp, "--recording-start", "1時", "-f", "md"],
        vec!["minutes", tp, "--meta", mp, "-f", "md"],
    ] {
        let out = gijiroku(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "one error line: {err}");
        assert!(err.contains("gijiroku: error:"), "{err}");
    }
}

/// Every XML part of a DOCX, parsed by a strict parser.
fn parse_all_xml(docx: &[u8]) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(docx)).expect("a DOCX is a zip");
    let mut document = String::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let name = f.name().to_string();
        if !name.ends_with(".xml") && !name.ends_with(".rels") {
            continue;
        }
        let mut xml = String::new();
        f.read_to_string(&mut xml).unwrap();
        if let Err(e) = roxmltree::Document::parse(&xml) {
            panic!("{name} is not well-formed XML: {e}");
        }
        if name == "word/document.xml" {
            document = xml;
        }
    }
    document
}

#[test]
fn control_characters_give_a_docx_that_parses() {
    let illegal: Vec<char> = (0u32..0x20)
        .filter(|c| ![0x09, 0x0A, 0x0D].contains(c))
        .filter_map(char::from_u32)
        .chain(['\u{FFFE}', '\u{FFFF}'])
        .collect();
    let all: String = illegal.iter().collect();
    let t = transcript(&[
        "一行目です\u{000B}二行目です。",
        &format!("制御{all}文字のあとも続きます。"),
    ]);
    let meta = MeetingMeta {
        kind: minutes::MeetingKind::Meeting,
        title: Some("表題\u{0001}と\u{000B}改行\u{FFFE}".into()),
        place: Some("会議室\u{0008}".into()),
        ..Default::default()
    };
    for track_removals in [false, true] {
        for verbatim in [false, true] {
            let m = minutes::draft(
                &t,
                &meta,
                &MinutesOptions {
                    verbatim,
                    ..Default::default()
                },
            )
            .unwrap();
            let docx = minutes::docx::render(&m, &minutes::DocxOptions { track_removals }).unwrap();
            let xml = parse_all_xml(&docx);
            assert!(
                !xml.chars().any(|c| illegal.contains(&c)),
                "an illegal character is left in document.xml"
            );
            assert!(xml.contains("<w:br"), "U+000B becomes a line break");
            for word in [
                "一行目です",
                "二行目です",
                "制御",
                "文字のあとも続きます",
                "表題",
                "改行",
            ] {
                assert!(xml.contains(word), "{word} lost");
            }
        }
    }
}
