//! Cluster execution on Slurm: the whole stale part of a plan is submitted at once, one
//! `sbatch` job per stage (sibling `foreach`/`matrix` stages as one job array), chained by
//! `--dependency=afterok:…` with `--kill-on-invalid-dep=yes`, and `icodegen` exits. Each job runs
//! `icodegen run-stage NAME --expect PLAN_KEY`, which brings the stage up to date exactly as the
//! local executor does ([`crate::stage_run::run_stage`]) and fails loudly if the stage's inputs
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

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::error::{IoContext, PipelineError, Result};
use crate::session::Session;
use crate::spec::Resources;

/// Job names start with this, so a recorded id reused by an unrelated job is not mistaken.
const NAME_PREFIX: &str = "icg.";
const JOBS_VERSION: u32 = 1;

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

// ---- the jobs file ---------------------------------------------------------------------------

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

pub fn dir(session: &Session) -> PathBuf {
    session.store.dir.parent().map_or_else(
        || session.store.dir.join("slurm"),
        |cache| cache.join("slurm"),
    )
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
fn update_jobs(session: &Session, change: impl FnOnce(&mut JobsFile)) -> Result<()> {
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
    crate::store::write_atomic(&jobs_path(session), text.as_bytes())
}

// ---- resources -------------------------------------------------------------------------------

/// `slurm:` in params.yaml: defaults for every stage.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamsDefaults {
    cpus: Option<u32>,
    mem: Option<Scalar>,
    gpus: Option<u32>,
    time: Option<Scalar>,
    partition: Option<String>,
    account: Option<String>,
    #[serde(default)]
    extra: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Number(u64),
    Text(String),
}

impl Scalar {
    fn text(self) -> String {
        match self {
            Scalar::Number(number) => number.to_string(),
            Scalar::Text(text) => text,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct ParamsWithSlurm {
    slurm: Option<ParamsDefaults>,
}

/// The defaults under `slurm:` in params.yaml (none when absent).
pub fn params_defaults(session: &Session) -> Result<Resources> {
    let file = session.pipeline.root.join(crate::params::DEFAULT_FILE);
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Resources::default());
        }
        Err(error) => return Err(PipelineError::io("read", file, error)),
    };
    if text.trim().is_empty() {
        return Ok(Resources::default());
    }
    let display = session
        .pipeline
        .file
        .parent()
        .unwrap_or(Path::new(""))
        .join(crate::params::DEFAULT_FILE);
    let parsed: ParamsWithSlurm = crate::yaml::from_str(&display, &text)?;
    let Some(raw) = parsed.slurm else {
        return Ok(Resources::default());
    };
    Ok(Resources {
        cpus: raw.cpus,
        mem: raw.mem.map(Scalar::text),
        gpus: raw.gpus,
        time: raw.time.map(Scalar::text),
        partition: raw.partition,
        account: raw.account,
        extra: raw.extra,
    })
}

/// The stage's own resources, then the command line's, then params.yaml's. `extra` lists add
/// up (params first, so later options win in `sbatch`).
pub fn merge(stage: &Resources, cli: &Resources, params: &Resources) -> Resources {
    let pick = |a: &Option<String>, b: &Option<String>, c: &Option<String>| {
        a.clone().or_else(|| b.clone()).or_else(|| c.clone())
    };
    Resources {
        cpus: stage.cpus.or(cli.cpus).or(params.cpus),
        mem: pick(&stage.mem, &cli.mem, &params.mem),
        gpus: stage.gpus.or(cli.gpus).or(params.gpus),
        time: pick(&stage.time, &cli.time, &params.time),
        partition: pick(&stage.partition, &cli.partition, &params.partition),
        account: pick(&stage.account, &cli.account, &params.account),
        extra: params
            .extra
            .iter()
            .chain(&cli.extra)
            .chain(&stage.extra)
            .cloned()
            .collect(),
    }
}

/// The `sbatch` options for `resources`.
pub fn resource_args(resources: &Resources) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(cpus) = resources.cpus {
        args.push(format!("--cpus-per-task={cpus}"));
    }
    if let Some(mem) = &resources.mem {
        args.push(format!("--mem={mem}"));
    }
    if let Some(gpus) = resources.gpus.filter(|&gpus| gpus > 0) {
        args.push(format!("--gres=gpu:{gpus}"));
    }
    if let Some(time) = &resources.time {
        args.push(format!("--time={time}"));
    }
    if let Some(partition) = &resources.partition {
        args.push(format!("--partition={partition}"));
    }
    if let Some(account) = &resources.account {
        args.push(format!("--account={account}"));
    }
    args.extend(resources.extra.iter().cloned());
    args
}

