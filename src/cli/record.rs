use super::Globals;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// (being built: issue 6)
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

pub fn run(_a: Args, _g: &Globals) -> anyhow::Result<ExitCode> {
    anyhow::bail!("recording is not built yet (issue 6)")
}

pub fn devices(_g: &Globals) -> anyhow::Result<ExitCode> {
    anyhow::bail!("recording is not built yet (issue 6)")
}
