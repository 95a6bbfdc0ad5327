//! Redaction for publication (`minutes --redact`): precision and recall per kind on the
//! hand-written set tests/fixtures/redaction/sentences.txt, the redacted copy of a draft (the
//! original unchanged, nothing of a masked item left in the JSON), and the command.

use gijiroku::minutes::redact::{Found, KeepList, MaskKind, Redactor, MASK};
use gijiroku::minutes::{self, Format, Item, MeetingMeta, MinutesOptions};
use gijiroku::transcript::{ModelInfo, Segment, Source, Speaker, Transcript, Turn};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/redaction");

/// One redactor for the whole test binary: the IPADIC build takes a few seconds.
fn redactor() -> &'static Redactor {
    static R: OnceLock<(tempfile::TempDir, Redactor)> = OnceLock::new();
    let (_, r) = R.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let r = Redactor::load(dir.path()).expect("IPADIC from mecab-ipadic");
        (dir, r)
    });
    r
}

/// A sentence of the set: plain text and the gold items (kind, byte range).
struct Case {
    text: String,
    gold: Vec<(MaskKind, usize, usize)>,
}

fn load_set(name: &str) -> (KeepList, Vec<Case>) {
    let src = std::fs::read_to_string(Path::new(FIXTURES).join(name)).unwrap();
    let mut keep = KeepList::default();
    let mut cases = Vec::new();
    for line in src.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(n) = line.strip_prefix("keep:") {
            keep.add(n.trim());
            continue;
        }
        let mut text = String::new();
        let mut gold = Vec::new();
        let mut rest = line;
        while let Some(open) = rest.find('[') {
            let Some(close) = rest[open..].find(']').map(|c| c + open) else {
                break;
            };
            let inner = &rest[open + 1..close];
            let Some((kind, item)) = inner.split_once(':') else {
                panic!("bad markup {inner:?} in {line}");
            };
            let kind: MaskKind = kind.parse().unwrap();
            text.push_str(&rest[..open]);
            gold.push((kind, text.len(), text.len() + item.len()));
            text.push_str(item);
            rest = &rest[close + 1..];
        }
        text.push_str(rest);
        cases.push(Case { text, gold });
    }
    (keep, cases)
}

#[derive(Default, Debug, Clone, Copy)]
struct Score {
    gold: usize,
    found: usize,
    predicted: usize,
    correct: usize,
}

impl Score {
    fn recall(&self) -> f64 {
        if self.gold == 0 {
            1.0
        } else {
            self.found as f64 / self.gold as f64
        }
    }
    fn precision(&self) -> f64 {
        if self.predicted == 0 {
            1.0
        } else {
            self.correct as f64 / self.predicted as f64
        }
    }
    fn add(&mut self, o: &Score) {
        self.gold += o.gold;
        self.found += o.found;
        self.predicted += o.predicted;
        self.correct += o.correct;
    }
}

/// A gold item is found when masks of its kind cover at least 3/4 of its characters (the
/// boundaries may differ by a particle or a 〒); a mask is correct when it overlaps a gold
/// item of its kind.
fn score(cases: &[Case], keep: &KeepList) -> (BTreeMap<MaskKind, Score>, Vec<String>) {
    let mut by_kind: BTreeMap<MaskKind, Score> = BTreeMap::new();
    let mut errors = Vec::new();
    for c in cases {
        let found: Vec<Found> = redactor().find(&c.text, keep);
        for &(kind, s, e) in &c.gold {
            let sc = by_kind.entry(kind).or_default();
            sc.gold += 1;
            let covered = c.text[s..e]
                .char_indices()
                .filter(|(i, _)| {
                    found
                        .iter()
                        .any(|f| f.kind == kind && f.start <= s + i && s + i < f.end)
                })
                .count();
            let total = c.text[s..e].chars().count();
            if covered * 4 >= total * 3 {
                sc.found += 1;
            } else {
                errors.push(format!("missed {kind} {:?} in {}", &c.text[s..e], c.text));
            }
        }
        for f in &found {
            let sc = by_kind.entry(f.kind).or_default();
            sc.predicted += 1;
            if c.gold
                .iter()
                .any(|&(k, s, e)| k == f.kind && f.start < e && s < f.end)
            {
                sc.correct += 1;
            } else {
                errors.push(format!(
                    "wrongly masked {} {:?} in {}",
                    f.kind,
                    &c.text[f.start..f.end],
                    c.text
                ));
            }
        }
    }
    (by_kind, errors)
}

