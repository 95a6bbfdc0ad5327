//! Issue 18, the layout of the clerk's own lines: the chair's speech one sentence per line
//! (a council style setting), the clerk's ○ subject lines, 〔書記朗読〕, the style file, and
//! the edit benchmark's classes and its spoken agenda words.

use gijiroku::minutes::{self, editbench, Format, MeetingKind, MeetingMeta, MinutesOptions};
use gijiroku::minutes::{Style, SubjectLine};
use gijiroku::transcript::{Speaker, Transcript};

mod common;

const EVAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/eval/minutes");

/// S1 渡辺議長, S2 森澤区長, S3 こしば総務委員長 (a plenary's committee chair reports).
fn transcript(lines: &[(&str, f64, f64, &str)]) -> Transcript {
    let speaker = |id: &str, name: &str, role: &str| Speaker {
        id: id.into(),
        label: id.into(),
        name: Some(name.into()),
        role: Some(role.into()),
    };
    common::turns_transcript(
        lines,
        vec![
            speaker("S1", "渡辺", "議長"),
            speaker("S2", "森澤", "区長"),
            speaker("S3", "こしば", "総務委員長"),
        ],
    )
}

fn body(t: &Transcript, m: &MeetingMeta) -> String {
    let d = minutes::draft(t, m, &MinutesOptions::default()).unwrap();
    String::from_utf8(minutes::render(&d, Format::Text).unwrap()).unwrap()
}

fn plenary() -> MeetingMeta {
    MeetingMeta {
        kind: MeetingKind::Plenary,
        ..Default::default()
    }
}

#[test]
fn chair_sentence_lines_put_each_of_the_chairs_sentences_on_its_own_line() {
    // Short pauses only: without the setting, each speech is one paragraph.
    let t = transcript(&[
        (
            "S1",
            0.0,
            6.0,
            "ただいまから本日の会議を開きます。この際、ご報告いたします。",
        ),
        ("S1", 6.3, 8.0, "これより日程に入ります"),
        (
            "S3",
            9.0,
            15.0,
            "ご報告申し上げます。本案は可決すべきものと決定いたしました。",
        ),
        ("S2", 16.0, 20.0, "お答えします。以上です。"),
    ]);
    let mut m = plenary();
    let plain = body(&t, &m);
    assert!(
        plain.contains("開きます。この際、ご報告いたします。これより日程に入ります。\n"),
        "{plain}"
    );
    m.conventions.chair_sentence_lines = true;
    let styled = body(&t, &m);
    assert!(
        styled.contains(
            "○渡辺議長　ただいまから本日の会議を開きます。\nこの際、ご報告いたします。\nこれより日程に入ります。\n"
        ),
        "{styled}"
    );
    // Members and officials keep their paragraphs (the 総務委員長 reports, not presides).
    assert!(
        styled.contains("ご報告申し上げます。本案は可決すべきものと決定いたしました。\n"),
        "{styled}"
    );
    assert!(styled.contains("お答えします。以上です。\n"), "{styled}");
    // The verbatim text is all there, split with the sentences.
    let d = minutes::draft(&t, &m, &MinutesOptions::default()).unwrap();
    let chair = d
        .items
        .iter()
        .find_map(|i| match i {
            minutes::Item::Speech(s) if s.heading == "○渡辺議長" => Some(s),
            _ => None,
        })
        .unwrap();
    let verbatim: String = chair
        .paragraphs
        .iter()
        .map(|p| p.verbatim.as_str())
        .collect();
    assert_eq!(
        verbatim,
        "ただいまから本日の会議を開きます。この際、ご報告いたします。これより日程に入ります"
    );
    assert!(chair.paragraphs.windows(2).all(|w| w[0].end <= w[1].start));
}

#[test]
fn subject_lines_go_before_the_chair_takes_the_procedure_up() {
    let t = transcript(&[
        // Only the chair takes a procedure up: an official naming the cue gets no line.
        ("S2", 0.0, 2.0, "会議録署名議員をご指名の件、承知しました。"),
        ("S1", 2.5, 3.0, "ただいまから本日の会議を開きます。"),
        ("S1", 5.0, 8.0, "会議録署名議員をご指名申し上げます。"),
        ("S1", 8.3, 9.0, "ご了承願います。"),
    ]);
    let mut m = plenary();
    assert!(!body(&t, &m).contains("○会議録署名人選定について"));
    m.conventions.subjects = vec![SubjectLine {
        line: "○会議録署名人選定について".into(),
        cues: vec!["会議録署名議員をご指名".into()],
    }];
    let txt = body(&t, &m);
    assert!(
        txt.contains(
            "○渡辺議長　ただいまから本日の会議を開きます。\n○会議録署名人選定について\n\n○渡辺議長　会議録署名議員をご指名申し上げます。ご了承願います。\n"
        ),
        "{txt}"
    );
    assert_eq!(txt.matches("○会議録署名人選定について").count(), 1, "{txt}");
}

