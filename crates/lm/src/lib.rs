//! Neural code language models on libtorch, shared by the `train` and `infer` stages.
//!
//! - [`tokenizer`]: byte-level BPE tokenizers (Hugging Face `tokenizers`): training on code,
//!   loading a `tokenizer.json`, encoding with **byte** offsets into the code.
//! - [`config`]: a model directory's `config.json` (architecture, vocabulary, context, BOS/EOS).
//! - [`model`]: the models themselves: GRU and LSTM language models, a GPT-2-style decoder, and
//!   TorchScript causal LMs exported from elsewhere (`scripts/export_hf.py`), behind one
//!   [`model::LanguageModel`] that maps token ids and a padding mask to next-token logits.
//! - [`hf`]: Hugging Face checkpoint folders (safetensors, config dialects, tokenizers, BOS),
//!   scored by the native decoder [`model::Decoder`] (nine families, one skeleton).
//! - [`model_dir`]: reading and writing model directories (weights, config, tokenizer) with
//!   clear errors for missing or corrupt weights and vocabulary mismatches, and their content
//!   hash.
//! - [`scoring`]: the per-token statistics of a prediction (log-probability of the actual token,
//!   rank, entropy, top-k) computed on the device so full logits never leave it, and the sliding
//!   windows that score long inputs.
//! - [`training`]: seeded, deterministic training of the icodegen architectures (AdamW,
//!   warm-up and cosine decay, gradient clipping, length-bucketed batches, validation each
//!   epoch, a step or time budget).
//! - [`device`]: `--device auto|cpu|cuda`.
//! - [`openmp`]: idle OpenMP threads sleep instead of spinning (shared cores).
//!
//! This crate knows nothing of Parquet artifacts, params files or the runner: the stages read
//! their inputs and hand this crate plain values.

pub mod allocator;
pub mod config;
pub mod device;
mod error;
pub mod hf;
pub mod model;
pub mod model_dir;
pub mod openmp;
pub mod scoring;
pub mod tokenizer;
pub mod training;

pub use error::{LmError, Result};
