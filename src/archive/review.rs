//! What the review editor reads and writes: the versions of a meeting's transcript, saving a
//! human revision with conflict detection (two clerks editing the same meeting), the
//! differences between two versions, the recording and the meeting's metadata.
//!
//! Every version is kept: version 1 is the machine's verbatim text and is never overwritten; a
//! save that was based on an older version than the latest is refused (the caller keeps its
//! copy and decides), never merged silently.

use super::files::StoredFile;
use super::{now, Archive, Viewer};
use crate::transcript::{uses_spaces, Transcript};
use anyhow::Context;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

/// One saved version of a meeting's transcript.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Version {
    pub version: i64,
    /// "machine", "revision" or "minutes-text".
    pub origin: String,
    /// Who saved it ("" for the machine draft).
    pub author: String,
    pub note: String,
    pub created_at: String,
}

/// Why a revision was not saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// Someone saved a newer version since the one the edit started from.
    #[error("version {latest} was saved by {author} at {at} after the version you edited ({base}): reload it, or save again to keep yours")]
    Conflict {
        base: i64,
        latest: i64,
        author: String,
        at: String,
    },
    /// The transcript does not hold together (times, words, speakers).
    #[error("the transcript cannot be saved: {0}")]
    Invalid(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// The differences between two versions, by the words of the later one.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VersionDiff {
    pub from: i64,
    pub to: i64,
    /// Speakers renamed between the versions (id, old name, new name).
    pub renamed: Vec<Renamed>,
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Renamed {
    pub id: String,
    pub from: String,
    pub to: String,
}

/// A changed stretch of text, or a segment given to another speaker.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Change {
    /// Index of the segment in the later version where the change lands (None past its end).
    pub segment: Option<usize>,
    /// Time of that segment, to jump there.
    pub start: f64,
    pub speaker_from: Option<String>,
    pub speaker_to: Option<String>,
    pub ops: Vec<DiffOp>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DiffOp {
    /// "equal" (context), "delete" or "insert".
    pub op: &'static str,
    pub text: String,
}

const REVIEW_COLUMNS: [(&str, &str); 2] = [
    (
        "author",
        "ALTER TABLE transcripts ADD COLUMN author TEXT NOT NULL DEFAULT ''",
    ),
    (
        "note",
        "ALTER TABLE transcripts ADD COLUMN note TEXT NOT NULL DEFAULT ''",
    ),
];

/// Words of context shown around a change in a diff.
const CONTEXT_WORDS: usize = 4;

impl Archive {
    /// Adds the columns the editor needs to catalogs written before it existed.
    pub(crate) fn init_review(&self) -> anyhow::Result<()> {
        let mut st = self.db.prepare("PRAGMA table_info(transcripts)")?;
        let have: Vec<String> = st
            .query_map([], |r| r.get::<_, String>(1))?
            .collect::<Result<_, _>>()?;
        for (col, sql) in REVIEW_COLUMNS {
            if !have.iter().any(|c| c == col) {
                self.db
                    .execute_batch(sql)
                    .with_context(|| format!("cannot add column {col} to the catalog"))?;
            }
        }
        Ok(())
    }

    /// The transcript versions of a meeting, oldest first.
    pub fn versions(&self, viewer: &Viewer, id: i64) -> anyhow::Result<Vec<Version>> {
        self.summary(viewer, id)?;
        let mut st = self.db.prepare(
            "SELECT version, origin, author, note, created_at FROM transcripts
             WHERE meeting_id = ?1 ORDER BY version",
        )?;
        let rows = st.query_map([id], |r| {
            Ok(Version {
                version: r.get(0)?,
                origin: r.get(1)?,
                author: r.get(2)?,
                note: r.get(3)?,
                created_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A version of the meeting's transcript (the latest when `version` is None).
    pub fn transcript(
        &self,
        viewer: &Viewer,
        id: i64,
        version: Option<i64>,
    ) -> anyhow::Result<(i64, Transcript)> {
        self.summary(viewer, id)?;
        let row: Option<(i64, String, String)> = match version {
            Some(v) => self
                .db
                .query_row(
                    "SELECT version, file, origin FROM transcripts WHERE meeting_id = ?1 AND version = ?2",
                    params![id, v],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?,
            None => self
                .db
                .query_row(
                    "SELECT version, file, origin FROM transcripts WHERE meeting_id = ?1
                     ORDER BY version DESC LIMIT 1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?,
        };
        let Some((v, file, origin)) = row else {
            return Err(match version {
                Some(v) => NoTranscript::Version(id, v).into(),
                None => NoTranscript::None(id).into(),
            });
        };
        if origin == "minutes-text" {
            return Err(NoTranscript::MinutesText(id).into());
        }
        let bytes = self.read_meeting_file(id, &file)?;
        let t: Transcript = serde_json::from_slice(&bytes)
            .with_context(|| format!("version {v} of meeting {id} is not a readable transcript"))?;
        self.audit(viewer, "open", Some(id), &format!("transcript v{v}"))?;
        Ok((v, t))
    }

    /// The minutes text a meeting was imported from (`archive import-minutes`): its file name
    /// as imported and its bytes. Needs the export right, as a minutes download does.
    pub fn minutes_source(&self, viewer: &Viewer, id: i64) -> anyhow::Result<(String, Vec<u8>)> {
        self.permit(viewer, id, super::Action::Export)?;
        let file: Option<String> = self
            .db
            .query_row(
                "SELECT file FROM transcripts WHERE meeting_id = ?1 AND origin = 'minutes-text'
                 ORDER BY version LIMIT 1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        let Some(file) = file else {
            return Err(NoTranscript::NoMinutesText(id).into());
        };
        let bytes = self.read_meeting_file(id, &file)?;
        self.audit(viewer, "export", Some(id), "minutes source text")?;
        let name = file.strip_prefix("source-").unwrap_or(&file).to_string();
        Ok((name, bytes))
    }

    /// Saves an edited transcript as a new version, if `base` is still the latest version;
    /// its turns replace the searchable ones.
    pub fn save_revision(
        &mut self,
        viewer: &Viewer,
        id: i64,
        base: i64,
        t: &Transcript,
        note: &str,
    ) -> Result<i64, SaveError> {
        self.permit(viewer, id, super::Action::Edit)?;
        validate(t).map_err(SaveError::Invalid)?;
        let _lock = self.write_lock()?;
        let latest: Option<(i64, String, String)> = self
            .db
            .query_row(
                "SELECT version, author, created_at FROM transcripts WHERE meeting_id = ?1
                 ORDER BY version DESC LIMIT 1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(anyhow::Error::from)?;
        if let Some((latest, author, at)) = latest {
            if latest != base {
                return Err(SaveError::Conflict {
                    base,
                    latest,
                    author: if author.is_empty() {
                        "the machine".into()
                    } else {
                        author
                    },
                    at,
                });
            }
        }
        let bytes = serde_json::to_vec(t).map_err(anyhow::Error::from)?;
        let v = self.insert_revision(id, &bytes, t, &viewer.name, note)?;
        self.audit(viewer, "edit", Some(id), &format!("transcript v{v}"))?;
        Ok(v)
    }

    /// Stores a revision (the write lock is held by the caller): file, catalog row, turns,
    /// speakers, then the index.
    pub(crate) fn insert_revision(
        &mut self,
        id: i64,
        bytes: &[u8],
        t: &Transcript,
        author: &str,
        note: &str,
    ) -> anyhow::Result<i64> {
        let turns = super::transcript_turns(t);
        let version: i64 = self.db.query_row(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM transcripts WHERE meeting_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        let file = format!("transcript-v{version}.json");
        self.write_meeting_file(id, &file, bytes)?;
        let tx = self.db.transaction()?;
        tx.execute(
            "INSERT INTO transcripts (meeting_id, version, origin, file, model, created_at, author, note)
             VALUES (?1, ?2, 'revision', ?3, ?4, ?5, ?6, ?7)",
            params![id, version, file, t.model.name, now(), author, note],
        )?;
        tx.execute("DELETE FROM turns WHERE meeting_id = ?1", [id])?;
        tx.execute("DELETE FROM speakers WHERE meeting_id = ?1", [id])?;
        for s in &t.speakers {
            tx.execute(
                "INSERT INTO speakers (meeting_id, key, name, role) VALUES (?1, ?2, ?3, ?4)",
                params![id, s.id, s.display(), s.role],
            )?;
        }
        super::insert_turns(&tx, id, &turns)?;
        tx.execute("UPDATE meetings SET state = 'pending' WHERE id = ?1", [id])?;
        tx.commit()?;
        self.index_meetings(&[id], false)?;
        Ok(version)
    }

    /// What changed from version `from` to version `to`.
    pub fn diff_versions(
        &self,
        viewer: &Viewer,
        id: i64,
        from: i64,
        to: i64,
    ) -> anyhow::Result<VersionDiff> {
        let (_, a) = self.transcript(viewer, id, Some(from))?;
        let (_, b) = self.transcript(viewer, id, Some(to))?;
        Ok(diff(&a, &b, from, to))
    }

    /// The meeting's recording, opened for streaming reads, and its stored file name.
    pub fn recording(
        &self,
        viewer: &Viewer,
        id: i64,
    ) -> anyhow::Result<Option<(StoredFile, String)>> {
        self.summary(viewer, id)?;
        let file: Option<String> = self
            .db
            .query_row(
                "SELECT file FROM recordings WHERE meeting_id = ?1 AND file IS NOT NULL LIMIT 1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        match file {
            Some(f) => Ok(Some((self.open_meeting_file(id, &f)?, f))),
            None => Ok(None),
        }
    }

    /// The meeting's metadata as TOML, for drafting minutes: `minutes.toml` (what the upload
    /// form said, with the minutes' own fields) when there is one, else `meeting.toml`.
    pub fn meeting_meta_toml(&self, viewer: &Viewer, id: i64) -> anyhow::Result<String> {
        self.summary(viewer, id)?;
        let folder = self.meeting_folder(id);
        let name = if folder.join("minutes.toml").exists() {
            "minutes.toml"
        } else {
            "meeting.toml"
        };
        let bytes = self.read_meeting_file(id, name)?;
        String::from_utf8(bytes).context("the meeting's metadata is not UTF-8")
    }

    /// Stores the minutes' metadata (`minutes.toml`) beside a meeting archived from an upload.
    pub fn set_meeting_meta_toml(
        &self,
        viewer: &Viewer,
        id: i64,
        toml: &str,
    ) -> anyhow::Result<()> {
        self.permit(viewer, id, super::Action::Edit)?;
        self.write_meeting_file(id, "minutes.toml", toml.as_bytes())
    }
}

/// A meeting without the transcript asked for.
#[derive(Debug, thiserror::Error)]
pub enum NoTranscript {
    #[error("meeting {0} has no transcript")]
    None(i64),
    #[error("meeting {0} has no transcript version {1}")]
    Version(i64, i64),
    #[error("meeting {0} has no transcript (imported from minutes text)")]
    MinutesText(i64),
    #[error("meeting {0} was not imported from minutes text")]
    NoMinutesText(i64),
}

/// Checks what the editor sends before it is kept: times in order and inside the recording,
/// words inside their segment, known speakers, a supported schema.
pub fn validate(t: &Transcript) -> Result<(), String> {
    if t.schema_version != crate::transcript::SCHEMA_VERSION {
        return Err(format!(
            "schema version {} is not {}",
            t.schema_version,
            crate::transcript::SCHEMA_VERSION
        ));
    }
    let ok = |x: f64| x.is_finite() && x >= 0.0;
    let limit = if t.source.duration > 0.0 {
        t.source.duration + 1.0
    } else {
        f64::MAX
    };
    let mut ids = std::collections::HashSet::new();
    for s in &t.speakers {
        if !ids.insert(s.id.as_str()) {
            return Err(format!("speaker id {} appears twice", s.id));
        }
        if s.name.as_deref().is_some_and(|n| n.chars().count() > 100) {
            return Err(format!("the name of speaker {} is too long", s.id));
        }
    }
    let mut prev = 0.0f64;
    for (i, s) in t.segments.iter().enumerate() {
        if !ok(s.start) || !ok(s.end) || s.end < s.start || s.end > limit {
            return Err(format!(
                "segment {} has impossible times ({} – {})",
                i + 1,
                s.start,
                s.end
            ));
        }
        if s.start + 0.01 < prev {
            return Err(format!("segment {} starts before the one before it", i + 1));
        }
        prev = s.start;
        if let Some(sp) = &s.speaker {
            if !ids.contains(sp.as_str()) {
                return Err(format!("segment {} names an unknown speaker {sp}", i + 1));
            }
        }
        for w in &s.words {
            if !ok(w.start) || !ok(w.end) || w.end < w.start {
                return Err(format!("a word of segment {} has impossible times", i + 1));
            }
            if w.start + 0.05 < s.start || w.end > s.end + 0.05 {
                return Err(format!("a word of segment {} lies outside it", i + 1));
            }
            if let Some(sp) = &w.speaker {
                if !ids.contains(sp.as_str()) {
                    return Err(format!(
                        "a word of segment {} names an unknown speaker {sp}",
                        i + 1
                    ));
                }
            }
        }
    }
    for tu in &t.turns {
        if !ids.contains(tu.speaker.as_str()) {
            return Err(format!("a turn names an unknown speaker {}", tu.speaker));
        }
    }
    Ok(())
}

/// The words of a transcript with the segment each belongs to. Segments without words (text
/// typed over) count their text's words (or characters, in languages without spaces).
fn tokens(t: &Transcript) -> Vec<(String, usize)> {
    let spaces = uses_spaces(&t.language);
    let mut out = Vec::new();
    for (i, s) in t.segments.iter().enumerate() {
        if !s.words.is_empty() {
            out.extend(
                s.words
                    .iter()
                    .map(|w| w.text.trim().to_string())
                    .filter(|w| !w.is_empty())
                    .map(|w| (w, i)),
            );
        } else if spaces {
            out.extend(s.text.split_whitespace().map(|w| (w.to_string(), i)));
        } else {
            out.extend(
                s.text
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .map(|c| (c.to_string(), i)),
            );
        }
    }
    out
}

/// Word-level differences (Myers) grouped by the later version's segments, with a little
/// context, plus speaker renames and segments given to another speaker.
pub fn diff(a: &Transcript, b: &Transcript, from: i64, to: i64) -> VersionDiff {
    let sep = if uses_spaces(&b.language) { " " } else { "" };
    let ta = tokens(a);
    let tb = tokens(b);
    let wa: Vec<&str> = ta.iter().map(|t| t.0.as_str()).collect();
    let wb: Vec<&str> = tb.iter().map(|t| t.0.as_str()).collect();
    let ops = similar::capture_diff_slices(similar::Algorithm::Myers, &wa, &wb);
    let join = |ws: &[&str]| ws.join(sep);
    let seg_of = |bi: usize| tb.get(bi).map(|t| t.1).or_else(|| tb.last().map(|t| t.1));
    let mut changes: Vec<Change> = Vec::new();
    let n = ops.len();
    for (k, op) in ops.iter().enumerate() {
        use similar::DiffOp as D;
        let (del, ins, new_at) = match *op {
            D::Equal { .. } => continue,
            D::Delete {
                old_index,
                old_len,
                new_index,
            } => (old_index..old_index + old_len, 0..0, new_index),
            D::Insert {
                new_index, new_len, ..
            } => (0..0, new_index..new_index + new_len, new_index),
            D::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => (
                old_index..old_index + old_len,
                new_index..new_index + new_len,
                new_index,
            ),
        };
        let segment = seg_of(new_at);
        let mut list = Vec::new();
        // Context before, from the equal run that precedes (same segment only).
        if k > 0 {
            if let D::Equal { new_index, len, .. } = ops[k - 1] {
                let from_i = (new_index + len)
                    .saturating_sub(CONTEXT_WORDS)
                    .max(new_index);
                let ctx: Vec<&str> = (from_i..new_index + len)
                    .filter(|&i| Some(tb[i].1) == segment)
                    .map(|i| wb[i])
                    .collect();
                if !ctx.is_empty() {
                    list.push(DiffOp {
                        op: "equal",
                        text: join(&ctx),
                    });
                }
            }
        }
        if !del.is_empty() {
            list.push(DiffOp {
                op: "delete",
                text: join(&wa[del]),
            });
        }
        if !ins.is_empty() {
            list.push(DiffOp {
                op: "insert",
                text: join(&wb[ins]),
            });
        }
        if k + 1 < n {
            if let D::Equal { new_index, len, .. } = ops[k + 1] {
                let ctx: Vec<&str> = (new_index..(new_index + len).min(new_index + CONTEXT_WORDS))
                    .filter(|&i| Some(tb[i].1) == segment)
                    .map(|i| wb[i])
                    .collect();
                if !ctx.is_empty() {
                    list.push(DiffOp {
                        op: "equal",
                        text: join(&ctx),
                    });
                }
            }
        }
        let start = segment.map(|s| b.segments[s].start).unwrap_or(0.0);
        changes.push(Change {
            segment,
            start,
            speaker_from: None,
            speaker_to: None,
            ops: list,
        });
    }
    // Segments whose speaker changed: compare with the earlier version's segment that overlaps
    // it most in time (ids can be renumbered, so names are compared).
    for (i, s) in b.segments.iter().enumerate() {
        let best = a
            .segments
            .iter()
            .map(|x| ((x.end.min(s.end) - x.start.max(s.start)).max(0.0), x))
            .filter(|(o, _)| *o > 0.0)
            .max_by(|p, q| p.0.total_cmp(&q.0));
        let Some((_, old)) = best else { continue };
        let name_a = old
            .speaker
            .as_deref()
            .map(|id| a.speaker_display(id).to_string());
        let name_b = s
            .speaker
            .as_deref()
            .map(|id| b.speaker_display(id).to_string());
        let renamed = old.speaker == s.speaker;
        if name_a != name_b && !renamed {
            changes.push(Change {
                segment: Some(i),
                start: s.start,
                speaker_from: name_a,
                speaker_to: name_b,
                ops: Vec::new(),
            });
        }
    }
    changes.sort_by(|x, y| x.start.total_cmp(&y.start));
    let renamed = b
        .speakers
        .iter()
        .filter_map(|sb| {
            let sa = a.speaker(&sb.id)?;
            (sa.display() != sb.display()).then(|| Renamed {
                id: sb.id.clone(),
                from: sa.display().to_string(),
                to: sb.display().to_string(),
            })
        })
        .collect();
    VersionDiff {
        from,
        to,
        renamed,
        changes,
    }
}

/// A meeting as the web app's list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    #[serde(flatten)]
    pub summary: super::MeetingSummary,
    /// Length of the recording in seconds, when there is one.
    pub duration: Option<f64>,
    pub has_audio: bool,
    /// Latest transcript version (None for minutes imported as text).
    pub version: Option<i64>,
}

impl Archive {
    /// The meetings this viewer may read, with what the web app's list shows about them.
    pub fn listings(&self, viewer: &Viewer) -> anyhow::Result<Vec<Listing>> {
        self.list(viewer)?
            .into_iter()
            .map(|summary| self.listing_of(summary))
            .collect()
    }

    /// One meeting as the web app's list shows it, if this viewer may read it.
    pub fn listing(&self, viewer: &Viewer, id: i64) -> anyhow::Result<Listing> {
        let summary = self.summary(viewer, id)?;
        self.listing_of(summary)
    }

    fn listing_of(&self, summary: super::MeetingSummary) -> anyhow::Result<Listing> {
        let (duration, audio, version): (Option<f64>, i64, Option<i64>) = self.db.prepare_cached(
            "SELECT (SELECT MAX(duration) FROM recordings WHERE meeting_id = ?1),
                    (SELECT COUNT(*) FROM recordings WHERE meeting_id = ?1 AND file IS NOT NULL),
                    (SELECT MAX(version) FROM transcripts WHERE meeting_id = ?1 AND origin != 'minutes-text')",
        )?
        .query_row([summary.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(Listing {
            summary,
            duration,
            has_audio: audio > 0,
            version,
        })
    }
}
