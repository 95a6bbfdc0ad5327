//! The files kept for each meeting (`files/<id>/`): transcripts, recordings, minutes, metadata.
//!
//! Every read and write of a meeting's files goes through these functions, so the decision
//! of how a file is stored on disk (plain, or encrypted at rest for confidential records) is
//! made in one place. Callers never open `files/<id>/…` themselves.
//!
//! Files of confidential meetings are written encrypted with the archive key
//! ([`super::crypt`], chunked so that recordings stream in and out in constant memory and
//! can be read from any offset). Reading decides by the file's own header, so files written
//! before encryption existed still read. Files are created 0600 in folders 0700.

use super::crypt::{self, Key};
use super::Archive;
use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A stored file opened for streaming reads (the audio server seeks in it for HTTP ranges).
pub use crate::crypt::ReadSeek;

/// An opened stored file and its length in bytes (of the plain content).
pub struct StoredFile {
    pub reader: Box<dyn ReadSeek>,
    pub len: u64,
}

/// Where one meeting's files go and whether they are encrypted (with which key).
pub(crate) struct MeetingFiles {
    dir: PathBuf,
    key: Option<Arc<Key>>,
}

impl MeetingFiles {
    pub(crate) fn new(dir: PathBuf, key: Option<Arc<Key>>) -> MeetingFiles {
        MeetingFiles { dir, key }
    }

    /// Writes one file atomically (temp file + rename), encrypted when the meeting is.
    pub(crate) fn write(&self, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
        check_name(name)?;
        let path = self.dir.join(name);
        match &self.key {
            None => crate::util::write_atomic(&path, bytes),
            Some(k) => crate::util::write_atomic(&path, &crypt::encrypt_bytes(k, bytes)?),
        }
    }

    /// Copies a (possibly huge) file in, streaming (encrypting chunk by chunk when the meeting
    /// is encrypted), through a temp file and a rename.
    pub(crate) fn copy_in(&self, name: &str, src: &Path) -> anyhow::Result<()> {
        let input =
            std::fs::File::open(src).with_context(|| format!("cannot open {}", src.display()))?;
        self.copy_in_from(name, input, src)
    }

    /// [`Self::copy_in`] from a reader (a sealed upload's plaintext); `src` names it.
    pub(crate) fn copy_in_from(
        &self,
        name: &str,
        mut input: impl std::io::Read,
        src: &Path,
    ) -> anyhow::Result<()> {
        check_name(name)?;
        let dst = self.dir.join(name);
        let tmp = self.dir.join(format!(".{name}.tmp{}", std::process::id()));
        let result = (|| -> anyhow::Result<()> {
            let mut out = crate::util::create_private_file(&tmp)?;
            match &self.key {
                None => {
                    std::io::copy(&mut input, &mut out)?;
                }
                Some(k) => {
                    let mut w = std::io::BufWriter::with_capacity(1 << 20, &mut out);
                    crypt::encrypt_stream(k, std::io::BufReader::new(&mut input), &mut w)?;
                    w.flush()?;
                }
            }
            out.sync_all()?;
            std::fs::rename(&tmp, &dst)?;
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.with_context(|| format!("cannot copy {} to {}", src.display(), dst.display()))
    }
}

impl Archive {
    /// The folder of one meeting's files.
    pub(crate) fn meeting_folder(&self, id: i64) -> PathBuf {
        self.dir.join("files").join(id.to_string())
    }

    /// How a meeting's files are written: encrypted for a confidential meeting (which needs
    /// the key), plain otherwise.
    pub(crate) fn meeting_files(&self, id: i64) -> anyhow::Result<MeetingFiles> {
        let class: String = self
            .db
            .query_row(
                "SELECT classification FROM meetings WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .with_context(|| format!("there is no meeting {id} in the catalog"))?;
        let key = self.key_for_class(&class)?;
        Ok(MeetingFiles::new(self.meeting_folder(id), key))
    }

    /// Writes one of a meeting's files atomically (temp file + rename).
    pub(crate) fn write_meeting_file(
        &self,
        id: i64,
        name: &str,
        bytes: &[u8],
    ) -> anyhow::Result<()> {
        self.meeting_files(id)?.write(name, bytes)
    }

    /// Reads one of a meeting's files whole (transcripts, minutes: small files).
    pub(crate) fn read_meeting_file(&self, id: i64, name: &str) -> anyhow::Result<Vec<u8>> {
        check_name(name)?;
        let path = self.meeting_folder(id).join(name);
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        if !crypt::is_encrypted(&bytes) {
            return Ok(bytes);
        }
        let key = self.key_for_meeting(id)?;
        crypt::decrypt_bytes(&key, &bytes, &format!("{name} of meeting {id}"))
    }

    /// Copies a (possibly huge) file into a meeting's folder, streaming.
    #[allow(dead_code)] // for callers outside an import (e.g. a recording added later)
    pub(crate) fn copy_into_meeting(&self, id: i64, name: &str, src: &Path) -> anyhow::Result<()> {
        self.meeting_files(id)?.copy_in(name, src)
    }

    /// Opens one of a meeting's files for streaming reads with seeking.
    pub(crate) fn open_meeting_file(&self, id: i64, name: &str) -> anyhow::Result<StoredFile> {
        check_name(name)?;
        let path = self.meeting_folder(id).join(name);
        if crypt::file_is_encrypted(&path)? {
            let key = self.key_for_meeting(id)?;
            let (reader, len) =
                crypt::open_decrypting(&path, &key, &format!("{name} of meeting {id}"))?;
            return Ok(StoredFile { reader, len });
        }
        let f = std::fs::File::open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let len = f.metadata()?.len();
        Ok(StoredFile {
            reader: Box::new(f),
            len,
        })
    }
}

/// The data folder 0700 and the catalog 0600, also when an older gijiroku made them 0755/0644
/// (the catalog is created here first, so SQLite's WAL and shared-memory files, which copy
/// its mode, start private too).
pub(crate) fn make_private(data: &Path, catalog: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    {
        use std::os::unix::fs::OpenOptionsExt;
        // create_new: never truncates a catalog another process has just created.
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(catalog);
        match created {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot create {}", catalog.display()))
            }
        }
    }
    let targets = [
        (data.to_path_buf(), 0o700),
        (catalog.to_path_buf(), 0o600),
        (data.join("catalog.sqlite-wal"), 0o600),
        (data.join("catalog.sqlite-shm"), 0o600),
        (data.join("voiceprints.json"), 0o600),
    ];
    for (p, mode) in targets {
        let Ok(m) = std::fs::metadata(&p) else {
            continue;
        };
        if m.permissions().mode() & 0o077 != 0 {
            // Not ours to change (another user's folder) is worth a warning, not a refusal.
            if let Err(e) = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)) {
                tracing::warn!("cannot make {} private: {e}", p.display());
            }
        }
    }
    Ok(())
}

/// Stored names are single plain file names: never a path that could leave the folder.
fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        anyhow::bail!("{name:?} is not a valid stored file name")
    }
}
