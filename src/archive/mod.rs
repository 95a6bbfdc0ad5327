//! The archive of meetings: a data folder with a SQLite catalog (`catalog.sqlite`), the files
//! beside it (`files/<meeting id>/`: transcripts, audio, minutes, source text), the Japanese
//! dictionary (`dict/`) and the search index (`index/`).
//!
//! The archive owns every write to these and every read of them: all reads take a
//! [`Viewer`] and go through [`access`], so access control, encryption at rest and an audit
//! log can be added in one place. Writes are transactional; the catalog records whether each
//! meeting is indexed (`state`), so a crash between the catalog and the index is finished at
//! the next [`Archive::open`] instead of leaving the two apart.

pub mod access;
pub mod audit;
pub mod confidential;
// The cipher lives at the crate root (uploads are sealed before they reach the archive).
pub use crate::crypt;
pub mod files;
pub mod jobs;
pub mod meta;
pub mod minutes_text;
pub mod retention;
pub mod review;
pub mod users;

use crate::search::{self, Filters, SearchIndex, SearchResult, TurnDoc};
use crate::transcript::Transcript;
use anyhow::{bail, Context};
use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use access::{Action, Forbidden, UploadForbidden, Viewer};
pub use audit::{AuditEntry, AuditQuery, AuditReport};
pub use files::StoredFile;
pub use meta::{Classification, MeetingKind, MeetingMeta};
pub use users::{AuthError, Role, Session, User, UserChange};

