use super::Globals;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// (being built: issue 4)
    transcript: std::path::PathBuf,
}

pub fn run(_a: Args, _g: &Globals) -> anyhow::Result<ExitCode> {
    anyhow::bail!("minutes are not built yet (issue 4)")
}
