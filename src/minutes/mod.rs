//! Minutes drafts: council 会議録 (plenary and committee), consultation 相談記録 and generic
//! meeting minutes, drafted from the canonical transcript plus meeting metadata, and rendered
//! to DOCX, Markdown, plain text, HTML and JSON.
//!
//! Owns: speaker headings, time marks (開会/休憩/散会) from the recording's clock, agenda
//! markers, attendance and signature sections, ケバ取り ([`kebatori`]) and writing conventions
//! ([`style`]), the extractive 要点 of consultations, the default templates (templates/).
//! Must not: change the transcript (the verbatim text and every removal are kept in the
//! [`Minutes`] so an editor can restore them), read audio, or open a network connection.
//!
//! ```no_run
//! use gijiroku::minutes::{self, Format, MeetingMeta, MinutesOptions};
//! let t = gijiroku::Transcript::load("meeting.json".as_ref())?;
//! let meta = MeetingMeta::load("meeting.toml".as_ref())?;
//! let m = minutes::draft(&t, &meta, &MinutesOptions::default())?;
//! std::fs::write("meeting.minutes.docx", minutes::render(&m, Format::Docx)?)?;
//! # anyhow::Ok(())
//! ```

pub mod docx;
pub mod editbench;
pub mod fidelity;
pub mod kebatori;
mod keypoints;
pub mod meta;
pub mod redact;
mod render;
pub mod restarts;
pub mod style;
pub mod terms;

pub use docx::DocxOptions;
pub use kebatori::{Removal, RemovalKind};
pub use meta::{
    AgendaItem, Attendee, ConsultationMeta, Conventions, MeetingKind, MeetingMeta, Style,
    SubjectLine,
};
pub use redact::{KeepList, MaskKind, Masked, Redactor};
pub use render::{default_template, render, render_template, Format};

use crate::transcript::{Segment, Transcript};
use serde::{Deserialize, Serialize};
use style::Digits;

/// Options of a draft that are not about the meeting.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MinutesOptions {
    /// Keep fillers and repetitions (no ケバ取り).
    pub verbatim: bool,
    /// Most sentences in the 要点 of a consultation.
    pub max_key_points: usize,
    /// A silence at least this long (seconds) inside a speech starts a new paragraph.
    pub paragraph_gap: f64,
    /// Japanese: a sentence opening with 次に、/ 以上 / 最後に、… ([`JA_PARAGRAPH_CUES`]) starts a
    /// new paragraph, as published minutes print it, even when no pause came before it.
    pub paragraph_cues: bool,
    /// Without diarization, a silence at least this long starts a new (unattributed) speech,
    /// so the clerk gets a heading to attribute at each likely change of speaker.
    pub unknown_speaker_gap: f64,
    /// Two diarization turns of one speaker less than this apart (seconds) are one speech:
    /// minutes repeat a heading only when something came between (another speaker, a floor
    /// call, a long silence such as a vote by standing).
    pub same_speaker_gap: f64,
    /// Council minutes: a silence at least this long (seconds, shorter than a recess) before
    /// a speech gets a stage note for the clerk to check: 〔…登壇〕 before a new speaker in
    /// plenary sessions, 〔賛成者起立〕 / 〔賛成者挙手〕 after the chair asked for it.
    pub stage_note_gap: f64,
    /// Council minutes: an utterance of an unidentified speaker of at most this many
    /// characters (「異議なし」「なし」) is a call from the floor, written
    /// 〔「異議なし」と呼ぶ者あり〕 at the end of the speech before it. 0 turns this off.
    pub floor_call_chars: usize,
    /// 誤 → 正 pairs of a terms file (`--terms`), applied with the metadata's `[terms]`,
    /// the members' names and the built-in forms (see [`terms`]).
    pub terms: std::collections::BTreeMap<String, String>,
    /// Apply the built-in terms and the names (the explicit pairs always apply).
    pub builtin_terms: bool,
    /// ケバ取り of compound words broken off and said again (国民健康保、国民健康保険); needs
    /// the IPADIC dictionary of a data folder ([`restarts::CompoundRestarts::shared`]).
    #[serde(skip)]
    pub restarts: Option<std::sync::Arc<restarts::CompoundRestarts>>,
}

impl MinutesOptions {
    /// These options with the compound restarts of the data folder `data`'s dictionary (left
    /// out, with a warning, when the dictionary cannot be had).
    pub fn with_dictionary(mut self, data: &std::path::Path) -> Self {
        self.restarts = restarts::CompoundRestarts::shared(data);
        self
    }
}

impl Default for MinutesOptions {
    fn default() -> Self {
        MinutesOptions {
            verbatim: false,
            max_key_points: 6,
            paragraph_gap: 1.5,
            paragraph_cues: true,
            unknown_speaker_gap: 2.0,
            same_speaker_gap: 8.0,
            stage_note_gap: 8.0,
            floor_call_chars: 8,
            terms: Default::default(),
            builtin_terms: true,
            restarts: None,
        }
    }
}

/// A label and its value in a header or signature block.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Field {
    pub label: String,
    pub value: String,
}

/// One attendance list (出席議員, 出席説明員, 欠席議員...).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AttendanceGroup {
    pub label: String,
    pub names: Vec<String>,
}

/// A paragraph of a speech: the clean text, the verbatim text and what was removed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Paragraph {
    pub text: String,
    pub verbatim: String,
    /// Removed spans, as char offsets into `verbatim`; `at` is their time in the recording.
    pub removals: Vec<TimedRemoval>,
    pub start: f64,
    pub end: f64,
    /// Ids of the transcript segments this paragraph was made from.
    pub segments: Vec<usize>,
    /// A stage note the draft wrote (〔「異議なし」と呼ぶ者あり〕, 〔…登壇〕), not words of
    /// the speaker; `segments` holds what it was made from (a floor call), if anything.
    #[serde(default)]
    pub note: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TimedRemoval {
    #[serde(flatten)]
    pub removal: Removal,
    pub at: f64,
}

/// A speech (発言): one speaker's turn.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Speech {
    /// The heading as printed: `○渡辺議長`, `○（発言者未確認）`, `相談員`.
    pub heading: String,
    /// Transcript speaker id, when diarization ran.
    pub speaker: Option<String>,
    pub name: Option<String>,
    pub role: Option<String>,
    /// False when the clerk must still say who spoke.
    pub identified: bool,
    pub start: f64,
    pub end: f64,
    /// Time to print: clock time `10:03:12` when the recording's start is known, else the
    /// time into the recording `00:03:12`.
    pub time: String,
    pub paragraphs: Vec<Paragraph>,
    /// The speech goes on from the item before it (an agenda block or a time mark printed
    /// inside the speaker's speech): printed without a heading.
    #[serde(default)]
    pub continued: bool,
}

/// What the body of the minutes holds, in order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Item {
    /// `○午後１時開会`.
    TimeMark {
        text: String,
        at: f64,
        /// The heading of the speech the mark opens, printed before it on its line
        /// (`○渡辺議長　○午後１時開会`); the speech after it is `continued`.
        #[serde(default)]
        heading: Option<String>,
    },
    /// An agenda item taken up (日程第１ 会期の決定について).
    Agenda {
        number: String,
        title: String,
        at: f64,
        /// The heading of the speech the block opens (`○渡辺議長　────`: the chair's first
        /// words were the item's number and title); the speech after it is `continued`.
        #[serde(default)]
        heading: Option<String>,
        /// Lines printed under the title (the metadata's `items`: `(1) 企画経営部`); always
        /// written, so a template can loop over it under minijinja's strict undefined.
        #[serde(default)]
        items: Vec<String>,
    },
    Speech(Speech),
}

/// A sentence of the 要点, with where it was said.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeyPoint {
    pub text: String,
    pub at: f64,
    pub time: String,
    pub speaker: String,
    /// What made it a key point: amount, date, decision, request.
    pub reasons: Vec<String>,
}

/// A field of a consultation record (主訴, 世帯状況...): the sentences said about it, as
/// they stand in the draft, or none: printed 「（記載なし）」 for the caseworker to fill,
/// never guessed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RecordField {
    pub label: String,
    pub entries: Vec<KeyPoint>,
}

/// Where the minutes came from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SourceRef {
    pub file_name: String,
    pub sha256: String,
    pub duration: f64,
    pub model: String,
}

