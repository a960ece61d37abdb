//! Stage `infer`: Score every token of a testbed with a causal code language model (tokens.parquet, scores.parquet).
//!
//! The library knows nothing of the runner, its cache, the lock file or Slurm: it reads the
//! inputs it is given and writes only the output paths it is given.
