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
            "ご報告申し上げます。委員会は可決すべきものと決定いたしました。",
        ),
        ("S2", 16.0, 20.0, "お答えします。そのとおりです。"),
    ]);
    let mut m = plenary();
    let plain = body(&t, &m);
    // Without the setting, only a sentence opening with a paragraph cue (これより) starts a
    // line of its own.
    assert!(
        plain.contains("開きます。この際、ご報告いたします。\nこれより日程に入ります。\n"),
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
        styled.contains("ご報告申し上げます。委員会は可決すべきものと決定いたしました。\n"),
        "{styled}"
    );
    assert!(
        styled.contains("お答えします。そのとおりです。\n"),
        "{styled}"
    );
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

/// Each body paragraph's text of a DOCX (every w:t of a w:p, in order).
fn docx_paragraphs(docx: &[u8]) -> Vec<String> {
    use std::io::Read;
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(docx)).unwrap();
    let mut xml = String::new();
    z.by_name("word/document.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    const W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
    let doc = roxmltree::Document::parse(&xml).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name((W, "p")))
        .map(|p| {
            p.descendants()
                .filter(|n| n.has_tag_name((W, "t")))
                .filter_map(|n| n.text())
                .collect()
        })
        .collect()
}

fn two_items() -> MeetingMeta {
    let mut m = plenary();
    for title in ["会期の決定について", "一般質問"] {
        m.agenda.push(minutes::AgendaItem {
            number: None,
            title: title.into(),
            at: None,
            items: Vec::new(),
        });
    }
    m
}

#[test]
fn an_agenda_block_said_inside_the_chairs_sentence_is_printed_there() {
    // Shinagawa 2024-02-20: 「次に、── 日程第２ 一般質問 ── を行います。」 under one heading,
    // 次に、 opening a line as the published minutes print it.
    let t = transcript(&[
        ("S2", 0.0, 4.0, "以上で説明を終わります。"),
        (
            "S1",
            5.0,
            12.0,
            "以上で、区長の説明を終わります。次に、日程第２、一般質問を行います。初めに、代表質問を行います。",
        ),
        ("S2", 14.0, 16.0, "お答えします。"),
    ]);
    let mut m = two_items();
    let rule = m.conventions.rule.clone();
    let txt = body(&t, &m);
    assert!(
        txt.contains(&format!(
            "○渡辺議長　以上で、区長の説明を終わります。\n次に、\n{rule}\n日程第２\n一般質問\n{rule}\nを行います。\n初めに、代表質問を行います。\n\n○森澤区長　お答えします。"
        )),
        "{txt}"
    );
    assert_eq!(txt.matches("○渡辺議長").count(), 1, "{txt}");
    // The model: the speech after the block goes on without a heading; its verbatim text
    // and the first part's hold every word said.
    let d = minutes::draft(&t, &m, &MinutesOptions::default()).unwrap();
    let speeches: Vec<&minutes::Speech> = d
        .items
        .iter()
        .filter_map(|i| match i {
            minutes::Item::Speech(s) => Some(s),
            _ => None,
        })
        .collect();
    assert!(speeches[2].continued && !speeches[1].continued);
    assert_eq!(
        speeches[1..3]
            .iter()
            .flat_map(|s| s.paragraphs.iter().map(|p| p.verbatim.as_str()))
            .collect::<String>(),
        "以上で、区長の説明を終わります。次に、日程第２、一般質問を行います。初めに、代表質問を行います。"
    );
    assert!(speeches[1].end <= speeches[2].start);
    // Every download shows it: Markdown, HTML and DOCX print no heading after the block.
    let md = String::from_utf8(minutes::render(&d, Format::Markdown).unwrap()).unwrap();
    assert!(
        md.contains(
            "終わります。\n\n次に、\n\n---\n\n### 日程第２　一般質問\n\n---\n\nを行います。"
        ),
        "{md}"
    );
    let html = String::from_utf8(minutes::render(&d, Format::Html).unwrap()).unwrap();
    assert!(
        html.contains("<div class=\"speech continued\"") && html.contains("<p>を行います。</p>"),
        "{html}"
    );
    let paras = docx_paragraphs(&minutes::render(&d, Format::Docx).unwrap());
    let at = paras
        .iter()
        .position(|p| p == "を行います。")
        .unwrap_or_else(|| panic!("{paras:?}"));
    assert_eq!(paras[at - 1], rule);
    assert_eq!(paras[at - 3], "日程第２");
    assert!(paras[at - 5].ends_with("次に、"), "{paras:?}");
    assert!(paras[at - 6].ends_with("終わります。"), "{paras:?}");
    // Only the number said: the block after the paragraph, the chair under a new heading.
    let t2 = transcript(&[(
        "S1",
        5.0,
        12.0,
        "次に、日程第２を議題に供します。初めに、代表質問を行います。",
    )]);
    let txt = body(&t2, &m);
    assert!(
        txt.contains(&format!(
            "議題に供します。\n{rule}\n日程第２\n一般質問\n{rule}\n\n○渡辺議長　初めに、代表質問を行います。\n"
        )),
        "{txt}"
    );
    // Off: the block after the paragraph, as before.
    m.conventions.agenda_inline = false;
    let txt = body(&t, &m);
    assert!(
        txt.contains(&format!(
            "一般質問を行います。\n{rule}\n日程第２\n一般質問\n{rule}\n"
        )),
        "{txt}"
    );
}

