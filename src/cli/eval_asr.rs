use super::Globals;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// (being built)
    path: Option<std::path::PathBuf>,
}

pub fn run(_a: Args, _g: &Globals) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