/// A stage or group name as a file and job name: anything unusual becomes `_` (`%` would be
/// expanded by `sbatch` in file names).
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+' | '=') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Single-quoted for `sh`.
fn quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-=@+:,".contains(c))
    {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

// ---- querying Slurm ----------------------------------------------------------------------------

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
            crate::process::describe(&output.status),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
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

// ---- submitting --------------------------------------------------------------------------------

/// One `sbatch` call: a stage, or sibling stages as an array.
#[derive(Debug, Clone)]
struct Unit {
    stages: Vec<usize>,
    resources: Resources,
}

impl Unit {
    fn is_array(&self) -> bool {
        self.stages.len() > 1
    }
}

/// What was (or, with `dry_run`, would be) submitted.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    /// Stage, its job id and log, in submission order.
    pub jobs: Vec<(usize, String, String)>,
    /// With `dry_run`: each `sbatch` command line and its script.
    pub commands: Vec<String>,
}

/// Groups the stages to submit into units, in an order where every unit comes after the units
/// it depends on. Siblings of a `foreach`/`matrix` group with the same resources, none
/// depending on another, form one array.
fn units(
    session: &Session,
    submit: &[usize],
    resources: &BTreeMap<usize, Resources>,
    arrays: bool,
) -> Vec<Unit> {
    let singles = || {
        submit
            .iter()
            .map(|&stage| Unit {
                stages: vec![stage],
                resources: resources[&stage].clone(),
            })
            .collect::<Vec<_>>()
    };
    if !arrays {
        return singles();
    }
    let mut groups: Vec<Unit> = Vec::new();
    for &stage in submit {
        let group = &session.pipeline.stages[stage].group;
        let fits = |unit: &Unit| {
            let first = unit.stages[0];
            group.is_some()
                && session.pipeline.stages[first].group == *group
                && unit.resources == resources[&stage]
                && unit.stages.iter().all(|&member| {
                    !session.graph.with_upstream(&[stage]).contains(&member)
                        && !session.graph.with_upstream(&[member]).contains(&stage)
                })
        };
        match groups.iter_mut().find(|unit| fits(unit)) {
            Some(unit) => unit.stages.push(stage),
            None => groups.push(Unit {
                stages: vec![stage],
                resources: resources[&stage].clone(),
            }),
        }
    }
    // Order units topologically (Kahn); arrays could in principle form a cycle between them,
    // and then every stage goes alone.
    let unit_of: BTreeMap<usize, usize> = groups
        .iter()
        .enumerate()
        .flat_map(|(unit, members)| members.stages.iter().map(move |&stage| (stage, unit)))
        .collect();
    let mut needs: Vec<BTreeSet<usize>> = groups
        .iter()
        .enumerate()
        .map(|(index, unit)| {
            unit.stages
                .iter()
                .flat_map(|&stage| session.graph.upstream[stage].iter())
                .filter_map(|up| unit_of.get(up).copied())
                .filter(|&up| up != index)
                .collect()
        })
        .collect();
    let mut ordered = Vec::new();
    let mut done = vec![false; groups.len()];
    while ordered.len() < groups.len() {
        let Some(next) = (0..groups.len()).find(|&unit| !done[unit] && needs[unit].is_empty())
        else {
            return singles();
        };
        done[next] = true;
        ordered.push(groups[next].clone());
        for need in &mut needs {
            need.remove(&next);
        }
    }
    ordered
}

