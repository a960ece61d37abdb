//! Content hashes of deps and outs: blake3 of a file's bytes; for a folder, blake3 of its
//! manifest (every file's relative path, hash and size, sorted). Large files are read in big
//! blocks hashed on all cores; a folder's files are hashed in parallel; unchanged files come from
//! the [`HashMemo`](crate::keys::memo::HashMemo).

use std::io::Read;
use std::path::Path;
use std::sync::Mutex;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{IoContext, PipelineError, Result};
use crate::keys::memo::{HashMemo, Stat, now_ns};

/// Files at least this big are hashed with blake3's multithreaded `update_rayon`.
const PARALLEL_FROM: u64 = 4 << 20;
/// Read block size.
const BLOCK: usize = 8 << 20;

/// One file of a folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// `/`-separated, relative to the folder (lossy when the name is not UTF-8: see `raw`).
    pub path: String,
    pub hash: String,
    pub size: u64,
    /// Only for a path that is not UTF-8: its exact bytes, hex-encoded, so two names that read
    /// the same lossily stay two files and are restored byte for byte. Absent otherwise, so the
    /// manifest (and hash) of every UTF-8 folder is what it always was and existing caches stay
    /// valid; older runners ignore the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
}

impl ManifestEntry {
    /// The entry's path relative to its folder, exactly as it was on disk.
    pub fn relative_path(&self) -> std::path::PathBuf {
        use std::os::unix::ffi::OsStrExt;
        match self.raw.as_deref().and_then(from_hex) {
            Some(bytes) => std::path::PathBuf::from(std::ffi::OsStr::from_bytes(&bytes)),
            None => std::path::PathBuf::from(&self.path),
        }
    }
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

/// A file of a folder being listed: its relative path (lossy text and, when not UTF-8, exact
/// bytes as hex), where it is, and its metadata.
pub type Listed = (
    String,
    Option<String>,
    std::path::PathBuf,
    std::fs::Metadata,
);

/// What a path hashed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed {
    pub hash: String,
    /// Bytes (all files, for a folder).
    pub size: u64,
    /// For a folder, its files (sorted by path).
    pub manifest: Option<Vec<ManifestEntry>>,
}

impl Hashed {
    pub fn is_dir(&self) -> bool {
        self.manifest.is_some()
    }
}

/// The bytes of a folder manifest, as stored in the cache and hashed.
pub fn manifest_bytes(manifest: &[ManifestEntry]) -> Vec<u8> {
    serde_json::to_vec(manifest).expect("manifests serialize")
}

/// Temporary files of atomic writers (`.NAME.tmp-XXXX`): never part of a folder's contents.
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

/// A block-reading blake3 of `reader`, multithreaded for big inputs.
pub fn digest_reader(
    mut reader: impl Read,
    size_hint: u64,
    path: &Path,
    mut sink: impl FnMut(&[u8]) -> Result<()>,
) -> Result<String> {
    let mut hasher = blake3::Hasher::new();
    let capacity = if size_hint >= PARALLEL_FROM {
        BLOCK
    } else {
        (size_hint as usize).clamp(8 << 10, BLOCK)
    };
    let mut buffer = vec![0u8; capacity];
    loop {
        // Fill the block (reads may return less) so each update_rayon call gets a large input.
        let mut filled = 0;
        while filled < buffer.len() {
            match reader.read(&mut buffer[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => return Err(PipelineError::io("read", path, error)),
            }
        }
        if filled == 0 {
            break;
        }
        let block = &buffer[..filled];
        if filled >= PARALLEL_FROM as usize {
            hasher.update_rayon(block);
        } else {
            hasher.update(block);
        }
        sink(block)?;
        if filled < buffer.len() {
            break;
        }
    }
    Ok(hasher.finalize().to_hex().to_string())
}

/// The blake3 of the file at `path`, read from disk.
pub fn digest_file(path: &Path, size: u64) -> Result<String> {
    let file = std::fs::File::open(path).at("open", path)?;
    digest_reader(file, size, path, |_| Ok(()))
}

/// The hash of the file at `path` (with `metadata`), from the memo when it can be trusted.
pub fn hash_file(
    memo: &Mutex<HashMemo>,
    path: &Path,
    metadata: &std::fs::Metadata,
) -> Result<String> {
    let stat = Stat::of(metadata);
    if let Some(hash) = memo.lock().expect("memo lock").get(&stat) {
        return Ok(hash);
    }
    let started = now_ns();
    let hash = digest_file(path, stat.size)?;
    // Remember it only if the file did not change while it was read.
    if let Ok(after) = std::fs::metadata(path)
        && Stat::of(&after) == stat
    {
        memo.lock().expect("memo lock").put(&stat, &hash, started);
    }
    Ok(hash)
}

/// The hash of `path` (a file or a folder), `None` if it does not exist.
pub fn hash_path(memo: &Mutex<HashMemo>, path: &Path) -> Result<Option<Hashed>> {
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(PipelineError::io("read", path, error)),
    };
    if metadata.is_dir() {
        return hash_dir(memo, path).map(Some);
    }
    let hash = hash_file(memo, path, &metadata)?;
    Ok(Some(Hashed {
        hash,
        size: metadata.len(),
        manifest: None,
    }))
}