#[test]
fn a_block_that_opens_the_chairs_speech_follows_the_heading_and_keeps_the_floor_call() {
    // 2024-02-20: ○渡辺議長　──── 日程第１ 会期の決定について ──── を議題に供します。…
    // ご異議ありませんか。〔「異議なし」と呼ぶ者あり〕, then the chair under a new heading.
    let t = transcript(&[
        ("S2", 0.0, 3.0, "以上で説明を終わります。"),
        (
            "S1",
            4.0,
            12.0,
            "日程第１、会期の決定についてを議題に供します。会期を本日１日といたしますが、ご異議ありませんか。",
        ),
        ("S9", 12.5, 13.2, "異議なし"),
        ("S1", 14.0, 18.0, "ご異議なしと認めます。"),
    ]);
    let m = two_items();
    let rule = m.conventions.rule.clone();
    let txt = body(&t, &m);
    assert!(
        txt.contains(&format!(
            "\n\n○渡辺議長　{rule}\n日程第１\n会期の決定について\n{rule}\nを議題に供します。会期を本日１日といたしますが、ご異議ありませんか。\n〔「異議なし」と呼ぶ者あり〕\n\n○渡辺議長　ご異議なしと認めます。"
        )),
        "{txt}"
    );
    let d = minutes::draft(&t, &m, &MinutesOptions::default()).unwrap();
    assert!(d.items.iter().any(|i| matches!(
        i,
        minutes::Item::Agenda { heading: Some(h), .. } if h == "○渡辺議長"
    )));
    let md = String::from_utf8(minutes::render(&d, Format::Markdown).unwrap()).unwrap();
    assert!(
        md.contains(
            "**○渡辺議長**\n\n---\n\n### 日程第１　会期の決定について\n\n---\n\nを議題に供します。"
        ),
        "{md}"
    );
    let paras = docx_paragraphs(&minutes::render(&d, Format::Docx).unwrap());
    assert!(
        paras
            .windows(2)
            .any(|w| w[0] == format!("○渡辺議長　{rule}") && w[1] == "日程第１"),
        "{paras:?}"
    );
}

