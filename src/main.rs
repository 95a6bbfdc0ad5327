//! The `gijiroku` command: a thin shell over the library (see `cli/`).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    // candle 0.11 asks for its thread count on every matrix product and, without this
    // variable, works it out by parsing /proc/cpuinfo each time (~125 µs a call, measured):
    // that made the speaker encoder several times slower. Set once, before any thread starts.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let n = std::thread::available_parallelism().map_or(2, |n| n.get());
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    }
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
