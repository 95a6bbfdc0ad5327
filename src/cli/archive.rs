use super::Globals;
use anyhow::Context;
use gijiroku::archive::{
    meta, AlreadyArchived, Classification, MeetingKind, MeetingMeta, MinutesImport,
};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Archive a transcript with its meeting metadata (meeting.toml).
    Add {
        /// Transcript JSON written by `gijiroku transcribe`.
        transcript: PathBuf,
        /// Meeting metadata: kind, title, body, date, place, start_time, classification, department.
        #[arg(long)]
        meta: PathBuf,
        /// Copy this recording into the archive (checked against the transcript's sha256).
        #[arg(long)]
        audio: Option<PathBuf>,
    },
    /// Import past minutes written as text (`○渡辺議長　…` speaker headings): files, or
    /// folders (their `.txt` files, in name order).
    ImportMinutes {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Title (default: the file's `# ` line, else its name).
        #[arg(long)]
        title: Option<String>,
        /// Date YYYY-MM-DD (default: the file's `# date:` line).
        #[arg(long)]
        date: Option<String>,
        /// council, committee, consultation or meeting (default: committee if the title names one).
        #[arg(long)]
        kind: Option<String>,
        /// Body (default: the committee's name, or 本会議).
        #[arg(long)]
        body: Option<String>,
        /// public or confidential (default by kind).
        #[arg(long)]
        classification: Option<String>,
        /// Owning department.
        #[arg(long)]
        department: Option<String>,
    },
    /// List the archived meetings, newest first.
    List,
    /// Show one meeting: metadata, files, transcript versions, speakers.
    Show {
        id: i64,
        /// Also print every turn.
        #[arg(long)]
        turns: bool,
    },
    /// Remove a meeting: catalog rows, files and search index entries.
    Remove { id: i64 },
    /// Add a human revision of a meeting's transcript (a new version).
    Revise { id: i64, transcript: PathBuf },
    /// Attach a minutes draft (docx, md, txt...) to a meeting.
    AttachMinutes { id: i64, file: PathBuf },
    /// Rebuild the search index from the catalog.
    Reindex,
    /// Delete the records whose retention period has passed (data/retention.toml; default:
    /// consultations 5 years): files, every transcript version, index entries, catalog rows,
    /// voiceprints taken from them.
    Purge {
        /// Only list what would be deleted.
        #[arg(long)]
        dry_run: bool,
        /// Count expiry as of this date YYYY-MM-DD instead of today.
        #[arg(long)]
        as_of: Option<String>,
    },
}

