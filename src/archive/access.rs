//! Who may read what: the ONE place every read of the archive (catalog or search index)
//! asks. Today the CLI runs on the clerk's own machine and reads everything; the server will
//! build a [`Viewer`] per signed-in user, and encryption and an audit log hook in here.

use super::meta::Classification;
use crate::search::Filters;

/// The person (or process) reading the archive.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// Shown in errors (and, later, in the audit log).
    pub name: String,
    /// May read confidential records (of `departments`, when that is set).
    pub confidential: bool,
    /// Departments whose confidential records this viewer may read; `None` = all of them.
    pub departments: Option<Vec<String>>,
}

impl Viewer {
    /// The local administrator: the CLI on the machine that holds the archive reads everything.
    pub fn local() -> Viewer {
        Viewer {
            name: "local".into(),
            confidential: true,
            departments: None,
        }
    }

    /// A reader of public records only (e.g. residents, the public search page).
    pub fn public() -> Viewer {
        Viewer {
            name: "public".into(),
            confidential: false,
            departments: None,
        }
    }

    /// May this viewer read a meeting with this classification and owning department?
    pub fn may_read(&self, classification: &str, department: &str) -> bool {
        if classification == Classification::Public.as_str() {
            return true;
        }
        self.confidential
            && self
                .departments
                .as_ref()
                .is_none_or(|ds| ds.iter().any(|d| d == department))
    }

    /// Narrows a search to what this viewer may read (the same rule as [`Self::may_read`]).
    pub fn restrict(&self, filters: &mut Filters) {
        filters.readable_departments = if !self.confidential {
            Some(Vec::new())
        } else {
            self.departments.clone()
        };
    }

    /// A SQL condition (on columns `classification`, `department`) with its parameters.
    pub fn sql_condition(&self) -> (String, Vec<String>) {
        if !self.confidential {
            return ("classification = 'public'".into(), Vec::new());
        }
        match &self.departments {
            None => ("1 = 1".into(), Vec::new()),
            Some(ds) => {
                let marks = vec!["?"; ds.len()].join(", ");
                (
                    format!("(classification = 'public' OR department IN ({marks}))"),
                    ds.clone(),
                )
            }
        }
    }
}
