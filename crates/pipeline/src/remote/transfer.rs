//! Moving objects and run-cache entries between the local cache and a remote: only what is
//! missing (list, then diff), `jobs` at once, with a progress bar; every downloaded object is
//! verified by its blake3 before it is renamed into the local cache.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::Arc;

use futures::StreamExt;
use object_store::{ObjectStore, ObjectStoreExt};

use super::{Put, Remote, put_create};
use crate::error::{PipelineError, Result};
use crate::keys::hash::ManifestEntry;
use crate::keys::lock::{FileRecord, StageRecord};
use crate::store::{RunEntry, Store, short};

/// What a transfer moved.
#[derive(Debug, Default, Clone)]
pub struct Moved {
    pub objects: usize,
    pub bytes: u64,
    /// Objects already on the other side.
    pub present: usize,
}

/// What `push` did.
#[derive(Debug, Default, Clone)]
pub struct PushReport {
    pub moved: Moved,
    pub runs_written: usize,
    pub runs_present: usize,
    /// Run-cache entries the remote holds with other outputs: (stage, key).
    pub conflicts: Vec<(String, String)>,
}

fn bar(total: u64, count: usize, verb: &str, show: bool) -> indicatif::ProgressBar {
    if !show || count == 0 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(format!("{verb} 0/{count} objects"));
    bar
}

/// The objects `records` need, as hash -> size: each file, each folder's manifest and every
/// file it lists (manifests read from the local cache, verified).
pub fn local_objects(store: &Store, records: &[&FileRecord]) -> Result<BTreeMap<String, u64>> {
    let mut wanted = BTreeMap::new();
    let mut missing = Vec::new();
    for record in records {
        if record.files.is_some() {
            match store.manifest(&record.hash) {
                Ok(manifest) => {
                    let bytes = crate::keys::hash::manifest_bytes(&manifest);
                    wanted.insert(record.hash.clone(), bytes.len() as u64);
                    for entry in manifest {
                        if !store.has(&entry.hash) {
                            missing.push(format!("`{}/{}`", record.path, entry.path));
                        }
                        wanted.insert(entry.hash, entry.size);
                    }
                }
                Err(_) => missing.push(format!("`{}`", record.path)),
            }
        } else {
            if !store.has(&record.hash) {
                missing.push(format!("`{}`", record.path));
            }
            wanted.insert(record.hash.clone(), record.size);
        }
    }
    if !missing.is_empty() {
        return Err(PipelineError::Cache {
            path: store.dir.clone(),
            message: format!(
                "not in the local cache, so not pushed: {}\nhint: `icodegen repro` (or `icodegen pull` from where they are) first",
                missing.join(", ")
            ),
        });
    }
    Ok(wanted)
}

