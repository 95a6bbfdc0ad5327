//! Confidential records at rest: the archive key, sealed catalog cells and searching them.
//!
//! - The key ([`crypt::Key`]) is given to an open archive with [`Archive::set_key`]. The
//!   catalog keeps a key check (`archive_key` table) written with the first confidential
//!   record, so a wrong key file is refused at once ("the key file X does not open this
//!   archive") instead of producing garbage later.
//! - The searchable text of confidential meetings — the `turns.text` and `turns.speaker`
//!   columns and the `speakers.name`/`key` columns — is stored sealed (a BLOB, see
//!   [`crypt::Key::seal`]). Turns are sealed as they are inserted ([`super::insert_turns`]
//!   calls the SQL function `gijiroku_seal`); TEMP triggers seal any other insert into these
//!   tables, so no write path can leave their text plain. Without the key such inserts fail.
//! - Confidential meetings are never put in the tantivy index. [`Archive::search`] decrypts
//!   the turns of the confidential meetings the viewer may search and matches the query in
//!   memory (see [`Query`]). The cost is linear in their volume: 10,000 turns (200
//!   consultations, 12 MB of text) take ~200 ms a query on a 2-core machine, mostly
//!   decryption (`tests/encryption.rs`, `sealed_search_speed`) — fine for one department's
//!   consultations, not meant for millions of turns.
//!
//! Metadata (titles, dates, departments, file names) stays plain in the catalog so listings
//! work without the key: titles of confidential records should not name people.

use super::crypt::{self, Key};
use super::{Archive, SearchRequest, TurnRow};
use crate::search::{japanese::fold_char, turn_key, Filters, Hit, MatchedBy};
use anyhow::Context;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value;
use rusqlite::OptionalExtension;
use std::ops::Range;
use std::sync::Arc;

/// Reading a confidential meeting without the key.
#[derive(Debug, thiserror::Error)]
#[error("meeting {0} is encrypted: give the key file (--key-file or GIJIROKU_KEY_FILE)")]
pub struct KeyNeeded(pub i64);

/// Adding a confidential record without the key.
#[derive(Debug, thiserror::Error)]
#[error("confidential records are encrypted at rest: give the key file (--key-file or GIJIROKU_KEY_FILE; `gijiroku keys init FILE` makes one)")]
pub struct KeyNeededToAdd;

/// A key that is not this archive's ("the key file X" or "the passphrase").
#[derive(Debug, thiserror::Error)]
#[error("{0} does not open this archive")]
pub struct WrongKey(pub String);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS archive_key (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    key_check BLOB NOT NULL,               -- a known text sealed with the key (crypt::key_check)
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS archive_kdf (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    salt BLOB NOT NULL                     -- argon2id salt of a passphrase-derived key
);
";

/// Seal what any insert leaves plain in a confidential meeting's rows (TEMP: these live with
/// the connection, beside the `gijiroku_seal` function they call; SQLite wants the tables in
/// their bodies unqualified).
const TRIGGERS: &str = "
CREATE TEMP TRIGGER IF NOT EXISTS gijiroku_seal_turns AFTER INSERT ON main.turns
WHEN (typeof(NEW.text) = 'text' OR typeof(NEW.speaker) = 'text')
     AND (SELECT classification FROM meetings WHERE id = NEW.meeting_id) = 'confidential'
BEGIN
    UPDATE turns SET text = gijiroku_seal(NEW.meeting_id, NEW.text),
                          speaker = gijiroku_seal(NEW.meeting_id, NEW.speaker)
    WHERE meeting_id = NEW.meeting_id AND seq = NEW.seq;
END;
CREATE TEMP TRIGGER IF NOT EXISTS gijiroku_seal_speakers AFTER INSERT ON main.speakers
WHEN (typeof(NEW.name) = 'text' OR typeof(NEW.key) = 'text')
     AND (SELECT classification FROM meetings WHERE id = NEW.meeting_id) = 'confidential'
BEGIN
    UPDATE speakers SET name = gijiroku_seal(NEW.meeting_id, NEW.name),
                             key = gijiroku_seal(NEW.meeting_id, NEW.key)
    WHERE id = NEW.id;
END;
";

/// What [`Archive::seal_existing`] encrypted.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SealReport {
    /// Meetings that had something plain.
    pub meetings: usize,
    pub files: usize,
    /// Catalog rows (turns, speakers) sealed.
    pub rows: usize,
}

