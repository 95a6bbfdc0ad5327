//! Accounts, roles, passwords and sessions, kept in the catalog.
//!
//! Passwords are argon2id PHC strings (random salt); sessions are 32 random bytes of which
//! only the sha256 is stored, with a CSRF token and an 8-hour sliding expiry. Wrong passwords
//! are counted per user name in the catalog (so the limit holds across processes and for names
//! that do not exist): after [`FREE_ATTEMPTS`] failures every further attempt must wait a delay
//! that doubles with each failure.

use super::access::Viewer;
use super::Archive;
use anyhow::{bail, Context};
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    password TEXT NOT NULL,                -- argon2id PHC string
    role TEXT NOT NULL,
    department TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY,         -- the token itself is never stored
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires INTEGER NOT NULL               -- unix seconds
);
CREATE TABLE IF NOT EXISTS login_failures (
    name TEXT PRIMARY KEY,                 -- as typed, known user or not
    failures INTEGER NOT NULL,
    last_failure INTEGER NOT NULL          -- unix seconds
);
";

/// Wrong passwords allowed for a name before attempts are delayed.
pub const FREE_ATTEMPTS: i64 = 5;
/// The delay after the first failure beyond [`FREE_ATTEMPTS`]; it doubles with each further one.
const BASE_DELAY_SECS: i64 = 30;
const MAX_DELAY_SECS: i64 = 3600;
/// Sliding session lifetime.
pub const SESSION_SECS: i64 = 8 * 3600;
const MIN_PASSWORD_CHARS: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Clerk,
    Caseworker,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Clerk, Role::Caseworker, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Clerk => "clerk",
            Role::Caseworker => "caseworker",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> anyhow::Result<Role> {
        Ok(match s.trim() {
            "admin" => Role::Admin,
            "clerk" => Role::Clerk,
            "caseworker" => Role::Caseworker,
            "viewer" => Role::Viewer,
            _ => bail!("unknown role {s:?} (expected admin, clerk, caseworker or viewer)"),
        })
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub department: Option<String>,
    pub disabled: bool,
    pub created_at: String,
}

/// A change to an account; `None` fields stay as they are.
#[derive(Clone, Debug, Default)]
pub struct UserChange {
    pub password: Option<String>,
    pub role: Option<Role>,
    /// `Some(None)` removes the department.
    pub department: Option<Option<String>>,
    pub disabled: Option<bool>,
}

#[derive(Clone, Debug)]
pub struct Session {
    /// The secret cookie value (only its sha256 is stored).
    pub token: String,
    /// Must come back in `X-CSRF-Token` on every state-changing request.
    pub csrf: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("wrong user name or password")]
    Wrong,
    #[error("too many attempts: wait {0} s")]
    TooMany(u64),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Only an administrator may do this.
#[derive(Debug, thiserror::Error)]
#[error("{0} is not an administrator: only administrators manage users and read the audit log")]
pub struct NotAdmin(pub String);

const USER_COLUMNS: &str = "id, name, role, department, disabled, created_at";

fn user_row(r: &rusqlite::Row) -> rusqlite::Result<(User, String)> {
    let role: String = r.get(2)?;
    Ok((
        User {
            id: r.get(0)?,
            name: r.get(1)?,
            // Written only by this module from a Role; an unknown value reads as the least
            // privileged role rather than failing every query.
            role: Role::parse(&role).unwrap_or(Role::Viewer),
            department: r.get(3)?,
            disabled: r.get::<_, i64>(4)? != 0,
            created_at: r.get(5)?,
        },
        role,
    ))
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// 32 random bytes from the OS, as hex.
fn random_token() -> anyhow::Result<String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
    Ok(hex::encode(b))
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn hash_password(password: &str) -> anyhow::Result<String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        bail!("the password is too short: at least {MIN_PASSWORD_CHARS} characters");
    }
    if password.len() > 1024 {
        bail!("the password is too long (at most 1024 bytes)");
    }
    Ok(Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?
        .to_string())
}

