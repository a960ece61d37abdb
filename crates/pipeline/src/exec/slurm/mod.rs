//! Cluster execution on Slurm: the whole stale part of a plan is submitted at once, one
//! `sbatch` job per stage (sibling `foreach`/`matrix` stages as one job array), chained by
//! `--dependency=afterok:…` with `--kill-on-invalid-dep=yes`, and `icodegen` exits. Each job runs
//! `icodegen run-stage NAME --expect PLAN_KEY`, which brings the stage up to date exactly as the
//! local executor does ([`crate::exec::stage_run::run_stage`]) and fails loudly if the stage's inputs
//! changed since it was planned.
//!
//! ```text
//! cache/slurm/jobs.json       the latest job of each stage (written atomically under jobs.lock)
//! cache/slurm/logs/           job output: <stage>-<jobid>.out, <group>-<jobid>_<task>.out
//! ```
//!
//! Job states come from `squeue` (and `scontrol` for exit codes), never `sacct`: many clusters
//! run without accounting storage. A job Slurm no longer knows has ended; the lock then tells
//! whether its stage is fresh. Resources only shape the `sbatch` options; they are no part of any
//! key.
//!
//! Split by concern: [`jobs`] (the jobs file and its records), [`resources`] (what each job
//! asks for), [`queries`] (`squeue`, `scontrol`, `scancel`), [`script`] (job scripts, safe
//! names), [`submit`] (units, dependencies, holding and rolling back). [`Slurm`] is the
//! [`Executor`] that `repro --executor slurm` uses.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};

use super::{Executor, Report, Request};
use crate::console::Style;
use crate::error::{PipelineError, Result};
use crate::keys::status::State;
use crate::safety::runner_lock::Mode;
use crate::session::Session;
use crate::spec::Resources;

pub mod jobs;
pub mod queries;
pub mod resources;
pub mod script;
pub mod submit;

pub use jobs::{JobRecord, JobsFile, dir, jobs_path, read_jobs};
pub use queries::{JobState, cancel, job_states, query};
pub use resources::{merge, params_defaults, resource_args};
pub use submit::{Submission, submit};

/// Job names start with this, so a recorded id reused by an unrelated job is not mistaken.
const NAME_PREFIX: &str = "icg.";

/// Options of `repro --executor slurm`.
#[derive(Debug, Clone, Default)]
pub struct SubmitOptions {
    /// Defaults from the command line (over `slurm:` in params.yaml, under each stage's own).
    pub defaults: Resources,
    /// Submit even while jobs of this pipeline are queued; re-run fresh stages too.
    pub force: bool,
    /// Print the `sbatch` commands, submit nothing.
    pub dry_run: bool,
    /// Submit sibling `foreach`/`matrix` stages as one job array.
    pub arrays: bool,
}

/// Submits the stale stages of a plan as chained Slurm jobs and returns without waiting: each
/// job later brings its stage up to date with `icodegen run-stage`, which shares
/// [`crate::exec::stage_run::run_stage`] with [`crate::exec::Local`].
#[derive(Debug, Clone, Default)]
pub struct Slurm {
    pub options: SubmitOptions,
}

impl Executor for Slurm {
    fn execute(&self, session: &Session, request: &Request) -> Result<Report> {
        // Shared: beside running jobs (they hold it shared too), never beside a local `repro`.
        let _lock = session.lock_runner(Mode::Shared, "icodegen repro --executor slurm")?;
        let mut report = Report::default();
        let active = self.queued(session, request)?;
        let lock = session.read_lock()?;
        let statuses = session.status(&lock, false)?;
        let planned: BTreeSet<usize> = request.plan.iter().copied().collect();
        let stale: BTreeSet<usize> = statuses
            .iter()
            .filter(|status| request.force || status.state != State::Fresh)
            .map(|status| status.stage)
            .collect();
        let (submit, fresh): (Vec<usize>, Vec<usize>) = request
            .plan
            .iter()
            .copied()
            .filter(|stage| planned.contains(stage))
            .partition(|stage| stale.contains(stage));
        for stage in fresh {
            report
                .outcomes
                .insert(stage, super::stage_run::Outcome::Fresh);
        }
        if submit.is_empty() {
            session.save();
            if request.dry_run {
                report.dry_run = Some(vec![self.summary(session, &report)]);
            }
            return Ok(report);
        }
        let mut keys = BTreeMap::new();
        for &stage in &submit {
            keys.insert(stage, session.plan_key(stage)?);
        }
        session.save();
        let options = SubmitOptions {
            force: request.force,
            dry_run: request.dry_run,
            ..self.options.clone()
        };
        let submission = submit::submit(session, &submit, &keys, &active, &options)?;
        if request.dry_run {
            report.dry_run = Some(submission.commands);
        }
        report.submitted = submission.jobs;
        Ok(report)
    }

    fn summary(&self, session: &Session, report: &Report) -> String {
        let console = &session.console;
        if report.submitted.is_empty() {
            return format!(
                "Nothing to submit: {} stage(s) are fresh.",
                report.outcomes.len()
            );
        }
        let listed: Vec<String> = report
            .submitted
            .iter()
            .map(|(stage, job, _)| {
                format!("`{}` (job {job})", session.pipeline.stages[*stage].name)
            })
            .collect();
        format!(
            "{} {} stage(s) to Slurm: {}\nlogs in `{}`; follow with `icodegen status` or `icodegen jobs`, stop with `icodegen cancel`",
            console.err("Submitted", Style::Green),
            report.submitted.len(),
            listed.join(", "),
            dir(session).join("logs").display()
        )
    }
}

impl Slurm {
    /// The still-queued jobs of this pipeline, by stage. Without `force` (or `dry_run`), any
    /// refuses the submission: new jobs would race the old ones.
    fn queued(&self, session: &Session, request: &Request) -> Result<BTreeMap<usize, Vec<String>>> {
        let mut active: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        let mut queued = Vec::new();
        if !read_jobs(session)?.jobs.is_empty() {
            for (stage, record, state) in job_states(session, None, true)? {
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
        if !queued.is_empty() && !request.force && !request.dry_run {
            return Err(PipelineError::JobsQueued(format!(
                "{} job(s) of this pipeline are still queued or running: {} (recorded in `{}`)\nhint: wait for them (`icodegen status`), cancel them (`icodegen cancel`), or submit anyway with `--force` (new jobs of the same stages wait for the old ones; fresh stages run again too)",
                queued.len(),
                queued.join(", "),
                jobs_path(session).display()
            )));
        }
        Ok(active)
    }
}

fn cluster_error(message: impl Into<String>) -> PipelineError {
    PipelineError::Cluster(message.into())
}

/// Runs a Slurm client command; its stdout on success.
fn slurm_tool(program: &str, args: &[String], stdin: Option<&str>) -> Result<String> {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = command.spawn().map_err(|error| {
        cluster_error(format!(
            "cannot run `{program}`: {error}\nhint: Slurm's client commands must be on PATH (run icodegen on a login node of the cluster)"
        ))
    })?;
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("piped stdin");
        pipe.write_all(text.as_bytes())
            .map_err(|error| cluster_error(format!("cannot write to `{program}`: {error}")))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|error| cluster_error(format!("`{program}` did not finish: {error}")))?;
    if !output.status.success() {
        return Err(cluster_error(format!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            crate::exec::process::describe(&output.status),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
