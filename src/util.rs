//! Small shared helpers: atomic writes, hashing, time formatting.

use anyhow::Context;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so a
/// crash or a full disk never leaves a truncated file where a good one was. A new file is
/// readable by its owner only (0600) and new folders are 0700: transcripts and catalogs hold
/// personal data. An existing file keeps its permissions.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    create_private_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let keep = std::fs::metadata(path).ok().map(|m| m.permissions());
    let result = (|| -> anyhow::Result<()> {
        let mut f = create_private_file(&tmp)?;
        f.write_all(bytes)?;
        if let Some(p) = keep {
            f.set_permissions(p)?;
        }
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// Creates (or truncates) a file readable and writable by its owner only.
pub fn create_private_file(path: &Path) -> anyhow::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))
}

/// `create_dir_all` whose new folders are 0700 (existing ones are left as they are).
pub fn create_private_dir_all(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// sha256 of a file, streamed (recordings can be gigabytes).
pub fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// `01:23:45` (hours always shown: meetings run for hours).
pub fn hms(seconds: f64) -> String {
    let t = seconds.max(0.0).round() as u64;
    format!("{:02}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60)
}

/// `HH:MM:SS,mmm` (sep ',') for SRT or `HH:MM:SS.mmm` (sep '.') for WebVTT.
pub fn timestamp(seconds: f64, sep: char) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}{}{:03}",
        ms / 3_600_000,
        (ms / 60_000) % 60,
        (ms / 1000) % 60,
        sep,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn formats_times() {
        assert_eq!(hms(5025.4), "01:23:45");
        assert_eq!(timestamp(3723.0456, ','), "01:02:03,046");
        assert_eq!(timestamp(0.5, '.'), "00:00:00.500");
    }
}
