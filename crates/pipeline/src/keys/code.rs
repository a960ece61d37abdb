//! The code fingerprint of a stage: when a stage's command starts with an icodegen stage binary
//! (`icodegen-train ...`), the blake3 of that binary's sources, which it prints for
//! `--source-fingerprint` (embedded at build time by `icodegen-fingerprint`). A rebuild from the
//! same sources (debug or release) keeps it; a code change changes it.
//!
//! The answer is memoized by the executable's (device, inode, size, mtime), so a no-op `status`
//! spawns nothing. Commands that are not icodegen binaries (scripts, shell) have no fingerprint:
//! list their scripts as deps.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::keys::lock::CodeRecord;
use crate::keys::memo::Stat;

/// Prefix of the executables that answer `--source-fingerprint`.
pub const STAGE_PREFIX: &str = "icodegen-";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i64,
    fingerprint: String,
}

/// Memoized fingerprints of stage executables, persisted in the cache.
#[derive(Debug)]
pub struct Fingerprints {
    path: PathBuf,
    entries: BTreeMap<String, Entry>,
    dirty: bool,
    /// Programs whose fingerprint could not be read (warned about once).
    pub failures: Vec<String>,
}

/// The program a command starts with (its first word, after `VAR=value` assignments).
pub fn program_of(cmd: &str) -> Option<&str> {
    cmd.split_whitespace().find(|word| {
        let assignment = word.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        !assignment
    })
}

/// Where `program` is found: a path (relative to `root`) or a name searched in `path_env`.
pub fn find_executable(program: &str, path_env: &OsStr, root: &Path) -> Option<PathBuf> {
    let is_executable = |path: &Path| {
        std::fs::metadata(path)
            .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let path = root.join(program);
        return is_executable(&path).then_some(path);
    }
    std::env::split_paths(path_env)
        .map(|dir| root.join(dir).join(program))
        .find(|candidate| is_executable(candidate))
}

impl Fingerprints {
    pub fn load(path: &Path) -> Fingerprints {
        let entries = std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Fingerprints {
            path: path.to_path_buf(),
            entries,
            dirty: false,
            failures: Vec::new(),
        }
    }

    /// The code record for `cmd`, if it runs an icodegen stage binary other than `runner`.
    pub fn of_command(
        &mut self,
        cmd: &str,
        path_env: &OsStr,
        root: &Path,
        runner: Option<&Path>,
    ) -> Option<CodeRecord> {
        let program = program_of(cmd)?;
        let name = Path::new(program).file_name()?.to_str()?;
        if !name.starts_with(STAGE_PREFIX) {
            return None;
        }
        let executable = find_executable(program, path_env, root)?;
        let executable = executable.canonicalize().unwrap_or(executable);
        if runner.is_some_and(|runner| runner == executable) {
            return None;
        }
        let stat = Stat::of(&std::fs::metadata(&executable).ok()?);
        let key = executable.to_string_lossy().into_owned();
        if let Some(entry) = self.entries.get(&key)
            && (entry.dev, entry.ino, entry.size, entry.mtime_ns)
                == (stat.dev, stat.ino, stat.size, stat.mtime_ns)
        {
            return Some(CodeRecord {
                program: name.to_owned(),
                fingerprint: entry.fingerprint.clone(),
            });
        }
        let answer = std::process::Command::new(&executable)
            .arg("--source-fingerprint")
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
            .filter(|text| text.len() >= 16 && text.chars().all(|c| c.is_ascii_hexdigit()));
        let Some(fingerprint) = answer else {
            if !self.failures.contains(&key) {
                self.failures.push(key);
            }
            return None;
        };
        self.entries.insert(
            key,
            Entry {
                dev: stat.dev,
                ino: stat.ino,
                size: stat.size,
                mtime_ns: stat.mtime_ns,
                fingerprint: fingerprint.clone(),
            },
        );
        self.dirty = true;
        Some(CodeRecord {
            program: name.to_owned(),
            fingerprint,
        })
    }

    pub fn save(&mut self) -> Result<()> {
        if self.dirty {
            let bytes = serde_json::to_vec_pretty(&self.entries).expect("fingerprints serialize");
            icodegen_artifacts::atomic::write_bytes(&self.path, &bytes)?;
            self.dirty = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_is_the_first_word_after_assignments() {
        assert_eq!(program_of("icodegen-train --key x"), Some("icodegen-train"));
        assert_eq!(
            program_of("RUST_LOG=info OMP=1 icodegen-infer"),
            Some("icodegen-infer")
        );
        assert_eq!(program_of("  "), None);
    }

    #[test]
    fn fingerprints_are_asked_once_per_executable_version() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let script = bin.join("icodegen-fake");
        let counter = dir.path().join("asked");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho x >> {}\necho 00112233445566778899aabbccddeeff\n",
                counter.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let memo_path = dir.path().join("fingerprints");
        let mut fingerprints = Fingerprints::load(&memo_path);
        let path_env = bin.as_os_str();
        let code = fingerprints
            .of_command("icodegen-fake run", path_env, dir.path(), None)
            .unwrap();
        assert_eq!(code.program, "icodegen-fake");
        assert_eq!(code.fingerprint, "00112233445566778899aabbccddeeff");
        fingerprints.save().unwrap();
        let mut again = Fingerprints::load(&memo_path);
        assert_eq!(
            again.of_command("icodegen-fake", path_env, dir.path(), None),
            Some(code)
        );
        assert_eq!(
            std::fs::read_to_string(&counter).unwrap().lines().count(),
            1
        );
        assert_eq!(
            again.of_command("sh -c true", path_env, dir.path(), None),
            None
        );
        assert_eq!(
            again.of_command("icodegen-missing", path_env, dir.path(), None),
            None
        );
    }
}
