//! The content-addressed cache under `cache/v1/`:
//!
//! ```text
//! cache/v1/objects/ab/cdef…   file contents by blake3 (read-only); folder manifests likewise
//! cache/v1/runs/ab/<key>.json run-cache: stage key -> the stage's lock record (its outs' hashes)
//! cache/v1/tmp/               objects being written (renamed into objects/ when complete)
//! cache/v1/memo               hash memo            cache/v1/fingerprints  code fingerprint memo
//! cache/v1/runner.lock        this cache's runner lock (the workspace has its own, in .icodegen/)
//! ```
//!
//! Objects are written to `tmp/` while being hashed and renamed into place only when complete,
//! so the cache never holds a partial object; every restore re-hashes what it copies, so a
//! corrupted object is detected, deleted and reported instead of used.
//!
//! Split by concern, all methods of [`Store`]: `objects` (adding files and folders, manifests,
//! verifying), `runs` (the run-cache), `checkout` (staging and restoring outs as a set), `gc`.

use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};

mod checkout;
mod gc;
mod objects;
mod runs;

pub use checkout::{RestoreError, Staged};
pub use gc::GcReport;

/// The layout version: a new layout lives beside the old one (`cache/v2`).
pub const LAYOUT: &str = "v1";

/// The first 12 characters of a hash, for messages.
pub fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

#[derive(Debug, Clone)]
pub struct Store {
    /// `cache/v1`.
    pub dir: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the store in `cache_dir`.
    pub fn open(cache_dir: &Path) -> Result<Store> {
        let dir = cache_dir.join(LAYOUT);
        for sub in ["objects", "runs", "tmp"] {
            let path = dir.join(sub);
            std::fs::create_dir_all(&path).at("create", &path)?;
        }
        Ok(Store { dir })
    }

    pub fn object_path(&self, hash: &str) -> PathBuf {
        let split = hash.len().min(2);
        self.dir
            .join("objects")
            .join(&hash[..split])
            .join(&hash[split..])
    }

    pub fn has(&self, hash: &str) -> bool {
        self.object_path(hash).is_file()
    }

    pub fn memo_path(&self) -> PathBuf {
        self.dir.join("memo")
    }

    pub fn fingerprints_path(&self) -> PathBuf {
        self.dir.join("fingerprints")
    }

    pub fn runner_lock_path(&self) -> PathBuf {
        self.dir.join("runner.lock")
    }

    /// `cache/v1/tmp`: objects being written.
    fn tmp_dir(&self) -> PathBuf {
        self.dir.join("tmp")
    }
}