/// What a sealed cell is bound to: its meeting.
fn cell_context(meeting_id: i64) -> Vec<u8> {
    format!("meeting:{meeting_id}").into_bytes()
}

impl Archive {
    /// Sets up the key table, the sealing function and triggers (at every open).
    pub(crate) fn init_crypt(&self) -> anyhow::Result<()> {
        self.db.execute_batch(SCHEMA)?;
        self.register_seal()?;
        self.db.execute_batch(TRIGGERS)?;
        Ok(())
    }

    /// `gijiroku_seal(meeting_id, value)`: text → sealed BLOB with the current key; other
    /// values unchanged. Fails without a key, so nothing confidential is stored plain.
    fn register_seal(&self) -> anyhow::Result<()> {
        let key = self.key.clone();
        self.db.create_scalar_function(
            "gijiroku_seal",
            2,
            FunctionFlags::SQLITE_UTF8,
            move |ctx| {
                let id: i64 = ctx.get(0)?;
                match ctx.get::<Value>(1)? {
                    Value::Text(s) => {
                        let k = key.as_ref().ok_or_else(|| {
                            rusqlite::Error::UserFunctionError(Box::new(KeyNeededToAdd))
                        })?;
                        Ok(Value::Blob(k.seal(s.as_bytes(), &cell_context(id))))
                    }
                    other => Ok(other),
                }
            },
        )?;
        Ok(())
    }

    /// Opens the archive in `dir` with the key in `key_file`, if given (the CLI's
    /// `--key-file` / GIJIROKU_KEY_FILE; the server does the same), or derived from the
    /// passphrase in GIJIROKU_KEY_PASSPHRASE.
    pub fn open_with_key_file(
        dir: &std::path::Path,
        key_file: Option<&std::path::Path>,
    ) -> anyhow::Result<Archive> {
        let mut a = Archive::open(dir)?;
        let passphrase = std::env::var("GIJIROKU_KEY_PASSPHRASE")
            .ok()
            .filter(|p| !p.is_empty());
        match (key_file, passphrase) {
            (Some(_), Some(_)) => anyhow::bail!(
                "give either a key file (--key-file or GIJIROKU_KEY_FILE) or a passphrase \
                 (GIJIROKU_KEY_PASSPHRASE), not both"
            ),
            (Some(path), None) => a
                .set_key(Key::load(path)?)
                .with_context(|| format!("with the archive in {}", dir.display()))?,
            (None, Some(p)) => a
                .set_passphrase(&p)
                .with_context(|| format!("with the archive in {}", dir.display()))?,
            (None, None) => {}
        }
        Ok(a)
    }

