//! Staleness: is a stage's last recorded run (its lock record) still what the pipeline would
//! produce now, and if not, why. Checks run cheapest first: the definition (command, params,
//! dep and out lists: no I/O), then upstream staleness, the stage binary's code fingerprint
//! (one `stat`), the deps (hashes, memoized), and the outs. Without `--explain` a stage stops at
//! its first reason; with it every check runs and every reason is listed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use rayon::prelude::*;
use serde::Serialize;

use crate::error::Result;
use crate::hash::Hashed;
use crate::key;
use crate::lock::{CodeRecord, LockFile, StageRecord};
use crate::session::Session;
use crate::spec::Stage;

/// Why a stage is not fresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    NeverRun,
    AlwaysChanged,
    CommandChanged,
    ParamChanged {
        key: String,
        old: String,
        new: String,
    },
    ParamAdded {
        key: String,
    },
    ParamRemoved {
        key: String,
    },
    DepAdded {
        path: String,
    },
    DepRemoved {
        path: String,
    },
    OutAdded {
        path: String,
    },
    OutRemoved {
        path: String,
    },
    CodeChanged {
        program: String,
    },
    CodeAdded {
        program: String,
    },
    CodeRemoved {
        program: String,
    },
    UpstreamStale {
        stage: String,
    },
    DepChanged {
        path: String,
    },
    DepMissing {
        path: String,
    },
    OutMissing {
        path: String,
    },
    OutModified {
        path: String,
    },
    /// Everything listed matched but the key did not (a runner upgrade changed what keys hold).
    KeyChanged,
    Forced,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NeverRun => write!(f, "never run"),
            Reason::AlwaysChanged => write!(f, "`always_changed` is set"),
            Reason::CommandChanged => write!(f, "command changed"),
            Reason::ParamChanged { key, old, new } => {
                write!(f, "param `{key}` changed ({old} -> {new})")
            }
            Reason::ParamAdded { key } => write!(f, "param `{key}` added"),
            Reason::ParamRemoved { key } => write!(f, "param `{key}` removed"),
            Reason::DepAdded { path } => write!(f, "dep `{path}` added"),
            Reason::DepRemoved { path } => write!(f, "dep `{path}` removed"),
            Reason::OutAdded { path } => write!(f, "out `{path}` added"),
            Reason::OutRemoved { path } => write!(f, "out `{path}` removed"),
            Reason::CodeChanged { program } => write!(f, "code of `{program}` changed"),
            Reason::CodeAdded { program } => write!(f, "now runs stage binary `{program}`"),
            Reason::CodeRemoved { program } => write!(f, "no longer runs stage binary `{program}`"),
            Reason::UpstreamStale { stage } => write!(f, "upstream stage `{stage}` is stale"),
            Reason::DepChanged { path } => write!(f, "dep `{path}` changed"),
            Reason::DepMissing { path } => write!(f, "dep `{path}` is missing"),
            Reason::OutMissing { path } => write!(f, "out `{path}` is missing"),
            Reason::OutModified { path } => write!(f, "out `{path}` was modified"),
            Reason::KeyChanged => write!(f, "stage key changed"),
            Reason::Forced => write!(f, "forced"),
        }
    }
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Fresh,
    Stale,
    NeverRun,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Fresh => "fresh",
            State::Stale => "stale",
            State::NeverRun => "never-run",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageStatus {
    #[serde(skip)]
    pub stage: usize,
    pub state: State,
    pub reasons: Vec<Reason>,
}

fn short_json(value: &serde_json::Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(39).collect::<String>())
    } else {
        text
    }
}

