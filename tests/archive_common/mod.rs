//! Shared set-up for the archive and search tests: real minutes, one dictionary per run.

#![allow(dead_code)]

use gijiroku::archive::{Archive, MinutesImport};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub fn minutes_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/eval/minutes"
    ))
}

pub fn minutes_files() -> Vec<PathBuf> {
    let dir = minutes_dir();
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the eval minutes are missing in {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    v.sort();
    v
}

/// The IPADIC dictionary, built once per test run and shared (read-only, memory-mapped).
fn shared_dictionary() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ipadic-test-dict");
        if !dir.join("metadata.json").is_file() {
            gijiroku::search::japanese::build_dictionary(
                &gijiroku::search::japanese::ipadic_source(),
                &dir,
            )
            .expect("building the IPADIC dictionary (apt-get install mecab-ipadic)");
        }
        dir
    })
}

/// A fresh archive in a temp folder whose dictionary links to the shared one.
pub fn new_archive() -> (tempfile::TempDir, Archive) {
    let tmp = tempfile::tempdir().unwrap();
    let dict = tmp.path().join("dict");
    std::fs::create_dir_all(&dict).unwrap();
    std::os::unix::fs::symlink(shared_dictionary(), dict.join("ipadic")).unwrap();
    let a = Archive::open(tmp.path()).unwrap();
    (tmp, a)
}

/// An archive holding all 25 real meetings; returns the ids by file stem.
pub fn archive_with_minutes() -> (tempfile::TempDir, Archive, Vec<(String, i64)>) {
    let (tmp, mut a) = new_archive();
    let mut ids = Vec::new();
    for f in minutes_files() {
        let id = a.import_minutes(&f, &MinutesImport::default()).unwrap();
        ids.push((f.file_stem().unwrap().to_string_lossy().into_owned(), id));
    }
    (tmp, a, ids)
}
