use super::Globals;
use gijiroku::archive::crypt::Key;
use gijiroku::archive::Archive;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Write a new random archive key to FILE (mode 0600; never overwrites). Confidential
    /// records are encrypted with it: keep a copy apart, without it they cannot be read.
    Init { file: PathBuf },
    /// Check that the key file (--key-file / GIJIROKU_KEY_FILE) opens this archive.
    Check,
    /// Encrypt the confidential records archived before encryption at rest existed (files,
    /// turn text, speaker names) and take their text out of the search index.
    SealExisting,
}

pub fn run(c: Command, g: &Globals) -> anyhow::Result<ExitCode> {
    match c {
        Command::Init { file } => {
            Key::create_file(&file)?;
            if g.json {
                println!("{}", serde_json::json!({ "key_file": file }));
            } else {
                println!(
                    "wrote a new archive key to {} (readable by you only). Keep a copy in a safe \
                     place apart from the archive: without it the confidential records cannot be \
                     read. Use it with --key-file {} or GIJIROKU_KEY_FILE.",
                    file.display(),
                    file.display()
                );
            }
        }
        Command::Check => {
            let what = match &g.key_file {
                Some(k) => format!("the key file {}", k.display()),
                None if passphrase_given() => "the passphrase".to_string(),
                None => anyhow::bail!(
                    "give the key file to check (--key-file or GIJIROKU_KEY_FILE) or the \
                     passphrase (GIJIROKU_KEY_PASSPHRASE)"
                ),
            };
            let a = open_archive(g)?;
            if a.key_recorded()? {
                println!("{what} opens the archive in {}", g.data.display());
            } else {
                println!(
                    "the archive in {} has no confidential record yet: its first one will be \
                     encrypted with {what}",
                    g.data.display()
                );
            }
        }
        Command::SealExisting => {
            if g.key_file.is_none() && !passphrase_given() {
                anyhow::bail!(
                    "give the key file (--key-file or GIJIROKU_KEY_FILE) or the passphrase \
                     (GIJIROKU_KEY_PASSPHRASE)"
                );
            }
            let r = open_archive(g)?.seal_existing()?;
            if g.json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                println!(
                    "encrypted {} file(s) and {} catalog row(s) of {} confidential meeting(s)",
                    r.files, r.rows, r.meetings
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Is a passphrase given (GIJIROKU_KEY_PASSPHRASE, read by `Archive::open_with_key_file`)?
fn passphrase_given() -> bool {
    std::env::var_os("GIJIROKU_KEY_PASSPHRASE").is_some_and(|p| !p.is_empty())
}

/// Opens the archive of `--data` with the key of `--key-file` / GIJIROKU_KEY_FILE, or the
/// passphrase in GIJIROKU_KEY_PASSPHRASE, if given.
pub fn open_archive(g: &Globals) -> anyhow::Result<Archive> {
    Archive::open_with_key_file(&g.data, g.key_file.as_deref())
}
