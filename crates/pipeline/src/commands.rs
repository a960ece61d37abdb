//! The runner's commands, one function each; the `icodegen` binary parses arguments and calls
//! these. Results meant for scripts (`status`, `dag`) are returned as text for stdout; progress
//! and warnings go through the session's console to stderr.

use std::collections::BTreeSet;

use crate::console::Style;
use crate::dag;
use crate::error::{PipelineError, Result};
use crate::executor::{Executor, Local, Request};
use crate::key;
use crate::plan::{self, Reach};
use crate::process::{self, Output};
use crate::runner_lock::Mode;
use crate::session::Session;
use crate::slurm;
use crate::spec::Field;
use crate::stage_run::{self, Outcome};
use crate::status::{self, State};
use crate::store::{RestoreError, short};

/// `icodegen repro` options.
#[derive(Debug, Clone, Default)]
pub struct ReproOptions {
    pub targets: Vec<String>,
    pub force: bool,
    pub dry_run: bool,
    pub downstream: bool,
    pub single: bool,
    pub jobs: usize,
    pub keep_going: bool,
    /// `--executor slurm`: submit instead of running here.
    pub slurm: Option<slurm::SubmitOptions>,
}

fn plan_for(session: &Session, targets: &[String], reach: Reach) -> Result<Vec<usize>> {
    let targets = plan::resolve_targets(&session.pipeline, targets)?;
    Ok(plan::select(&session.graph, &targets, reach))
}