/// Uploads the objects of `stages`' outs that the remote lacks, then their run-cache entries.
pub fn push(
    remote: &Remote,
    store: &Store,
    stages: &[(String, StageRecord)],
    jobs: usize,
    progress: bool,
) -> Result<PushReport> {
    let records: Vec<&FileRecord> = stages
        .iter()
        .flat_map(|(_, record)| record.all_outs())
        .collect();
    let wanted = local_objects(store, &records)?;
    let present = remote.list_objects()?;
    remote.ensure_folder()?;
    let missing: Vec<(String, u64)> = wanted
        .iter()
        .filter(|(hash, _)| !present.contains_key(*hash))
        .map(|(hash, size)| (hash.clone(), *size))
        .collect();
    let mut report = PushReport::default();
    report.moved.present = wanted.len() - missing.len();
    let total: u64 = missing.iter().map(|(_, size)| size).sum();
    let bar = bar(total, missing.len(), "push", progress);
    let object_store = remote.store();
    let pushed = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::result::Result<u64, PipelineError>> = remote.block_on(async {
        futures::stream::iter(missing.iter().map(|(hash, _)| {
            let store_object = store.object_path(hash);
            let target = remote.object_path(hash);
            let object_store = object_store.clone();
            let bar = &bar;
            let pushed = &pushed;
            let count = missing.len();
            async move {
                let hash = hash.clone();
                let path = store_object.clone();
                let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>> {
                    let bytes = std::fs::read(&path).map_err(|error| PipelineError::io("read", &path, error))?;
                    let found = blake3::hash(&bytes).to_hex().to_string();
                    if found != hash {
                        return Err(PipelineError::Cache {
                            path: path.clone(),
                            message: format!("the object hashes to {}, not {}: not pushed\nhint: `icodegen gc` after `icodegen repro` replaces it", short(&found), short(&hash)),
                        });
                    }
                    Ok(bytes)
                })
                .await
                .map_err(|error| PipelineError::Internal(error.to_string()))??;
                let size = bytes.len() as u64;
                put_create(object_store, target.clone(), bytes)
                    .await
                    .map_err(|error| remote.error(&format!("write `{}`", remote.describe(&target)), error))?;
                crate::fault::point("pushing-objects");
                bar.inc(size);
                let done = pushed.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                bar.set_message(format!("push {done}/{count} objects"));
                Ok(size)
            }
        }))
        .buffer_unordered(jobs.max(1))
        .collect()
        .await
    });
    bar.finish_and_clear();
    for result in results {
        let size = result?;
        report.moved.objects += 1;
        report.moved.bytes += size;
    }
    // Then the run-cache entries, which reference what is now there.
    for (stage, record) in stages {
        if record.outs.is_empty() && record.metrics.is_empty() {
            continue;
        }
        let record = store
            .run_get(&record.key)
            .filter(|entry| entry.key == record.key)
            .unwrap_or_else(|| record.clone());
        let entry = RunEntry {
            stage: stage.clone(),
            created: crate::store::now_secs(),
            record: record.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&entry)
            .map_err(|error| PipelineError::Internal(error.to_string()))?;
        let path = remote.run_path(&record.key);
        match remote.put_new(&path, bytes)? {
            Put::Written => report.runs_written += 1,
            Put::AlreadyThere => {
                let theirs = remote
                    .get_small(&path)?
                    .and_then(|bytes| parse_entry(&bytes));
                match theirs {
                    Some((_, theirs)) if same_outs(&theirs, &record) => report.runs_present += 1,
                    _ => report.conflicts.push((stage.clone(), record.key.clone())),
                }
            }
        }
    }
    Ok(report)
}

fn outs_of(record: &StageRecord) -> BTreeSet<(String, String)> {
    record
        .all_outs()
        .map(|out| (out.path.clone(), out.hash.clone()))
        .collect()
}

/// Whether two records of one key name the same outputs.
pub fn same_outs(a: &StageRecord, b: &StageRecord) -> bool {
    outs_of(a) == outs_of(b)
}

/// A run-cache entry in either shape: (stage, record).
pub fn parse_entry(bytes: &[u8]) -> Option<(Option<String>, StageRecord)> {
    if let Ok(entry) = serde_json::from_slice::<RunEntry>(bytes) {
        return Some((Some(entry.stage), entry.record));
    }
    serde_json::from_slice::<StageRecord>(bytes)
        .ok()
        .map(|record| (None, record))
}