/// A draft of the minutes: everything a template needs, and the JSON export itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Minutes {
    pub kind: MeetingKind,
    pub language: String,
    pub title: String,
    pub subtitle: Option<String>,
    pub header: Vec<Field>,
    pub attendance: Vec<AttendanceGroup>,
    /// The agenda as listed in the header (議事日程).
    pub agenda: Vec<Field>,
    pub items: Vec<Item>,
    pub key_points: Vec<KeyPoint>,
    /// Sections printed empty for the caseworker to complete (English consultations:
    /// Action taken, Next steps; Japanese ones have `fields`).
    pub open_sections: Vec<String>,
    /// Japanese consultation records: 主訴, 世帯状況, 収入・資産・負債, 健康状態,
    /// 申請意思の確認, 対応, 今後の方針, 次回予定, filled from what was said.
    #[serde(default)]
    pub fields: Vec<RecordField>,
    /// Words the terms dictionary corrected (配布→配付, a member's name...).
    #[serde(default)]
    pub corrected: usize,
    /// Signature block (議長 / 署名人 / 同).
    pub signatures: Vec<Field>,
    /// Rule line of the convention (────).
    pub rule: String,
    /// Text labels in the minutes' language (section names), for templates.
    pub labels: Labels,
    pub verbatim: bool,
    /// Number of removed spans (ケバ取り), all listed in the paragraphs.
    pub removed: usize,
    /// Speeches whose speaker the clerk must still identify.
    pub unidentified: usize,
    pub source: SourceRef,
    pub meta: MeetingMeta,
}

/// Section names in the minutes' language.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Labels {
    pub agenda: String,
    pub proceedings: String,
    pub key_points: String,
    pub content: String,
    pub signatures: String,
    pub attendance: String,
    pub none: String,
    /// A record field nothing was said about: 「（記載なし）」.
    #[serde(default)]
    pub not_recorded: String,
}

impl Labels {
    fn for_language(ja: bool, kind: MeetingKind) -> Labels {
        if ja {
            Labels {
                agenda: "議事日程".into(),
                proceedings: "議事".into(),
                key_points: "要点".into(),
                content: if kind == MeetingKind::Consultation {
                    "相談内容".into()
                } else {
                    "会議の経過".into()
                },
                signatures: "会議録署名".into(),
                attendance: "出席者".into(),
                none: "（該当なし）".into(),
                not_recorded: "（記載なし）".into(),
            }
        } else {
            Labels {
                agenda: "Agenda".into(),
                proceedings: "Proceedings".into(),
                key_points: "Key points".into(),
                content: if kind == MeetingKind::Consultation {
                    "Consultation".into()
                } else {
                    "Proceedings".into()
                },
                signatures: "Signatures".into(),
                attendance: "Attendance".into(),
                none: "(none)".into(),
                not_recorded: "(not recorded)".into(),
            }
        }
    }
}

/// Errors of drafting that the user can fix.
#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error("the transcript has no text: there is nothing to draft minutes from")]
    EmptyTranscript,
    #[error("the transcript has a segment with invalid times ({start}..{end} s, segment {id})")]
    BadTimes { id: usize, start: f64, end: f64 },
}

/// Drafts the minutes of `transcript` as `meta` describes the meeting.
pub fn draft(
    transcript: &Transcript,
    meta: &MeetingMeta,
    options: &MinutesOptions,
) -> Result<Minutes, DraftError> {
    for s in &transcript.segments {
        if !(s.start.is_finite() && s.end.is_finite() && s.start >= 0.0 && s.end >= s.start) {
            return Err(DraftError::BadTimes {
                id: s.id,
                start: s.start,
                end: s.end,
            });
        }
    }
    if transcript.segments.iter().all(|s| s.text.trim().is_empty()) {
        return Err(DraftError::EmptyTranscript);
    }
    let lang = language_of(transcript);
    let ja = lang == "ja";
    let digits = if ja { meta.digits() } else { Digits::Keep };
    let clock0 = meta.recording_start.as_deref().and_then(style::parse_clock);
    let time_of = |at: f64| -> String {
        match clock0 {
            Some(c) => crate::util::hms(c + at),
            None => crate::util::hms(at),
        }
    };

    // Speeches: runs of segments of one speaker (and one diarization turn).
    let mut speeches: Vec<Speech> = Vec::new();
    let mut prev_key: Option<(Option<String>, Option<usize>)> = None;
    let mut prev_end = 0.0;
    let mut groups: Vec<(Option<String>, Vec<&Segment>)> = Vec::new();
    let mut pieces = split_at_speaker_changes(&transcript.segments);
    pieces.sort_by(|a, b| a.start.total_cmp(&b.start));
    for seg in pieces.iter().filter(|s| !s.text.trim().is_empty()) {
        let (speaker, turn) = speaker_of(transcript, seg);
        let gap = seg.start - prev_end;
        let key = (speaker.clone(), turn);
        let new_unknown = speaker.is_none() && gap >= options.unknown_speaker_gap;
        let same_speaker_close = prev_key.as_ref().is_some_and(|(s, _)| {
            *s == speaker && speaker.is_some() && gap < options.same_speaker_gap
        });
        if (prev_key.as_ref() != Some(&key) && !same_speaker_close) || new_unknown {
            groups.push((speaker, Vec::new()));
        }
        if let Some(g) = groups.last_mut() {
            g.1.push(seg);
        }
        prev_key = Some(key);
        prev_end = seg.end;
    }
    let mut removed = 0;
    let mut corrected = 0;
    let terms = terms::Terms::new(meta, &options.terms, ja, options.builtin_terms);
    for (speaker, segs) in groups {
        let who = resolve_speaker(transcript, meta, speaker.as_deref(), ja);
        let sentence_lines =
            ja && meta.conventions.chair_sentence_lines && presides(meta.kind, who.role.as_deref());
        let cues = ja && options.paragraph_cues;
        let pieces = if sentence_lines {
            split_at_sentences(&segs, |_| true)
        } else if cues {
            split_at_sentences(&segs, opens_paragraph)
        } else {
            Vec::new()
        };
        let piece_refs: Vec<&Segment> = pieces.iter().collect();
        let segs: &[&Segment] = if sentence_lines || cues {
            &piece_refs
        } else {
            &segs
        };
        let paragraphs = paragraphs_of(
            segs,
            &lang,
            digits,
            options,
            &terms,
            &mut corrected,
            sentence_lines,
        );
        removed += paragraphs.iter().map(|p| p.removals.len()).sum::<usize>();
        let start = segs.first().map(|s| s.start).unwrap_or(0.0);
        let end = segs.last().map(|s| s.end).unwrap_or(start);
        speeches.push(Speech {
            heading: who.heading,
            speaker,
            name: who.name,
            role: who.role,
            identified: who.identified,
            start,
            end,
            time: time_of(start),
            paragraphs,
            continued: false,
        });
    }

    if ja && meta.kind.is_council() {
        let recess = meta.conventions.recess_minutes * 60.0;
        speeches = stage_notes(speeches, options, meta, recess);
        subject_lines(&mut speeches, meta, &time_of);
    }
    let placed = place_agenda(&mut speeches, meta, ja, &time_of);
    let items = body_items(&speeches, meta, ja, clock0, digits, &placed);
    let key_points = if meta.kind == MeetingKind::Consultation {
        keypoints::extract(&speeches, &lang, options.max_key_points, &time_of)
    } else {
        Vec::new()
    };
    let fields = if meta.kind == MeetingKind::Consultation && ja {
        keypoints::record_fields(&speeches, &time_of)
    } else {
        Vec::new()
    };
    let unidentified = speeches.iter().filter(|s| !s.identified).count();
    let (title, subtitle) = titles(meta, ja);
    Ok(Minutes {
        kind: meta.kind,
        language: lang,
        title,
        subtitle,
        header: header(meta, ja, digits, clock0, &speeches),
        attendance: attendance(meta, ja),
        agenda: agenda_list(meta, ja, digits),
        items,
        key_points,
        open_sections: if meta.kind == MeetingKind::Consultation && !ja {
            vec!["Action taken".into(), "Next steps".into()]
        } else {
            Vec::new()
        },
        fields,
        corrected,
        signatures: signatures(meta, ja),
        rule: meta.conventions.rule.clone(),
        labels: Labels::for_language(ja, meta.kind),
        verbatim: options.verbatim,
        removed,
        unidentified,
        source: SourceRef {
            file_name: transcript.source.file_name.clone(),
            sha256: transcript.source.sha256.clone(),
            duration: transcript.source.duration,
            model: transcript.model.name.clone(),
        },
        meta: meta.clone(),
    })
}