/// Version of the catalog's tables (SQLite `user_version`).
const CATALOG_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meetings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: ids of removed meetings never return
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    date TEXT NOT NULL,
    place TEXT,
    start_time TEXT,
    classification TEXT NOT NULL,
    department TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL,                  -- 'transcript' or 'minutes-text'
    source_sha256 TEXT NOT NULL,           -- of the imported file, to refuse duplicates
    created_at TEXT NOT NULL,
    state TEXT NOT NULL                    -- 'pending' (not yet indexed), 'indexed', 'removing'
);
CREATE INDEX IF NOT EXISTS meetings_date ON meetings(date);
CREATE TABLE IF NOT EXISTS recordings (
    id INTEGER PRIMARY KEY,
    meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    file TEXT,                             -- relative to the meeting's folder, when copied
    original_path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    duration REAL NOT NULL,
    codec TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS transcripts (
    id INTEGER PRIMARY KEY,
    meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,              -- 1 = machine draft, 2.. = human revisions
    origin TEXT NOT NULL,                  -- 'machine', 'revision', 'minutes-text'
    file TEXT NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (meeting_id, version)
);
CREATE TABLE IF NOT EXISTS speakers (
    id INTEGER PRIMARY KEY,
    meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    key TEXT NOT NULL,                     -- transcript speaker id (S1) or heading as written
    name TEXT NOT NULL,
    role TEXT,
    UNIQUE (meeting_id, key)
);
CREATE TABLE IF NOT EXISTS voiceprints (
    id INTEGER PRIMARY KEY,
    speaker_id INTEGER REFERENCES speakers(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    model TEXT NOT NULL,
    vector BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS minutes (
    id INTEGER PRIMARY KEY,
    meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    file TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    speaker TEXT NOT NULL,
    role TEXT,
    start REAL,
    end REAL,
    text TEXT NOT NULL,
    PRIMARY KEY (meeting_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS turns_speaker ON turns(speaker);
";

/// A meeting as `archive list` shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MeetingSummary {
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub date: String,
    pub classification: String,
    pub department: String,
    pub origin: String,
    pub turns: usize,
    pub speakers: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Recording {
    pub file: Option<String>,
    pub original_path: String,
    pub sha256: String,
    pub duration: f64,
    pub codec: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TranscriptVersion {
    pub version: i64,
    pub origin: String,
    pub file: String,
    pub model: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SpeakerEntry {
    pub name: String,
    pub role: Option<String>,
    pub turns: usize,
}

/// Everything `archive show` prints about a meeting.
#[derive(Debug, Clone, Serialize)]
pub struct MeetingDetail {
    #[serde(flatten)]
    pub summary: MeetingSummary,
    pub place: Option<String>,
    pub start_time: Option<String>,
    pub created_at: String,
    pub folder: String,
    pub recordings: Vec<Recording>,
    pub transcripts: Vec<TranscriptVersion>,
    pub minutes: Vec<String>,
    pub speakers: Vec<SpeakerEntry>,
}

/// One speaker turn as the catalog keeps it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TurnRow {
    pub seq: u32,
    pub speaker: String,
    pub role: Option<String>,
    pub start: Option<f64>,
    pub end: Option<f64>,
    pub text: String,
}

/// Options of `archive import-minutes`; empty ones are taken from the file.
#[derive(Debug, Clone, Default)]
pub struct MinutesImport {
    pub title: Option<String>,
    pub date: Option<NaiveDate>,
    pub kind: Option<MeetingKind>,
    pub body: Option<String>,
    pub classification: Option<Classification>,
    pub department: Option<String>,
}

/// A search as people ask it.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// Words, `AND`/`OR`/`NOT`, `"phrases"`; empty = filters only.
    pub query: String,
    pub filters: Filters,
    /// Only the turns that immediately answer this speaker's turns (DiscussNet's 答弁).
    pub answers_to: Option<String>,
    pub limit: usize,
}

/// What `remove` deleted, for the message to the user.
#[derive(Debug, Clone, Serialize)]
pub struct Removed {
    pub id: i64,
    pub title: String,
    pub turns: usize,
    pub files: usize,
}

/// No meeting with this id that the viewer may read: absent and unreadable look the same.
#[derive(Debug, thiserror::Error)]
#[error("there is no meeting {0} in the archive (see `archive list`)")]
pub struct NoSuchMeeting(pub i64);

/// The file was imported before (same bytes); importing it again is refused.
#[derive(Debug, thiserror::Error)]
#[error("{} is already in the archive as meeting {id}", path.display())]
pub struct AlreadyArchived {
    pub path: PathBuf,
    pub id: i64,
}

/// An open archive (one data folder).
pub struct Archive {
    dir: PathBuf,
    db: Connection,
    index: OnceLock<SearchIndex>,
    /// `<data>/.lock`: held by whoever writes, so recovery never mistakes another process's
    /// import in progress for the leftovers of a crash.
    lock: std::fs::File,
    /// The key of confidential records (see [`confidential`]), when given.
    key: Option<std::sync::Arc<crypt::Key>>,
}

/// Holds the archive's write lock until dropped.
struct WriteLock(std::fs::File);

impl Drop for WriteLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// Speaker turns longer than this are split so a hit can jump near the words, not to the
/// start of a half-hour speech.
const MAX_TURN_SECONDS: f64 = 120.0;

impl Archive {
    /// Opens (creating if needed) the archive in `dir` and finishes any write a crash
    /// interrupted.
    pub fn open(dir: &Path) -> anyhow::Result<Archive> {
        crate::util::create_private_dir_all(&dir.join("files"))
            .with_context(|| format!("cannot create the archive folder {}", dir.display()))?;
        let path = dir.join("catalog.sqlite");
        files::make_private(dir, &path)?;
        let db = Connection::open(&path)
            .with_context(|| format!("cannot open the catalog {}", path.display()))?;
        db.busy_timeout(std::time::Duration::from_secs(10))?;
        // secure_delete: removed records are overwritten, not left in free pages.
        db.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;",
        )
        .with_context(|| format!("{} is not a usable SQLite catalog", path.display()))?;
        let version: i64 = db.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > CATALOG_VERSION {
            bail!(
                "the catalog {} was written by a newer gijiroku (catalog version {version})",
                path.display()
            );
        }
        db.execute_batch(SCHEMA)
            .with_context(|| format!("cannot set up the catalog {}", path.display()))?;
        db.execute_batch(&format!("PRAGMA user_version = {CATALOG_VERSION}"))?;
        let lock_path = dir.join(".lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("cannot open {}", lock_path.display()))?;
        let mut a = Archive {
            dir: dir.to_path_buf(),
            db,
            index: OnceLock::new(),
            lock,
            key: None,
        };
        a.init_jobs()?;
        a.init_review()?;
        a.init_users()?;
        a.init_audit()?;
        a.init_crypt()?;
        // Recover only when nobody is writing: a busy lock means another gijiroku is
        // in the middle of its own (recoverable) work.
        match a.lock.try_lock() {
            Ok(()) => {
                let r = a.recover();
                let _ = a.lock.unlock();
                r?;
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                tracing::debug!("another gijiroku is writing to {}", dir.display())
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", lock_path.display()))
            }
        }
        Ok(a)
    }

    /// Waits for, then holds, the right to write to the archive.
    fn write_lock(&self) -> anyhow::Result<WriteLock> {
        let f = self.lock.try_clone()?;
        f.lock().context("cannot lock the archive for writing")?;
        Ok(WriteLock(f))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn meeting_dir(&self, id: i64) -> PathBuf {
        self.dir.join("files").join(id.to_string())
    }

    /// The search index, opened on first use (this may build the Japanese dictionary).
    pub fn index(&self) -> anyhow::Result<&SearchIndex> {
        if let Some(i) = self.index.get() {
            return Ok(i);
        }
        let i = SearchIndex::open(
            &self.dir.join("index"),
            &search::japanese::dictionary_dir(&self.dir),
        )?;
        Ok(self.index.get_or_init(|| i))
    }

    /// Finishes interrupted removals, indexes meetings whose indexing did not complete and
    /// deletes folders left by an import that never committed.
    fn recover(&mut self) -> anyhow::Result<()> {
        let removing = self.ids_in_state("removing")?;
        for id in removing {
            tracing::warn!("finishing the interrupted removal of meeting {id}");
            self.remove_unchecked(id)?;
        }
        let pending = self.ids_in_state("pending")?;
        if self.index_looks_broken() {
            tracing::warn!("the search index is damaged: rebuilding it from the catalog");
            self.rebuild_index()?;
        } else if !pending.is_empty() {
            tracing::warn!("indexing {} meeting(s) left unindexed", pending.len());
            if let Err(e) = self.index_meetings(&pending, false) {
                tracing::warn!("the search index failed ({e:#}): rebuilding it from the catalog");
                self.rebuild_index()?;
            }
        }
        let known: std::collections::HashSet<String> = {
            let mut st = self.db.prepare("SELECT id FROM meetings")?;
            let ids = st.query_map([], |r| r.get::<_, i64>(0))?;
            ids.map(|i| i.map(|i| i.to_string()))
                .collect::<Result<_, _>>()?
        };
        for e in std::fs::read_dir(self.dir.join("files"))? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if !known.contains(&name) && e.path().is_dir() {
                tracing::warn!(
                    "deleting {} left by an interrupted import",
                    e.path().display()
                );
                std::fs::remove_dir_all(e.path())
                    .with_context(|| format!("cannot delete {}", e.path().display()))?;
            }
        }
        Ok(())
    }

    fn ids_in_state(&self, state: &str) -> anyhow::Result<Vec<i64>> {
        let mut st = self
            .db
            .prepare("SELECT id FROM meetings WHERE state = ?1 ORDER BY id")?;
        let ids = st.query_map([state], |r| r.get(0))?;
        Ok(ids.collect::<Result<_, _>>()?)
    }

    /// Archives a transcript (`gijiroku transcribe` output) with its meeting metadata. The
    /// recording is copied beside it when `audio` is given and its sha256 matches.
    pub fn add_transcript(
        &mut self,
        transcript_path: &Path,
        meta: &MeetingMeta,
        audio: Option<&Path>,
    ) -> anyhow::Result<i64> {
        let bytes = std::fs::read(transcript_path)
            .with_context(|| format!("cannot read {}", transcript_path.display()))?;
        self.add_transcript_json(&bytes, transcript_path, meta, audio.map(|a| (a, None)))
    }

    /// [`Self::add_transcript`] of a transcript held in memory (`transcript_path` only names
    /// it), with a recording that may be sealed with a key (a web upload): nothing of a job
    /// has to be written out plain before it reaches the archive.
    pub fn add_transcript_json(
        &mut self,
        bytes: &[u8],
        transcript_path: &Path,
        meta: &MeetingMeta,
        audio: Option<(&Path, Option<&crypt::Key>)>,
    ) -> anyhow::Result<i64> {
        let _lock = self.write_lock()?;
        let t = Transcript::from_json(bytes, transcript_path)?;
        let sha = hex_sha256(bytes);
        self.refuse_duplicate(&sha, transcript_path)?;
        let turns = transcript_turns(&t);
        if turns.is_empty() {
            tracing::warn!(
                "{} has no text: archived without turns",
                transcript_path.display()
            );
        }
        if let Some((a, key)) = audio {
            let got = crate::util::sha256_reader(crypt::open_plain(a, key)?.0)
                .with_context(|| format!("cannot read {}", a.display()))?;
            if !t.source.sha256.is_empty() && got != t.source.sha256 {
                bail!(
                    "{} is not the recording this transcript was made from (sha256 differs)",
                    a.display()
                );
            }
        }
        let meta_toml = toml::to_string(meta).unwrap_or_default();
        self.insert_meeting(meta, "transcript", &sha, |tx, id, files| {
            files.write("transcript-v1.json", bytes)?;
            files.write("meeting.toml", meta_toml.as_bytes())?;
            tx.execute(
                "INSERT INTO transcripts (meeting_id, version, origin, file, model, created_at)
                 VALUES (?1, 1, 'machine', 'transcript-v1.json', ?2, ?3)",
                params![id, t.model.name, t.created_at],
            )?;
            let copied = match audio {
                Some((a, key)) => {
                    let name = a
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| "recording".into());
                    let name = format!("audio-{name}");
                    files.copy_in_from(&name, crypt::open_plain(a, key)?.0, a)?;
                    Some(name)
                }
                None => None,
            };
            tx.execute(
                "INSERT INTO recordings (meeting_id, file, original_path, sha256, duration, codec)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    id,
                    copied,
                    t.source.path,
                    t.source.sha256,
                    t.source.duration,
                    t.source.codec
                ],
            )?;
            for s in &t.speakers {
                tx.execute(
                    "INSERT INTO speakers (meeting_id, key, name, role) VALUES (?1, ?2, ?3, ?4)",
                    params![id, s.id, s.display(), s.role],
                )?;
            }
            insert_turns(tx, id, &turns)?;
            Ok(())
        })
    }

    /// Adds a human revision of a meeting's transcript: a new version, whose turns replace
    /// the searchable ones.
    pub fn add_revision(
        &mut self,
        viewer: &Viewer,
        id: i64,
        transcript_path: &Path,
    ) -> anyhow::Result<i64> {
        self.permit(viewer, id, Action::Edit)?;
        let _lock = self.write_lock()?;
        let bytes = std::fs::read(transcript_path)
            .with_context(|| format!("cannot read {}", transcript_path.display()))?;
        let t = Transcript::load(transcript_path)?;
        let v = self.insert_revision(id, &bytes, &t, &viewer.name, "")?;
        self.audit(viewer, "edit", Some(id), &format!("transcript v{v}"))?;
        Ok(v)
    }

    /// Imports past minutes written as text (`○渡辺議長　…` headings), one turn per heading.
    pub fn import_minutes(&mut self, path: &Path, opts: &MinutesImport) -> anyhow::Result<i64> {
        let _lock = self.write_lock()?;
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", path.display()))?;
        let parsed = minutes_text::parse(text);
        if parsed.turns.is_empty() {
            bail!(
                "{} has no speaker headings (lines like `○渡辺議長　…`): is it minutes text?",
                path.display()
            );
        }
        let sha = hex_sha256(&bytes);
        self.refuse_duplicate(&sha, path)?;
        let title = opts
            .title
            .clone()
            .or(parsed.title.clone())
            .or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_default();
        let date = match (opts.date, parsed.date.as_deref()) {
            (Some(d), _) => d,
            (None, Some(d)) => meta::parse_date(d)
                .with_context(|| format!("in the `# date:` line of {}", path.display()))?,
            (None, None) => bail!(
                "{} has no `# date:` line: pass --date YYYY-MM-DD",
                path.display()
            ),
        };
        // The title usually starts with the date (2024年6月10日 総務委員会): the rest names the body.
        let rest = title
            .split_once(' ')
            .filter(|(d, _)| d.ends_with('日'))
            .map(|(_, r)| r.trim().to_string())
            .unwrap_or_else(|| title.clone());
        let kind = opts.kind.unwrap_or(if rest.contains("委員会") {
            MeetingKind::Committee
        } else {
            MeetingKind::Council
        });
        let body = opts.body.clone().unwrap_or_else(|| match kind {
            MeetingKind::Committee => rest.clone(),
            _ => "本会議".to_string(),
        });
        let meta = MeetingMeta {
            kind,
            classification: opts
                .classification
                .unwrap_or_else(|| kind.default_classification()),
            title,
            body,
            date,
            place: None,
            start_time: None,
            department: opts.department.clone().unwrap_or_default(),
        };
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "minutes.txt".into());
        let turns: Vec<TurnRow> = parsed
            .turns
            .iter()
            .enumerate()
            .map(|(i, t)| TurnRow {
                seq: i as u32 + 1,
                speaker: t.speaker.clone(),
                role: t.role.clone(),
                start: None,
                end: None,
                text: t.text.clone(),
            })
            .collect();
        self.insert_meeting(&meta, "minutes-text", &sha, |tx, id, files| {
            let file = format!("source-{file_name}");
            files.write(&file, &bytes)?;
            tx.execute(
                "INSERT INTO transcripts (meeting_id, version, origin, file, created_at)
                 VALUES (?1, 1, 'minutes-text', ?2, ?3)",
                params![id, file, now()],
            )?;
            let mut seen = std::collections::HashSet::new();
            for t in &turns {
                if seen.insert(t.speaker.as_str()) {
                    tx.execute(
                        "INSERT INTO speakers (meeting_id, key, name, role) VALUES (?1, ?2, ?2, ?3)",
                        params![id, t.speaker, t.role],
                    )?;
                }
            }
            insert_turns(tx, id, &turns)?;
            Ok(())
        })
    }

    fn refuse_duplicate(&self, sha: &str, path: &Path) -> anyhow::Result<()> {
        let existing: Option<i64> = self
            .db
            .query_row(
                "SELECT id FROM meetings WHERE source_sha256 = ?1 AND state != 'removing'",
                [sha],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = existing {
            return Err(AlreadyArchived {
                path: path.to_path_buf(),
                id,
            }
            .into());
        }
        Ok(())
    }

    /// Inserts a meeting and its rows in one transaction, lets `fill` write the files into the
    /// meeting's folder, then indexes it. A failure before the commit leaves nothing behind.
    fn insert_meeting(
        &mut self,
        meta: &MeetingMeta,
        origin: &str,
        sha: &str,
        fill: impl FnOnce(&Transaction, i64, &files::MeetingFiles) -> anyhow::Result<()>,
    ) -> anyhow::Result<i64> {
        // Before anything is written: a date the index can hold, and a confidential record
        // needs the key.
        search::check_date(meta.date)?;
        let key = self.key_for_class(meta.classification.as_str())?;
        let tx = self.db.transaction()?;
        tx.execute(
            "INSERT INTO meetings (kind, title, body, date, place, start_time, classification,
                                   department, origin, source_sha256, created_at, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'pending')",
            params![
                meta.kind.as_str(),
                meta.title,
                meta.body,
                meta.date.format("%Y-%m-%d").to_string(),
                meta.place,
                meta.start_time,
                meta.classification.as_str(),
                meta.department,
                origin,
                sha,
                now()
            ],
        )?;
        let id = tx.last_insert_rowid();
        let dir = self.dir.join("files").join(id.to_string());
        let files = files::MeetingFiles::new(dir.clone(), key);
        let written = crate::util::create_private_dir_all(&dir)
            .and_then(|_| fill(&tx, id, &files))
            .and_then(|_| tx.commit().context("cannot write the catalog"));
        if let Err(e) = written {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        self.index_meetings(&[id], false)
            .context("the meeting is in the catalog but could not be indexed yet (it will be at the next start)")?;
        Ok(id)
    }

    /// (Re)indexes the given meetings from the catalog and marks them indexed. With `fresh`
    /// the index is known to be empty and nothing is deleted first.
    fn index_meetings(&self, ids: &[i64], fresh: bool) -> anyhow::Result<usize> {
        let index = self.index()?;
        // Many meetings (`archive reindex`, a catch-up at start): one indexing thread per core
        // (at most 4), 64 MB of buffer each; tokenizing is the cost, so 2 cores index about
        // twice as fast as one (README). One meeting (a new recording) is small: one thread.
        let threads = if ids.len() > 1 {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
        } else {
            1
        };
        let mut w = self.index_writer(threads, threads * (64 << 20))?;
        let bar = crate::progress::bar(ids.len() as u64, "indexing");
        let mut n = 0;
        for &id in ids {
            if !fresh {
                index.delete_meeting(&w, id);
            }
            let docs = self.turn_docs(id)?;
            n += docs.len();
            index.add_turns(&w, &docs)?;
            bar.inc(1);
        }
        w.commit().context("cannot commit the search index")?;
        retention::fault("index-after-commit");
        w.wait_merging_threads().ok();
        bar.finish_and_clear();
        index.reload()?;
        let mut st = self
            .db
            .prepare("UPDATE meetings SET state = 'indexed' WHERE id = ?1 AND state = 'pending'")?;
        for &id in ids {
            st.execute([id])?;
        }
        Ok(n)
    }

    fn turn_docs(&self, id: i64) -> anyhow::Result<Vec<TurnDoc>> {
        let (kind, title, body, date, classification, department): (
            String,
            String,
            String,
            String,
            String,
            String,
        ) = self.db.query_row(
            "SELECT kind, title, body, date, classification, department FROM meetings WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )?;
        // Confidential text never enters the index: search reads it from the catalog.
        if classification == Classification::Confidential.as_str() {
            return Ok(Vec::new());
        }
        Ok(self
            .turn_rows(id)?
            .into_iter()
            .map(|t| {
                turn_doc(
                    id,
                    (&kind, &title, &body, &date, &classification, &department),
                    t,
                )
            })
            .collect())
    }

    fn turn_rows(&self, id: i64) -> anyhow::Result<Vec<TurnRow>> {
        let mut st = self.db.prepare(
            "SELECT seq, speaker, role, start, end, text FROM turns WHERE meeting_id = ?1 ORDER BY seq",
        )?;
        // Speaker and text may be sealed (confidential meetings): opened below.
        let rows = st.query_map([id], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, rusqlite::types::Value>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get::<_, rusqlite::types::Value>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, speaker, role, start, end, text) = row?;
            out.push(TurnRow {
                seq,
                speaker: self.open_cell(id, speaker)?,
                role,
                start,
                end,
                text: self.open_cell(id, text)?,
            });
        }
        Ok(out)
    }

    /// Meetings this viewer may read, newest first.
    pub fn list(&self, viewer: &Viewer) -> anyhow::Result<Vec<MeetingSummary>> {
        let (cond, args) = viewer.sql_condition();
        let sql = format!(
            "SELECT id, kind, title, body, date, classification, department, origin,
                    (SELECT COUNT(*) FROM turns t WHERE t.meeting_id = m.id),
                    (SELECT COUNT(*) FROM speakers s WHERE s.meeting_id = m.id)
             FROM meetings m WHERE state != 'removing' AND {cond} ORDER BY date DESC, id DESC"
        );
        let mut st = self.db.prepare(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(args.iter()), summary_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One meeting, if this viewer may read it (an unreadable meeting looks absent).
    pub fn summary(&self, viewer: &Viewer, id: i64) -> anyhow::Result<MeetingSummary> {
        let (cond, mut args) = viewer.sql_condition();
        let sql = format!(
            "SELECT id, kind, title, body, date, classification, department, origin,
                    (SELECT COUNT(*) FROM turns t WHERE t.meeting_id = m.id),
                    (SELECT COUNT(*) FROM speakers s WHERE s.meeting_id = m.id)
             FROM meetings m WHERE state != 'removing' AND {cond} AND id = ?"
        );
        args.push(id.to_string());
        self.db
            .query_row(&sql, rusqlite::params_from_iter(args.iter()), summary_row)
            .optional()?
            .ok_or_else(|| NoSuchMeeting(id).into())
    }

    /// Everything about one meeting.
    pub fn show(&self, viewer: &Viewer, id: i64) -> anyhow::Result<MeetingDetail> {
        let summary = self.summary(viewer, id)?;
        let (place, start_time, created_at) = self.db.query_row(
            "SELECT place, start_time, created_at FROM meetings WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let mut st = self.db.prepare(
            "SELECT file, original_path, sha256, duration, codec FROM recordings WHERE meeting_id = ?1",
        )?;
        let recordings = st
            .query_map([id], |r| {
                Ok(Recording {
                    file: r.get(0)?,
                    original_path: r.get(1)?,
                    sha256: r.get(2)?,
                    duration: r.get(3)?,
                    codec: r.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut st = self.db.prepare(
            "SELECT version, origin, file, model, created_at FROM transcripts
             WHERE meeting_id = ?1 ORDER BY version",
        )?;
        let transcripts = st
            .query_map([id], |r| {
                Ok(TranscriptVersion {
                    version: r.get(0)?,
                    origin: r.get(1)?,
                    file: r.get(2)?,
                    model: r.get(3)?,
                    created_at: r.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut st = self
            .db
            .prepare("SELECT file FROM minutes WHERE meeting_id = ?1 ORDER BY version")?;
        let minutes = st
            .query_map([id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let speakers = self.speaker_entries(id)?;
        self.audit(viewer, "open", Some(id), "")?;
        Ok(MeetingDetail {
            summary,
            place,
            start_time,
            created_at,
            folder: self.meeting_dir(id).display().to_string(),
            recordings,
            transcripts,
            minutes,
            speakers,
        })
    }

    /// The turns of one meeting, in order.
    pub fn turns(&self, viewer: &Viewer, id: i64) -> anyhow::Result<Vec<TurnRow>> {
        self.summary(viewer, id)?;
        let rows = self.turn_rows(id)?;
        self.audit(viewer, "open", Some(id), "turns")?;
        Ok(rows)
    }

    /// Attaches a minutes draft (any file) to a meeting.
    pub fn attach_minutes(&mut self, viewer: &Viewer, id: i64, file: &Path) -> anyhow::Result<()> {
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let ext = file
            .extension()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.attach_minutes_bytes(viewer, id, &bytes, &ext)
    }

    /// [`Self::attach_minutes`] of a draft held in memory; `ext` is its format's extension
    /// (`docx`, `md`; empty for none).
    pub fn attach_minutes_bytes(
        &mut self,
        viewer: &Viewer,
        id: i64,
        bytes: &[u8],
        ext: &str,
    ) -> anyhow::Result<()> {
        let _lock = self.write_lock()?;
        self.permit(viewer, id, Action::Edit)?;
        let files = self.meeting_files(id)?;
        let tx = self.db.transaction()?;
        let version: i64 = tx.query_row(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM minutes WHERE meeting_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        let ext = if ext.is_empty() {
            String::new()
        } else {
            format!(".{ext}")
        };
        let name = format!("minutes-v{version}{ext}");
        files.write(&name, bytes)?;
        tx.execute(
            "INSERT INTO minutes (meeting_id, version, file, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![id, version, name, now()],
        )?;
        tx.commit()?;
        self.audit(viewer, "edit", Some(id), &format!("minutes v{version}"))
    }

    /// Removes a meeting: catalog rows, files and index entries, with the index segments that
    /// held its turns rewritten so its text is gone from disk, not only marked deleted.
    pub fn remove(&mut self, viewer: &Viewer, id: i64) -> anyhow::Result<Removed> {
        let _lock = self.write_lock()?;
        let s = self.permit(viewer, id, Action::Delete)?;
        self.db
            .execute("UPDATE meetings SET state = 'removing' WHERE id = ?1", [id])?;
        let files = self.remove_unchecked(id)?;
        let what = format!("{} turns, {files} files", s.turns);
        self.audit(viewer, "delete", Some(id), &what)?;
        Ok(Removed {
            id,
            title: s.title,
            turns: s.turns,
            files,
        })
    }

    fn remove_unchecked(&mut self, id: i64) -> anyhow::Result<usize> {
        // The index is a cache of the catalog: if it fails, the removal goes on and the
        // index is rebuilt without the meeting below.
        let unindexed = self.unindex_meeting(id);
        let dir = self.meeting_dir(id);
        let mut files = 0;
        if dir.exists() {
            files = std::fs::read_dir(&dir)?.count();
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot delete {}", dir.display()))?;
        }
        self.db
            .execute("DELETE FROM meetings WHERE id = ?1", [id])?;
        // Move the WAL's copies of the removed rows into the (secure-deleted) main file.
        self.db
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        if let Err(e) = unindexed {
            tracing::warn!("the search index failed ({e:#}): rebuilding it from the catalog");
            self.rebuild_index()?;
        }
        Ok(files)
    }

    /// Rebuilds the search index from the catalog (after an upgrade, or if it was lost).
    pub fn reindex(&mut self) -> anyhow::Result<usize> {
        let _lock = self.write_lock()?;
        self.rebuild_index()
    }

    /// Searches the turns this viewer may read.
    pub fn search(&self, viewer: &Viewer, req: &SearchRequest) -> anyhow::Result<SearchResult> {
        let mut filters = req.filters.clone();
        viewer.restrict(&mut filters);
        if let Some(q) = req.answers_to.as_deref() {
            let keys = self.answer_turns(viewer, q)?;
            if keys.is_empty() {
                return Ok(SearchResult {
                    total: 0,
                    at_least: false,
                    hits: Vec::new(),
                });
            }
            filters.turns = Some(keys);
        }
        let mut result = self.index()?.search(&req.query, &filters, req.limit)?;
        // Confidential turns are not in the index: matched in memory, listed first.
        if let Some((total, mut hits)) = self.sealed_hits(viewer, req, &filters)? {
            result.total += total;
            hits.append(&mut result.hits);
            hits.truncate(req.limit.max(1));
            result.hits = hits;
        }
        self.audit_search(viewer, &result)?;
        Ok(result)
    }

    /// Turns that answer `questioner`: after each of their turns, the turns of others up to
    /// the next member's (or the questioner's) turn, skipping the chair calling on people.
    /// When roles are unknown (machine transcripts), the next other speaker's turn.
    fn answer_turns(&self, viewer: &Viewer, questioner: &str) -> anyhow::Result<Vec<u64>> {
        let (cond, mut args) = viewer.sql_condition();
        // Sealed speaker names (confidential meetings) cannot be matched in SQL: with the key,
        // those meetings' turns are read whole and opened here.
        let sealed = if self.has_key() {
            "OR m.classification = 'confidential'"
        } else {
            ""
        };
        let sql = format!(
            "SELECT t.meeting_id, t.seq, t.speaker, t.role FROM turns t
             JOIN meetings m ON m.id = t.meeting_id
             WHERE m.state != 'removing' AND {cond} AND (t.meeting_id IN
                (SELECT DISTINCT meeting_id FROM turns WHERE instr(speaker, ?) > 0) {sealed})
             ORDER BY t.meeting_id, t.seq"
        );
        args.push(questioner.to_string());
        let mut st = self.db.prepare(&sql)?;
        let sealed_rows: Vec<(i64, u32, rusqlite::types::Value, Option<String>)> = st
            .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<_, _>>()?;
        let mut rows: Vec<(i64, u32, String, Option<String>)> = Vec::new();
        for (mid, seq, speaker, role) in sealed_rows {
            rows.push((mid, seq, self.open_cell(mid, speaker)?, role));
        }
        let is =
            |role: &Option<String>, set: &[&str]| role.as_deref().is_some_and(|r| set.contains(&r));
        let mut out = Vec::new();
        let mut i = 0;
        while i < rows.len() {
            let (mid, _, speaker, _) = &rows[i];
            if !speaker.contains(questioner) {
                i += 1;
                continue;
            }
            let mut j = i + 1;
            while j < rows.len() && rows[j].0 == *mid {
                let (_, seq, sp, role) = &rows[j];
                if sp == speaker || is(role, minutes_text::MEMBER_ROLES) {
                    break;
                }
                if !is(role, minutes_text::PRESIDING_ROLES) {
                    out.push(search::turn_key(*mid, *seq));
                    if role.is_none() {
                        break;
                    }
                }
                j += 1;
            }
            i += 1;
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}

/// Merges every index segment that holds deleted turns, so their text leaves the disk.
fn purge_deleted(w: &mut tantivy::IndexWriter) -> anyhow::Result<()> {
    let index = w.index().clone();
    let segments: Vec<_> = index
        .searchable_segment_metas()?
        .into_iter()
        .filter(|m| m.has_deletes())
        .map(|m| m.id())
        .collect();
    if !segments.is_empty() {
        // A merge of one segment rewrites it without its deleted documents.
        w.merge(&segments)
            .wait()
            .context("cannot rewrite the search index after a removal")?;
    }
    w.garbage_collect_files()
        .wait()
        .context("cannot clean the search index folder")?;
    Ok(())
}

fn summary_row(r: &rusqlite::Row) -> rusqlite::Result<MeetingSummary> {
    Ok(MeetingSummary {
        id: r.get(0)?,
        kind: r.get(1)?,
        title: r.get(2)?,
        body: r.get(3)?,
        date: r.get(4)?,
        classification: r.get(5)?,
        department: r.get(6)?,
        origin: r.get(7)?,
        turns: r.get::<_, i64>(8)? as usize,
        speakers: r.get::<_, i64>(9)? as usize,
    })
}

/// What the index stores of a meeting beside each turn: kind, title, body, date,
/// classification, department.
pub(crate) type MeetingFields<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, &'a str);

/// A catalog turn as the search index (and the in-memory search of confidential turns) sees it.
pub(crate) fn turn_doc(id: i64, m: MeetingFields, t: TurnRow) -> TurnDoc {
    let (kind, title, body, date, classification, department) = m;
    TurnDoc {
        meeting_id: id,
        seq: t.seq,
        kind: kind.into(),
        title: title.into(),
        body: body.into(),
        date: date.into(),
        speaker: t.speaker,
        role: t.role,
        text: t.text,
        start: t.start,
        end: t.end,
        classification: classification.into(),
        department: department.into(),
    }
}

fn insert_turns(tx: &Transaction, id: i64, turns: &[TurnRow]) -> anyhow::Result<()> {
    // A confidential meeting's speaker and text are sealed before they reach a page (see
    // `confidential`; gijiroku_seal fails without the key).
    let class: String = tx.query_row(
        "SELECT classification FROM meetings WHERE id = ?1",
        [id],
        |r| r.get(0),
    )?;
    let sql = if class == Classification::Confidential.as_str() {
        "INSERT INTO turns (meeting_id, seq, speaker, role, start, end, text)
         VALUES (?1, ?2, gijiroku_seal(?1, ?3), ?4, ?5, ?6, gijiroku_seal(?1, ?7))"
    } else {
        "INSERT INTO turns (meeting_id, seq, speaker, role, start, end, text)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    };
    let mut st = tx.prepare(sql)?;
    for t in turns {
        st.execute(params![
            id, t.seq, t.speaker, t.role, t.start, t.end, t.text
        ])?;
    }
    Ok(())
}

/// Speaker turns of a transcript: consecutive segments of one speaker joined, split after
/// [`MAX_TURN_SECONDS`] so a search hit can jump close to its words.
pub fn transcript_turns(t: &Transcript) -> Vec<TurnRow> {
    let sep = if crate::transcript::uses_spaces(&t.language) {
        " "
    } else {
        ""
    };
    let mut out: Vec<TurnRow> = Vec::new();
    let mut current_key: Option<Option<String>> = None;
    for s in &t.segments {
        let text = s.text.trim();
        if text.is_empty() {
            continue;
        }
        let same = current_key.as_ref() == Some(&s.speaker)
            && out
                .last()
                .is_some_and(|l| s.end - l.start.unwrap_or(s.start) <= MAX_TURN_SECONDS);
        if same {
            if let Some(l) = out.last_mut() {
                l.text.push_str(sep);
                l.text.push_str(text);
                l.end = Some(s.end);
            }
            continue;
        }
        let (speaker, role) = match &s.speaker {
            Some(id) => (
                t.speaker_display(id).to_string(),
                t.speaker(id).and_then(|sp| sp.role.clone()),
            ),
            None => ("不明".to_string(), None),
        };
        out.push(TurnRow {
            seq: out.len() as u32 + 1,
            speaker,
            role,
            start: Some(s.start),
            end: Some(s.end),
            text: text.to_string(),
        });
        current_key = Some(s.speaker.clone());
    }
    out
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
