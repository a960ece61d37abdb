//! Executors take a plan (stages in topological order) and bring its stages up to date.
//!
//! [`Local`] runs them on this machine, independent stages side by side up to `-j`, each through
//! [`stage_run::run_stage`]. The Slurm executor ([`crate::slurm::submit`]) does not wait for
//! outcomes, so it is not an `Executor`: it submits one `icodegen run-stage NAME --expect KEY`
//! job per stale stage, chained by job dependencies, and returns; `run-stage` then calls the
//! same `run_stage` on the compute node.

use std::collections::BTreeMap;
use std::sync::mpsc;

use crate::error::Result;
use crate::lock::LockFile;
use crate::plan::{Schedule, Step};
use crate::process::{self, Output};
use crate::session::Session;
use crate::stage_run::{self, Outcome};

/// What to run and how.
#[derive(Debug, Clone)]
pub struct Request {
    /// Stages in topological order.
    pub plan: Vec<usize>,
    /// Run even if fresh (and do not restore from the run-cache).
    pub force: bool,
    /// After a failure, go on with stages that do not depend on it.
    pub keep_going: bool,
    /// Stages at most at once.
    pub jobs: usize,
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

pub trait Executor {
    fn execute(&self, session: &Session, request: &Request) -> Result<Report>;
}

/// Runs stages on this machine.
pub struct Local;

impl Executor for Local {
    fn execute(&self, session: &Session, request: &Request) -> Result<Report> {
        let started = std::time::Instant::now();
        let lock = session.read_lock()?;
        let mut schedule = Schedule::new(&session.graph, &request.plan, request.keep_going);
        let jobs = request.jobs.max(1);
        let output = if jobs > 1 {
            Output::Prefixed
        } else {
            Output::Inherit
        };
        let mut report = Report::default();
        std::thread::scope(|scope| {
            let (sender, receiver) = mpsc::channel::<(usize, Outcome)>();
            loop {
                if process::interrupted() {
                    schedule.stop();
                    report.interrupted = true;
                }
                while schedule.running() < jobs {
                    let Some(stage) = schedule.start_next() else {
                        break;
                    };
                    let sender = sender.clone();
                    let lock: &LockFile = &lock;
                    scope.spawn(move || {
                        let name = &session.pipeline.stages[stage].name;
                        let outcome = stage_run::run_stage(
                            session,
                            stage,
                            lock.stages.get(name),
                            request.force,
                            output,
                        )
                        .unwrap_or_else(|error| Outcome::Failed {
                            message: error.to_string(),
                            code: None,
                        });
                        let _ = sender.send((stage, outcome));
                    });
                }
                if schedule.running() == 0 {
                    break;
                }
                let Ok((stage, outcome)) = receiver.recv() else {
                    break;
                };
                self.announce(session, stage, &outcome);
                match &outcome {
                    Outcome::Failed { .. } => {
                        let skipped = schedule.failed(stage);
                        for &skip in &skipped {
                            session.console.warn(format!(
                                "skipping `{}`: it depends on `{}`, which failed",
                                session.pipeline.stages[skip].name,
                                session.pipeline.stages[stage].name
                            ));
                        }
                    }
                    _ => schedule.succeeded(stage),
                }
                report.outcomes.insert(stage, outcome);
            }
        });
        report.skipped = schedule.in_step(Step::Skipped);
        report.not_started = schedule.in_step(Step::Waiting);
        report.interrupted |= process::interrupted();
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }
}

impl Local {
    fn announce(&self, session: &Session, stage: usize, outcome: &Outcome) {
        use crate::console::Style;
        let console = &session.console;
        let name = &session.pipeline.stages[stage].name;
        match outcome {
            Outcome::Fresh => console.verbose(format!("`{name}` is fresh")),
            Outcome::Restored => console.info(format!(
                "{} `{name}` from the run-cache",
                console.err("Restored", Style::Green)
            )),
            Outcome::Ran { seconds } => console.verbose(format!(
                "{} `{name}` in {seconds:.2}s",
                console.err("Finished", Style::Green)
            )),
            Outcome::Failed { message, .. } => {
                console.error(format!("stage `{name}` failed: {message}"));
            }
        }
    }
}