/// Whom a 〔…登壇〕 note names: a council member by full name and 議員, also when the member
/// goes up as a committee chair to report (○塚本建設委員長 → 〔塚本よしひろ議員登壇〕, as the
/// published minutes print it); anyone else as their heading (〔森澤区長登壇〕). The full name
/// is the one member among the attendees whose name begins as the speaker's does (at least
/// two characters: the family name; a label parsed as 塚本建設 + 委員長 still finds 塚本 よしひろ);
/// without one (no attendees given, two members of that family name), the heading.
fn rostrum_name(sp: &Speech, attendees: &[Attendee]) -> String {
    let heading = sp.heading.trim_start_matches('○').to_string();
    let role = sp.role.as_deref().unwrap_or("");
    if role != "議員" && !role.ends_with("委員長") {
        return heading;
    }
    let Some(name) = sp.name.as_deref().map(squash).filter(|n| !n.is_empty()) else {
        return heading;
    };
    let mut members: Vec<String> = attendees
        .iter()
        .filter(|a| {
            a.role
                .as_deref()
                .is_some_and(|r| MEMBER_ROLES.contains(&r) || r.ends_with("委員長"))
        })
        .map(|a| squash(&a.name))
        .collect();
    members.sort();
    members.dedup();
    let common = |full: &str| {
        full.chars()
            .zip(name.chars())
            .take_while(|(a, b)| a == b)
            .count()
    };
    let best = members.iter().map(|m| common(m)).max().unwrap_or(0);
    let found: Vec<&String> = members.iter().filter(|m| common(m) == best).collect();
    match found.as_slice() {
        [full] if best >= 2 => format!("{full}議員"),
        _ => heading,
    }
}

/// Council minutes: short calls of unidentified speakers become 〔「…」と呼ぶ者あり〕 notes at
/// the end of the speech before them; long silences get 〔…登壇〕 / 〔賛成者起立〕 notes.
/// The clerk's convention (Shinagawa and most assemblies): the note closes the speech before
/// it, and the speaker after it gets a new heading.
fn stage_notes(
    speeches: Vec<Speech>,
    options: &MinutesOptions,
    meta: &MeetingMeta,
    recess: f64,
) -> Vec<Speech> {
    let kind = meta.kind;
    let note = |text: String, at: f64, segments: Vec<usize>| Paragraph {
        verbatim: String::new(),
        text,
        removals: Vec::new(),
        start: at,
        end: at,
        segments,
        note: true,
    };
    let mut out: Vec<Speech> = Vec::new();
    let mut last_end = f64::NEG_INFINITY;
    for sp in speeches {
        if let Some(prev) = out.last_mut() {
            let said: String = sp
                .paragraphs
                .iter()
                .flat_map(|p| p.text.chars())
                .filter(|c| !matches!(c, '。' | '、' | '！' | '？' | '…' | ' ' | '　'))
                .collect();
            let n = said.chars().count();
            if !sp.identified && n > 0 && n <= options.floor_call_chars {
                let segs = sp
                    .paragraphs
                    .iter()
                    .flat_map(|p| p.segments.clone())
                    .collect();
                prev.paragraphs
                    .push(note(format!("〔「{said}」と呼ぶ者あり〕"), sp.start, segs));
                last_end = sp.end;
                continue;
            }
            let gap = sp.start - last_end;
            if gap >= options.stage_note_gap && gap < recess {
                let asked = prev
                    .paragraphs
                    .iter()
                    .rev()
                    .find(|p| !p.note)
                    .map(|p| p.text.trim_end_matches('。').to_string())
                    .unwrap_or_default();
                let text = if asked.ends_with("朗読させます") {
                    Some("〔書記朗読〕".to_string())
                } else if asked.ends_with("起立願います") || asked.ends_with("起立を願います")
                {
                    Some("〔賛成者起立〕".to_string())
                } else if asked.ends_with("挙手願います") || asked.ends_with("挙手を願います")
                {
                    Some("〔賛成者挙手〕".to_string())
                } else if kind == MeetingKind::Plenary
                    && sp.identified
                    && prev.speaker != sp.speaker
                {
                    Some(format!("〔{}登壇〕", rostrum_name(&sp, &meta.attendees)))
                } else {
                    None
                };
                if let Some(t) = text {
                    prev.paragraphs.push(note(t, last_end, Vec::new()));
                }
            }
        }
        last_end = sp.end;
        out.push(sp);
    }
    out
}

/// Whether a speaker of this role presides over the sitting: the 議長 (or 副議長) of a
/// plenary session, the 委員長 of a committee (a plenary's 総務委員長 reports, not presides).
fn presides(kind: MeetingKind, role: Option<&str>) -> bool {
    match (kind, role) {
        (MeetingKind::Plenary, Some(r)) => matches!(r, "議長" | "副議長" | "仮議長"),
        (MeetingKind::Committee, Some(r)) => r == "委員長",
        _ => false,
    }
}

/// Sentence openings that begin a new paragraph in published Japanese minutes, whatever the
/// pause before them: on the dev half of ../shared/eval/minutes each opens a paragraph in
/// ≥ 90 % of its ≥ 20 occurrences (次に、 353 of 354, 以上 85 of 85, 最後に、 42 of 42,
/// これより 38 of 38, 続いて、 22 of 22, 続きまして、 28 of 28, 初めに、 67 of 71, 本案は 29 of
/// 30, 本件について 41 of 43, よって 35 of 39); また、 (41 %), なお、 (69 %) and それでは (88 %)
/// do not. Left out although they qualify: one council's report formulas (質疑終了後、,
/// 理事者の説明の後に) and the colloquial それと、 (22 of 24).
const JA_PARAGRAPH_CUES: &[&str] = &[
    "次に、",
    "以上",
    "最後に、",
    "これより",
    "続いて、",
    "続きまして、",
    "初めに、",
    "本案は",
    "本件について",
    "よって",
];

/// Whether `text` opens with one of [`JA_PARAGRAPH_CUES`], fillers before it (えー、次に、)
/// not counting: they are removed from the draft.
fn opens_paragraph(text: &str) -> bool {
    let cue = |t: &str| JA_PARAGRAPH_CUES.iter().any(|c| t.starts_with(c));
    if cue(text) {
        return true;
    }
    // ケバ取り on the opening only: the fillers and a cue fit in its first 24 characters.
    let head: String = text.chars().take(24).collect();
    cue(kebatori::clean(&head, "ja").text.trim_start())
}

/// Whether a segment's text ends a sentence: 。？！, or a sentence ending the recogniser left
/// without its 。 (the draft closes those, see `close_sentences`).
fn ends_sentence(text: &str) -> bool {
    let t = text.trim_end();
    t.ends_with(['。', '？', '！', '?', '!']) || JA_SENTENCE_ENDS.iter().any(|e| t.ends_with(e))
}

/// Segments cut after each 。？！ inside them, for one sentence per line: the pieces keep
/// the segment's id; their times are the words' when the words spell the text, else shared
/// out by characters (the words are then dropped, as `time_at` only trusts whole spellings).
fn split_at_sentences(segs: &[&Segment], next_opens: impl Fn(&str) -> bool) -> Vec<Segment> {
    let mut out = Vec::new();
    for s in segs {
        let text = s.text.trim();
        let mut cuts: Vec<usize> = text
            .char_indices()
            .filter(|(_, c)| matches!(c, '。' | '？' | '！'))
            .map(|(i, c)| i + c.len_utf8())
            .filter(|&e| !text[e..].trim().is_empty() && next_opens(text[e..].trim_start()))
            .collect();
        if cuts.is_empty() {
            out.push((*s).clone());
            continue;
        }
        cuts.push(text.len());
        let total = text.chars().count().max(1) as f64;
        let joined: String = s.words.iter().map(|w| w.text.as_str()).collect();
        let words_spell = !s.words.is_empty() && joined.trim() == text;
        let lead = joined.chars().count() - joined.trim_start().chars().count();
        let (mut from, mut w) = (0usize, 0usize);
        let mut wchars = 0usize; // characters of text covered by words[..w]
        for &to in &cuts {
            let piece = text[from..to].trim();
            let (c0, c1) = (text[..from].chars().count(), text[..to].chars().count());
            from = to;
            let (start, end, words) = if words_spell {
                // Words whose first character lies before the cut go with this piece.
                let first = w;
                while w < s.words.len() && wchars < c1 + lead {
                    wchars += s.words[w].text.chars().count();
                    w += 1;
                }
                let ws = s.words[first..w].to_vec();
                match (ws.first(), ws.last()) {
                    (Some(a), Some(b)) => (a.start, b.end.max(a.start), ws),
                    _ => continue,
                }
            } else {
                let at = |c: usize| s.start + (s.end - s.start) * c as f64 / total;
                (at(c0), at(c1), Vec::new())
            };
            if piece.is_empty() {
                continue;
            }
            let text = if words_spell {
                words.iter().map(|w| w.text.as_str()).collect::<String>()
            } else {
                piece.to_string()
            };
            out.push(Segment {
                start,
                end,
                text: text.trim().to_string(),
                words,
                ..(*s).clone()
            });
        }
    }
    out
}

