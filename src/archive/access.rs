//! Who may do what: the ONE place every read and write of the archive asks. The whole policy
//! is [`MATRIX`] (role × classification × own department → actions); the SQL condition, the
//! search filter and every check are derived from it, so they cannot disagree.
//!
//! Invisible means invisible: a record a viewer may not list is absent from listings, search
//! hits and counts, and asking for it by id gives the same "no meeting N" as an unknown id
//! ([`super::NoSuchMeeting`]). Only a record the viewer may see but not change answers
//! [`Forbidden`].

use super::meta::{Classification, MeetingMeta};
use super::users::{Role, User};
use super::{Archive, MeetingSummary};
use crate::search::Filters;

/// What someone does with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// See it in listings (and its metadata).
    List,
    /// Read its transcript, turns, minutes.
    Open,
    /// Find its turns by search.
    Search,
    /// Play or download its recording.
    Play,
    /// Export minutes / transcripts out of the archive.
    Export,
    /// Revise the transcript, attach minutes, change metadata.
    Edit,
    /// Remove it.
    Delete,
}

impl Action {
    pub const ALL: [Action; 7] = [
        Action::List,
        Action::Open,
        Action::Search,
        Action::Play,
        Action::Export,
        Action::Edit,
        Action::Delete,
    ];

    const fn bit(self) -> u8 {
        1 << self as u8
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::List => "list",
            Action::Open => "open",
            Action::Search => "search",
            Action::Play => "play",
            Action::Export => "export",
            Action::Edit => "edit",
            Action::Delete => "delete",
        }
    }
}

/// Reading: list, open, search, play, export (always granted together).
const R: u8 = Action::List.bit()
    | Action::Open.bit()
    | Action::Search.bit()
    | Action::Play.bit()
    | Action::Export.bit();
/// Reading and changing: also edit and delete.
const W: u8 = R | Action::Edit.bit() | Action::Delete.bit();
/// May create (upload, import) records of this kind.
const U: u8 = 1 << 7;

/// The columns of [`MATRIX`]: a record's classification, and whether its department is the
/// viewer's own.
pub const COLUMNS: [(Classification, bool); 6] = [
    (Classification::Public, true),
    (Classification::Public, false),
    (Classification::Internal, true),
    (Classification::Internal, false),
    (Classification::Confidential, true),
    (Classification::Confidential, false),
];

/// THE access matrix. R = list/open/search/play/export, W = R + edit/delete, U = upload.
/// - admin: everything (users and the audit log too, see [`Viewer::is_admin`]);
/// - clerk (council minutes): public and internal records of every department, never
///   confidential ones;
/// - caseworker: reads public and internal records; all actions on their own department's
///   internal and confidential records (consultations), nothing of other departments'
///   confidential ones;
/// - viewer: reads public records only.
#[rustfmt::skip]
pub const MATRIX: [(Role, [u8; 6]); 4] = [
    //                  public        internal      confidential
    //                  own   other   own   other   own   other
    (Role::Admin,      [W|U,  W|U,    W|U,  W|U,    W|U,  W|U]),
    (Role::Clerk,      [W|U,  W|U,    W|U,  W|U,    0,    0  ]),
    (Role::Caseworker, [R,    R,      W|U,  R,      W|U,  0  ]),
    (Role::Viewer,     [R,    R,      0,    0,      0,    0  ]),
];

/// The person (or process) reading or writing the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    /// Shown in errors and written to the audit log.
    pub name: String,
    pub role: Role,
    /// The viewer's department: decides "own department" in [`MATRIX`].
    pub department: Option<String>,
}

/// A record the viewer may see but not change in this way (never used for invisible ones).
#[derive(Debug, thiserror::Error)]
#[error("{user} ({role}) may not {action} meeting {id}")]
pub struct Forbidden {
    pub user: String,
    pub role: &'static str,
    pub action: &'static str,
    pub id: i64,
}

/// Creating a record of this classification and department is not allowed for this role.
#[derive(Debug, thiserror::Error)]
#[error("{user} ({role}) may not add {classification} records of department {department:?}")]
pub struct UploadForbidden {
    pub user: String,
    pub role: &'static str,
    pub classification: String,
    pub department: String,
}

impl Viewer {
    /// The local administrator: the CLI on the machine that holds the archive, before any
    /// user exists.
    pub fn local() -> Viewer {
        Viewer::new("local", Role::Admin, None)
    }

