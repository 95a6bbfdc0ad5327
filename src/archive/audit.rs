//! The audit log: who read or changed which record, when. `<data>/audit.jsonl`, one JSON
//! object a line, opened for appending only (mode 0600), hash-chained: every entry carries the
//! sha256 of the previous one (`prev`) and its own (`hash`, over its other fields), so editing
//! or deleting a line breaks the chain. The catalog keeps the last entry's seq and hash
//! (`audit_state`), so deleting entries at the end is detected too. A writer with full access
//! to both files could still rewrite the whole chain consistently: the log proves integrity
//! against edits, not against the machine's administrator.
//!
//! Retention: [`Archive::audit_prune`] drops entries older than a cut-off (the CLI's default
//! keeps [`DEFAULT_RETENTION_YEARS`]) and replaces them with one *anchor* line carrying the
//! seq and hash of the last dropped entry; the catalog records the anchor line's sha256, so
//! the kept chain still verifies from the anchor on.
//!
//! What is logged never includes record text, titles or search words (they may be
//! confidential, and the log is not encrypted): only user, action, meeting id and counts.

use super::access::Viewer;
use super::Archive;
use anyhow::{bail, Context};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

pub const DEFAULT_RETENTION_YEARS: u32 = 5;
const LOG_FILE: &str = "audit.jsonl";
/// Taken around every append and rewrite. A separate file, because pruning replaces
/// `audit.jsonl` by a rename and a lock on the old file would not stop writers of the new one.
const LOCK_FILE: &str = "audit.lock";
const MAX_DETAIL_CHARS: usize = 300;
const MAX_USER_CHARS: usize = 100;
/// `prev` of the very first entry.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The action of an anchor line (stands for the pruned entries).
pub const ANCHOR: &str = "anchor";

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS audit_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    head_seq INTEGER NOT NULL,             -- the last entry written
    head_hash TEXT NOT NULL,
    anchor_sha256 TEXT                     -- sha256 of the anchor line after a prune
);
";

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    /// RFC 3339, UTC, milliseconds.
    pub time: String,
    pub user: String,
    /// "open", "play", "search", "export", "edit", "delete", "upload", "login",
    /// "login-failed", "purge", "user-add", "user-change", "audit-prune", "anchor", …
    pub action: String,
    pub meeting_id: Option<i64>,
    pub detail: String,
    /// `hash` of the previous entry.
    pub prev: String,
    /// sha256 of this entry's other fields (see [`entry_hash`]).
    pub hash: String,
}

/// The fields hashed, in this order.
#[derive(Serialize)]
struct Hashed<'a> {
    seq: u64,
    time: &'a str,
    user: &'a str,
    action: &'a str,
    meeting_id: Option<i64>,
    detail: &'a str,
    prev: &'a str,
}

fn entry_hash(e: &AuditEntry) -> String {
    let h = Hashed {
        seq: e.seq,
        time: &e.time,
        user: &e.user,
        action: &e.action,
        meeting_id: e.meeting_id,
        detail: &e.detail,
        prev: &e.prev,
    };
    let json = serde_json::to_vec(&h).expect("plain struct serializes");
    hex::encode(Sha256::digest(json))
}

fn line_of(e: &AuditEntry) -> String {
    serde_json::to_string(e).expect("plain struct serializes")
}

/// A filter for [`Archive::audit_entries`]; empty fields do not restrict.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub user: Option<String>,
    pub meeting: Option<i64>,
    pub action: Option<String>,
    /// From this day (UTC), included.
    pub from: Option<NaiveDate>,
    /// Up to this day (UTC), included.
    pub to: Option<NaiveDate>,
    /// The newest this many (all when `None`).
    pub limit: Option<usize>,
}

/// What [`Archive::audit_verify`] found.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub entries: usize,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// Seq of the last pruned entry, when the log starts with an anchor.
    pub anchor: Option<u64>,
    /// Every break found (line numbers from 1); empty = the log is intact.
    pub problems: Vec<String>,
}

impl AuditReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Holds the audit lock until dropped.
struct AuditLock(std::fs::File);

impl Drop for AuditLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

fn now_millis() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn open_private(path: &std::path::Path, append: bool) -> anyhow::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = std::fs::OpenOptions::new();
    o.create(true).mode(0o600);
    if append {
        o.append(true).read(true);
    } else {
        o.write(true).truncate(true);
    }
    o.open(path)
        .with_context(|| format!("cannot open the audit log {}", path.display()))
}

