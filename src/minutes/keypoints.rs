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

/// A consultation's 要点 is what was decided and what happens next (the caseworker reads
/// it before the next visit); amounts matter less there (they go to 収入・資産・負債), so
/// decisions and plans weigh most and an amount alone least.
static JA_CUES: LazyLock<Vec<Cue>> = LazyLock::new(|| {
    vec![
        cue(
            "amount",
            0.5,
            r"[0-9０-９一二三四五六七八九十百千]+[,，0-9０-９]*\s*(万|千|億)?\s*(円|件|回|人|名|か月|ヶ月|カ月|％|%)",
        ),
        cue(
            "date",
            1.0,
            r"([0-9０-９]+\s*(月|日|時|年度)|[月火水木金土日]曜|来週|来月|明日|明後日|今週|今月中|期限|までに)",
        ),
        cue(
            "plan",
            2.0,
            r"(予定|今後|次回|までに|検討し|していきます|していきましょう|ことにし|しましょう|てください|お願いします|伺います|連絡します)",
        ),
        cue(
            "decision",
            2.5,
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

/// What each field of a consultation record is about: cues on a sentence, who must have said
/// it (None: anybody), and how many sentences at most.
struct FieldCue {
    label: &'static str,
    re: Regex,
    by: Option<&'static str>,
    max: usize,
}

fn field(label: &'static str, by: Option<&'static str>, max: usize, pattern: &str) -> FieldCue {
    FieldCue {
        label,
        re: Regex::new(pattern).expect("static regex"),
        by,
        max,
    }
}

static FIELDS: LazyLock<Vec<FieldCue>> = LazyLock::new(|| {
    vec![
        field(
            "主訴",
            Some("相談者"),
            3,
            r"(困って|困り|払えな|払えそうにな|できなく|足りな|なくなりそう|不安|悩ん|悩み|苦し|相談したい|どうしたら|辞め|失業|解雇|滞納|督促)",
        ),
        field(
            "世帯状況",
            None,
            3,
            r"(世帯|同居|一人暮らし|ひとり暮らし|独り暮らし|単身|家族|妻|夫|子ども|子供|息子|娘|母親|父親|両親|離婚|別居|暮らして|人暮らし)",
        ),
        field(
            "収入・資産・負債",
            None,
            4,
            r"(収入|給料|給与|賃金|年金|手当|貯金|預金|貯蓄|資産|財産|借金|借入|ローン|負債|滞納|家賃|生活費|[0-9０-９一二三四五六七八九十百千万]+\s*円)",
        ),
        field(
            "健康状態",
            None,
            3,
            r"(病院|通院|入院|病気|体調|障害|障がい|診断|薬|痛|うつ|医師|持病|治療|健康|けが|怪我|手術)",
        ),
        field(
            "申請意思の確認",
            None,
            3,
            r"((申請|申し込|申込|手続).*(したい|します|しましょう|希望|検討|されますか|しますか|お願い|考えて))",
        ),
        field(
            "対応",
            Some("相談員"),
            4,
            r"(制度があ|紹介し|ご紹介|案内し|ご案内|説明し|ご説明|連絡し|ご連絡|お渡し|同行|確認しました|お伝えし|ご用意)",
        ),
        field(
            "今後の方針",
            Some("相談員"),
            4,
            r"(検討しましょう|検討します|していきましょう|していきます|予定です|ことにしま|てください|までに|をお願いします|手続きを)",
        ),
        field(
            "次回予定",
            None,
            2,
            r"(次回|また来|またお越し|またお会い|来所|予約|お待ちして|面談|((来週|来月|[0-9０-９]+\s*日|[月火水木金土日]曜).*(来て|来られ|お越し|お持ち|持ってき|伺)))",
        ),
    ]
});

/// The fields of a Japanese consultation record, each with the sentences that fill it, in
/// the order they were said. Extractive: a sentence is copied, never rewritten; a field
/// nothing was said about stays empty (the record prints （記載なし）). Who said it matters
/// for 主訴 (the client), 対応 and 今後の方針 (the caseworker) when the speakers are known;
/// without them any speaker counts. A short answer of the client right after the question of
/// 申請 (はい、お願いしたいです) goes with it.
pub(super) fn record_fields(
    speeches: &[Speech],
    time_of: &dyn Fn(f64) -> String,
) -> Vec<super::RecordField> {
    let roles_known = speeches
        .iter()
        .any(|s| matches!(s.role.as_deref(), Some("相談員" | "相談者")));
    // Every sentence with its speech index, so that an answer can follow its question.
    let mut all: Vec<(usize, KeyPoint)> = Vec::new();
    for (i, sp) in speeches.iter().enumerate() {
        for p in sp.paragraphs.iter().filter(|p| !p.note) {
            let n = p.text.chars().count().max(1) as f64;
            for (off, s) in sentences(&p.text, true) {
                let at = p.start + (off as f64 / n) * (p.end - p.start);
                all.push((
                    i,
                    KeyPoint {
                        text: s,
                        at,
                        time: time_of(at),
                        speaker: sp.heading.clone(),
                        reasons: Vec::new(),
                    },
                ));
            }
        }
    }
    let greeting = |s: &str| {
        let probe = s
            .replace("よろしくお願い", "")
            .replace("ありがとうございま", "");
        probe.chars().count() < 4
    };
    FIELDS
        .iter()
        .map(|f| {
            let mut entries: Vec<KeyPoint> = Vec::new();
            let mut k = 0;
            while k < all.len() && entries.len() < f.max {
                let (i, sentence) = &all[k];
                k += 1;
                let by_ok =
                    !roles_known || f.by.is_none_or(|r| speeches[*i].role.as_deref() == Some(r));
                if !by_ok || greeting(&sentence.text) || !f.re.is_match(&sentence.text) {
                    continue;
                }
                let mut e = sentence.clone();
                e.reasons = vec![f.label.to_string()];
                entries.push(e);
                if f.label == "申請意思の確認" {
                    // The reply: the next speech's first sentence, when another party's.
                    if let Some((j, reply)) = all[k..].iter().find(|(j, _)| j != i) {
                        let short = reply.text.chars().count() <= 20;
                        let answers = ["はい", "お願い", "いいえ", "したい", "考え", "検討"]
                            .iter()
                            .any(|w| {
                                reply.text.starts_with(w) || reply.text.contains("お願いしたい")
                            });
                        if *j == i + 1 && short && answers && !f.re.is_match(&reply.text) {
                            let mut e = reply.clone();
                            e.reasons = vec![f.label.to_string()];
                            entries.push(e);
                        }
                    }
                }
            }
            entries.truncate(f.max);
            super::RecordField {
                label: f.label.to_string(),
                entries,
            }
        })
        .collect()
}
