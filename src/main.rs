//! The `gijiroku` command: a thin shell over the library (see `cli/`).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    // candle 0.11 asks for its thread count on every matrix product and, without this
    // variable, works it out by parsing /proc/cpuinfo each time (~125 µs a call, measured):
    // that made the speaker encoder several times slower. One thread per product: the speaker
    // encoder spreads whole batches over the cores itself, which measured 2–3× less CPU than
    // candle's threads inside each product. Set once, before any thread starts.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", "1");
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
