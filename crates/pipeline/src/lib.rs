//! The runner library behind `icodegen`: it executes `pipeline.yaml` as a DAG and re-runs only
//! stale stages, keeping outputs in a content-addressed cache.
//!
//! # Layers
//!
//! The crate is a stack of layers, one folder each; a module imports only from its own layer
//! and the layers below it, never from a layer above (so there are no import cycles between
//! layers). From the bottom:
//!
//! | layer | modules | what it owns |
//! | --- | --- | --- |
//! | base | [`error`](PipelineError), [`console`], [`fault`], [`signals`] | the error type and exit codes, output to the terminal, fault points for tests, Ctrl-C/SIGTERM |
//! | [`spec`] | `spec`, `params`, `interpolate`, `yaml` | pipeline.yaml and params files, with located errors |
//! | [`graph`] | `graph`, `plan`, `dag` | producers, edges, cycles; target selection and scheduling; rendering |
//! | [`keys`] | `hash`, `memo`, `code`, `key`, `lock`, `status` | content hashes, the hash memo, code fingerprints, stage keys, `pipeline.lock`, staleness reasons |
//! | [`safety`] | `guard`, `running`, `runner_lock` | what outs may be, the processes of a stage, one runner per workspace and cache |
//! | [`store`] | `objects`, `links`, `runs`, `checkout`, `gc` | the content-addressed cache, link types, gc policies |
//! | [`remote`] | `remote`, `config`, `transfer` | remotes (`object_store`): configuration, push, fetch, remote run-cache |
//! | [`session`] | `session`, `staleness` | an opened workspace: pipeline, graph, store, memos, the staleness walk |
//! | [`exec`] | `local`, `slurm/`, `stage_run`, `process` | executors: one trait, two implementations, one stage routine |
//! | [`commands`] | `repro`, `inspect`, `cache`, `stage`, `tables` | one function per CLI command |
//!
//! The rule is checked by reading imports: `grep -rn "crate::" src/<layer>` names only that
//! layer and those below it (see ARCHITECTURE.md, "The runner's layers").
//!
//! It knows nothing of what stages compute: no stage crate, no tch, no DataFusion. Atomic
//! writes (temporary sibling, fsync, rename) come from `icodegen_artifacts::atomic`, the one
//! implementation in the workspace.
#![allow(clippy::disallowed_methods)] // pipeline's rule for std::fs errors is `IoContext::at("op", path)`, not fs_err (clippy.toml)

pub mod console;
mod error;
pub mod fault;
pub mod signals;

pub mod spec;

pub mod graph;

pub mod keys;

pub mod safety;

pub mod store;

pub mod remote;

pub mod session;

pub mod exec;

pub mod commands;

pub use error::{EXIT_FAILURE, EXIT_USAGE, Location, PipelineError, Result};
pub use session::{Options, Session};
