//! Drafting and exporting minutes: council 会議録 from real published speech (Shinagawa
//! minutes, shared/eval/minutes), an English meeting from a real timed conversation
//! (shared/eval/diarization/pyannote__sample.stm, read in place, never copied), a consultation,
//! a transcript without diarization, bad input, and the `gijiroku minutes` command.

use gijiroku::minutes::{
    self, fidelity, Format, Item, MeetingKind, MeetingMeta, Minutes, MinutesOptions,
};
use gijiroku::transcript::{ModelInfo, Segment, Source, Speaker, Transcript, Turn, Word};
use std::path::{Path, PathBuf};

const EVAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/eval");
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");

fn example(name: &str) -> MeetingMeta {
    MeetingMeta::load(&Path::new(EXAMPLES).join(name)).expect("example metadata")
}

fn seg(id: usize, start: f64, end: f64, text: &str, speaker: Option<&str>) -> Segment {
    Segment {
        id,
        start,
        end,
        text: text.into(),
        words: Vec::new(),
        speaker: speaker.map(str::to_string),
        avg_logprob: 0.0,
        no_speech_prob: 0.0,
        temperature: 0.0,
    }
}

fn transcript(language: &str, segments: Vec<Segment>, speakers: Vec<Speaker>) -> Transcript {
    let turns = segments
        .iter()
        .filter_map(|s| {
            Some(Turn {
                speaker: s.speaker.clone()?,
                start: s.start,
                end: s.end,
            })
        })
        .collect();
    Transcript {
        schema_version: gijiroku::transcript::SCHEMA_VERSION,
        source: Source {
            file_name: "meeting.wav".into(),
            duration: segments.last().map(|s| s.end).unwrap_or(0.0),
            ..Default::default()
        },
        language: language.into(),
        model: ModelInfo::default(),
        created_at: String::new(),
        speech: Vec::new(),
        segments,
        speakers,
        turns,
    }
}

/// The first turns of the 2024-02-20 plenary, as diarization would give them, without the
/// clerk's time-mark lines (the draft writes its own), with a 20-minute recess after turn 5.
fn council_transcript() -> Transcript {
    let all = fidelity::load_turns(&Path::new(EVAL).join("minutes/turns.jsonl")).unwrap();
    let turns = &all["r06-20240220-honkaigi"][..8];
    let (mut t, _) = fidelity::transcript_from_turns(turns);
    t.segments.retain(|s| !s.text.starts_with("○午後"));
    let recess_from = t.turns[5].start;
    for s in &mut t.segments {
        if s.start >= recess_from {
            s.start += 1200.0;
            s.end += 1200.0;
        }
    }
    for turn in &mut t.turns {
        if turn.start >= recess_from {
            turn.start += 1200.0;
            turn.end += 1200.0;
        }
    }
    // Diarization knows voices, not names: names come from the metadata.
    for sp in &mut t.speakers {
        sp.name = None;
        sp.role = None;
    }
    t
}

