//! Measures how faithfully drafts follow real minutes: transcripts are rebuilt from the
//! speaker turns of published council minutes (shared/eval/minutes/turns.jsonl), drafted and
//! rendered as council minutes, and their speaker heading lines (`○渡辺議長　ただいまから…`)
//! compared with the published text.
//!
//! What it exercises: speaker naming from name + role, speech boundaries from diarization
//! turns, paragraphs, and that ケバ取り and the width conventions leave already-edited text
//! alone (every removal on published minutes is a false positive).

use super::{MeetingKind, MeetingMeta, MinutesOptions};
use crate::transcript::{ModelInfo, Segment, Source, Speaker, Transcript, Turn};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// One line of turns.jsonl.
#[derive(Debug, Clone, Deserialize)]
pub struct TurnRecord {
    pub meeting_id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub date: String,
    pub speaker: String,
    pub text: String,
}

/// Roles by which speaker labels of the published minutes end, longest first. The part
/// before the role is the name (for officials it also holds the department: 平原防災 + 課長).
const ROLES: &[&str] = &[
    "副委員長",
    "委員長",
    "副議長",
    "議長",
    "委員",
    "議員",
    "副区長",
    "区長",
    "教育長",
    "センター長",
    "事務局長",
    "管理者",
    "担当部長",
    "部長",
    "担当課長",
    "課長",
    "室長",
    "所長",
    "次長",
    "館長",
    "局長",
    "参事",
];

/// Splits `渡辺議長` into (`渡辺`, `議長`); a label without a known role is all name.
pub fn split_label(label: &str) -> (String, Option<String>) {
    for r in ROLES {
        if let Some(name) = label.strip_suffix(r) {
            if !name.is_empty() {
                return (name.to_string(), Some(r.to_string()));
            }
        }
    }
    (label.to_string(), None)
}

/// Reads turns.jsonl grouped by meeting, in file order.
pub fn load_turns(path: &Path) -> anyhow::Result<BTreeMap<String, Vec<TurnRecord>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out: BTreeMap<String, Vec<TurnRecord>> = BTreeMap::new();
    for (n, l) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let r: TurnRecord = serde_json::from_str(l)
            .with_context(|| format!("{} line {}: not a turn record", path.display(), n + 1))?;
        out.entry(r.meeting_id.clone()).or_default().push(r);
    }
    Ok(out)
}

/// A transcript and metadata as diarization and enrolment would give them for a meeting:
/// one segment per published line, speakers with name and role, one diarization turn per
/// published turn. Times: 0.15 s per character, 2 s between lines, 3 s between turns (13 s
/// between two turns of one speaker).
pub fn transcript_from_turns(turns: &[TurnRecord]) -> (Transcript, MeetingMeta) {
    let mut speakers: Vec<Speaker> = Vec::new();
    let mut segments = Vec::new();
    let mut dturns = Vec::new();
    let mut t = 0.0;
    let mut previous: Option<&str> = None;
    for r in turns {
        // The published minutes start a new speech of the same speaker only when something
        // came between (an agenda line, a roll call, a document read out): in a recording that
        // is time, longer than the gap inside one speech (`MinutesOptions::same_speaker_gap`).
        if previous == Some(r.speaker.as_str()) {
            t += 10.0;
        }
        previous = Some(r.speaker.as_str());
        let id = match speakers.iter().find(|s| s.label == r.speaker) {
            Some(s) => s.id.clone(),
            None => {
                let id = format!("S{}", speakers.len() + 1);
                let (name, role) = split_label(&r.speaker);
                speakers.push(Speaker {
                    id: id.clone(),
                    label: r.speaker.clone(),
                    name: Some(name),
                    role,
                });
                id
            }
        };
        let turn_start = t;
        for line in r.text.lines().filter(|l| !l.trim().is_empty()) {
            let dur = 0.15 * line.chars().count() as f64;
            segments.push(Segment {
                id: segments.len(),
                start: t,
                end: t + dur,
                text: line.trim().to_string(),
                words: Vec::new(),
                speaker: Some(id.clone()),
                avg_logprob: 0.0,
                no_speech_prob: 0.0,
                temperature: 0.0,
            });
            t += dur + 2.0;
        }
        dturns.push(Turn {
            speaker: id,
            start: turn_start,
            end: t - 2.0,
        });
        t += 1.0;
    }
    let id = turns
        .first()
        .map(|r| r.meeting_id.clone())
        .unwrap_or_default();
    let transcript = Transcript {
        schema_version: crate::transcript::SCHEMA_VERSION,
        source: Source {
            file_name: format!("{id}.wav"),
            duration: t,
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
    let meta = MeetingMeta {
        kind: if id.contains("honkaigi") {
            MeetingKind::Plenary
        } else {
            MeetingKind::Committee
        },
        title: turns.first().map(|r| r.title.clone()),
        date: turns
            .first()
            .map(|r| r.date.clone())
            .filter(|d| !d.is_empty()),
        ..Default::default()
    };
    (transcript, meta)
}

/// First lines of blank-line-separated blocks that start with ○: the speaker heading lines.
pub fn heading_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut block_start = true;
    for l in text.lines() {
        if l.trim().is_empty() {
            block_start = true;
            continue;
        }
        if block_start && l.starts_with('○') && l.contains('　') {
            out.push(l.to_string());
        }
        block_start = false;
    }
    out
}

/// Result for one meeting.
#[derive(Debug, Clone, Serialize)]
pub struct MeetingFidelity {
    pub meeting_id: String,
    /// Heading lines in the published minutes and in the draft.
    pub reference: usize,
    pub drafted: usize,
    /// Published heading lines reproduced exactly (whole line), in order.
    pub lines_exact: usize,
    /// Published speaker headings (`○渡辺議長`) reproduced exactly, in order.
    pub headings_exact: usize,
    /// Spans ケバ取り removed from the (already edited) published text.
    pub removals: usize,
    /// Each removal in its context: `…前後[removed]前後…`.
    pub removed_examples: Vec<String>,
    /// A few of the published lines that were not reproduced, with the draft's line.
    pub examples: Vec<(String, String)>,
}

/// Longest common subsequence length (sequences of a few hundred lines).
pub(super) fn lcs(a: &[String], b: &[String]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    for x in a {
        let mut cur = vec![0usize; b.len() + 1];
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = if x == y {
                prev[j] + 1
            } else {
                prev[j + 1].max(cur[j])
            };
        }
        prev = cur;
    }
    prev[b.len()]
}

