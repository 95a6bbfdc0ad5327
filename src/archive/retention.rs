//! How long records are kept, purging the expired ones, and removal that survives a crash.
//!
//! **Retention** is set per kind of meeting in `<data>/retention.toml` (a file the
//! administrator edits; absent = the defaults):
//!
//! ```toml
//! # years a record is kept, counted from the meeting's date; "forever" keeps it
//! consultation = 5      # the default: 相談記録 are kept five years
//! meeting = 10
//! council = "forever"   # the default for every other kind
//! ```
//!
//! `gijiroku archive purge [--dry-run]` and [`Archive::purge_expired`] (the web admin page)
//! remove every record whose date + period has passed: the same complete removal as `archive
//! remove` — recording, every transcript version, minutes, index entries, catalog rows
//! (overwritten: `secure_delete`, then a WAL checkpoint), the `voiceprints` rows of its
//! speakers and the enrolled voiceprints (`voiceprints.json`) whose sources name the meeting
//! (see [`voiceprint_source`]) — and write each purge to the audit log.
//!
//! **Crash-safe removal** (issue 19): a removal marks the meeting `removing` first, so the
//! next open finishes it. The search index is only a cache of the catalog: when tantivy fails
//! (a kill -9 inside a commit can leave files its next commit collides with), the removal
//! still deletes the files and rows, and the index is rebuilt from the catalog whatever state
//! its folder is in. `GIJIROKU_FAULT=<point>` aborts the process at a named point, so tests
//! reproduce crashes exactly instead of by timing luck.

use super::{Archive, Removed, Viewer};
use anyhow::{bail, Context};
use chrono::{Months, NaiveDate};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The retention file in the data folder.
pub const RETENTION_FILE: &str = "retention.toml";

/// Years each kind is kept by default (kinds not listed are kept forever).
const DEFAULT_YEARS: &[(&str, u32)] = &[("consultation", 5)];

/// How long each kind of record is kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Retention {
    /// Kind → years; a kind absent here is kept forever.
    pub years: BTreeMap<String, u32>,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            years: DEFAULT_YEARS
                .iter()
                .map(|(k, y)| (k.to_string(), *y))
                .collect(),
        }
    }
}

impl Retention {
    /// Reads `retention.toml` over the defaults: a kind given a number of years, or
    /// `"forever"`.
    pub fn parse(text: &str) -> anyhow::Result<Retention> {
        let table: toml::Table = toml::from_str(text).context("not valid TOML")?;
        let mut r = Retention::default();
        for (kind, v) in table {
            super::MeetingKind::parse(&kind)?;
            match v {
                toml::Value::Integer(y) if (1..=200).contains(&y) => {
                    r.years.insert(kind, y as u32);
                }
                toml::Value::String(s) if s == "forever" => {
                    r.years.remove(&kind);
                }
                other => bail!("{kind} = {other}: give a number of years (1–200) or \"forever\""),
            }
        }
        Ok(r)
    }

