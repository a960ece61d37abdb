//! Bringing one stage up to date, the same way for every executor (a local thread, or the
//! `icodegen run-stage` of a Slurm job):
//!
//! 1. hash the deps and compute the stage key;
//! 2. fresh if the lock already records this key and the outs are intact;
//! 3. else, if the run-cache knows this key, restore the outs from the cache (verified by hash);
//! 4. else remove the outs, run the command, check the deps did not change meanwhile and that
//!    every out exists, store the outs, write the run-cache entry and the lock record.
//!
//! A failure at any point records nothing: the lock keeps the previous record, the cache gets no
//! entry for this key, and the objects already stored are complete and harmless.

use std::time::Instant;

use super::process::{self, Output};
use crate::error::{IoContext, PipelineError, Result};
use crate::keys::hash::Hashed;
use crate::keys::key::{self, KeyInputs};
use crate::keys::lock::{FileRecord, StageRecord};
use crate::session::Session;
use crate::store::RestoreError;

/// How bringing a stage up to date ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Nothing to do.
    Fresh,
    /// Outs restored from the run-cache.
    Restored,
    /// The command ran and its outs were recorded.
    Ran { seconds: f64 },
    /// Nothing was recorded. `code` is the command's exit code when it ran and failed.
    Failed { message: String, code: Option<i32> },
}

fn failed(message: impl Into<String>) -> Outcome {
    Outcome::Failed {
        message: message.into(),
        code: None,
    }
}

fn remove_path(path: &std::path::Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_dir() => std::fs::remove_dir_all(path).at("remove", path),
        Ok(_) => std::fs::remove_file(path).at("remove", path),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(PipelineError::io("remove", path, error)),
    }
}

/// Brings stage `index` up to date. `previous` is its lock record at the start of the run.
pub fn run_stage(
    session: &Session,
    index: usize,
    previous: Option<&StageRecord>,
    force: bool,
    output: Output,
) -> Result<Outcome> {
    let stage = &session.pipeline.stages[index];
    let console = &session.console;
    if crate::signals::interrupted() {
        return Ok(failed("interrupted"));
    }
    let deps = session.hash_all(&stage.deps)?;
    crate::fault::point("hashing-deps");
    if let Some(missing) = stage
        .deps
        .iter()
        .zip(&deps)
        .find(|(_, hashed)| hashed.is_none())
    {
        return Ok(failed(format!("dep `{}` is missing", missing.0)));
    }
    let code = session.code(index);
    let params = key::param_values(stage);
    let key = key::stage_key(stage, code.as_ref(), &params, &deps);
    if console.verbosity >= 2 {
        let inputs = KeyInputs::new(
            stage,
            code.as_ref(),
            &params,
            stage
                .deps
                .iter()
                .zip(&deps)
                .map(|(p, h)| (p.as_str(), h.as_ref().map(|h| h.hash.as_str())))
                .collect(),
        );
        console.debug(format!(
            "stage `{}` key {key} from {}",
            stage.name,
            inputs.describe()
        ));
    }
    let reusable = !force && !stage.always_changed;
    if reusable
        && let Some(previous) = previous
        && previous.key == key
        && outs_match(session, stage, previous)?
    {
        return Ok(Outcome::Fresh);
    }
    if reusable
        && !stage.outs.is_empty()
        && let Some(entry) = session
            .store
            .run_get(&key)
            .or_else(|| pull_run(session, &stage.name, &key))
        && entry.key == key
    {
        match restore_outs(session, stage, &entry) {
            Ok(()) => {
                let record = StageRecord {
                    cmd: stage.cmd.clone(),
                    ..entry
                };
                session.update_lock(|lock| {
                    lock.stages.insert(stage.name.clone(), record);
                })?;
                return Ok(Outcome::Restored);
            }
            Err(problem) => console.warn(format!(
                "cannot restore stage `{}` from the run-cache ({}); running it instead",
                stage.name,
                problem.describe()
            )),
        }
    }

    // Run it.
    for out in &stage.outs {
        crate::safety::guard::check_write(&session.pipeline.root, &out.path)?;
        let path = session.abs(&out.path);
        remove_path(&path)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).at("create", parent)?;
        }
    }
    console.info(format!(
        "{} `{}`: {}",
        console.err("Running", crate::console::Style::Bold),
        stage.name,
        stage.cmd
    ));
    let started = Instant::now();
    let finished = process::run(
        &stage.cmd,
        &session.pipeline.root,
        &session.path_env,
        &stage.name,
        output,
    )?;
    let status = finished.status;
    let seconds = started.elapsed().as_secs_f64();
    if crate::signals::interrupted() {
        return Ok(failed("interrupted"));
    }
    if !status.success() {
        return Ok(Outcome::Failed {
            message: format!("command {}", process::describe(&status)),
            code: status.code(),
        });
    }
    if !finished.leftovers.is_empty() {
        let pids: Vec<String> = finished.leftovers.iter().map(ToString::to_string).collect();
        return Ok(failed(format!(
            "the command exited but left {} process(es) running in the background (pid {}); they were stopped and nothing was recorded, since they could still be writing its outs\nhint: make the command wait for what it starts (`wait` in the shell)",
            pids.len(),
            pids.join(", ")
        )));
    }
    let after = session.hash_all(&stage.deps)?;
    for ((path, before), after) in stage.deps.iter().zip(&deps).zip(&after) {
        if after.is_none() {
            return Ok(failed(format!(
                "dep `{path}` was deleted while the stage ran; nothing was recorded"
            )));
        }
        if before != after {
            return Ok(failed(format!(
                "dep `{path}` changed while the stage ran; nothing was recorded (run again once it is stable)"
            )));
        }
    }
    let mut outs = Vec::new();
    let mut metrics = Vec::new();
    for out in &stage.outs {
        let Some(hashed) = session
            .store
            .add_path(&session.memo, &session.abs(&out.path))?
        else {
            return Ok(failed(format!(
                "the command did not create out `{}`",
                out.path
            )));
        };
        let record = FileRecord::new(&out.path, &hashed);
        if out.metric {
            metrics.push(record)
        } else {
            outs.push(record)
        }
    }
    let record = StageRecord {
        cmd: stage.cmd.clone(),
        key: key.clone(),
        code,
        deps: stage
            .deps
            .iter()
            .zip(&deps)
            .filter_map(|(path, hashed)| {
                hashed.as_ref().map(|hashed| FileRecord::new(path, hashed))
            })
            .collect(),
        params,
        outs,
        metrics,
    };
    if !stage.outs.is_empty() {
        session.store.run_put(&key, &stage.name, &record)?;
    }
    crate::fault::point("recording");
    session.update_lock(|lock| {
        lock.stages.insert(stage.name.clone(), record);
    })?;
    Ok(Outcome::Ran { seconds })
}