/// The files of the folder `dir` (relative `/` paths, sorted), skipping temporary files.
pub fn list_dir(dir: &Path) -> Result<Vec<Listed>> {
    let mut files = Vec::new();
    // Unsorted walk: the list is sorted once below, by the whole relative path.
    for entry in walkdir::WalkDir::new(dir).follow_links(true) {
        let entry = entry.map_err(|error| {
            let path = error.path().unwrap_or(dir).to_path_buf();
            PipelineError::io("read", path, error.into())
        })?;
        if !entry.file_type().is_file() || is_temporary(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let relative_path = entry.path().strip_prefix(dir).map_err(|_| {
            PipelineError::Internal(format!(
                "`{}` is not inside `{}`",
                entry.path().display(),
                dir.display()
            ))
        })?;
        let relative = relative_path
            .components()
            .map(|part| part.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let raw = relative_path.to_str().is_none().then(|| {
            use std::os::unix::ffi::OsStrExt;
            relative_path
                .as_os_str()
                .as_bytes()
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect::<String>()
        });
        let metadata = entry
            .metadata()
            .map_err(|error| PipelineError::io("read", entry.path(), error.into()))?;
        files.push((relative, raw, entry.into_path(), metadata));
    }
    files.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    Ok(files)
}

fn hash_dir(memo: &Mutex<HashMemo>, dir: &Path) -> Result<Hashed> {
    let files = list_dir(dir)?;
    let manifest = files
        .par_iter()
        .map(|(relative, raw, path, metadata)| {
            Ok(ManifestEntry {
                path: relative.clone(),
                hash: hash_file(memo, path, metadata)?,
                size: metadata.len(),
                raw: raw.clone(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Hashed {
        hash: blake3::hash(&manifest_bytes(&manifest))
            .to_hex()
            .to_string(),
        size: manifest.iter().map(|entry| entry.size).sum(),
        manifest: Some(manifest),
    })
}

/// Hashes several paths in parallel.
pub fn hash_paths(
    memo: &Mutex<HashMemo>,
    paths: &[std::path::PathBuf],
) -> Vec<Result<Option<Hashed>>> {
    paths.par_iter().map(|path| hash_path(memo, path)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_and_folder_hashes_follow_contents_not_names_of_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let memo = Mutex::new(HashMemo::load(&dir.path().join("memo")));
        let data = dir.path().join("data");
        std::fs::create_dir_all(data.join("sub")).unwrap();
        std::fs::write(data.join("a.txt"), "alpha").unwrap();
        std::fs::write(data.join("sub/b.txt"), "beta").unwrap();
        let file = hash_path(&memo, &data.join("a.txt")).unwrap().unwrap();
        assert_eq!(file.hash, blake3::hash(b"alpha").to_hex().to_string());
        let before = hash_path(&memo, &data).unwrap().unwrap();
        let manifest = before.manifest.clone().unwrap();
        assert_eq!(
            manifest.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
            ["a.txt", "sub/b.txt"]
        );
        assert_eq!(before.size, 9);
        std::fs::write(data.join(".x.tmp-123"), "partial").unwrap();
        assert_eq!(hash_path(&memo, &data).unwrap().unwrap(), before);
        std::fs::write(data.join("sub/b.txt"), "BETA").unwrap();
        assert_ne!(hash_path(&memo, &data).unwrap().unwrap().hash, before.hash);
        assert_eq!(hash_path(&memo, &dir.path().join("missing")).unwrap(), None);
    }

    #[test]
    fn big_files_hash_the_same_as_blake3_in_one_call() {
        let bytes: Vec<u8> = (0..(PARALLEL_FROM as usize * 3 + 12345))
            .map(|i| (i % 251) as u8)
            .collect();
        let mut copied = Vec::new();
        let hash = digest_reader(&bytes[..], bytes.len() as u64, Path::new("x"), |block| {
            copied.extend_from_slice(block);
            Ok(())
        })
        .unwrap();
        assert_eq!(hash, blake3::hash(&bytes).to_hex().to_string());
        assert_eq!(copied, bytes);
    }
}
