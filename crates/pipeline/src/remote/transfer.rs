//! Moving objects and run-cache entries between the local cache and a remote: only what is
//! missing (list, then diff), `jobs` at once, with a progress bar; every downloaded object is
//! verified by its blake3 before it is renamed into the local cache.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};

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
                let size =
                    upload_object(remote, object_store, target, store_object, hash, bar).await?;
                crate::fault::point("pushing-objects");
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

/// The read size when copying an object out of a folder remote.
const COPY_BUFFER: usize = 1024 * 1024;

/// Objects larger than this are uploaded in parts, read from disk one part at a time, so a
/// push holds a few parts of each object in memory, never a whole checkpoint.
pub const MULTIPART_THRESHOLD: u64 = 64 * 1024 * 1024;
/// The size of one part (S3 wants at least 5 MiB for every part but the last).
pub const PART_SIZE: u64 = 8 * 1024 * 1024;
/// S3 and GCS accept at most 10,000 parts; larger objects get larger parts.
const MAX_PARTS: u64 = 10_000;
/// Parts of one object in flight at once (besides the one being read).
const PARTS_IN_FLIGHT: usize = 2;
/// For the tests only: a smaller [`MULTIPART_THRESHOLD`] in bytes, so that small files take
/// the multipart path.
pub const THRESHOLD_VAR: &str = "ICODEGEN_TEST_MULTIPART_THRESHOLD";

fn multipart_threshold() -> u64 {
    std::env::var(THRESHOLD_VAR)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(MULTIPART_THRESHOLD)
}

/// The part size for an object of `size` bytes: [`PART_SIZE`], or more (whole MiB) when the
/// object would need more than `MAX_PARTS` (10,000) parts.
pub fn part_size(size: u64) -> u64 {
    const MIB: u64 = 1024 * 1024;
    let needed = size.div_ceil(MAX_PARTS).div_ceil(MIB) * MIB;
    PART_SIZE.max(needed)
}

fn not_pushed(path: &std::path::Path, found: &str, hash: &str) -> PipelineError {
    PipelineError::Cache {
        path: path.to_path_buf(),
        message: format!(
            "the object hashes to {}, not {}: not pushed\nhint: `icodegen gc` after `icodegen repro` replaces it",
            short(found),
            short(hash)
        ),
    }
}

/// Uploads the local object at `path` (which must hash to `hash`) to `target`: whole below the
/// threshold (put-if-absent), in parts above it. Returns its size.
async fn upload_object(
    remote: &Remote,
    object_store: Arc<dyn ObjectStore>,
    target: ObjectPath,
    path: PathBuf,
    hash: &str,
    bar: &indicatif::ProgressBar,
) -> Result<u64> {
    let size = std::fs::metadata(&path)
        .map_err(|error| PipelineError::io("read", &path, error))?
        .len();
    if size > multipart_threshold() {
        if let Some(dest) = remote.folder_object(hash) {
            let wanted = hash.to_owned();
            let size = tokio::task::spawn_blocking(move || copy_into_folder(&path, &dest, &wanted))
                .await
                .map_err(|error| PipelineError::Internal(error.to_string()))??;
            bar.inc(size);
            return Ok(size);
        }
        return upload_in_parts(remote, object_store, target, path, hash, size, bar).await;
    }
    let wanted = hash.to_owned();
    let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>> {
        let bytes =
            std::fs::read(&path).map_err(|error| PipelineError::io("read", &path, error))?;
        let found = blake3::hash(&bytes).to_hex().to_string();
        if found != wanted {
            return Err(not_pushed(&path, &found, &wanted));
        }
        Ok(bytes)
    })
    .await
    .map_err(|error| PipelineError::Internal(error.to_string()))??;
    let size = bytes.len() as u64;
    put_create(object_store, target.clone(), bytes)
        .await
        .map_err(|error| remote.error(&format!("write `{}`", remote.describe(&target)), error))?;
    bar.inc(size);
    Ok(size)
}