/// Scores a set, prints the table and the mistakes, returns the overall and per-kind scores.
fn report(name: &str) -> (Score, BTreeMap<MaskKind, Score>, usize) {
    let (keep, cases) = load_set(name);
    let (by_kind, errors) = score(&cases, &keep);
    let mut all = Score::default();
    eprintln!("{name}: {} sentences", cases.len());
    for (k, s) in &by_kind {
        eprintln!(
            "{k:<10} gold {:>3} found {:>3}  recall {:.2}  masked {:>3} right {:>3}  precision {:.2}",
            s.gold,
            s.found,
            s.recall(),
            s.predicted,
            s.correct,
            s.precision()
        );
        all.add(s);
    }
    eprintln!(
        "overall    gold {:>3} found {:>3}  recall {:.2}  masked {:>3} right {:>3}  precision {:.2}",
        all.gold,
        all.found,
        all.recall(),
        all.predicted,
        all.correct,
        all.precision()
    );
    for e in &errors {
        eprintln!("  {e}");
    }
    (all, by_kind, cases.len())
}

/// The set the rules were checked and fixed on (generic fixes only; figures before the
/// fixes: recall 0.95, precision 1.00).
#[test]
fn precision_and_recall_on_the_hand_written_set() {
    let (all, by_kind, n) = report("sentences.txt");
    assert!(n >= 60, "{n} sentences");
    let (_, cases) = load_set("sentences.txt");
    let negatives = cases.iter().filter(|c| c.gold.is_empty()).count();
    assert!(
        negatives >= 20,
        "{negatives} sentences without personal data"
    );
    assert!(all.recall() >= 0.9, "overall recall {:.3}", all.recall());
    assert!(
        all.precision() >= 0.85,
        "overall precision {:.3}",
        all.precision()
    );
    // Every kind is found at least most of the time: no kind is left to chance.
    for (k, s) in &by_kind {
        assert!(s.recall() >= 0.75, "{k}: recall {:.2}", s.recall());
        assert!(s.precision() >= 0.75, "{k}: precision {:.2}", s.precision());
    }
}

/// A second set written after the fixes and never tuned against: the honest figures.
#[test]
fn precision_and_recall_on_the_held_out_set() {
    let (all, _, n) = report("heldout.txt");
    assert!(n >= 40, "{n} sentences");
    assert!(all.recall() >= 0.85, "overall recall {:.3}", all.recall());
    assert!(
        all.precision() >= 0.85,
        "overall precision {:.3}",
        all.precision()
    );
}

/// A third set, written after the fixes the held-out set led to and scored once (recall
/// 0.84, precision 1.00); its misses then led to generic fixes (0.96 now), so the fourth set
/// (`blind.txt`) holds the figures to quote.
#[test]
fn precision_and_recall_on_a_set_never_tuned_against() {
    let (all, by_kind, n) = report("fresh.txt");
    assert!(n >= 30, "{n} sentences");
    // Measured when first scored: recall 0.84 (21/25), precision 1.00 (21/21).
    assert!(all.recall() >= 0.9, "overall recall {:.3}", all.recall());
    assert!(
        all.precision() >= 0.9,
        "overall precision {:.3}",
        all.precision()
    );
    for k in [
        MaskKind::Phone,
        MaskKind::Email,
        MaskKind::MyNumber,
        MaskKind::BirthDate,
    ] {
        assert_eq!(by_kind[&k].recall(), 1.0, "{k}");
    }
}

/// A fourth set, written after the fixes the third one led to and scored once, rules
/// unchanged after it: the figures to quote.
#[test]
fn precision_and_recall_on_a_blind_set() {
    let (all, _, n) = report("blind.txt");
    assert!(n >= 30, "{n} sentences");
    // Measured: recall 0.89 (25/28), precision 1.00 (25/25). Missed: さくらちゃん (a hiragana
    // name that is also a word), ハンナさん, ゆうちょ's 記号… 番号1234567.
    assert!(all.recall() >= 0.85, "overall recall {:.3}", all.recall());
    assert!(
        all.precision() >= 0.9,
        "overall precision {:.3}",
        all.precision()
    );
}

#[test]
fn kept_names_and_negatives_stay_and_masks_are_one_mark_each() {
    let mut keep = KeepList::default();
    keep.add("山田 太郎");
    let r = redactor();
    let (t, items) = r.mask("○議長（山田太郎君）　日程第１を議題とします。", &keep);
    assert!(items.is_empty(), "{items:?}");
    assert_eq!(t, "○議長（山田太郎君）　日程第１を議題とします。");
    let (t, items) = r.mask(
        "山田議員の質問に続き、佐藤花子さんの電話０９０－１２３４－５６７８を確認した。",
        &keep,
    );
    assert_eq!(
        t, "山田議員の質問に続き、〇〇さんの電話〇〇を確認した。",
        "{items:?}"
    );
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].0, MaskKind::Name);
    assert_eq!(items[0].1, "佐藤花子");
    assert_eq!(items[0].2, "山田議員の質問に続き、".chars().count());
    assert_eq!(items[1].0, MaskKind::Phone);
    assert_eq!(items[1].1, "０９０－１２３４－５６７８");
}

