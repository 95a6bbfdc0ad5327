use super::Globals;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// (being built: issue 3)
    List,
}

pub fn run(_c: Command, _g: &Globals) -> anyhow::Result<ExitCode> {
    anyhow::bail!("speaker enrolment is not built yet (issue 3)")
}
