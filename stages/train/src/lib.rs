//! Stage `train`: Train a BPE tokenizer and a GRU, LSTM or GPT-2-style code language model with libtorch.
//!
//! The library knows nothing of the runner, its cache, the lock file or Slurm: it reads the
//! inputs it is given and writes only the output paths it is given.