/// The clerk's subject lines (`○会議録署名人選定について`): each goes before the first
/// paragraph of the chair's that holds one of its cues, closing the speech before it; the
/// chair goes on under a new heading, as the published minutes print it.
fn subject_lines(speeches: &mut Vec<Speech>, meta: &MeetingMeta, time_of: &dyn Fn(f64) -> String) {
    for subj in &meta.conventions.subjects {
        let cues: Vec<String> = subj.cues.iter().map(|c| fold(c)).collect();
        let chair = |sp: &Speech| presides(meta.kind, sp.role.as_deref());
        let found = speeches
            .iter()
            .enumerate()
            .filter(|(_, sp)| chair(sp))
            .find_map(|(s, sp)| {
                sp.paragraphs
                    .iter()
                    .position(|p| {
                        let t = fold(&p.text);
                        !p.note && cues.iter().any(|c| !c.is_empty() && t.contains(c.as_str()))
                    })
                    .map(|q| (s, q))
            });
        let Some((s, q)) = found else {
            continue;
        };
        let at = speeches[s].paragraphs[q].start;
        let note = Paragraph {
            text: subj.line.clone(),
            verbatim: String::new(),
            removals: Vec::new(),
            start: at,
            end: at,
            segments: Vec::new(),
            note: true,
        };
        if q == 0 {
            match s.checked_sub(1) {
                Some(p) => speeches[p].paragraphs.push(note),
                // Nothing before it: the line opens the speech.
                None => speeches[s].paragraphs.insert(0, note),
            }
            continue;
        }
        let first = &mut speeches[s];
        let old_end = first.end;
        let rest = first.paragraphs.split_off(q);
        first.end = first
            .paragraphs
            .last()
            .map(|p| p.end)
            .unwrap_or(first.start);
        first.paragraphs.push(note);
        let second = Speech {
            start: at,
            end: old_end,
            time: time_of(at),
            paragraphs: rest,
            continued: false,
            ..first.clone()
        };
        speeches.insert(s + 1, second);
    }
}

/// "ja" or "en" (the languages with conventions); other languages are drafted like English.
fn language_of(t: &Transcript) -> String {
    let l = t.language.trim().to_lowercase();
    if l.starts_with("ja") {
        "ja".into()
    } else if l.is_empty() {
        // Decide from the text: any kana means Japanese.
        let kana = t
            .segments
            .iter()
            .flat_map(|s| s.text.chars())
            .any(|c| ('\u{3041}'..='\u{30ff}').contains(&c));
        if kana { "ja" } else { "en" }.into()
    } else if l.starts_with("en") {
        "en".into()
    } else {
        l
    }
}

/// The speaker of a segment (its own field, else the diarization turn it overlaps most) and
/// the index of that turn, so that two turns of one speaker stay two speeches.
fn speaker_of(t: &Transcript, seg: &Segment) -> (Option<String>, Option<usize>) {
    let mut best: Option<(usize, f64)> = None;
    for (i, turn) in t.turns.iter().enumerate() {
        if let Some(sp) = &seg.speaker {
            if &turn.speaker != sp {
                continue;
            }
        }
        let ov = (seg.end.min(turn.end) - seg.start.max(turn.start)).max(0.0);
        let ov = if seg.end <= seg.start && turn.start <= seg.start && seg.start < turn.end {
            f64::MIN_POSITIVE // zero-length segment inside a turn
        } else {
            ov
        };
        if ov > 0.0 && best.is_none_or(|(_, b)| ov > b) {
            best = Some((i, ov));
        }
    }
    let speaker = seg
        .speaker
        .clone()
        .or_else(|| best.map(|(i, _)| t.turns[i].speaker.clone()));
    (speaker, best.map(|(i, _)| i))
}

