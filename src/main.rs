//! The `gijiroku` command: a thin shell over the library (see `cli/`).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(e) => {
            // One line, the whole context chain: "cannot decode x.mp3: ...: ...".
            let msg = format!("{e:#}").replace('\n', " ");
            eprintln!("gijiroku: error: {msg}");
            ExitCode::from(1)
        }
    }
}
