//! Output for listing commands.

/// Prints a line; a closed pipe (`| head`) ends the command quietly instead of panicking.
/// For functions returning `anyhow::Result<ExitCode>`.
macro_rules! out {
    ($($t:tt)*) => {
        if let Err(e) = std::io::Write::write_fmt(&mut std::io::stdout(), format_args!("{}\n", format_args!($($t)*))) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(std::process::ExitCode::SUCCESS);
            }
            return Err(e.into());
        }
    };
}