pub fn run(c: Command, g: &Globals) -> anyhow::Result<ExitCode> {
    let mut a = super::keys::open_archive(g)?;
    let viewer = super::users::viewer(g, &a)?;
    match c {
        Command::Add {
            transcript,
            meta,
            audio,
        } => {
            let m = MeetingMeta::load(&meta, None)?;
            let id = a.add_transcript_by(&viewer, &transcript, &m, audio.as_deref())?;
            if g.json {
                out!("{}", serde_json::json!({ "id": id }));
            } else {
                out!("archived as meeting {id}: {} ({})", m.title, m.date);
            }
        }
        Command::ImportMinutes {
            files,
            title,
            date,
            kind,
            body,
            classification,
            department,
        } => {
            let opts = MinutesImport {
                title,
                date: date.as_deref().map(meta::parse_date).transpose()?,
                kind: kind.as_deref().map(MeetingKind::parse).transpose()?,
                body,
                classification: classification
                    .as_deref()
                    .map(Classification::parse)
                    .transpose()?,
                department,
            };
            let files = minutes_files(&files)?;
            let mut ids = Vec::new();
            let bar = gijiroku::progress::bar(files.len() as u64, "importing minutes");
            for f in &files {
                let id = match a.import_minutes_by(&viewer, f, &opts) {
                    Ok(id) => id,
                    // Re-running an import over a folder skips what is already there.
                    Err(e) => match e.downcast_ref::<AlreadyArchived>() {
                        Some(dup) => {
                            if !g.quiet {
                                bar.suspend(|| eprintln!("skipped: {dup}"));
                            }
                            bar.inc(1);
                            continue;
                        }
                        None => return Err(e),
                    },
                };
                let s = a.summary(&viewer, id)?;
                if !g.json && !g.quiet {
                    out!(
                        "{id:>5}  {}  {}  {} turns, {} speakers",
                        s.date,
                        s.title,
                        s.turns,
                        s.speakers
                    );
                }
                ids.push(id);
                bar.inc(1);
            }
            bar.finish_and_clear();
            if g.json {
                out!("{}", serde_json::json!({ "ids": ids }));
            }
        }
        Command::List => {
            let list = a.list(&viewer)?;
            if g.json {
                out!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                out!("the archive in {} is empty", g.data.display());
            } else {
                for m in list {
                    out!(
                        "{:>5}  {}  {:<12} {:<12} {}  ({} turns, {} speakers)",
                        m.id,
                        m.date,
                        m.kind,
                        m.classification,
                        m.title,
                        m.turns,
                        m.speakers
                    );
                }
            }
        }
        Command::Show { id, turns } => {
            let d = a.show(&viewer, id)?;
            let rows = if turns {
                a.turns(&viewer, id)?
            } else {
                Vec::new()
            };
            if g.json {
                let mut v = serde_json::to_value(&d)?;
                if turns {
                    v["turns"] = serde_json::to_value(&rows)?;
                }
                out!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(ExitCode::SUCCESS);
            }
            let s = &d.summary;
            out!("meeting {}: {}", s.id, s.title);
            out!("  kind {}, body {}, date {}", s.kind, s.body, s.date);
            if let Some(p) = &d.place {
                out!("  place {p}");
            }
            if let Some(t) = &d.start_time {
                out!("  start {t}");
            }
            out!(
                "  classification {}, department {}",
                s.classification,
                if s.department.is_empty() {
                    "—"
                } else {
                    &s.department
                }
            );
            out!("  folder {}", d.folder);
            for r in &d.recordings {
                out!(
                    "  recording {} ({}, {}, sha256 {}){}",
                    r.original_path,
                    gijiroku::util::hms(r.duration),
                    r.codec,
                    r.sha256.get(..12).unwrap_or(&r.sha256),
                    r.file
                        .as_deref()
                        .map(|f| format!(" copied as {f}"))
                        .unwrap_or_default()
                );
            }
            for t in &d.transcripts {
                out!(
                    "  transcript v{} ({}) {} {}",
                    t.version,
                    t.origin,
                    t.file,
                    t.created_at
                );
            }
            for m in &d.minutes {
                out!("  minutes {m}");
            }
            out!("  {} turns, {} speakers:", s.turns, d.speakers.len());
            for sp in &d.speakers {
                out!("    {} ({} turns)", sp.name, sp.turns);
            }
            for t in rows {
                let at = t.start.map(gijiroku::util::hms).unwrap_or_default();
                out!("\n[{}] {at} ○{}\n{}", t.seq, t.speaker, t.text);
            }
        }
        Command::Remove { id } => {
            let r = a.remove(&viewer, id)?;
            if g.json {
                out!("{}", serde_json::to_string(&r)?);
            } else {
                out!(
                    "removed meeting {}: {} ({} turns, {} files; catalog rows and index entries deleted)",
                    r.id, r.title, r.turns, r.files
                );
            }
        }
        Command::Revise { id, transcript } => {
            let v = a.add_revision(&viewer, id, &transcript)?;
            out!("meeting {id}: transcript version {v} added and indexed");
        }
        Command::AttachMinutes { id, file } => {
            a.attach_minutes(&viewer, id, &file)
                .with_context(|| format!("cannot attach {} to meeting {id}", file.display()))?;
            out!("meeting {id}: minutes {} attached", file.display());
        }
        Command::Purge { dry_run, as_of } => {
            let today = match as_of.as_deref() {
                Some(d) => meta::parse_date(d)?,
                None => chrono::Local::now().date_naive(),
            };
            let purged = a.purge_expired(&viewer, today, dry_run)?;
            if g.json {
                out!("{}", serde_json::to_string_pretty(&purged)?);
                return Ok(ExitCode::SUCCESS);
            }
            let verb = if dry_run { "would purge" } else { "purged" };
            for p in &purged {
                out!(
                    "{verb} meeting {}: {} ({}, {}, kept until {}; {} turns, {} files{})",
                    p.removed.id,
                    p.removed.title,
                    p.kind,
                    p.date,
                    p.expired_on,
                    p.removed.turns,
                    p.removed.files,
                    if p.voiceprints.is_empty() {
                        String::new()
                    } else {
                        format!("; voiceprints {}", p.voiceprints.join(", "))
                    }
                );
            }
            if purged.is_empty() {
                out!("no record has passed its retention period ({today})");
            } else {
                out!("{verb} {} meeting(s)", purged.len());
            }
        }
        Command::Reindex => {
            let t = std::time::Instant::now();
            let n = a.reindex()?;
            out!("reindexed {n} turns in {:.1} s", t.elapsed().as_secs_f64());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The minutes files named: files as given, folders replaced by their `.txt` files in name
/// order (a folder of a council's past minutes is the usual import).
fn minutes_files(args: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for a in args {
        if !a.is_dir() {
            out.push(a.clone());
            continue;
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(a)
            .with_context(|| format!("cannot read the folder {}", a.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("txt")))
            .collect();
        if found.is_empty() {
            anyhow::bail!("{} holds no minutes text (.txt) files", a.display());
        }
        found.sort();
        out.append(&mut found);
    }
    Ok(out)
}