#[test]
fn the_clerks_reading_is_noted_after_the_chair_asks_for_it() {
    let t = transcript(&[
        (
            "S1",
            0.0,
            4.0,
            "本陳情は初めての審査でありますので、書記に朗読させます。",
        ),
        ("S1", 40.0, 42.0, "朗読が終わりました。"),
    ]);
    let m = MeetingMeta {
        kind: MeetingKind::Committee,
        ..Default::default()
    };
    let txt = body(&t, &m);
    assert!(
        txt.contains("書記に朗読させます。\n〔書記朗読〕\n\n○渡辺"),
        "{txt}"
    );
}

#[test]
fn a_style_file_sets_conventions_and_rejects_unknown_keys() {
    let s = Style::parse(
        "[conventions]\nchair_sentence_lines = true\n[[conventions.subjects]]\nline = \"○日 程\"\ncues = [\"これより日程に入ります\"]\n",
    )
    .unwrap();
    let mut m = plenary();
    m.conventions.recess_minutes = 7.0;
    m.apply_style(&s).unwrap();
    assert!(m.conventions.chair_sentence_lines);
    assert_eq!(m.conventions.subjects[0].line, "○日 程");
    // Keys the style file does not set stay as the metadata has them.
    assert_eq!(m.conventions.recess_minutes, 7.0);
    // Top-level keys work too; a misspelt key is one clear error.
    assert!(Style::parse("chair_sentence_lines = true").is_ok());
    let e = Style::parse("chair_sentence_line = true").unwrap_err();
    assert!(format!("{e:#}").contains("chair_sentence_line"), "{e:#}");
    // The example shipped for Shinagawa loads.
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/style-shinagawa.toml");
    assert!(Style::load(p.as_ref()).is_ok());
}

#[test]
fn edit_classes_share_out_a_runs_edits() {
    let by_class = |published: &str, draft: &str| -> Vec<(&'static str, i64)> {
        let runs = editbench::edit_runs(published, draft);
        let total: usize = runs.iter().map(|r| r.cost).sum();
        assert_eq!(total, editbench::char_edits(published, draft));
        let mut by = [0i64; 7];
        for r in &runs {
            for (b, n) in by.iter_mut().zip(editbench::classify_run(r)) {
                *b += n;
            }
        }
        assert_eq!(by.iter().sum::<i64>(), total as i64, "{by:?}");
        editbench::EDIT_CLASSES
            .iter()
            .zip(by)
            .filter(|(_, n)| *n != 0)
            .map(|(c, n)| (*c, n))
            .collect()
    };
    let chair = "○渡辺議長　これより日程に入ります。";
    assert_eq!(
        by_class(
            &format!("開きます。\n○日 程\n\n{chair}"),
            &format!("開きます。\n\n{chair}")
        ),
        [("subject lines", 5)]
    );
    assert_eq!(
        by_class("開きます。\n報告します。", "開きます。報告します。"),
        [("line breaks", 1)]
    );
    assert_eq!(
        by_class("開きます。\n〔「異議なし」と呼ぶ者あり〕\n", "開きます。\n"),
        [("stage notes", 15)]
    );
    assert_eq!(
        by_class("開きます。\n報告します。", "開きます。\nえー報告します。"),
        [("words", 2)]
    );
    let block = "次に、\n────\n日程第２\n一般質問\n────\nを行います。";
    let classes = by_class(block, "次に、日程第２、一般質問を行います。");
    assert!(
        classes.iter().any(|(c, n)| *c == "agenda blocks" && *n > 0),
        "{classes:?}"
    );
}

#[test]
fn the_benchmark_speaks_the_agenda_words_and_knows_the_signers() {
    // 2024-02-20: 「次に、── 日程第２ 一般質問 ── を行います。」 was said as
    // 「次に、日程第２、一般質問を行います。」: the rebuilt transcript must hold those words.
    let all =
        minutes::fidelity::load_turns(&std::path::Path::new(EVAL).join("turns.jsonl")).unwrap();
    let id = "r06-20240220-honkaigi";
    let published =
        std::fs::read_to_string(std::path::Path::new(EVAL).join(format!("{id}.txt"))).unwrap();
    let (t, meta) = editbench::noisy_meeting(&all[id], &published);
    // The clerk knows the chair and the signing members: the benchmark's metadata has them.
    assert_eq!(meta.chair.as_deref(), Some("渡辺 ゆういち"));
    assert_eq!(meta.signers, ["山本 やすゆき", "西 本 たか子"]);
    // Without the recogniser's noise (fillers after commas, restarts).
    let said: String = t
        .segments
        .iter()
        .map(|s| minutes::kebatori::clean(&s.text, "ja").text)
        .collect();
    assert!(
        said.contains("次に、日程第２、一般質問を行います。"),
        "not spoken"
    );
    assert!(
        said.contains("日程第１、会期の決定についてを議題に供します"),
        "not spoken"
    );
}
