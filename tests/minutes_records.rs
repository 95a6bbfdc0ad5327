//! Issue 18 items 4, 7, 8: `--track-removals` DOCX whose Accept All gives the plain draft
//! exactly; the terms dictionary (built-in forms checked against the published minutes,
//! members' names, a user's file and the metadata's [terms]); consultation records with
//! their fields, 要点 weighted to decisions and plans, Word heading styles and document
//! properties.

use gijiroku::minutes::{self, editbench, fidelity, Format, MeetingKind, MeetingMeta};
use gijiroku::minutes::{Attendee, DocxOptions, Minutes, MinutesOptions};
use gijiroku::transcript::{Speaker, Transcript};
use std::io::Read;

mod common;
use std::path::Path;

const EVAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/eval/minutes");
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");

/// (speaker id, start, end, text), one diarization turn each; speakers S1–S3 unnamed.
fn transcript(lines: &[(&str, f64, f64, &str)]) -> Transcript {
    let speakers = ["S1", "S2", "S3"]
        .iter()
        .map(|id| Speaker {
            id: id.to_string(),
            label: id.to_string(),
            name: None,
            role: None,
        })
        .collect();
    common::turns_transcript(lines, speakers)
}

/// The parts of a DOCX: (name → text).
fn part(docx: &[u8], name: &str) -> String {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(docx)).unwrap();
    let mut s = String::new();
    z.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

const W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";

/// Each body paragraph's text after Word's Accept All: deletions (w:del) dropped, insertions
/// (w:ins) kept, every other run's w:t kept; and the number of deletions seen.
fn accept_all(document_xml: &str) -> (Vec<String>, usize) {
    let doc = roxmltree::Document::parse(document_xml).unwrap();
    let mut paras = Vec::new();
    let mut dels = 0;
    for p in doc.descendants().filter(|n| n.has_tag_name((W, "p"))) {
        let mut text = String::new();
        for n in p.descendants() {
            if n.has_tag_name((W, "t")) && !n.ancestors().any(|a| a.has_tag_name((W, "del"))) {
                text.push_str(n.text().unwrap_or(""));
            }
            if n.has_tag_name((W, "del")) {
                dels += 1;
            }
        }
        paras.push(text);
    }
    (paras, dels)
}

fn tracked(m: &Minutes) -> Vec<u8> {
    minutes::docx::render(
        m,
        &DocxOptions {
            track_removals: true,
        },
    )
    .unwrap()
}

#[test]
fn accept_all_of_tracked_removals_gives_the_plain_draft() {
    // Three real meetings (two committees, one plenary) with fillers and restarts, and a
    // paragraph where a removed filler follows a sentence the draft closed with 。.
    let all = fidelity::load_turns(&Path::new(EVAL).join("turns.jsonl")).unwrap();
    let mut drafts: Vec<Minutes> = Vec::new();
    for id in ["r06-20240220-honkaigi", "r06-20240610-5", "r06-20240701-6"] {
        let published = std::fs::read_to_string(Path::new(EVAL).join(format!("{id}.txt"))).unwrap();
        let (t, meta) = editbench::noisy_meeting(&all[id], &published);
        drafts.push(minutes::draft(&t, &meta, &MinutesOptions::default()).unwrap());
    }
    let t = transcript(&[
        ("S1", 0.0, 2.0, "本日の会議を開きます"),
        ("S1", 2.3, 5.0, "えー、日程第１を議題といたします"),
        ("S1", 5.2, 8.0, "あの、資料ナンバー1をご覧ください"),
    ]);
    let meta = MeetingMeta {
        kind: MeetingKind::Committee,
        ..Default::default()
    };
    drafts.push(minutes::draft(&t, &meta, &MinutesOptions::default()).unwrap());
    let mut checked = 0;
    for m in &drafts {
        assert!(m.removed > 0, "a draft without removals proves nothing");
        let plain = accept_all(&part(
            &minutes::render(m, Format::Docx).unwrap(),
            "word/document.xml",
        ));
        let tracked = accept_all(&part(&tracked(m), "word/document.xml"));
        assert_eq!(plain.1, 0);
        assert_eq!(tracked.1, m.removed, "one w:del per removal");
        assert_eq!(plain.0.len(), tracked.0.len());
        for (a, b) in plain.0.iter().zip(&tracked.0) {
            assert_eq!(a, b, "Accept All differs from the plain draft");
        }
        checked += plain.0.len();
    }
    assert!(checked > 500, "{checked} paragraphs");
    let small = drafts.last().unwrap();
    let body = accept_all(&part(&tracked(small), "word/document.xml")).0;
    assert!(
        body.iter().any(
            |p| p.contains("本日の会議を開きます。日程第１を議題といたします。")
                && p.contains("資料No.１をご覧ください。")
        ),
        "{body:?}"
    );
}

