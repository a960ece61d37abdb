//! The local executor: stages run on this machine, in topological order, independent ones side
//! by side up to `-j`.

use std::collections::BTreeSet;
use std::sync::mpsc;

use super::process::Output;
use super::stage_run::{self, Outcome};
use super::{Executor, Report, Request};
use crate::console::Style;
use crate::error::Result;
use crate::graph::plan::{Schedule, Step};
use crate::keys::lock::LockFile;
use crate::keys::status::State;
use crate::safety::runner_lock::Mode;
use crate::session::Session;
use crate::signals;

/// Runs stages on this machine.
pub struct Local;

impl Executor for Local {
    fn execute(&self, session: &Session, request: &Request) -> Result<Report> {
        if request.dry_run {
            return self.dry_run(session, request);
        }
        let _lock = session.lock_runner(Mode::Exclusive, "icodegen repro")?;
        signals::install_interrupt_handler();
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
                if signals::interrupted() {
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
        report.interrupted |= signals::interrupted();
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    fn summary(&self, session: &Session, report: &Report) -> String {
        let console = &session.console;
        let ran = report.count(|outcome| matches!(outcome, Outcome::Ran { .. }));
        let restored = report.count(|outcome| matches!(outcome, Outcome::Restored));
        let fresh = report.count(|outcome| matches!(outcome, Outcome::Fresh));
        if ran + restored == 0 {
            format!("Nothing to do: {fresh} stage(s) are fresh.")
        } else {
            format!(
                "{} {ran} ran, {restored} restored from the run-cache, {fresh} fresh, in {:.1}s.",
                console.err("Done:", Style::Green),
                report.seconds
            )
        }
    }
}

impl Local {
    /// What `repro --dry-run` prints: each planned stage that would run, and why.
    fn dry_run(&self, session: &Session, request: &Request) -> Result<Report> {
        let lock = session.read_lock()?;
        let statuses = session.status(&lock, false)?;
        let planned: BTreeSet<usize> = request.plan.iter().copied().collect();
        let mut lines = Vec::new();
        for status in statuses
            .iter()
            .filter(|status| planned.contains(&status.stage))
        {
            let name = &session.pipeline.stages[status.stage].name;
            if request.force {
                lines.push(format!("would run `{name}` (forced)"));
            } else if status.state != State::Fresh {
                let reason = status
                    .reasons
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                lines.push(format!("would run `{name}` ({reason})"));
            }
        }
        if lines.is_empty() {
            lines.push(format!(
                "nothing to run: {} stage(s) are fresh",
                request.plan.len()
            ));
        }
        Ok(Report {
            dry_run: Some(lines),
            ..Report::default()
        })
    }

    fn announce(&self, session: &Session, stage: usize, outcome: &Outcome) {
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
