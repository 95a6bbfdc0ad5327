//! How many hand edits a clerk makes to a draft: transcripts are rebuilt from the speaker
//! turns of published council minutes (shared/eval/minutes/turns.jsonl) with the noise a
//! recogniser and a diarizer add (fillers, restarts, floor calls as separate short turns of
//! an unknown speaker, pauses, one speech split into several diarization turns), drafted,
//! rendered as text and compared with the published text: character edits per 1,000
//! characters of the published body, and speaker headings merged, missing or extra.
//!
//! The noise is drawn from a fixed seed per meeting, so every run measures the same input.
//! Meetings are split by meeting into a dev half (to build and tune on) and a held-out half.

use super::fidelity::{load_turns, split_label, TurnRecord};
use super::{AgendaItem, MeetingKind, MeetingMeta, MinutesOptions};
use crate::transcript::{ModelInfo, Segment, Source, Speaker, Transcript, Turn};
use anyhow::Context;
use serde::Serialize;
use std::path::Path;

/// Which meetings to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Dev,
    Held,
    All,
}

impl std::str::FromStr for Split {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Split> {
        Ok(match s {
            "dev" => Split::Dev,
            "held" | "held-out" | "heldout" => Split::Held,
            "all" => Split::All,
            o => anyhow::bail!("unknown split {o:?}: use dev, held or all"),
        })
    }
}

/// Meetings in id order alternate dev, held, dev...: both halves mix plenary and committee.
pub fn in_split(index: usize, split: Split) -> bool {
    match split {
        Split::Dev => index.is_multiple_of(2),
        Split::Held => index % 2 == 1,
        Split::All => true,
    }
}

/// splitmix64: a seeded generator written out (a few lines) so that the benchmark's noise
/// stays the same whatever version of a random crate is in the lock file.
struct Rng(u64);

impl Rng {
    fn new(seed: &str) -> Rng {
        // FNV-1a of the meeting id: one stream per meeting, independent of the others.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in seed.bytes() {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
        Rng(h ^ 2026)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn range(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.unit()
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next_u64() % xs.len() as u64) as usize]
    }
}

/// What a line of a published turn is.
#[derive(Debug, PartialEq)]
enum Line<'a> {
    /// Spoken words.
    Said(std::borrow::Cow<'a, str>),
    /// `○午後１時開議`: the clerk's mark from the clock (clock seconds, word).
    Clock(f64, &'a str),
    /// `〔「異議なし」と呼ぶ者あり〕`: somebody on the floor says it.
    FloorCall(&'a str),
    /// `〔…登壇〕`, `〔賛成者起立〕`: a silence while it happens.
    Silence,
    /// Written by the clerk, not said: ○ subject headings, rules and agenda blocks.
    Written,
}

/// `○午後 １時０５分再開` → (13:05 in seconds, 再開).
pub fn parse_mark(line: &str) -> Option<(f64, &str)> {
    let rest = line.strip_prefix('○')?;
    let folded: String = rest
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c => c,
        })
        .collect();
    let (pm, body) = if let Some(b) = folded.strip_prefix("午前") {
        (false, b)
    } else if let Some(b) = folded.strip_prefix("午後") {
        (true, b)
    } else {
        return None;
    };
    let (h, body) = body.split_once('時')?;
    let h: u32 = h.parse().ok()?;
    let (m, word) = match body.split_once('分') {
        Some((m, w)) => (m.parse().ok()?, w),
        None => (0, body),
    };
    let word = ["開会", "開議", "休憩", "再開", "散会", "閉会"]
        .into_iter()
        .find(|w| word == *w)?;
    let h = if pm && h < 12 { h + 12 } else { h };
    Some(((h * 3600 + m * 60) as f64, word))
}