#[test]
fn the_opening_mark_goes_after_the_chairs_heading_when_the_style_says_so() {
    let t = transcript(&[
        (
            "S1",
            0.0,
            4.0,
            "ただいまから定例会を開会いたします。本日の会議を開きます。",
        ),
        ("S2", 5.0, 8.0, "ご説明申し上げます。"),
    ]);
    let mut m = plenary();
    m.recording_start = Some("13:00:00".into());
    let plain = body(&t, &m);
    assert!(
        plain.contains("○午後１時開会\n\n○渡辺議長　ただいまから定例会を開会いたします。"),
        "{plain}"
    );
    m.conventions.open_mark_in_speech = true;
    let txt = body(&t, &m);
    assert!(
        txt.contains("\n○渡辺議長　○午後１時開会\nただいまから定例会を開会いたします。本日の会議を開きます。\n\n○森澤区長"),
        "{txt}"
    );
    assert_eq!(txt.matches("○渡辺議長").count(), 1, "{txt}");
    let d = minutes::draft(&t, &m, &MinutesOptions::default()).unwrap();
    let html = String::from_utf8(minutes::render(&d, Format::Html).unwrap()).unwrap();
    assert!(
        html.contains(
            "<p class=\"time-mark\"><span class=\"heading\">○渡辺議長</span>　○午後１時開会</p>"
        ),
        "{html}"
    );
    let paras = docx_paragraphs(&minutes::render(&d, Format::Docx).unwrap());
    assert!(
        paras
            .windows(2)
            .any(|w| w[0] == "○渡辺議長　○午後１時開会" && w[1].starts_with("ただいまから")),
        "{paras:?}"
    );
    // Not when somebody else speaks first.
    let t2 = transcript(&[
        ("S2", 0.0, 3.0, "ご説明申し上げます。"),
        ("S1", 4.0, 8.0, "ただいまから定例会を開会いたします。"),
    ]);
    let txt = body(&t2, &m);
    assert!(txt.contains("○午後１時開会\n\n○森澤区長"), "{txt}");
}

#[test]
fn the_benchmark_reads_a_block_that_opens_the_chairs_speech() {
    // 2024-02-20 prints 日程第１ after the chair's heading (○渡辺議長　────): the clerk's
    // agenda still has it.
    let all =
        minutes::fidelity::load_turns(&std::path::Path::new(EVAL).join("turns.jsonl")).unwrap();
    let id = "r06-20240220-honkaigi";
    let published =
        std::fs::read_to_string(std::path::Path::new(EVAL).join(format!("{id}.txt"))).unwrap();
    let (_, meta) = editbench::noisy_meeting(&all[id], &published);
    let items: Vec<(Option<&str>, &str)> = meta
        .agenda
        .iter()
        .map(|a| (a.number.as_deref(), a.title.as_str()))
        .collect();
    assert_eq!(
        items,
        [
            (Some("日程第１"), "会期の決定について"),
            (Some("日程第２"), "一般質問")
        ]
    );
}

#[test]
fn an_item_goes_where_its_number_is_said_before_its_title_said_in_passing() {
    // 2024-06-10 総務委員会: 「今後取り上げていく報告事項等の案件の中で」 names the title
    // long before 「次に、予定表３、報告事項を聴取いたします。」 takes the item up.
    let t = transcript(&[
        (
            "S1",
            0.0,
            3.0,
            "次に、予定表２の事務事業概要を議題に供します。",
        ),
        (
            "S1",
            5.0,
            9.0,
            "具体的な質疑につきましては、今後取り上げていく報告事項等の案件の中で行ってください。",
        ),
        ("S2", 11.0, 14.0, "ご説明申し上げます。"),
        (
            "S1",
            16.0,
            19.0,
            "次に、予定表３、報告事項を聴取いたします。",
        ),
    ]);
    let mut m = MeetingMeta {
        kind: MeetingKind::Committee,
        ..Default::default()
    };
    for (n, title) in [("２", "事務事業概要"), ("３", "報告事項")] {
        m.agenda.push(minutes::AgendaItem {
            number: Some(n.into()),
            title: title.into(),
            at: None,
            items: Vec::new(),
        });
    }
    let txt = body(&t, &m);
    let rule = m.conventions.rule.clone();
    assert!(
        txt.contains(&format!(
            "○森澤区長　ご説明申し上げます。\n{rule}\n３ 報告事項\n\n○渡辺議長　次に、予定表３"
        )),
        "{txt}"
    );
    // 「予定表の３」 names the number too (2024-06-10 文教委員会: 予定表の３その他).
    let t3 = transcript(&[
        (
            "S1",
            0.0,
            3.0,
            "次に、予定表２の事務事業概要を議題に供します。",
        ),
        (
            "S2",
            5.0,
            8.0,
            "その他といたしまして、報告事項の資料もございます。",
        ),
        (
            "S1",
            10.0,
            13.0,
            "最後に、予定表の３報告事項を議題に供します。",
        ),
    ]);
    let txt = body(&t3, &m);
    assert!(
        txt.contains(&format!(
            "{rule}\n３ 報告事項\n\n○渡辺議長　最後に、予定表の３"
        )),
        "{txt}"
    );
    // Said only by its title (no 予定表３ anywhere), an item is still placed there.
    let t2 = transcript(&[
        (
            "S1",
            0.0,
            3.0,
            "次に、予定表２の事務事業概要を議題に供します。",
        ),
        ("S2", 5.0, 8.0, "ご説明申し上げます。"),
        ("S1", 10.0, 13.0, "次に、報告事項を聴取いたします。"),
    ]);
    let txt = body(&t2, &m);
    assert!(
        txt.contains(&format!("{rule}\n３ 報告事項\n\n○渡辺議長　次に、報告事項")),
        "{txt}"
    );
}

