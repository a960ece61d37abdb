//! Stage `tag`: Align scored tokens to the AST and aggregate AsC-Eval concept scores.
//!
//! The library knows nothing of the runner, its cache, the lock file or Slurm: it reads the
//! inputs it is given and writes only the output paths it is given.
