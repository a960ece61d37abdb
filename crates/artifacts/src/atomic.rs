//! Atomic output: a stage writes each output to a temporary sibling and renames it into place
//! only when it is complete, so a killed stage never leaves a half-written artifact behind.
//! Temporary names start with `.` and contain `.tmp-`, so tools that list outputs can skip them.

use std::fs::Permissions;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{ArtifactError, Result};

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_owned());
    format!(".{name}.tmp-")
}

/// A file that appears at its target path only after [`AtomicFile::commit`].
/// Dropping it without committing removes the temporary file.
pub struct AtomicFile {
    target: PathBuf,
    temp: tempfile::NamedTempFile,
}

impl AtomicFile {
    /// Creates the temporary file next to `target`, creating parent directories.
    pub fn create(target: impl AsRef<Path>) -> Result<Self> {
        let target = target.as_ref().to_path_buf();
        let parent = parent_of(&target);
        fs_err::create_dir_all(&parent).map_err(|e| ArtifactError::io("create", &parent, e))?;
        // tempfile creates 0600 files; outputs get the usual mode (0666 less the umask), so
        // that other users (a Slurm job's account, a colleague) can read them.
        let temp = tempfile::Builder::new()
            .prefix(&temp_prefix(&target))
            .permissions(Permissions::from_mode(0o666))
            .tempfile_in(&parent)
            .map_err(|e| ArtifactError::io("create", &target, e))?;
        Ok(Self { target, temp })
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The open temporary file.
    pub fn file(&mut self) -> &mut std::fs::File {
        self.temp.as_file_mut()
    }

    /// A second handle to the temporary file (for writers that take ownership).
    pub fn try_clone_file(&self) -> Result<std::fs::File> {
        self.temp
            .as_file()
            .try_clone()
            .map_err(|e| ArtifactError::io("create", &self.target, e))
    }

    /// Flushes to disk and renames into place.
    pub fn commit(self) -> Result<()> {
        self.temp
            .as_file()
            .sync_all()
            .map_err(|e| ArtifactError::io("sync", &self.target, e))?;
        let target = self.target;
        self.temp
            .persist(&target)
            .map_err(|e| ArtifactError::io("rename", &target, e.error))?;
        Ok(())
    }
}

/// Writes `bytes` to `target` atomically.
pub fn write_bytes(target: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(target)?;
    let target = file.target().to_path_buf();
    file.file()
        .write_all(bytes)
        .map_err(|e| ArtifactError::io("write", &target, e))?;
    file.commit()
}

/// Writes `value` as pretty JSON (with a trailing newline) to `target` atomically.
pub fn write_json(target: impl AsRef<Path>, value: &impl serde::Serialize) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).expect("JSON values serialize");
    text.push('\n');
    write_bytes(target, text.as_bytes())
}

/// A directory that appears at its target path only after [`AtomicDir::commit`].
/// Dropping it without committing removes the temporary directory.
pub struct AtomicDir {
    target: PathBuf,
    temp: Option<tempfile::TempDir>,
}

impl AtomicDir {
    pub fn create(target: impl AsRef<Path>) -> Result<Self> {
        let target = target.as_ref().to_path_buf();
        let parent = parent_of(&target);
        fs_err::create_dir_all(&parent).map_err(|e| ArtifactError::io("create", &parent, e))?;
        let temp = tempfile::Builder::new()
            .prefix(&temp_prefix(&target))
            .permissions(Permissions::from_mode(0o777))
            .tempdir_in(&parent)
            .map_err(|e| ArtifactError::io("create", &target, e))?;
        Ok(Self {
            target,
            temp: Some(temp),
        })
    }

    /// Where to write the directory's files until it is committed.
    pub fn path(&self) -> &Path {
        self.temp.as_ref().expect("not committed").path()
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Replaces `target` (if any) with the finished directory.
    pub fn commit(mut self) -> Result<()> {
        let temp = self.temp.take().expect("not committed");
        let temp_path = temp.keep();
        if self.target.exists() {
            let old = tempfile::Builder::new()
                .prefix(&temp_prefix(&self.target))
                .tempdir_in(parent_of(&self.target))
                .map_err(|e| ArtifactError::io("create", &self.target, e))?;
            let old_path = old.path().join("old");
            fs_err::rename(&self.target, &old_path)
                .map_err(|e| ArtifactError::io("rename", &self.target, e))?;
            fs_err::rename(&temp_path, &self.target)
                .map_err(|e| ArtifactError::io("rename", &self.target, e))?;
            drop(old);
        } else {
            fs_err::rename(&temp_path, &self.target)
                .map_err(|e| ArtifactError::io("rename", &self.target, e))?;
        }
        Ok(())
    }
}
