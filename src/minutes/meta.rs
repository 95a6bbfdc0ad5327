//! Meeting metadata: what the recording cannot tell (kind, title, date, attendees, agenda,
//! signing members, case fields) and the municipality's writing conventions. Read from a
//! TOML or JSON file (`--meta`) and/or command-line flags.
//!
//! Owns: the metadata types, their defaults per kind, and loading/validating them. Must not:
//! look at the transcript.

use super::style::{Digits, TimeStyle};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What kind of minutes to draft.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MeetingKind {
    /// Council plenary session (本会議): 会議録 with 出席議員, 日程, 署名議員.
    #[default]
    #[serde(alias = "council")]
    Plenary,
    /// Council committee (委員会): 会議録 with 出席委員.
    Committee,
    /// Consultation (相談記録): header fields, chronological content, 要点, empty 対応 section.
    Consultation,
    /// Any other meeting: title, date, attendees, speeches.
    Meeting,
}

impl MeetingKind {
    pub fn is_council(self) -> bool {
        matches!(self, MeetingKind::Plenary | MeetingKind::Committee)
    }
    /// Name of the default template set.
    pub fn template_name(self) -> &'static str {
        match self {
            MeetingKind::Plenary | MeetingKind::Committee => "council",
            MeetingKind::Consultation => "consultation",
            MeetingKind::Meeting => "meeting",
        }
    }
}

impl std::str::FromStr for MeetingKind {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        Ok(match s {
            "plenary" | "council" | "本会議" => MeetingKind::Plenary,
            "committee" | "委員会" => MeetingKind::Committee,
            "consultation" | "相談" => MeetingKind::Consultation,
            "meeting" | "会議" => MeetingKind::Meeting,
            _ => anyhow::bail!(
                "unknown meeting kind {s:?}: use plenary (or council), committee, consultation or meeting"
            ),
        })
    }
}

/// A person present: a council member, an official answering (説明員), a caseworker.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Attendee {
    /// Full name, family name first, separated by a space: "渡辺 ゆういち".
    pub name: String,
    /// Role: 議長, 委員長, 委員, 議員, 区長, 防災課長, 相談員...
    #[serde(default)]
    pub role: Option<String>,
    /// Transcript speaker id ("S1") or enrolled name this person is in the transcript.
    #[serde(default)]
    pub speaker: Option<String>,
    /// Name used in speaker headings when the family name alone is ambiguous: "高橋（伸）".
    #[serde(default)]
    pub short: Option<String>,
    /// Attendance list this person is printed in; default from the role (出席議員, 出席説明員).
    #[serde(default)]
    pub group: Option<String>,
    /// Reading in kana, family name first: "わたなべ ゆういち". The terms dictionary then
    /// writes the name in kanji where the recogniser wrote it in kana before a title
    /// (わたなべ議長 → 渡辺議長).
    #[serde(default)]
    pub reading: Option<String>,
}

impl Attendee {
    /// The family name: the part before the first space of `name`.
    pub fn family_name(&self) -> &str {
        self.name
            .split([' ', '　'])
            .find(|s| !s.is_empty())
            .unwrap_or(&self.name)
    }
}

/// One item of the agenda (日程).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct AgendaItem {
    /// "日程第１", "１", "報告事項"...; default 日程第N (council) or N.
    #[serde(default)]
    pub number: Option<String>,
    pub title: String,
    /// When the item was taken up: seconds into the recording (`at = 1520`) or clock time
    /// (`at = "13:25"`). Items with a time are printed where they fall among the speeches;
    /// items without one before the first speech that names their title.
    #[serde(default)]
    pub at: Option<toml::Value>,
    /// Lines printed under the title, as the 審査・調査予定表 lists them: the sub-items
    /// taken up with the item (`(1) 企画経営部`, `(2) 区長室`) or the matter it is about
    /// (`専決処分の報告について（報告第１６号）`). Printed in the block, never spoken.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
}

