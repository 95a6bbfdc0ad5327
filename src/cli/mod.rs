//! Command-line interface: parses arguments and calls library functions. No logic of its
//! own beyond printing, so the HTTP server can call the same functions.

#[macro_use]
mod out;
mod archive;
mod audit;
mod bench;
mod bench_asr;
mod bench_search;
mod eval;
mod eval_asr;
mod eval_der;
mod eval_simulate;
mod keys;
mod minutes;
mod models;
mod record;
mod search;
mod serve;
mod speakers;
mod transcribe;
mod users;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "gijiroku",
    version,
    about = "Offline speech-to-minutes: recordings → transcripts → 会議録 / 相談記録 → searchable archive"
)]
struct Cli {
    /// No progress bars, fewer messages.
    #[arg(long, short = 'q', global = true)]
    quiet: bool,
    /// Machine-readable JSON on stdout where the command has a result to print.
    #[arg(long, global = true)]
    json: bool,
    /// More log output (-v info, -vv debug). RUST_LOG also works.
    #[arg(long, short = 'v', action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Folder holding the ggml models (`models list` shows them).
    #[arg(long, global = true, env = "GIJIROKU_MODELS", default_value = "models")]
    models_dir: PathBuf,
    /// Folder of the archive (catalog, search index, stored files, voiceprints).
    #[arg(long, global = true, env = "GIJIROKU_DATA", default_value = "data")]
    data: PathBuf,
    /// Key file for the archive's confidential records (encrypted at rest; `keys init FILE`).
    #[arg(long, global = true, env = "GIJIROKU_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// Act as this archive user (give it before the command: `gijiroku --user NAME archive
    /// list`); the password comes from GIJIROKU_PASSWORD or a prompt. Default: the account
    /// named like the OS user (before any account exists: the local administrator).
    #[arg(long, env = "GIJIROKU_USER")]
    user: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// Options every command can read.
#[derive(Debug, Clone)]
pub struct Globals {
    pub quiet: bool,
    pub json: bool,
    pub models_dir: PathBuf,
    pub data: PathBuf,
    /// `--user`: the archive account to act as.
    pub user: Option<String>,
    pub key_file: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Transcribe recordings (any common audio/video format) to JSON, TXT, SRT, VTT, RTTM.
    Transcribe(transcribe::Args),
    /// Import and list models (CTranslate2 Whisper → ggml, Silero VAD, speaker encoder).
    #[command(subcommand)]
    Models(models::Command),
    /// Measure accuracy on a folder of references (WER/CER, DER).
    #[command(subcommand)]
    Eval(eval::Command),
    /// Benchmarks that print figures (transcription speed, search speed).
    #[command(subcommand)]
    Bench(bench::Command),
    /// Enrolled speakers (voiceprints) and renaming speakers in transcripts.
    #[command(subcommand)]
    Speakers(speakers::Command),
    /// Draft minutes (会議録, 相談記録) from a transcript.
    Minutes(minutes::Args),
    /// The archive of meetings, transcripts and minutes.
    #[command(subcommand)]
    Archive(archive::Command),
    /// Search the archive.
    Search(search::Args),
    /// The web app: upload, review editor with audio, minutes, search (http://127.0.0.1:8080).
    Serve(serve::Args),
    /// Archive user accounts and roles.
    #[command(subcommand)]
    Users(users::Command),
    /// The audit log: verify its hash chain, show entries, prune old ones.
    #[command(subcommand)]
    Audit(audit::Command),
    /// Record a meeting from a microphone or line input, with a running transcript.
    Record(record::Args),
    /// List audio input devices.
    Devices,
    /// The key of confidential records (encryption at rest).
    #[command(subcommand)]
    Keys(keys::Command),
}

pub fn run() -> anyhow::Result<ExitCode> {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return Ok(argument_error(e)),
    };
    init_logging(cli.verbose, cli.quiet);
    // Temp folders of builds killed earlier (dictionary, index) are cleared here, before any
    // command could trip over them.
    gijiroku::util::clean_stale_temp(&cli.data);
    gijiroku::progress::set_quiet(cli.quiet);
    let g = Globals {
        quiet: cli.quiet,
        json: cli.json,
        models_dir: cli.models_dir,
        data: cli.data,
        user: cli.user,
        key_file: cli.key_file,
    };
    match cli.command {
        Command::Transcribe(a) => transcribe::run(a, &g),
        Command::Models(c) => models::run(c, &g),
        Command::Eval(c) => eval::run(c, &g),
        Command::Bench(c) => bench::run(c, &g),
        Command::Speakers(c) => speakers::run(c, &g),
        Command::Minutes(a) => minutes::run(a, &g),
        Command::Archive(c) => archive::run(c, &g),
        Command::Search(a) => search::run(a, &g),
        Command::Serve(a) => serve::run(a, &g),
        Command::Users(c) => users::run(c, &g),
        Command::Audit(c) => audit::run(c, &g),
        Command::Record(a) => record::run(a, &g),
        Command::Devices => record::devices(&g),
        Command::Keys(c) => keys::run(c, &g),
    }
}

/// clap's usage errors are 4–5 lines (error, tip, usage, "for more information"): print one
/// line with the error, clap's tip if any, and where help is. --help and --version print as
/// clap writes them.
fn argument_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::from(
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                2
            } else {
                0
            },
        );
    }
    let text = e.render().to_string();
    let mut msg = String::new();
    let mut tip = None;
    let mut command = "gijiroku".to_string();
    let mut in_error = false;
    for line in text.lines().map(str::trim) {
        if let Some(m) = line.strip_prefix("error:") {
            msg = m.trim().to_string();
            in_error = true;
        } else if in_error && !line.is_empty() {
            // The error's own continuation, e.g. the missing "<FILES>...".
            msg.push(' ');
            msg.push_str(line);
        } else if line.is_empty() {
            in_error = false;
        } else if let Some(t) = line.strip_prefix("tip:") {
            tip.get_or_insert_with(|| t.trim().to_string());
        } else if let Some(u) = line.strip_prefix("Usage:") {
            // "gijiroku transcribe [OPTIONS] <FILES>..." → "gijiroku transcribe".
            command = u
                .split_whitespace()
                .take_while(|w| {
                    !w.starts_with(['[', '<', '-'])
                        && w.chars()
                            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
                })
                .collect::<Vec<_>>()
                .join(" ");
        }
    }
    if msg.is_empty() {
        msg = text.lines().next().unwrap_or("bad arguments").to_string();
    }
    let tip = tip.map(|t| format!("; {t}")).unwrap_or_default();
    eprintln!("gijiroku: error: {msg}{tip} (see '{command} --help')");
    ExitCode::from(2)
}

fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        // Third-party crates (symphonia's probe, whisper.cpp's loader) log noise that is not the
        // user's concern: only gijiroku's own warnings show unless RUST_LOG says otherwise.
        (true, _) => "off",
        (false, 0) => "gijiroku=warn",
        (false, 1) => "gijiroku=info",
        _ => "gijiroku=debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never in a log file or a pipe.
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .with_target(false)
        .try_init();
}
