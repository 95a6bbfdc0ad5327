//! The queue of recordings waiting to be transcribed (the web server's uploads), kept in the
//! catalog so that it survives a restart: a job that was running when the process stopped is
//! queued again, and its uploaded file stays in `uploads/<job id>/` until the meeting is
//! archived. Owns the `jobs` table and the `uploads/` folder; it never runs the pipeline
//! itself (the server's worker does).

use super::{now, Archive, Viewer};
use anyhow::Context;
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user TEXT NOT NULL,
    state TEXT NOT NULL,                   -- 'queued', 'running', 'done', 'failed'
    stage TEXT NOT NULL,
    file_name TEXT NOT NULL,
    upload TEXT NOT NULL,                  -- relative to the data folder
    options TEXT NOT NULL,                 -- JSON of JobOptions
    meta TEXT NOT NULL,                    -- meeting metadata (TOML, minutes' and archive's fields)
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    classification TEXT NOT NULL,
    department TEXT NOT NULL,
    meeting_id INTEGER,
    error TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
);
";

/// How to transcribe an uploaded recording.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct JobOptions {
    /// "ja", "en", … or `None` to detect.
    pub language: Option<String>,
    /// Whisper model name (`models list`); `None` = the default.
    pub model: Option<String>,
    pub speakers: Option<usize>,
    pub min_speakers: Option<usize>,
    pub max_speakers: Option<usize>,
}

/// What an upload asks for, checked by the caller.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub file_name: String,
    pub options: JobOptions,
    /// Meeting metadata as TOML (readable by both `archive::MeetingMeta` and `minutes::MeetingMeta`).
    pub meta_toml: String,
    pub title: String,
    pub kind: String,
    pub classification: String,
    pub department: String,
}

/// A job as the server shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Job {
    pub id: i64,
    pub user: String,
    pub state: String,
    pub stage: String,
    pub file_name: String,
    pub title: String,
    pub kind: String,
    pub classification: String,
    pub department: String,
    pub meeting_id: Option<i64>,
    pub error: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    #[serde(skip)]
    pub upload: PathBuf,
    #[serde(skip)]
    pub options: JobOptions,
    #[serde(skip)]
    pub meta_toml: String,
}

const COLUMNS: &str = "id, user, state, stage, file_name, title, kind, classification, department,
    meeting_id, error, created_at, started_at, finished_at, upload, options, meta";

impl Archive {
    pub(crate) fn init_jobs(&self) -> anyhow::Result<()> {
        self.db
            .execute_batch(SCHEMA)
            .context("cannot set up the job queue")
    }

    /// The folder where uploads wait for their job (`uploads/`), created on demand.
    pub fn uploads_dir(&self) -> anyhow::Result<PathBuf> {
        let d = self.dir.join("uploads");
        create_private_dir(&d)?;
        Ok(d)
    }