/// Downloads `hashes` the local cache lacks, verifying each; a corrupt or missing object is
/// named in the error and does not enter the cache (the others still do).
pub fn download(
    remote: &Remote,
    store: &Store,
    hashes: &BTreeMap<String, u64>,
    present: &BTreeMap<String, u64>,
    jobs: usize,
    progress: bool,
) -> Result<Moved> {
    let wanted: Vec<(&String, &u64)> = hashes.iter().filter(|(hash, _)| !store.has(hash)).collect();
    let mut problems: Vec<String> = wanted
        .iter()
        .filter(|(hash, _)| !present.contains_key(*hash))
        .map(|(hash, _)| {
            format!(
                "`{}`: not on the remote",
                remote.describe(&remote.object_path(hash))
            )
        })
        .collect();
    let missing: Vec<(&String, &u64)> = wanted
        .into_iter()
        .filter(|(hash, _)| present.contains_key(*hash))
        .collect();
    let mut moved = Moved {
        present: hashes.len() - missing.len(),
        ..Moved::default()
    };
    let total: u64 = missing.iter().map(|(_, size)| **size).sum();
    let bar = bar(total, missing.len(), "pull", progress);
    let object_store: Arc<dyn ObjectStore> = remote.store();
    let results: Vec<std::result::Result<u64, String>> = remote.block_on(async {
        futures::stream::iter(missing.iter().map(|(hash, _)| {
            let object_store = object_store.clone();
            let bar = &bar;
            async move { fetch_one(remote, store, object_store, hash, bar).await }
        }))
        .buffer_unordered(jobs.max(1))
        .collect()
        .await
    });
    bar.finish_and_clear();
    for result in results {
        match result {
            Ok(size) => {
                moved.objects += 1;
                moved.bytes += size;
            }
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        Ok(moved)
    } else {
        problems.sort();
        Err(PipelineError::Remote {
            remote: remote.name.clone(),
            message: format!(
                "{} object(s) refused:\n  {}\nnothing of them entered the local cache",
                problems.len(),
                problems.join("\n  ")
            ),
            credentials: false,
        })
    }
}

async fn fetch_one(
    remote: &Remote,
    store: &Store,
    object_store: Arc<dyn ObjectStore>,
    hash: &str,
    bar: &indicatif::ProgressBar,
) -> std::result::Result<u64, String> {
    let path = remote.object_path(hash);
    let name = remote.describe(&path);
    let result = match object_store.get(&path).await {
        Ok(result) => result,
        Err(object_store::Error::NotFound { .. }) => {
            return Err(format!("`{name}`: not on the remote"));
        }
        Err(error) => return Err(format!("`{name}`: {}", remote.error("read it", error))),
    };
    let mut temp = store.temp_file().map_err(|error| error.to_string())?;
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    let mut stream = result.into_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| format!("`{name}`: {error}"))?;
        hasher.update(&chunk);
        temp.write_all(&chunk)
            .map_err(|error| format!("`{name}`: {error}"))?;
        size += chunk.len() as u64;
        bar.inc(chunk.len() as u64);
    }
    let found = hasher.finalize().to_hex().to_string();
    if found != hash {
        return Err(format!(
            "`{name}`: corrupted on the remote (its bytes hash to {}, not {})",
            short(&found),
            short(hash)
        ));
    }
    store
        .persist(temp, hash)
        .map_err(|error| error.to_string())?;
    Ok(size)
}

/// Downloads what `records` need: folder manifests first, then every file.
pub fn fetch_records(
    remote: &Remote,
    store: &Store,
    records: &[&FileRecord],
    jobs: usize,
    progress: bool,
) -> Result<Moved> {
    let manifests: BTreeMap<String, u64> = records
        .iter()
        .filter(|record| record.files.is_some())
        .map(|record| (record.hash.clone(), 0))
        .collect();
    let wanted_here = records.iter().any(|record| !store.has(&record.hash));
    let present = if wanted_here || records.is_empty() {
        remote.list_objects()?
    } else {
        // Every manifest is here: list only if a file is missing (checked below).
        BTreeMap::new()
    };
    let mut moved = download(remote, store, &manifests, &present, jobs, false)?;
    let mut files = BTreeMap::new();
    for record in records {
        if record.files.is_some() {
            let manifest: Vec<ManifestEntry> =
                store
                    .manifest(&record.hash)
                    .map_err(|problem| PipelineError::Cache {
                        path: store.object_path(&record.hash),
                        message: format!("manifest of `{}`: {}", record.path, problem.describe()),
                    })?;
            for entry in manifest {
                files.insert(entry.hash, entry.size);
            }
        } else {
            files.insert(record.hash.clone(), record.size);
        }
    }
    let present = if present.is_empty() && files.keys().any(|hash| !store.has(hash)) {
        remote.list_objects()?
    } else {
        present
    };
    let more = download(remote, store, &files, &present, jobs, progress)?;
    moved.objects += more.objects;
    moved.bytes += more.bytes;
    moved.present += more.present;
    Ok(moved)
}