    /// Gives the archive the key derived from `passphrase` (argon2id with this archive's
    /// salt, made on first use).
    pub fn set_passphrase(&mut self, passphrase: &str) -> anyhow::Result<()> {
        let salt: Option<Vec<u8>> = self
            .db
            .query_row("SELECT salt FROM archive_kdf WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?;
        let salt = match salt {
            Some(s) => s,
            None => {
                let fresh = crypt::random_salt().to_vec();
                self.db.execute(
                    "INSERT OR IGNORE INTO archive_kdf (id, salt) VALUES (1, ?1)",
                    [&fresh],
                )?;
                self.db
                    .query_row("SELECT salt FROM archive_kdf WHERE id = 1", [], |r| {
                        r.get(0)
                    })?
            }
        };
        self.set_key(Key::from_passphrase(passphrase, &salt)?)
    }

    /// Gives the archive its key (from `--key-file`, or library code). A key that does not
    /// match the archive's key check is refused.
    pub fn set_key(&mut self, key: Key) -> anyhow::Result<()> {
        let check: Option<Vec<u8>> = self
            .db
            .query_row("SELECT key_check FROM archive_key WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?;
        if let Some(c) = check {
            if !crypt::key_matches(&key, &c) {
                return Err(WrongKey(key.describe()).into());
            }
        }
        self.key = Some(Arc::new(key));
        self.register_seal()
    }

    /// Has a key been recorded for this archive (with its first confidential record)?
    pub fn key_recorded(&self) -> anyhow::Result<bool> {
        Ok(self
            .db
            .query_row("SELECT 1 FROM archive_key WHERE id = 1", [], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Does the archive have a key to read confidential records?
    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }

    /// The key web uploads are sealed with while they wait for their job and are worked on
    /// (any upload may be a consultation); `None` without a key: they wait as they came.
    pub fn upload_key(&self) -> Option<Arc<Key>> {
        self.key.clone()
    }

    /// The key to write a record of this classification with (`None`: stored plain). The
    /// first confidential record records the key check.
    pub(crate) fn key_for_class(&self, classification: &str) -> anyhow::Result<Option<Arc<Key>>> {
        if classification != super::Classification::Confidential.as_str() {
            return Ok(None);
        }
        let key = self.key.clone().ok_or(KeyNeededToAdd)?;
        self.db.execute(
            "INSERT OR IGNORE INTO archive_key (id, key_check, created_at) VALUES (1, ?1, ?2)",
            rusqlite::params![crypt::key_check(&key), super::now()],
        )?;
        Ok(Some(key))
    }

    /// The key, to read an encrypted file or cell of meeting `id`.
    pub(crate) fn key_for_meeting(&self, id: i64) -> anyhow::Result<Arc<Key>> {
        Ok(self.key.clone().ok_or(KeyNeeded(id))?)
    }

    /// A catalog cell as text: plain text as is, a sealed BLOB decrypted.
    pub(crate) fn open_cell(&self, meeting_id: i64, v: Value) -> anyhow::Result<String> {
        match v {
            Value::Text(s) => Ok(s),
            Value::Null => Ok(String::new()),
            Value::Blob(b) => {
                let key = self.key_for_meeting(meeting_id)?;
                let plain = key.open(&b, &cell_context(meeting_id)).ok_or_else(|| {
                    anyhow::anyhow!(
                        "a sealed catalog cell of meeting {meeting_id} cannot be decrypted with \
                         the key file {} (damaged, or moved from another meeting)",
                        key.source()
                    )
                })?;
                String::from_utf8(plain).map_err(|_| {
                    anyhow::anyhow!("a sealed catalog cell of meeting {meeting_id} is not text")
                })
            }
            Value::Integer(i) => Ok(i.to_string()),
            Value::Real(x) => Ok(x.to_string()),
        }
    }

    /// Encrypts what confidential meetings archived before encryption existed still keep
    /// plain: their files, turn text and speaker names (sealed in place; `secure_delete`
    /// overwrites the old cells, then a WAL checkpoint), and takes their turns out of the
    /// search index (the segments that held them are rewritten).
    pub fn seal_existing(&mut self) -> anyhow::Result<SealReport> {
        let _lock = self.write_lock()?;
        let mut report = SealReport::default();
        let ids: Vec<i64> = {
            let mut st = self.db.prepare(
                "SELECT id FROM meetings WHERE classification = 'confidential'
                 AND state != 'removing' ORDER BY id",
            )?;
            let rows = st.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        if ids.is_empty() {
            return Ok(report);
        }
        let key = self.key_for_class(super::Classification::Confidential.as_str())?;
        for id in ids {
            let files = super::files::MeetingFiles::new(self.meeting_folder(id), key.clone());
            let mut touched = false;
            if let Ok(entries) = std::fs::read_dir(self.meeting_folder(id)) {
                for e in entries {
                    let path = e?.path();
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    // Temp files of an interrupted write (".x.tmp123") are not the meeting's.
                    if name.starts_with('.') || !path.is_file() || crypt::file_is_encrypted(&path)?
                    {
                        continue;
                    }
                    files.copy_in(&name, &path)?;
                    report.files += 1;
                    touched = true;
                }
            }
            let tx = self.db.transaction()?;
            let cells = tx.execute(
                "UPDATE turns SET text = gijiroku_seal(meeting_id, text),
                                  speaker = gijiroku_seal(meeting_id, speaker)
                 WHERE meeting_id = ?1 AND (typeof(text) = 'text' OR typeof(speaker) = 'text')",
                [id],
            )? + tx.execute(
                "UPDATE speakers SET name = gijiroku_seal(meeting_id, name),
                                     key = gijiroku_seal(meeting_id, key)
                 WHERE meeting_id = ?1 AND (typeof(name) = 'text' OR typeof(key) = 'text')",
                [id],
            )?;
            tx.commit()?;
            report.rows += cells;
            if cells > 0 {
                touched = true;
                // Turns of a meeting archived before encryption are in the index.
                self.unindex_meeting(id)?;
            }
            if touched {
                report.meetings += 1;
            }
        }
        self.db
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(report)
    }

    /// The speakers of a meeting's turns (name, role, number of turns) in order of first
    /// turn; grouped here rather than in SQL because sealed names differ in every row.
    pub(crate) fn speaker_entries(&self, id: i64) -> anyhow::Result<Vec<super::SpeakerEntry>> {
        let mut st = self
            .db
            .prepare("SELECT speaker, role FROM turns WHERE meeting_id = ?1 ORDER BY seq")?;
        let rows = st.query_map([id], |r| {
            Ok((r.get::<_, Value>(0)?, r.get::<_, Option<String>>(1)?))
        })?;
        let mut out: Vec<super::SpeakerEntry> = Vec::new();
        for row in rows {
            let (speaker, role) = row?;
            let name = self.open_cell(id, speaker)?;
            match out.iter_mut().find(|e| e.name == name && e.role == role) {
                Some(e) => e.turns += 1,
                None => out.push(super::SpeakerEntry {
                    name,
                    role,
                    turns: 1,
                }),
            }
        }
        Ok(out)
    }

    /// Confidential turns matching a search: decrypted and matched in memory, for the
    /// meetings the viewer may search. `None` when no such meeting exists.
    pub(crate) fn sealed_hits(
        &self,
        viewer: &super::Viewer,
        req: &SearchRequest,
        filters: &Filters,
    ) -> anyhow::Result<Option<(usize, Vec<Hit>)>> {
        let (cond, args) = viewer.sql_condition();
        let sql = format!(
            "SELECT id, kind, title, body, date, classification, department FROM meetings
             WHERE state != 'removing' AND classification = 'confidential' AND {cond}
             ORDER BY date DESC, id DESC"
        );
        let mut st = self.db.prepare(&sql)?;
        let meetings: Vec<(i64, String, String, String, String, String, String)> = st
            .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        let from = filters.from.map(|d| d.format("%Y-%m-%d").to_string());
        let to = filters.to.map(|d| d.format("%Y-%m-%d").to_string());
        let meetings: Vec<_> = meetings
            .into_iter()
            .filter(|m| viewer.may(super::Action::Search, &m.5, &m.6))
            .filter(|m| {
                filters
                    .kind
                    .as_deref()
                    .is_none_or(|k| k.is_empty() || m.1 == k)
            })
            .filter(|m| {
                filters
                    .body
                    .as_deref()
                    .is_none_or(|b| b.is_empty() || m.3 == b)
            })
            .filter(|m| from.as_deref().is_none_or(|f| m.4.as_str() >= f))
            .filter(|m| to.as_deref().is_none_or(|t| m.4.as_str() <= t))
            .collect();
        if meetings.is_empty() {
            return Ok(None);
        }
        if self.key.is_none() {
            tracing::warn!(
                "{} confidential meeting(s) not searched: give the key file (--key-file or \
                 GIJIROKU_KEY_FILE)",
                meetings.len()
            );
            return Ok(None);
        }
        let query = Query::parse(&req.query)?;
        let turns: Option<std::collections::HashSet<u64>> =
            filters.turns.as_ref().map(|t| t.iter().copied().collect());
        let mut hits = Vec::new();
        for (id, kind, title, body, date, classification, department) in meetings {
            for t in self.turn_rows(id)? {
                if turns
                    .as_ref()
                    .is_some_and(|ts| !ts.contains(&turn_key(id, t.seq)))
                {
                    continue;
                }
                if !speaker_and_role_match(filters, &t) {
                    continue;
                }
                let folded = fold(&t.text);
                let Some(score) = query.score(&folded) else {
                    continue;
                };
                let (fragment, highlights) = snippet(&t.text, &query.literals());
                hits.push(Hit {
                    score,
                    turn: super::turn_doc(
                        id,
                        (&kind, &title, &body, &date, &classification, &department),
                        t,
                    ),
                    fragment,
                    highlights,
                    matched_by: if query.is_empty() {
                        MatchedBy::Filters
                    } else {
                        MatchedBy::Words
                    },
                });
            }
        }
        // Best first; among equals, newest meeting first, then in the order spoken.
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| b.turn.date.cmp(&a.turn.date))
                .then_with(|| b.turn.meeting_id.cmp(&a.turn.meeting_id))
                .then_with(|| a.turn.seq.cmp(&b.turn.seq))
        });
        let total = hits.len();
        hits.truncate(req.limit.max(1));
        Ok(Some((total, hits)))
    }
}

/// The speaker and role filters, as the index applies them (part of the name; end of the
/// role or of the name).
fn speaker_and_role_match(filters: &Filters, t: &TurnRow) -> bool {
    if let Some(s) = filters.speaker.as_deref().filter(|s| !s.is_empty()) {
        if !t.speaker.contains(s) {
            return false;
        }
    }
    if let Some(r) = filters.role.as_deref().filter(|s| !s.is_empty()) {
        let role_ok = t.role.as_deref().is_some_and(|x| x.ends_with(r));
        if !role_ok && !t.speaker.ends_with(r) {
            return false;
        }
    }
    true
}

/// Width- and case-folded text (the index's own folding), for substring matching.
fn fold(s: &str) -> String {
    s.chars().map(fold_char).collect()
}

/// A search query evaluated in memory: words and `"phrases"` (each matched as a folded
/// substring), `AND` / `&&` / juxtaposition, `OR` / `||`, `NOT` / `-`, `+`, parentheses —
/// the syntax the index's query parser reads. Substring matching is what the index's bigram
/// fallback does, so `京都` also finds `東京都` here.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// No words: every turn matches (filters only).
    All,
    Term(String),
    And(Vec<Query>),
    Or(Vec<Query>),
    Not(Box<Query>),
}

impl Query {
    /// Parsed by the index's own parser (`search::query`), so both searches read one syntax
    /// with the same limits (length, nesting, runs of NOT counted rather than recursed).
    pub fn parse(q: &str) -> anyhow::Result<Query> {
        Ok(crate::search::query::parse(q)?
            .map(|n| Query::from_node(&n))
            .unwrap_or(Query::All))
    }

