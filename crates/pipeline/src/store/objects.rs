//! Objects: files by the blake3 of their bytes, folders as manifest objects. An object is written
//! to `tmp/` while being hashed and renamed into `objects/` only when complete (read-only), so the
//! cache never holds a partial object.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::Ordering;

use rayon::prelude::*;

use super::links::{self, LinkType};
use super::{Linked, RestoreError, Store};
use crate::error::{IoContext, PipelineError, Result};
use crate::keys::hash::{self, Hashed, ManifestEntry};
use crate::keys::lock::FileRecord;
use crate::keys::memo::{HashMemo, Stat, now_ns};

impl Store {
    pub(crate) fn temp_file(&self) -> Result<tempfile::NamedTempFile> {
        let tmp = self.tmp_dir();
        tempfile::Builder::new()
            .prefix("object-")
            .tempfile_in(&tmp)
            .at("create", &tmp)
    }

    /// Moves a complete temporary file into the store as `hash` (unless already there).
    pub(crate) fn persist(&self, temp: tempfile::NamedTempFile, hash: &str) -> Result<()> {
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

    /// [`Store::persist`] for a temporary file whose blake3 the caller has just computed from
    /// its bytes and found to be `hash` (a download): the object this puts in place is
    /// remembered, and a restore in this process that finds that very file (same inode, size,
    /// mtime, ctime) copies it without hashing it again. An object already in place, which this
    /// process did not verify, is hashed on restore as always.
    pub(crate) fn persist_verified(&self, temp: tempfile::NamedTempFile, hash: &str) -> Result<()> {
        let target = self.object_path(hash);
        if target.is_file() {
            return Ok(());
        }
        let written = temp.as_file().metadata().at("open", temp.path())?;
        self.persist(temp, hash)?;
        let metadata = std::fs::symlink_metadata(&target).at("open", &target)?;
        // Only the file this process wrote (not one another process renamed there since).
        if metadata.is_file() && (metadata.dev(), metadata.ino()) == (written.dev(), written.ino())
        {
            self.verified
                .lock()
                .expect("verified lock")
                .insert(hash.to_owned(), super::Identity::of(&metadata));
        }
        Ok(())
    }

    /// Whether object `hash`, whose metadata is `metadata`, is the very file this process
    /// verified and put in place ([`Store::persist_verified`]), unchanged since.
    pub(crate) fn verified_here(&self, hash: &str, metadata: &std::fs::Metadata) -> bool {
        self.verified
            .lock()
            .expect("verified lock")
            .get(hash)
            .is_some_and(|identity| *identity == super::Identity::of(metadata))
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

    /// Stores the file at `path` with the first configured link type that works (see
    /// [`super::links`]); returns its hash. A file whose trusted memo hash is already stored is
    /// not read at all.
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
        let mut refused = Vec::new();
        for link in self.tries() {
            let attempt = match link {
                LinkType::Copy => Linked::Done(self.add_copy(memo, path, &stat)?),
                LinkType::Reflink => self.add_reflink(memo, path, &stat)?,
                LinkType::Hardlink => self.add_hardlink(memo, path, metadata)?,
            };
            match attempt {
                Linked::Done(hash) => return Ok(hash),
                Linked::Refused(error) => refused.push((link, error)),
            }
        }
        Err(self.refused("store", path, refused))
    }

    /// Remembers `hash` for `path` once sure the file did not change while it was read.
    fn check_unchanged(
        &self,
        memo: &Mutex<HashMemo>,
        path: &Path,
        stat: &Stat,
        hash: &str,
        started: i64,
    ) -> Result<()> {
        if std::fs::metadata(path)
            .map(|after| Stat::of(&after) == *stat)
            .unwrap_or(false)
        {
            memo.lock().expect("memo lock").put(stat, hash, started);
            Ok(())
        } else {
            Err(PipelineError::Cache {
                path: path.to_path_buf(),
                message:
                    "the file changed while it was being stored; is a process still writing it?"
                        .to_owned(),
            })
        }
    }

    /// `copy`: copies the file into the store, hashing it in the same pass.
    fn add_copy(&self, memo: &Mutex<HashMemo>, path: &Path, stat: &Stat) -> Result<String> {
        let started = now_ns();
        let source = std::fs::File::open(path).at("open", path)?;
        let mut temp = self.temp_file()?;
        let temp_path = temp.path().to_path_buf();
        let hash = hash::digest_reader(source, stat.size, path, |block| {
            temp.write_all(block).at("write", &temp_path)
        })?;
        self.check_unchanged(memo, path, stat, &hash, started)?;
        crate::fault::point("storing-outs");
        self.persist(temp, &hash)?;
        Ok(hash)
    }

    /// `reflink`: clones the file into the store and hashes the clone (what is stored).
    fn add_reflink(
        &self,
        memo: &Mutex<HashMemo>,
        path: &Path,
        stat: &Stat,
    ) -> Result<Linked<String>> {
        let started = now_ns();
        let source = std::fs::File::open(path).at("open", path)?;
        let temp = self.temp_file()?;
        if let Err(error) = links::reflink(&source, temp.as_file()) {
            if links::unsupported(&error) {
                self.reflink_refused.store(true, Ordering::Relaxed);
                return Ok(Linked::Refused(error));
            }
            return Err(PipelineError::io("clone", path, error));
        }
        let hash = hash::digest_file(temp.path(), stat.size)?;
        self.check_unchanged(memo, path, stat, &hash, started)?;
        crate::fault::point("storing-outs");
        self.persist(temp, &hash)?;
        Ok(Linked::Done(hash))
    }

    /// `hardlink`: the out becomes the object (one inode, read-only). When the object is
    /// already stored (and verified), the out is replaced by a link to it.
    fn add_hardlink(
        &self,
        memo: &Mutex<HashMemo>,
        path: &Path,
        metadata: &std::fs::Metadata,
    ) -> Result<Linked<String>> {
        let stat = Stat::of(metadata);
        let started = now_ns();
        let hash = hash::digest_file(path, stat.size)?;
        self.check_unchanged(memo, path, &stat, &hash, started)?;
        crate::fault::point("storing-outs");
        let object = self.object_path(&hash);
        if let Ok(existing) = std::fs::metadata(&object) {
            if hash::digest_file(&object, existing.len())? == hash {
                if existing.ino() == metadata.ino() && existing.dev() == metadata.dev() {
                    return Ok(Linked::Done(hash));
                }
                return match links::link_beside(&object, path) {
                    Ok(temp) => {
                        temp.persist(path)
                            .map_err(|error| PipelineError::io("rename", path, error.error))?;
                        Ok(Linked::Done(hash))
                    }
                    Err(error) if links::unsupported(&error) => Ok(Linked::Refused(error)),
                    Err(error) => Err(PipelineError::io("link", path, error)),
                };
            }
            // A corrupted object: this out takes its place.
            std::fs::remove_file(&object).at("remove", &object)?;
        }
        if let Some(parent) = object.parent() {
            std::fs::create_dir_all(parent).at("create", parent)?;
        }
        let mode = metadata.permissions();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444)).at("write", path)?;
        match std::fs::hard_link(path, &object) {
            Ok(()) => Ok(Linked::Done(hash)),
            Err(error) => {
                let _ = std::fs::set_permissions(path, mode);
                if error.kind() == std::io::ErrorKind::AlreadyExists {
                    // Stored meanwhile by another runner: the out stays a file of its own.
                    Ok(Linked::Done(hash))
                } else if links::unsupported(&error) {
                    Ok(Linked::Refused(error))
                } else {
                    Err(PipelineError::io("link", &object, error))
                }
            }
        }
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
}
