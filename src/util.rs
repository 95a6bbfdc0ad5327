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

/// Removes temporary folders and files left in the data folder by processes that were killed:
/// the dictionary build `dict/.ipadic-build-<pid>` when that process is gone (or the folder is
/// older than `STALE_HOURS`), tantivy's atomic-write files `index/.tmp*` and our own
/// `.<name>.tmp<pid>` files once older than `STALE_HOURS` (they live milliseconds when all
/// goes well, so age alone is safe even with another process running). Errors are ignored:
/// cleaning must never stop a command.
pub fn clean_stale_temp(data: &Path) {
    const STALE_HOURS: u64 = 6;
    let old = |p: &Path| {
        std::fs::symlink_metadata(p)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > STALE_HOURS * 3600)
    };
    let remove = |p: &Path| {
        let r = if p.is_dir() {
            std::fs::remove_dir_all(p)
        } else {
            std::fs::remove_file(p)
        };
        if r.is_ok() {
            tracing::info!("removed stale temporary {}", p.display());
        }
    };
    let entries = |dir: &Path| -> Vec<(String, std::path::PathBuf)> {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
            .collect()
    };
    for (name, p) in entries(&data.join("dict")) {
        if let Some(pid) = name.strip_prefix(".ipadic-build-") {
            if !pid_alive(pid) || old(&p) {
                remove(&p);
            }
        }
    }
    for (name, p) in entries(&data.join("index")) {
        if name.starts_with(".tmp") && old(&p) {
            remove(&p);
        }
    }
    for (name, p) in entries(data) {
        if name.starts_with('.') && name.contains(".tmp") && old(&p) {
            remove(&p);
        }
    }
}

/// Whether a process id (as text) names a running process. Linux's /proc answers; where
/// there is no /proc, every process counts as alive and only age removes its folders.
fn pid_alive(pid: &str) -> bool {
    let Ok(n) = pid.parse::<u32>() else {
        return false;
    };
    let proc_root = Path::new("/proc");
    !proc_root.join("self").exists() || proc_root.join(n.to_string()).exists()
}

/// sha256 of a file, streamed (recordings can be gigabytes).
pub fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    sha256_reader(f).with_context(|| format!("cannot read {}", path.display()))
}

/// sha256 of everything `f` yields, streamed.
pub fn sha256_reader(mut f: impl Read) -> anyhow::Result<String> {
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