fn classify(text: &str) -> Vec<Line<'_>> {
    let mut out: Vec<Line<'_>> = Vec::new();
    let mut in_block = false;
    // A plenary block printed inside the chair's sentence (次に、── 日程第２ 一般質問 ──
    // を行います。) stands for the words the chair said there: 日程第２、一般質問.
    let mut block: Vec<&str> = Vec::new();
    let mut said_block: Option<String> = None;
    for l in text.lines() {
        let l = l.trim_end();
        if l.trim().is_empty() {
            continue;
        }
        if l.starts_with('─') {
            // A rule opens an agenda block (committee: runs to the end of the turn;
            // plenary: closed by a second rule).
            in_block = !in_block;
            if !in_block && !block.is_empty() {
                said_block = Some(block.join("、"));
            }
            block.clear();
            out.push(Line::Written);
            continue;
        }
        if in_block {
            block.push(l.trim());
            out.push(Line::Written);
            continue;
        }
        if let Some(spoken) = said_block.take() {
            if l.starts_with(['を', 'は', 'に', 'の']) {
                // The words before the block, if the sentence began there, and after it.
                let before = out.iter().rposition(|x| !matches!(x, Line::Written));
                let mut said = String::new();
                if let Some(i) = before {
                    if let Line::Said(p) = &out[i] {
                        if !p.ends_with(['。', '？']) {
                            said.push_str(p);
                            out[i] = Line::Written;
                        }
                    }
                }
                said.push_str(&spoken);
                said.push_str(l);
                out.push(Line::Said(said.into()));
                continue;
            }
        }
        if let Some((c, w)) = parse_mark(l) {
            out.push(Line::Clock(c, w));
        } else if l.starts_with('○') {
            out.push(Line::Written);
        } else if let Some(inner) = l.strip_prefix('〔').and_then(|r| r.strip_suffix('〕')) {
            match inner
                .strip_prefix('「')
                .and_then(|r| r.split_once("」と呼ぶ者あり"))
            {
                Some((said, _)) => out.push(Line::FloorCall(said)),
                None => out.push(Line::Silence),
            }
        } else {
            out.push(Line::Said(l.into()));
        }
    }
    out
}

/// Agenda items as the clerk has them before the meeting (議事日程 / 審査・調査予定表): the
/// blocks between rules of the published text, with the lines printed under each title
/// (`(1) 企画経営部`; a plenary title's continuation lines) as its `items`.
fn agenda_of(published: &str, kind: MeetingKind) -> Vec<AgendaItem> {
    let mut out: Vec<AgendaItem> = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    let mut in_block = false;
    let mut flush = |block: &mut Vec<&str>| {
        // Lines under an item of this block go to it; lines before any item are dropped.
        let mut current: Option<usize> = None;
        let mut i = 0;
        while i < block.len() {
            let l = block[i].trim();
            // The chair's words printed inside a committee block (the speech goes on after
            // it without a heading) are spoken, not printed: the block ends there.
            if l.ends_with(['。', '？']) {
                break;
            }
            if kind == MeetingKind::Plenary {
                // 追加日程第１: items added on the day (the clerk hands out 追加議事日程).
                if (l.starts_with("日程第") || l.starts_with("追加日程第")) && i + 1 < block.len()
                {
                    out.push(AgendaItem {
                        number: Some(l.to_string()),
                        title: block[i + 1].trim().to_string(),
                        at: None,
                        items: Vec::new(),
                    });
                    current = Some(out.len() - 1);
                    i += 2;
                    continue;
                }
            } else if let Some((n, t)) = l.split_once(' ').filter(|(n, _)| {
                // A block opens with its item (`２ 事務事業概要`, or a sub-item taken up
                // alone: `(2) 子ども未来部`); a numbered item further down (`３ 報告事項`)
                // is another item taken up with it.
                i == 0
                    || n.chars()
                        .all(|c| c.is_ascii_digit() || ('０'..='９').contains(&c))
            }) {
                out.push(AgendaItem {
                    number: Some(n.to_string()),
                    title: t.trim().to_string(),
                    at: None,
                    items: Vec::new(),
                });
                current = Some(out.len() - 1);
                i += 1;
                continue;
            }
            if let Some(c) = current {
                out[c].items.push(l.to_string());
            }
            i += 1;
        }
        block.clear();
    };
    for l in published.lines() {
        // A block opening the chair's speech prints its first rule after the heading:
        // `○渡辺議長　────`.
        let l = match l.split_once('　') {
            Some((h, rest)) if h.starts_with('○') && rest.starts_with('─') => rest,
            _ => l,
        };
        if l.starts_with('─') {
            if in_block {
                flush(&mut block);
            }
            in_block = kind != MeetingKind::Plenary || !in_block;
            continue;
        }
        if in_block {
            if l.trim().is_empty() || l.starts_with('○') {
                flush(&mut block);
                in_block = false;
            } else {
                block.push(l);
            }
        }
    }
    flush(&mut block);
    out
}

