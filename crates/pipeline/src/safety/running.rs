//! Every process a stage starts, found and ended, even after the runner is killed.
//!
//! A stage's command runs with `ICODEGEN_RUN_ID` in its environment, which every descendant
//! inherits (a `setsid` or double-forked escapee too), and in its own process group. Before the
//! command starts, a record of it (run id, process group, the runner's pid and start time, the
//! host) is written to `.icodegen/running/` in the workspace, and removed once none of its
//! processes is left. So:
//!
//! - when the command's shell exits, [`stop`] ends what it left behind before anything is
//!   recorded (a background writer would otherwise change the outs after they were hashed);
//! - a runner that starts sweeps the records of dead runners on this host ([`sweep`]) and ends
//!   their leftovers before it reads or writes anything, so a killed runner's children never
//!   write into a later run's outs.
//!
//! Linux only (`/proc`); elsewhere only the process group is known.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{IoContext, PipelineError, Result};

/// The environment variable every process of a stage inherits.
pub const RUN_ID_VAR: &str = "ICODEGEN_RUN_ID";

/// A running stage, as recorded in `.icodegen/running/<run id>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub run_id: String,
    pub stage: String,
    /// The process group (the shell's pid), once started.
    pub group: Option<i32>,
    pub runner_pid: u32,
    /// The runner's start time (clock ticks since boot, `/proc/PID/stat` field 22): tells a
    /// live runner from a later process that reuses its pid.
    pub runner_start: Option<u64>,
    pub host: String,
}

pub fn dir(root: &Path) -> PathBuf {
    root.join(crate::safety::guard::STATE_DIR).join("running")
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_default()
}

/// A run id unique to this runner and stage start.
pub fn new_run_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|time| time.as_nanos())
        .unwrap_or_default();
    format!(
        "{}-{}-{nanos:x}-{}",
        host(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// `(state, process group, start time)` of `pid`, from `/proc/PID/stat`.
fn stat(pid: i32) -> Option<(char, i32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields follow the last `)`.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let group = fields.get(2)?.parse().ok()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, group, start))
}

impl Record {
    pub fn new(run_id: &str, stage: &str) -> Record {
        Record {
            run_id: run_id.to_owned(),
            stage: stage.to_owned(),
            group: None,
            runner_pid: std::process::id(),
            runner_start: stat(std::process::id() as i32).map(|(_, _, start)| start),
            host: host(),
        }
    }

    fn path(&self, root: &Path) -> PathBuf {
        dir(root).join(format!("{}.json", self.run_id))
    }

    pub fn write(&self, root: &Path) -> Result<()> {
        let bytes = serde_json::to_vec(self).map_err(|e| PipelineError::Internal(e.to_string()))?;
        Ok(icodegen_artifacts::atomic::write_bytes(
            self.path(root),
            &bytes,
        )?)
    }

    pub fn remove(&self, root: &Path) {
        let _ = std::fs::remove_file(self.path(root));
    }

    /// Whether the runner that wrote this record is still alive (on another host: assumed so).
    fn runner_alive(&self) -> bool {
        if self.host != host() {
            return true;
        }
        match stat(self.runner_pid as i32) {
            Some((state, _, start)) => state != 'Z' && Some(start) == self.runner_start,
            None => false,
        }
    }
}

/// The live (not zombie) processes of a stage: those carrying its run id, and those in its
/// process group.
pub fn members(run_id: &str, group: Option<i32>) -> Vec<i32> {
    let needle = format!("{RUN_ID_VAR}={run_id}");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<i32>().ok())
        else {
            continue;
        };
        let Some((state, process_group, _)) = stat(pid) else {
            continue;
        };
        if state == 'Z' || state == 'X' {
            continue;
        }
        let in_group = group.is_some_and(|group| group == process_group);
        let carries = || {
            std::fs::read(entry.path().join("environ")).is_ok_and(|environ| {
                environ
                    .split(|&byte| byte == 0)
                    .any(|item| item == needle.as_bytes())
            })
        };
        if in_group || carries() {
            found.push(pid);
        }
    }
    found
}

fn signal(pids: &[i32], group: Option<i32>, signal: i32) {
    for &pid in pids {
        // SAFETY: kill(2) on processes that carry our run id or are in our stage's group.
        unsafe {
            libc::kill(pid, signal);
        }
    }
    if let Some(group) = group {
        // SAFETY: kill(2) on the stage's process group.
        unsafe {
            libc::kill(-group, signal);
        }
    }
}