/// A large object into a folder remote, staged as `<object>#<n>` (the name `object_store`'s
/// local store stages multipart uploads under, which listings skip): copied by the kernel
/// (`std::fs::copy`: `copy_file_range`, a reflink where the file system clones), then the staged
/// bytes hashed, then linked into place if nothing is there yet (put-if-absent). A mismatch
/// removes the staging file; a push killed before the link leaves only the staging file, which
/// `gc --remote` removes once older than its grace period.
fn copy_into_folder(source: &std::path::Path, dest: &std::path::Path, hash: &str) -> Result<u64> {
    use std::os::unix::fs::PermissionsExt;
    let parent = dest.parent().unwrap_or(dest);
    std::fs::create_dir_all(parent).map_err(|error| PipelineError::io("create", parent, error))?;
    let mut staged = None;
    for n in 1..10_000 {
        let mut name = dest.as_os_str().to_owned();
        name.push(format!("#{n}"));
        let candidate = PathBuf::from(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(file) => {
                staged = Some((candidate, file));
                break;
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(PipelineError::io("create", &candidate, error)),
        }
    }
    let (staged, mut file) = staged.ok_or_else(|| {
        PipelineError::Internal(format!("no free staging name beside {}", dest.display()))
    })?;
    let result = (|| -> Result<u64> {
        // Into the file just created, not `std::fs::copy` to its path, which reopens it with
        // O_TRUNC (ext4 then starts writing back a file truncated to 0 when it is closed).
        let mut reader = std::fs::File::open(source)
            .map_err(|error| PipelineError::io("read", source, error))?;
        let size = std::io::copy(&mut reader, &mut file)
            .map_err(|error| PipelineError::io("write", &staged, error))?;
        drop(file);
        std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o644))
            .map_err(|error| PipelineError::io("write", &staged, error))?;
        let found = hash_file(&staged)?;
        if found != hash {
            return Err(not_pushed(source, &found, hash));
        }
        crate::fault::point("pushing-parts");
        match std::fs::hard_link(&staged, dest) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(PipelineError::io("write", dest, error)),
        }
        Ok(size)
    })();
    let _ = std::fs::remove_file(&staged);
    result
}

/// The blake3 of the file at `path`, read in [`COPY_BUFFER`] reads.
fn hash_file(path: &std::path::Path) -> Result<String> {
    use std::io::Read;
    let mut file =
        std::fs::File::open(path).map_err(|error| PipelineError::io("read", path, error))?;
    let mut hasher = blake3::Hasher::new();
    let mut buffer = vec![0u8; COPY_BUFFER];
    loop {
        let read = file
            .read(&mut buffer)
            .map_err(|error| PipelineError::io("read", path, error))?;
        if read == 0 {
            return Ok(hasher.finalize().to_hex().to_string());
        }
        hasher.update(&buffer[..read]);
    }
}

