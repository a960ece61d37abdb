//! The staleness walk: the status of every stage with its reasons (see
//! [`crate::keys::status`]). Checks run cheapest first: the definition (command, params, dep and
//! out lists: no I/O), then upstream staleness, the stage binary's code fingerprint (one `stat`),
//! the deps (hashes, memoized), and the outs. Without `--explain` a stage stops at its first
//! reason; with it every check runs and every reason is listed.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use rayon::prelude::*;

use super::Session;
use crate::error::Result;
use crate::keys::hash::Hashed;
use crate::keys::key;
use crate::keys::lock::LockFile;
use crate::keys::status::{
    Reason, StageStatus, State, code_reasons, definition_reasons, dep_reasons, out_reasons,
};

impl Session {
    /// The status of every stage, in topological order.
    pub fn status(&self, lock: &LockFile, explain: bool) -> Result<Vec<StageStatus>> {
        let session = self;
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
        let seen = WalkHashes::default();
        // Every dep of a stage checked below gets hashed: hash them all at once first, each path
        // once, so that stages sharing a dep (a folder) do not hash it side by side.
        let checked = |status: &StageStatus| {
            status.state != State::NeverRun && (explain || status.reasons.is_empty())
        };
        let deps: Vec<String> = statuses
            .iter()
            .filter(|status| checked(status))
            .flat_map(|status| &pipeline.stages[status.stage].deps)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .cloned()
            .collect();
        seen.hash_all(session, &deps)?;
        statuses
            .par_iter_mut()
            .try_for_each(|status| -> Result<()> {
                if !checked(status) {
                    return Ok(());
                }
                let stage = &pipeline.stages[status.stage];
                let record = &lock.stages[&stage.name];
                let deps = seen.hash_all(session, &stage.deps)?;
                status.reasons.extend(dep_reasons(stage, record, &deps));
                if explain || status.reasons.is_empty() {
                    let outs: Vec<String> = stage.outs.iter().map(|out| out.path.clone()).collect();
                    let outs = seen.hash_all(session, &outs)?;
                    status.reasons.extend(out_reasons(stage, record, &outs));
                }
                if status.reasons.is_empty() {
                    let code = session.code(status.stage);
                    let key =
                        key::stage_key(stage, code.as_ref(), &key::param_values(stage), &deps);
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
}

/// The hashes one status walk took, by workspace path: a path several stages read (a shared
/// folder dep, an out that is the next stage's dep) is listed and hashed once per walk, not once
/// per stage. Nothing runs during a walk, so a path cannot change between two of its reads
/// (as far as the walk can tell: a file written meanwhile makes the answer racy either way).
/// The walk compares hashes only, so folders are kept without their manifests.
#[derive(Default)]
struct WalkHashes(Mutex<HashMap<String, Option<Hashed>>>);

impl WalkHashes {
    /// The hashes of `relative` (in order), from this walk when taken already. Two threads may
    /// hash the same new path at once (a lock held while hashing could deadlock rayon's nested
    /// parallelism); both get the same answer.
    fn hash_all(&self, session: &Session, relative: &[String]) -> Result<Vec<Option<Hashed>>> {
        let known: Vec<Option<Option<Hashed>>> = {
            let seen = self.0.lock().expect("walk hashes lock");
            relative
                .iter()
                .map(|path| seen.get(path).cloned())
                .collect()
        };
        let missing: Vec<String> = relative
            .iter()
            .zip(&known)
            .filter(|(_, known)| known.is_none())
            .map(|(path, _)| path.clone())
            .collect();
        let mut hashed = session.hash_all(&missing)?.into_iter().map(|hashed| {
            hashed.map(|hashed| Hashed {
                manifest: hashed.manifest.map(|_| Vec::new()),
                ..hashed
            })
        });
        let mut seen = self.0.lock().expect("walk hashes lock");
        Ok(relative
            .iter()
            .zip(known)
            .map(|(path, known)| {
                known.unwrap_or_else(|| {
                    let new = hashed.next().flatten();
                    seen.insert(path.clone(), new.clone());
                    new
                })
            })
            .collect())
    }
}