struct Who {
    heading: String,
    name: Option<String>,
    role: Option<String>,
    identified: bool,
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Finds who a transcript speaker is (metadata first, then the transcript's own speaker
/// list) and writes the heading in the convention.
fn resolve_speaker(t: &Transcript, meta: &MeetingMeta, id: Option<&str>, ja: bool) -> Who {
    let sp = id.and_then(|id| t.speaker(id));
    let attendee = id.and_then(|id| {
        meta.attendees.iter().find(|a| {
            a.speaker.as_deref() == Some(id)
                || sp.is_some_and(|sp| {
                    let n = sp.name.as_deref().map(squash);
                    a.speaker.as_deref().map(squash) == n && n.is_some()
                        || n.as_deref() == Some(&squash(&a.name))
                })
        })
    });
    let consult = &meta.consultation;
    if meta.kind == MeetingKind::Consultation {
        // Consultation records label the parties by role; the client only by pseudonym.
        let role = if id.is_some() && id == consult.caseworker_speaker.as_deref() {
            Some(if ja { "相談員" } else { "Caseworker" })
        } else if id.is_some() && id == consult.client_speaker.as_deref() {
            Some(if ja { "相談者" } else { "Client" })
        } else {
            None
        };
        if let Some(role) = role {
            return Who {
                heading: role.to_string(),
                name: None,
                role: Some(role.to_string()),
                identified: true,
            };
        }
    }
    let (name, role, short) = match (attendee, sp) {
        (Some(a), _) => (Some(a.name.clone()), a.role.clone(), a.short.clone()),
        (None, Some(sp)) => (sp.name.clone(), sp.role.clone(), None),
        (None, None) => (None, None, None),
    };
    let label = sp
        .map(|s| s.label.clone())
        .or_else(|| id.map(str::to_string));
    if name.is_none() && role.is_none() {
        let heading = if matches!(meta.kind, MeetingKind::Consultation | MeetingKind::Meeting) {
            label.clone().unwrap_or_else(|| {
                if ja {
                    "（話者不明）"
                } else {
                    "[Unidentified speaker]"
                }
                .into()
            })
        } else if ja {
            match &label {
                Some(l) => meta
                    .conventions
                    .unknown_speaker
                    .replace('）', &format!("：{l}）")),
                None => meta.conventions.unknown_speaker.clone(),
            }
        } else {
            match &label {
                Some(l) => format!("[Unidentified: {l}]"),
                None => "[Unidentified speaker]".into(),
            }
        };
        return Who {
            heading,
            name: None,
            role: None,
            identified: false,
        };
    }
    let full = name.as_deref().map(squash).unwrap_or_default();
    let role_s = role.clone().unwrap_or_default();
    let heading = if ja && meta.kind != MeetingKind::Consultation {
        let family = name
            .as_deref()
            .and_then(|n| n.split([' ', '　']).find(|s| !s.is_empty()))
            .map(str::to_string)
            .unwrap_or_default();
        let shown = if meta.conventions.full_name_roles.contains(&role_s) {
            full.clone()
        } else {
            short.clone().unwrap_or(family)
        };
        meta.conventions
            .speaker_heading
            .replace("{name}", &shown)
            .replace("{full}", &full)
            .replace("{role}", &role_s)
            .replace("{label}", label.as_deref().unwrap_or(""))
    } else {
        let shown = name.clone().unwrap_or_default();
        match (shown.is_empty(), role_s.is_empty()) {
            (false, false) if ja => format!("{role_s}（{shown}）"),
            (false, false) => format!("{shown} ({role_s})"),
            (false, true) => shown,
            _ => role_s.clone(),
        }
    };
    Who {
        heading,
        name,
        role,
        identified: true,
    }
}

/// Splits a speech into paragraphs at pauses and applies ケバ取り and the conventions.
fn paragraphs_of(
    segs: &[&Segment],
    lang: &str,
    digits: Digits,
    options: &MinutesOptions,
    terms: &terms::Terms,
    corrected: &mut usize,
    sentence_lines: bool,
) -> Vec<Paragraph> {
    // The same condition under which `draft` cut the segments at the cues.
    let cues = lang == "ja" && options.paragraph_cues;
    let sep = if crate::transcript::uses_spaces(lang) {
        " "
    } else {
        ""
    };
    let mut out = Vec::new();
    let mut current: Vec<&Segment> = Vec::new();
    let mut flush = |current: &mut Vec<&Segment>, out: &mut Vec<Paragraph>| {
        if current.is_empty() {
            return;
        }
        // Char offset where each segment starts in the paragraph, to time the removals.
        let mut verbatim = String::new();
        let mut offsets = Vec::new();
        for (k, s) in current.iter().enumerate() {
            if k > 0 {
                verbatim.push_str(sep);
            }
            offsets.push((verbatim.chars().count(), s));
            verbatim.push_str(s.text.trim());
        }
        let cleaned = if options.verbatim {
            kebatori::Cleaned {
                text: verbatim.clone(),
                removals: Vec::new(),
            }
        } else {
            kebatori::clean_with(&verbatim, lang, options.restarts.as_deref())
        };
        let removals: Vec<TimedRemoval> = cleaned
            .removals
            .into_iter()
            .map(|r| {
                let at = time_at(&offsets, r.start);
                TimedRemoval { removal: r, at }
            })
            .collect();
        let mut text = cleaned.text;
        if lang == "ja" && !options.verbatim {
            let ends: Vec<usize> = offsets
                .iter()
                .map(|(o, s)| o + s.text.trim().chars().count())
                .collect();
            text = close_sentences(&text, &ends, &removals);
        }
        let mut text = style::normalise(&text, lang, digits);
        if !terms.is_empty() {
            let (t, n) = terms.apply(&text);
            text = t;
            *corrected += n;
        }
        out.push(Paragraph {
            text,
            verbatim,
            removals,
            start: current[0].start,
            end: current[current.len() - 1].end,
            segments: current.iter().map(|s| s.id).collect(),
            note: false,
        });
        current.clear();
    };
    for &seg in segs {
        if let Some(last) = current.last() {
            if seg.start - last.end >= options.paragraph_gap
                || sentence_lines && ends_sentence(&last.text)
                || cues && ends_sentence(&last.text) && opens_paragraph(seg.text.trim_start())
            {
                flush(&mut current, &mut out);
            }
        }
        current.push(seg);
    }
    flush(&mut current, &mut out);
    out.retain(|p| !p.text.trim().is_empty() || !p.removals.is_empty());
    out
}

/// Time of a char offset: linear within the segment that holds it.
/// Sentence endings a Japanese segment may stop on without its 。 (Whisper often leaves it
/// out): 〜ます / 〜です / 〜ました / 〜ません / 〜ください / 〜でしょう / 〜ですか...
const JA_SENTENCE_ENDS: &[&str] = &[
    "ます",
    "です",
    "ました",
    "でした",
    "ません",
    "ください",
    "でしょう",
    "ましょう",
    "ですか",
    "ますか",
    "せんか",
    "ょうか",
    "である",
    "だった",
];

/// Light 整文: puts 。 where a segment ended on a sentence ending with no punctuation.
/// `ends` are the segments' end offsets in the verbatim text; the removals map them into
/// `clean`. Only adds 。; never removes or reorders anything.
fn close_sentences(clean: &str, ends: &[usize], removals: &[TimedRemoval]) -> String {
    let mut chars: Vec<char> = clean.chars().collect();
    let mut at: Vec<usize> = ends
        .iter()
        .filter_map(|&e| {
            let mut removed = 0;
            for r in removals {
                if r.removal.end <= e {
                    removed += r.removal.end - r.removal.start;
                } else if r.removal.start < e {
                    return None; // the end falls inside a removed span
                }
            }
            Some(e - removed)
        })
        .collect();
    at.sort_unstable();
    at.dedup();
    for &p in at.iter().rev() {
        if p == 0 || p > chars.len() {
            continue;
        }
        let before: String = chars[p.saturating_sub(5)..p].iter().collect();
        if JA_SENTENCE_ENDS.iter().any(|e| before.ends_with(e)) {
            chars.insert(p, '。');
        }
    }
    chars.into_iter().collect()
}

/// Time of a char offset: the start of the word that holds it when the segment's words spell
/// its text, else linear within the segment.
fn time_at(offsets: &[(usize, &&Segment)], char_pos: usize) -> f64 {
    let k = offsets
        .iter()
        .rposition(|(o, _)| *o <= char_pos)
        .unwrap_or(0);
    let (o, s) = offsets[k];
    let within = char_pos.saturating_sub(o);
    let joined: String = s.words.iter().map(|w| w.text.as_str()).collect();
    if !s.words.is_empty() && joined.trim() == s.text.trim() {
        let lead = joined.chars().count() - joined.trim_start().chars().count();
        let mut c = 0;
        for w in &s.words {
            c += w.text.chars().count();
            if within + lead < c {
                return w.start;
            }
        }
        return s.end;
    }
    let len = s.text.trim().chars().count().max(1) as f64;
    let frac = (within as f64 / len).clamp(0.0, 1.0);
    s.start + frac * (s.end - s.start)
}

/// Splits segments whose words diarization gave to more than one speaker (a Whisper segment
/// can run across a change of speaker), so that each speech gets its own words. Segments
/// whose words do not spell their text are kept whole.
fn split_at_speaker_changes(segments: &[Segment]) -> Vec<Segment> {
    let mut out = Vec::with_capacity(segments.len());
    for s in segments {
        let changes = s.words.windows(2).any(|w| {
            w[0].speaker.is_some() && w[1].speaker.is_some() && w[0].speaker != w[1].speaker
        });
        let joined: String = s.words.iter().map(|w| w.text.as_str()).collect();
        if !changes || joined.trim() != s.text.trim() {
            out.push(s.clone());
            continue;
        }
        let mut group: Vec<crate::transcript::Word> = Vec::new();
        let mut speaker: Option<String> = None;
        let flush = |group: &mut Vec<crate::transcript::Word>,
                     speaker: &Option<String>,
                     out: &mut Vec<Segment>| {
            let text: String = group.iter().map(|w| w.text.as_str()).collect();
            if let (Some(first), Some(last)) = (group.first(), group.last()) {
                if !text.trim().is_empty() {
                    out.push(Segment {
                        start: first.start,
                        end: last.end.max(first.start),
                        text: text.trim().to_string(),
                        words: std::mem::take(group),
                        speaker: speaker.clone(),
                        ..s.clone()
                    });
                }
            }
            group.clear();
        };
        for w in &s.words {
            // Words without a speaker stay with the words before them.
            let sp = w.speaker.clone().or_else(|| speaker.clone());
            if !group.is_empty() && sp != speaker {
                flush(&mut group, &speaker, &mut out);
            }
            speaker = sp;
            group.push(w.clone());
        }
        flush(&mut group, &speaker, &mut out);
    }
    out
}

/// Text folded for matching: full-width ASCII to half-width, no spaces.
fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '！'..='～' => char::from_u32(c as u32 - 0xFF01 + 0x21).unwrap_or(c),
            c => c,
        })
        .collect()
}