fn check_name(name: &str) -> anyhow::Result<()> {
    if name.is_empty() || name.chars().count() > 64 {
        bail!("a user name must have 1 to 64 characters");
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '/' || c == ':')
    {
        bail!("a user name cannot contain spaces, control characters, '/' or ':' ({name:?})");
    }
    Ok(())
}

/// A caseworker without a department could never read a consultation: refuse it early.
fn check_department(role: Role, department: Option<&str>) -> anyhow::Result<()> {
    if role == Role::Caseworker && department.is_none_or(|d| d.trim().is_empty()) {
        bail!("a caseworker needs a department (--department)");
    }
    Ok(())
}

/// A PHC string of a password nobody has, verified for unknown names so that a wrong name
/// costs the same time as a wrong password.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| {
        Argon2::default()
            .hash_password(b"not a password of anyone here")
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

fn verify(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

impl Archive {
    pub(super) fn init_users(&self) -> anyhow::Result<()> {
        self.db
            .execute_batch(SCHEMA)
            .context("cannot set up the users tables in the catalog")
    }

    /// Whether any account exists (before the first, the CLI acts as the local administrator).
    pub fn has_users(&self) -> anyhow::Result<bool> {
        Ok(self
            .db
            .query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0))?)
    }

    fn require_admin(by: &Viewer) -> anyhow::Result<()> {
        if !by.is_admin() {
            return Err(NotAdmin(by.name.clone()).into());
        }
        Ok(())
    }

    /// Creates an account (administrators only).
    pub fn add_user(
        &mut self,
        by: &Viewer,
        name: &str,
        password: &str,
        role: Role,
        department: Option<&str>,
    ) -> anyhow::Result<User> {
        Self::require_admin(by)?;
        let name = name.trim();
        check_name(name)?;
        let department = department.map(str::trim).filter(|d| !d.is_empty());
        check_department(role, department)?;
        if self.user(name)?.is_some() {
            bail!("there is already a user named {name}");
        }
        // Before the first account the CLI acts as the local administrator; after it, only
        // accounts do: a first account that is not an admin would lock everyone out.
        if role != Role::Admin && !self.has_users()? {
            bail!("the first user must be an administrator (--role admin)");
        }
        let phc = hash_password(password)?;
        self.db.execute(
            "INSERT INTO users (name, password, role, department, disabled, created_at)
             VALUES (?1, ?2, ?3, ?4, 0, ?5)",
            params![name, phc, role.as_str(), department, super::now()],
        )?;
        let user = self.user(name)?.context("the new user vanished")?;
        self.audit(
            by,
            "user-add",
            None,
            &format!("{name} ({role}{})", dept_note(department)),
        )?;
        Ok(user)
    }

    /// Every account (administrators only).
    pub fn users(&self, by: &Viewer) -> anyhow::Result<Vec<User>> {
        Self::require_admin(by)?;
        let mut st = self
            .db
            .prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"))?;
        let rows = st.query_map([], user_row)?;
        Ok(rows.map(|r| r.map(|(u, _)| u)).collect::<Result<_, _>>()?)
    }

    /// One account by name.
    pub fn user(&self, name: &str) -> anyhow::Result<Option<User>> {
        Ok(self
            .db
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"),
                [name],
                user_row,
            )
            .optional()?
            .map(|(u, _)| u))
    }

    /// Changes an account. Administrators change anything; a user may change only their own
    /// password. The last enabled administrator cannot be disabled or demoted (nobody could
    /// manage users any more). A new password or disabling ends the user's sessions.
    pub fn update_user(
        &mut self,
        by: &Viewer,
        name: &str,
        change: &UserChange,
    ) -> anyhow::Result<User> {
        let own_password_only = by.name == name
            && change.role.is_none()
            && change.department.is_none()
            && change.disabled.is_none();
        if !own_password_only {
            Self::require_admin(by)?;
        }
        let old = self
            .user(name)?
            .with_context(|| format!("there is no user named {name}"))?;
        let role = change.role.unwrap_or(old.role);
        let department = match &change.department {
            Some(d) => d
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(String::from),
            None => old.department.clone(),
        };
        check_department(role, department.as_deref())?;
        let disabled = change.disabled.unwrap_or(old.disabled);
        if old.role == Role::Admin && !old.disabled && (role != Role::Admin || disabled) {
            let admins: i64 = self.db.query_row(
                "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0",
                [],
                |r| r.get(0),
            )?;
            if admins <= 1 {
                bail!("{name} is the last administrator: make another user admin first");
            }
        }
        let phc = change.password.as_deref().map(hash_password).transpose()?;
        let tx = self.db.transaction()?;
        tx.execute(
            "UPDATE users SET role = ?2, department = ?3, disabled = ?4,
                              password = COALESCE(?5, password)
             WHERE id = ?1",
            params![old.id, role.as_str(), department, disabled as i64, phc],
        )?;
        if phc.is_some() || disabled {
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", [old.id])?;
        }
        if phc.is_some() {
            tx.execute("DELETE FROM login_failures WHERE name = ?1", [name])?;
        }
        tx.commit()?;
        let mut what = Vec::new();
        if phc.is_some() {
            what.push("password".to_string());
        }
        if role != old.role {
            what.push(format!("role {} → {role}", old.role));
        }
        if department != old.department {
            what.push(format!(
                "department → {}",
                department.as_deref().unwrap_or("—")
            ));
        }
        if disabled != old.disabled {
            what.push(if disabled { "disabled" } else { "enabled" }.to_string());
        }
        self.audit(
            by,
            "user-change",
            None,
            &format!("{name}: {}", what.join(", ")),
        )?;
        self.user(name)?.context("the user vanished")
    }

    /// Checks a name and password. Unknown names, wrong passwords and disabled accounts all
    /// answer [`AuthError::Wrong`] (and cost the same argon2 time); after [`FREE_ATTEMPTS`]
    /// failures for a name, attempts answer [`AuthError::TooMany`] until the delay has passed,
    /// without looking at the password. Failures are written to the audit log
    /// ("login-failed"); the caller logs a successful login.
    pub fn authenticate(&self, name: &str, password: &str) -> Result<User, AuthError> {
        // Failures are counted (and logged) under the name's first 64 characters: no account
        // has a longer name, and a huge one typed must not make a huge row.
        let key: String = name.chars().take(64).collect();
        let now = unix_now();
        let failures: Option<(i64, i64)> = self
            .db
            .query_row(
                "SELECT failures, last_failure FROM login_failures WHERE name = ?1",
                [&key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(anyhow::Error::from)?;
        if let Some((n, last)) = failures {
            let wait = lockout_secs(n) - (now - last);
            if wait > 0 {
                return Err(AuthError::TooMany(wait as u64));
            }
        }
        let found: Option<(User, String)> = self
            .db
            .query_row(
                &format!("SELECT {USER_COLUMNS}, password FROM users WHERE name = ?1"),
                [name],
                |r| Ok((user_row(r)?.0, r.get(6)?)),
            )
            .optional()
            .map_err(anyhow::Error::from)?;
        let ok = match &found {
            Some((u, phc)) => verify(phc, password) && !u.disabled,
            None => {
                verify(dummy_hash(), password);
                false
            }
        };
        match found {
            Some((u, _)) if ok => {
                self.db
                    .execute("DELETE FROM login_failures WHERE name = ?1", [&key])
                    .map_err(anyhow::Error::from)?;
                Ok(u)
            }
            _ => {
                self.db
                    .execute(
                        "INSERT INTO login_failures (name, failures, last_failure) VALUES (?1, 1, ?2)
                         ON CONFLICT (name) DO UPDATE SET failures = failures + 1, last_failure = ?2",
                        params![key, now],
                    )
                    .map_err(anyhow::Error::from)?;
                let who = Viewer::new(&key, Role::Viewer, None);
                self.audit(&who, "login-failed", None, "")?;
                Err(AuthError::Wrong)
            }
        }
    }

    /// Opens a session for a user who just authenticated.
    pub fn create_session(&self, user: &User) -> anyhow::Result<Session> {
        let token = random_token()?;
        let csrf = random_token()?;
        let expires = unix_now() + SESSION_SECS;
        // Expired sessions of anyone are dropped here, so the table stays small.
        self.db
            .execute("DELETE FROM sessions WHERE expires <= ?1", [unix_now()])?;
        self.db.execute(
            "INSERT INTO sessions (token_sha256, user_id, csrf, created_at, expires)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![token_hash(&token), user.id, csrf, super::now(), expires],
        )?;
        Ok(Session {
            token,
            csrf,
            expires_at: rfc3339(expires),
        })
    }

    /// The user and session of a token, and the session's expiry pushed 8 h ahead; `None` if
    /// the token is unknown, expired, or its user disabled.
    pub fn session(&self, token: &str) -> anyhow::Result<Option<(User, Session)>> {
        // A session token is 64 hex digits; anything else cannot be one (and is not hashed).
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let hash = token_hash(token);
        let now = unix_now();
        let row: Option<(i64, String, i64)> = self
            .db
            .query_row(
                "SELECT user_id, csrf, expires FROM sessions WHERE token_sha256 = ?1",
                [&hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((user_id, csrf, expires)) = row else {
            return Ok(None);
        };
        if expires <= now {
            self.db
                .execute("DELETE FROM sessions WHERE token_sha256 = ?1", [&hash])?;
            return Ok(None);
        }
        let user = self
            .db
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
                [user_id],
                user_row,
            )
            .optional()?
            .map(|(u, _)| u);
        let Some(user) = user.filter(|u| !u.disabled) else {
            return Ok(None);
        };
        let expires = now + SESSION_SECS;
        self.db.execute(
            "UPDATE sessions SET expires = ?2 WHERE token_sha256 = ?1",
            params![hash, expires],
        )?;
        Ok(Some((
            user,
            Session {
                token: token.to_string(),
                csrf,
                expires_at: rfc3339(expires),
            },
        )))
    }

    /// Ends a session (sign out). Unknown tokens are ignored.
    pub fn end_session(&self, token: &str) -> anyhow::Result<()> {
        self.db.execute(
            "DELETE FROM sessions WHERE token_sha256 = ?1",
            [token_hash(token)],
        )?;
        Ok(())
    }
}

/// How long a name with `failures` wrong passwords must wait after the last one.
fn lockout_secs(failures: i64) -> i64 {
    if failures < FREE_ATTEMPTS {
        return 0;
    }
    let doublings = (failures - FREE_ATTEMPTS).min(16) as u32;
    (BASE_DELAY_SECS << doublings).min(MAX_DELAY_SECS)
}

fn dept_note(d: Option<&str>) -> String {
    d.map(|d| format!(", {d}")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_grows_after_the_free_attempts_and_is_capped() {
        assert_eq!(lockout_secs(0), 0);
        assert_eq!(lockout_secs(FREE_ATTEMPTS - 1), 0);
        assert_eq!(lockout_secs(FREE_ATTEMPTS), 30);
        assert_eq!(lockout_secs(FREE_ATTEMPTS + 1), 60);
        assert_eq!(lockout_secs(FREE_ATTEMPTS + 3), 240);
        assert_eq!(lockout_secs(1000), MAX_DELAY_SECS);
    }

    #[test]
    fn roles_parse_and_print() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert!(Role::parse("root").is_err());
    }

    #[test]
    fn passwords_hash_with_argon2id_and_a_salt() {
        let a = hash_password("correct horse").unwrap();
        let b = hash_password("correct horse").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "random salt");
        assert!(verify(&a, "correct horse"));
        assert!(!verify(&a, "correct horsf"));
        assert!(!verify("garbage", "x"));
        assert!(hash_password("short").is_err());
    }
}