/// A multipart upload of a large object, hashed as it is read: the upload completes only when
/// every byte was sent and the blake3 matches; otherwise it is aborted. Until it completes the
/// object is not visible (an unfinished multipart upload is not listed), so a push killed here
/// leaves nothing a pull trusts. It overwrites rather than puts-if-absent (multipart uploads have
/// no such mode), which is harmless: the name is the hash of the bytes. Cloud stores only; a
/// folder remote takes [`copy_into_folder`].
async fn upload_in_parts(
    remote: &Remote,
    object_store: Arc<dyn ObjectStore>,
    target: ObjectPath,
    path: PathBuf,
    hash: &str,
    size: u64,
    bar: &indicatif::ProgressBar,
) -> Result<u64> {
    let name = remote.describe(&target);
    let file =
        std::fs::File::open(&path).map_err(|error| PipelineError::io("read", &path, error))?;
    let part = part_size(size);
    let upload = object_store
        .put_multipart(&target)
        .await
        .map_err(|error| remote.error(&format!("start writing `{name}`"), error))?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, part as usize);
    match send_parts(remote, &mut writer, file, &path, hash, part, &name, bar).await {
        Ok(sent) => {
            writer
                .finish()
                .await
                .map_err(|error| remote.error(&format!("write `{name}`"), error))?;
            Ok(sent)
        }
        Err(error) => {
            // Best effort: the upload was never completed, so nothing is visible either way.
            let _ = writer.abort().await;
            Err(error)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn send_parts(
    remote: &Remote,
    writer: &mut WriteMultipart,
    file: std::fs::File,
    path: &std::path::Path,
    hash: &str,
    part: u64,
    name: &str,
    bar: &indicatif::ProgressBar,
) -> Result<u64> {
    let mut state = Some((file, blake3::Hasher::new()));
    let mut sent = 0u64;
    loop {
        let (file, hasher) = state.take().expect("the reader is put back");
        let owned = path.to_path_buf();
        let (file, hasher, chunk) = tokio::task::spawn_blocking(move || -> Result<_> {
            use std::io::Read;
            let mut chunk = Vec::with_capacity(part as usize);
            let mut file = file;
            (&mut file)
                .take(part)
                .read_to_end(&mut chunk)
                .map_err(|error| PipelineError::io("read", &owned, error))?;
            let mut hasher = hasher;
            hasher.update(&chunk);
            Ok((file, hasher, chunk))
        })
        .await
        .map_err(|error| PipelineError::Internal(error.to_string()))??;
        if chunk.is_empty() {
            let found = hasher.finalize().to_hex().to_string();
            if found != hash {
                return Err(not_pushed(path, &found, hash));
            }
            return Ok(sent);
        }
        state = Some((file, hasher));
        writer
            .wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .map_err(|error| remote.error(&format!("write `{name}`"), error))?;
        let length = chunk.len() as u64;
        writer.put(bytes::Bytes::from(chunk));
        bar.inc(length);
        if sent == 0 && std::env::var_os(crate::fault::VAR).is_some() {
            // The first part written, the others not: where `pushing-parts` dies.
            writer
                .wait_for_capacity(0)
                .await
                .map_err(|error| remote.error(&format!("write `{name}`"), error))?;
            crate::fault::point("pushing-parts");
        }
        sent += length;
    }
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
    let mut copied_hash = None;
    let mut size = 0u64;
    match result.payload {
        // A folder remote: copied by the kernel into the temporary file, then the copy hashed
        // (the generic stream reads 8 KiB per task and copies every byte through user space).
        // Into the open temporary file, not `std::fs::copy` to its path: that reopens it with
        // O_TRUNC, and ext4 starts writing back a file truncated to 0 when it is closed.
        object_store::GetResultPayload::File(file, source) => {
            drop(file);
            let bar = bar.clone();
            let copied = tokio::task::spawn_blocking(move || -> Result<_> {
                let mut reader = std::fs::File::open(&source)
                    .map_err(|error| PipelineError::io("read", &source, error))?;
                let size = std::io::copy(&mut reader, temp.as_file_mut())
                    .map_err(|error| PipelineError::io("write", temp.path(), error))?;
                let found = hash_file(temp.path())?;
                bar.inc(size);
                Ok((temp, found, size))
            })
            .await
            .map_err(|error| error.to_string())?
            .map_err(|error| format!("`{name}`: {error}"))?;
            let found;
            (temp, found, size) = copied;
            copied_hash = Some(found);
        }
        object_store::GetResultPayload::Stream(mut stream) => {
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|error| format!("`{name}`: {error}"))?;
                hasher.update(&chunk);
                temp.write_all(&chunk)
                    .map_err(|error| format!("`{name}`: {error}"))?;
                size += chunk.len() as u64;
                bar.inc(chunk.len() as u64);
            }
        }
    }
    let found = copied_hash.unwrap_or_else(|| hasher.finalize().to_hex().to_string());
    if found != hash {
        return Err(format!(
            "`{name}`: corrupted on the remote (its bytes hash to {}, not {})",
            short(&found),
            short(hash)
        ));
    }
    store
        .persist_verified(temp, hash)
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

/// How long `gc --remote` keeps an unreferenced object by default: a concurrent push uploads its
/// objects before their run-cache entry, so a young unreferenced object may be about to be
/// referenced.
pub const DEFAULT_GRACE: std::time::Duration = std::time::Duration::from_secs(3600);

/// What `gc --remote` found.
#[derive(Debug, Default)]
pub struct RemoteGc {
    pub entries: usize,
    pub kept: usize,
    /// Unreferenced objects old enough to remove: (hash, size).
    pub unreferenced: Vec<(String, u64)>,
    /// Unreferenced objects younger than the grace period, kept: (hash, size).
    pub young: Vec<(String, u64)>,
    /// A folder remote's unfinished uploads older than the grace period: (path, size).
    pub stale_uploads: Vec<(PathBuf, u64)>,
}

/// Finds the remote objects no remote run-cache entry references and that were written at least
/// `grace` ago (by the remote's clock, against ours); removes them unless `dry_run`. Younger
/// ones are kept and counted: a push writes its objects before the entry that references them.
/// The entries are listed before the objects, so an entry written meanwhile protects its
/// objects through their age.
pub fn gc(
    remote: &Remote,
    store: &Store,
    dry_run: bool,
    grace: std::time::Duration,
) -> Result<RemoteGc> {
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
    let objects = remote.list_objects_meta()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_secs() as i64)
        .unwrap_or(i64::MAX);
    let mut report = RemoteGc {
        entries: keys.len(),
        stale_uploads: remote.stale_uploads(grace),
        ..RemoteGc::default()
    };
    for (hash, meta) in objects {
        let age = now.saturating_sub(meta.last_modified.timestamp());
        if keep.contains(&hash) {
            report.kept += 1;
        } else if age < grace.as_secs() as i64 {
            report.young.push((hash, meta.size));
        } else {
            report.unreferenced.push((hash, meta.size));
        }
    }
    if !dry_run {
        for (hash, _) in &report.unreferenced {
            remote.delete(&remote.object_path(hash))?;
        }
        for (path, _) in &report.stale_uploads {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(PipelineError::io("remove", path, error)),
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_stay_under_the_part_limit() {
        const MIB: u64 = 1024 * 1024;
        assert_eq!(part_size(0), PART_SIZE);
        // A 15 GB checkpoint: 8 MiB parts, 1,789 of them.
        assert_eq!(part_size(15_000_000_000), PART_SIZE);
        // 200 GB would need 23,842 parts of 8 MiB: larger parts, within the limit.
        let part = part_size(200_000_000_000);
        assert_eq!(part % MIB, 0);
        assert!(200_000_000_000u64.div_ceil(part) <= MAX_PARTS);
        assert!(part > PART_SIZE);
    }
}