    /// A reader of public records only (e.g. residents, the public search page).
    pub fn public() -> Viewer {
        Viewer::new("public", Role::Viewer, None)
    }

    pub fn new(name: &str, role: Role, department: Option<&str>) -> Viewer {
        Viewer {
            name: name.to_string(),
            role,
            department: department
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(String::from),
        }
    }

    /// The viewer a signed-in (or OS-mapped) catalog user acts as.
    pub fn for_user(u: &User) -> Viewer {
        Viewer::new(&u.name, u.role, u.department.as_deref())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Administrators manage users and read the audit log.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The matrix cell for a record. An unknown classification string is treated as
    /// confidential (fail closed).
    fn cell(&self, classification: &str, department: &str) -> u8 {
        let class = Classification::parse(classification).unwrap_or(Classification::Confidential);
        let own = self
            .department
            .as_deref()
            .is_some_and(|d| !department.is_empty() && d == department);
        let col = COLUMNS
            .iter()
            .position(|&(c, o)| c == class && o == own)
            .expect("every (classification, own) pair is a column");
        let row = MATRIX
            .iter()
            .find(|(r, _)| *r == self.role)
            .expect("every role is a row");
        row.1[col]
    }

    /// May this viewer do `action` on a record with this classification and department?
    pub fn may(&self, action: Action, classification: &str, department: &str) -> bool {
        self.cell(classification, department) & action.bit() != 0
    }

    /// May this viewer create (upload, import) a record with this classification and department?
    pub fn may_upload(&self, classification: &str, department: &str) -> bool {
        self.cell(classification, department) & U != 0
    }

    /// May this viewer read (list, open, search) such a record?
    pub fn may_read(&self, classification: &str, department: &str) -> bool {
        self.may(Action::List, classification, department)
    }

    /// What this viewer may list, as (classification, `Some(department)` = only that
    /// department, `None` = every department). Derived from [`MATRIX`]: a classification
    /// readable in other departments is readable in one's own too (checked by a test).
    fn readable(&self) -> Vec<(&'static str, Option<String>)> {
        let mut out = Vec::new();
        for class in [
            Classification::Public,
            Classification::Internal,
            Classification::Confidential,
        ] {
            let col = |own| COLUMNS.iter().position(|&c| c == (class, own)).unwrap();
            let row = MATRIX.iter().find(|(r, _)| *r == self.role).unwrap().1;
            let (own, other) = (row[col(true)] & R != 0, row[col(false)] & R != 0);
            if other {
                out.push((class.as_str(), None));
            } else if own {
                if let Some(d) = &self.department {
                    out.push((class.as_str(), Some(d.clone())));
                }
            }
        }
        out
    }

    /// Narrows a search to what this viewer may read (the same rule as [`Self::may_read`]).
    pub fn restrict(&self, filters: &mut Filters) {
        filters.readable = Some(
            self.readable()
                .into_iter()
                .map(|(c, d)| (c.to_string(), d))
                .collect(),
        );
    }

    /// A SQL condition (on columns `classification`, `department`) with its parameters:
    /// the records this viewer may list.
    pub fn sql_condition(&self) -> (String, Vec<String>) {
        let mut conds = Vec::new();
        let mut args = Vec::new();
        for (class, dept) in self.readable() {
            match dept {
                None => conds.push(format!("classification = '{class}'")),
                Some(d) => {
                    conds.push(format!("(classification = '{class}' AND department = ?)"));
                    args.push(d);
                }
            }
        }
        if conds.is_empty() {
            return ("0 = 1".into(), args);
        }
        (format!("({})", conds.join(" OR ")), args)
    }
}

impl Archive {
    /// The meeting, if this viewer may do `action` on it. A meeting the viewer may not even
    /// list answers [`super::NoSuchMeeting`], like an unknown id; a visible one the viewer may
    /// not change answers [`Forbidden`].
    pub fn permit(
        &self,
        viewer: &Viewer,
        id: i64,
        action: Action,
    ) -> anyhow::Result<MeetingSummary> {
        let s = self.summary(viewer, id)?;
        if !viewer.may(action, &s.classification, &s.department) {
            return Err(Forbidden {
                user: viewer.name.clone(),
                role: viewer.role.as_str(),
                action: action.as_str(),
                id,
            }
            .into());
        }
        Ok(s)
    }