impl Archive {
    pub(super) fn init_audit(&self) -> anyhow::Result<()> {
        self.db
            .execute_batch(SCHEMA)
            .context("cannot set up the audit tables in the catalog")
    }

    fn audit_path(&self) -> PathBuf {
        self.dir.join(LOG_FILE)
    }

    fn audit_lock(&self, exclusive: bool) -> anyhow::Result<AuditLock> {
        let path = self.dir.join(LOCK_FILE);
        let f = open_private(&path, true)?;
        let locked = if exclusive { f.lock() } else { f.lock_shared() };
        locked.with_context(|| format!("cannot lock {}", path.display()))?;
        Ok(AuditLock(f))
    }

    /// Appends one entry: who, now, what, which meeting, a short detail (no record text).
    pub fn audit(
        &self,
        viewer: &Viewer,
        action: &str,
        meeting: Option<i64>,
        detail: &str,
    ) -> anyhow::Result<()> {
        self.audit_many(viewer, action, &[(meeting, detail.to_string())])
    }

    /// Appends several entries of one action in one write (e.g. one per meeting a search
    /// returned).
    pub fn audit_many(
        &self,
        viewer: &Viewer,
        action: &str,
        items: &[(Option<i64>, String)],
    ) -> anyhow::Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let _lock = self.audit_lock(true)?;
        let path = self.audit_path();
        let mut f = open_private(&path, true)?;
        let (last, torn) = last_line(&mut f)?;
        let (mut seq, mut prev) = match last {
            Some(line) => {
                let e: AuditEntry = serde_json::from_str(&line).with_context(|| {
                    format!(
                        "the last line of the audit log {} is damaged: run `gijiroku audit verify`",
                        path.display()
                    )
                })?;
                (e.seq, e.hash)
            }
            None => (0, GENESIS.to_string()),
        };
        // Entries deleted at the end (or the whole file): continue from the last entry the
        // catalog knows, so the gap stays visible to `verify` instead of being papered over.
        if let Some((head_seq, head_hash, _)) = self.audit_state()? {
            if head_seq > seq {
                seq = head_seq;
                prev = head_hash;
            }
        }
        let time = now_millis();
        let mut out = String::new();
        if torn {
            // A line cut by a crash: end it, so ours stays a line of its own (verify reports it).
            out.push('\n');
        }
        for (meeting, detail) in items {
            seq += 1;
            let mut e = AuditEntry {
                seq,
                time: time.clone(),
                // Capped like the detail: a line must stay short (see `last_line`) whatever
                // name a failed sign-in typed.
                user: viewer.name.chars().take(MAX_USER_CHARS).collect(),
                action: action.to_string(),
                meeting_id: *meeting,
                detail: detail.chars().take(MAX_DETAIL_CHARS).collect(),
                prev,
                hash: String::new(),
            };
            e.hash = entry_hash(&e);
            out.push_str(&line_of(&e));
            out.push('\n');
            prev = e.hash;
        }
        // One write on an O_APPEND file: a line never interleaves with another process's.
        f.write_all(out.as_bytes())
            .and_then(|_| f.sync_data())
            .with_context(|| format!("cannot write the audit log {}", path.display()))?;
        self.db.execute(
            "INSERT INTO audit_state (id, head_seq, head_hash) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET head_seq = ?1, head_hash = ?2",
            params![seq as i64, prev],
        )?;
        Ok(())
    }

    /// Entries matching `q`, oldest first (administrators only).
    pub fn audit_entries(&self, by: &Viewer, q: &AuditQuery) -> anyhow::Result<Vec<AuditEntry>> {
        if !by.is_admin() {
            return Err(super::users::NotAdmin(by.name.clone()).into());
        }
        let _lock = self.audit_lock(false)?;
        let mut out = Vec::new();
        for (i, line) in self.audit_lines()?.iter().enumerate() {
            let e: AuditEntry = serde_json::from_str(line).with_context(|| {
                format!(
                    "line {} of the audit log is damaged: run `gijiroku audit verify`",
                    i + 1
                )
            })?;
            let day = DateTime::parse_from_rfc3339(&e.time)
                .map(|t| t.with_timezone(&Utc).date_naive())
                .ok();
            let keep = q.user.as_deref().is_none_or(|u| e.user == u)
                && q.meeting.is_none_or(|m| e.meeting_id == Some(m))
                && q.action.as_deref().is_none_or(|a| e.action == a)
                && q.from.is_none_or(|f| day.is_some_and(|d| d >= f))
                && q.to.is_none_or(|t| day.is_some_and(|d| d <= t));
            if keep {
                out.push(e);
            }
        }
        if let Some(n) = q.limit {
            let skip = out.len().saturating_sub(n);
            out.drain(..skip);
        }
        Ok(out)
    }

    fn audit_lines(&self) -> anyhow::Result<Vec<String>> {
        let path = self.audit_path();
        let text = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", path.display()));
            }
        };
        let text = String::from_utf8_lossy(&text);
        Ok(text.lines().map(String::from).collect())
    }

    fn audit_state(&self) -> anyhow::Result<Option<(u64, String, Option<String>)>> {
        Ok(self
            .db
            .query_row(
                "SELECT head_seq, head_hash, anchor_sha256 FROM audit_state WHERE id = 1",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
    }

    /// Checks the whole chain: every line well-formed and exactly as written, every hash
    /// right, every `prev` the previous entry's hash, seqs consecutive, the log starting at
    /// seq 1 or at the catalog's anchor, and reaching the last entry the catalog knows.
    pub fn audit_verify(&self) -> anyhow::Result<AuditReport> {
        let _lock = self.audit_lock(false)?;
        let lines = self.audit_lines()?;
        let state = self.audit_state()?;
        let mut r = AuditReport {
            entries: 0,
            first_seq: None,
            last_seq: None,
            anchor: None,
            problems: Vec::new(),
        };
        let mut prev: Option<(u64, String)> = None;
        let mut head_found = false;
        for (i, line) in lines.iter().enumerate() {
            let n = i + 1;
            let e: AuditEntry = match serde_json::from_str(line) {
                Ok(e) => e,
                Err(_) => {
                    r.problems.push(format!("line {n} is not an audit entry"));
                    // Resynchronise on the next good line rather than reporting every line after.
                    prev = None;
                    continue;
                }
            };
            if line_of(&e) != *line {
                r.problems.push(format!(
                    "line {n} (seq {}) was edited (bytes differ)",
                    e.seq
                ));
            }
            if e.action == ANCHOR && i == 0 {
                let sha = hex::encode(Sha256::digest(line.as_bytes()));
                match state.as_ref().and_then(|s| s.2.as_ref()) {
                    Some(want) if *want == sha => {}
                    _ => r
                        .problems
                        .push("line 1 is an anchor the catalog does not know".to_string()),
                }
                r.anchor = Some(e.seq);
            } else {
                if e.action == ANCHOR {
                    r.problems.push(format!(
                        "line {n}: an anchor is only valid as the first line"
                    ));
                }
                if entry_hash(&e) != e.hash {
                    r.problems.push(format!(
                        "line {n} (seq {}) was edited (hash differs)",
                        e.seq
                    ));
                }
                match &prev {
                    None if i == 0 && (e.seq != 1 || e.prev != GENESIS) => {
                        r.problems.push(format!(
                            "the log starts at seq {} without an anchor: entries before it were deleted",
                            e.seq
                        ));
                    }
                    None => {}
                    Some((pseq, phash)) => {
                        if e.seq != pseq + 1 {
                            r.problems.push(format!(
                                "line {n}: seq {} follows seq {pseq}: {} entries deleted or reordered",
                                e.seq,
                                e.seq.abs_diff(pseq + 1)
                            ));
                        } else if e.prev != *phash {
                            r.problems.push(format!(
                                "line {n} (seq {}) does not follow the entry before it (an entry was changed or replaced)",
                                e.seq
                            ));
                        }
                    }
                }
                r.entries += 1;
            }
            if let Some((seq, hash, _)) = &state {
                if e.seq == *seq && e.hash == *hash {
                    head_found = true;
                }
            }
            r.first_seq.get_or_insert(e.seq);
            r.last_seq = Some(e.seq);
            prev = Some((e.seq, e.hash.clone()));
        }
        match &state {
            None if !lines.is_empty() => r
                .problems
                .push("the catalog has no record of this audit log".to_string()),
            None => {}
            Some(_) if lines.is_empty() => r
                .problems
                .push("the audit log is missing or empty, but entries were written".to_string()),
            Some((seq, _, _)) if !head_found => r.problems.push(format!(
                "the last entry written (seq {seq}) is not in the log: entries at the end were deleted or changed"
            )),
            Some(_) => {}
        }
        Ok(r)
    }

    /// Drops the entries written before `before`, replacing them by one anchor line, and
    /// logs the prune (administrators only). Returns how many entries were dropped.
    pub fn audit_prune(&self, by: &Viewer, before: DateTime<Utc>) -> anyhow::Result<usize> {
        if !by.is_admin() {
            return Err(super::users::NotAdmin(by.name.clone()).into());
        }
        let report = self.audit_verify()?;
        if !report.ok() {
            bail!(
                "the audit log does not verify ({}): not pruning it",
                report.problems[0]
            );
        }
        let dropped = {
            let _lock = self.audit_lock(true)?;
            let lines = self.audit_lines()?;
            let mut entries = Vec::with_capacity(lines.len());
            for l in &lines {
                entries.push(serde_json::from_str::<AuditEntry>(l)?);
            }
            let old = entries
                .iter()
                .take_while(|e| {
                    DateTime::parse_from_rfc3339(&e.time)
                        .map(|t| t.with_timezone(&Utc) < before)
                        .unwrap_or(false)
                })
                .count();
            // Only an existing anchor is old: nothing to do.
            let real = entries[..old].iter().filter(|e| e.action != ANCHOR).count();
            if real == 0 {
                0
            } else {
                let last = &entries[old - 1];
                let anchor = AuditEntry {
                    seq: last.seq,
                    time: now_millis(),
                    user: by.name.clone(),
                    action: ANCHOR.into(),
                    meeting_id: None,
                    detail: format!(
                        "entries up to seq {} (before {}) pruned",
                        last.seq,
                        before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ),
                    prev: String::new(),
                    // Stands for the last dropped entry: the next entry's `prev` is this.
                    hash: last.hash.clone(),
                };
                let anchor_line = line_of(&anchor);
                let mut text = anchor_line.clone();
                text.push('\n');
                for l in &lines[old..] {
                    text.push_str(l);
                    text.push('\n');
                }
                let path = self.audit_path();
                let tmp = self.dir.join(format!("{LOG_FILE}.tmp"));
                let mut f = open_private(&tmp, false)?;
                f.write_all(text.as_bytes())
                    .and_then(|_| f.sync_all())
                    .with_context(|| format!("cannot write {}", tmp.display()))?;
                let sha = hex::encode(Sha256::digest(anchor_line.as_bytes()));
                self.db.execute(
                    "UPDATE audit_state SET anchor_sha256 = ?1 WHERE id = 1",
                    [sha],
                )?;
                // The catalog learns the anchor first: a crash before the rename leaves the old
                // log, which starts at seq 1 and never consults the anchor.
                std::fs::rename(&tmp, &path)
                    .with_context(|| format!("cannot replace {}", path.display()))?;
                real
            }
        };
        if dropped > 0 {
            self.audit(
                by,
                "audit-prune",
                None,
                &format!("{dropped} entries pruned"),
            )?;
        }
        Ok(dropped)
    }
}

/// The last complete line of the log (None if there is none), and whether a torn line (cut
/// by a crash mid-write) follows it. Lines are short (details are capped), so the file's
/// last 16 KiB hold the whole last line.
fn last_line(f: &mut std::fs::File) -> anyhow::Result<(Option<String>, bool)> {
    let len = f.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok((None, false));
    }
    let from = len.saturating_sub(16 * 1024);
    f.seek(SeekFrom::Start(from))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)?;
    let torn = buf.last() != Some(&b'\n');
    // Everything up to the last newline is complete lines.
    let Some(end) = buf.iter().rposition(|&b| b == b'\n') else {
        if from > 0 {
            bail!("the last line of the audit log is longer than 16 KiB: the log is damaged");
        }
        return Ok((None, torn));
    };
    let body = &buf[..end];
    let start = body.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    if start == 0 && from > 0 {
        bail!("the last line of the audit log is longer than 16 KiB: the log is damaged");
    }
    Ok((
        Some(String::from_utf8_lossy(&body[start..]).into_owned()),
        torn,
    ))
}

impl Archive {
    /// One "search" entry per meeting among the hits returned (not their text or the words).
    pub(super) fn audit_search(
        &self,
        viewer: &Viewer,
        result: &crate::search::SearchResult,
    ) -> anyhow::Result<()> {
        let mut per = std::collections::BTreeMap::<i64, usize>::new();
        for h in &result.hits {
            *per.entry(h.turn.meeting_id).or_default() += 1;
        }
        let items: Vec<_> = per
            .into_iter()
            .map(|(id, n)| (Some(id), format!("{n} of {} hits", result.total)))
            .collect();
        self.audit_many(viewer, "search", &items)
    }
}