#[test]
fn built_in_terms_keep_every_form_of_the_published_minutes() {
    // Each built-in rule writes the form the clerks use and replaces a form they never
    // write: applied to all 25 published minutes it changes nothing.
    let mut files = 0;
    for e in std::fs::read_dir(EVAL).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "txt") {
            let text = std::fs::read_to_string(&p).unwrap();
            let (out, n) = minutes::terms::builtin_apply(&text);
            assert_eq!(n, 0, "{} would be changed", p.display());
            assert_eq!(out, text);
            files += 1;
        }
    }
    assert_eq!(files, 25);
    // And they do correct what a recogniser writes.
    for (heard, written) in [
        ("お手元に配布の資料", "お手元に配付の資料"),
        ("資料を差替えました", "資料を差し替えました"),
        ("資料ナンバー２をご覧ください", "資料No.２をご覧ください"),
        ("第117条の規定により除籍", "第117条の規定により除斥"),
        ("御意見を伺います", "ご意見を伺います"),
        ("説明致します", "説明いたします"),
        ("ご覧下さい", "ご覧ください"),
        ("子どもの出来ることを", "子どものできることを"),
        ("チラシを配布します", "チラシを配布します"),
        ("出来事", "出来事"),
    ] {
        assert_eq!(minutes::terms::builtin_apply(heard).0, written);
    }
}

fn council_meta() -> MeetingMeta {
    let mut meta = MeetingMeta {
        kind: MeetingKind::Committee,
        ..Default::default()
    };
    meta.attendees = vec![
        Attendee {
            name: "渡辺 ゆういち".into(),
            role: Some("委員長".into()),
            speaker: Some("S1".into()),
            reading: Some("わたなべ ゆういち".into()),
            ..Default::default()
        },
        Attendee {
            name: "森澤 恭子".into(),
            role: Some("区長".into()),
            speaker: Some("S2".into()),
            ..Default::default()
        },
    ];
    meta.terms.insert("おおいまち駅".into(), "大井町駅".into());
    meta
}

#[test]
fn terms_correct_names_and_the_municipalitys_own_words() {
    let t = transcript(&[
        ("S1", 0.0, 3.0, "森沢区長に伺います。"),
        (
            "S2",
            4.0,
            7.0,
            "わたなべ委員長、おおいまち駅の件は、お手元に配布の資料のとおりです。",
        ),
        ("S1", 8.0, 11.0, "しながわ水族館について伺います。"),
    ]);
    let mut options = MinutesOptions::default();
    let file = tempfile::NamedTempFile::with_suffix(".toml").unwrap();
    std::fs::write(
        file.path(),
        "[terms]\n\"しながわ水族館\" = \"しながわ水族館（品川区立）\"\n",
    )
    .unwrap();
    options.terms = minutes::terms::load_file(file.path()).unwrap();
    let m = minutes::draft(&t, &council_meta(), &options).unwrap();
    let txt = String::from_utf8(minutes::render(&m, Format::Text).unwrap()).unwrap();
    for want in [
        "森澤区長に伺います。",
        "渡辺委員長、大井町駅の件は、お手元に配付の資料のとおりです。",
        "しながわ水族館（品川区立）について伺います。",
    ] {
        assert!(txt.contains(want), "{want} missing:\n{txt}");
    }
    assert_eq!(m.corrected, 5);
    // The verbatim text stays what was recognised.
    let verbatim: Vec<String> = m
        .items
        .iter()
        .filter_map(|i| match i {
            minutes::Item::Speech(s) => Some(s.paragraphs[0].verbatim.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(verbatim[0], "森沢区長に伺います。");
    // Off: only the explicit pairs apply.
    options.builtin_terms = false;
    let m = minutes::draft(&t, &council_meta(), &options).unwrap();
    let txt = String::from_utf8(minutes::render(&m, Format::Text).unwrap()).unwrap();
    assert!(
        txt.contains("森沢区長") && txt.contains("お手元に配布"),
        "{txt}"
    );
    assert!(
        txt.contains("大井町駅") && txt.contains("（品川区立）"),
        "{txt}"
    );
    // A bad terms file is one clear error.
    std::fs::write(file.path(), "\"配布\" = 3\n").unwrap();
    let e = minutes::terms::load_file(file.path()).unwrap_err();
    assert!(format!("{e:#}").contains("is not a string"), "{e:#}");
}

#[test]
fn the_minutes_command_takes_a_terms_file() {
    let dir = tempfile::tempdir().unwrap();
    let t = transcript(&[("S1", 0.0, 3.0, "しながわ水族館の件を議題といたします。")]);
    let tp = dir.path().join("t.json");
    t.save(&tp).unwrap();
    let terms = dir.path().join("terms.toml");
    std::fs::write(
        &terms,
        "\"しながわ水族館\" = \"しながわ水族館（品川区立）\"\n",
    )
    .unwrap();
    let run = |terms: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_gijiroku"))
            .args([
                "minutes",
                tp.to_str().unwrap(),
                "--kind",
                "committee",
                "-f",
                "txt",
            ])
            .arg("--terms")
            .arg(terms)
            .output()
            .unwrap()
    };
    let out = run(&terms);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let txt = std::fs::read_to_string(dir.path().join("t.minutes.txt")).unwrap();
    assert!(txt.contains("しながわ水族館（品川区立）の件"), "{txt}");
    let out = run(&dir.path().join("missing.toml"));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot read the terms file"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn consultation_meta() -> MeetingMeta {
    MeetingMeta::load(&Path::new(EXAMPLES).join("consultation.toml")).unwrap()
}

/// A made-up counter consultation (no real one may leave an office): S1 caseworker, S2 client.
fn consultation() -> Transcript {
    let lines = [
        ("S1", "本日はよろしくお願いします。今日はどういったご相談でしょうか。"),
        ("S2", "先月、仕事を辞めることになりまして、家賃が払えなくなりそうで困っています。"),
        ("S1", "ご家族はいらっしゃいますか。"),
        ("S2", "妻と小学生の息子の３人で暮らしています。"),
        ("S1", "収入はどうなっていますか。"),
        ("S2", "妻のパート収入が月に８万円ほどで、貯金は１０万円くらいです。家賃は月に６万５千円です。"),
        ("S2", "借金はありません。"),
        ("S1", "住居確保給付金という制度がありますので、ご説明します。申請されますか。"),
        ("S2", "はい、お願いしたいです。"),
        ("S1", "では、来月の１０日までに、離職票と通帳のコピーを持ってきてください。"),
        ("S1", "ハローワークにも連絡しておきます。"),
        ("S1", "次回は７月１７日の午前１０時にお越しください。"),
        ("S2", "分かりました。ありがとうございました。"),
    ];
    let mut t = 0.0;
    let rows: Vec<(&str, f64, f64, &str)> = lines
        .iter()
        .map(|(s, x)| {
            let a = t;
            t += 0.15 * x.chars().count() as f64 + 1.0;
            (*s, a, t - 1.0, *x)
        })
        .collect();
    transcript(&rows)
}

fn field<'a>(m: &'a Minutes, label: &str) -> Vec<&'a str> {
    m.fields
        .iter()
        .find(|f| f.label == label)
        .unwrap_or_else(|| panic!("no field {label}"))
        .entries
        .iter()
        .map(|e| e.text.as_str())
        .collect()
}

