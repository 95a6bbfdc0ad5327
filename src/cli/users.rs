use super::Globals;
use anyhow::{bail, Context};
use gijiroku::archive::{Archive, AuthError, Role, UserChange, Viewer};
use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Create an account (administrators; the very first account must be an admin).
    Add {
        name: String,
        /// admin, clerk, caseworker or viewer.
        #[arg(long)]
        role: String,
        /// The user's department (caseworkers need one: it decides whose consultations they read).
        #[arg(long)]
        department: Option<String>,
        /// Read the password from the first line of stdin instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the accounts (administrators).
    List,
    /// Set a new password (your own, or anyone's as an administrator). Ends their sessions.
    Passwd {
        /// Default: yourself.
        name: Option<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable an account: it can no longer sign in; its sessions end.
    Disable { name: String },
    /// Enable a disabled account again.
    Enable { name: String },
    /// Change an account's role or department (administrators).
    Set {
        name: String,
        #[arg(long)]
        role: Option<String>,
        /// The new department ("" removes it).
        #[arg(long)]
        department: Option<String>,
    },
}

/// The OS user running this process.
fn os_user() -> Option<String> {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| {
            // SAFETY: getpwuid returns a pointer into static storage or null; we copy the
            // name out immediately and do not keep the pointer.
            unsafe {
                let pw = libc::getpwuid(libc::getuid());
                if pw.is_null() || (*pw).pw_name.is_null() {
                    return None;
                }
                Some(
                    std::ffi::CStr::from_ptr((*pw).pw_name)
                        .to_string_lossy()
                        .into_owned(),
                )
            }
        })
}

/// Reads a password: one line of stdin, or a hidden prompt on the terminal.
fn read_password(from_stdin: bool, prompt: &str, confirm: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        let p = line.trim_end_matches(['\n', '\r']).to_string();
        if p.is_empty() {
            bail!("no password on stdin");
        }
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask for the password: use --password-stdin");
    }
    let p = rpassword::prompt_password(prompt).context("cannot read the password")?;
    if confirm {
        let again = rpassword::prompt_password("again: ").context("cannot read the password")?;
        if again != p {
            bail!("the two passwords differ");
        }
    }
    Ok(p)
}

/// Who this command acts as. Before any account exists: the local administrator. Then:
/// `--user NAME` (GIJIROKU_USER) with that account's password (GIJIROKU_PASSWORD or a prompt),
/// or else the account named like the OS user.
pub fn viewer(g: &Globals, a: &Archive) -> anyhow::Result<Viewer> {
    if !a.has_users()? {
        if let Some(u) = &g.user {
            bail!(
                "--user {u}: the archive has no user accounts yet (create the first administrator with `gijiroku users add NAME --role admin`)"
            );
        }
        let name = format!("local:{}", os_user().unwrap_or_else(|| "?".into()));
        return Ok(Viewer::new(&name, Role::Admin, None));
    }
    if let Some(name) = &g.user {
        let password = match std::env::var("GIJIROKU_PASSWORD") {
            Ok(p) => p,
            Err(_) if std::io::stdin().is_terminal() => {
                rpassword::prompt_password(format!("password of {name}: "))
                    .context("cannot read the password")?
            }
            Err(_) => bail!(
                "--user {name}: give the password in GIJIROKU_PASSWORD (no terminal to ask on)"
            ),
        };
        return match a.authenticate(name, &password) {
            Ok(u) => {
                let v = Viewer::for_user(&u);
                a.audit(&v, "login", None, "cli")?;
                Ok(v)
            }
            Err(AuthError::Other(e)) => Err(e),
            Err(e) => Err(e.into()),
        };
    }
    let os = os_user().context("cannot tell the OS user: give --user NAME")?;
    match a.user(&os)? {
        Some(u) if u.disabled => bail!("the account {os} is disabled"),
        Some(u) => Ok(Viewer::for_user(&u)),
        None => bail!(
            "the archive has user accounts and the OS user {os} is not one of them: give --user NAME (password in GIJIROKU_PASSWORD or at the prompt)"
        ),
    }
}

pub fn run(c: Command, g: &Globals) -> anyhow::Result<ExitCode> {
    let mut a = Archive::open(&g.data)?;
    let by = viewer(g, &a)?;
    match c {
        Command::Add {
            name,
            role,
            department,
            password_stdin,
        } => {
            let role = Role::parse(&role)?;
            let password = read_password(password_stdin, &format!("password of {name}: "), true)?;
            let u = a.add_user(&by, &name, &password, role, department.as_deref())?;
            if g.json {
                out!("{}", serde_json::to_string(&u)?);
            } else {
                out!(
                    "user {} added ({}{})",
                    u.name,
                    u.role,
                    u.department
                        .as_deref()
                        .map(|d| format!(", {d}"))
                        .unwrap_or_default()
                );
            }
        }
        Command::List => {
            let users = a.users(&by)?;
            if g.json {
                out!("{}", serde_json::to_string_pretty(&users)?);
            } else {
                for u in users {
                    out!(
                        "{:<16} {:<11} {:<16} {}{}",
                        u.name,
                        u.role,
                        u.department.as_deref().unwrap_or("—"),
                        u.created_at,
                        if u.disabled { "  disabled" } else { "" }
                    );
                }
            }
        }
        Command::Passwd {
            name,
            password_stdin,
        } => {
            let name = name.unwrap_or_else(|| by.name.clone());
            let password =
                read_password(password_stdin, &format!("new password of {name}: "), true)?;
            let change = UserChange {
                password: Some(password),
                ..Default::default()
            };
            a.update_user(&by, &name, &change)?;
            out!("password of {name} changed (their sessions ended)");
        }
        Command::Disable { name } => {
            let change = UserChange {
                disabled: Some(true),
                ..Default::default()
            };
            a.update_user(&by, &name, &change)?;
            out!("user {name} disabled");
        }
        Command::Enable { name } => {
            let change = UserChange {
                disabled: Some(false),
                ..Default::default()
            };
            a.update_user(&by, &name, &change)?;
            out!("user {name} enabled");
        }
        Command::Set {
            name,
            role,
            department,
        } => {
            let change = UserChange {
                role: role.as_deref().map(Role::parse).transpose()?,
                department: department.map(|d| Some(d).filter(|d| !d.trim().is_empty())),
                ..Default::default()
            };
            let u = a.update_user(&by, &name, &change)?;
            out!(
                "user {}: {}, department {}",
                u.name,
                u.role,
                u.department.as_deref().unwrap_or("—")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
