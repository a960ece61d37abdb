//! Looking at a pipeline: `status` (with the Slurm job of each stage worth showing), `jobs`,
//! `cancel` and `dag`.

use std::collections::{BTreeMap, BTreeSet};

use super::plan_for;
use crate::console::Style;
use crate::error::Result;
use crate::exec::slurm;
use crate::graph::dag;
use crate::graph::plan::Reach;
use crate::keys::status::{StageStatus, State};
use crate::session::Session;

/// The job of each stage in `shown` worth showing in `status`: queued or running, or ended
/// without success while the stage is still not fresh. A missing Slurm is a warning here.
fn status_jobs(
    session: &Session,
    shown: &BTreeSet<usize>,
    statuses: &[StageStatus],
) -> BTreeMap<usize, StageJob> {
    let mut jobs = BTreeMap::new();
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
            jobs.insert(stage, StageJob { record, state });
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
                job_json(record, state),
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
    let statuses = session.status(&lock, explain)?;
    session.save();
    let statuses: Vec<_> = statuses
        .into_iter()
        .filter(|status| shown.contains(&status.stage))
        .collect();
    let jobs = status_jobs(session, &shown, &statuses);
    Ok(if json {
        render_json(session, &statuses, &jobs)
    } else {
        render_table(session, &statuses, explain, &jobs)
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

/// A stage's Slurm job, as `status` shows it.
#[derive(Debug, Clone)]
pub struct StageJob {
    pub record: slurm::JobRecord,
    pub state: slurm::JobState,
}

/// A job as JSON: `{"id", "state", "reason"?, "exit_code"?, "log"}`.
pub fn job_json(record: &slurm::JobRecord, state: &slurm::JobState) -> serde_json::Value {
    let mut value = serde_json::json!({
        "id": record.job,
        "state": state.state,
        "log": record.log,
    });
    if let Some(reason) = &state.reason {
        value["reason"] = serde_json::json!(reason);
    }
    if let Some(code) = state.exit_code {
        value["exit_code"] = serde_json::json!(code);
    }
    value
}

/// `status` as an aligned table; a stage's Slurm job, if any, after its state.
pub fn render_table(
    session: &Session,
    statuses: &[StageStatus],
    explain: bool,
    jobs: &BTreeMap<usize, StageJob>,
) -> String {
    let console = &session.console;
    let width = statuses
        .iter()
        .map(|status| session.pipeline.stages[status.stage].name.len())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for status in statuses {
        let name = &session.pipeline.stages[status.stage].name;
        let style = match status.state {
            State::Fresh => Style::Green,
            State::Stale => Style::Yellow,
            State::NeverRun => Style::Cyan,
        };
        let state = console.out(status.state, style);
        text.push_str(&format!("{name:<width$}  {state}"));
        if let Some(job) = jobs.get(&status.stage) {
            let pad = "never-run".len() - status.state.to_string().len();
            let style = if job.state.is_active() {
                Style::Cyan
            } else {
                Style::Red
            };
            text.push_str(&format!(
                "{:pad$}  {}",
                "",
                console.out(
                    format!("job {} {}", job.record.job, job.state.describe()),
                    style
                )
            ));
        }
        if explain {
            for reason in &status.reasons {
                text.push_str(&format!(
                    "\n{:width$}    {}",
                    "",
                    console.out(reason, Style::Dim)
                ));
            }
        }
        text.push('\n');
    }
    if statuses.is_empty() {
        text.push_str("(no stages)\n");
    }
    text
}

/// `status --json`: `{"stages": {NAME: {"state": ..., "reasons": [...]}}}` in topological order.
/// A stage with a Slurm job worth showing also has `"job": {"id", "state", "log", ...}`.
pub fn render_json(
    session: &Session,
    statuses: &[StageStatus],
    jobs: &BTreeMap<usize, StageJob>,
) -> String {
    let mut stages = serde_json::Map::new();
    for status in statuses {
        let mut value = serde_json::to_value(status).expect("statuses serialize");
        if let Some(job) = jobs.get(&status.stage) {
            value["job"] = job_json(&job.record, &job.state);
        }
        stages.insert(session.pipeline.stages[status.stage].name.clone(), value);
    }
    let mut text =
        serde_json::to_string_pretty(&serde_json::json!({ "stages": stages })).expect("JSON");
    text.push('\n');
    text
}
