//! The artifact contract of icodegen.
//!
//! Stages exchange Parquet files (zstd) whose key-value metadata records the artifact kind,
//! its schema version, the producing stage and the tool version. This crate owns:
//! - [`schemas`]: every artifact's columns (the only place column names are spelled);
//! - [`vocab`]: the values of its string columns that form closed sets (concept kinds,
//!   interventions, metrics, ...), as enums (the only place those values are spelled);
//! - [`io`]: typed, batched reading and writing with those checks, and reading a subset of
//!   columns with the same checks ([`ProjectedReader`]);
//! - [`atomic`]: temp-file-then-rename output, so no half-written artifact ever exists;
//! - [`params`]: typed sections of `params.yaml` with file, line and key in errors;
//! - [`progress`] and [`cli`]: the conventions every stage binary shares.
//!
//! It knows nothing of the runner, its cache, the lock file or Slurm.

pub mod artifact;
pub mod atomic;
pub mod cli;
pub mod column;
mod error;
pub mod io;
pub mod params;
pub mod progress;
pub mod schemas;
pub mod vocab;

pub use artifact::{Artifact, ColumnProblem};
pub use error::{ArtifactError, Result};
pub use io::{ArtifactReader, ArtifactWriter, ProjectedReader, read_all, read_metadata, write_all};
pub use schemas::Covariates;

/// The content id of a piece of code: blake3 of the language, a NUL byte and the code, as hex.
/// Used for `snippet_id` and `row_id`.
pub fn content_id(language: &str, code: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(language.as_bytes());
    hasher.update(&[0]);
    hasher.update(code.as_bytes());
    hasher.finalize().to_hex().to_string()
}
