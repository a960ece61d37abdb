//! The runner's commands, one function each; the `icodegen` binary parses arguments and calls
//! these. Results meant for scripts (`status`, `dag`) are returned as text for stdout; progress
//! and warnings go through the session's console to stderr.
//!
//! The top layer: `repro` (here) plans and hands the plan to an executor; [`inspect`]
//! (`status`, `jobs`, `cancel`, `dag`), [`cache`] (`checkout`, `gc`), [`stage`] (`run-stage`,
//! what each Slurm job runs) and [`tables`] (the artifacts `icodegen query` reads). Nothing in
//! the crate imports this module.

use crate::error::{PipelineError, Result};
use crate::exec::slurm::SubmitOptions;
use crate::exec::{Executor, Local, Request, Slurm};
use crate::graph::plan::{self, Reach};
use crate::session::Session;
use crate::spec::Field;

pub mod cache;
pub mod diff;
pub mod inspect;
pub mod remote;
pub mod stage;
pub mod tables;

pub use cache::{GcOptions, checkout, gc};
pub use inspect::{cancel, dag, jobs, status};
pub use remote::{
    fetch, gc_remote, pull, push, remote_add, remote_list, remote_remove, remote_status, set_pull,
};
pub use stage::{RunStageOptions, run_stage};

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
    pub slurm: Option<SubmitOptions>,
}

pub(crate) fn plan_for(session: &Session, targets: &[String], reach: Reach) -> Result<Vec<usize>> {
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
    let request = Request {
        plan,
        force: options.force,
        keep_going: options.keep_going,
        jobs: options.jobs.max(1),
        dry_run: options.dry_run,
    };
    let executor: Box<dyn Executor> = match &options.slurm {
        Some(slurm) => Box::new(Slurm {
            options: slurm.clone(),
        }),
        None => Box::new(Local),
    };
    let report = executor.execute(session, &request);
    session.save();
    let report = report?;
    if let Some(lines) = &report.dry_run {
        for line in lines {
            println!("{line}");
        }
        return Ok(());
    }
    if report.interrupted {
        return Err(PipelineError::Interrupted);
    }
    let failed = report.failed();
    if failed.is_empty() {
        session.console.info(executor.summary(session, &report));
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