    fn from_node(n: &crate::search::query::Node) -> Query {
        use crate::search::query::Node;
        match n {
            Node::Lit(l) => {
                let f = fold(l.text.trim());
                if f.is_empty() {
                    Query::All
                } else {
                    Query::Term(f)
                }
            }
            Node::And(ns) => Query::And(ns.iter().map(Query::from_node).collect()),
            Node::Or(ns) => Query::Or(ns.iter().map(Query::from_node).collect()),
            Node::Not(n) => Query::Not(Box::new(Query::from_node(n))),
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Query::All)
    }

    /// `Some(score)` when the folded text matches: the number of occurrences of the query's
    /// positive terms (at least 1).
    pub fn score(&self, folded: &str) -> Option<f32> {
        if !self.matches(folded) {
            return None;
        }
        let n: usize = self
            .literals()
            .iter()
            .map(|l| folded.matches(l.as_str()).count())
            .sum();
        Some(n.max(1) as f32)
    }

    fn matches(&self, folded: &str) -> bool {
        match self {
            Query::All => true,
            Query::Term(t) => folded.contains(t.as_str()),
            // A query of negations alone matches nothing (as in the index).
            Query::And(qs) => {
                qs.iter().any(|q| !matches!(q, Query::Not(_)))
                    && qs.iter().all(|q| q.matches(folded))
            }
            Query::Or(qs) => qs.iter().any(|q| q.matches(folded)),
            Query::Not(q) => !q.matches(folded),
        }
    }

