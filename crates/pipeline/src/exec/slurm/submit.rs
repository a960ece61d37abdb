//! Submitting: the stale stages of a plan grouped into units (one `sbatch` each; siblings of a
//! `foreach`/`matrix` group as one job array), submitted in topological order chained by
//! `--dependency=afterok:…` with `--kill-on-invalid-dep=yes`. Jobs without dependencies are
//! submitted held and released once every `sbatch` succeeded; if any step fails, what was
//! submitted is cancelled, so a rejected submission leaves nothing running.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::jobs::{JobRecord, dir, update_jobs};
use super::resources::{merge, params_defaults, resource_args};
use super::script::{file_safe, quote, script};
use super::{NAME_PREFIX, SubmitOptions, cluster_error, slurm_tool};
use crate::error::{IoContext, PipelineError, Result};
use crate::session::Session;
use crate::spec::Resources;

/// One `sbatch` call: a stage, or sibling stages as an array.
#[derive(Debug, Clone)]
pub(super) struct Unit {
    pub(super) stages: Vec<usize>,
    resources: Resources,
}

impl Unit {
    pub(super) fn is_array(&self) -> bool {
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
    let mut submitter = Submitter::new(session, submit, keys, active, options)?;
    let result = units
        .iter()
        .try_for_each(|unit| submitter.submit_unit(unit));
    if options.dry_run {
        result?;
        return Ok(submitter.submission);
    }
    let submitted = submitter.submitted_ids();
    let result = result
        .and_then(|()| record_jobs(session, submitter.records, active))
        .and_then(|()| release(&submitter.held));
    if let Err(error) = result {
        return Err(roll_back(error, &submitted));
    }
    Ok(submitter.submission)
}

/// The state of one submission, unit by unit.
struct Submitter<'a> {
    session: &'a Session,
    submit: &'a [usize],
    keys: &'a BTreeMap<usize, String>,
    active: &'a BTreeMap<usize, Vec<String>>,
    options: &'a SubmitOptions,
    /// The running `icodegen`, which every job script runs.
    runner: PathBuf,
    /// The cache folder, passed to every job.
    cache: PathBuf,
    /// `cache/slurm/logs`.
    logs: PathBuf,
    /// Stage -> job id (array tasks as `A_i`).
    ids: BTreeMap<usize, String>,
    /// Jobs submitted held (those without dependencies), released at the end.
    held: Vec<String>,
    /// Jobs file entries: stage name, record.
    records: Vec<(String, JobRecord)>,
    submission: Submission,
}