#[test]
fn consultation_fields_are_filled_from_what_was_said() {
    let m = minutes::draft(
        &consultation(),
        &consultation_meta(),
        &MinutesOptions::default(),
    )
    .unwrap();
    let labels: Vec<&str> = m.fields.iter().map(|f| f.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "主訴",
            "世帯状況",
            "収入・資産・負債",
            "健康状態",
            "申請意思の確認",
            "対応",
            "今後の方針",
            "次回予定"
        ]
    );
    assert_eq!(
        field(&m, "主訴"),
        ["先月、仕事を辞めることになりまして、家賃が払えなくなりそうで困っています。"]
    );
    assert!(field(&m, "世帯状況").contains(&"妻と小学生の息子の３人で暮らしています。"));
    let money = field(&m, "収入・資産・負債");
    for want in ["月に８万円", "月に６万５千円"] {
        assert!(money.iter().any(|s| s.contains(want)), "{want}: {money:?}");
    }
    // Nothing was said about health: left visibly empty, not guessed.
    assert!(field(&m, "健康状態").is_empty());
    assert_eq!(
        field(&m, "申請意思の確認"),
        ["申請されますか。", "はい、お願いしたいです。"]
    );
    assert!(field(&m, "対応")
        .iter()
        .any(|s| s.contains("制度があります")));
    assert!(field(&m, "対応")
        .iter()
        .any(|s| s.contains("連絡しておきます")));
    assert!(field(&m, "今後の方針")
        .iter()
        .any(|s| s.contains("来月の10日までに")));
    assert!(field(&m, "次回予定").contains(&"次回は７月17日の午前10時にお越しください。"));
    // Who said it: the caseworker's question is not the client's 主訴.
    let said_by = |label: &str| {
        m.fields
            .iter()
            .find(|f| f.label == label)
            .unwrap()
            .entries
            .iter()
            .map(|e| e.speaker.clone())
            .collect::<Vec<_>>()
    };
    assert!(said_by("主訴").iter().all(|s| s == "相談者"));
    assert!(said_by("対応").iter().all(|s| s == "相談員"));
    let txt = String::from_utf8(minutes::render(&m, Format::Text).unwrap()).unwrap();
    assert!(txt.contains("■健康状態\n（記載なし）\n"), "{txt}");
    assert!(txt.contains("■主訴\n・［"), "{txt}");
    let md = String::from_utf8(minutes::render(&m, Format::Markdown).unwrap()).unwrap();
    assert!(md.contains("## 健康状態\n\n（記載なし）"), "{md}");
}

