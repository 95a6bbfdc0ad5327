use super::Globals;
use gijiroku::archive::audit::DEFAULT_RETENTION_YEARS;
use gijiroku::archive::{meta, Archive, AuditQuery};
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Check the audit log's hash chain: exit 1 and list every break if an entry was edited or
    /// deleted.
    Verify,
    /// Show audit entries (administrators), oldest first.
    Show {
        /// Only this meeting.
        #[arg(long)]
        record: Option<i64>,
        /// Only this user's entries (the acting user is the global `gijiroku --user`).
        #[arg(long)]
        user: Option<String>,
        /// Only this action (open, search, edit, delete, upload, login, login-failed, ...).
        #[arg(long)]
        action: Option<String>,
        /// From this day (YYYY-MM-DD, UTC), included.
        #[arg(long)]
        from: Option<String>,
        /// Up to this day (YYYY-MM-DD, UTC), included.
        #[arg(long)]
        to: Option<String>,
        /// Only the newest N entries.
        #[arg(long, short = 'n')]
        limit: Option<usize>,
    },
    /// Drop entries older than the retention period, keeping the chain verifiable from an
    /// anchor (administrators).
    Prune {
        /// Keep this many years of entries.
        #[arg(long, default_value_t = DEFAULT_RETENTION_YEARS)]
        keep_years: u32,
    },
}

pub fn run(c: Command, g: &Globals) -> anyhow::Result<ExitCode> {
    let a = Archive::open(&g.data)?;
    let by = super::users::viewer(g, &a)?;
    match c {
        Command::Verify => {
            if !by.is_admin() {
                anyhow::bail!(
                    "{} is not an administrator: only administrators verify the audit log",
                    by.name
                );
            }
            let r = a.audit_verify()?;
            if g.json {
                out!("{}", serde_json::to_string_pretty(&r)?);
            } else if r.ok() {
                out!(
                    "audit log intact: {} entries{}{}",
                    r.entries,
                    match (r.first_seq, r.last_seq) {
                        (Some(a), Some(b)) => format!(" (seq {a}–{b})"),
                        _ => String::new(),
                    },
                    r.anchor
                        .map(|s| format!(", entries up to seq {s} pruned"))
                        .unwrap_or_default()
                );
            } else {
                for p in &r.problems {
                    eprintln!("gijiroku: audit log: {p}");
                }
            }
            if !r.ok() {
                if !g.json {
                    eprintln!(
                        "gijiroku: error: the audit log {} does not verify ({} problem(s))",
                        g.data.join("audit.jsonl").display(),
                        r.problems.len()
                    );
                }
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Show {
            record,
            user,
            action,
            from,
            to,
            limit,
        } => {
            let q = AuditQuery {
                user,
                meeting: record,
                action,
                from: from.as_deref().map(meta::parse_date).transpose()?,
                to: to.as_deref().map(meta::parse_date).transpose()?,
                limit,
            };
            let entries = a.audit_entries(&by, &q)?;
            if g.json {
                out!("{}", serde_json::to_string_pretty(&entries)?);
            } else {
                for e in entries {
                    out!(
                        "{:>6}  {}  {:<16} {:<13} {:>6}  {}",
                        e.seq,
                        e.time,
                        e.user,
                        e.action,
                        e.meeting_id.map(|m| m.to_string()).unwrap_or_default(),
                        e.detail
                    );
                }
            }
        }
        Command::Prune { keep_years } => {
            if keep_years == 0 {
                anyhow::bail!("--keep-years must be at least 1");
            }
            let before = chrono::Utc::now()
                - chrono::Duration::days(i64::from(keep_years) * 365 + i64::from(keep_years / 4));
            let n = a.audit_prune(&by, before)?;
            out!(
                "{n} audit entries older than {} pruned",
                before.format("%Y-%m-%d")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
