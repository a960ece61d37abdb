//! The run-cache: `runs/ab/<key>.json`, a stage key -> the lock record of the run that produced
//! it (its outs' hashes), so returning to an earlier configuration restores instead of running.

use std::path::PathBuf;

use super::Store;
use crate::error::{PipelineError, Result};
use crate::keys::lock::StageRecord;

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
        serde_json::from_slice(&bytes).ok()
    }

    pub fn run_put(&self, key: &str, record: &StageRecord) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(record)
            .map_err(|error| PipelineError::Internal(error.to_string()))?;
        Ok(icodegen_artifacts::atomic::write_bytes(
            self.run_path(key),
            &bytes,
        )?)
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
}