/// Refuses a plan with a dep that no stage produces and that does not exist.
pub fn check_sources(session: &Session, plan: &[usize]) -> Result<()> {
    for &index in plan {
        let stage = &session.pipeline.stages[index];
        for (dep_index, dep) in stage.deps.iter().enumerate() {
            if session.graph.producers[index][dep_index].is_empty() && !session.abs(dep).exists() {
                return Err(session.pipeline.error(
                    index,
                    Field::Dep(dep_index),
                    format!(
                        "dep `{dep}` of stage `{}` does not exist, and no stage produces it",
                        stage.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn names(session: &Session, stages: &[usize]) -> String {
    stages
        .iter()
        .map(|&stage| format!("`{}`", session.pipeline.stages[stage].name))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn repro(session: &Session, options: &ReproOptions) -> Result<()> {
    let reach = if options.single {
        Reach::Single
    } else if options.downstream {
        Reach::Downstream
    } else {
        Reach::Upstream
    };
    let plan = plan_for(session, &options.targets, reach)?;
    check_sources(session, &plan)?;
    if let Some(slurm) = &options.slurm {
        return repro_slurm(session, &plan, options, slurm);
    }
    let console = &session.console;
    if options.dry_run {
        let lock = session.read_lock()?;
        let statuses = status::status(session, &lock, false)?;
        session.save();
        let planned: BTreeSet<usize> = plan.iter().copied().collect();
        let mut any = false;
        for status in statuses
            .iter()
            .filter(|status| planned.contains(&status.stage))
        {
            let name = &session.pipeline.stages[status.stage].name;
            if options.force {
                println!("would run `{name}` (forced)");
                any = true;
            } else if status.state != State::Fresh {
                let reason = status
                    .reasons
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                println!("would run `{name}` ({reason})");
                any = true;
            }
        }
        if !any {
            println!("nothing to run: {} stage(s) are fresh", plan.len());
        }
        return Ok(());
    }
    let _lock = session.lock_runner(Mode::Exclusive, "icodegen repro")?;
    process::install_interrupt_handler();
    let request = Request {
        plan: plan.clone(),
        force: options.force,
        keep_going: options.keep_going,
        jobs: options.jobs.max(1),
    };
    let report = Local.execute(session, &request);
    session.save();
    let report = report?;
    let ran = report.count(|outcome| matches!(outcome, Outcome::Ran { .. }));
    let restored = report.count(|outcome| matches!(outcome, Outcome::Restored));
    let fresh = report.count(|outcome| matches!(outcome, Outcome::Fresh));
    let failed = report.failed();
    if report.interrupted {
        return Err(PipelineError::Interrupted);
    }
    if failed.is_empty() {
        if ran + restored == 0 {
            console.info(format!("Nothing to do: {fresh} stage(s) are fresh."));
        } else {
            console.info(format!(
                "{} {ran} ran, {restored} restored from the run-cache, {fresh} fresh, in {:.1}s.",
                console.err("Done:", Style::Green),
                report.seconds
            ));
        }
        return Ok(());
    }
    let failed_stages: Vec<usize> = failed.iter().map(|(stage, _)| *stage).collect();
    let mut message = format!(
        "{} stage(s) failed: {} (the lock keeps their previous records)",
        failed.len(),
        names(session, &failed_stages)
    );
    if !report.skipped.is_empty() {
        message.push_str(&format!(
            "\nskipped, because a stage they depend on failed: {}",
            names(session, &report.skipped)
        ));
    }
    if !report.not_started.is_empty() {
        message.push_str(&format!(
            "\nnot started: {}\nhint: `--keep-going` runs what does not depend on a failed stage",
            names(session, &report.not_started)
        ));
    }
    Err(PipelineError::RunFailed(message))
}

/// `repro --executor slurm`: submits the stale stages of `plan` as chained jobs and returns.
fn repro_slurm(
    session: &Session,
    plan: &[usize],
    options: &ReproOptions,
    slurm_options: &slurm::SubmitOptions,
) -> Result<()> {
    let console = &session.console;
    // Shared: beside running jobs (they hold it shared too), never beside a local `repro`.
    let _lock = session.lock_runner(Mode::Shared, "icodegen repro --executor slurm")?;
    let mut active: std::collections::BTreeMap<usize, Vec<String>> = Default::default();
    let mut queued = Vec::new();
    if !slurm::read_jobs(session)?.jobs.is_empty() {
        for (stage, record, state) in slurm::job_states(session, None, true)? {
            if state.is_active() {
                queued.push(format!(
                    "`{}` (job {}, {})",
                    session.pipeline.stages[stage].name,
                    record.job,
                    state.describe()
                ));
                active.entry(stage).or_default().push(record.job);
            }
        }
    }
    if !queued.is_empty() && !options.force && !options.dry_run {
        return Err(PipelineError::JobsQueued(format!(
            "{} job(s) of this pipeline are still queued or running: {} (recorded in `{}`)\nhint: wait for them (`icodegen status`), cancel them (`icodegen cancel`), or submit anyway with `--force` (new jobs of the same stages wait for the old ones; fresh stages run again too)",
            queued.len(),
            queued.join(", "),
            slurm::jobs_path(session).display()
        )));
    }
    let lock = session.read_lock()?;
    let statuses = status::status(session, &lock, false)?;
    let planned: BTreeSet<usize> = plan.iter().copied().collect();
    let stale: BTreeSet<usize> = statuses
        .iter()
        .filter(|status| options.force || status.state != State::Fresh)
        .map(|status| status.stage)
        .collect();
    let submit: Vec<usize> = plan
        .iter()
        .copied()
        .filter(|stage| planned.contains(stage) && stale.contains(stage))
        .collect();
    if submit.is_empty() {
        session.save();
        let message = format!("Nothing to submit: {} stage(s) are fresh.", plan.len());
        if options.dry_run {
            println!("{message}");
        } else {
            console.info(message);
        }
        return Ok(());
    }
    let mut keys = std::collections::BTreeMap::new();
    for &stage in &submit {
        keys.insert(stage, plan_key(session, stage)?);
    }
    session.save();
    let submit_options = slurm::SubmitOptions {
        force: options.force,
        dry_run: options.dry_run,
        ..slurm_options.clone()
    };
    let submission = slurm::submit(session, &submit, &keys, &active, &submit_options)?;
    if options.dry_run {
        for command in &submission.commands {
            println!("{command}");
        }
        return Ok(());
    }
    let listed: Vec<String> = submission
        .jobs
        .iter()
        .map(|(stage, job, _)| format!("`{}` (job {job})", session.pipeline.stages[*stage].name))
        .collect();
    console.info(format!(
        "{} {} stage(s) to Slurm: {}\nlogs in `{}`; follow with `icodegen status` or `icodegen jobs`, stop with `icodegen cancel`",
        console.err("Submitted", Style::Green),
        submission.jobs.len(),
        listed.join(", "),
        slurm::dir(session).join("logs").display()
    ));
    Ok(())
}

/// The job of each stage in `shown` worth showing in `status`: queued or running, or ended
/// without success while the stage is still not fresh. A missing Slurm is a warning here.
fn status_jobs(
    session: &Session,
    shown: &BTreeSet<usize>,
    statuses: &[status::StageStatus],
) -> std::collections::BTreeMap<usize, status::StageJob> {
    let mut jobs = std::collections::BTreeMap::new();
    match slurm::read_jobs(session) {
        Ok(file) if file.jobs.is_empty() => return jobs,
        Ok(_) => {}
        Err(error) => {
            session.console.warn(error);
            return jobs;
        }
    }
    let listed = match slurm::job_states(session, Some(shown), false) {
        Ok(listed) => listed,
        Err(error) => {
            session
                .console
                .warn(format!("cannot read the states of submitted jobs: {error}"));
            return jobs;
        }
    };
    let fresh: BTreeSet<usize> = statuses
        .iter()
        .filter(|status| status.state == State::Fresh)
        .map(|status| status.stage)
        .collect();
    for (stage, record, state) in listed {
        let worth = state.is_active()
            || (!state.is_completed() && state.state != "ended" && !fresh.contains(&stage));
        if worth {
            jobs.insert(stage, status::StageJob { record, state });
        }
    }
    jobs
}

/// `icodegen jobs`: the latest Slurm job of each stage, with its state and log.
pub fn jobs(session: &Session, targets: &[String], json: bool) -> Result<String> {
    let chosen: Option<BTreeSet<usize>> = if targets.is_empty() {
        None
    } else {
        Some(
            plan_for(session, targets, Reach::Single)?
                .into_iter()
                .collect(),
        )
    };
    let listed = slurm::job_states(session, chosen.as_ref(), false)?;
    if json {
        let mut stages = serde_json::Map::new();
        for (stage, record, state) in &listed {
            stages.insert(
                session.pipeline.stages[*stage].name.clone(),
                status::job_json(record, state),
            );
        }
        let mut text =
            serde_json::to_string_pretty(&serde_json::json!({ "jobs": stages })).expect("JSON");
        text.push('\n');
        return Ok(text);
    }
    if listed.is_empty() {
        return Ok("(no Slurm jobs submitted for these stages)\n".to_owned());
    }
    let rows: Vec<[String; 4]> = listed
        .iter()
        .map(|(stage, record, state)| {
            [
                session.pipeline.stages[*stage].name.clone(),
                record.job.clone(),
                state.describe(),
                record.log.clone(),
            ]
        })
        .collect();
    let header = ["STAGE", "JOB", "STATE", "LOG"].map(str::to_owned);
    let widths: Vec<usize> = (0..4)
        .map(|column| {
            rows.iter()
                .chain(std::iter::once(&header))
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let line = format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        text.push_str(line.trim_end());
        text.push('\n');
    }
    Ok(text)
}

/// `icodegen cancel`: cancels the queued or running jobs of the targets (default: all).
pub fn cancel(session: &Session, targets: &[String]) -> Result<()> {
    let chosen: Option<BTreeSet<usize>> = if targets.is_empty() {
        None
    } else {
        Some(
            plan_for(session, targets, Reach::Single)?
                .into_iter()
                .collect(),
        )
    };
    let cancelled = slurm::cancel(session, chosen.as_ref())?;
    let console = &session.console;
    if cancelled.is_empty() {
        console.info("No queued or running jobs to cancel.");
    } else {
        let listed: Vec<String> = cancelled
            .iter()
            .map(|(stage, record)| {
                format!(
                    "`{}` (job {})",
                    session.pipeline.stages[*stage].name, record.job
                )
            })
            .collect();
        console.info(format!(
            "Cancelled {} job(s): {}",
            cancelled.len(),
            listed.join(", ")
        ));
    }
    Ok(())
}

/// `icodegen status`: returns the text for stdout.
pub fn status(session: &Session, targets: &[String], explain: bool, json: bool) -> Result<String> {
    let shown: BTreeSet<usize> = plan_for(session, targets, Reach::Upstream)?
        .into_iter()
        .collect();
    let lock = session.read_lock()?;
    let statuses = status::status(session, &lock, explain)?;
    session.save();
    let statuses: Vec<_> = statuses
        .into_iter()
        .filter(|status| shown.contains(&status.stage))
        .collect();
    let jobs = status_jobs(session, &shown, &statuses);
    Ok(if json {
        status::render_json(session, &statuses, &jobs)
    } else {
        status::render_table(session, &statuses, explain, &jobs)
    })
}

/// `icodegen dag`.
pub fn dag(session: &Session, targets: &[String], format: dag::Format) -> Result<String> {
    let names: Vec<String> = session
        .pipeline
        .stages
        .iter()
        .map(|stage| stage.name.clone())
        .collect();
    if targets.is_empty() {
        return Ok(dag::render(&names, &session.graph, None, format));
    }
    let shown: BTreeSet<usize> = plan_for(session, targets, Reach::Upstream)?
        .into_iter()
        .collect();
    Ok(dag::render(&names, &session.graph, Some(&shown), format))
}

/// `icodegen checkout`: restores the outs recorded in the lock from the cache. An out (or a file
/// inside a folder out) whose current contents are not in the cache was edited by hand: it is
/// not overwritten without `force`, and nothing is restored while any is refused.
pub fn checkout(session: &Session, targets: &[String], force: bool) -> Result<()> {
    let _lock = session.lock_runner(Mode::Exclusive, "icodegen checkout")?;
    let plan = plan_for(session, targets, Reach::Single)?;
    let lock = session.read_lock()?;
    let console = &session.console;
    let (mut restored, mut intact, mut problems) = (0, 0, Vec::new());
    let mut wanted: Vec<(usize, Vec<&crate::lock::FileRecord>)> = Vec::new();
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
            crate::guard::check_write(&session.pipeline.root, &out.path)?;
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
        let places: Vec<(&crate::lock::FileRecord, std::path::PathBuf)> = outs
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

/// `icodegen gc`: removes objects that neither the lock nor the run-cache refers to.
pub fn gc(session: &Session, dry_run: bool) -> Result<()> {
    let _lock = session.lock_runner(Mode::Exclusive, "icodegen gc")?;
    let lock = session.read_lock()?;
    let mut records: Vec<crate::lock::FileRecord> = lock
        .stages
        .values()
        .flat_map(|record| record.all_outs().cloned())
        .collect();
    for entry in session.store.run_entries()? {
        records.extend(entry.all_outs().cloned());
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
    session.console.info(format!(
        "{verb} {} object(s), {:.1} MB; {} kept.",
        report.objects,
        report.bytes as f64 / 1e6,
        report.kept
    ));
    Ok(())
}

/// What `icodegen run-stage` needs.
#[derive(Debug, Clone, Default)]
pub struct RunStageOptions {
    pub name: String,
    pub expect: Option<String>,
    pub force: bool,
    /// Print the plan key and exit.
    pub print_key: bool,
}

/// The plan key of stage `index` (see `key.rs`).
pub fn plan_key(session: &Session, index: usize) -> Result<String> {
    let stage = &session.pipeline.stages[index];
    let deps = session.hash_all(&stage.deps)?;
    let produced: Vec<bool> = session.graph.producers[index]
        .iter()
        .map(|p| !p.is_empty())
        .collect();
    let code = session.code(index);
    Ok(key::plan_key(
        stage,
        code.as_ref(),
        &key::param_values(stage),
        &deps,
        &produced,
    ))
}

/// `icodegen run-stage NAME [--expect KEY]`: brings one stage up to date, as a cluster job
/// does. Returns the exit code (the command's own on failure).
pub fn run_stage(session: &Session, options: &RunStageOptions) -> Result<u8> {
    let Some(index) = session.pipeline.index_of(&options.name) else {
        return Err(PipelineError::UnknownTarget {
            target: options.name.clone(),
            file: session.pipeline.file.clone(),
            suggestion: icodegen_artifacts::params::closest(
                &options.name,
                session
                    .pipeline
                    .stages
                    .iter()
                    .map(|stage| stage.name.as_str()),
            )
            .map(str::to_owned),
        });
    };
    let stage = &session.pipeline.stages[index];
    if options.print_key {
        println!("{}", plan_key(session, index)?);
        session.save();
        return Ok(0);
    }
    let _lock = session.lock_runner(Mode::Shared, &format!("icodegen run-stage {}", stage.name))?;
    process::install_interrupt_handler();
    check_sources(session, &[index])?;
    if let Some(expected) = &options.expect {
        let found = plan_key(session, index)?;
        if &found != expected {
            session.save();
            return Err(PipelineError::StageFailed {
                stage: stage.name.clone(),
                message: format!(
                    "its inputs changed since it was planned (expected key {}, found {}): pipeline.yaml, params, code or input data were edited after submission\nhint: run the planner again",
                    short(expected),
                    short(&found)
                ),
            });
        }
    }
    let lock = session.read_lock()?;
    // Deps made by other stages must be exactly what those stages recorded.
    for (dep_index, producers) in session.graph.producers[index].iter().enumerate() {
        let dep = &stage.deps[dep_index];
        for &producer in producers {
            let upstream = &session.pipeline.stages[producer];
            let Some(record) = lock.stages.get(&upstream.name) else {
                return Err(PipelineError::StageFailed {
                    stage: stage.name.clone(),
                    message: format!(
                        "dep `{dep}` comes from stage `{}`, which has not run",
                        upstream.name
                    ),
                });
            };
            for out in upstream.outs.iter().filter(|out| overlaps(&out.path, dep)) {
                let current = session.hash(&out.path)?;
                let recorded = record.out(&out.path);
                if !matches!((recorded, &current), (Some(recorded), Some(current)) if recorded.matches(current))
                {
                    return Err(PipelineError::StageFailed {
                        stage: stage.name.clone(),
                        message: format!(
                            "`{}` (from stage `{}`) does not match what that stage recorded in the lock",
                            out.path, upstream.name
                        ),
                    });
                }
            }
        }
    }
    let outcome = stage_run::run_stage(
        session,
        index,
        lock.stages.get(&stage.name),
        options.force,
        Output::Inherit,
    );
    session.save();
    let console = &session.console;
    match outcome? {
        Outcome::Fresh => {
            console.info(format!("`{}` is fresh", stage.name));
            Ok(0)
        }
        Outcome::Restored => {
            console.info(format!("Restored `{}` from the run-cache", stage.name));
            Ok(0)
        }
        Outcome::Ran { seconds } => {
            console.verbose(format!("Finished `{}` in {seconds:.2}s", stage.name));
            Ok(0)
        }
        Outcome::Failed { message, code } => {
            console.error(format!("stage `{}` failed: {message}", stage.name));
            Ok(code
                .and_then(|code| u8::try_from(code).ok())
                .filter(|&code| code != 0)
                .unwrap_or(1))
        }
    }
}

/// Whether two workspace paths are the same or one holds the other.
fn overlaps(a: &str, b: &str) -> bool {
    a == b || a.starts_with(&format!("{b}/")) || b.starts_with(&format!("{a}/"))
}
