//! `pipeline.lock`: the machine-written record of the last successful run of each stage (its
//! resolved command, code fingerprint, param values, and the blake3 and size of each dep and
//! out, plus the stage key). Deterministic: stages and params sorted by name, no timestamps.
//!
//! Updates go through [`update`], which holds a file lock in the cache while it reads, changes and
//! atomically rewrites the file, so stages finishing at the same time (Slurm jobs on a shared file
//! system) never lose each other's records.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use icodegen_artifacts::atomic::AtomicFile;

use serde::{Deserialize, Serialize};

use crate::error::{IoContext, PipelineError, Result};
use crate::keys::hash::Hashed;

/// The lock file's name, beside pipeline.yaml.
pub const FILE_NAME: &str = "pipeline.lock";
/// The lock file format.
pub const SCHEMA: u32 = 1;

const HEADER: &str =
    "# Written by `icodegen repro`: the last successful run of each stage. Do not edit.\n";

/// A dep or out: its path, blake3 and size (and number of files, for a folder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRecord {
    pub path: String,
    pub hash: String,
    pub size: u64,
    /// Present for folders: the hash is that of the folder's manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<u64>,
}

impl FileRecord {
    pub fn new(path: &str, hashed: &Hashed) -> FileRecord {
        FileRecord {
            path: path.to_owned(),
            hash: hashed.hash.clone(),
            size: hashed.size,
            files: hashed
                .manifest
                .as_ref()
                .map(|manifest| manifest.len() as u64),
        }
    }

    /// Whether `hashed` is the same contents.
    pub fn matches(&self, hashed: &Hashed) -> bool {
        self.hash == hashed.hash && self.files.is_some() == hashed.is_dir()
    }
}

/// The stage binary whose sources fingerprint is part of the stage key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeRecord {
    pub program: String,
    pub fingerprint: String,
}

/// Param values by params file, then dotted key.
pub type ParamValues = BTreeMap<String, BTreeMap<String, serde_json::Value>>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageRecord {
    pub cmd: String,
    /// blake3 of everything that determines the outs (see `key.rs`).
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<CodeRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deps: Vec<FileRecord>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: ParamValues,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outs: Vec<FileRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<FileRecord>,
}

impl StageRecord {
    /// Outs and metrics.
    pub fn all_outs(&self) -> impl Iterator<Item = &FileRecord> {
        self.outs.iter().chain(&self.metrics)
    }

    pub fn out(&self, path: &str) -> Option<&FileRecord> {
        self.all_outs().find(|record| record.path == path)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockFile {
    pub schema: u32,
    #[serde(default)]
    pub stages: BTreeMap<String, StageRecord>,
}

impl Default for LockFile {
    fn default() -> Self {
        LockFile {
            schema: SCHEMA,
            stages: BTreeMap::new(),
        }
    }
}

impl LockFile {
    /// Reads `path`; a missing lock is empty.
    pub fn read(path: &Path) -> Result<LockFile> {
        let Some(text) = crate::spec::yaml::read_text(path, path)? else {
            return Ok(LockFile::default());
        };
        if text.trim().is_empty()
            || text
                .lines()
                .all(|line| line.trim().is_empty() || line.starts_with('#'))
        {
            return Ok(LockFile::default());
        }
        let lock: LockFile = crate::spec::yaml::from_str(path, &text).map_err(|error| match error {
            PipelineError::Spec {
                file,
                location,
                key,
                message,
            } => PipelineError::Spec {
                file,
                location,
                key,
                message: format!("{message}\nhint: the lock file is written by icodegen; delete it and run `icodegen repro` to rebuild it"),
            },
            other => other,
        })?;
        if lock.schema != SCHEMA {
            return Err(PipelineError::Spec {
                file: path.to_path_buf(),
                location: None,
                key: "schema".to_owned(),
                message: format!(
                    "lock format {} is not supported by this icodegen (it writes {SCHEMA})",
                    lock.schema
                ),
            });
        }
        Ok(lock)
    }

    /// The deterministic text of the lock file.
    pub fn to_text(&self) -> String {
        let body = serde_norway::to_string(self).expect("lock files serialize");
        format!("{HEADER}{body}")
    }

    /// Writes the lock atomically (a temporary sibling, synced, renamed over `pipeline.lock`).
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut file = AtomicFile::create(path)?;
        file.file()
            .write_all(self.to_text().as_bytes())
            .at("write", path)?;
        file.file().sync_all().at("sync", path)?;
        crate::fault::point("writing-lock");
        file.commit()?;
        Ok(())
    }
}

/// Reads the lock at `path`, applies `change` and writes it back, all while holding an exclusive
/// lock on `guard` (a file in the cache). Writes nothing if `change` left it as it was.
pub fn update(path: &Path, guard: &Path, change: impl FnOnce(&mut LockFile)) -> Result<()> {
    let guard_file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(guard)
        .at("open", guard)?;
    guard_file.lock().at("lock", guard)?;
    let mut lock = LockFile::read(path)?;
    let before = lock.clone();
    change(&mut lock);
    if lock != before {
        lock.write(path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_round_trips_in_a_deterministic_order() {
        let record = StageRecord {
            cmd: "echo".to_owned(),
            key: "k".to_owned(),
            code: None,
            deps: vec![FileRecord {
                path: "a".to_owned(),
                hash: "h".to_owned(),
                size: 1,
                files: Some(2),
            }],
            params: BTreeMap::from([(
                "params.yaml".to_owned(),
                BTreeMap::from([("train.lr".to_owned(), serde_json::json!(0.5))]),
            )]),
            outs: Vec::new(),
            metrics: Vec::new(),
        };
        let mut lock = LockFile::default();
        lock.stages.insert("zeta".to_owned(), record.clone());
        lock.stages.insert("alpha".to_owned(), record);
        let text = lock.to_text();
        assert!(
            text.find("alpha:").unwrap() < text.find("zeta:").unwrap(),
            "{text}"
        );
        assert!(!text.contains("outs"), "{text}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        lock.write(&path).unwrap();
        assert_eq!(LockFile::read(&path).unwrap(), lock);
        update(&path, &dir.path().join("guard"), |lock| {
            lock.stages.remove("zeta");
        })
        .unwrap();
        assert_eq!(LockFile::read(&path).unwrap().stages.len(), 1);
    }

    #[test]
    fn a_malformed_lock_is_a_located_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "schema: 1\nstages:\n  a:\n    cmd: x\n    kye: y\n").unwrap();
        let error = LockFile::read(&path).unwrap_err().to_string();
        assert!(
            error.contains(":5:5") && error.contains("delete it"),
            "{error}"
        );
    }
}