/// Interleaves time marks and timed agenda items with the speeches.
fn body_items(
    speeches: &[Speech],
    meta: &MeetingMeta,
    ja: bool,
    clock0: Option<f64>,
    digits: Digits,
    placed: &[Option<Placed>],
) -> Vec<Item> {
    let conv = &meta.conventions;
    let mark = |at: f64, word: &str, clock_override: Option<f64>| -> Option<Item> {
        let c = clock_override.or(clock0.map(|c| c + at))?;
        let text = if ja {
            format!("○{}{}", style::clock_ja(c, meta.time_style(), digits), word)
        } else {
            format!("({} {})", word, style::clock_en(c))
        };
        Some(Item::TimeMark {
            text,
            at,
            heading: None,
        })
    };
    let (open_w, close_w, recess_w, resume_w) = if ja {
        (
            meta.open_word().to_string(),
            meta.close_word().to_string(),
            conv.recess_word.clone(),
            meta.resume_word().to_string(),
        )
    } else {
        (
            "Opened".to_string(),
            "Closed".to_string(),
            "Recess".to_string(),
            "Resumed".to_string(),
        )
    };
    // Items with a time go where the metadata says; the others where `place_agenda` found
    // the chair taking them up.
    let mut agenda: Vec<(f64, String, &AgendaItem, Option<String>)> = Vec::new();
    for (i, a) in meta.agenda.iter().enumerate() {
        let number = agenda_number(a, i, ja, meta.kind, digits);
        let given =
            a.at.as_ref()
                .and_then(meta::agenda_at)
                .and_then(|at| match at {
                    meta::AgendaAt::Offset(s) => Some(s),
                    meta::AgendaAt::Clock(c) => Some(c - clock0?),
                });
        let at = match given {
            Some(at) => Some((at, None)),
            None => placed.get(i).cloned().flatten(),
        };
        if let Some((at, heading)) = at {
            agenda.push((at, number, a, heading));
        }
    }
    agenda.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut agenda = agenda.into_iter().peekable();

    let mut items = Vec::new();
    let is_timed_kind = meta.kind != MeetingKind::Consultation;
    let start_override = meta.start_time.as_deref().and_then(style::parse_clock);
    let end_override = meta.end_time.as_deref().and_then(style::parse_clock);
    // A recording may start after the opening or stop before the end: the marks are written
    // only when the chair is heard opening or closing (or the metadata gives the time), with
    // the word the chair used (開会 / 開議, 散会 / 閉会) unless the conventions fix it.
    let (opened, closed) = if ja {
        (
            observed(speeches.iter().take(3), OPENINGS),
            observed(speeches.iter().rev().take(3), CLOSINGS),
        )
    } else {
        (Some(""), Some(""))
    };
    let open_w = match (&conv.open_word, opened) {
        (None, Some(w)) if !w.is_empty() => w.to_string(),
        _ => open_w,
    };
    let close_w = match (&conv.close_word, closed) {
        (None, Some(w)) if !w.is_empty() => w.to_string(),
        _ => close_w,
    };
    let first_start = speeches.first().map(|s| s.start);
    // With `open_mark_in_speech`, the opening mark goes after the chair's heading when the
    // chair speaks first (and no agenda block opens that speech).
    let mut mark_opens_speech = false;
    if let (true, Some(first)) = (is_timed_kind, first_start) {
        if opened.is_some() || start_override.is_some() {
            let in_speech = ja
                && conv.open_mark_in_speech
                && speeches
                    .first()
                    .is_some_and(|s| !s.continued && presides(meta.kind, s.role.as_deref()))
                && agenda.peek().is_none_or(|(at, ..)| *at > first + 1e-6);
            if let Some(mut m) = mark(first, &open_w, start_override) {
                if let (true, Item::TimeMark { heading, .. }, Some(sp)) =
                    (in_speech, &mut m, speeches.first())
                {
                    *heading = Some(sp.heading.clone());
                    mark_opens_speech = true;
                }
                items.push(m);
            }
        }
    }
    let mut prev_end: Option<f64> = None;
    let mut prev_text = String::new();
    for (n, sp) in speeches.iter().enumerate() {
        if let (true, Some(pe)) = (is_timed_kind, prev_end) {
            // A short recess counts when the chair called it (休憩いたします).
            let called = ja && sp.start - pe >= 60.0 && prev_text.contains("休憩");
            if sp.start - pe >= conv.recess_minutes * 60.0 || called {
                items.extend(mark(pe, &recess_w, None));
                items.extend(mark(sp.start, &resume_w, None));
            }
        }
        while let Some((at, ..)) = agenda.peek() {
            if *at > sp.start + 1e-6 {
                break;
            }
            if let Some((at, number, a, heading)) = agenda.next() {
                items.push(Item::Agenda {
                    number,
                    title: a.title.clone(),
                    at,
                    heading,
                    items: a.items.clone(),
                });
            }
        }
        let mut sp = sp.clone();
        sp.continued |= n == 0 && mark_opens_speech;
        prev_end = Some(sp.end);
        prev_text = sp
            .paragraphs
            .iter()
            .rev()
            .find(|p| !p.note)
            .map(|p| p.text.clone())
            .unwrap_or_default();
        items.push(Item::Speech(sp));
    }
    for (at, number, a, _) in agenda {
        items.push(Item::Agenda {
            number,
            title: a.title.clone(),
            at,
            heading: None,
            items: a.items.clone(),
        });
    }
    if let (true, Some(last)) = (is_timed_kind, speeches.last()) {
        if closed.is_some() || end_override.is_some() {
            items.extend(mark(last.end, &close_w, end_override));
        }
    }
    items
}

/// Phrases with which a chair opens (…を開会いたします / 本日の会議を開きます) and closes a
/// sitting, and the time-mark word each gives.
const OPENINGS: &[(&str, &str)] = &[
    ("開会いたします", "開会"),
    ("開会します", "開会"),
    ("会議を開きます", "開議"),
    ("開議いたします", "開議"),
    ("再開いたします", "再開"),
];
const CLOSINGS: &[(&str, &str)] = &[
    ("散会いたします", "散会"),
    ("散会します", "散会"),
    ("閉会いたします", "閉会"),
    ("閉会します", "閉会"),
    ("閉じます", "閉会"),
];

/// The mark word of the first phrase of `phrases` said in these speeches.
fn observed<'a>(
    speeches: impl Iterator<Item = &'a Speech>,
    phrases: &[(&str, &'static str)],
) -> Option<&'static str> {
    for sp in speeches {
        for p in &sp.paragraphs {
            if let Some((_, w)) = phrases.iter().find(|(ph, _)| p.text.contains(ph)) {
                return Some(w);
            }
        }
    }
    None
}

/// Whether folded text names agenda number `number` (folded): 日程第３, a range 日程第１から
/// 日程第４まで, or a committee's 予定表３.
fn names_number(text: &str, number: &str, kind: MeetingKind) -> bool {
    let digits_after = |s: &str| -> Option<u32> {
        let d: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
        d.parse().ok()
    };
    let (key, n) = if let Some(n) = number.strip_prefix("日程第").and_then(digits_after) {
        ("日程第", n)
    } else if let Some(n) = digits_after(number).filter(|_| kind != MeetingKind::Plenary) {
        ("予定表", n)
    } else {
        return !number.is_empty() && text.contains(number);
    };
    let extra = number.starts_with("追加");
    let mut rest = text;
    while let Some(k) = rest.find(key) {
        let before = &rest[..k];
        let after = &rest[k + key.len()..];
        rest = after;
        if before.ends_with("追加") != extra {
            continue;
        }
        // 予定表の３ as well as 予定表３.
        let after = match key {
            "予定表" => after.strip_prefix('の').unwrap_or(after),
            _ => after,
        };
        let Some(a) = digits_after(after) else {
            continue;
        };
        if a == n {
            return true;
        }
        // 日程第１から日程第４まで / 日程第１から第４まで
        let tail = &after[a.to_string().len()..];
        if let Some(t) = tail.strip_prefix("から") {
            let t = t
                .strip_prefix(key)
                .or_else(|| t.strip_prefix('第'))
                .unwrap_or(t);
            if let Some(b) = digits_after(t) {
                if a <= n && n <= b {
                    return true;
                }
            }
        }
    }
    false
}

/// Finds where the chair takes up each agenda item without a time (the first paragraph
/// after the previous item's that names its number or its title, approximately: without
/// について) and splits that speech there, as the clerk does: plenary minutes print the
/// 日程 block after the paragraph that takes the items up (日程第１を議題に供します), the
/// chair going on under a new heading; committee minutes print the item before it.
/// With `agenda_inline`, a plenary block stands in for the number and title said in the
/// chair's sentence (see [`place_inline`]).
/// Returns each item's time and the heading of the speech it opens, for `body_items`.
fn place_agenda(
    speeches: &mut Vec<Speech>,
    meta: &MeetingMeta,
    ja: bool,
    time_of: &dyn Fn(f64) -> String,
) -> Vec<Option<Placed>> {
    let after = meta.kind == MeetingKind::Plenary;
    let mut out = vec![None; meta.agenda.len()];
    let (mut si, mut pi) = (0usize, 0usize);
    let titles: Vec<(String, String)> = meta
        .agenda
        .iter()
        .map(|a| {
            let title = fold(&a.title);
            let short = title
                .trim_end_matches("について")
                .trim_end_matches("の件")
                .to_string();
            (title, short)
        })
        .collect();
    let names_title = |t: &str, (title, short): &(String, String)| {
        title.chars().count() >= 2 && t.contains(title.as_str())
            || short.chars().count() >= 4 && t.contains(short.as_str())
    };
    for (k, a) in meta.agenda.iter().enumerate() {
        if a.at.is_some() {
            continue;
        }
        let number = fold(&agenda_number(a, k, ja, meta.kind, meta.digits()));
        let by_number = |p: &Paragraph| !p.note && names_number(&fold(&p.text), &number, meta.kind);
        // A paragraph naming several items' titles is the chair's overview of the day
        // (本日は議案審査、報告事項、所管事務調査と進めます), not the item being taken up.
        let by_title = |p: &Paragraph| {
            let t = fold(&p.text);
            !p.note
                && names_title(&t, &titles[k])
                && titles.iter().filter(|x| names_title(&t, x)).count() < 2
        };
        let first = |names: &dyn Fn(&Paragraph) -> bool| {
            speeches.iter().enumerate().skip(si).find_map(|(s, sp)| {
                let from = if s == si { pi } else { 0 };
                sp.paragraphs
                    .iter()
                    .enumerate()
                    .skip(from)
                    .find(|(_, p)| names(p))
                    .map(|(q, _)| (s, q))
            })
        };
        // The number first: a title is also said in passing (今後取り上げていく報告事項等の
        // 案件), the number (予定表３, 日程第３) when the item is taken up.
        let found = first(&by_number).or_else(|| first(&by_title));
        let Some((s, q)) = found else {
            continue;
        };
        if after && meta.conventions.agenda_inline {
            if let Some(placed) =
                place_inline(speeches, s, q, &number, &titles[k], ja, meta, time_of)
            {
                (si, pi) = (placed.1, 0);
                out[k] = Some(placed.0);
                continue;
            }
        }
        let cut = if after { q + 1 } else { q };
        if cut == 0 {
            out[k] = Some((speeches[s].start, None));
            (si, pi) = (s, q);
        } else if cut >= speeches[s].paragraphs.len() {
            out[k] = Some((
                speeches
                    .get(s + 1)
                    .map(|n| n.start)
                    .unwrap_or(speeches[s].end + 1e-3),
                None,
            ));
            (si, pi) = (s, q);
        } else {
            let first = &mut speeches[s];
            let old_end = first.end;
            let rest = first.paragraphs.split_off(cut);
            first.end = first
                .paragraphs
                .last()
                .map(|p| p.end)
                .unwrap_or(first.start);
            let start = rest.first().map(|p| p.start).unwrap_or(first.end);
            let second = Speech {
                start,
                end: old_end,
                time: time_of(start),
                paragraphs: rest,
                continued: false,
                ..first.clone()
            };
            speeches.insert(s + 1, second);
            out[k] = Some((start, None));
            // Later items may be named in the same paragraph (一括議題).
            (si, pi) = if after { (s, q) } else { (s + 1, 0) };
        }
    }
    out
}