/// Conventions a municipality sets once (speaker headings, widths, time-mark words).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Conventions {
    /// Speaker heading: `{name}` (family name, or full name for `full_name_roles`), `{full}`,
    /// `{role}`, `{label}`. Shinagawa: "○{name}{role}"; others: "○{role}（{full}君）".
    pub speaker_heading: String,
    /// Heading for a turn whose speaker is not known.
    pub unknown_speaker: String,
    /// Roles whose headings use the full name (plenary 議員: ○高橋伸明議員).
    pub full_name_roles: Vec<String>,
    /// Digits; default official (plenary) or fullwidth (committee).
    pub digits: Option<Digits>,
    pub time_style: Option<TimeStyle>,
    /// Words of the time marks: 開会/開議 and 閉会/散会, 休憩, 再開.
    pub open_word: Option<String>,
    pub close_word: Option<String>,
    pub recess_word: String,
    /// Default 開議 in plenary sessions, 再開 otherwise.
    pub resume_word: Option<String>,
    /// A silence at least this long between speeches is a recess (休憩 / 再開 marks).
    pub recess_minutes: f64,
    /// Rule printed around agenda items.
    pub rule: String,
    /// The presiding chair's speech one sentence per line, as some councils print the
    /// chair's procedural speech (Shinagawa: 「ただいまから本日の会議を開きます。」 and
    /// 「この際、ご報告いたします。」 each on its own line). Off: paragraphs at pauses, as for
    /// every speaker. The chair is the 議長/副議長 of a plenary, the 委員長 of a committee.
    pub chair_sentence_lines: bool,
    /// Subject lines the clerk writes before the paragraph where the chair takes a
    /// procedure up (`○会議録署名人選定について` before 「会議録署名議員をご指名申し上げま
    /// す」), each at most once, the chair's speech going on under a new heading.
    pub subjects: Vec<SubjectLine>,
    /// Plenary sessions: when the chair says an item's number and title in a sentence
    /// (次に、日程第２、一般質問を行います), the 日程 block stands in for those words, inside
    /// the chair's speech (次に、 / ── 日程第２ 一般質問 ── / を行います。), the chair going
    /// on without a new heading; all 25 published Shinagawa minutes do this. Off: the block
    /// after the paragraph and a new heading, as when only the number is said.
    pub agenda_inline: bool,
    /// The opening time mark printed after the chair's heading, the chair's first words on
    /// the next line (`○渡辺議長　○午後１時開会`), as Shinagawa prints it. Off: the mark on a
    /// line of its own before the chair's heading.
    pub open_mark_in_speech: bool,
}

/// A clerk's subject line and the words of the chair that call for it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct SubjectLine {
    /// As printed: `○会議録署名人選定について`, `○日 程`.
    pub line: String,
    /// Words of the paragraph before which it goes (any of them, spaces ignored):
    /// 会議録署名議員, これより日程に入ります.
    pub cues: Vec<String>,
}

impl Default for Conventions {
    fn default() -> Self {
        Conventions {
            speaker_heading: "○{name}{role}".into(),
            unknown_speaker: "○（発言者未確認）".into(),
            full_name_roles: vec!["議員".into()],
            digits: None,
            time_style: None,
            open_word: None,
            close_word: None,
            recess_word: "休憩".into(),
            resume_word: None,
            recess_minutes: 5.0,
            rule: "─".repeat(40),
            chair_sentence_lines: false,
            subjects: Vec::new(),
            agenda_inline: true,
            open_mark_in_speech: false,
        }
    }
}

/// Consultation record fields (相談記録). The client is pseudonymised by the caseworker.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ConsultationMeta {
    pub case_id: Option<String>,
    pub caseworker: Option<String>,
    /// Pseudonym or initials only: this record may leave the office.
    pub client: Option<String>,
    pub consultation_type: Option<String>,
    /// Transcript speaker id of the caseworker and of the client, for the labels.
    pub caseworker_speaker: Option<String>,
    pub client_speaker: Option<String>,
}

/// Everything about a meeting that is not in the recording.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MeetingMeta {
    pub kind: MeetingKind,
    /// e.g. "令和６年第１回定例会（第１日）", "総務委員会".
    pub title: Option<String>,
    /// e.g. "品川区議会".
    pub body: Option<String>,
    /// Read by the archive (the same file serves both): "public" or "confidential", and the
    /// owning department. Minutes do not print them.
    pub classification: Option<String>,
    pub department: Option<String>,
    /// ISO date `2024-02-20`.
    pub date: Option<String>,
    pub place: Option<String>,
    /// Clock time at which the recording starts (`13:00`): time marks need it.
    pub recording_start: Option<String>,
    /// Opening and closing clock times, when they differ from what the recording shows.
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub attendees: Vec<Attendee>,
    pub absent: Vec<String>,
    pub agenda: Vec<AgendaItem>,
    /// Chair who signs (議長 / 委員長) and the signing members (会議録署名議員).
    pub chair: Option<String>,
    pub signers: Vec<String>,
    pub consultation: ConsultationMeta,
    pub conventions: Conventions,
    /// Who drafts the minutes (書記, the clerk): the author of the DOCX. Consultations use
    /// the caseworker.
    pub clerk: Option<String>,
    /// The municipality's own 誤 = "正" pairs (`[terms]`), applied to the draft with those
    /// of `--terms`: 配布資料 = "配付資料", a place name the recogniser misspells.
    pub terms: std::collections::BTreeMap<String, String>,
}

/// A council's style file (`--style FILE`): the `[conventions]` a clerk sets once for every
/// meeting (the table itself, or its keys at the top level).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Style(toml::Table);

impl Style {
    pub fn load(path: &Path) -> anyhow::Result<Style> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read style file {}", path.display()))?;
        let style = Style::parse(&text).with_context(|| format!("in {}", path.display()))?;
        Ok(style)
    }

    pub fn parse(text: &str) -> anyhow::Result<Style> {
        let mut t: toml::Table = toml::from_str(text).context("not a TOML style file")?;
        let t = match t.remove("conventions") {
            Some(toml::Value::Table(c)) if t.is_empty() => c,
            Some(_) => anyhow::bail!("a style file holds only a [conventions] table"),
            None => t,
        };
        let style = Style(t);
        // Unknown keys and wrong types are reported now, not at the first draft.
        style.apply(&Conventions::default())?;
        Ok(style)
    }

    /// `base` with the keys of the style file set over it.
    pub fn apply(&self, base: &Conventions) -> anyhow::Result<Conventions> {
        let mut t = toml::Table::try_from(base).context("conventions")?;
        for (k, v) in &self.0 {
            t.insert(k.clone(), v.clone());
        }
        t.try_into().context("not valid [conventions]")
    }
}

