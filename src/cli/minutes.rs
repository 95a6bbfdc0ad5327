//! `gijiroku minutes`: draft 会議録 / 相談記録 from a transcript and write the exports.
use super::Globals;
use anyhow::Context;
use gijiroku::minutes::{self, Format, MeetingKind, MeetingMeta, MinutesOptions};
use gijiroku::Transcript;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Transcript JSON written by `gijiroku transcribe`.
    transcript: PathBuf,
    /// Meeting metadata (TOML or JSON): kind, title, date, attendees, agenda, signers...
    /// See examples/meeting-council.toml and examples/consultation.toml.
    #[arg(long)]
    meta: Option<PathBuf>,
    /// Formats to write, comma-separated: docx, md, txt, html, json.
    #[arg(
        long,
        short = 'f',
        default_value = "docx,md,json",
        value_delimiter = ','
    )]
    format: Vec<String>,
    /// Folder for the files (default: beside the transcript, as NAME.minutes.EXT).
    #[arg(long, short = 'o')]
    out: Option<PathBuf>,
    /// Keep fillers, repetitions and false starts (no ケバ取り).
    #[arg(long)]
    verbatim: bool,
    /// DOCX: keep the words ケバ取り removed as tracked deletions, so that the clerk can
    /// restore one in Word (Review → Reject) or accept them all.
    #[arg(long)]
    track_removals: bool,
    /// Own template for a text format, named after it: FILE.md.jinja, FILE.txt.jinja or
    /// FILE.html.jinja (copy one from templates/ to start).
    #[arg(long)]
    template: Vec<PathBuf>,
    /// Kind of minutes: plenary (council), committee, consultation, meeting.
    #[arg(long)]
    kind: Option<String>,
    /// Title, e.g. 令和６年第１回定例会（第１日）.
    #[arg(long)]
    title: Option<String>,
    /// Body, e.g. 品川区議会.
    #[arg(long)]
    body: Option<String>,
    /// Date of the meeting, YYYY-MM-DD.
    #[arg(long)]
    date: Option<String>,
    #[arg(long)]
    place: Option<String>,
    /// Clock time at which the recording starts (HH:MM): needed for 開会/休憩/散会 marks.
    #[arg(long)]
    recording_start: Option<String>,
    /// Consultation: case number.
    #[arg(long)]
    case_id: Option<String>,
    /// Consultation: caseworker's name.
    #[arg(long)]
    caseworker: Option<String>,
    /// Consultation: client's pseudonym (never the real name).
    #[arg(long)]
    client: Option<String>,
    /// Consultation: type (生活相談, 子育て相談...).
    #[arg(long)]
    consultation_type: Option<String>,
    /// Terms dictionary: a TOML file of 誤 = "正" pairs (at the top level or under
    /// [terms]) corrected in the draft, with the metadata's [terms], the members' names and
    /// the built-in forms of the minutes (配付, 差し替え, 資料No., ご意見, いたします...).
    #[arg(long)]
    terms: Option<PathBuf>,
    /// Do not apply the built-in forms and the members' names (the pairs of --terms and
    /// [terms] still apply).
    #[arg(long)]
    no_builtin_terms: bool,
    /// The council's style file: the [conventions] its clerk sets once for every meeting
    /// (chair_sentence_lines, subjects, headings, rule...), set over the metadata's. See
    /// examples/style-shinagawa.toml.
    #[arg(long)]
    style: Option<PathBuf>,
    /// Also write a copy for publication or disclosure (NAME.minutes.redacted.EXT) in which
    /// personal data is masked with 〇〇: names other than the speakers and the people in the
    /// metadata, addresses, phone numbers, birth dates, My Number, account numbers, e-mail
    /// addresses. Prints what was masked, for review. The draft itself is unchanged.
    #[arg(long)]
    redact: bool,
}

