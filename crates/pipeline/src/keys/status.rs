//! Staleness, as data: the reasons a stage's last recorded run (its lock record) is no longer
//! what the pipeline would produce now, each found by a pure function of the stage, its record
//! and current hashes. The walk over the graph that gathers them, cheapest check first, is
//! the session layer's `Session::status`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use crate::keys::hash::Hashed;
use crate::keys::key;
use crate::keys::lock::{CodeRecord, StageRecord};
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
    let flatten = |values: &crate::keys::lock::ParamValues| -> BTreeMap<String, serde_json::Value> {
        values
            .iter()
            .flat_map(|(file, keys)| {
                keys.iter().map(move |(key, value)| {
                    let name = if file == crate::spec::params::DEFAULT_FILE {
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