    /// Refuses to create a record this viewer may not create.
    pub fn permit_upload(&self, viewer: &Viewer, meta: &MeetingMeta) -> anyhow::Result<()> {
        let class = meta.classification.as_str();
        if !viewer.may_upload(class, &meta.department) {
            return Err(UploadForbidden {
                user: viewer.name.clone(),
                role: viewer.role.as_str(),
                classification: class.to_string(),
                department: meta.department.clone(),
            }
            .into());
        }
        Ok(())
    }
}

impl Archive {
    /// [`Archive::add_transcript`] on behalf of `viewer`: refused unless the matrix lets them
    /// create such a record; logged as "upload".
    pub fn add_transcript_by(
        &mut self,
        viewer: &Viewer,
        transcript_path: &std::path::Path,
        meta: &MeetingMeta,
        audio: Option<&std::path::Path>,
    ) -> anyhow::Result<i64> {
        self.permit_upload(viewer, meta)?;
        let id = self.add_transcript(transcript_path, meta, audio)?;
        let what = if audio.is_some() {
            "transcript and recording"
        } else {
            "transcript"
        };
        self.audit(viewer, "upload", Some(id), what)?;
        Ok(id)
    }

    /// [`Archive::import_minutes`] on behalf of `viewer`: checked and logged like
    /// [`Self::add_transcript_by`].
    pub fn import_minutes_by(
        &mut self,
        viewer: &Viewer,
        path: &std::path::Path,
        opts: &super::MinutesImport,
    ) -> anyhow::Result<i64> {
        // The classification import_minutes will choose: the option, else the kind's default
        // (minutes text without --kind is council or committee minutes: public).
        let class = opts.classification.unwrap_or_else(|| {
            opts.kind
                .map(|k| k.default_classification())
                .unwrap_or(Classification::Public)
        });
        let department = opts.department.clone().unwrap_or_default();
        if !viewer.may_upload(class.as_str(), department.trim()) {
            return Err(UploadForbidden {
                user: viewer.name.clone(),
                role: viewer.role.as_str(),
                classification: class.as_str().to_string(),
                department,
            }
            .into());
        }
        let id = self.import_minutes(path, opts)?;
        // Should the rule above ever drift from import_minutes', undo rather than keep a
        // record its importer may not create.
        let s = self.summary(&Viewer::local(), id)?;
        if !viewer.may_upload(&s.classification, &s.department) {
            self.remove(&Viewer::local(), id)?;
            anyhow::bail!(
                "{} ({}) may not add {} records of department {:?}",
                viewer.name,
                viewer.role,
                s.classification,
                s.department
            );
        }
        self.audit(viewer, "upload", Some(id), "minutes text")?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_rights_come_together_and_other_departments_never_exceed_ones_own() {
        for (role, row) in MATRIX {
            for (i, cell) in row.iter().enumerate() {
                assert!(
                    cell & R == 0 || cell & R == R,
                    "{role:?} column {i}: read actions must be granted together"
                );
                assert!(
                    cell & !R & !U == 0 || cell & R == R,
                    "{role:?}: writing needs reading"
                );
            }
            for pair in row.chunks(2) {
                assert_eq!(
                    pair[1] & !pair[0],
                    0,
                    "{role:?}: other department beyond own"
                );
            }
        }
        for role in [Role::Admin, Role::Clerk, Role::Caseworker, Role::Viewer] {
            assert_eq!(MATRIX.iter().filter(|(r, _)| *r == role).count(), 1);
        }
    }

    #[test]
    fn sql_condition_follows_the_matrix() {
        let cw = Viewer::new("a", Role::Caseworker, Some("福祉課"));
        let (sql, args) = cw.sql_condition();
        assert_eq!(
            sql,
            "(classification = 'public' OR classification = 'internal' OR \
             (classification = 'confidential' AND department = ?))"
        );
        assert_eq!(args, vec!["福祉課".to_string()]);
        let (sql, args) = Viewer::public().sql_condition();
        assert_eq!(sql, "(classification = 'public')");
        assert!(args.is_empty());
        // A caseworker without a department reads no confidential record.
        let (sql, _) = Viewer::new("b", Role::Caseworker, None).sql_condition();
        assert!(!sql.contains("confidential"));
        assert!(!Viewer::new("b", Role::Caseworker, Some("")).may_read("confidential", ""));
        // Unknown classifications are treated as confidential.
        assert!(!Viewer::new("c", Role::Clerk, None).may_read("secret", "x"));
        assert!(Viewer::local().may(Action::Delete, "secret", "x"));
    }
}