pub fn run(a: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    let formats: Vec<Format> = a
        .format
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.parse())
        .collect::<anyhow::Result<_>>()?;
    if formats.is_empty() {
        anyhow::bail!("no format given: use -f docx,md,txt,html,json");
    }
    let templates = load_templates(&a.template, &formats)?;
    let meta = build_meta(&a)?;
    let transcript = Transcript::load(&a.transcript)?;
    let terms = match &a.terms {
        Some(p) => minutes::terms::load_file(p)?,
        None => Default::default(),
    };
    let options = MinutesOptions {
        verbatim: a.verbatim,
        terms,
        builtin_terms: !a.no_builtin_terms,
        ..Default::default()
    }
    .with_dictionary(&g.data);
    let spinner = gijiroku::progress::spinner("drafting minutes");
    let m = minutes::draft(&transcript, &meta, &options)
        .with_context(|| format!("cannot draft minutes from {}", a.transcript.display()))?;
    let stem = a
        .transcript
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "minutes".into());
    let dir = match &a.out {
        Some(d) => d.clone(),
        None => a
            .transcript
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(".")),
    };
    let render = |m: &minutes::Minutes, f: Format| -> anyhow::Result<Vec<u8>> {
        Ok(match templates.iter().find(|(tf, _, _)| *tf == f) {
            Some((_, name, src)) => minutes::render_template(m, name, src)?.into_bytes(),
            None if f == Format::Docx => minutes::docx::render(
                m,
                &minutes::DocxOptions {
                    track_removals: a.track_removals,
                },
            )?,
            None => minutes::render(m, f)?,
        })
    };
    // Redact first: a failure there (no dictionary) must not leave a half-written set.
    let redacted = if a.redact {
        let redactor =
            minutes::Redactor::load(&g.data).context("--redact needs the Japanese dictionary")?;
        let keep = minutes::KeepList::from_meta(&meta, &transcript);
        Some(redactor.redact(&m, &keep))
    } else {
        None
    };
    let mut written = Vec::new();
    for f in &formats {
        let path = dir.join(format!("{stem}.minutes.{}", f.extension()));
        gijiroku::util::write_atomic(&path, &render(&m, *f)?)?;
        written.push(path);
    }
    let mut written_redacted = Vec::new();
    if let Some((rm, _)) = &redacted {
        for f in &formats {
            let path = dir.join(format!("{stem}.minutes.redacted.{}", f.extension()));
            gijiroku::util::write_atomic(&path, &render(rm, *f)?)?;
            written_redacted.push(path);
        }
    }
    spinner.finish_and_clear();
    let masked: &[minutes::Masked] = redacted.as_ref().map(|r| r.1.as_slice()).unwrap_or(&[]);
    if g.json {
        let v = serde_json::json!({
            "files": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "speeches": m.items.iter().filter(|i| matches!(i, minutes::Item::Speech(_))).count(),
            "unidentified": m.unidentified,
            "removed": m.removed,
            "corrected": m.corrected,
            "redacted": redacted.as_ref().map(|_| serde_json::json!({
                "files": written_redacted.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
                "masked": masked,
            })),
        });
        println!("{v}");
    } else if !g.quiet {
        for p in written.iter().chain(&written_redacted) {
            println!("{}", p.display());
        }
        if redacted.is_some() {
            println!(
                "masked {} item(s) — review before publishing:",
                masked.len()
            );
            for x in masked {
                println!("  {}\t{}\t{}", x.kind, x.original, x.location());
            }
        }
        let unknown = m.items.iter().find_map(|i| match i {
            minutes::Item::Speech(s) if !s.identified => Some(s.heading.as_str()),
            _ => None,
        });
        if let Some(h) = unknown {
            eprintln!(
                "{} speech(es) have no identified speaker (headed like {h}): left for the clerk",
                m.unidentified
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads `--template` files; each must name the format it renders.
fn load_templates(
    paths: &[PathBuf],
    formats: &[Format],
) -> anyhow::Result<Vec<(Format, String, String)>> {
    let mut out = Vec::new();
    for p in paths {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let base = name
            .strip_suffix(".jinja")
            .or_else(|| name.strip_suffix(".j2"))
            .unwrap_or(&name);
        let ext = base.rsplit('.').next().unwrap_or("");
        let f: Format = ext.parse().with_context(|| {
            format!(
                "cannot tell which format template {} is for: name it *.md.jinja, *.txt.jinja or *.html.jinja",
                p.display()
            )
        })?;
        if !f.is_templated() {
            anyhow::bail!(
                "{} is not rendered from a template (only md, txt, html are)",
                f
            );
        }
        if !formats.contains(&f) {
            anyhow::bail!(
                "template {} is for {f}, which is not among the formats asked for (-f)",
                p.display()
            );
        }
        let src = std::fs::read_to_string(p)
            .with_context(|| format!("cannot read template {}", p.display()))?;
        out.push((f, name, src));
    }
    Ok(out)
}

fn build_meta(a: &Args) -> anyhow::Result<MeetingMeta> {
    let mut meta = match &a.meta {
        Some(p) => {
            let meta = MeetingMeta::load(p)?;
            if a.kind.is_none() && !MeetingMeta::declares_kind(p)? {
                anyhow::bail!(
                    "{} does not say which kind of meeting it is: add kind = \"plenary\" (or committee, consultation, meeting), or pass --kind",
                    p.display()
                );
            }
            meta
        }
        None => MeetingMeta::default(),
    };
    if let Some(k) = &a.kind {
        meta.kind = k.parse::<MeetingKind>()?;
    }
    if let Some(p) = &a.style {
        meta.apply_style(&minutes::Style::load(p)?)
            .with_context(|| format!("in {}", p.display()))?;
    }
    let set = |field: &mut Option<String>, v: &Option<String>| {
        if v.is_some() {
            field.clone_from(v);
        }
    };
    set(&mut meta.title, &a.title);
    set(&mut meta.body, &a.body);
    set(&mut meta.date, &a.date);
    set(&mut meta.place, &a.place);
    set(&mut meta.recording_start, &a.recording_start);
    set(&mut meta.consultation.case_id, &a.case_id);
    set(&mut meta.consultation.caseworker, &a.caseworker);
    set(&mut meta.consultation.client, &a.client);
    set(
        &mut meta.consultation.consultation_type,
        &a.consultation_type,
    );
    meta.validate().context("in the meeting options")?;
    Ok(meta)
}

/// `gijiroku eval minutes DIR`: the edit benchmark of `minutes::editbench`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Folder with turns.jsonl and one published minutes text per meeting (<id>.txt).
    dir: PathBuf,
    /// Meetings to measure: dev (tune on these), held (report), all.
    #[arg(long, default_value = "dev")]
    split: String,
    /// Write each meeting's published and drafted body here (<id>.ref.txt, <id>.draft.txt),
    /// to look at the differences.
    #[arg(long)]
    dump: Option<PathBuf>,
    /// Draft without the built-in terms and names (to measure what they change).
    #[arg(long)]
    no_builtin_terms: bool,
    /// A council style file ([conventions], e.g. examples/style-shinagawa.toml) set over
    /// every meeting's conventions, as a clerk sets it once.
    #[arg(long)]
    style: Option<PathBuf>,
    /// Also print the edits by class (subject lines, time marks, agenda blocks, stage
    /// notes, headings, line breaks, words); with --dump, each meeting's changed runs
    /// (<id>.runs.txt, costliest first).
    #[arg(long)]
    by_class: bool,
}

pub fn run_eval(a: EvalArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    use gijiroku::minutes::editbench;
    let split: editbench::Split = a.split.parse()?;
    let style = a.style.as_deref().map(minutes::Style::load).transpose()?;
    let options = MinutesOptions {
        builtin_terms: !a.no_builtin_terms,
        ..Default::default()
    }
    .with_dictionary(&g.data);
    let rows = if let Some(dump) = &a.dump {
        std::fs::create_dir_all(dump)
            .with_context(|| format!("cannot create {}", dump.display()))?;
        let all = gijiroku::minutes::fidelity::load_turns(&a.dir.join("turns.jsonl"))?;
        let roster = editbench::council_roster(&all);
        let mut rows = Vec::new();
        for (i, (id, turns)) in all.iter().enumerate() {
            if !editbench::in_split(i, split) {
                continue;
            }
            let path = a.dir.join(format!("{id}.txt"));
            let published = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let (e, r, d) = editbench::measure_meeting_in_council(
                turns,
                &published,
                &options,
                style.as_ref(),
                &roster,
            )?;
            std::fs::write(dump.join(format!("{id}.ref.txt")), &r)?;
            if a.by_class {
                let mut runs = editbench::edit_runs(&r, &d);
                runs.sort_by_key(|r| std::cmp::Reverse(r.cost));
                let mut txt = String::new();
                for run in &runs {
                    txt.push_str(&format!(
                        "=== {} edits {:?}\n--- published\n{}\n+++ draft\n{}\n",
                        run.cost,
                        editbench::classify_run(run),
                        run.published,
                        run.draft
                    ));
                }
                std::fs::write(dump.join(format!("{id}.runs.txt")), txt)?;
            }
            std::fs::write(dump.join(format!("{id}.draft.txt")), d)?;
            rows.push(e);
        }
        rows
    } else {
        editbench::measure(&a.dir, split, &options, style.as_ref())?
    };
    let (chars, edits): (usize, usize) = rows
        .iter()
        .fold((0, 0), |(c, e), r| (c + r.chars, e + r.edits));
    let (h, hm, hx): (usize, usize, usize) = rows.iter().fold((0, 0, 0), |(a, b, c), r| {
        (a + r.headings, b + r.headings_missing, c + r.headings_extra)
    });
    let per_1000 = 1000.0 * edits as f64 / chars.max(1) as f64;
    if g.json {
        println!(
            "{}",
            serde_json::json!({
                "split": a.split, "meetings": rows, "chars": chars, "edits": edits,
                "edits_per_1000": per_1000, "headings": h, "headings_missing": hm,
                "headings_extra": hx,
            })
        );
    } else {
        for r in &rows {
            println!(
                "{:24} {:7} chars {:6} edits {:6.2}/1000  headings {:4} missing {:3} extra {:3}",
                r.meeting_id,
                r.chars,
                r.edits,
                r.per_1000(),
                r.headings,
                r.headings_missing,
                r.headings_extra
            );
        }
        println!(
            "{} ({} meetings): {:.2} edits per 1,000 characters ({edits} in {chars}); headings {h}, missing {hm}, extra {hx}",
            a.split,
            rows.len(),
            per_1000
        );
        if a.by_class {
            for c in editbench::EDIT_CLASSES {
                let n: i64 = rows.iter().filter_map(|r| r.by_class.get(c)).sum();
                println!(
                    "  {c:14} {n:6} edits {:6.2}/1000",
                    1000.0 * n as f64 / chars.max(1) as f64
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