fn seg(id: usize, start: f64, text: &str, speaker: &str) -> Segment {
    Segment {
        id,
        start,
        end: start + 4.0,
        text: text.into(),
        words: Vec::new(),
        speaker: Some(speaker.into()),
        avg_logprob: 0.0,
        no_speech_prob: 0.0,
        temperature: 0.0,
    }
}

fn consultation() -> (Transcript, MeetingMeta) {
    let segments = vec![
        seg(0, 0.0, "本日はどのようなご相談でしょうか。", "S1"),
        seg(
            1,
            5.0,
            "えーと、母の和子さんのことなんですけど、住所は品川区広町２丁目１番３６号です。",
            "S2",
        ),
        seg(
            2,
            10.0,
            "連絡先は０９０－１２３４－５６７８で、生年月日は昭和１５年４月３日です。",
            "S2",
        ),
        seg(3, 15.0, "わかりました。担当の小林から折り返します。", "S1"),
    ];
    let turns = segments
        .iter()
        .map(|s| Turn {
            speaker: s.speaker.clone().unwrap(),
            start: s.start,
            end: s.end,
        })
        .collect();
    let speakers = ["S1", "S2"]
        .iter()
        .enumerate()
        .map(|(i, id)| Speaker {
            id: id.to_string(),
            label: format!("話者{}", i + 1),
            name: None,
            role: None,
        })
        .collect();
    let t = Transcript {
        schema_version: gijiroku::transcript::SCHEMA_VERSION,
        source: Source {
            file_name: "consult.wav".into(),
            duration: 19.0,
            ..Default::default()
        },
        language: "ja".into(),
        model: ModelInfo::default(),
        created_at: String::new(),
        speech: Vec::new(),
        segments,
        speakers,
        turns,
    };
    let meta: MeetingMeta = toml::from_str(
        r#"
kind = "consultation"
title = "介護に関する相談"
date = "2024-07-03"
place = "福祉課 相談室２"
recording_start = "10:00"
[consultation]
case_id = "2024-0412"
caseworker = "小林 誠"
client = "A氏"
caseworker_speaker = "S1"
client_speaker = "S2"
"#,
    )
    .unwrap();
    (t, meta)
}

#[test]
fn a_redacted_copy_of_a_draft_and_the_review_list() {
    let (t, meta) = consultation();
    let m = minutes::draft(&t, &meta, &MinutesOptions::default()).unwrap();
    let before = m.clone();
    let keep = KeepList::from_meta(&meta, &t);
    let (r, list) = redactor().redact(&m, &keep);
    assert_eq!(m, before, "the original draft must not change");
    let kinds: Vec<MaskKind> = list.iter().map(|x| x.kind).collect();
    for k in [
        MaskKind::Name,
        MaskKind::Address,
        MaskKind::Phone,
        MaskKind::BirthDate,
    ] {
        assert!(kinds.contains(&k), "{k} not masked: {list:?}");
    }
    // Nothing of a masked item is left anywhere in the redacted copy, verbatim text and
    // key points included; the kept caseworker is still there.
    let json = String::from_utf8(minutes::render(&r, Format::Json).unwrap()).unwrap();
    for x in &list {
        assert!(!json.contains(&x.original), "{} left in {json}", x.original);
    }
    assert!(json.contains(MASK));
    assert!(json.contains("小林"), "the caseworker is kept");
    let original_json = String::from_utf8(minutes::render(&m, Format::Json).unwrap()).unwrap();
    assert!(original_json.contains("和子"));
    // Where: the second speech (the client), first paragraph.
    let phone = list.iter().find(|x| x.kind == MaskKind::Phone).unwrap();
    assert_eq!(phone.field, "speech");
    let (Some(item), Some(p)) = (phone.item, phone.paragraph) else {
        panic!("{phone:?}")
    };
    let Item::Speech(s) = &m.items[item] else {
        panic!("item {item} is not a speech")
    };
    assert!(s.paragraphs[p].text.contains(&phone.original));
    assert_eq!(
        phone.location(),
        format!("speech {}, paragraph {}", phone.speech.unwrap() + 1, p + 1)
    );
    // The DOCX of the copy renders (tracked removals would have carried the verbatim words).
    let docx = minutes::docx::render(
        &r,
        &minutes::DocxOptions {
            track_removals: true,
        },
    )
    .unwrap();
    assert!(docx.len() > 1000);
}