/// Where an agenda item went: its time, and the heading of the speech its block opens.
type Placed = (f64, Option<String>);

/// Char span of `text` where the item's number is said followed by its title (or the title
/// without について / の件): 日程第２、一般質問. `number` is folded; spaces are ignored.
fn inline_span(
    text: &str,
    number: &str,
    (title, short): &(String, String),
) -> Option<(usize, usize)> {
    // Folded chars with the index of the char of `text` each comes from.
    let mut folded: Vec<char> = Vec::new();
    let mut from: Vec<usize> = Vec::new();
    for (i, c) in text.chars().enumerate() {
        for f in fold(&c.to_string()).chars() {
            folded.push(f);
            from.push(i);
        }
    }
    let num: Vec<char> = number.chars().collect();
    let title: Vec<char> = title.chars().collect();
    let short: Vec<char> = short.chars().collect();
    if num.is_empty() || title.is_empty() {
        return None;
    }
    let at = |i: usize, w: &[char]| folded.len() >= i + w.len() && folded[i..i + w.len()] == *w;
    for i in 0..folded.len() {
        if !at(i, &num) {
            continue;
        }
        // Not 日程第２ inside 日程第２１ or 追加日程第２.
        let end = i + num.len();
        if folded.get(end).is_some_and(|c| c.is_ascii_digit())
            || !number.starts_with("追加") && i >= 2 && folded[i - 2..i] == ['追', '加']
        {
            continue;
        }
        let mut j = end;
        while folded
            .get(j)
            .is_some_and(|c| matches!(c, '、' | ',' | '，' | '・'))
        {
            j += 1;
        }
        let said = [&title, &short]
            .into_iter()
            .find(|w| w.len() >= 2 && at(j, w))?;
        let last = from[j + said.len() - 1];
        return Some((from[i], last + 1));
    }
    None
}

/// For each char of `clean`, and one past its end, the char of `p.verbatim` it comes from:
/// the verbatim text less the removals is what ケバ取り kept, and a character diff carries it
/// over the draft's later changes (。 added, widths, terms).
fn clean_to_verbatim(p: &Paragraph, clean: &str) -> Vec<usize> {
    let verbatim: Vec<char> = p.verbatim.chars().collect();
    let mut removed = vec![false; verbatim.len()];
    for r in &p.removals {
        for x in removed
            .iter_mut()
            .take(r.removal.end.min(verbatim.len()))
            .skip(r.removal.start)
        {
            *x = true;
        }
    }
    let kept_at: Vec<usize> = (0..verbatim.len()).filter(|&i| !removed[i]).collect();
    let kept: String = kept_at.iter().map(|&i| verbatim[i]).collect();
    let diff = similar::TextDiff::from_chars(kept.as_str(), clean);
    let to_verbatim = |k: usize| kept_at.get(k).copied().unwrap_or(verbatim.len());
    let mut map = Vec::with_capacity(clean.chars().count() + 1);
    let mut k = 0usize;
    for op in diff.ops() {
        let (tag, old, new) = op.as_tag_tuple();
        match tag {
            similar::DiffTag::Equal => {
                for _ in new {
                    map.push(to_verbatim(k));
                    k += 1;
                }
            }
            similar::DiffTag::Delete => k += old.len(),
            similar::DiffTag::Insert => {
                for _ in new {
                    map.push(to_verbatim(k));
                }
            }
            similar::DiffTag::Replace => {
                let n = new.len();
                for _ in 0..n {
                    map.push(to_verbatim(k));
                }
                k += old.len();
            }
        }
    }
    map.push(to_verbatim(k));
    map
}

/// A paragraph cut around the clean chars `c1..c2` (the agenda words): the part before and
/// the part after, each with its share of the verbatim text and removals; the verbatim of
/// the cut-out words stays with the part before (Accept All of a tracked DOCX still gives
/// the clean text). Times are shared out by characters of the verbatim text.
fn cut_paragraph(p: &Paragraph, c1: usize, c2: usize) -> (Paragraph, Paragraph) {
    let clean: Vec<char> = p.text.chars().collect();
    let map = clean_to_verbatim(p, &p.text);
    let vlen = p.verbatim.chars().count();
    let v2 = map.get(c2).copied().unwrap_or(vlen).min(vlen);
    let v1 = map.get(c1).copied().unwrap_or(v2).min(v2);
    let time = |v: usize| p.start + (p.end - p.start) * v as f64 / vlen.max(1) as f64;
    let vchars: Vec<char> = p.verbatim.chars().collect();
    let (mut r1, mut r2) = (Vec::new(), Vec::new());
    for r in &p.removals {
        if r.removal.start < v2 {
            r1.push(r.clone());
        } else {
            let mut r = r.clone();
            r.removal.start -= v2;
            r.removal.end -= v2;
            r2.push(r);
        }
    }
    let before = Paragraph {
        text: clean[..c1.min(clean.len())]
            .iter()
            .collect::<String>()
            .trim_end()
            .to_string(),
        verbatim: vchars[..v2].iter().collect(),
        removals: r1,
        start: p.start,
        end: time(v1),
        segments: p.segments.clone(),
        note: false,
    };
    let after = Paragraph {
        text: clean[c2.min(clean.len())..]
            .iter()
            .collect::<String>()
            .trim_start()
            .to_string(),
        verbatim: vchars[v2..].iter().collect(),
        removals: r2,
        start: time(v2),
        end: p.end,
        segments: p.segments.clone(),
        note: false,
    };
    (before, after)
}