/// Reasons found without I/O: the command, params, and the lists of deps and outs.
pub fn definition_reasons(stage: &Stage, record: &StageRecord) -> Vec<Reason> {
    let mut reasons = Vec::new();
    let current = key::param_values(stage);
    let flatten = |values: &crate::lock::ParamValues| -> BTreeMap<String, serde_json::Value> {
        values
            .iter()
            .flat_map(|(file, keys)| {
                keys.iter().map(move |(key, value)| {
                    let name = if file == crate::params::DEFAULT_FILE {
                        key.clone()
                    } else {
                        format!("{file}:{key}")
                    };
                    (name, value.clone())
                })
            })
            .collect()
    };
    let (now, then) = (flatten(&current), flatten(&record.params));
    for (key, value) in &now {
        match then.get(key) {
            None => reasons.push(Reason::ParamAdded { key: key.clone() }),
            Some(old) if old != value => reasons.push(Reason::ParamChanged {
                key: key.clone(),
                old: short_json(old),
                new: short_json(value),
            }),
            Some(_) => {}
        }
    }
    for key in then.keys().filter(|key| !now.contains_key(*key)) {
        reasons.push(Reason::ParamRemoved { key: key.clone() });
    }
    // After params: a param used in `${...}` changes the command too, and is the better reason.
    if stage.cmd != record.cmd {
        reasons.push(Reason::CommandChanged);
    }
    let deps_now: BTreeSet<&str> = stage.deps.iter().map(String::as_str).collect();
    let deps_then: BTreeSet<&str> = record.deps.iter().map(|dep| dep.path.as_str()).collect();
    reasons.extend(
        deps_now
            .difference(&deps_then)
            .map(|path| Reason::DepAdded {
                path: path.to_string(),
            }),
    );
    reasons.extend(
        deps_then
            .difference(&deps_now)
            .map(|path| Reason::DepRemoved {
                path: path.to_string(),
            }),
    );
    let outs_now: BTreeSet<&str> = stage.outs.iter().map(|out| out.path.as_str()).collect();
    let outs_then: BTreeSet<&str> = record.all_outs().map(|out| out.path.as_str()).collect();
    reasons.extend(
        outs_now
            .difference(&outs_then)
            .map(|path| Reason::OutAdded {
                path: path.to_string(),
            }),
    );
    reasons.extend(
        outs_then
            .difference(&outs_now)
            .map(|path| Reason::OutRemoved {
                path: path.to_string(),
            }),
    );
    reasons
}

/// Reasons from the stage binary's code fingerprint.
pub fn code_reasons(code: Option<&CodeRecord>, record: &StageRecord) -> Vec<Reason> {
    match (code, &record.code) {
        (Some(now), Some(then))
            if now.program == then.program && now.fingerprint != then.fingerprint =>
        {
            vec![Reason::CodeChanged {
                program: now.program.clone(),
            }]
        }
        (Some(now), None) => vec![Reason::CodeAdded {
            program: now.program.clone(),
        }],
        (None, Some(then)) => vec![Reason::CodeRemoved {
            program: then.program.clone(),
        }],
        _ => Vec::new(),
    }
}

/// Reasons from the current hashes of the deps (in the order of `stage.deps`).
pub fn dep_reasons(stage: &Stage, record: &StageRecord, deps: &[Option<Hashed>]) -> Vec<Reason> {
    let mut reasons = Vec::new();
    for (path, hashed) in stage.deps.iter().zip(deps) {
        let Some(hashed) = hashed else {
            reasons.push(Reason::DepMissing { path: path.clone() });
            continue;
        };
        if let Some(old) = record.deps.iter().find(|dep| &dep.path == path)
            && !old.matches(hashed)
        {
            reasons.push(Reason::DepChanged { path: path.clone() });
        }
    }
    reasons
}

/// Reasons from the current hashes of the outs (in the order of `stage.outs`).
pub fn out_reasons(stage: &Stage, record: &StageRecord, outs: &[Option<Hashed>]) -> Vec<Reason> {
    let mut reasons = Vec::new();
    for (out, hashed) in stage.outs.iter().zip(outs) {
        let Some(old) = record.out(&out.path) else {
            continue;
        };
        match hashed {
            None => reasons.push(Reason::OutMissing {
                path: out.path.clone(),
            }),
            Some(hashed) if !old.matches(hashed) => reasons.push(Reason::OutModified {
                path: out.path.clone(),
            }),
            Some(_) => {}
        }
    }
    reasons
}

