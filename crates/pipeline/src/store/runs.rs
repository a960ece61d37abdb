//! The run-cache: `runs/ab/<key>.json`, a stage key -> the lock record of the run that produced
//! it (its outs' hashes), so returning to an earlier configuration restores instead of running.
//! Each entry also names its stage and when it was written, for `gc --keep-last` and
//! `--older-than`. Entries written before those fields (a bare lock record) are still read:
//! their stage is unknown and their age is the file's.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Store;
use crate::error::{IoContext, PipelineError, Result};
use crate::keys::lock::StageRecord;

/// A run-cache entry as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunEntry {
    /// The stage it was recorded for.
    pub stage: String,
    /// When it was written, in seconds since the epoch.
    pub created: u64,
    pub record: StageRecord,
}

/// A run-cache entry found on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub key: String,
    pub path: PathBuf,
    /// `None` for an entry written before entries named their stage.
    pub stage: Option<String>,
    /// Seconds since the epoch.
    pub created: u64,
    pub record: StageRecord,
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Reads an entry in either shape: (stage, created, record), or a bare record.
fn parse(bytes: &[u8]) -> Option<(Option<String>, Option<u64>, StageRecord)> {
    if let Ok(entry) = serde_json::from_slice::<RunEntry>(bytes) {
        return Some((Some(entry.stage), Some(entry.created), entry.record));
    }
    serde_json::from_slice::<StageRecord>(bytes)
        .ok()
        .map(|record| (None, None, record))
}

fn modified(path: &Path) -> u64 {
    std::fs::metadata(path)
        .and_then(|metadata| metadata.modified())
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |elapsed| elapsed.as_secs())
}

impl Store {
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
        parse(&bytes).map(|(_, _, record)| record)
    }

    /// Writes the run-cache entry of `stage` for `key`.
    pub fn run_put(&self, key: &str, stage: &str, record: &StageRecord) -> Result<()> {
        let entry = RunEntry {
            stage: stage.to_owned(),
            created: now(),
            record: record.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&entry)
            .map_err(|error| PipelineError::Internal(error.to_string()))?;
        Ok(icodegen_artifacts::atomic::write_bytes(
            self.run_path(key),
            &bytes,
        )?)
    }

    /// Every run-cache entry (unreadable ones are skipped), in no particular order.
    pub fn run_entries(&self) -> Result<Vec<Run>> {
        let mut runs = Vec::new();
        let root = self.dir.join("runs");
        for entry in walkdir::WalkDir::new(&root).min_depth(2).max_depth(2) {
            let entry = entry.map_err(|error| PipelineError::io("read", &root, error.into()))?;
            let path = entry.path();
            let (Some(prefix), Some(stem)) = (
                path.parent().and_then(Path::file_name),
                path.file_name()
                    .and_then(|name| name.to_str())
                    .and_then(|name| name.strip_suffix(".json")),
            ) else {
                continue;
            };
            if let Ok(bytes) = std::fs::read(path)
                && let Some((stage, created, record)) = parse(&bytes)
            {
                runs.push(Run {
                    key: format!("{}{stem}", prefix.to_string_lossy()),
                    path: path.to_path_buf(),
                    stage,
                    created: created.unwrap_or_else(|| modified(path)),
                    record,
                });
            }
        }
        Ok(runs)
    }

    /// Removes a run-cache entry.
    pub fn run_remove(&self, run: &Run) -> Result<()> {
        std::fs::remove_file(&run.path).at("remove", &run.path)
    }
}
