//! The runner locks (`.icodegen/runner.lock` in the workspace, and `runner.lock` in each cache it
//! writes): one runner at a time changes a workspace and a cache, whichever `--cache` it uses. `repro`, `checkout` and `gc` hold it exclusively; `run-stage` (one cluster job each)
//! holds it shared, so jobs run side by side but never beside a local `repro`. It is an OS file
//! lock (flock), released when the holder exits, even if killed: there is no stale lock to
//! clean up. The exclusive holder writes who it is into the file, so the next one can say.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::error::{IoContext, PipelineError, Result};

#[derive(Debug)]
pub struct RunnerLock {
    _file: std::fs::File,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Exclusive,
    Shared,
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_else(|_| "this machine".to_owned())
}

impl RunnerLock {
    /// Takes the lock at `path` or fails at once, naming the holder; `what` describes this
    /// runner (`icodegen repro`).
    pub fn acquire(path: &Path, mode: Mode, what: &str) -> Result<RunnerLock> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).at("create", parent)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .at("open", path)?;
        let attempt = match mode {
            Mode::Exclusive => file.try_lock(),
            Mode::Shared => file.try_lock_shared(),
        };
        match attempt {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(PipelineError::Locked {
                    path: PathBuf::from(path),
                    holder: if holder.is_empty() {
                        "held by `icodegen run-stage` jobs (or a runner that has just started)"
                            .to_owned()
                    } else {
                        holder.to_owned()
                    },
                });
            }
            Err(std::fs::TryLockError::Error(error)) => {
                return Err(PipelineError::io("lock", path, error));
            }
        }
        if mode == Mode::Exclusive {
            let note = format!(
                "held by `{what}` (pid {} on {})\n",
                std::process::id(),
                hostname()
            );
            file.set_len(0).at("write", path)?;
            file.rewind().at("write", path)?;
            file.write_all(note.as_bytes()).at("write", path)?;
        }
        Ok(RunnerLock { _file: file })
    }
}

impl Drop for RunnerLock {
    fn drop(&mut self) {
        // Leave the file empty so a later shared holder is not misreported; the OS lock is
        // released when the file closes.
        let _ = self._file.set_len(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_runner_is_told_who_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runner.lock");
        let held = RunnerLock::acquire(&path, Mode::Exclusive, "icodegen repro").unwrap();
        let error = RunnerLock::acquire(&path, Mode::Exclusive, "icodegen gc")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("icodegen repro") && error.contains(&std::process::id().to_string()),
            "{error}"
        );
        assert!(RunnerLock::acquire(&path, Mode::Shared, "icodegen run-stage").is_err());
        drop(held);
        let first = RunnerLock::acquire(&path, Mode::Shared, "job 1").unwrap();
        let _second = RunnerLock::acquire(&path, Mode::Shared, "job 2").unwrap();
        assert!(RunnerLock::acquire(&path, Mode::Exclusive, "icodegen repro").is_err());
        drop(first);
    }
}
