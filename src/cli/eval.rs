use super::Globals;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// WER (English etc.) / CER (Japanese, Chinese) on every WAV with a .txt reference beside it.
    Asr(super::eval_asr::Args),
    /// Diarization error rate on every WAV with an .rttm reference beside it.
    /// (Boxed: its many tuning flags make it far larger than the other variants.)
    Der(Box<super::eval_der::Args>),
    /// Hand edits per 1,000 characters from drafts of noisy transcripts to real minutes.
    Minutes(super::minutes::EvalArgs),
    /// Simulated meetings (wav + exact rttm, dev and held-out voices) from real single-speaker speech.
    Simulate(super::eval_simulate::Args),
}

pub fn run(c: Command, g: &Globals) -> anyhow::Result<ExitCode> {
    match c {
        Command::Asr(a) => super::eval_asr::run(a, g),
        Command::Der(a) => super::eval_der::run(*a, g),
        Command::Minutes(a) => super::minutes::run_eval(a, g),
        Command::Simulate(a) => super::eval_simulate::run(a, g),
    }
}