    /// The folded terms asked for (not under a NOT): what is highlighted.
    pub fn literals(&self) -> Vec<String> {
        let mut out = Vec::new();
        fn walk(q: &Query, out: &mut Vec<String>) {
            match q {
                Query::Term(t) => out.push(t.clone()),
                Query::And(qs) | Query::Or(qs) => qs.iter().for_each(|q| walk(q, out)),
                Query::All | Query::Not(_) => {}
            }
        }
        walk(self, &mut out);
        out.sort();
        out.dedup();
        out
    }
}

/// Up to 240 characters of `text` around the first match, with the matches' byte ranges.
fn snippet(text: &str, literals: &[String]) -> (String, Vec<Range<usize>>) {
    // Folding keeps one char for one char, so char positions agree between text and folded.
    let chars: Vec<char> = text.chars().collect();
    let folded: Vec<char> = chars.iter().map(|&c| fold_char(c)).collect();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for l in literals {
        let l: Vec<char> = l.chars().collect();
        if l.is_empty() || l.len() > folded.len() {
            continue;
        }
        for i in 0..=folded.len() - l.len() {
            if folded[i..i + l.len()] == l[..] {
                spans.push((i, i + l.len()));
            }
        }
    }
    spans.sort();
    const MAX: usize = 240;
    let first = spans.first().map(|s| s.0).unwrap_or(0);
    let start = first
        .saturating_sub(40)
        .min(chars.len().saturating_sub(MAX));
    let end = (start + MAX).min(chars.len());
    let fragment: String = chars[start..end].iter().collect();
    let byte_at = |ci: usize| -> usize { chars[start..ci].iter().map(|c| c.len_utf8()).sum() };
    let mut highlights = Vec::new();
    let mut last_end = 0;
    for (a, b) in spans {
        if a < start || b > end || a < last_end {
            continue;
        }
        highlights.push(byte_at(a)..byte_at(b));
        last_end = b;
    }
    (fragment, highlights)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(q: &str, text: &str) -> bool {
        Query::parse(q).unwrap().score(&fold(text)).is_some()
    }

    #[test]
    fn queries_follow_the_index_syntax() {
        let t = "生活保護の申請について相談がありました。Ｂｕｓ代も";
        assert!(m("生活保護", t));
        assert!(m("生活保護 申請", t));
        assert!(!m("生活保護 年金", t));
        assert!(m("年金 OR 申請", t));
        assert!(!m("生活保護 NOT 申請", t));
        assert!(!m("生活保護 -申請", t));
        assert!(m("生活保護 -年金", t));
        assert!(m("\"申請について\"", t));
        assert!(m("(年金 OR 申請) AND 相談", t));
        assert!(m("bus", t), "full-width and case folded");
        assert!(!m("NOT 年金", t), "negations alone match nothing");
        assert!(m("", t));
        let deep = "(".repeat(10_000) + "x";
        assert!(Query::parse(&deep).is_err());
        let nots = "NOT ".repeat(450) + "年金";
        assert!(!m(&nots, t), "a run of NOTs is counted, not recursed");
        assert!(m(&("NOT ".repeat(451) + "年金 申請"), t));
    }

    #[test]
    fn snippets_highlight_the_matches() {
        let (f, h) = snippet("今日は生活保護の話と生活保護の申請", &["生活保護".into()]);
        assert_eq!(h.len(), 2);
        assert_eq!(&f[h[0].clone()], "生活保護");
        assert_eq!(&f[h[1].clone()], "生活保護");
    }
}