impl MeetingMeta {
    /// Sets the keys of a council's style file over this meeting's conventions.
    pub fn apply_style(&mut self, style: &Style) -> anyhow::Result<()> {
        self.conventions = style.apply(&self.conventions)?;
        Ok(())
    }

    /// Reads a TOML (`.toml`) or JSON (anything else) metadata file.
    pub fn load(path: &Path) -> anyhow::Result<MeetingMeta> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read meeting metadata {}", path.display()))?;
        let meta: MeetingMeta = if path.extension().is_some_and(|e| e == "toml") {
            toml::from_str(&text)
                .with_context(|| format!("{} is not valid meeting metadata", path.display()))?
        } else {
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not valid meeting metadata", path.display()))?
        };
        meta.validate()
            .with_context(|| format!("in {}", path.display()))?;
        Ok(meta)
    }

    /// Whether the metadata file at `path` says which kind of meeting it is: without `kind`
    /// it would be drafted as a plenary session, which a committee's clerk would not expect.
    pub fn declares_kind(path: &Path) -> anyhow::Result<bool> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read meeting metadata {}", path.display()))?;
        Ok(if path.extension().is_some_and(|e| e == "toml") {
            let v: toml::Table = toml::from_str(&text)
                .with_context(|| format!("{} is not valid meeting metadata", path.display()))?;
            v.contains_key("kind")
        } else {
            let v: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not valid meeting metadata", path.display()))?;
            v.get("kind").is_some()
        })
    }

    /// Checks the fields whose format matters (dates, clock times).
    pub fn validate(&self) -> anyhow::Result<()> {
        if let Some(d) = &self.date {
            self.parsed_date()
                .with_context(|| format!("date {d:?} is not YYYY-MM-DD"))?;
        }
        for (name, v) in [
            ("recording_start", &self.recording_start),
            ("start_time", &self.start_time),
            ("end_time", &self.end_time),
        ] {
            if let Some(v) = v {
                if super::style::parse_clock(v).is_none() {
                    anyhow::bail!("{name} {v:?} is not a clock time like 13:00");
                }
            }
        }
        for a in &self.agenda {
            if let Some(at) = &a.at {
                if agenda_at(at).is_none() {
                    anyhow::bail!(
                        "agenda item {:?}: at = {at} is neither seconds nor HH:MM",
                        a.title
                    );
                }
            }
        }
        if self.conventions.recess_minutes.is_nan() || self.conventions.recess_minutes <= 0.0 {
            anyhow::bail!("conventions.recess_minutes must be positive");
        }
        Ok(())
    }

    pub fn parsed_date(&self) -> anyhow::Result<Option<chrono::NaiveDate>> {
        match &self.date {
            None => Ok(None),
            Some(d) => Ok(Some(chrono::NaiveDate::parse_from_str(
                d.trim(),
                "%Y-%m-%d",
            )?)),
        }
    }

    pub fn digits(&self) -> Digits {
        self.conventions.digits.unwrap_or(match self.kind {
            MeetingKind::Committee => Digits::Fullwidth,
            _ => Digits::Official,
        })
    }

    pub fn time_style(&self) -> TimeStyle {
        self.conventions.time_style.unwrap_or(match self.kind {
            MeetingKind::Committee => TimeStyle::Padded,
            _ => TimeStyle::Plain,
        })
    }

    pub fn open_word(&self) -> &str {
        self.conventions.open_word.as_deref().unwrap_or("開会")
    }

    pub fn resume_word(&self) -> &str {
        self.conventions
            .resume_word
            .as_deref()
            .unwrap_or(match self.kind {
                MeetingKind::Plenary => "開議",
                _ => "再開",
            })
    }

    pub fn close_word(&self) -> &str {
        self.conventions
            .close_word
            .as_deref()
            .unwrap_or(match self.kind {
                MeetingKind::Plenary => "散会",
                _ => "閉会",
            })
    }
}

/// An agenda time as seconds into the recording (number) or clock time (string), tagged.
pub(crate) enum AgendaAt {
    Offset(f64),
    Clock(f64),
}

pub(crate) fn agenda_at(v: &toml::Value) -> Option<AgendaAt> {
    match v {
        toml::Value::Integer(i) if *i >= 0 => Some(AgendaAt::Offset(*i as f64)),
        toml::Value::Float(f) if *f >= 0.0 => Some(AgendaAt::Offset(*f)),
        toml::Value::String(s) => super::style::parse_clock(s).map(AgendaAt::Clock),
        _ => None,
    }
}
