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

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;

use crate::error::{IoContext, PipelineError, Result};
use crate::hash::{self, Hashed, ManifestEntry};
use crate::lock::{FileRecord, StageRecord};
use crate::memo::{HashMemo, Stat, now_ns};

/// The layout version: a new layout lives beside the old one (`cache/v2`).
pub const LAYOUT: &str = "v1";

/// Writes `bytes` to `path` through a temporary sibling and a rename, synced to disk.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent).at("create", parent)?;
    let name = path
        .file_name()
        .map_or("file".into(), |name| name.to_string_lossy().into_owned());
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{name}.tmp-"))
        .tempfile_in(parent)
        .at("create", path)?;
    temp.write_all(bytes).at("write", path)?;
    temp.as_file().sync_all().at("sync", path)?;
    if path
        .file_name()
        .is_some_and(|name| name == crate::lock::FILE_NAME)
    {
        crate::fault::point("writing-lock");
    }
    let permissions = std::fs::Permissions::from_mode(0o644);
    temp.as_file()
        .set_permissions(permissions)
        .at("write", path)?;
    temp.persist(path)
        .map_err(|error| PipelineError::io("rename", path, error.error))?;
    Ok(())
}

/// Why an out could not be restored.
#[derive(Debug)]
pub enum RestoreError {
    /// An object is not in the cache (never stored, or removed by `gc`).
    Missing {
        hash: String,
    },
    /// An object does not hash to its name; it has been deleted.
    Corrupt {
        hash: String,
        found: String,
    },
    Other(PipelineError),
}

impl From<PipelineError> for RestoreError {
    fn from(error: PipelineError) -> Self {
        RestoreError::Other(error)
    }
}

impl RestoreError {
    pub fn describe(&self) -> String {
        match self {
            RestoreError::Missing { hash } => format!("object {} is not in the cache", short(hash)),
            RestoreError::Corrupt { hash, found } => format!(
                "object {} is corrupted (its contents hash to {}); it was deleted",
                short(hash),
                short(found)
            ),
            RestoreError::Other(error) => error.to_string(),
        }
    }
}

/// The first 12 characters of a hash, for messages.
pub fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

/// An out copied beside its place, not yet moved in.
#[derive(Debug)]
pub enum Staged {
    File {
        temp: tempfile::NamedTempFile,
        dest: PathBuf,
    },
    Folder {
        dir: tempfile::TempDir,
        dest: PathBuf,
    },
}

impl Staged {
    /// Moves the staged out into its place, replacing what is there (a file, a folder or a
    /// symlink, never following it).
    pub fn commit(self) -> Result<()> {
        let dest = match &self {
            Staged::File { dest, .. } | Staged::Folder { dest, .. } => dest.clone(),
        };
        let parent = dest.parent().unwrap_or(Path::new("."));
        let name = dest
            .file_name()
            .map_or("out".into(), |name| name.to_string_lossy().into_owned());
        // What is there goes to a temporary sibling, removed when `trash` drops.
        let mut trash = None;
        if let Ok(metadata) = std::fs::symlink_metadata(&dest)
            && (metadata.is_dir() || matches!(self, Staged::Folder { .. }))
        {
            let folder = tempfile::Builder::new()
                .prefix(&format!(".{name}.tmp-"))
                .tempdir_in(parent)
                .at("create", &dest)?;
            std::fs::rename(&dest, folder.path().join("old")).at("rename", &dest)?;
            trash = Some(folder);
        }
        match self {
            Staged::File { temp, dest } => {
                temp.persist(&dest)
                    .map_err(|error| PipelineError::io("rename", &dest, error.error))?;
            }
            Staged::Folder { dir, dest } => {
                let staged = dir.keep();
                if let Err(error) = std::fs::rename(&staged, &dest) {
                    let _ = std::fs::remove_dir_all(&staged);
                    return Err(PipelineError::io("rename", &dest, error));
                }
            }
        }
        drop(trash);
        Ok(())
    }
}