#[test]
fn the_benchmark_agenda_has_the_items_added_on_the_day() {
    // 2024-03-07: 追加日程第１ (the clerk hands out the 追加議事日程 before it is taken up).
    let all =
        minutes::fidelity::load_turns(&std::path::Path::new(EVAL).join("turns.jsonl")).unwrap();
    let id = "r06-20240307-honkaigi";
    let published =
        std::fs::read_to_string(std::path::Path::new(EVAL).join(format!("{id}.txt"))).unwrap();
    let (_, meta) = editbench::noisy_meeting(&all[id], &published);
    assert!(
        meta.agenda
            .iter()
            .any(|a| a.number.as_deref() == Some("追加日程第１")
                && a.title == "第37号議案 教育委員会委員の任命同意について"),
        "{:?}",
        meta.agenda
    );
}

#[test]
fn a_committee_block_prints_the_lines_under_its_title() {
    // 2024-06-10 総務委員会: 「２ 事務事業概要」 then 「(1) 企画経営部」 … 「(5) 監査委員事務局」
    // in the block; the 予定表's sub-items come from the metadata's `items`.
    let t = transcript(&[
        (
            "S1",
            0.0,
            3.0,
            "次に、予定表２の事務事業概要を議題に供します。",
        ),
        ("S2", 5.0, 8.0, "ご説明申し上げます。"),
    ]);
    let toml_meta = r#"
kind = "committee"
[[agenda]]
number = "２"
title = "事務事業概要"
items = ["(1) 企画経営部", "(2) 区長室 03-3777-1111"]
"#;
    let m: MeetingMeta = toml::from_str(toml_meta).unwrap();
    let rule = m.conventions.rule.clone();
    let d = minutes::draft(&t, &m, &MinutesOptions::default()).unwrap();
    let out = |f| String::from_utf8(minutes::render(&d, f).unwrap()).unwrap();
    let txt = out(Format::Text);
    assert!(
        txt.contains(&format!(
            "{rule}\n２ 事務事業概要\n(1) 企画経営部\n(2) 区長室 03-3777-1111\n\n○渡辺議長　次に、予定表２"
        )),
        "{txt}"
    );
    let md = out(Format::Markdown);
    assert!(
        md.contains("### ２　事務事業概要\n\n(1) 企画経営部\n\n(2) 区長室"),
        "{md}"
    );
    let html = out(Format::Html);
    assert!(
        html.contains("事務事業概要<br>(1) 企画経営部<br>(2) 区長室"),
        "{html}"
    );
    let paras = docx_paragraphs(&minutes::render(&d, Format::Docx).unwrap());
    let at = paras
        .iter()
        .position(|p| p == "事務事業概要")
        .expect("title");
    assert_eq!(paras[at + 1], "(1) 企画経営部", "{paras:?}");
    assert_eq!(paras[at + 2], "(2) 区長室 03-3777-1111", "{paras:?}");
    assert_eq!(paras[at + 3], rule, "{paras:?}");
    // The JSON model carries them (and reads JSON written before they existed).
    let json = serde_json::to_value(&d).unwrap();
    let block = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "agenda")
        .unwrap()
        .clone();
    assert_eq!(block["items"][0], "(1) 企画経営部");
    let mut old = block.clone();
    old.as_object_mut().unwrap().remove("items");
    let old: minutes::Item = serde_json::from_value(old).unwrap();
    assert!(matches!(old, minutes::Item::Agenda { items, .. } if items.is_empty()));
    // A redacted copy masks them like the title.
    let dir = tempfile::tempdir().unwrap();
    let r = minutes::redact::Redactor::load(dir.path()).unwrap();
    let (red, list) = r.redact(&d, &minutes::redact::KeepList::default());
    let red_txt = String::from_utf8(minutes::render(&red, Format::Text).unwrap()).unwrap();
    assert!(!red_txt.contains("3777"), "{red_txt}");
    assert!(list.iter().any(|x| x.field == "agenda_line"), "{list:?}");
}