    /// The retention of an archive (its `retention.toml`, else the defaults).
    pub fn load(data: &std::path::Path) -> anyhow::Result<Retention> {
        let path = data.join(RETENTION_FILE);
        match std::fs::read_to_string(&path) {
            Ok(t) => Retention::parse(&t).with_context(|| format!("in {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Retention::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// The first day a record of `kind` dated `date` is expired (`None`: kept forever).
    pub fn expires_on(&self, kind: &str, date: NaiveDate) -> Option<NaiveDate> {
        let years = *self.years.get(kind)?;
        // Months: 29 February + 1 year is 28 February (chrono clamps to the month's end).
        date.checked_add_months(Months::new(years * 12))
    }
}

/// What a purge removed (or, with `dry_run`, would remove).
#[derive(Debug, Clone, Serialize)]
pub struct Purged {
    #[serde(flatten)]
    pub removed: Removed,
    pub kind: String,
    pub date: String,
    pub expired_on: String,
    /// Enrolled voiceprints removed with it (names).
    pub voiceprints: Vec<String>,
}

/// The `sources` entry an enrolled voiceprint taken from a meeting's recording should carry
/// (`meeting 12 30.5-41.0s`), so that purging the meeting purges the voiceprint too.
pub fn voiceprint_source(meeting_id: i64, what: &str) -> String {
    format!("meeting {meeting_id} {what}")
}

/// Aborts the process at a named point when `GIJIROKU_FAULT` names it (crash tests).
pub fn fault(point: &str) {
    static WANTED: OnceLock<Option<String>> = OnceLock::new();
    let wanted = WANTED.get_or_init(|| std::env::var("GIJIROKU_FAULT").ok());
    if wanted.as_deref() == Some(point) {
        eprintln!("gijiroku: GIJIROKU_FAULT={point}: aborting");
        std::process::abort();
    }
}

impl Archive {
    /// The archive's retention periods (`retention.toml`, else the defaults).
    pub fn retention(&self) -> anyhow::Result<Retention> {
        Retention::load(&self.dir)
    }

    /// Removes every record (that `viewer` may delete) whose retention has run out by `today`;
    /// with `dry_run` nothing is removed and the list says what would be.
    pub fn purge_expired(
        &mut self,
        viewer: &Viewer,
        today: NaiveDate,
        dry_run: bool,
    ) -> anyhow::Result<Vec<Purged>> {
        let retention = self.retention()?;
        let _lock = self.write_lock()?;
        let (cond, args) = viewer.sql_condition();
        let sql = format!(
            "SELECT id, kind, title, date, classification, department,
                    (SELECT COUNT(*) FROM turns t WHERE t.meeting_id = m.id)
             FROM meetings m WHERE state != 'removing' AND {cond} ORDER BY date, id"
        );
        type Row = (i64, String, String, String, String, String, i64);
        let rows: Vec<Row> = {
            let mut st = self.db.prepare(&sql)?;
            let rows = st.query_map(rusqlite::params_from_iter(args.iter()), |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        let mut out = Vec::new();
        for (id, kind, title, date, class, dept, turns) in rows {
            if !viewer.may(super::Action::Delete, &class, &dept) {
                continue;
            }
            let Ok(d) = NaiveDate::parse_from_str(&date, "%Y-%m-%d") else {
                tracing::warn!("meeting {id} has an unreadable date {date:?}: not purged");
                continue;
            };
            let Some(expiry) = retention.expires_on(&kind, d) else {
                continue;
            };
            if today < expiry {
                continue;
            }
            let mut p = Purged {
                removed: Removed {
                    id,
                    title,
                    turns: turns as usize,
                    files: std::fs::read_dir(self.meeting_folder(id))
                        .map(|d| d.count())
                        .unwrap_or(0),
                },
                kind,
                date,
                expired_on: expiry.format("%Y-%m-%d").to_string(),
                voiceprints: self.voiceprints_from(id)?,
            };
            if !dry_run {
                self.db
                    .execute("UPDATE meetings SET state = 'removing' WHERE id = ?1", [id])?;
                p.removed.files = self.remove_unchecked(id)?;
                p.voiceprints = self.forget_voiceprints_from(id)?;
                self.audit(
                    viewer,
                    "purge",
                    Some(id),
                    &format!(
                        "{} dated {} expired on {} ({} turns, {} files)",
                        p.kind, p.date, p.expired_on, p.removed.turns, p.removed.files
                    ),
                )?;
            }
            out.push(p);
        }
        Ok(out)
    }

    /// Names of the enrolled voiceprints taken from meeting `id`. Read as plain JSON, so a
    /// store the current encoder refuses (old voiceprints) never blocks a purge.
    fn voiceprints_from(&self, id: i64) -> anyhow::Result<Vec<String>> {
        Ok(self
            .voiceprint_file()?
            .map(|(_, v)| matching_voiceprints(&v, id))
            .unwrap_or_default())
    }

    /// Deletes the enrolled voiceprints taken from meeting `id`; returns their names.
    fn forget_voiceprints_from(&self, id: i64) -> anyhow::Result<Vec<String>> {
        let Some((path, mut v)) = self.voiceprint_file()? else {
            return Ok(Vec::new());
        };
        let names = matching_voiceprints(&v, id);
        if !names.is_empty() {
            if let Some(list) = v.get_mut("speakers").and_then(|s| s.as_array_mut()) {
                list.retain(|e| {
                    !e.get("name")
                        .and_then(|n| n.as_str())
                        .is_some_and(|n| names.iter().any(|x| x == n))
                });
            }
            crate::util::write_atomic(&path, &serde_json::to_vec_pretty(&v)?)?;
        }
        Ok(names)
    }

    fn voiceprint_file(&self) -> anyhow::Result<Option<(std::path::PathBuf, serde_json::Value)>> {
        let path = crate::diarize::voiceprint::VoiceprintStore::path_in(&self.dir);
        match std::fs::read(&path) {
            Ok(b) => Ok(Some((
                path.clone(),
                serde_json::from_slice(&b)
                    .with_context(|| format!("{} is not a voiceprint file", path.display()))?,
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// A writer on the search index, after deleting files a killed process left that no
    /// commit refers to (tantivy would collide with them at its next commit).
    pub(crate) fn index_writer(
        &self,
        threads: usize,
        heap: usize,
    ) -> anyhow::Result<tantivy::IndexWriter> {
        let w = self.index()?.writer(threads, heap)?;
        w.garbage_collect_files()
            .wait()
            .context("cannot clean the search index folder")?;
        Ok(w)
    }

    /// Deletes a meeting's turns from the search index and rewrites the segments that held
    /// them, so their text leaves the disk.
    pub(crate) fn unindex_meeting(&self, id: i64) -> anyhow::Result<()> {
        let index = self.index()?;
        let mut w = self.index_writer(1, 32 << 20)?;
        index.delete_meeting(&w, id);
        fault("remove-before-index-commit");
        w.commit().context("cannot commit the search index")?;
        fault("remove-after-index-commit");
        super::purge_deleted(&mut w)?;
        fault("remove-after-index-purge");
        index.reload()?;
        Ok(())
    }

    /// A quick look (without opening tantivy) for an index folder no commit can use: files
    /// but no readable `meta.json`.
    pub(crate) fn index_looks_broken(&self) -> bool {
        let dir = self.dir.join("index");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return false;
        };
        let has_segments = entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().contains('.') && e.path().is_file());
        match std::fs::read(dir.join("meta.json")) {
            Ok(b) => serde_json::from_slice::<serde_json::Value>(&b).is_err(),
            Err(_) => has_segments,
        }
    }

    /// Deletes the search index folder and builds it again from the catalog (the caller holds
    /// the write lock). Works whatever state the folder is in: it is never read.
    pub(crate) fn rebuild_index(&mut self) -> anyhow::Result<usize> {
        self.db.execute(
            "UPDATE meetings SET state = 'pending' WHERE state = 'indexed'",
            [],
        )?;
        self.index = OnceLock::new();
        let dir = self.dir.join("index");
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot delete the old index {}", dir.display()))?;
        }
        let ids = self.ids_in_state("pending")?;
        self.index_meetings(&ids, true)
    }
}

/// Names of the voiceprints in a `voiceprints.json` whose sources name meeting `id`.
fn matching_voiceprints(v: &serde_json::Value, id: i64) -> Vec<String> {
    let prefix = voiceprint_source(id, "");
    let Some(list) = v.get("speakers").and_then(|s| s.as_array()) else {
        return Vec::new();
    };
    list.iter()
        .filter(|e| {
            e.get("sources")
                .and_then(|s| s.as_array())
                .is_some_and(|s| {
                    s.iter()
                        .any(|x| x.as_str().is_some_and(|x| x.starts_with(&prefix)))
                })
        })
        .filter_map(|e| e.get("name").and_then(|n| n.as_str()).map(String::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_reads_years_and_forever() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let r = Retention::default();
        assert_eq!(
            r.expires_on("consultation", d("2020-02-29")),
            Some(d("2025-02-28"))
        );
        assert_eq!(r.expires_on("council", d("2020-01-01")), None);
        let r = Retention::parse("meeting = 2\nconsultation = \"forever\"\n").unwrap();
        assert_eq!(
            r.expires_on("meeting", d("2020-01-01")),
            Some(d("2022-01-01"))
        );
        assert_eq!(r.expires_on("consultation", d("2020-01-01")), None);
        assert!(Retention::parse("meeting = 0").is_err());
        assert!(Retention::parse("meeting = \"5y\"").is_err());
        assert!(Retention::parse("party = 3").is_err());
        assert!(Retention::parse("meeting = ").is_err());
    }
}