/// The status of every stage, in topological order.
pub fn status(session: &Session, lock: &LockFile, explain: bool) -> Result<Vec<StageStatus>> {
    let pipeline = &session.pipeline;
    let order = &session.graph.order;
    // Cheap checks, in parallel (the code check may spawn a stage binary once).
    let mut statuses: Vec<StageStatus> = order
        .par_iter()
        .map(|&index| {
            let stage = &pipeline.stages[index];
            let Some(record) = lock.stages.get(&stage.name) else {
                return StageStatus {
                    stage: index,
                    state: State::NeverRun,
                    reasons: vec![Reason::NeverRun],
                };
            };
            let mut reasons = Vec::new();
            if stage.always_changed {
                reasons.push(Reason::AlwaysChanged);
            }
            reasons.extend(definition_reasons(stage, record));
            if explain || reasons.is_empty() {
                reasons.extend(code_reasons(session.code(index).as_ref(), record));
            }
            StageStatus {
                stage: index,
                state: State::Fresh,
                reasons,
            }
        })
        .collect();
    // Upstream staleness, in topological order.
    let mut not_fresh = BTreeSet::new();
    for status in &mut statuses {
        if status.state != State::NeverRun {
            for &up in &session.graph.upstream[status.stage] {
                if not_fresh.contains(&up) {
                    status.reasons.push(Reason::UpstreamStale {
                        stage: pipeline.stages[up].name.clone(),
                    });
                }
            }
        }
        // Hashing can only add reasons; a stage with reasons already is not fresh.
        if !status.reasons.is_empty() {
            not_fresh.insert(status.stage);
        }
    }
    // Deps and outs, in parallel; a stage found stale here makes no difference upstream-wise
    // unless it was fresh so far, so propagate again afterwards.
    statuses
        .par_iter_mut()
        .try_for_each(|status| -> Result<()> {
            if status.state == State::NeverRun || !(explain || status.reasons.is_empty()) {
                return Ok(());
            }
            let stage = &pipeline.stages[status.stage];
            let record = &lock.stages[&stage.name];
            let deps = session.hash_all(&stage.deps)?;
            status.reasons.extend(dep_reasons(stage, record, &deps));
            if explain || status.reasons.is_empty() {
                let outs: Vec<String> = stage.outs.iter().map(|out| out.path.clone()).collect();
                let outs = session.hash_all(&outs)?;
                status.reasons.extend(out_reasons(stage, record, &outs));
            }
            if status.reasons.is_empty() {
                let code = session.code(status.stage);
                let key = key::stage_key(stage, code.as_ref(), &key::param_values(stage), &deps);
                if key != record.key {
                    status.reasons.push(Reason::KeyChanged);
                }
            }
            Ok(())
        })?;
    let mut not_fresh = BTreeSet::new();
    for status in &mut statuses {
        if status.state != State::NeverRun {
            for &up in &session.graph.upstream[status.stage] {
                let named = Reason::UpstreamStale {
                    stage: pipeline.stages[up].name.clone(),
                };
                if not_fresh.contains(&up)
                    && !status.reasons.contains(&named)
                    && (explain || status.reasons.is_empty())
                {
                    status.reasons.push(named);
                }
            }
            if !status.reasons.is_empty() {
                status.state = State::Stale;
            }
        }
        if status.state != State::Fresh {
            not_fresh.insert(status.stage);
        }
        if !explain {
            status.reasons.truncate(1);
        }
    }
    Ok(statuses)
}

/// A stage's Slurm job, as `status` shows it.
#[derive(Debug, Clone)]
pub struct StageJob {
    pub record: crate::slurm::JobRecord,
    pub state: crate::slurm::JobState,
}

/// A job as JSON: `{"id", "state", "reason"?, "exit_code"?, "log"}`.
pub fn job_json(
    record: &crate::slurm::JobRecord,
    state: &crate::slurm::JobState,
) -> serde_json::Value {
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
    use crate::console::Style;
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