/// A plenary block inside the chair's sentence: when paragraph `q` of speech `s` says the
/// item's number and title, the words before them end the speech (次に、), the block takes
/// their place, and the words after them go on as a `continued` speech (を行います。), as
/// the published minutes print it. When the sentence opens the speech, the block opens it
/// too, under its heading (○渡辺議長　────). Returns the item's place and the index of
/// the speech after the block; None when the words are not said so (only the number: the
/// block goes after the paragraph) or nothing of the speech would follow the block.
#[allow(clippy::too_many_arguments)]
fn place_inline(
    speeches: &mut Vec<Speech>,
    s: usize,
    q: usize,
    number: &str,
    title: &(String, String),
    ja: bool,
    meta: &MeetingMeta,
    time_of: &dyn Fn(f64) -> String,
) -> Option<(Placed, usize)> {
    if !ja || meta.kind != MeetingKind::Plenary {
        return None;
    }
    let sp = &speeches[s];
    let p = &sp.paragraphs[q];
    let (c1, c2) = inline_span(&p.text, number, title)?;
    let (before, after) = cut_paragraph(p, c1, c2);
    let empty = |p: &Paragraph| {
        p.text
            .trim_matches(|c: char| c.is_whitespace() || c == '、')
            .is_empty()
    };
    // A part left empty (a filler before the words) is not printed: the other part keeps
    // the whole verbatim text and every removal, so nothing the draft lists is lost.
    let (before, after) = match (empty(&before), empty(&after)) {
        (true, true) => return None,
        (true, false) => (
            None,
            Some(Paragraph {
                text: after.text,
                start: after.start,
                ..p.clone()
            }),
        ),
        (false, true) => (
            Some(Paragraph {
                text: before.text,
                end: before.end,
                ..p.clone()
            }),
            None,
        ),
        (false, false) => (Some(before), Some(after)),
    };
    let mut head: Vec<Paragraph> = sp.paragraphs[..q].to_vec();
    head.extend(before);
    let mut tail: Vec<Paragraph> = after.into_iter().collect();
    tail.extend(sp.paragraphs[q + 1..].iter().cloned());
    if tail.iter().all(|p| p.note) {
        return None;
    }
    let start = tail[0].start;
    if head.is_empty() {
        let sp = &mut speeches[s];
        sp.paragraphs = tail;
        sp.continued = true;
        return Some(((sp.start, Some(sp.heading.clone())), s));
    }
    let first = &mut speeches[s];
    let old_end = first.end;
    first.paragraphs = head;
    first.end = first
        .paragraphs
        .last()
        .map(|p| p.end)
        .unwrap_or(first.start);
    let second = Speech {
        start,
        end: old_end,
        time: time_of(start),
        paragraphs: tail,
        continued: true,
        ..first.clone()
    };
    speeches.insert(s + 1, second);
    Some(((start, None), s + 1))
}

fn agenda_number(a: &AgendaItem, i: usize, ja: bool, kind: MeetingKind, digits: Digits) -> String {
    match &a.number {
        Some(n) => n.clone(),
        None if ja && kind == MeetingKind::Plenary => {
            style::write_digits(&format!("日程第{}", i + 1), digits)
        }
        None if ja => style::write_digits(&format!("{}", i + 1), digits),
        None => format!("{}.", i + 1),
    }
}

fn agenda_list(meta: &MeetingMeta, ja: bool, digits: Digits) -> Vec<Field> {
    meta.agenda
        .iter()
        .enumerate()
        .map(|(i, a)| Field {
            label: agenda_number(a, i, ja, meta.kind, digits),
            value: a.title.clone(),
        })
        .collect()
}

fn titles(meta: &MeetingMeta, ja: bool) -> (String, Option<String>) {
    let body = meta.body.clone().unwrap_or_default();
    let title = meta.title.clone().unwrap_or_default();
    let sp = if ja { "" } else { " " };
    match meta.kind {
        MeetingKind::Plenary | MeetingKind::Committee => {
            let main = [body, title]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(sp);
            let word = if ja { "会議録" } else { "Minutes" };
            if main.is_empty() {
                (word.into(), None)
            } else if ja {
                (format!("{main}{word}"), None)
            } else {
                (format!("{word} of {main}"), None)
            }
        }
        MeetingKind::Consultation => (
            if ja {
                "相談記録"
            } else {
                "Consultation record"
            }
            .into(),
            (!title.is_empty()).then_some(title),
        ),
        MeetingKind::Meeting => {
            let word = if ja { "議事録" } else { "Minutes" };
            let sub = (!body.is_empty()).then_some(body);
            match (title.is_empty(), ja) {
                (true, _) => (word.into(), sub),
                (false, true) => (format!("{title}{word}"), sub),
                (false, false) => (format!("{word}: {title}"), sub),
            }
        }
    }
}

fn header(
    meta: &MeetingMeta,
    ja: bool,
    digits: Digits,
    clock0: Option<f64>,
    speeches: &[Speech],
) -> Vec<Field> {
    let mut h = Vec::new();
    let date = meta.parsed_date().ok().flatten();
    let start = meta
        .start_time
        .as_deref()
        .and_then(style::parse_clock)
        .or_else(|| Some(clock0? + speeches.first()?.start));
    let end = meta
        .end_time
        .as_deref()
        .and_then(style::parse_clock)
        .or_else(|| Some(clock0? + speeches.last()?.end));
    let clock = |c: f64| {
        if ja {
            style::clock_ja(c, style::TimeStyle::Plain, digits)
        } else {
            style::clock_en(c)
        }
    };
    let mut when = Vec::new();
    if let Some(d) = date {
        when.push(if ja {
            style::date_ja(d, digits)
        } else {
            d.format("%A, %-d %B %Y").to_string()
        });
    }
    match (start, end) {
        (Some(s), Some(e)) => when.push(format!(
            "{}{}{}",
            clock(s),
            if ja { "～" } else { "–" },
            clock(e)
        )),
        (Some(s), None) => when.push(clock(s)),
        _ => {}
    }
    let add = |h: &mut Vec<Field>, ja_l: &str, en_l: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
            h.push(Field {
                label: if ja { ja_l } else { en_l }.into(),
                value: v,
            });
        }
    };
    add(
        &mut h,
        "日時",
        "Date",
        (!when.is_empty()).then(|| when.join(if ja { "　" } else { ", " })),
    );
    add(&mut h, "場所", "Place", meta.place.clone());
    if meta.kind == MeetingKind::Consultation {
        let c = &meta.consultation;
        add(&mut h, "相談者", "Client", c.client.clone());
        add(&mut h, "相談員", "Caseworker", c.caseworker.clone());
        add(&mut h, "相談種別", "Type", c.consultation_type.clone());
        add(&mut h, "ケース番号", "Case", c.case_id.clone());
    }
    if meta.kind.is_council() && !meta.signers.is_empty() {
        add(
            &mut h,
            "会議録署名議員",
            "Signing members",
            Some(meta.signers.join(if ja { "、" } else { ", " })),
        );
    }
    h
}

const MEMBER_ROLES: &[&str] = &["議長", "副議長", "委員長", "副委員長", "委員", "議員"];

fn attendance(meta: &MeetingMeta, ja: bool) -> Vec<AttendanceGroup> {
    let mut groups: Vec<AttendanceGroup> = Vec::new();
    let member_label = match (ja, meta.kind) {
        (true, MeetingKind::Plenary) => "出席議員",
        (true, MeetingKind::Committee) => "出席委員",
        (true, _) => "出席者",
        (false, _) => "Present",
    };
    let staff_label = match (ja, meta.kind.is_council()) {
        (true, true) => "出席説明員",
        (true, false) => "出席者",
        (false, _) => "Present",
    };
    for a in &meta.attendees {
        let role = a.role.clone().unwrap_or_default();
        let member = MEMBER_ROLES.contains(&role.as_str());
        let label = a
            .group
            .clone()
            .unwrap_or_else(|| if member { member_label } else { staff_label }.to_string());
        let shown = if member || role.is_empty() || !meta.kind.is_council() {
            if role.is_empty() || member && role == "議員" || member && role == "委員" {
                a.name.clone()
            } else if ja {
                format!("{}（{role}）", a.name)
            } else {
                format!("{} ({role})", a.name)
            }
        } else if ja {
            format!("{role}　{}", a.name)
        } else {
            format!("{role}: {}", a.name)
        };
        match groups.iter_mut().find(|g| g.label == label) {
            Some(g) => g.names.push(shown),
            None => groups.push(AttendanceGroup {
                label,
                names: vec![shown],
            }),
        }
    }
    if !meta.absent.is_empty() {
        groups.push(AttendanceGroup {
            label: match (ja, meta.kind) {
                (true, MeetingKind::Plenary) => "欠席議員",
                (true, MeetingKind::Committee) => "欠席委員",
                (true, _) => "欠席者",
                (false, _) => "Absent",
            }
            .into(),
            names: meta.absent.clone(),
        });
    }
    if ja {
        for g in &mut groups {
            g.label = format!(
                "{}（{}名）",
                g.label,
                style::write_digits(&g.names.len().to_string(), meta.digits())
            );
        }
    }
    groups
}

fn signatures(meta: &MeetingMeta, ja: bool) -> Vec<Field> {
    if !meta.kind.is_council() {
        return Vec::new();
    }
    let mut s = Vec::new();
    if let Some(chair) = &meta.chair {
        let label = match (ja, meta.kind) {
            (true, MeetingKind::Committee) => "委員長",
            (true, _) => "議　長",
            (false, _) => "Chair",
        };
        s.push(Field {
            label: label.into(),
            value: chair.clone(),
        });
    }
    for (i, name) in meta.signers.iter().enumerate() {
        let label = match (ja, i) {
            (true, 0) => "署名人",
            (true, _) => "同",
            (false, _) => "Signed",
        };
        s.push(Field {
            label: label.into(),
            value: name.clone(),
        });
    }
    s
}
