//! Stage `ingest`: Read CodeSearchNet JSONL, source trees, archives, paired testbeds and Parquet into snippets.parquet.
//!
//! The library knows nothing of the runner, its cache, the lock file or Slurm: it reads the
//! inputs it is given and writes only the output paths it is given.