fn speeches(m: &Minutes) -> Vec<&minutes::Speech> {
    m.items
        .iter()
        .filter_map(|i| match i {
            Item::Speech(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn text(m: &Minutes, f: Format) -> String {
    String::from_utf8(minutes::render(m, f).unwrap()).unwrap()
}

#[test]
fn council_minutes_read_as_minutes() {
    let t = council_transcript();
    let meta = example("meeting-council.toml");
    let m = minutes::draft(&t, &meta, &MinutesOptions::default()).unwrap();
    let txt = text(&m, Format::Text);
    let lines: Vec<&str> = txt.lines().collect();
    assert_eq!(lines[0], "品川区議会令和６年第１回定例会（第１日）会議録");
    let end = speeches(&m).last().unwrap().end;
    let end_clock = minutes::style::clock_ja(
        13.0 * 3600.0 + end,
        minutes::style::TimeStyle::Plain,
        minutes::style::Digits::Official,
    );
    let date_line = format!("日時　令和６年２月20日（火）　午後１時～{end_clock}");
    assert!(lines.contains(&date_line.as_str()), "{date_line}\n{txt}");
    // Time marks from the recording's clock: opening, the recess and resumption, closing.
    let marks: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("○午"))
        .collect();
    assert_eq!(marks.first(), Some(&"○午後１時開会"));
    assert!(marks.iter().any(|l| l.ends_with("分休憩")), "{marks:?}");
    assert!(marks.iter().any(|l| l.ends_with("分開議")), "{marks:?}");
    // The recording stops mid-sitting (no closing words): no 散会 mark (issue 18 item 6).
    assert!(!marks.iter().any(|l| l.ends_with("散会")), "{marks:?}");
    // Speaker headings from the attendees (S1 = 渡辺 ゆういち 議長, S3 = 高橋 伸明 議員).
    assert!(
        lines.contains(&"○渡辺議長　ただいまから令和６年第１回品川区議会定例会を開会いたします。")
    );
    assert!(lines
        .iter()
        .any(|l| l.starts_with("○森澤区長　令和６年第１回区議会定例会")));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("○高橋伸明議員　品川区議会自民党")));
    // The agenda item placed at 13:02 between rules, the signature block at the end.
    let rule = m.rule.as_str();
    assert!(
        lines
            .windows(4)
            .any(|w| w == [rule, "日程第１", "会期の決定について", rule]),
        "agenda marker"
    );
    // 一般質問 has no time in the metadata: placed after the chair's paragraph that takes it
    // up (plenary layout, issue 18 item 3).
    let i = lines
        .windows(4)
        .position(|w| w == [rule, "日程第２", "一般質問", rule])
        .expect("agenda item found in the text");
    let chair = lines
        .iter()
        .position(|l| l.starts_with("○渡辺議長　以上で、令和６年施政方針について"))
        .expect("the chair's speech");
    assert!(chair < i, "{chair} {i}");
    assert_eq!(
        &lines[lines.len() - 3..],
        &[
            "議　長　渡辺 ゆういち",
            "署名人　山本 やすゆき",
            "同　西本 たか子"
        ]
    );
    assert_eq!(m.unidentified, 0);
}

#[test]
fn council_docx_holds_the_same_minutes() {
    let t = council_transcript();
    let m = minutes::draft(
        &t,
        &example("meeting-council.toml"),
        &MinutesOptions::default(),
    )
    .unwrap();
    let bytes = minutes::render(&m, Format::Docx).unwrap();
    assert_eq!(&bytes[..2], b"PK", "a DOCX is a zip");
    let doc = docx_rs::read_docx(&bytes).expect("docx-rs reads the DOCX back");
    let paras: Vec<String> = doc
        .document
        .children
        .iter()
        .filter_map(|c| match c {
            docx_rs::DocumentChild::Paragraph(p) => Some(p.raw_text()),
            _ => None,
        })
        .collect();
    assert_eq!(paras[0], m.title);
    for want in [
        "○午後１時開会",
        "○渡辺議長　ただいまから令和６年第１回品川区議会定例会を開会いたします。",
        "日程第１",
        "署名人　山本 やすゆき",
    ] {
        assert!(paras.iter().any(|p| p == want), "{want} not in the DOCX");
    }
    assert!(
        !paras.iter().any(|p| p.ends_with("散会")),
        "no closing heard"
    );
}

#[test]
fn committee_conventions() {
    let all = fidelity::load_turns(&Path::new(EVAL).join("minutes/turns.jsonl")).unwrap();
    let (t, _) = fidelity::transcript_from_turns(&all["r06-20240610-5"][..12]);
    let mut meta = example("meeting-committee.toml");
    meta.kind = MeetingKind::Committee;
    let m = minutes::draft(&t, &meta, &MinutesOptions::default()).unwrap();
    let txt = text(&m, Format::Text);
    // Committee minutes: padded clock, all digits full-width; the first 12 turns hold the
    // opening but not the closing, so no 閉会 mark (issue 18 item 6).
    assert!(txt.contains("\n○午後 １時００分開会\n"), "{txt}");
    assert!(!txt
        .lines()
        .any(|l| l.starts_with("○午後 １時") && l.ends_with("閉会")));
    assert!(txt.contains("\n○こしば委員長　"));
    assert!(txt.contains("\n○新妻副委員長　"));
    assert!(
        txt.contains("\n○石田（ち）委員　"),
        "short name from the metadata"
    );
    // Committee layout of an agenda item: 「１ 幹部職員紹介」 after a rule.
    assert!(txt.contains("\n１ 幹部職員紹介\n"), "agenda item at 60 s");

    // Assemblies that print ○委員長（氏名君）: one line of the conventions.
    meta.conventions.speaker_heading = "○{role}（{full}君）".into();
    let m = minutes::draft(&t, &meta, &MinutesOptions::default()).unwrap();
    let txt = text(&m, Format::Text);
    assert!(txt.contains("\n○委員長（こしば新君）　"), "{txt}");
    assert!(txt.contains("\n○委員（石田ちひろ君）　"));
}

#[test]
fn without_diarization_every_speech_is_left_for_the_clerk() {
    // Real speech text (the first lines of a committee meeting) with no speaker information.
    let all = fidelity::load_turns(&Path::new(EVAL).join("minutes/turns.jsonl")).unwrap();
    let (mut t, meta) = fidelity::transcript_from_turns(&all["r06-20240610-5"][..10]);
    for s in &mut t.segments {
        s.speaker = None;
    }
    t.turns.clear();
    t.speakers.clear();
    let m = minutes::draft(&t, &meta, &MinutesOptions::default()).unwrap();
    let sp = speeches(&m);
    assert!(sp.len() > 1, "pauses of 2 s or more start new speeches");
    assert!(sp
        .iter()
        .all(|s| s.heading == "○（発言者未確認）" && !s.identified));
    assert_eq!(m.unidentified, sp.len());
    let words: usize = sp
        .iter()
        .flat_map(|s| &s.paragraphs)
        .map(|p| p.segments.len())
        .sum();
    assert_eq!(words, t.segments.len(), "every segment is in the draft");
}

fn stm_transcript() -> Transcript {
    let stm = std::fs::read_to_string(Path::new(EVAL).join("diarization/pyannote__sample.stm"))
        .expect("pyannote sample STM");
    let mut segs = Vec::new();
    for l in stm.lines() {
        let f: Vec<&str> = l.splitn(6, ' ').collect();
        let id = if f[2] == "Diane" { "S1" } else { "S2" };
        segs.push(seg(
            segs.len(),
            f[3].parse().unwrap(),
            f[4].parse().unwrap(),
            f[5],
            Some(id),
        ));
    }
    let speakers = vec![
        Speaker {
            id: "S1".into(),
            label: "Speaker 1".into(),
            name: None,
            role: None,
        },
        Speaker {
            id: "S2".into(),
            label: "Speaker 2".into(),
            name: None,
            role: None,
        },
    ];
    transcript("en", segs, speakers)
}

#[test]
fn english_meeting_from_a_real_conversation() {
    let t = stm_transcript();
    let m = minutes::draft(&t, &example("meeting-en.toml"), &MinutesOptions::default()).unwrap();
    let sp = speeches(&m);
    // 13 STM turns; consecutive turns of one speaker less than 1 s apart are one speech.
    assert_eq!(
        sp.len(),
        9,
        "{:#?}",
        sp.iter().map(|s| &s.heading).collect::<Vec<_>>()
    );
    assert_eq!(sp[0].heading, "Diane (Chair)");
    assert_eq!(sp[1].heading, "Sheila");
    assert_eq!(sp[0].time, "19:00:07");
    let md = text(&m, Format::Markdown);
    assert!(
        md.starts_with("# Minutes: Neighbourhood association call\n"),
        "{md}"
    );
    assert!(md.contains("Oh, hello. I didn't know you were there."));
    let html = text(&m, Format::Html);
    assert!(
        html.contains("I&#x27;m Sheila in Texas") || html.contains("I&#39;m Sheila"),
        "HTML is escaped"
    );
}

#[test]
fn removed_words_are_recorded_and_verbatim_keeps_them() {
    // Verbatim reference of real spontaneous speech (MFA test corpus, shared/eval/asr_en).
    let said =
        std::fs::read_to_string(Path::new(EVAL).join("asr_en/mfa__acoustic_corpus.txt")).unwrap();
    let said = said.trim();
    // Words as Whisper gives them (leading space), evenly spread over the 26.7 s clip.
    let tokens: Vec<&str> = said.split(' ').collect();
    let step = 26.7 / tokens.len() as f64;
    let mut s0 = seg(0, 0.0, 26.7, said, Some("S1"));
    s0.words = tokens
        .iter()
        .enumerate()
        .map(|(i, w)| Word {
            start: i as f64 * step,
            end: (i + 1) as f64 * step,
            text: if i == 0 {
                w.to_string()
            } else {
                format!(" {w}")
            },
            probability: 0.9,
            speaker: None,
        })
        .collect();
    let word_starts: Vec<(String, f64)> = s0
        .words
        .iter()
        .map(|w| (w.text.trim().to_string(), w.start))
        .collect();
    let t = transcript(
        "en",
        vec![s0],
        vec![Speaker {
            id: "S1".into(),
            label: "Speaker 1".into(),
            name: Some("Michael".into()),
            role: None,
        }],
    );
    let meta = MeetingMeta {
        kind: MeetingKind::Meeting,
        ..Default::default()
    };
    let m = minutes::draft(&t, &meta, &MinutesOptions::default()).unwrap();
    let p = &speeches(&m)[0].paragraphs[0];
    assert_eq!(p.verbatim, said);
    let removed: Vec<&str> = p.removals.iter().map(|r| r.removal.text.trim()).collect();
    assert_eq!(removed, ["yknow", "um", "uh", "um"]);
    for r in &p.removals {
        // Timed by the word that was removed.
        assert!(
            word_starts
                .iter()
                .any(|(w, at)| w == r.removal.text.trim() && (at - r.at).abs() < 1e-9),
            "{r:?}"
        );
    }
    assert!(!p.text.contains(" um ") && p.text.contains("words words words words"));
    // The JSON export carries both, so an editor can restore any removal.
    let json: serde_json::Value =
        serde_json::from_slice(&minutes::render(&m, Format::Json).unwrap()).unwrap();
    let jp = &json["items"][0]["paragraphs"][0];
    assert_eq!(jp["verbatim"], said);
    assert_eq!(jp["removals"][1]["text"], "um ");
    assert_eq!(jp["removals"][1]["kind"], "filler");

    let v = minutes::draft(
        &t,
        &meta,
        &MinutesOptions {
            verbatim: true,
            ..Default::default()
        },
    )
    .unwrap();
    let vp = &speeches(&v)[0].paragraphs[0];
    assert!(vp.removals.is_empty() && vp.text.contains(" um "));
    assert_eq!(v.removed, 0);
}

#[test]
fn a_segment_across_a_change_of_speaker_is_split_by_its_words() {
    // Two real turns of the STM conversation recognised as one segment; diarization gave
    // each word its speaker.
    let mut t = stm_transcript();
    let (a, b) = (t.segments[3].clone(), t.segments[4].clone());
    assert_eq!(
        (a.text.as_str(), b.text.as_str()),
        ("I didn't know you were there.", "Neither did I.")
    );
    let mut words = Vec::new();
    for s in [&a, &b] {
        let toks: Vec<&str> = s.text.split(' ').collect();
        let step = (s.end - s.start) / toks.len() as f64;
        for (i, w) in toks.iter().enumerate() {
            words.push(Word {
                start: s.start + i as f64 * step,
                end: s.start + (i + 1) as f64 * step,
                text: if words.is_empty() {
                    w.to_string()
                } else {
                    format!(" {w}")
                },
                probability: 0.9,
                speaker: s.speaker.clone(),
            });
        }
    }
    let mut merged = seg(3, a.start, b.end, &format!("{} {}", a.text, b.text), None);
    merged.words = words;
    t.segments.splice(3..5, [merged]);
    let m = minutes::draft(&t, &example("meeting-en.toml"), &MinutesOptions::default()).unwrap();
    let sp = speeches(&m);
    let texts: Vec<(&str, &str)> = sp
        .iter()
        .map(|s| (s.heading.as_str(), s.paragraphs[0].text.as_str()))
        .collect();
    assert_eq!(texts[1], ("Sheila", "Hello?"));
    assert_eq!(
        texts[2],
        ("Diane (Chair)", "Oh, hello. I didn't know you were there.")
    );
    assert_eq!(texts[3], ("Sheila", "Neither did I."));
    assert!((sp[3].start - b.start).abs() < 1e-9);
}

#[test]
fn japanese_segments_without_punctuation_get_their_full_stops() {
    // Whisper often leaves 。 out; the sentences of a published turn, recognised that way.
    let segs = vec![
        seg(
            0,
            0.0,
            3.0,
            "えーただいまから総務委員会を開会いたします",
            Some("S1"),
        ),
        seg(
            1,
            3.2,
            6.0,
            "本日はお手元に配付してございます審査調査予定表のとおり",
            Some("S1"),
        ),
        seg(2, 6.1, 8.0, "幹部職員紹介を予定しております", Some("S1")),
        seg(3, 8.2, 9.0, "よろしくお願いいたします。", Some("S1")),
    ];
    let t = transcript("ja", segs, Vec::new());
    let m = minutes::draft(
        &t,
        &example("meeting-committee.toml"),
        &MinutesOptions::default(),
    )
    .unwrap();
    let p = &speeches(&m)[0].paragraphs[0];
    assert_eq!(
        p.text,
        "ただいまから総務委員会を開会いたします。本日はお手元に配付してございます審査調査予定表のとおり幹部職員紹介を予定しております。よろしくお願いいたします。"
    );
    assert_eq!(
        p.verbatim.chars().filter(|&c| c == '。').count(),
        1,
        "verbatim untouched"
    );
}

fn consultation_transcript() -> Transcript {
    // A made-up counter consultation (no real one may leave an office).
    let lines = [
        (
            "S1",
            0.0,
            "本日はよろしくお願いします。えー、今日はどういったご相談でしょうか。",
        ),
        (
            "S2",
            6.0,
            "あのー、先月、仕事を辞めることになりまして、家賃が払えなくなりそうで困っています。",
        ),
        ("S1", 14.0, "そうでしたか。家賃は月にいくらですか。"),
        (
            "S2",
            18.0,
            "えっと、月に６万５千円です。貯金はもう１０万円くらいしかなくて。",
        ),
        (
            "S1",
            26.0,
            "分かりました。住居確保給付金という制度がありますので、その申請を検討しましょう。",
        ),
        ("S2", 34.0, "はい、お願いしたいです。"),
        (
            "S1",
            38.0,
            "では、来月の１０日までに、離職票と通帳のコピーを持ってきてください。",
        ),
        (
            "S2",
            46.0,
            "分かりました。あの、ハローワークにも行ったほうがいいですか。",
        ),
        (
            "S1",
            52.0,
            "はい、今週中にハローワークで求職の手続きをお願いします。",
        ),
        ("S2", 61.0, "はい、そうします。ありがとうございました。"),
    ];
    let segs = lines
        .iter()
        .enumerate()
        .map(|(i, (s, t, x))| seg(i, *t, t + 0.12 * x.chars().count() as f64, x, Some(s)))
        .collect();
    let speakers = ["S1", "S2"]
        .iter()
        .map(|id| Speaker {
            id: id.to_string(),
            label: format!("話者{}", &id[1..]),
            name: None,
            role: None,
        })
        .collect();
    transcript("ja", segs, speakers)
}

#[test]
fn consultation_record() {
    let t = consultation_transcript();
    let m = minutes::draft(
        &t,
        &example("consultation.toml"),
        &MinutesOptions::default(),
    )
    .unwrap();
    let txt = text(&m, Format::Text);
    for want in [
        "相談記録",
        "ケース番号：2024-0412",
        "相談者：A氏",
        "相談員：佐藤",
        "相談種別：生活相談",
        "■対応",
        "■今後の方針",
        "［10:00:00］相談員：本日はよろしくお願いします。今日はどういったご相談でしょうか。",
    ] {
        assert!(txt.contains(want), "{want} missing:\n{txt}");
    }
    // 要点: the sentences with the amount, the deadline and the decision, in order, timed.
    let kp: Vec<&str> = m.key_points.iter().map(|k| k.text.as_str()).collect();
    assert!(kp.contains(&"月に６万５千円です。"), "{kp:?}");
    assert!(kp.iter().any(|k| k.contains("来月の10日までに")), "{kp:?}");
    assert!(kp.iter().any(|k| k.contains("住居確保給付金")), "{kp:?}");
    assert!(
        !kp.iter().any(|k| k.contains("よろしくお願いします")),
        "greetings are not key points"
    );
    assert!(m.key_points.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(m.key_points.len() <= 6);
    let amount = m
        .key_points
        .iter()
        .find(|k| k.text.contains("６万５千円"))
        .unwrap();
    assert!(
        amount.at >= 18.0 && amount.at < 26.0,
        "linked to when it was said"
    );
    assert_eq!(amount.speaker, "相談者");
    // In the DOCX the removed fillers can be kept as tracked deletions the clerk may reject.
    let plain = docx_rs::read_docx(&minutes::render(&m, Format::Docx).unwrap()).unwrap();
    let tracked = minutes::docx::render(
        &m,
        &minutes::DocxOptions {
            track_removals: true,
        },
    )
    .unwrap();
    let tracked = docx_rs::read_docx(&tracked).unwrap();
    let deletions = |d: &docx_rs::Docx| {
        d.document
            .children
            .iter()
            .filter_map(|c| match c {
                docx_rs::DocumentChild::Paragraph(p) => Some(p),
                _ => None,
            })
            .flat_map(|p| &p.children)
            .filter(|c| matches!(c, docx_rs::ParagraphChild::Delete(_)))
            .count()
    };
    assert_eq!(deletions(&plain), 0);
    assert_eq!(deletions(&tracked), m.removed);
    assert_eq!(m.removed, 4, "えー、 あのー、 えっと、 あの、");
}

#[test]
fn a_municipalitys_own_template() {
    let t = consultation_transcript();
    let m = minutes::draft(
        &t,
        &example("consultation.toml"),
        &MinutesOptions::default(),
    )
    .unwrap();
    let out = minutes::render_template(
        &m,
        "mine.txt.jinja",
        "{{ meta.consultation.case_id }}{% for k in key_points %}|{{ k.time }}{% endfor %}",
    )
    .unwrap();
    assert!(out.starts_with("2024-0412|10:00:"), "{out}");
    let err = minutes::render_template(&m, "bad.txt.jinja", "{{ no_such_field }}").unwrap_err();
    assert!(format!("{err:#}").contains("bad.txt.jinja"), "{err:#}");
    let err = minutes::render_template(&m, "bad.md.jinja", "{% for %}").unwrap_err();
    assert!(format!("{err:#}").contains("syntax"), "{err:#}");
}

#[test]
fn bad_input_is_refused_with_a_reason() {
    let empty = transcript("ja", vec![seg(0, 0.0, 1.0, "  ", None)], Vec::new());
    let e =
        minutes::draft(&empty, &MeetingMeta::default(), &MinutesOptions::default()).unwrap_err();
    assert!(e.to_string().contains("no text"));
    let bad = transcript("ja", vec![seg(0, 5.0, f64::NAN, "はい", None)], Vec::new());
    assert!(minutes::draft(&bad, &MeetingMeta::default(), &MinutesOptions::default()).is_err());

    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p
    };
    let e = MeetingMeta::load(&write("a.toml", "date = \"2024/02/20\"\n")).unwrap_err();
    assert!(format!("{e:#}").contains("YYYY-MM-DD"), "{e:#}");
    let e = MeetingMeta::load(&write("b.toml", "recording_start = \"25:00\"\n")).unwrap_err();
    assert!(format!("{e:#}").contains("clock time"), "{e:#}");
    let e = MeetingMeta::load(&write("c.toml", "titel = \"x\"\n")).unwrap_err();
    assert!(
        format!("{e:#}").contains("titel"),
        "misspelt field named: {e:#}"
    );
    let e = MeetingMeta::load(&write("d.toml", "kind = \"party\"\n")).unwrap_err();
    assert!(format!("{e:#}").contains("kind"), "{e:#}");
    let e = MeetingMeta::load(&write(
        "e.json",
        "{\"kind\": \"committee\", \"agenda\": [{\"title\": \"x\", \"at\": \"noon\"}]}",
    ))
    .unwrap_err();
    assert!(format!("{e:#}").contains("at ="), "{e:#}");
    assert!(MeetingMeta::load(&dir.path().join("missing.toml")).is_err());
}

fn gijiroku(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_gijiroku"))
        .args(args)
        .output()
        .expect("run gijiroku")
}

#[test]
fn the_minutes_command() {
    let dir = tempfile::tempdir().unwrap();
    let tpath: PathBuf = dir.path().join("plenary.json");
    council_transcript().save(&tpath).unwrap();
    let meta = format!("{EXAMPLES}/meeting-council.toml");
    let tp = tpath.to_str().unwrap();

    // Default: beside the transcript.
    let out = gijiroku(&[
        "minutes",
        tp,
        "--meta",
        &meta,
        "-f",
        "docx,md,txt,html,json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for ext in ["docx", "md", "txt", "html", "json"] {
        let p = dir.path().join(format!("plenary.minutes.{ext}"));
        assert!(
            p.metadata().map(|m| m.len() > 500).unwrap_or(false),
            "{}",
            p.display()
        );
    }
    // --out, flags over the file, --verbatim, a template of one's own.
    let tmpl = dir.path().join("short.md.jinja");
    std::fs::write(&tmpl, "{{ title }} / {{ meta.place }}\n").unwrap();
    let out_dir = dir.path().join("out");
    let out = gijiroku(&[
        "minutes",
        tp,
        "--meta",
        &meta,
        "-f",
        "md",
        "--out",
        out_dir.to_str().unwrap(),
        "--place",
        "第２委員会室",
        "--verbatim",
        "--template",
        tmpl.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = std::fs::read_to_string(out_dir.join("plenary.minutes.md")).unwrap();
    assert_eq!(
        md,
        "品川区議会令和６年第１回定例会（第１日）会議録 / 第２委員会室\n"
    );

    // Wrong options and bad files: one line, non-zero exit, nothing written.
    for (args, says) in [
        (vec!["minutes", tp, "-f", "pdf"], "unknown format"),
        (
            vec!["minutes", "/nonexistent/t.json"],
            "cannot read transcript",
        ),
        (vec!["minutes", meta.as_str()], "not a gijiroku transcript"),
        (
            vec!["minutes", tp, "--kind", "party"],
            "unknown meeting kind",
        ),
        (vec!["minutes", tp, "--date", "yesterday"], "YYYY-MM-DD"),
        (
            vec!["minutes", tp, "-f", "md", "--template", meta.as_str()],
            "cannot tell which format",
        ),
    ] {
        let out = gijiroku(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(!err.contains("panicked"));
    }
}
