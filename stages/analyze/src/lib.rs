//! Stage `analyze`: Statistics, causal effects with refutation, and the HTML report.
//!
//! The library knows nothing of the runner, its cache, the lock file or Slurm: it reads the
//! inputs it is given and writes only the output paths it is given.