/// The job script of a unit: `cd` to the pipeline, `exec icodegen run-stage`.
fn script(
    session: &Session,
    runner: &Path,
    cache: &Path,
    unit: &Unit,
    keys: &BTreeMap<usize, String>,
) -> String {
    let root = &session.pipeline.root;
    let pipeline_file = root.join(
        session
            .pipeline
            .file
            .file_name()
            .unwrap_or(std::ffi::OsStr::new(crate::session::PIPELINE_FILE)),
    );
    let line = |stage: usize| {
        format!(
            "exec {} run-stage {} --expect {} --pipeline {} --cache {}",
            quote(&runner.to_string_lossy()),
            quote(&session.pipeline.stages[stage].name),
            keys[&stage],
            quote(&pipeline_file.to_string_lossy()),
            quote(&cache.to_string_lossy()),
        )
    };
    let mut text = format!(
        "#!/bin/sh\n# icodegen: {}\ncd {} || exit 1\n",
        unit.stages
            .iter()
            .map(|&stage| session.pipeline.stages[stage].name.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        quote(&root.to_string_lossy())
    );
    if unit.is_array() {
        text.push_str("case \"$SLURM_ARRAY_TASK_ID\" in\n");
        for (task, &stage) in unit.stages.iter().enumerate() {
            text.push_str(&format!("  {task}) {} ;;\n", line(stage)));
        }
        text.push_str(
            "esac\necho \"icodegen: no stage for array task $SLURM_ARRAY_TASK_ID\" >&2\nexit 1\n",
        );
    } else {
        text.push_str(&line(unit.stages[0]));
        text.push('\n');
    }
    text
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Submits `submit` (stages in topological order, each with its plan key); `active` are jobs
/// of this pipeline still queued (only with `force`): a new job of the same stage waits for
/// the old one to end.
pub fn submit(
    session: &Session,
    submit: &[usize],
    keys: &BTreeMap<usize, String>,
    active: &BTreeMap<usize, Vec<String>>,
    options: &SubmitOptions,
) -> Result<Submission> {
    let params = params_defaults(session)?;
    let resources: BTreeMap<usize, Resources> = submit
        .iter()
        .map(|&stage| {
            (
                stage,
                merge(
                    &session.pipeline.stages[stage].resources,
                    &options.defaults,
                    &params,
                ),
            )
        })
        .collect();
    let units = units(session, submit, &resources, options.arrays);
    let runner = session.runner.clone().ok_or_else(|| {
        cluster_error(
            "cannot find the path of the running `icodegen` executable for the job scripts",
        )
    })?;
    let cache = session
        .store
        .dir
        .parent()
        .map_or_else(|| session.store.dir.clone(), Path::to_path_buf);
    let logs = dir(session).join("logs");
    if !options.dry_run {
        std::fs::create_dir_all(&logs).at("create", &logs)?;
    }
    let shown_log = |path: PathBuf| -> String {
        path.strip_prefix(&session.pipeline.root)
            .map(|relative| relative.to_string_lossy().into_owned())
            .unwrap_or_else(|_| path.to_string_lossy().into_owned())
    };

    let mut submission = Submission::default();
    // Stage -> job id (array tasks as `A_i`); roots submitted held, released at the end, so a
    // failed `sbatch` leaves nothing running.
    let mut ids: BTreeMap<usize, String> = BTreeMap::new();
    let mut held: Vec<String> = Vec::new();
    let mut records: Vec<(String, JobRecord)> = Vec::new();
    let result = (|| -> Result<()> {
        for unit in &units {
            let first = &session.pipeline.stages[unit.stages[0]];
            let label = if unit.is_array() {
                first.group.clone().unwrap_or_else(|| first.name.clone())
            } else {
                first.name.clone()
            };
            let name = format!("{NAME_PREFIX}{}", file_safe(&label));
            let mut after_ok: BTreeSet<String> = BTreeSet::new();
            let mut after_any: BTreeSet<String> = BTreeSet::new();
            for &stage in &unit.stages {
                for up in &session.graph.upstream[stage] {
                    if let Some(id) = ids.get(up) {
                        after_ok.insert(id.clone());
                    } else if options.dry_run && submit.contains(up) {
                        after_ok.insert(format!("<job of {}>", session.pipeline.stages[*up].name));
                    }
                }
                if let Some(old) = active.get(&stage) {
                    after_any.extend(old.iter().cloned());
                }
            }
            let pattern = if unit.is_array() { "%A_%a" } else { "%j" };
            let log_pattern = logs.join(format!("{}-{pattern}.out", file_safe(&label)));
            let mut args = vec![
                "--parsable".to_owned(),
                format!("--job-name={name}"),
                format!("--output={}", log_pattern.to_string_lossy()),
                format!("--chdir={}", session.pipeline.root.to_string_lossy()),
                "--kill-on-invalid-dep=yes".to_owned(),
            ];
            if unit.is_array() {
                args.push(format!("--array=0-{}", unit.stages.len() - 1));
            }
            let mut dependency = Vec::new();
            if !after_ok.is_empty() {
                dependency.push(format!(
                    "afterok:{}",
                    after_ok.into_iter().collect::<Vec<_>>().join(":")
                ));
            }
            if !after_any.is_empty() {
                dependency.push(format!(
                    "afterany:{}",
                    after_any.into_iter().collect::<Vec<_>>().join(":")
                ));
            }
            if !dependency.is_empty() {
                args.push(format!("--dependency={}", dependency.join(",")));
            }
            let own = resource_args(&unit.resources);
            // Held until every job is accepted, unless the user holds it on purpose.
            let hold =
                dependency.is_empty() && !own.iter().any(|arg| arg == "--hold" || arg == "-H");
            args.extend(own);
            let text = script(session, &runner, &cache, unit, keys);
            if options.dry_run {
                let shown: Vec<String> = args.iter().map(|arg| quote(arg)).collect();
                submission
                    .commands
                    .push(format!("sbatch {} <<'EOF'\n{text}EOF", shown.join(" ")));
                continue;
            }
            if hold {
                args.push("--hold".to_owned());
            }
            let output = slurm_tool("sbatch", &args, Some(&text))?;
            let job = output
                .trim()
                .split(';')
                .next()
                .unwrap_or_default()
                .to_owned();
            if job.is_empty() || !job.chars().all(|c| c.is_ascii_digit()) {
                return Err(cluster_error(format!(
                    "`sbatch --parsable` printed `{}`, not a job id",
                    output.trim()
                )));
            }
            if hold {
                held.push(job.clone());
            }
            for (task, &stage) in unit.stages.iter().enumerate() {
                let (id, log) = if unit.is_array() {
                    let id = format!("{job}_{task}");
                    let log = logs.join(format!("{}-{id}.out", file_safe(&label)));
                    (id, log)
                } else {
                    (
                        job.clone(),
                        logs.join(format!("{}-{job}.out", file_safe(&label))),
                    )
                };
                let log = shown_log(log);
                ids.insert(stage, id.clone());
                submission.jobs.push((stage, id.clone(), log.clone()));
                records.push((
                    session.pipeline.stages[stage].name.clone(),
                    JobRecord {
                        job: id,
                        name: name.clone(),
                        log,
                        key: keys[&stage].clone(),
                        submitted: now(),
                    },
                ));
            }
        }
        Ok(())
    })();
    if options.dry_run {
        result?;
        return Ok(submission);
    }
    let submitted: Vec<String> = {
        let mut seen = BTreeSet::new();
        submission
            .jobs
            .iter()
            .map(|(_, id, _)| id.split('_').next().unwrap_or(id).to_owned())
            .filter(|id| seen.insert(id.clone()))
            .collect()
    };
    let result = result.and_then(|()| {
        update_jobs(session, |jobs| {
            let still_queued: BTreeSet<&String> = active.values().flatten().collect();
            jobs.superseded
                .retain(|(_, record)| still_queued.contains(&record.job));
            for (stage, record) in records {
                if let Some(old) = jobs.jobs.insert(stage.clone(), record)
                    && still_queued.contains(&old.job)
                {
                    jobs.superseded.push((stage, old));
                }
            }
            jobs.jobs
                .retain(|stage, _| session.pipeline.index_of(stage).is_some());
        })
    });
    let result = result.and_then(|()| {
        if held.is_empty() {
            Ok(())
        } else {
            slurm_tool("scontrol", &["release".to_owned(), held.join(",")], None).map(|_| ())
        }
    });
    if let Err(error) = result {
        if !submitted.is_empty() {
            let cancelled = slurm_tool("scancel", &submitted, None);
            return Err(cluster_error(format!(
                "{error}\n{} the {} job(s) already submitted ({})",
                if cancelled.is_ok() {
                    "cancelled"
                } else {
                    "could not cancel"
                },
                submitted.len(),
                submitted.join(", ")
            )));
        }
        return Err(error);
    }
    Ok(submission)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_map_to_sbatch_options() {
        let resources = Resources {
            cpus: Some(4),
            mem: Some("8G".to_owned()),
            gpus: Some(2),
            time: Some("1:00:00".to_owned()),
            partition: Some("gpu".to_owned()),
            account: Some("lab".to_owned()),
            extra: vec!["--qos=high".to_owned()],
        };
        assert_eq!(
            resource_args(&resources),
            [
                "--cpus-per-task=4",
                "--mem=8G",
                "--gres=gpu:2",
                "--time=1:00:00",
                "--partition=gpu",
                "--account=lab",
                "--qos=high"
            ]
        );
        assert!(resource_args(&Resources::default()).is_empty());
    }

    #[test]
    fn stage_resources_win_over_the_command_line_over_params() {
        let stage = Resources {
            cpus: Some(8),
            extra: vec!["--c".to_owned()],
            ..Resources::default()
        };
        let cli = Resources {
            cpus: Some(2),
            mem: Some("1G".to_owned()),
            extra: vec!["--b".to_owned()],
            ..Resources::default()
        };
        let params = Resources {
            mem: Some("2G".to_owned()),
            partition: Some("debug".to_owned()),
            extra: vec!["--a".to_owned()],
            ..Resources::default()
        };
        let merged = merge(&stage, &cli, &params);
        assert_eq!(merged.cpus, Some(8));
        assert_eq!(merged.mem.as_deref(), Some("1G"));
        assert_eq!(merged.partition.as_deref(), Some("debug"));
        assert_eq!(merged.extra, ["--a", "--b", "--c"]);
    }

    #[test]
    fn names_and_arguments_are_safe_for_files_and_sh() {
        assert_eq!(file_safe("train@gru"), "train@gru");
        assert_eq!(file_safe("a b/%j"), "a_b__j");
        assert_eq!(quote("/tmp/x-1"), "/tmp/x-1");
        assert_eq!(quote("it's here"), r"'it'\''s here'");
        assert_eq!(quote(""), "''");
    }

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
