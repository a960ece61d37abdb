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
//! corrupted object is detected, deleted and reported instead of used (the one exception: an
//! object this process has just downloaded and verified, still that very file; see `checkout`).
//!
//! Split by concern, all methods of [`Store`]: `objects` (adding files and folders, manifests,
//! verifying), `links` (how outs share storage with objects: reflink, hardlink, copy), `runs`
//! (the run-cache), `checkout` (staging and restoring outs as a set), `gc` (run-cache policies,
//! unreferenced objects).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{IoContext, PipelineError, Result};

mod checkout;
mod gc;
pub mod links;
mod objects;
mod runs;

pub use checkout::{RestoreError, Staged};
pub use gc::{GcPolicy, GcReport, describe_age, parse_duration};
pub use links::LinkType;
pub use runs::{Run, RunEntry, now as now_secs};

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
    /// How outs share storage with objects, in order of preference.
    links: Vec<LinkType>,
    /// Set once a reflink was refused (the file system cannot clone): not tried again.
    reflink_refused: Arc<AtomicBool>,
    /// Objects this process downloaded, hashed and renamed into place itself, with the identity
    /// of the file it wrote: a restore that finds the object still that very file (same inode,
    /// size, mtime and ctime) need not hash it again (see `checkout`).
    verified: Arc<Mutex<HashMap<String, Identity>>>,
}

/// What identifies one version of a file: a rename keeps it, any write or `chmod` changes
/// its mtime or ctime, a replacement changes its inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Identity {
    fn of(metadata: &std::fs::Metadata) -> Identity {
        use std::os::unix::fs::MetadataExt;
        Identity {
            dev: metadata.dev(),
            ino: metadata.ino(),
            size: metadata.len(),
            mtime: (metadata.mtime(), metadata.mtime_nsec()),
            ctime: (metadata.ctime(), metadata.ctime_nsec()),
        }
    }
}

/// How an attempt to link (store or restore) one file ended.
enum Linked<T> {
    Done(T),
    /// The file system cannot link this way: try the next link type.
    Refused(std::io::Error),
}

impl Store {
    /// Opens (creating if needed) the store in `cache_dir`.
    pub fn open(cache_dir: &Path) -> Result<Store> {
        let dir = cache_dir.join(LAYOUT);
        for sub in ["objects", "runs", "tmp"] {
            let path = dir.join(sub);
            std::fs::create_dir_all(&path).at("create", &path)?;
        }
        Ok(Store {
            dir,
            links: crate::spec::DEFAULT_LINK_TYPES.to_vec(),
            reflink_refused: Arc::new(AtomicBool::new(false)),
            verified: Arc::default(),
        })
    }

    /// The same store, linking outs with `links` (in order of preference).
    pub fn with_links(mut self, links: &[LinkType]) -> Store {
        self.links = links.to_vec();
        self
    }

    pub fn links(&self) -> &[LinkType] {
        &self.links
    }

    /// The link types to try now: the configured ones, less reflink once it was refused.
    fn tries(&self) -> Vec<LinkType> {
        let refused = self.reflink_refused.load(Ordering::Relaxed);
        self.links
            .iter()
            .copied()
            .filter(|link| !(refused && *link == LinkType::Reflink))
            .collect()
    }

    /// The error when no configured link type worked for `path`.
    fn refused(
        &self,
        action: &str,
        path: &Path,
        refused: Vec<(LinkType, std::io::Error)>,
    ) -> PipelineError {
        let tried: Vec<String> = refused
            .iter()
            .map(|(link, error)| format!("{} ({error})", link.name()))
            .collect();
        PipelineError::Cache {
            path: path.to_path_buf(),
            message: format!(
                "cannot {action} it with any configured link type: {}\nhint: add `copy` to `cache: {{type: [...]}}` in pipeline.yaml; it works on every file system",
                if tried.is_empty() {
                    "none left to try".to_owned()
                } else {
                    tried.join(", ")
                }
            ),
        }
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