/// Whether every out exists and matches `record`.
fn outs_match(session: &Session, stage: &crate::spec::Stage, record: &StageRecord) -> Result<bool> {
    let paths: Vec<String> = stage.outs.iter().map(|out| out.path.clone()).collect();
    let current = session.hash_all(&paths)?;
    Ok(stage.outs.iter().zip(&current).all(|(out, hashed)| {
        matches!((record.out(&out.path), hashed), (Some(old), Some(hashed)) if old.matches(hashed))
    }))
}

/// Restores the outs of a run-cache entry that are not already in place, as a set: all or none.
fn restore_outs(
    session: &Session,
    stage: &crate::spec::Stage,
    entry: &StageRecord,
) -> Result<(), RestoreError> {
    let mut wanted = Vec::new();
    for out in &stage.outs {
        let Some(record) = entry.out(&out.path) else {
            return Err(RestoreError::Other(PipelineError::Internal(format!(
                "run-cache entry lacks out `{}`",
                out.path
            ))));
        };
        crate::safety::guard::check_write(&session.pipeline.root, &out.path)?;
        let current: Option<Hashed> = session.hash(&out.path)?;
        if current.is_some_and(|hashed| record.matches(&hashed)) {
            continue;
        }
        wanted.push((record, session.abs(&out.path)));
    }
    session.store.restore_all(&wanted)
}

/// `repro --pull`: the remote run-cache entry of `key`, its objects downloaded (verified) into
/// the local cache; `None` (with a warning for a failure) when there is none.
fn pull_run(session: &Session, stage: &str, key: &str) -> Option<StageRecord> {
    let remote = session.pull_from.get()?;
    match crate::remote::transfer::fetch_run(remote, &session.store, key, remote.jobs) {
        Ok(Some(record)) => {
            session.console.verbose(format!(
                "`{stage}`: found in the run-cache of remote `{}`",
                remote.name
            ));
            Some(record)
        }
        Ok(None) => None,
        Err(error) => {
            session.console.warn(format!(
                "cannot restore stage `{stage}` from remote `{}` ({error}); running it instead",
                remote.name
            ));
            None
        }
    }
}
