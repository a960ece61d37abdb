//! The jobs file, `cache/slurm/jobs.json`: the latest job of each stage (and earlier ones
//! resubmitted with `--force` while still queued), rewritten atomically under
//! `cache/slurm/jobs.lock` so that concurrent submissions never lose each other's records.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{IoContext, PipelineError, Result};
use crate::session::Session;

const JOBS_VERSION: u32 = 1;

/// One submitted job of a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    /// `12`, or `12_3` for task 3 of array job 12.
    pub job: String,
    /// The Slurm job name (`icg.<stage>` or `icg.<group>`).
    pub name: String,
    /// The job's output file, relative to the pipeline's folder when inside it.
    pub log: String,
    /// The plan key the job expects.
    pub key: String,
    /// Seconds since the epoch.
    pub submitted: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobsFile {
    pub version: u32,
    /// Stage name -> its latest job.
    pub jobs: BTreeMap<String, JobRecord>,
    /// Earlier jobs of stages resubmitted with `--force` while still queued (stage, job), kept
    /// until they end so that `cancel` and the queue check still see them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub superseded: Vec<(String, JobRecord)>,
}

/// `cache/slurm`, beside the cache's layout folder.
pub fn dir(session: &Session) -> PathBuf {
    session.cache_dir().join("slurm")
}

pub fn jobs_path(session: &Session) -> PathBuf {
    dir(session).join("jobs.json")
}

pub fn read_jobs(session: &Session) -> Result<JobsFile> {
    let path = jobs_path(session);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|error| PipelineError::Cache {
            path: path.clone(),
            message: format!("unreadable jobs file ({error})\nhint: delete it; it only records submitted Slurm jobs"),
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(JobsFile::default()),
        Err(error) => Err(PipelineError::io("read", path, error)),
    }
}

/// Changes the jobs file under its file lock, written atomically.
pub(super) fn update_jobs(session: &Session, change: impl FnOnce(&mut JobsFile)) -> Result<()> {
    let folder = dir(session);
    std::fs::create_dir_all(&folder).at("create", &folder)?;
    let guard = folder.join("jobs.lock");
    let guard_file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&guard)
        .at("open", &guard)?;
    guard_file.lock().at("lock", &guard)?;
    let mut jobs = read_jobs(session)?;
    change(&mut jobs);
    jobs.version = JOBS_VERSION;
    let mut text = serde_json::to_string_pretty(&jobs).expect("jobs serialize");
    text.push('\n');
    Ok(icodegen_artifacts::atomic::write_bytes(
        jobs_path(session),
        text.as_bytes(),
    )?)
}
