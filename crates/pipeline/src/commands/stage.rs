//! `icodegen run-stage`: one stage brought up to date, as each Slurm job does, refusing to run
//! when its inputs changed since it was planned.

use super::check_sources;
use crate::error::{PipelineError, Result};
use crate::exec::process::Output;
use crate::exec::stage_run::{self, Outcome};
use crate::safety::runner_lock::Mode;
use crate::session::Session;
use crate::store::short;

/// What `icodegen run-stage` needs.
#[derive(Debug, Clone, Default)]
pub struct RunStageOptions {
    pub name: String,
    pub expect: Option<String>,
    pub force: bool,
    /// Print the plan key and exit.
    pub print_key: bool,
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
        println!("{}", session.plan_key(index)?);
        session.save();
        return Ok(0);
    }
    let _lock = session.lock_runner(Mode::Shared, &format!("icodegen run-stage {}", stage.name))?;
    crate::signals::install_interrupt_handler();
    check_sources(session, &[index])?;
    if let Some(expected) = &options.expect {
        let found = session.plan_key(index)?;
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
