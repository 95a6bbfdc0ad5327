//! The files kept for each meeting (`files/<id>/`): transcripts, recordings, minutes, metadata.
//!
//! Every read and write of a meeting's files goes through these functions, so the decision
//! of how a file is stored on disk (plain, or encrypted at rest for confidential records) is
//! made in one place. Callers never open `files/<id>/…` themselves.

use super::Archive;
use anyhow::Context;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

/// A stored file opened for streaming reads (the audio server seeks in it for HTTP ranges).
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

/// An opened stored file and its length in bytes (of the plain content).
pub struct StoredFile {
    pub reader: Box<dyn ReadSeek>,
    pub len: u64,
}

impl Archive {
    /// The folder of one meeting's files.
    pub(crate) fn meeting_folder(&self, id: i64) -> PathBuf {
        self.dir.join("files").join(id.to_string())
    }

    /// Writes one of a meeting's files atomically (temp file + rename).
    pub(crate) fn write_meeting_file(&self, id: i64, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
        check_name(name)?;
        crate::util::write_atomic(&self.meeting_folder(id).join(name), bytes)
    }

    /// Reads one of a meeting's files whole (transcripts, minutes: small files).
    pub(crate) fn read_meeting_file(&self, id: i64, name: &str) -> anyhow::Result<Vec<u8>> {
        check_name(name)?;
        let path = self.meeting_folder(id).join(name);
        std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))
    }

    /// Copies a (possibly huge) file into a meeting's folder, streaming.
    pub(crate) fn copy_into_meeting(&self, id: i64, name: &str, src: &Path) -> anyhow::Result<()> {
        check_name(name)?;
        let dst = self.meeting_folder(id).join(name);
        std::fs::copy(src, &dst)
            .with_context(|| format!("cannot copy {} to {}", src.display(), dst.display()))?;
        Ok(())
    }

    /// Opens one of a meeting's files for streaming reads with seeking.
    pub(crate) fn open_meeting_file(&self, id: i64, name: &str) -> anyhow::Result<StoredFile> {
        check_name(name)?;
        let path = self.meeting_folder(id).join(name);
        let f = std::fs::File::open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let len = f.metadata()?.len();
        Ok(StoredFile {
            reader: Box::new(f),
            len,
        })
    }
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
