//! The runner library behind `icodegen`: it executes `pipeline.yaml` as a DAG and re-runs only
//! stale stages, keeping outputs in a content-addressed cache.
//!
//! Split by concern (see ARCHITECTURE.md for one `repro` walked step by step):
//! - spec: [`spec`] (pipeline.yaml: foreach/matrix, `${}`), [`params`], [`interpolate`],
//!   [`lock`] (pipeline.lock), [`yaml`] (located errors);
//! - graph: [`graph`] (producers, edges, cycles), [`plan`] (pure selection and scheduling),
//!   [`dag`] (rendering);
//! - keys: [`hash`] (blake3 of files and folders), [`memo`] (hash memo), [`code`] (stage binary
//!   fingerprints), [`key`] (what invalidates a stage), [`status`] (staleness and reasons);
//! - storage: [`store`] (objects, run-cache, gc), [`runner_lock`];
//! - safety: [`guard`] (what outs may be: never the runner's state, the repository or tracked
//!   files, never outside the workspace), [`running`] (every process of a stage, found and
//!   ended, even after the runner is killed);
//! - execution: [`executor`] (the `Executor` trait, `Local`), [`slurm`] (submitting the stale
//!   part of a plan as chained Slurm jobs; job records, states, cancelling), [`stage_run`] (one
//!   stage, shared by every executor), [`process`] (commands, signals);
//! - [`commands`]: one function per CLI command; [`tables`]: artifacts as SQL tables.
//!
//! It knows nothing of what stages compute: no stage crate, no tch, no DataFusion.

pub mod code;
pub mod commands;
pub mod console;
pub mod dag;
mod error;
pub mod executor;
pub mod fault;
pub mod graph;
pub mod guard;
pub mod hash;
pub mod interpolate;
pub mod key;
pub mod lock;
pub mod memo;
pub mod params;
pub mod plan;
pub mod process;
pub mod runner_lock;
pub mod running;
pub mod session;
pub mod slurm;
pub mod spec;
pub mod stage_run;
pub mod status;
pub mod store;
pub mod tables;
pub mod yaml;

pub use error::{EXIT_FAILURE, EXIT_USAGE, Location, PipelineError, Result};
pub use session::{Options, Session};