/// The remote run-cache entry of `key`, with every object it references downloaded into the
/// local cache and the entry written into the local run-cache; `None` if the remote has none.
pub fn fetch_run(
    remote: &Remote,
    store: &Store,
    key: &str,
    jobs: usize,
) -> Result<Option<StageRecord>> {
    let Some(bytes) = remote.get_small(&remote.run_path(key))? else {
        return Ok(None);
    };
    let Some((stage, record)) = parse_entry(&bytes) else {
        return Err(PipelineError::Remote {
            remote: remote.name.clone(),
            message: format!(
                "`{}` is not a run-cache entry",
                remote.describe(&remote.run_path(key))
            ),
            credentials: false,
        });
    };
    if record.key != key {
        return Ok(None);
    }
    let records: Vec<&FileRecord> = record.all_outs().collect();
    fetch_records(remote, store, &records, jobs, false)?;
    if store.run_get(key).is_none() {
        store.run_put(key, stage.as_deref().unwrap_or("?"), &record)?;
    }
    Ok(Some(record))
}

/// The outs of `records` whose objects the remote lacks (folder manifests read locally, or from
/// the remote, verified).
pub fn not_on_remote<'a>(
    remote: &Remote,
    store: &Store,
    records: &[&'a FileRecord],
) -> Result<Vec<&'a FileRecord>> {
    let present = remote.list_objects()?;
    let mut absent = Vec::new();
    for record in records {
        if !present.contains_key(&record.hash) {
            absent.push(*record);
            continue;
        }
        if record.files.is_some() {
            let manifest = read_manifest(remote, store, &record.hash)?;
            if manifest
                .iter()
                .any(|entry| !present.contains_key(&entry.hash))
            {
                absent.push(*record);
            }
        }
    }
    Ok(absent)
}

/// A folder manifest from the local cache, else from the remote (verified, not stored).
pub fn read_manifest(remote: &Remote, store: &Store, hash: &str) -> Result<Vec<ManifestEntry>> {
    if let Ok(manifest) = store.manifest(hash) {
        return Ok(manifest);
    }
    let path = remote.object_path(hash);
    let Some(bytes) = remote.get_small(&path)? else {
        return Ok(Vec::new());
    };
    if blake3::hash(&bytes).to_hex().as_str() != hash {
        return Err(PipelineError::Remote {
            remote: remote.name.clone(),
            message: format!("`{}`: corrupted on the remote", remote.describe(&path)),
            credentials: false,
        });
    }
    serde_json::from_slice(&bytes).map_err(|error| PipelineError::Remote {
        remote: remote.name.clone(),
        message: format!("`{}`: not a manifest: {error}", remote.describe(&path)),
        credentials: false,
    })
}

/// What `gc --remote` found.
#[derive(Debug, Default)]
pub struct RemoteGc {
    pub entries: usize,
    pub kept: usize,
    /// Unreferenced objects: (hash, size).
    pub unreferenced: Vec<(String, u64)>,
}

/// Finds the remote objects no remote run-cache entry references; removes them unless `dry_run`.
pub fn gc(remote: &Remote, store: &Store, dry_run: bool) -> Result<RemoteGc> {
    let keys = remote.list_runs()?;
    let mut keep = BTreeSet::new();
    for key in &keys {
        let path = remote.run_path(key);
        let Some(bytes) = remote.get_small(&path)? else {
            continue;
        };
        let Some((_, record)) = parse_entry(&bytes) else {
            return Err(PipelineError::Remote {
                remote: remote.name.clone(),
                message: format!(
                    "`{}` is not a run-cache entry: nothing removed (an entry that cannot be read might reference anything)",
                    remote.describe(&path)
                ),
                credentials: false,
            });
        };
        for out in record.all_outs() {
            keep.insert(out.hash.clone());
            if out.files.is_some() {
                keep.extend(
                    read_manifest(remote, store, &out.hash)?
                        .into_iter()
                        .map(|entry| entry.hash),
                );
            }
        }
    }
    let objects = remote.list_objects()?;
    let mut report = RemoteGc {
        entries: keys.len(),
        ..RemoteGc::default()
    };
    for (hash, size) in objects {
        if keep.contains(&hash) {
            report.kept += 1;
        } else {
            report.unreferenced.push((hash, size));
        }
    }
    if !dry_run {
        for (hash, _) in &report.unreferenced {
            remote.delete(&remote.object_path(hash))?;
        }
    }
    Ok(report)
}
