//! The cache commands: `checkout` (restore the outs the lock records) and `gc`.

use std::collections::BTreeSet;

use super::plan_for;
use crate::error::{PipelineError, Result};
use crate::graph::plan::Reach;
use crate::keys::lock::FileRecord;
use crate::safety::runner_lock::Mode;
use crate::session::Session;
use crate::store::{GcPolicy, RestoreError, describe_age, short};

/// `icodegen checkout`: restores the outs recorded in the lock from the cache. An out (or a file
/// inside a folder out) whose current contents are not in the cache was edited by hand: it is
/// not overwritten without `force`, and nothing is restored while any is refused.
pub fn checkout(session: &Session, targets: &[String], force: bool) -> Result<()> {
    let _lock = session.lock_runner(Mode::Exclusive, "icodegen checkout")?;
    let plan = plan_for(session, targets, Reach::Single)?;
    let lock = session.read_lock()?;
    let console = &session.console;
    let (mut restored, mut intact, mut problems) = (0, 0, Vec::new());
    let mut wanted: Vec<(usize, Vec<&FileRecord>)> = Vec::new();
    let mut edited = Vec::new();
    for index in plan {
        let stage = &session.pipeline.stages[index];
        let Some(record) = lock.stages.get(&stage.name) else {
            console.verbose(format!(
                "`{}` has never run: nothing to check out",
                stage.name
            ));
            continue;
        };
        let mut outs = Vec::new();
        for out in record.all_outs() {
            crate::safety::guard::check_write(&session.pipeline.root, &out.path)?;
            let Some(current) = session.hash(&out.path)? else {
                outs.push(out);
                continue;
            };
            if out.matches(&current) {
                intact += 1;
                continue;
            }
            match &current.manifest {
                Some(manifest) => edited.extend(
                    manifest
                        .iter()
                        .filter(|entry| !session.store.has(&entry.hash))
                        .map(|entry| format!("{}/{}", out.path, entry.path)),
                ),
                None if !session.store.has(&current.hash) => edited.push(out.path.clone()),
                None => {}
            }
            outs.push(out);
        }
        if !outs.is_empty() {
            wanted.push((index, outs));
        }
    }
    if !edited.is_empty() && !force {
        let shown: Vec<String> = edited.iter().take(20).map(|p| format!("`{p}`")).collect();
        let more = edited.len().saturating_sub(shown.len());
        return Err(PipelineError::Refused(format!(
            "checkout would overwrite {} file(s) changed since they were recorded, whose contents are not in the cache: {}{}\nnothing was restored\nhint: keep them elsewhere first, or pass `--force` to overwrite them",
            edited.len(),
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )));
    }
    for (index, outs) in wanted {
        let stage = &session.pipeline.stages[index];
        let places: Vec<(&FileRecord, std::path::PathBuf)> = outs
            .iter()
            .map(|out| (*out, session.abs(&out.path)))
            .collect();
        match session.store.restore_all(&places) {
            Ok(()) => {
                restored += outs.len();
                for out in &outs {
                    console.verbose(format!("restored `{}`", out.path));
                }
            }
            Err(RestoreError::Other(error)) => return Err(error),
            Err(problem) => problems.push(format!(
                "cannot restore {} of stage `{}`: {}; none of its outs was replaced\nhint: run `icodegen repro {}`",
                outs.iter()
                    .map(|out| format!("`{}`", out.path))
                    .collect::<Vec<_>>()
                    .join(", "),
                stage.name,
                problem.describe(),
                stage.name
            )),
        }
    }
    session.save();
    console.info(format!(
        "{restored} out(s) restored, {intact} already in place."
    ));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(PipelineError::Cache {
            path: session.store.dir.clone(),
            message: problems.join("\n"),
        })
    }
}

/// `icodegen gc` options.
#[derive(Debug, Clone, Copy, Default)]
pub struct GcOptions {
    /// Say what would go (each run-cache entry on stdout, then counts and sizes), remove nothing.
    pub dry_run: bool,
    /// Which run-cache entries stay (none go without a rule).
    pub policy: GcPolicy,
}

/// `icodegen gc`: removes the run-cache entries no rule of `options.policy` keeps, then the
/// objects that neither the lock nor a kept entry refers to.
pub fn gc(session: &Session, options: &GcOptions) -> Result<()> {
    let _lock = session.lock_runner(Mode::Exclusive, "icodegen gc")?;
    let lock = session.read_lock()?;
    let console = &session.console;
    let dry_run = options.dry_run;
    let runs = session.store.run_entries()?;
    let current: BTreeSet<String> = lock
        .stages
        .values()
        .map(|record| record.key.clone())
        .collect();
    let now = crate::store::now_secs();
    let dropped: BTreeSet<usize> = options
        .policy
        .select(&runs, &current, now)
        .into_iter()
        .collect();
    for &index in &dropped {
        let run = &runs[index];
        let line = format!(
            "run-cache entry of `{}` (key {}, written {} ago)",
            run.stage.as_deref().unwrap_or("?"),
            short(&run.key),
            describe_age(now.saturating_sub(run.created))
        );
        if dry_run {
            println!("would remove {line}");
        } else {
            session.store.run_remove(run)?;
            console.verbose(format!("removed {line}"));
        }
    }
    let mut records: Vec<FileRecord> = lock
        .stages
        .values()
        .flat_map(|record| record.all_outs().cloned())
        .collect();
    for (index, run) in runs.iter().enumerate() {
        if !dropped.contains(&index) {
            records.extend(run.record.all_outs().cloned());
        }
    }
    let mut keep = BTreeSet::new();
    for record in &records {
        keep.insert(record.hash.clone());
        if record.files.is_some()
            && let Ok(manifest) = session.store.manifest(&record.hash)
        {
            keep.extend(manifest.into_iter().map(|entry| entry.hash));
        }
    }
    let report = session.store.gc(&keep, dry_run)?;
    let verb = if dry_run { "Would remove" } else { "Removed" };
    if !options.policy.is_empty() {
        console.info(format!(
            "{verb} {} run-cache entr{} of {}.",
            dropped.len(),
            if dropped.len() == 1 { "y" } else { "ies" },
            runs.len()
        ));
    }
    console.info(format!(
        "{verb} {} object(s), {:.1} MB; {} kept.",
        report.objects,
        report.bytes as f64 / 1e6,
        report.kept
    ));
    Ok(())
}
