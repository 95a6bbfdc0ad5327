use super::Globals;
use gijiroku::archive::{meta, SearchRequest};
use gijiroku::search::Filters;
use std::io::IsTerminal;
use std::io::Write;
use std::process::ExitCode;

/// Prints a line; a closed pipe (`| head`) ends the command quietly instead of panicking.
macro_rules! out {
    ($($t:tt)*) => {
        if let Err(e) = writeln!(std::io::stdout(), $($t)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(ExitCode::SUCCESS);
            }
            return Err(e.into());
        }
    };
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Words (all must match), AND / OR / NOT, "quoted phrases". May be empty with filters.
    #[arg(default_value = "")]
    query: String,
    /// Part of the speaker's name as written (渡辺 finds 渡辺議長).
    #[arg(long)]
    speaker: Option<String>,
    /// Speaker's role, matched at the end (委員, 委員長, 課長...).
    #[arg(long)]
    role: Option<String>,
    /// From this date (YYYY-MM-DD), included.
    #[arg(long)]
    from: Option<String>,
    /// Up to this date (YYYY-MM-DD), included.
    #[arg(long)]
    to: Option<String>,
    /// council, committee, consultation or meeting.
    #[arg(long)]
    kind: Option<String>,
    /// Body, exactly as `archive list` shows it (本会議, 総務委員会...).
    #[arg(long)]
    body: Option<String>,
    /// Only turns that immediately answer this speaker's turns (答弁).
    #[arg(long)]
    answers_to: Option<String>,
    /// Number of results.
    #[arg(long, short = 'n', default_value_t = 10)]
    limit: usize,
}

pub fn run(a: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    if a.query.trim().is_empty()
        && a.speaker.is_none()
        && a.role.is_none()
        && a.answers_to.is_none()
        && a.from.is_none()
        && a.to.is_none()
        && a.kind.is_none()
        && a.body.is_none()
    {
        anyhow::bail!("give words to search for, or a filter (--speaker, --from, ...)");
    }
    if let Some(k) = &a.kind {
        gijiroku::archive::MeetingKind::parse(k)?;
    }
    // Checked before the archive opens: a date the index cannot hold is a one-line error.
    let date = |s: Option<&str>| -> anyhow::Result<Option<chrono::NaiveDate>> {
        let d = s.map(meta::parse_date).transpose()?;
        d.map(gijiroku::search::check_date).transpose()?;
        Ok(d)
    };
    let req = SearchRequest {
        query: a.query.clone(),
        filters: Filters {
            speaker: a.speaker,
            role: a.role,
            from: date(a.from.as_deref())?,
            to: date(a.to.as_deref())?,
            kind: a.kind,
            body: a.body,
            ..Default::default()
        },
        answers_to: a.answers_to,
        limit: a.limit.clamp(1, 10_000),
    };
    let archive = super::keys::open_archive(g)?;
    let t = std::time::Instant::now();
    let viewer = super::users::viewer(g, &archive)?;
    let res = archive.search(&viewer, &req)?;
    let took = t.elapsed().as_secs_f64() * 1000.0;
    if g.json {
        let hits: Vec<_> = res
            .hits
            .iter()
            .map(|h| {
                serde_json::json!({
                    "score": h.score,
                    "meeting_id": h.turn.meeting_id,
                    "turn": h.turn.seq,
                    "title": h.turn.title,
                    "kind": h.turn.kind,
                    "body": h.turn.body,
                    "date": h.turn.date,
                    "speaker": h.turn.speaker,
                    "role": h.turn.role,
                    "start": h.turn.start,
                    "end": h.turn.end,
                    "time": h.turn.start.map(gijiroku::util::hms),
                    "classification": h.turn.classification,
                    "snippet": h.fragment,
                    "highlights": h.highlights.iter().map(|r| [r.start, r.end]).collect::<Vec<_>>(),
                    "matched_by": h.matched_by,
                })
            })
            .collect();
        let out = serde_json::json!({ "query": req.query, "total": res.total, "total_at_least": res.at_least, "hits": hits });
        out!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    let (open, close) = if std::io::stdout().is_terminal() {
        ("\x1b[1;33m", "\x1b[0m")
    } else {
        ("【", "】")
    };
    for (i, h) in res.hits.iter().enumerate() {
        let at = h
            .turn
            .start
            .map(|s| format!(" {}", gijiroku::util::hms(s)))
            .unwrap_or_default();
        out!(
            "{:>3}. {} {} [meeting {}, turn {}]{at} ○{}",
            i + 1,
            h.turn.date,
            h.turn.title,
            h.turn.meeting_id,
            h.turn.seq,
            h.turn.speaker
        );
        out!("     {}", h.marked(open, close).replace('\n', " "));
    }
    if !g.quiet {
        let how = match res.hits.first().map(|h| h.matched_by) {
            Some(gijiroku::search::MatchedBy::Bigrams) => {
                " (no dictionary word matched: by characters)"
            }
            _ => "",
        };
        eprintln!(
            "{} of {}{} turns shown{how} ({took:.1} ms)",
            res.hits.len(),
            if res.at_least { "at least " } else { "" },
            res.total
        );
    }
    Ok(ExitCode::SUCCESS)
}