    /// Queues a job for a file already received in full at `received` (in the uploads folder);
    /// the file is moved to `uploads/<job id>/` in the same step, so a crash leaves either no job
    /// and a stray file (deleted by [`Archive::clean_uploads`]) or a job with its file.
    pub fn queue_job(
        &self,
        viewer: &Viewer,
        received: &Path,
        spec: &JobSpec,
    ) -> anyhow::Result<Job> {
        let uploads = self.uploads_dir()?;
        let tx = self.db.unchecked_transaction()?;
        tx.execute(
            "INSERT INTO jobs (user, state, stage, file_name, upload, options, meta, title, kind,
                               classification, department, created_at)
             VALUES (?1, 'queued', 'queued', ?2, '', ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                viewer.name,
                spec.file_name,
                serde_json::to_string(&spec.options)?,
                spec.meta_toml,
                spec.title,
                spec.kind,
                spec.classification,
                spec.department,
                now()
            ],
        )?;
        let id = tx.last_insert_rowid();
        let dir = uploads.join(id.to_string());
        create_private_dir(&dir)?;
        let name = safe_file_name(&spec.file_name);
        let dest = dir.join(&name);
        std::fs::rename(received, &dest)
            .with_context(|| format!("cannot move the upload to {}", dest.display()))?;
        let rel = format!("uploads/{id}/{name}");
        tx.execute(
            "UPDATE jobs SET upload = ?1 WHERE id = ?2",
            params![rel, id],
        )?;
        tx.commit()?;
        self.job(id)?.context("the job vanished")
    }

    /// One job by id (no access check: see [`Archive::job_for`]).
    pub fn job(&self, id: i64) -> anyhow::Result<Option<Job>> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1");
        Ok(self
            .db
            .query_row(&sql, [id], |r| self.job_row(r))
            .optional()?)
    }

    /// One job, if this viewer may see it (their own; administrators see all).
    pub fn job_for(&self, viewer: &Viewer, id: i64) -> anyhow::Result<Option<Job>> {
        Ok(self
            .job(id)?
            .filter(|j| sees_all_jobs(viewer) || j.user == viewer.name))
    }

    /// The viewer's jobs (administrators: all), newest first.
    pub fn jobs(&self, viewer: &Viewer, limit: usize) -> anyhow::Result<Vec<Job>> {
        let sql = format!("SELECT {COLUMNS} FROM jobs ORDER BY id DESC");
        let mut st = self.db.prepare(&sql)?;
        let rows = st.query_map([], |r| self.job_row(r))?;
        let mut out = Vec::new();
        for j in rows {
            let j = j?;
            if sees_all_jobs(viewer) || j.user == viewer.name {
                out.push(j);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Takes the oldest queued job and marks it running.
    pub fn claim_job(&self) -> anyhow::Result<Option<Job>> {
        let tx = self.db.unchecked_transaction()?;
        let id: Option<i64> = tx
            .query_row(
                "SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = id else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE jobs SET state = 'running', stage = 'decoding', started_at = ?1 WHERE id = ?2",
            params![now(), id],
        )?;
        tx.commit()?;
        self.job(id)
    }

    pub fn set_job_stage(&self, id: i64, stage: &str) -> anyhow::Result<()> {
        self.db.execute(
            "UPDATE jobs SET stage = ?1 WHERE id = ?2",
            params![stage, id],
        )?;
        Ok(())
    }

    /// Marks a job done; its upload folder is deleted (the recording is in the archive now).
    pub fn finish_job(&self, id: i64, meeting_id: i64) -> anyhow::Result<()> {
        self.db.execute(
            "UPDATE jobs SET state = 'done', stage = 'done', meeting_id = ?1, finished_at = ?2
             WHERE id = ?3",
            params![meeting_id, now(), id],
        )?;
        let dir = self.dir.join("uploads").join(id.to_string());
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot delete {}", dir.display()))?;
        }
        Ok(())
    }

    /// Marks a job failed with a one-line reason; the upload is kept (nothing is lost).
    pub fn fail_job(&self, id: i64, error: &str) -> anyhow::Result<()> {
        self.db.execute(
            "UPDATE jobs SET state = 'failed', stage = 'failed', error = ?1, finished_at = ?2
             WHERE id = ?3",
            params![error, now(), id],
        )?;
        Ok(())
    }

    /// At start-up: jobs that were running when the process stopped are queued again, and
    /// files in `uploads/` that no job owns (an upload cut off, a crash before queueing) deleted.
    pub fn recover_jobs(&self) -> anyhow::Result<usize> {
        let n = self.db.execute(
            "UPDATE jobs SET state = 'queued', stage = 'queued', started_at = NULL
             WHERE state = 'running'",
            [],
        )?;
        let uploads = self.uploads_dir()?;
        let owned: std::collections::HashSet<String> = {
            let mut st = self
                .db
                .prepare("SELECT id FROM jobs WHERE state IN ('queued', 'failed')")?;
            let ids = st.query_map([], |r| r.get::<_, i64>(0))?;
            ids.map(|i| i.map(|i| i.to_string()))
                .collect::<Result<_, _>>()?
        };
        for e in std::fs::read_dir(&uploads)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if !owned.contains(&name) {
                tracing::warn!("deleting {} (no job owns it)", e.path().display());
                let r = if e.path().is_dir() {
                    std::fs::remove_dir_all(e.path())
                } else {
                    std::fs::remove_file(e.path())
                };
                r.with_context(|| format!("cannot delete {}", e.path().display()))?;
            }
        }
        Ok(n)
    }

    fn job_row(&self, r: &rusqlite::Row) -> rusqlite::Result<Job> {
        let upload: String = r.get(14)?;
        let options: String = r.get(15)?;
        Ok(Job {
            id: r.get(0)?,
            user: r.get(1)?,
            state: r.get(2)?,
            stage: r.get(3)?,
            file_name: r.get(4)?,
            title: r.get(5)?,
            kind: r.get(6)?,
            classification: r.get(7)?,
            department: r.get(8)?,
            meeting_id: r.get(9)?,
            error: r.get(10)?,
            created_at: r.get(11)?,
            started_at: r.get(12)?,
            finished_at: r.get(13)?,
            upload: self.dir.join(upload),
            options: serde_json::from_str(&options).unwrap_or_default(),
            meta_toml: r.get(16)?,
        })
    }
}

/// Administrators see every job; everyone else their own.
fn sees_all_jobs(viewer: &Viewer) -> bool {
    viewer.is_admin()
}

/// Upload folders hold recordings not yet archived (maybe confidential): owner only.
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// A file name from a browser, reduced to something safe to create: no folders, no leading
/// dot, no control characters, at most 100 characters (the extension kept for the decoder).
pub fn safe_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| {
            if matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    let cleaned = if cleaned.chars().count() > 100 {
        let ext: String = Path::new(&cleaned)
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .filter(|e| e.chars().count() <= 10)
            .unwrap_or_default();
        let stem: String = cleaned.chars().take(100 - ext.chars().count()).collect();
        format!("{stem}{ext}")
    } else {
        cleaned
    };
    if cleaned.is_empty() {
        "recording".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::safe_file_name;

    #[test]
    fn file_names_from_browsers_cannot_leave_the_folder() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("C:\\Users\\a\\会議.m4a"), "会議.m4a");
        assert_eq!(safe_file_name(".."), "recording");
        assert_eq!(safe_file_name(".hidden.wav"), "hidden.wav");
        assert_eq!(safe_file_name("a\u{0}b\nc.wav"), "abc.wav");
        let long = format!("{}.wav", "あ".repeat(300));
        let s = safe_file_name(&long);
        assert_eq!(s.chars().count(), 100);
        assert!(s.ends_with(".wav"));
    }
}