#[test]
fn key_points_weigh_decisions_and_plans_over_amounts() {
    let options = MinutesOptions {
        max_key_points: 3,
        ..Default::default()
    };
    let m = minutes::draft(&consultation(), &consultation_meta(), &options).unwrap();
    let kp: Vec<&str> = m.key_points.iter().map(|k| k.text.as_str()).collect();
    assert_eq!(kp.len(), 3, "{kp:?}");
    for k in &m.key_points {
        assert!(
            k.reasons.iter().any(|r| r == "decision" || r == "plan"),
            "{} is not a decision or a plan: {:?}",
            k.text,
            k.reasons
        );
    }
    assert!(
        !kp.iter()
            .any(|k| k.contains("８万円") || k.contains("６万５千円")),
        "{kp:?}"
    );
    assert!(kp.iter().any(|k| k.contains("来月の10日までに")), "{kp:?}");
}

#[test]
fn docx_has_word_heading_styles_and_document_properties() {
    let m = minutes::draft(
        &consultation(),
        &consultation_meta(),
        &MinutesOptions::default(),
    )
    .unwrap();
    let docx = minutes::render(&m, Format::Docx).unwrap();
    let styles = part(&docx, "word/styles.xml");
    for id in ["Heading1", "Heading2"] {
        assert!(
            styles.contains(&format!("w:styleId=\"{id}\"")),
            "{id} not defined"
        );
    }
    assert!(styles.contains("w:val=\"heading 1\"") && styles.contains("w:val=\"heading 2\""));
    let doc = part(&docx, "word/document.xml");
    let xml = roxmltree::Document::parse(&doc).unwrap();
    let styled = |style: &str| -> Vec<String> {
        xml.descendants()
            .filter(|n| n.has_tag_name((W, "p")))
            .filter(|p| {
                p.descendants().any(|n| {
                    n.has_tag_name((W, "pStyle")) && n.attribute((W, "val")) == Some(style)
                })
            })
            .map(|p| {
                p.descendants()
                    .filter(|n| n.has_tag_name((W, "t")))
                    .filter_map(|n| n.text())
                    .collect()
            })
            .collect()
    };
    assert_eq!(styled("Heading1"), ["相談記録"]);
    let h2 = styled("Heading2");
    for want in [
        "要点",
        "主訴",
        "世帯状況",
        "収入・資産・負債",
        "健康状態",
        "申請意思の確認",
        "対応",
        "今後の方針",
        "次回予定",
        "相談内容",
    ] {
        assert!(
            h2.iter().any(|h| h == want),
            "{want} is not a Heading 2: {h2:?}"
        );
    }
    let core = part(&docx, "docProps/core.xml");
    let props = roxmltree::Document::parse(&core).unwrap();
    let get = |ns: &str, name: &str| {
        props
            .descendants()
            .find(|n| n.has_tag_name((ns, name)))
            .and_then(|n| n.text())
            .map(str::to_string)
    };
    let dc = "http://purl.org/dc/elements/1.1/";
    let dcterms = "http://purl.org/dc/terms/";
    assert_eq!(get(dc, "creator").as_deref(), Some("佐藤"));
    assert_eq!(get(dc, "title").as_deref(), Some("相談記録"));
    assert_eq!(
        get(dcterms, "created").as_deref(),
        Some("2024-07-03T00:00:00Z")
    );
    // Council minutes: the clerk given in the metadata; none given, no author at all.
    let mut meta = council_meta();
    meta.clerk = Some("議事課 高橋".into());
    meta.date = Some("2024-06-10".into());
    let t = transcript(&[("S1", 0.0, 3.0, "ただいまから委員会を開会いたします。")]);
    let m = minutes::draft(&t, &meta, &MinutesOptions::default()).unwrap();
    let core = part(
        &minutes::render(&m, Format::Docx).unwrap(),
        "docProps/core.xml",
    );
    assert!(
        core.contains("<dc:creator>議事課 高橋</dc:creator>"),
        "{core}"
    );
    assert!(core.contains(">2024-06-10T00:00:00Z<"), "{core}");
    meta.clerk = None;
    let m = minutes::draft(&t, &meta, &MinutesOptions::default()).unwrap();
    let core = part(
        &minutes::render(&m, Format::Docx).unwrap(),
        "docProps/core.xml",
    );
    assert!(!core.contains("creator"), "{core}");
    // docx-rs reads the file back (Word's structure is intact).
    docx_rs::read_docx(&docx).unwrap();
}