impl<'a> Submitter<'a> {
    fn new(
        session: &'a Session,
        submit: &'a [usize],
        keys: &'a BTreeMap<usize, String>,
        active: &'a BTreeMap<usize, Vec<String>>,
        options: &'a SubmitOptions,
    ) -> Result<Submitter<'a>> {
        let runner = session.runner.clone().ok_or_else(|| {
            cluster_error(
                "cannot find the path of the running `icodegen` executable for the job scripts",
            )
        })?;
        let logs = dir(session).join("logs");
        if !options.dry_run {
            std::fs::create_dir_all(&logs).at("create", &logs)?;
        }
        Ok(Submitter {
            session,
            submit,
            keys,
            active,
            options,
            runner,
            cache: session.cache_dir().to_path_buf(),
            logs,
            ids: BTreeMap::new(),
            held: Vec::new(),
            records: Vec::new(),
            submission: Submission::default(),
        })
    }

    /// The unit's label (its stage, or its group for an array): its job and log names.
    fn label(&self, unit: &Unit) -> String {
        let first = &self.session.pipeline.stages[unit.stages[0]];
        if unit.is_array() {
            first.group.clone().unwrap_or_else(|| first.name.clone())
        } else {
            first.name.clone()
        }
    }

    /// `--dependency=` values: `afterok` on the jobs of upstream stages submitted before it,
    /// `afterany` on still-queued jobs of the same stages (resubmitted with `--force`).
    fn dependency(&self, unit: &Unit) -> Vec<String> {
        let mut after_ok: BTreeSet<String> = BTreeSet::new();
        let mut after_any: BTreeSet<String> = BTreeSet::new();
        for &stage in &unit.stages {
            for up in &self.session.graph.upstream[stage] {
                if let Some(id) = self.ids.get(up) {
                    after_ok.insert(id.clone());
                } else if self.options.dry_run && self.submit.contains(up) {
                    after_ok.insert(format!(
                        "<job of {}>",
                        self.session.pipeline.stages[*up].name
                    ));
                }
            }
            if let Some(old) = self.active.get(&stage) {
                after_any.extend(old.iter().cloned());
            }
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
        dependency
    }

    /// Submits one unit (or, with `dry_run`, records its command line).
    fn submit_unit(&mut self, unit: &Unit) -> Result<()> {
        let label = self.label(unit);
        let name = format!("{NAME_PREFIX}{}", file_safe(&label));
        let pattern = if unit.is_array() { "%A_%a" } else { "%j" };
        let log_pattern = self
            .logs
            .join(format!("{}-{pattern}.out", file_safe(&label)));
        let mut args = vec![
            "--parsable".to_owned(),
            format!("--job-name={name}"),
            format!("--output={}", log_pattern.to_string_lossy()),
            format!("--chdir={}", self.session.pipeline.root.to_string_lossy()),
            "--kill-on-invalid-dep=yes".to_owned(),
        ];
        if unit.is_array() {
            args.push(format!("--array=0-{}", unit.stages.len() - 1));
        }
        let dependency = self.dependency(unit);
        if !dependency.is_empty() {
            args.push(format!("--dependency={}", dependency.join(",")));
        }
        let own = resource_args(&unit.resources);
        // Held until every job is accepted, unless the user holds it on purpose.
        let hold = dependency.is_empty() && !own.iter().any(|arg| arg == "--hold" || arg == "-H");
        args.extend(own);
        let text = script(self.session, &self.runner, &self.cache, unit, self.keys);
        if self.options.dry_run {
            let shown: Vec<String> = args.iter().map(|arg| quote(arg)).collect();
            self.submission
                .commands
                .push(format!("sbatch {} <<'EOF'\n{text}EOF", shown.join(" ")));
            return Ok(());
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
            self.held.push(job.clone());
        }
        self.record(unit, &job, &label, &name);
        Ok(())
    }

    /// Records the job (each task of an array) of every stage of `unit`.
    fn record(&mut self, unit: &Unit, job: &str, label: &str, name: &str) {
        for (task, &stage) in unit.stages.iter().enumerate() {
            let id = if unit.is_array() {
                format!("{job}_{task}")
            } else {
                job.to_owned()
            };
            let log = self.logs.join(format!("{}-{id}.out", file_safe(label)));
            let log = shown_log(&self.session.pipeline.root, &log);
            self.ids.insert(stage, id.clone());
            self.submission.jobs.push((stage, id.clone(), log.clone()));
            self.records.push((
                self.session.pipeline.stages[stage].name.clone(),
                JobRecord {
                    job: id,
                    name: name.to_owned(),
                    log,
                    key: self.keys[&stage].clone(),
                    submitted: now(),
                },
            ));
        }
    }

    /// The jobs submitted so far (array jobs once).
    fn submitted_ids(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        self.submission
            .jobs
            .iter()
            .map(|(_, id, _)| id.split('_').next().unwrap_or(id).to_owned())
            .filter(|id| seen.insert(id.clone()))
            .collect()
    }
}

/// A log path as shown and recorded: relative to the pipeline's folder when inside it.
fn shown_log(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .map(|relative| relative.to_string_lossy().into_owned())
        .unwrap_or_else(|_| path.to_string_lossy().into_owned())
}

/// Writes the new jobs into the jobs file; an older job of a stage still queued is kept as
/// superseded (so `cancel` and the queue check still see it).
fn record_jobs(
    session: &Session,
    records: Vec<(String, JobRecord)>,
    active: &BTreeMap<usize, Vec<String>>,
) -> Result<()> {
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
}

/// Releases the jobs submitted held.
fn release(held: &[String]) -> Result<()> {
    if held.is_empty() {
        return Ok(());
    }
    slurm_tool("scontrol", &["release".to_owned(), held.join(",")], None).map(|_| ())
}

/// After a failed submission: cancels what was submitted, and says so in the error.
fn roll_back(error: PipelineError, submitted: &[String]) -> PipelineError {
    if submitted.is_empty() {
        return error;
    }
    let cancelled = slurm_tool("scancel", submitted, None);
    cluster_error(format!(
        "{error}\n{} the {} job(s) already submitted ({})",
        if cancelled.is_ok() {
            "cancelled"
        } else {
            "could not cancel"
        },
        submitted.len(),
        submitted.join(", ")
    ))
}