#[test]
fn the_minutes_command_writes_a_redacted_copy_and_prints_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let (t, meta) = consultation();
    let tp = dir.path().join("consult.json");
    t.save(&tp).unwrap();
    let mp = dir.path().join("meta.toml");
    std::fs::write(&mp, toml::to_string(&meta).unwrap()).unwrap();
    let data = dir.path().join("data");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gijiroku"))
        .args(["--json", "--data"])
        .arg(&data)
        .args(["minutes"])
        .arg(&tp)
        .arg("--meta")
        .arg(&mp)
        .args(["-f", "md,docx", "--redact"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let masked = v["redacted"]["masked"].as_array().unwrap();
    assert!(masked.iter().any(|x| x["kind"] == "phone"), "{v}");
    let files = v["redacted"]["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    let md =
        std::fs::read_to_string(Path::new(dir.path()).join("consult.minutes.redacted.md")).unwrap();
    let original = std::fs::read_to_string(dir.path().join("consult.minutes.md")).unwrap();
    assert!(original.contains("和子"));
    assert!(!md.contains("和子") && md.contains(MASK), "{md}");
    assert!(dir.path().join("consult.minutes.redacted.docx").is_file());
    // Without --redact nothing redacted is written and the JSON says so.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gijiroku"))
        .args(["--json", "--data"])
        .arg(&data)
        .args(["minutes"])
        .arg(&tp)
        .arg("--meta")
        .arg(&mp)
        .args(["-f", "md"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["redacted"].is_null());
}

/// Published council minutes (shared/eval/minutes, 25 real Shinagawa meetings) hold almost
/// no personal data besides members' and officials' names: what the rules mask there is
/// mostly false alarms. The keep list is only what a clerk's metadata would give (the
/// speakers' names from the headings), so names said in passing still count against us.
#[test]
fn masks_on_published_council_minutes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/eval/minutes/turns.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut keep = KeepList::default();
    let turns: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for t in &turns {
        let sp = t["speaker"].as_str().unwrap_or("");
        // 渡辺議長 → 渡辺; 高橋伸明議員 → 高橋伸明 (headings: name then role).
        let name = sp.trim_end_matches(|c: char| !is_kanji_or_kana_name_end(c));
        keep.add(name);
    }
    let mut counts: BTreeMap<MaskKind, usize> = BTreeMap::new();
    let mut samples: BTreeMap<MaskKind, Vec<String>> = BTreeMap::new();
    for t in &turns {
        let body = t["text"].as_str().unwrap_or("");
        for line in body.lines() {
            for f in redactor().find(line, &keep) {
                *counts.entry(f.kind).or_default() += 1;
                let s = samples.entry(f.kind).or_default();
                if s.len() < 12 {
                    s.push(line[f.start..f.end].to_string());
                }
                if std::env::var_os("REDACT_DUMP").is_some() {
                    let from = line[..f.start]
                        .char_indices()
                        .rev()
                        .nth(8)
                        .map(|x| x.0)
                        .unwrap_or(0);
                    let to = line[f.end..]
                        .char_indices()
                        .nth(8)
                        .map(|x| x.0 + f.end)
                        .unwrap_or(line.len());
                    println!(
                        "DUMP\t{}\t{}\t{}",
                        f.kind,
                        &line[f.start..f.end],
                        &line[from..to]
                    );
                }
            }
        }
    }
    let total: usize = counts.values().sum();
    eprintln!("{} turns: {total} masks {counts:?}", turns.len());
    for (k, s) in &samples {
        eprintln!("  {k}: {s:?}");
    }
    // Measured 2026-12-03: 75 masks. 30 addresses (firms' and facilities' addresses in
    // contracts: addresses by the rules); 45 names, 40 of them real people outside the keep
    // list (contractors' representatives, appointees, 袴田さん...), 5 false: 品川愛 ×2 (love of
    // Shinagawa), 八百屋さん, and a member's name (松永) the headings did not give.
    // Before the generic fixes: 378 masks, 348 of them names (八潮在宅, 源氏前小学校, 羽田).
    assert!(
        (total as f64) < turns.len() as f64 * 0.05,
        "{total} masks in {} turns",
        turns.len()
    );
}

fn is_kanji_or_kana_name_end(c: char) -> bool {
    // Role words to strip from a heading: the usual ones end in these characters.
    !"議長員委区長部課局理事室次監査会副".contains(c)
}