const FILLERS: &[&str] = &["えー", "あの", "まあ", "えーと", "あのー", "えー"];

fn is_kanji(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c) || c == '々'
}

/// A sentence as a recogniser would give it: fillers, a restart.
fn noisy_sentence(s: &str, rng: &mut Rng) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    if rng.chance(0.25) {
        out.push_str(rng.pick(FILLERS));
        // Half the fillers come without a comma: 「あの本件」.
        if rng.chance(0.5) {
            out.push('、');
        }
    }
    // A restart before one word of two or more kanji: 「予定、予定表」.
    let restart_at = if rng.chance(0.12) {
        let starts: Vec<usize> = (0..chars.len().saturating_sub(1))
            .filter(|&i| {
                is_kanji(chars[i]) && is_kanji(chars[i + 1]) && (i == 0 || !is_kanji(chars[i - 1]))
            })
            .collect();
        (!starts.is_empty()).then(|| starts[(rng.next_u64() % starts.len() as u64) as usize])
    } else {
        None
    };
    for (i, &c) in chars.iter().enumerate() {
        if Some(i) == restart_at {
            let run = chars[i..].iter().take_while(|c| is_kanji(**c)).count();
            let k = if run > 2 && rng.chance(0.5) {
                run - 1
            } else {
                1
            };
            out.extend(&chars[i..i + k]);
            out.push('、');
        }
        out.push(c);
        if c == '、' && i + 1 < chars.len() && rng.chance(0.12) {
            out.push_str(rng.pick(FILLERS));
            if rng.chance(0.5) {
                out.push('、');
            }
        }
    }
    out
}

