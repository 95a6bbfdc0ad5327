//! The 要点 of a consultation: the few sentences that carry amounts, dates, decisions and
//! requests, each with the time it was said. Extractive only: sentences are copied as they
//! stand in the draft, never rewritten.

use super::{KeyPoint, Speech};
use regex::Regex;
use std::sync::LazyLock;

struct Cue {
    reason: &'static str,
    weight: f64,
    re: Regex,
}

fn cue(reason: &'static str, weight: f64, pattern: &str) -> Cue {
    Cue {
        reason,
        weight,
        re: Regex::new(pattern).expect("static regex"),
    }
}

static JA_CUES: LazyLock<Vec<Cue>> = LazyLock::new(|| {
    vec![
        cue(
            "amount",
            2.0,
            r"[0-9０-９一二三四五六七八九十百千]+[,，0-9０-９]*\s*(万|千|億)?\s*(円|件|回|人|名|か月|ヶ月|カ月|％|%)",
        ),
        cue(
            "date",
            1.5,
            r"([0-9０-９]+\s*(月|日|時|年度)|[月火水木金土日]曜|来週|来月|明日|明後日|今週|今月中|期限|までに)",
        ),
        cue(
            "decision",
            1.5,
            r"(決定|決め|ことにし|ことになり|合意|承認|了承|申請|手続き|手続を|支給|却下|紹介し|同行し|確認し|しましょう|制度)",
        ),
        cue(
            "request",
            1.0,
            r"(お願い|ほしい|欲しい|希望|依頼|したい|求め|困って|相談したい)",
        ),
    ]
});

static EN_CUES: LazyLock<Vec<Cue>> = LazyLock::new(|| {
    vec![
        cue(
            "amount",
            2.0,
            r"(?i)([$£€¥]\s?\d|\d[\d,.]*\s*(dollars|yen|pounds|euros|percent|%|times|people|months))",
        ),
        cue(
            "date",
            1.5,
            r"(?i)\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|may|june|july|august|september|october|november|december|tomorrow|next week|next month|deadline|by the end)\b",
        ),
        cue(
            "decision",
            1.5,
            r"(?i)\b(decided|agreed|approved|will apply|we will|i will|granted|refused|referred)\b",
        ),
        cue(
            "request",
            1.0,
            r"(?i)\b(please|request|need|would like|want to|asked for|help with)\b",
        ),
    ]
});

/// Splits text into sentences, keeping the end mark.
fn sentences(text: &str, ja: bool) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = 0;
    for (i, c) in text.chars().enumerate() {
        if cur.is_empty() {
            start = i;
        }
        cur.push(c);
        let end = if ja {
            matches!(c, '。' | '？' | '！')
        } else {
            matches!(c, '.' | '?' | '!')
        };
        if end {
            out.push((start, std::mem::take(&mut cur).trim().to_string()));
        }
    }
    if !cur.trim().is_empty() {
        out.push((start, cur.trim().to_string()));
    }
    out
}

/// Picks at most `max` sentences by cue weight, returned in the order they were said.
pub(super) fn extract(
    speeches: &[Speech],
    lang: &str,
    max: usize,
    time_of: &dyn Fn(f64) -> String,
) -> Vec<KeyPoint> {
    let ja = lang == "ja";
    let cues: &[Cue] = if ja { &JA_CUES } else { &EN_CUES };
    let mut scored: Vec<(f64, KeyPoint)> = Vec::new();
    for sp in speeches {
        for p in &sp.paragraphs {
            let n = p.text.chars().count().max(1) as f64;
            for (off, s) in sentences(&p.text, ja) {
                // Very short sentences (はい。/ Yes.) carry no facts on their own.
                if s.chars().count() < if ja { 8 } else { 15 } {
                    continue;
                }
                // Greetings are polite formulas, not requests.
                let probe = s
                    .replace("よろしくお願い", "")
                    .replace("ありがとうございま", "");
                let mut score = 0.0;
                let mut reasons = Vec::new();
                for c in cues {
                    if c.re.is_match(&probe) {
                        score += c.weight;
                        reasons.push(c.reason.to_string());
                    }
                }
                if score <= 0.0 {
                    continue;
                }
                let at = p.start + (off as f64 / n) * (p.end - p.start);
                scored.push((
                    score,
                    KeyPoint {
                        text: s,
                        at,
                        time: time_of(at),
                        speaker: sp.heading.clone(),
                        reasons,
                    },
                ));
            }
        }
    }
    // Highest score first; among equals the earlier sentence.
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.at.total_cmp(&b.1.at)));
    scored.truncate(max);
    let mut points: Vec<KeyPoint> = scored.into_iter().map(|(_, k)| k).collect();
    points.sort_by(|a, b| a.at.total_cmp(&b.at));
    points
}