#[test]
fn the_benchmark_agenda_has_the_lines_under_each_title() {
    // Committee blocks list sub-items under the item; a numbered item further down the
    // block (2024-07-01 建設委員会: (2) 陳情第３２号 then ３ 報告事項 / (1) …) is an item of
    // its own; the chair's words printed inside a block (2024-07-30) are not sub-items.
    let all =
        minutes::fidelity::load_turns(&std::path::Path::new(EVAL).join("turns.jsonl")).unwrap();
    let agenda = |id: &str| {
        let published =
            std::fs::read_to_string(std::path::Path::new(EVAL).join(format!("{id}.txt"))).unwrap();
        editbench::noisy_meeting(&all[id], &published).1.agenda
    };
    let a = agenda("r06-20240610-5");
    let jimu = a.iter().find(|x| x.title == "事務事業概要").unwrap();
    assert_eq!(
        jimu.items,
        [
            "(1) 企画経営部",
            "(2) 区長室",
            "(3) 会計管理室",
            "(4) 選挙管理委員会事務局",
            "(5) 監査委員事務局"
        ]
    );
    let a = agenda("r06-20240701-8");
    let i = a
        .iter()
        .position(|x| x.number.as_deref() == Some("(2)") && x.title.contains("陳情第３２号"))
        .unwrap();
    assert!(a[i].items.is_empty(), "{:?}", a[i]);
    assert_eq!(a[i + 1].number.as_deref(), Some("３"));
    assert_eq!(a[i + 1].items.len(), 1, "{:?}", a[i + 1]);
    let a = agenda("r06-20240730-14");
    assert!(
        a.iter().flat_map(|x| &x.items).all(|l| !l.ends_with('。')),
        "{a:?}"
    );
}

/// Issue 18: a sentence opening with 次に、/ 以上 / 本案は … starts a line, as the published
/// minutes print it, even with no pause before it — inside one recognised segment too, and
/// after a filler the draft removes; a cue word that does not open a sentence (a segment cut
/// mid-sentence) does not.
#[test]
fn paragraph_cues_open_a_new_line_without_a_pause() {
    let t = transcript(&[
        (
            "S3",
            0.0,
            9.0,
            "ご報告申し上げます。第46号議案は可決すべきものと決定いたしました。次に、第47号議案についてご報告申し上げます。",
        ),
        ("S3", 9.2, 11.0, "審査には１０分"),
        ("S3", 11.2, 14.0, "以上を要しました。"),
        ("S3", 14.2, 16.0, "以上で報告を終わります。"),
        ("S3", 16.2, 18.0, "えー、続きまして、別件です。"),
    ]);
    let m = plenary();
    let txt = body(&t, &m);
    assert!(
        txt.contains(
            "決定いたしました。\n次に、第47号議案についてご報告申し上げます。審査には10分以上を要しました。\n以上で報告を終わります。\n続きまして、別件です。\n"
        ),
        "{txt}"
    );
    let off = MinutesOptions {
        paragraph_cues: false,
        ..Default::default()
    };
    let d = minutes::draft(&t, &m, &off).unwrap();
    let plain = String::from_utf8(minutes::render(&d, Format::Text).unwrap()).unwrap();
    assert!(
        plain.contains("決定いたしました。次に、第47号議案"),
        "{plain}"
    );
    assert!(plain.contains("要しました。以上で報告"), "{plain}");
}