/// Sentences of a line (each ends with its 。 when it has one).
fn sentences(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in line.chars() {
        cur.push(c);
        if c == '。' || c == '？' {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// Speaking rate of the synthetic recording (characters per second).
const CHARS_PER_SECOND: f64 = 7.5;

/// A noisy transcript, the meeting metadata the clerk would have, and the published body.
pub fn noisy_meeting(turns: &[TurnRecord], published: &str) -> (Transcript, MeetingMeta) {
    let id = turns
        .first()
        .map(|r| r.meeting_id.clone())
        .unwrap_or_default();
    let kind = if id.contains("honkaigi") {
        MeetingKind::Plenary
    } else {
        MeetingKind::Committee
    };
    let mut rng = Rng::new(&id);
    let mut speakers: Vec<Speaker> = Vec::new();
    let mut segments: Vec<Segment> = Vec::new();
    let mut dturns: Vec<Turn> = Vec::new();
    let mut t = 0.0f64;
    let mut first_clock: Option<f64> = None;
    let mut recess_at: Option<(f64, f64)> = None;
    let mut floor_id: Option<String> = None;
    let push_seg = |segments: &mut Vec<Segment>, start: f64, text: String, sp: &str| {
        let dur = text.chars().count() as f64 / CHARS_PER_SECOND;
        segments.push(Segment {
            id: segments.len(),
            start,
            end: start + dur,
            text,
            words: Vec::new(),
            speaker: Some(sp.to_string()),
            avg_logprob: -0.2,
            no_speech_prob: 0.01,
            temperature: 0.0,
        });
        start + dur
    };
    for r in turns {
        let sid = match speakers.iter().find(|s| s.label == r.speaker) {
            Some(s) => s.id.clone(),
            None => {
                let sid = format!("S{}", speakers.len() + 1);
                let (name, role) = split_label(&r.speaker);
                speakers.push(Speaker {
                    id: sid.clone(),
                    label: r.speaker.clone(),
                    name: Some(name),
                    role,
                });
                sid
            }
        };
        t += rng.range(0.5, 2.0);
        let mut turn_start: Option<f64> = None;
        let close_turn = |dturns: &mut Vec<Turn>, ts: &mut Option<f64>, end: f64, sp: &str| {
            if let Some(s) = ts.take() {
                dturns.push(Turn {
                    speaker: sp.to_string(),
                    start: s,
                    end,
                });
            }
        };
        let mut last_end = t;
        for line in classify(&r.text) {
            match line {
                Line::Said(text) => {
                    // The diarizer often cuts one speech at a pause into several turns.
                    if turn_start.is_some() && rng.chance(0.35) {
                        close_turn(&mut dturns, &mut turn_start, last_end, &sid);
                    }
                    for (k, s) in sentences(&text).into_iter().enumerate() {
                        // Pauses between the clerk's paragraphs are longer than inside them.
                        t += if k == 0 {
                            rng.range(0.9, 2.5)
                        } else {
                            rng.range(0.2, 0.9)
                        };
                        turn_start.get_or_insert(t);
                        t = push_seg(&mut segments, t, noisy_sentence(&s, &mut rng), &sid);
                        last_end = t;
                    }
                }
                Line::Clock(c, w) => {
                    if first_clock.is_none() {
                        first_clock = Some(c - t);
                    } else if w == "休憩" {
                        recess_at = Some((c, t));
                    } else if let Some((rc, rt)) = recess_at.take() {
                        // The recording runs through the recess: as long as the marks say.
                        t = t.max(rt + (c - rc).max(0.0));
                    }
                }
                Line::FloorCall(said) => {
                    close_turn(&mut dturns, &mut turn_start, last_end, &sid);
                    let fid = floor_id
                        .get_or_insert_with(|| {
                            let fid = format!("S{}", speakers.len() + 1);
                            speakers.push(Speaker {
                                id: fid.clone(),
                                label: format!("話者{}", speakers.len() + 1),
                                name: None,
                                role: None,
                            });
                            fid
                        })
                        .clone();
                    t += rng.range(0.3, 1.0);
                    let s = t;
                    t = push_seg(&mut segments, t, said.to_string(), &fid);
                    dturns.push(Turn {
                        speaker: fid,
                        start: s,
                        end: t,
                    });
                    last_end = t;
                }
                Line::Silence => {
                    close_turn(&mut dturns, &mut turn_start, last_end, &sid);
                    t += rng.range(10.0, 25.0);
                }
                Line::Written => {}
            }
        }
        close_turn(&mut dturns, &mut turn_start, last_end, &sid);
    }
    let transcript = Transcript {
        schema_version: crate::transcript::SCHEMA_VERSION,
        source: Source {
            file_name: format!("{id}.wav"),
            duration: t + 5.0,
            ..Default::default()
        },
        language: "ja".into(),
        model: ModelInfo::default(),
        created_at: String::new(),
        speech: Vec::new(),
        segments,
        speakers,
        turns: dturns,
    };
    let mut meta = MeetingMeta {
        kind,
        title: turns.first().map(|r| r.title.clone()),
        date: turns
            .first()
            .map(|r| r.date.clone())
            .filter(|d| !d.is_empty()),
        recording_start: first_clock.map(|c| crate::util::hms(c.max(0.0))),
        agenda: agenda_of(published, kind),
        ..Default::default()
    };
    // The chair and the signing members (named by the chair at the opening), as the clerk
    // has them: the published signature block after the last rule (議 長 … / 署名人 … / 同 …).
    let tail: Vec<&str> = published
        .lines()
        .rev()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take_while(|l| !l.starts_with('─'))
        .collect();
    for l in tail.into_iter().rev() {
        let squashed: String = l.chars().filter(|c| !c.is_whitespace()).collect();
        let name = |label: &str| {
            let mut rest = l;
            for c in label.chars() {
                rest = rest.trim_start().strip_prefix(c)?;
            }
            Some(rest.trim().to_string()).filter(|n| !n.is_empty())
        };
        if squashed.starts_with("議長") || squashed.starts_with("委員長") {
            meta.chair = name(if squashed.starts_with("議長") {
                "議長"
            } else {
                "委員長"
            });
        } else if let Some(n) = name("署名人").or_else(|| name("同")) {
            meta.signers.push(n);
        }
    }
    // The rule of this council's minutes, as its clerk configures once.
    if let Some(rule) = published.lines().find(|l| l.starts_with('─')) {
        meta.conventions.rule = rule.trim_end().to_string();
    }
    (transcript, meta)
}

/// The published body: without the `#` header lines, blank-line runs squeezed.
pub fn published_body(text: &str) -> String {
    squeeze(text.lines().filter(|l| !l.starts_with('#')))
}

fn squeeze<'a>(lines: impl Iterator<Item = &'a str>) -> String {
    let mut out: Vec<&str> = Vec::new();
    for l in lines {
        let l = l.trim_end();
        if l.is_empty() && out.last().is_none_or(|p| p.is_empty()) {
            continue;
        }
        out.push(l);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n")
}

/// The body of a rendered text draft: what follows the rule that closes the header.
pub fn draft_body(text: &str, rule: &str) -> String {
    let mut lines = text.lines();
    let mut rest: Vec<&str> = Vec::new();
    let mut found = false;
    for l in lines.by_ref() {
        if l.trim_end() == rule.trim_end() {
            found = true;
            break;
        }
    }
    if found {
        rest.extend(lines);
    } else {
        rest.extend(text.lines());
    }
    squeeze(rest.into_iter())
}

/// Character edits (insertions, deletions, substitutions) turning `a` into `b`: a line diff,
/// then a character diff inside each changed run, where a run costs max(deleted, inserted).
pub fn char_edits(a: &str, b: &str) -> usize {
    edit_runs(a, b).iter().map(|r| r.cost).sum()
}

/// A changed run of the diff: the published text, the draft's, and its character edits.
#[derive(Debug, Clone)]
pub struct EditRun {
    pub published: String,
    pub draft: String,
    pub cost: usize,
}

/// The changed runs turning `a` into `b` (see [`char_edits`]).
pub fn edit_runs(a: &str, b: &str) -> Vec<EditRun> {
    use similar::{capture_diff_slices, Algorithm, DiffOp};
    // Sentences rather than lines: a line with one filler left in still matches on its
    // other sentences, so the changed runs stay short.
    let la = pieces(a);
    let lb = pieces(b);
    let ops = capture_diff_slices(Algorithm::Patience, &la, &lb);
    let mut runs = Vec::new();
    let mut old: Vec<&str> = Vec::new();
    let mut new: Vec<&str> = Vec::new();
    let mut flush = |old: &mut Vec<&str>, new: &mut Vec<&str>| {
        if old.is_empty() && new.is_empty() {
            return;
        }
        let (pa, pb) = (old.concat(), new.concat());
        old.clear();
        new.clear();
        let cost = text_distance(&pa, &pb);
        runs.push(EditRun {
            published: pa,
            draft: pb,
            cost,
        });
    };
    for op in ops {
        match op {
            DiffOp::Equal { .. } => flush(&mut old, &mut new),
            DiffOp::Delete {
                old_index, old_len, ..
            } => old.extend(&la[old_index..old_index + old_len]),
            DiffOp::Insert {
                new_index, new_len, ..
            } => new.extend(&lb[new_index..new_index + new_len]),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                old.extend(&la[old_index..old_index + old_len]);
                new.extend(&lb[new_index..new_index + new_len]);
            }
        }
    }
    flush(&mut old, &mut new);
    runs
}

/// Edit distance of two texts; over 25 M cells, the runs of a character diff, each costing
/// max(deleted, inserted), an upper bound of it.
fn text_distance(a: &str, b: &str) -> usize {
    use similar::{capture_diff_slices, Algorithm, DiffOp};
    let ca: Vec<char> = a.chars().collect();
    let cb: Vec<char> = b.chars().collect();
    if ca.len() * cb.len() <= 25_000_000 {
        return levenshtein(&ca, &cb);
    }
    let (mut d, mut i, mut n) = (0, 0, 0);
    for op in capture_diff_slices(Algorithm::Myers, &ca, &cb) {
        match op {
            DiffOp::Equal { .. } => {
                n += d.max(i);
                d = 0;
                i = 0;
            }
            DiffOp::Delete { old_len, .. } => d += old_len,
            DiffOp::Insert { new_len, .. } => i += new_len,
            DiffOp::Replace {
                old_len, new_len, ..
            } => {
                d += old_len;
                i += new_len;
            }
        }
    }
    n + d.max(i)
}

/// What the edits of the benchmark are about, in the order they are taken out of a run.
pub const EDIT_CLASSES: [&str; 7] = [
    "subject lines",
    "time marks",
    "agenda blocks",
    "stage notes",
    "headings",
    "line breaks",
    "words",
];

/// The edits of a run shared out by class: each class's part of the text (the clerk's ○
/// subject lines, ○午後… time marks, rules and the lines between them, 〔…〕 notes, ○
/// speaker headings, line breaks) is taken out of both sides in turn, and the class is
/// charged what that saved; what remains is "words". A diagnosis, not an exact attribution.
pub fn classify_run(run: &EditRun) -> [i64; 7] {
    fn strip(text: &str, class: usize) -> String {
        let mut out = String::new();
        let mut in_block = false;
        for line in text.split_inclusive('\n') {
            let l = line.trim_end_matches('\n');
            let keep: Option<String> = match class {
                0 => (!(l.starts_with('○') && !l.contains('　') && parse_mark(l).is_none()))
                    .then(|| line.to_string()),
                1 => {
                    if parse_mark(l).is_some() {
                        None
                    } else if let Some((h, rest)) = l.split_once('　') {
                        if h.starts_with('○') && parse_mark(rest).is_some() {
                            Some(format!(
                                "{h}　{}",
                                &line[h.len() + '　'.len_utf8() + rest.len()..]
                            ))
                        } else {
                            Some(line.to_string())
                        }
                    } else {
                        Some(line.to_string())
                    }
                }
                2 => {
                    let body = l.split_once('　').map(|(_, r)| r).unwrap_or(l);
                    if body.starts_with('─') {
                        in_block = !in_block;
                        None
                    } else if in_block {
                        None
                    } else {
                        Some(line.to_string())
                    }
                }
                3 => (!(l.starts_with('〔') && l.ends_with('〕'))).then(|| line.to_string()),
                4 => Some(match l.split_once('　') {
                    Some((h, _)) if h.starts_with('○') => {
                        line[h.len() + '　'.len_utf8()..].to_string()
                    }
                    _ => line.to_string(),
                }),
                _ => Some(line.replace('\n', "")),
            };
            if let Some(k) = keep {
                out.push_str(&k);
            }
        }
        out
    }
    let mut out = [0i64; 7];
    let (mut a, mut b) = (run.published.clone(), run.draft.clone());
    let mut cost = run.cost as i64;
    for (class, slot) in out.iter_mut().enumerate().take(6) {
        let (na, nb) = (strip(&a, class), strip(&b, class));
        let c = text_distance(&na, &nb) as i64;
        *slot = cost - c;
        (a, b, cost) = (na, nb, c);
    }
    out[6] = cost;
    out
}

/// Text cut after each 。 and line break (each piece keeps its delimiter).
fn pieces(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if c == '。' || c == '\n' {
            // Line breaks stay with the piece before them: a blank line alone would match
            // every other blank line and pull the alignment apart.
            let mut end = i + c.len_utf8();
            while let Some(&(j, '\n')) = it.peek() {
                end = j + 1;
                it.next();
            }
            out.push(&text[start..end]);
            start = end;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Edit distance (insertions, deletions, substitutions of one character each).
fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    for (i, x) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(x != y))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Speaker headings (`○渡辺議長`) of the blocks of a body, in order.
pub fn headings(body: &str) -> Vec<String> {
    super::fidelity::heading_lines(body)
        .iter()
        .map(|l| l.split('　').next().unwrap_or(l).to_string())
        .collect()
}

/// Result for one meeting.
#[derive(Debug, Clone, Serialize)]
pub struct MeetingEdits {
    pub meeting_id: String,
    /// Characters of the published body.
    pub chars: usize,
    pub edits: usize,
    /// Speaker headings of the published body, and how many the draft lacks (merged into
    /// another speech or missing) or adds (a speech cut in two, an invented heading).
    pub headings: usize,
    pub headings_missing: usize,
    pub headings_extra: usize,
    /// Edits by class ([`EDIT_CLASSES`], see [`classify_run`]).
    pub by_class: std::collections::BTreeMap<String, i64>,
}

impl MeetingEdits {
    pub fn per_1000(&self) -> f64 {
        1000.0 * self.edits as f64 / self.chars.max(1) as f64
    }
}

/// Drafts one meeting from its noisy transcript and counts the edits to the published text.
/// Also returns the two bodies, for looking at the differences.
pub fn measure_meeting(
    turns: &[TurnRecord],
    published: &str,
    options: &MinutesOptions,
) -> anyhow::Result<(MeetingEdits, String, String)> {
    measure_meeting_styled(turns, published, options, None)
}

/// [`measure_meeting`] with a council's style file set over every meeting's conventions
/// (the same file for all meetings, as a clerk sets it once).
pub fn measure_meeting_styled(
    turns: &[TurnRecord],
    published: &str,
    options: &MinutesOptions,
    style: Option<&super::Style>,
) -> anyhow::Result<(MeetingEdits, String, String)> {
    measure_meeting_in_council(turns, published, options, style, &[])
}

/// The council's members as a clerk lists them (full names, role 議員): every speaker the
/// minutes of `all` head as `○{full name}議員`. Stage notes name members by full name
/// (〔塚本よしひろ議員登壇〕) even when their heading is a committee chair's (○塚本建設委員長).
/// Built from the headings only, never from the notes the benchmark scores.
pub fn council_roster(
    all: &std::collections::BTreeMap<String, Vec<TurnRecord>>,
) -> Vec<super::Attendee> {
    let mut names: Vec<String> = all
        .values()
        .flatten()
        .filter_map(|r| match split_label(&r.speaker) {
            (name, Some(role)) if role == "議員" && !name.is_empty() => Some(name),
            _ => None,
        })
        .collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| super::Attendee {
            name,
            role: Some("議員".into()),
            ..Default::default()
        })
        .collect()
}

/// [`measure_meeting_styled`] with the council's member list (see [`council_roster`]) in the
/// metadata, as the clerk keeps it.
pub fn measure_meeting_in_council(
    turns: &[TurnRecord],
    published: &str,
    options: &MinutesOptions,
    style: Option<&super::Style>,
    roster: &[super::Attendee],
) -> anyhow::Result<(MeetingEdits, String, String)> {
    let (t, mut meta) = noisy_meeting(turns, published);
    meta.attendees = roster.to_vec();
    if let Some(style) = style {
        meta.apply_style(style)?;
    }
    let m = super::draft(&t, &meta, options)?;
    let text = String::from_utf8(super::render(&m, super::Format::Text)?)?;
    let ours = draft_body(&text, &meta.conventions.rule);
    let refs = published_body(published);
    let (hr, ho) = (headings(&refs), headings(&ours));
    let common = super::fidelity::lcs(&hr, &ho);
    let runs = edit_runs(&refs, &ours);
    let mut by_class = std::collections::BTreeMap::new();
    for r in &runs {
        for (c, n) in EDIT_CLASSES.iter().zip(classify_run(r)) {
            *by_class.entry(c.to_string()).or_insert(0) += n;
        }
    }
    let e = MeetingEdits {
        meeting_id: t.source.file_name.trim_end_matches(".wav").to_string(),
        chars: refs.chars().count(),
        edits: runs.iter().map(|r| r.cost).sum(),
        by_class,
        headings: hr.len(),
        headings_missing: hr.len() - common,
        headings_extra: ho.len() - common,
    };
    Ok((e, refs, ours))
}

/// Measures the meetings of `split` in `dir` (turns.jsonl and one `<id>.txt` per meeting).
pub fn measure(
    dir: &Path,
    split: Split,
    options: &MinutesOptions,
    style: Option<&super::Style>,
) -> anyhow::Result<Vec<MeetingEdits>> {
    let all = load_turns(&dir.join("turns.jsonl"))?;
    let roster = council_roster(&all);
    let mut out = Vec::new();
    for (i, (id, turns)) in all.iter().enumerate() {
        if !in_split(i, split) {
            continue;
        }
        let path = dir.join(format!("{id}.txt"));
        let published = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        out.push(measure_meeting_in_council(turns, &published, options, style, &roster)?.0);
    }
    if out.is_empty() {
        anyhow::bail!("no meeting of {} in this split", dir.display());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_parse() {
        assert_eq!(parse_mark("○午後１時開議"), Some((13.0 * 3600.0, "開議")));
        assert_eq!(
            parse_mark("○午後 １時０５分再開"),
            Some((13.0 * 3600.0 + 300.0, "再開"))
        );
        assert_eq!(parse_mark("○会議録署名人選定について"), None);
    }

    #[test]
    fn edits_count_characters() {
        assert_eq!(char_edits("abc\ndef", "abc\ndef"), 0);
        assert_eq!(char_edits("abc\ndef", "abc\ndxf"), 1);
        assert_eq!(char_edits("abc\ndef", "abc\ndef\ngh"), 3);
        assert_eq!(char_edits("えーこれは", "これは"), 2);
    }
}
