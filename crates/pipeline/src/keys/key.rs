//! What goes into a stage's key: a plain serializable struct listing exactly what invalidates
//! the stage's outs, hashed with blake3 (as `just` does). Resources and `desc` are deliberately
//! absent: where or how a stage runs never changes what it computes.
//!
//! Two keys come from it: the *stage key*, with the hash of every dep (the lock and run-cache
//! index), and the *plan key*, where deps produced by other stages are left out (they are not
//! known before those stages run). `icodegen run-stage NAME --expect PLAN_KEY` compares the
//! latter, so a cluster job notices that the pipeline, params, code or input data changed between
//! submission and start.

use serde::Serialize;

use crate::keys::hash::Hashed;
use crate::keys::lock::{CodeRecord, ParamValues};
use crate::spec::Stage;

/// Bumped when the meaning of a key changes, so old run-cache entries stop matching.
pub const KEY_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct KeyInputs<'a> {
    pub version: u32,
    pub cmd: &'a str,
    pub code: Option<&'a CodeRecord>,
    pub params: &'a ParamValues,
    /// Each dep's path and hash (`None`: missing, or, in a plan key, produced by another stage).
    pub deps: Vec<(&'a str, Option<&'a str>)>,
    /// Each out's path, and whether it is a metric.
    pub outs: Vec<(&'a str, bool)>,
}

impl<'a> KeyInputs<'a> {
    pub fn new(
        stage: &'a Stage,
        code: Option<&'a CodeRecord>,
        params: &'a ParamValues,
        deps: Vec<(&'a str, Option<&'a str>)>,
    ) -> Self {
        KeyInputs {
            version: KEY_VERSION,
            cmd: &stage.cmd,
            code,
            params,
            deps,
            outs: stage
                .outs
                .iter()
                .map(|out| (out.path.as_str(), out.metric))
                .collect(),
        }
    }

    pub fn key(&self) -> String {
        let bytes = serde_json::to_vec(self).expect("key inputs serialize");
        blake3::hash(&bytes).to_hex().to_string()
    }

    /// The inputs as JSON, for `-vv`.
    pub fn describe(&self) -> String {
        serde_json::to_string(self).expect("key inputs serialize")
    }
}

/// The params of a stage by file and key.
pub fn param_values(stage: &Stage) -> ParamValues {
    let mut values = ParamValues::new();
    for param in &stage.params {
        values
            .entry(param.file.clone())
            .or_default()
            .insert(param.key.clone(), param.value.clone());
    }
    values
}

/// The stage key, from the current hash of each dep.
pub fn stage_key(
    stage: &Stage,
    code: Option<&CodeRecord>,
    params: &ParamValues,
    deps: &[Option<Hashed>],
) -> String {
    let deps = stage
        .deps
        .iter()
        .zip(deps)
        .map(|(path, hashed)| (path.as_str(), hashed.as_ref().map(|h| h.hash.as_str())))
        .collect();
    KeyInputs::new(stage, code, params, deps).key()
}

/// The plan key: like the stage key, but deps produced by other stages (`produced[i]`) count
/// by path only.
pub fn plan_key(
    stage: &Stage,
    code: Option<&CodeRecord>,
    params: &ParamValues,
    deps: &[Option<Hashed>],
    produced: &[bool],
) -> String {
    let deps = stage
        .deps
        .iter()
        .zip(deps)
        .zip(produced)
        .map(|((path, hashed), &produced)| {
            let hash = if produced {
                None
            } else {
                hashed.as_ref().map(|h| h.hash.as_str())
            };
            (path.as_str(), hash)
        })
        .collect();
    KeyInputs::new(stage, code, params, deps).key()
}