/// Ends every process of a stage (SIGTERM, then SIGKILL after `grace`) and waits until none is
/// left. Returns the pids found at first (empty: nothing was left).
pub fn stop(run_id: &str, group: Option<i32>, grace: Duration) -> Vec<i32> {
    let first = members(run_id, group);
    if first.is_empty() {
        return first;
    }
    signal(&first, group, libc::SIGTERM);
    let started = Instant::now();
    let mut killed = false;
    loop {
        let left = members(run_id, group);
        if left.is_empty() {
            break;
        }
        if !killed && started.elapsed() >= grace {
            signal(&left, group, libc::SIGKILL);
            killed = true;
        } else if killed && started.elapsed() >= grace + Duration::from_secs(30) {
            break;
        } else if killed {
            signal(&left, None, libc::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    first
}

/// Whether the temporary file `name` (`.<run id>.json.tmp-…`) was left by a runner of this host
/// that is no longer alive: the run id names the runner's host and pid.
fn writer_dead(name: &str) -> bool {
    let Some(run_id) = name
        .strip_prefix('.')
        .and_then(|rest| rest.split_once(".json.tmp-"))
        .map(|(run_id, _)| run_id)
    else {
        return false;
    };
    // `host-pid-nanos-counter`; the host may itself contain `-`.
    let mut fields = run_id.rsplitn(4, '-');
    let (_counter, _nanos, pid, writer_host) =
        (fields.next(), fields.next(), fields.next(), fields.next());
    let (Some(pid), Some(writer_host)) = (pid.and_then(|pid| pid.parse::<i32>().ok()), writer_host)
    else {
        return false;
    };
    writer_host == host()
        && pid != std::process::id() as i32
        && stat(pid).is_none_or(|(state, _, _)| state == 'Z')
}

/// Ends the leftovers of dead runners recorded in the workspace at `root` (on this host), and
/// removes their records. Returns a note per record that still had processes.
pub fn sweep(root: &Path) -> Result<Vec<String>> {
    let folder = dir(root);
    let entries = match std::fs::read_dir(&folder) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(PipelineError::io("read", &folder, error)),
    };
    let mut notes = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            // A record being written: a live runner (another Slurm array task of this
            // workspace) renames it in a moment, so only one left by a runner killed mid-write
            // is removed: its writer is dead (on this host), or it is old (another host).
            let old = entry
                .metadata()
                .and_then(|metadata| metadata.modified())
                .ok()
                .and_then(|modified| modified.elapsed().ok())
                .is_some_and(|age| age > Duration::from_secs(600));
            if old || writer_dead(&name) {
                let _ = std::fs::remove_file(&path);
            }
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let Ok(record) = serde_json::from_slice::<Record>(&bytes) else {
            std::fs::remove_file(&path).at("remove", &path)?;
            continue;
        };
        if record.runner_alive() {
            continue;
        }
        let left = stop(&record.run_id, record.group, Duration::from_secs(2));
        if !left.is_empty() {
            notes.push(format!(
                "stage `{}` of a runner that died (pid {}) left {} process(es) running; they were stopped",
                record.stage,
                record.runner_pid,
                left.len()
            ));
        }
        std::fs::remove_file(&path).at("remove", &path)?;
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_being_written_by_a_live_runner_is_left_alone_and_an_old_one_removed() {
        let root = tempfile::tempdir().unwrap();
        let folder = dir(root.path());
        std::fs::create_dir_all(&folder).unwrap();
        // Another Slurm array task of this workspace is writing its record right now.
        let fresh = folder.join(".task.json.tmp-fresh");
        std::fs::write(&fresh, "{").unwrap();
        // A runner killed mid-write an hour ago.
        let old = folder.join(".task.json.tmp-old");
        std::fs::write(&old, "{").unwrap();
        let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(hour_ago)
            .unwrap();
        // A runner of this host killed while it rewrote its record a moment ago.
        let dead = folder.join(format!(".{}-{}-1a2b-0.json.tmp-dead", host(), dead_pid()));
        std::fs::write(&dead, "{").unwrap();
        // This (live) runner rewriting its own record.
        let own = folder.join(format!(".{}.json.tmp-own", new_run_id()));
        std::fs::write(&own, "{").unwrap();
        sweep(root.path()).unwrap();
        assert!(fresh.exists(), "a record being written was removed");
        assert!(!old.exists(), "an old half-written record stayed");
        assert!(!dead.exists(), "a dead runner's half-written record stayed");
        assert!(
            own.exists(),
            "a live runner's record being written was removed"
        );
    }

    /// The pid of a process that has exited and been reaped.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }
}
