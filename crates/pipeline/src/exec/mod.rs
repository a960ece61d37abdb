//! The execution layer: executors take a plan (stages in topological order) and bring its
//! stages up to date.
//!
//! `repro` has one path: it plans, builds a [`Request`], and hands it to an [`Executor`].
//! [`Local`] runs the stages on this machine, independent stages side by side up to `-j`, each
//! through [`stage_run::run_stage`]. [`Slurm`] submits the stale ones as chained jobs and
//! returns without waiting; each job runs `icodegen run-stage NAME --expect KEY`, which calls
//! the same `run_stage` on the compute node. Both take the runner locks they need, and both say
//! under `dry_run` what they would do without doing it.
//!
//! Also here: [`stage_run`] (one stage, shared by every executor) and [`process`] (a stage's
//! command, its process group and what it leaves behind). This layer imports the session and
//! everything below it; only `commands` is above it.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::session::Session;

pub mod local;
pub mod process;
pub mod slurm;
pub mod stage_run;

pub use local::Local;
pub use slurm::Slurm;
pub use stage_run::Outcome;

/// What to run and how.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Stages in topological order.
    pub plan: Vec<usize>,
    /// Run even if fresh (and do not restore from the run-cache).
    pub force: bool,
    /// After a failure, go on with stages that do not depend on it.
    pub keep_going: bool,
    /// Stages at most at once.
    pub jobs: usize,
    /// Say what would be done (lines for stdout, in [`Report::dry_run`]), do nothing.
    pub dry_run: bool,
}

/// What happened to each planned stage.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub outcomes: BTreeMap<usize, Outcome>,
    /// Not run because a stage they depend on failed.
    pub skipped: Vec<usize>,
    /// Not started because the run stopped (a failure without `--keep-going`, or an interrupt).
    pub not_started: Vec<usize>,
    pub interrupted: bool,
    pub seconds: f64,
    /// Handed to a scheduler, to run later: stage, job id, log.
    pub submitted: Vec<(usize, String, String)>,
    /// With [`Request::dry_run`]: what would be done, one line (or command) each.
    pub dry_run: Option<Vec<String>>,
}

impl Report {
    pub fn count(&self, matches: impl Fn(&Outcome) -> bool) -> usize {
        self.outcomes
            .values()
            .filter(|outcome| matches(outcome))
            .count()
    }

    pub fn failed(&self) -> Vec<(usize, &str)> {
        self.outcomes
            .iter()
            .filter_map(|(&stage, outcome)| match outcome {
                Outcome::Failed { message, .. } => Some((stage, message.as_str())),
                _ => None,
            })
            .collect()
    }
}

/// Where stages run.
pub trait Executor {
    /// Brings the stages of `request.plan` up to date, or hands them to what will; takes the
    /// runner locks it needs. Stage failures are outcomes in the report, not errors.
    fn execute(&self, session: &Session, request: &Request) -> Result<Report>;

    /// The line `repro` prints when no stage failed.
    fn summary(&self, session: &Session, report: &Report) -> String;
}
