//! `--row-cache DIR`: rows already scored by the same model folder (its content hash) with the
//! same settings, dtype and device are reused, not re-scored, when the testbed grows or
//! changes.
//!
//! `DIR/<key>/` (the key is blake3 of the model hash and settings) holds Parquet files of
//! `tokens` rows, one file per run that scored new rows, written atomically. A cached row is
//! reused only when its positions are exactly `1..len` and its token ids are those the
//! tokenizer gives now. A reused row keeps the values of the batch it was first scored in, so a
//! grown testbed's values equal a fresh run's up to float noise, not bit for bit (batches
//! differ); runs that need bit-identical outputs leave the cache off.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use icodegen_artifacts::schemas::tokens;
use icodegen_artifacts::{read_all, write_all};
use icodegen_lm::scoring::TokenStatistics;

pub struct RowCache {
    dir: PathBuf,
    rows: HashMap<String, Vec<tokens::Row>>,
}

impl RowCache {
    /// Opens (creating) the cache of the run described by `key_parts`.
    pub fn open(root: &Path, key_parts: &[&str]) -> anyhow::Result<Self> {
        let mut key = blake3::Hasher::new();
        for part in key_parts {
            key.update(part.as_bytes());
            key.update(&[0]);
        }
        let dir = root.join(&key.finalize().to_hex()[..32]);
        fs_err::create_dir_all(&dir)?;
        let mut rows: HashMap<String, Vec<tokens::Row>> = HashMap::new();
        let mut files: Vec<PathBuf> = fs_err::read_dir(&dir)?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| {
                path.extension().is_some_and(|ext| ext == "parquet")
                    && !path
                        .file_name()
                        .is_some_and(|name| name.to_string_lossy().starts_with('.'))
            })
            .collect();
        files.sort();
        for file in files {
            for row in read_all::<tokens::Row>(&file)? {
                rows.entry(row.row_id.clone()).or_default().push(row);
            }
        }
        Ok(Self { dir, rows })
    }

    /// Fills `stats` with the cached values of `row_id` when they match `ids`; false when the
    /// row must be scored.
    pub fn fill(&self, row_id: &str, ids: &[i64], stats: &mut TokenStatistics) -> bool {
        let Some(cached) = self.rows.get(row_id) else {
            return false;
        };
        let mut cached: Vec<&tokens::Row> = cached.iter().collect();
        cached.sort_by_key(|row| row.position);
        cached.dedup_by_key(|row| row.position);
        let k = stats.k;
        let matches = cached.len() + 1 == ids.len()
            && cached.iter().enumerate().all(|(at, row)| {
                row.position as usize == at + 1
                    && i64::from(row.token_id) == ids[at + 1]
                    && row.topk_ids.len() == k
            });
        if !matches {
            return false;
        }
        for (at, row) in cached.iter().enumerate() {
            stats.logprob[at] = row.logprob;
            stats.rank[at] = row.rank;
            stats.entropy[at] = row.entropy;
            stats.top_ids[at * k..(at + 1) * k].copy_from_slice(&row.topk_ids);
            stats.top_logprobs[at * k..(at + 1) * k].copy_from_slice(&row.topk_logprobs);
        }
        true
    }

    /// Keeps the rows a run scored.
    pub fn store(&self, rows: &[tokens::Row]) -> anyhow::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut name = blake3::Hasher::new();
        for row in rows {
            name.update(row.row_id.as_bytes());
        }
        let path = self
            .dir
            .join(format!("rows-{}.parquet", &name.finalize().to_hex()[..24]));
        write_all(path, "infer", rows)?;
        Ok(())
    }
}
