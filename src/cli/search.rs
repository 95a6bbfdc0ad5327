use super::Globals;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// (being built: issue 5)
    query: String,
}

pub fn run(_a: Args, _g: &Globals) -> anyhow::Result<ExitCode> {
    anyhow::bail!("search is not built yet (issue 5)")
}
