//! Querying Slurm: job states from `squeue --states=all` (and exit codes from `scontrol show
//! job`), never `sacct`, since many clusters run without accounting storage; and `scancel`.
//! A job Slurm no longer knows, or whose id now names another job, has ended.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::jobs::{JobRecord, read_jobs};
use super::slurm_tool;
use crate::error::{PipelineError, Result};
use crate::session::Session;

/// What Slurm says about a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobState {
    /// Slurm's state, lower case (`pending`, `running`, `completed`, `failed`, `cancelled`, …);
    /// `ended` when Slurm no longer knows the job.
    pub state: String,
    /// Why it is pending, or was cancelled (`Dependency`, `DependencyNeverSatisfied`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The exit code of a failed job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
}

impl JobState {
    fn ended() -> JobState {
        JobState {
            state: "ended".to_owned(),
            reason: None,
            exit_code: None,
        }
    }

    /// Queued or running: not finished.
    pub fn is_active(&self) -> bool {
        !matches!(
            self.state.as_str(),
            "ended"
                | "completed"
                | "cancelled"
                | "failed"
                | "timeout"
                | "preempted"
                | "node_fail"
                | "boot_fail"
                | "deadline"
                | "out_of_memory"
                | "revoked"
                | "special_exit"
        )
    }

    pub fn is_completed(&self) -> bool {
        self.state == "completed"
    }

    /// `pending (Dependency)`, `failed (exit 3)`, `running`.
    pub fn describe(&self) -> String {
        let mut text = self.state.clone();
        let mut notes = Vec::new();
        if let Some(code) = self.exit_code {
            notes.push(format!("exit {code}"));
        }
        if let Some(reason) = &self.reason {
            notes.push(reason.clone());
        }
        if !notes.is_empty() {
            text.push_str(&format!(" ({})", notes.join(", ")));
        }
        text
    }
}

/// The states of recorded jobs, by job id (`12`, `12_3`). Jobs Slurm no longer knows, or that
/// now carry another name (ids reused after a cluster reset), are `ended`.
pub fn query(records: &[&JobRecord]) -> Result<BTreeMap<String, JobState>> {
    let mut states = BTreeMap::new();
    if records.is_empty() {
        return Ok(states);
    }
    let ids: BTreeSet<&str> = records
        .iter()
        .map(|record| record.job.split('_').next().unwrap_or(&record.job))
        .collect();
    let args = vec![
        "--noheader".to_owned(),
        "--array".to_owned(),
        "--states=all".to_owned(),
        "--format=%i|%j|%T|%r".to_owned(),
        format!("--jobs={}", ids.into_iter().collect::<Vec<_>>().join(",")),
    ];
    let listing = match slurm_tool("squeue", &args, None) {
        Ok(listing) => listing,
        // Every id unknown (all purged): squeue says "Invalid job id specified".
        Err(PipelineError::Cluster(message)) if message.contains("Invalid job id") => String::new(),
        Err(error) => return Err(error),
    };
    let mut found: BTreeMap<String, (String, JobState)> = BTreeMap::new();
    for line in listing.lines() {
        let parts: Vec<&str> = line.trim().splitn(4, '|').collect();
        if parts.len() < 4 {
            continue;
        }
        let reason = parts[3].trim();
        found.insert(
            parts[0].to_owned(),
            (
                parts[1].to_owned(),
                JobState {
                    state: parts[2].trim().to_ascii_lowercase(),
                    reason: (!reason.is_empty() && reason != "None").then(|| reason.to_owned()),
                    exit_code: None,
                },
            ),
        );
    }
    for record in records {
        let state = match found.get(&record.job) {
            Some((name, state)) if *name == record.name => {
                let mut state = state.clone();
                if state.state == "failed" {
                    state.exit_code = exit_code(&record.job);
                }
                state
            }
            _ => JobState::ended(),
        };
        states.insert(record.job.clone(), state);
    }
    Ok(states)
}

/// The exit code of a finished job, from `scontrol show job`.
fn exit_code(job: &str) -> Option<i32> {
    let text = slurm_tool(
        "scontrol",
        &[
            "--oneliner".to_owned(),
            "show".to_owned(),
            "job".to_owned(),
            job.to_owned(),
        ],
        None,
    )
    .ok()?;
    let field = text
        .split_whitespace()
        .find_map(|field| field.strip_prefix("ExitCode="))?;
    field.split(':').next()?.parse().ok()
}

/// Each recorded stage of `stages` (all when `None`) with its latest job's state, in
/// topological order; with `superseded`, also earlier jobs resubmitted with `--force`.
pub fn job_states(
    session: &Session,
    stages: Option<&BTreeSet<usize>>,
    superseded: bool,
) -> Result<Vec<(usize, JobRecord, JobState)>> {
    let jobs = read_jobs(session)?;
    let earlier = jobs
        .superseded
        .iter()
        .filter(|_| superseded)
        .map(|(name, record)| (name, record));
    let records: Vec<(usize, &JobRecord)> = jobs
        .jobs
        .iter()
        .chain(earlier)
        .filter_map(|(name, record)| {
            let index = session.pipeline.index_of(name)?;
            stages
                .is_none_or(|chosen| chosen.contains(&index))
                .then_some((index, record))
        })
        .collect();
    let states = query(
        &records
            .iter()
            .map(|(_, record)| *record)
            .collect::<Vec<_>>(),
    )?;
    let mut listed: Vec<(usize, JobRecord, JobState)> = records
        .into_iter()
        .map(|(index, record)| {
            let state = states
                .get(&record.job)
                .cloned()
                .unwrap_or_else(JobState::ended);
            (index, record.clone(), state)
        })
        .collect();
    let position: BTreeMap<usize, usize> = session
        .graph
        .order
        .iter()
        .enumerate()
        .map(|(position, &stage)| (stage, position))
        .collect();
    listed.sort_by_key(|(index, _, _)| position.get(index).copied().unwrap_or(usize::MAX));
    Ok(listed)
}

/// Cancels the queued or running jobs of `stages` (all when `None`); returns what it cancelled.
pub fn cancel(
    session: &Session,
    stages: Option<&BTreeSet<usize>>,
) -> Result<Vec<(usize, JobRecord)>> {
    let active: Vec<(usize, JobRecord)> = job_states(session, stages, true)?
        .into_iter()
        .filter(|(_, _, state)| state.is_active())
        .map(|(index, record, _)| (index, record))
        .collect();
    if !active.is_empty() {
        let ids: Vec<String> = active
            .iter()
            .map(|(_, record)| record.job.clone())
            .collect();
        slurm_tool("scancel", &ids, None)?;
    }
    Ok(active)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_states_say_whether_a_job_is_still_queued() {
        let state = |state: &str| JobState {
            state: state.to_owned(),
            reason: None,
            exit_code: None,
        };
        assert!(state("pending").is_active());
        assert!(state("running").is_active());
        assert!(!state("completed").is_active());
        assert!(!state("cancelled").is_active());
        assert!(!JobState::ended().is_active());
        let failed = JobState {
            exit_code: Some(3),
            reason: Some("NonZeroExitCode".to_owned()),
            ..state("failed")
        };
        assert_eq!(failed.describe(), "failed (exit 3, NonZeroExitCode)");
    }
}
