use super::Globals;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Time one transcription: wall time, real-time factor, peak memory (and faster-whisper's).
    Asr(super::bench_asr::Args),
    /// Build a large search index and time indexing and queries.
    Search(super::bench_search::Args),
}

pub fn run(c: Command, g: &Globals) -> anyhow::Result<ExitCode> {
    match c {
        Command::Asr(a) => super::bench_asr::run(a, g),
        Command::Search(a) => super::bench_search::run(a, g),
    }
}
