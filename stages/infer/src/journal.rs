//! `--journal DIR`: completed batches kept outside the outputs, so a killed, timed-out or
//! pre-empted run continues where it stopped.
//!
//! The folder holds `journal.json` (the run's key) and one `batch-NNNNNN.parquet` per
//! completed batch (the `tokens` rows of its scored positions, written atomically like every
//! artifact). The key covers everything that decides the values: the model's hash, the
//! settings, dtype, device, shard and every row's token ids, so a journal is only ever resumed
//! by the run that would have produced it; any other key empties the folder first. The folder is
//! removed once the outputs are complete. Batches are the same whatever the interruption
//! (`plan`), so a resumed run writes the bytes of an uninterrupted one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use icodegen_artifacts::schemas::tokens;
use icodegen_artifacts::{atomic, read_all, write_all};

const KEY_FILE: &str = "journal.json";

pub struct Journal {
    dir: PathBuf,
}

fn batch_file(index: usize) -> String {
    format!("batch-{index:06}.parquet")
}

fn is_batch_file(name: &str) -> Option<usize> {
    name.strip_prefix("batch-")?
        .strip_suffix(".parquet")?
        .parse()
        .ok()
}

impl Journal {
    /// Opens (creating) the journal in `dir` for a run with `key`; a journal of another key is
    /// emptied.
    pub fn open(dir: &Path, key: &str) -> anyhow::Result<Self> {
        fs_err::create_dir_all(dir)?;
        let key_path = dir.join(KEY_FILE);
        let current = fs_err::read_to_string(&key_path)
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|value| value["key"].as_str().map(str::to_owned));
        if current.as_deref() != Some(key) {
            for entry in fs_err::read_dir(dir)? {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if is_batch_file(&name).is_some() {
                    fs_err::remove_file(entry.path())?;
                }
            }
            atomic::write_json(&key_path, &serde_json::json!({ "key": key }))?;
        }
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// The batches completed so far, by global batch index.
    pub fn completed(&self) -> anyhow::Result<BTreeMap<usize, Vec<tokens::Row>>> {
        let mut done = BTreeMap::new();
        for entry in fs_err::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(index) = is_batch_file(&name) {
                let rows = read_all::<tokens::Row>(entry.path())
                    .with_context(|| format!("reading the journal `{}`", self.dir.display()))?;
                done.insert(index, rows);
            }
        }
        Ok(done)
    }

    /// Records batch `index` as complete.
    pub fn record(&self, index: usize, rows: &[tokens::Row]) -> anyhow::Result<()> {
        write_all(self.dir.join(batch_file(index)), "infer", rows)?;
        Ok(())
    }

    /// The run is complete: the journal goes.
    pub fn finish(self) -> anyhow::Result<()> {
        for entry in fs_err::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_batch_file(&name).is_some() || name == KEY_FILE {
                fs_err::remove_file(entry.path())?;
            }
        }
        // Only if nothing else is there.
        let _ = fs_err::remove_dir(&self.dir);
        Ok(())
    }
}