/// What `gc` removed (or would remove).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    pub objects: usize,
    pub bytes: u64,
    pub kept: usize,
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

    fn temp_file(&self) -> Result<tempfile::NamedTempFile> {
        let tmp = self.dir.join("tmp");
        tempfile::Builder::new()
            .prefix("object-")
            .tempfile_in(&tmp)
            .at("create", &tmp)
    }

    /// Moves a complete temporary file into the store as `hash` (unless already there).
    fn persist(&self, temp: tempfile::NamedTempFile, hash: &str) -> Result<()> {
        let target = self.object_path(hash);
        if target.is_file() {
            return Ok(());
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).at("create", parent)?;
        }
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o444))
            .at("write", temp.path())?;
        temp.persist(&target)
            .map_err(|error| PipelineError::io("rename", &target, error.error))?;
        Ok(())
    }

    /// Stores `bytes` (a folder manifest); returns its hash.
    pub fn add_bytes(&self, bytes: &[u8]) -> Result<String> {
        let hash = blake3::hash(bytes).to_hex().to_string();
        if !self.has(&hash) {
            let mut temp = self.temp_file()?;
            temp.write_all(bytes).at("write", temp.path())?;
            self.persist(temp, &hash)?;
        }
        Ok(hash)
    }

    /// Copies the file at `path` into the store, hashing it in the same pass; returns its hash.
    /// A file whose trusted memo hash is already stored is not read at all.
    pub fn add_file(
        &self,
        memo: &Mutex<HashMemo>,
        path: &Path,
        metadata: &std::fs::Metadata,
    ) -> Result<String> {
        let stat = Stat::of(metadata);
        if let Some(hash) = memo.lock().expect("memo lock").get(&stat)
            && self.has(&hash)
        {
            return Ok(hash);
        }
        let started = now_ns();
        let source = std::fs::File::open(path).at("open", path)?;
        let mut temp = self.temp_file()?;
        let temp_path = temp.path().to_path_buf();
        let hash = hash::digest_reader(source, stat.size, path, |block| {
            temp.write_all(block).at("write", &temp_path)
        })?;
        if std::fs::metadata(path)
            .map(|after| Stat::of(&after) == stat)
            .unwrap_or(false)
        {
            memo.lock().expect("memo lock").put(&stat, &hash, started);
        } else {
            return Err(PipelineError::Cache {
                path: path.to_path_buf(),
                message:
                    "the file changed while it was being stored; is a process still writing it?"
                        .to_owned(),
            });
        }
        crate::fault::point("storing-outs");
        self.persist(temp, &hash)?;
        Ok(hash)
    }

    /// Stores the out at `path` (file or folder); returns what it hashed to, or `None` if it
    /// does not exist.
    pub fn add_path(&self, memo: &Mutex<HashMemo>, path: &Path) -> Result<Option<Hashed>> {
        let metadata = match std::fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(PipelineError::io("read", path, error)),
        };
        if !metadata.is_dir() {
            let hash = self.add_file(memo, path, &metadata)?;
            return Ok(Some(Hashed {
                hash,
                size: metadata.len(),
                manifest: None,
            }));
        }
        let manifest = hash::list_dir(path)?
            .par_iter()
            .map(|(relative, raw, file, metadata)| {
                Ok(ManifestEntry {
                    path: relative.clone(),
                    hash: self.add_file(memo, file, metadata)?,
                    size: metadata.len(),
                    raw: raw.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let hash = self.add_bytes(&hash::manifest_bytes(&manifest))?;
        Ok(Some(Hashed {
            hash,
            size: manifest.iter().map(|entry| entry.size).sum(),
            manifest: Some(manifest),
        }))
    }

    /// Reads and verifies the folder manifest `hash`.
    pub fn manifest(&self, hash: &str) -> Result<Vec<ManifestEntry>, RestoreError> {
        let path = self.object_path(hash);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(RestoreError::Missing {
                    hash: hash.to_owned(),
                });
            }
            Err(error) => return Err(PipelineError::io("read", &path, error).into()),
        };
        let found = blake3::hash(&bytes).to_hex().to_string();
        let parsed = serde_json::from_slice::<Vec<ManifestEntry>>(&bytes);
        match parsed {
            Ok(manifest) if found == hash => Ok(manifest),
            _ => {
                let _ = std::fs::remove_file(&path);
                Err(RestoreError::Corrupt {
                    hash: hash.to_owned(),
                    found,
                })
            }
        }
    }

    /// Copies object `hash` to `dest` (replacing it), verifying the hash while copying.
    fn restore_file(&self, hash: &str, dest: &Path) -> Result<(), RestoreError> {
        let temp = self.stage_file(hash, dest)?;
        Staged::File {
            temp,
            dest: dest.to_path_buf(),
        }
        .commit()?;
        Ok(())
    }

    /// Copies object `hash` to a temporary sibling of `dest`, verifying the hash while copying.
    fn stage_file(&self, hash: &str, dest: &Path) -> Result<tempfile::NamedTempFile, RestoreError> {
        let object = self.object_path(hash);
        let source = match std::fs::File::open(&object) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(RestoreError::Missing {
                    hash: hash.to_owned(),
                });
            }
            Err(error) => return Err(PipelineError::io("open", &object, error).into()),
        };
        let size = source.metadata().map(|m| m.len()).unwrap_or(0);
        let parent = dest.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).at("create", parent)?;
        let name = dest
            .file_name()
            .map_or("out".into(), |name| name.to_string_lossy().into_owned());
        let mut temp = tempfile::Builder::new()
            .prefix(&format!(".{name}.tmp-"))
            .tempfile_in(parent)
            .at("create", dest)?;
        let temp_path = temp.path().to_path_buf();
        let found = hash::digest_reader(source, size, &object, |block| {
            temp.write_all(block).at("write", &temp_path)
        })?;
        if found != hash {
            let _ = std::fs::remove_file(&object);
            return Err(RestoreError::Corrupt {
                hash: hash.to_owned(),
                found,
            });
        }
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .at("write", dest)?;
        Ok(temp)
    }

    /// Checks that the objects of `record` are present and intact (hashing them), without
    /// copying anything.
    pub fn verify(&self, record: &FileRecord) -> Result<(), RestoreError> {
        let check = |hash: &str| -> Result<(), RestoreError> {
            let object = self.object_path(hash);
            let size = match std::fs::metadata(&object) {
                Ok(metadata) => metadata.len(),
                Err(_) => {
                    return Err(RestoreError::Missing {
                        hash: hash.to_owned(),
                    });
                }
            };
            let found = hash::digest_file(&object, size)?;
            if found != hash {
                let _ = std::fs::remove_file(&object);
                return Err(RestoreError::Corrupt {
                    hash: hash.to_owned(),
                    found,
                });
            }
            Ok(())
        };
        if record.files.is_some() {
            let manifest = self.manifest(&record.hash)?;
            manifest.par_iter().try_for_each(|entry| check(&entry.hash))
        } else {
            check(&record.hash)
        }
    }

    /// Restores the out `record` at `dest` (a file or a whole folder, replacing what is there).
    pub fn restore(&self, record: &FileRecord, dest: &Path) -> Result<(), RestoreError> {
        self.stage(record, dest)?.commit()?;
        Ok(())
    }

    /// Restores several outs as a set: every one is staged (copied and verified beside its
    /// place) before any is moved in, so a missing or corrupt object replaces none of them.
    pub fn restore_all(&self, outs: &[(&FileRecord, PathBuf)]) -> Result<(), RestoreError> {
        let mut staged = Vec::with_capacity(outs.len());
        for (record, dest) in outs {
            staged.push(self.stage(record, dest)?);
        }
        for staged in staged {
            staged.commit()?;
        }
        Ok(())
    }

    /// Copies the out `record` beside `dest`, verified, ready to be moved in by
    /// [`Staged::commit`]; dropped uncommitted, it is removed.
    pub fn stage(&self, record: &FileRecord, dest: &Path) -> Result<Staged, RestoreError> {
        if record.files.is_none() {
            return Ok(Staged::File {
                temp: self.stage_file(&record.hash, dest)?,
                dest: dest.to_path_buf(),
            });
        }
        let manifest = self.manifest(&record.hash)?;
        // A manifest names files inside the folder only: never `..`, a root or an empty name.
        if let Some(entry) = manifest.iter().find(|entry| {
            let relative = entry.relative_path();
            relative.as_os_str().is_empty()
                || !relative
                    .components()
                    .all(|part| matches!(part, std::path::Component::Normal(_)))
        }) {
            return Err(RestoreError::Other(PipelineError::Cache {
                path: self.object_path(&record.hash),
                message: format!(
                    "the folder manifest names `{}`, which is not a path inside the folder",
                    entry.path
                ),
            }));
        }
        let parent = dest.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).at("create", parent)?;
        let name = dest
            .file_name()
            .map_or("out".into(), |name| name.to_string_lossy().into_owned());
        let staging = tempfile::Builder::new()
            .prefix(&format!(".{name}.tmp-"))
            .tempdir_in(parent)
            .at("create", dest)?;
        manifest.par_iter().try_for_each(|entry| {
            self.restore_file(&entry.hash, &staging.path().join(entry.relative_path()))
        })?;
        crate::fault::point("restoring-folder");
        std::fs::set_permissions(staging.path(), std::fs::Permissions::from_mode(0o755))
            .at("write", staging.path())?;
        Ok(Staged::Folder {
            dir: staging,
            dest: dest.to_path_buf(),
        })
    }

    fn run_path(&self, key: &str) -> PathBuf {
        let split = key.len().min(2);
        self.dir
            .join("runs")
            .join(&key[..split])
            .join(format!("{}.json", &key[split..]))
    }

    /// The run-cache entry for a stage key.
    pub fn run_get(&self, key: &str) -> Option<StageRecord> {
        let bytes = std::fs::read(self.run_path(key)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub fn run_put(&self, key: &str, record: &StageRecord) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(record)
            .map_err(|error| PipelineError::Internal(error.to_string()))?;
        write_atomic(&self.run_path(key), &bytes)
    }

    /// Every run-cache entry.
    pub fn run_entries(&self) -> Result<Vec<StageRecord>> {
        let mut records = Vec::new();
        let runs = self.dir.join("runs");
        for entry in walkdir::WalkDir::new(&runs).min_depth(2).max_depth(2) {
            let entry = entry.map_err(|error| PipelineError::io("read", &runs, error.into()))?;
            if let Ok(bytes) = std::fs::read(entry.path())
                && let Ok(record) = serde_json::from_slice::<StageRecord>(&bytes)
            {
                records.push(record);
            }
        }
        Ok(records)
    }

    /// Removes every object not in `keep` (and leftovers in `tmp/`).
    pub fn gc(&self, keep: &BTreeSet<String>, dry_run: bool) -> Result<GcReport> {
        let mut report = GcReport::default();
        let objects = self.dir.join("objects");
        for entry in walkdir::WalkDir::new(&objects).min_depth(2).max_depth(2) {
            let entry = entry.map_err(|error| PipelineError::io("read", &objects, error.into()))?;
            let prefix = entry
                .path()
                .parent()
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy().into_owned());
            let hash = format!(
                "{}{}",
                prefix.unwrap_or_default(),
                entry.file_name().to_string_lossy()
            );
            if keep.contains(&hash) {
                report.kept += 1;
                continue;
            }
            report.objects += 1;
            report.bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
            if !dry_run {
                std::fs::remove_file(entry.path()).at("remove", entry.path())?;
            }
        }
        if !dry_run {
            let tmp = self.dir.join("tmp");
            for entry in std::fs::read_dir(&tmp).at("read", &tmp)?.flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(hashed: &Hashed, path: &str) -> FileRecord {
        FileRecord {
            path: path.to_owned(),
            hash: hashed.hash.clone(),
            size: hashed.size,
            files: hashed.manifest.as_ref().map(|m| m.len() as u64),
        }
    }

    #[test]
    fn stored_files_and_folders_restore_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("cache")).unwrap();
        let memo = Mutex::new(HashMemo::load(&store.memo_path()));
        let out = dir.path().join("out");
        std::fs::create_dir_all(out.join("sub")).unwrap();
        std::fs::write(out.join("a"), "alpha").unwrap();
        std::fs::write(out.join("sub/b"), "beta").unwrap();
        let hashed = store.add_path(&memo, &out).unwrap().unwrap();
        assert_eq!(hashed, hash::hash_path(&memo, &out).unwrap().unwrap());
        std::fs::remove_dir_all(&out).unwrap();
        store.restore(&record(&hashed, "out"), &out).unwrap();
        assert_eq!(std::fs::read_to_string(out.join("sub/b")).unwrap(), "beta");
        assert!(
            std::fs::read_dir(dir.path()).unwrap().all(|e| !e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".tmp-"))
        );
    }

    #[test]
    fn a_corrupted_object_is_detected_and_deleted_on_restore() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("cache")).unwrap();
        let memo = Mutex::new(HashMemo::load(&store.memo_path()));
        let file = dir.path().join("f");
        std::fs::write(&file, "good").unwrap();
        let hashed = store.add_path(&memo, &file).unwrap().unwrap();
        let object = store.object_path(&hashed.hash);
        std::fs::set_permissions(&object, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(&object, "evil").unwrap();
        std::fs::write(&file, "user edit").unwrap();
        let error = store.restore(&record(&hashed, "f"), &file).unwrap_err();
        assert!(matches!(error, RestoreError::Corrupt { .. }), "{error:?}");
        assert!(!object.exists());
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "user edit",
            "nothing restored"
        );
    }

    #[test]
    fn gc_keeps_what_is_referenced() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("cache")).unwrap();
        let keep = store.add_bytes(b"keep").unwrap();
        store.add_bytes(b"drop").unwrap();
        let report = store.gc(&BTreeSet::from([keep.clone()]), true).unwrap();
        assert_eq!((report.objects, report.kept), (1, 1));
        store.gc(&BTreeSet::from([keep.clone()]), false).unwrap();
        assert!(store.has(&keep));
        assert!(!store.has(blake3::hash(b"drop").to_hex().as_str()));
    }
}