fn prefix(line: &str) -> String {
    line.split('　').next().unwrap_or(line).to_string()
}

/// Drafts and renders one meeting and compares it with its published text.
pub fn measure_meeting(
    turns: &[TurnRecord],
    published: &str,
    options: &MinutesOptions,
) -> anyhow::Result<MeetingFidelity> {
    let (t, meta) = transcript_from_turns(turns);
    let m = super::draft(&t, &meta, options)?;
    let text = String::from_utf8(super::render(&m, super::Format::Text)?)?;
    let ours = heading_lines(&text);
    let refs = heading_lines(published);
    let examples = refs
        .iter()
        .zip(&ours)
        .filter(|(r, o)| r != o)
        .take(3)
        .map(|(r, o)| (r.clone(), o.clone()))
        .collect();
    let mut removed_examples = Vec::new();
    for item in &m.items {
        if let super::Item::Speech(sp) = item {
            for p in &sp.paragraphs {
                let chars: Vec<char> = p.verbatim.chars().collect();
                for r in &p.removals {
                    let a: String = chars[r.removal.start.saturating_sub(8)..r.removal.start]
                        .iter()
                        .collect();
                    let b: String = chars[r.removal.end..(r.removal.end + 8).min(chars.len())]
                        .iter()
                        .collect();
                    removed_examples.push(format!("…{a}[{}]{b}…", r.removal.text));
                }
            }
        }
    }
    let p_refs: Vec<String> = refs.iter().map(|l| prefix(l)).collect();
    let p_ours: Vec<String> = ours.iter().map(|l| prefix(l)).collect();
    Ok(MeetingFidelity {
        meeting_id: turns
            .first()
            .map(|r| r.meeting_id.clone())
            .unwrap_or_default(),
        reference: refs.len(),
        drafted: ours.len(),
        lines_exact: lcs(&refs, &ours),
        headings_exact: lcs(&p_refs, &p_ours),
        removals: m.removed,
        removed_examples,
        examples,
    })
}

/// Measures every meeting of `dir/turns.jsonl` that has its `dir/<id>.txt` (or only `ids`).
pub fn measure(
    dir: &Path,
    ids: Option<&[&str]>,
    options: &MinutesOptions,
) -> anyhow::Result<Vec<MeetingFidelity>> {
    let all = load_turns(&dir.join("turns.jsonl"))?;
    let mut out = Vec::new();
    for (id, turns) in &all {
        if ids.is_some_and(|ids| !ids.contains(&id.as_str())) {
            continue;
        }
        let path = dir.join(format!("{id}.txt"));
        let published = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        out.push(measure_meeting(turns, &published, options)?);
    }
    Ok(out)
}
