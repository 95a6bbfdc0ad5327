use super::Globals;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// (being built: issue 5)
    List,
}

pub fn run(_c: Command, _g: &Globals) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the archive is not built yet (issue 5)")
}
