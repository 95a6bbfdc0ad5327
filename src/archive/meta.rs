//! Meeting metadata (`meeting.toml`), shared in shape with the minutes drafts:
//! `kind`, `title`, `body`, `date`, `place`, `start_time`, `classification`, `department`.
//! Unknown keys are ignored so one file can serve every command.

use anyhow::{bail, Context};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What kind of meeting a record comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MeetingKind {
    /// Plenary session of the assembly (本会議).
    Council,
    /// Committee of the assembly (委員会).
    Committee,
    /// Caseworker consultation (相談記録): confidential by default.
    Consultation,
    /// Any other internal meeting.
    Meeting,
}

impl MeetingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MeetingKind::Council => "council",
            MeetingKind::Committee => "committee",
            MeetingKind::Consultation => "consultation",
            MeetingKind::Meeting => "meeting",
        }
    }

    pub fn parse(s: &str) -> anyhow::Result<MeetingKind> {
        Ok(match s {
            "council" => MeetingKind::Council,
            "committee" => MeetingKind::Committee,
            "consultation" => MeetingKind::Consultation,
            "meeting" => MeetingKind::Meeting,
            _ => bail!(
                "unknown meeting kind {s:?} (expected council, committee, consultation or meeting)"
            ),
        })
    }

    /// Council and committee records are public by law; everything else starts confidential.
    pub fn default_classification(self) -> Classification {
        match self {
            MeetingKind::Council | MeetingKind::Committee => Classification::Public,
            _ => Classification::Confidential,
        }
    }
}

/// Who may read a record; access control and encryption are built on this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Classification {
    Public,
    /// Staff only (any department); never shown to the public.
    Internal,
    Confidential,
}

impl Classification {
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Public => "public",
            Classification::Internal => "internal",
            Classification::Confidential => "confidential",
        }
    }

    pub fn parse(s: &str) -> anyhow::Result<Classification> {
        Ok(match s {
            "public" => Classification::Public,
            "internal" => Classification::Internal,
            "confidential" => Classification::Confidential,
            _ => bail!("unknown classification {s:?} (expected public, internal or confidential)"),
        })
    }
}

/// `meeting.toml` as written by people: every key optional, unknown keys ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct MeetingToml {
    kind: Option<String>,
    title: Option<String>,
    body: Option<String>,
    date: Option<toml::Value>,
    place: Option<String>,
    start_time: Option<toml::Value>,
    classification: Option<String>,
    department: Option<String>,
}

/// Checked meeting metadata as the catalog stores it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeetingMeta {
    pub kind: MeetingKind,
    pub title: String,
    pub body: String,
    pub date: NaiveDate,
    pub place: Option<String>,
    pub start_time: Option<String>,
    pub classification: Classification,
    pub department: String,
}

impl MeetingMeta {
    /// Reads and checks a `meeting.toml`. `fallback_date` is used when the file has no date.
    pub fn load(path: &Path, fallback_date: Option<NaiveDate>) -> anyhow::Result<MeetingMeta> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read meeting metadata {}", path.display()))?;
        MeetingMeta::parse(&text, fallback_date)
            .with_context(|| format!("bad meeting metadata in {}", path.display()))
    }

    pub fn parse(text: &str, fallback_date: Option<NaiveDate>) -> anyhow::Result<MeetingMeta> {
        let raw: MeetingToml = toml::from_str(text).context("not valid TOML")?;
        let kind = match raw.kind.as_deref() {
            Some(k) => MeetingKind::parse(k.trim())?,
            None => MeetingKind::Meeting,
        };
        let date = match &raw.date {
            // TOML allows a bare date (date = 2024-06-10) as well as a string.
            Some(toml::Value::Datetime(d)) => parse_date(&d.to_string())?,
            Some(toml::Value::String(s)) => parse_date(s)?,
            Some(other) => bail!("date must look like \"2024-06-10\", not {other}"),
            None => fallback_date.context("no date: add date = \"YYYY-MM-DD\"")?,
        };
        let start_time = match &raw.start_time {
            Some(toml::Value::String(s)) => Some(s.trim().to_string()),
            Some(toml::Value::Datetime(d)) => Some(d.to_string()),
            Some(other) => bail!("start_time must look like \"10:00\", not {other}"),
            None => None,
        };
        let classification = match raw.classification.as_deref() {
            Some(c) => Classification::parse(c.trim())?,
            None => kind.default_classification(),
        };
        let title = raw.title.map(|t| t.trim().to_string()).unwrap_or_default();
        if title.is_empty() {
            bail!("no title: add title = \"…\"");
        }
        Ok(MeetingMeta {
            kind,
            body: raw
                .body
                .map(|b| b.trim().to_string())
                .filter(|b| !b.is_empty())
                .unwrap_or_else(|| title.clone()),
            title,
            date,
            place: raw.place.filter(|p| !p.trim().is_empty()),
            start_time,
            classification,
            department: raw.department.unwrap_or_default().trim().to_string(),
        })
    }
}

/// Parses `YYYY-MM-DD` with a message a person understands.
pub fn parse_date(s: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .with_context(|| format!("bad date {s:?} (expected YYYY-MM-DD, e.g. 2024-06-10)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_shared_shape_and_ignores_unknown_keys() {
        let m = MeetingMeta::parse(
            "kind = \"committee\"\ntitle = \"総務委員会\"\nbody = \"品川区議会\"\n\
             date = \"2024-06-10\"\nplace = \"第1委員会室\"\nstart_time = \"10:00\"\n\
             department = \"議会事務局\"\nattendees = [\"a\"]\n[extra]\nx = 1\n",
            None,
        )
        .unwrap();
        assert_eq!(m.kind, MeetingKind::Committee);
        assert_eq!(m.classification, Classification::Public);
        assert_eq!(m.date.to_string(), "2024-06-10");
        assert_eq!(m.start_time.as_deref(), Some("10:00"));
        let c = MeetingMeta::parse(
            "kind = \"consultation\"\ntitle = \"相談\"\ndate = 2024-06-10\n",
            None,
        )
        .unwrap();
        assert_eq!(c.classification, Classification::Confidential);
        assert!(MeetingMeta::parse(
            "kind = \"party\"\ntitle = \"x\"\ndate = \"2024-06-10\"",
            None
        )
        .is_err());
        assert!(MeetingMeta::parse("title = \"x\"\ndate = \"2024-13-10\"", None).is_err());
        assert!(MeetingMeta::parse(
            "title = \"x\"\ndate = \"2024-01-10\"\nclassification = \"secret\"",
            None
        )
        .is_err());
    }
}
