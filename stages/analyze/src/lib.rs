//! Stage `analyze`: statistics, causal effects with refutation, and the HTML report.
//!
//! - [`causal`]: the stand-alone `icodegen-analyze causal` subcommand (any table, any columns),
//!   reading its input through [`table`];
//! - [`mediation`]: `icodegen-analyze mediation`, total / natural direct / natural indirect
//!   effects through mediators, on any table;
//! - the study analysis (`icodegen-analyze study`) is built on `icodegen-stats` and
//!   `icodegen-causal` in `study/`.
//!
//! The library knows nothing of the runner, its cache, the lock file or Slurm: it reads the
//! inputs it is given and writes only the output paths it is given.

pub mod causal;
pub mod error;
pub mod mediation;
pub mod study;
pub mod table;

pub use error::AnalyzeError;
