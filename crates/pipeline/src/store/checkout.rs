//! Restoring outs from objects: each is staged (copied beside its place by the kernel and the
//! copy verified by hash) before it is moved in, so a missing or corrupted object replaces
//! nothing; a corrupted object is deleted and reported, never restored.
//!
//! The one object not hashed again is one this process has just downloaded, hashed and put in
//! place itself ([`Store::persist_verified`], used by `fetch`, `pull` and `repro --pull`), and
//! only while the object is still that very file (same inode, size, mtime and ctime): `pull`
//! then reads each byte once, not twice. What that trusts is that nothing writes into a
//! read-only object of a cache this runner holds locked within the same clock tick (a few ms)
//! as the download renamed it into place; a later write changes mtime and ctime.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use std::sync::atomic::Ordering;

use super::links::{self, LinkType};
use super::{Linked, Store, short};
use crate::error::{IoContext, PipelineError, Result};
use crate::keys::hash;
use crate::keys::lock::FileRecord;

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

/// An out copied beside its place, not yet moved in.
#[derive(Debug)]
pub enum Staged {
    File {
        temp: tempfile::TempPath,
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

impl Store {
    /// Restores object `hash` at `dest` (replacing it), verified by hash.
    fn restore_file(&self, hash: &str, dest: &Path) -> Result<(), RestoreError> {
        let temp = self.stage_file(hash, dest)?;
        Staged::File {
            temp,
            dest: dest.to_path_buf(),
        }
        .commit()?;
        Ok(())
    }

    /// Makes a temporary sibling of `dest` hold object `hash`, with the first configured link
    /// type that works; the object is verified by hash whatever the type, so a corrupted one is
    /// deleted and reported, never restored.
    fn stage_file(&self, hash: &str, dest: &Path) -> Result<tempfile::TempPath, RestoreError> {
        let object = self.object_path(hash);
        let (size, trusted) = match std::fs::metadata(&object) {
            Ok(metadata) => (metadata.len(), self.verified_here(hash, &metadata)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(RestoreError::Missing {
                    hash: hash.to_owned(),
                });
            }
            Err(error) => return Err(PipelineError::io("open", &object, error).into()),
        };
        let parent = dest.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).at("create", parent)?;
        let mut refused = Vec::new();
        for link in self.tries() {
            let attempt = match link {
                LinkType::Copy => {
                    Linked::Done(self.stage_copy(hash, &object, size, trusted, dest)?)
                }
                LinkType::Reflink => self.stage_reflink(hash, &object, size, trusted, dest)?,
                LinkType::Hardlink => self.stage_hardlink(hash, &object, size, trusted, dest)?,
            };
            match attempt {
                Linked::Done(temp) => return Ok(temp),
                Linked::Refused(error) => refused.push((link, error)),
            }
        }
        Err(RestoreError::Other(self.refused("restore", dest, refused)))
    }

    /// Deletes object `hash`, which hashed to `found`.
    fn corrupt(&self, hash: &str, object: &Path, found: String) -> RestoreError {
        let _ = std::fs::remove_file(object);
        RestoreError::Corrupt {
            hash: hash.to_owned(),
            found,
        }
    }

    /// A new empty temporary sibling of `dest`.
    fn sibling(dest: &Path) -> Result<tempfile::NamedTempFile> {
        let parent = dest.parent().unwrap_or(Path::new("."));
        let name = dest
            .file_name()
            .map_or("out".into(), |name| name.to_string_lossy().into_owned());
        tempfile::Builder::new()
            .prefix(&format!(".{name}.tmp-"))
            .tempfile_in(parent)
            .at("create", dest)
    }

    /// `copy`: the kernel copies the object (`copy_file_range`, no bytes through user space),
    /// then the copy is hashed (unless `trusted`: verified by this process, unchanged since).
    fn stage_copy(
        &self,
        hash: &str,
        object: &Path,
        size: u64,
        trusted: bool,
        dest: &Path,
    ) -> Result<tempfile::TempPath, RestoreError> {
        let mut source = std::fs::File::open(object).at("open", object)?;
        let mut temp = Self::sibling(dest)?;
        std::io::copy(&mut source, temp.as_file_mut()).at("write", temp.path())?;
        if !trusted {
            let found = hash::digest_file(temp.path(), size)?;
            if found != hash {
                return Err(self.corrupt(hash, object, found));
            }
        }
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .at("write", dest)?;
        Ok(temp.into_temp_path())
    }

    /// `reflink`: clones the object and verifies the clone.
    fn stage_reflink(
        &self,
        hash: &str,
        object: &Path,
        size: u64,
        trusted: bool,
        dest: &Path,
    ) -> Result<Linked<tempfile::TempPath>, RestoreError> {
        let source = std::fs::File::open(object).at("open", object)?;
        let temp = Self::sibling(dest)?;
        if let Err(error) = links::reflink(&source, temp.as_file()) {
            if links::unsupported(&error) {
                self.reflink_refused.store(true, Ordering::Relaxed);
                return Ok(Linked::Refused(error));
            }
            return Err(PipelineError::io("clone", object, error).into());
        }
        if !trusted {
            let found = hash::digest_file(temp.path(), size)?;
            if found != hash {
                return Err(self.corrupt(hash, object, found));
            }
        }
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .at("write", dest)?;
        Ok(Linked::Done(temp.into_temp_path()))
    }

    /// `hardlink`: verifies the object, makes sure it is read-only, and links it.
    fn stage_hardlink(
        &self,
        hash: &str,
        object: &Path,
        size: u64,
        trusted: bool,
        dest: &Path,
    ) -> Result<Linked<tempfile::TempPath>, RestoreError> {
        if !trusted {
            let found = hash::digest_file(object, size)?;
            if found != hash {
                return Err(self.corrupt(hash, object, found));
            }
        }
        std::fs::set_permissions(object, std::fs::Permissions::from_mode(0o444))
            .at("write", object)?;
        match links::link_beside(object, dest) {
            Ok(temp) => Ok(Linked::Done(temp)),
            Err(error) if links::unsupported(&error) => Ok(Linked::Refused(error)),
            Err(error) => Err(PipelineError::io("link", dest, error).into()),
        }
    }

    /// Restores the out `record` at `dest` (a file or a whole folder, replacing what is there).
    pub fn restore(&self, record: &FileRecord, dest: &Path) -> Result<(), RestoreError> {
        self.stage(record, dest)?.commit()?;
        Ok(())
    }

    /// Restores several outs as a set: every one is staged (copied and verified beside its
    /// place, in parallel) before any is moved in, so a missing or corrupt object replaces none
    /// of them.
    pub fn restore_all(&self, outs: &[(&FileRecord, PathBuf)]) -> Result<(), RestoreError> {
        let staged: Vec<Staged> = outs
            .par_iter()
            .map(|(record, dest)| self.stage(record, dest))
            .collect::<Result<_, _>>()?;
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
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Mutex;

    use super::*;
    use crate::keys::hash::Hashed;
    use crate::keys::memo::HashMemo;

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
    fn a_downloaded_object_is_trusted_only_while_it_is_the_file_this_process_verified() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("cache")).unwrap();
        let hash = blake3::hash(b"good").to_hex().to_string();
        let mut temp = store.temp_file().unwrap();
        temp.write_all(b"good").unwrap();
        store.persist_verified(temp, &hash).unwrap();
        let record = FileRecord {
            path: "f".to_owned(),
            hash: hash.clone(),
            size: 4,
            files: None,
        };
        let file = dir.path().join("f");
        store.restore(&record, &file).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "good");
        // Changed since it was verified (same size): hashed again, found corrupt, deleted.
        let object = store.object_path(&hash);
        std::fs::set_permissions(&object, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(&object, "evil").unwrap();
        // As a later write would (timestamps are coarse: a write within the same clock tick as
        // the download keeps them, see the module comment).
        std::fs::File::options()
            .write(true)
            .open(&object)
            .unwrap()
            .set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1))
            .unwrap();
        let error = store.restore(&record, &file).unwrap_err();
        assert!(matches!(error, RestoreError::Corrupt { .. }), "{error:?}");
        assert!(!object.exists());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "good");
        // Another file renamed over it is not the one verified either.
        let mut temp = store.temp_file().unwrap();
        temp.write_all(b"evil").unwrap();
        temp.persist(&object).unwrap();
        let error = store.restore(&record, &file).unwrap_err();
        assert!(matches!(error, RestoreError::Corrupt { .. }), "{error:?}");
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
}
