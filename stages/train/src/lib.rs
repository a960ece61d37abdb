//! Stage `train`: a byte-level BPE tokenizer trained on the training split, and GRU, LSTM or
//! GPT-2-style code language models trained with libtorch, each written as a model directory
//! (`icodegen_lm::model_dir`: weights, config, tokenizer, metrics).
//!
//! The models, the training loop and its guarantees (seeded, deterministic on the CPU) live in
//! `icodegen_lm::training`; this stage reads `snippets.parquet` and writes its outputs
//! atomically. It knows nothing of the runner, its cache, the lock file or Slurm: it reads the
//! inputs it is given and writes only the output paths it is given.

mod error;

pub use error::TrainError;

use std::path::Path;
use std::time::Instant;

use icodegen_artifacts::schemas::snippets;
use icodegen_artifacts::{ArtifactReader, atomic};
use icodegen_lm::LmError;
use icodegen_lm::device::DeviceChoice;
use icodegen_lm::tokenizer::{CodeTokenizer, TokenizerSpec};
use icodegen_lm::training::{self, TrainConfig, TrainMetrics};
use serde::Serialize;

/// An [`LmError`] inside an [`anyhow::Error`] as a [`TrainError`], so that `icodegen-train`'s
/// `cli::main_for_stage::<TrainError>` classifies it (exit 2 or 1, by
/// [`LmError::is_user_error`]).
pub fn lm_error(error: LmError) -> anyhow::Error {
    anyhow::Error::new(TrainError::Lm(error))
}

/// The code of the `train` and `valid` splits of a snippets artifact, in file order.
pub struct Splits {
    pub train: Vec<String>,
    pub valid: Vec<String>,
}

/// Reads the snippets artifact, keeping the non-blank code of the train and valid splits.
pub fn read_splits(path: &Path) -> anyhow::Result<Splits> {
    let mut splits = Splits {
        train: Vec::new(),
        valid: Vec::new(),
    };
    for batch in ArtifactReader::<snippets::Row>::open(path)? {
        for row in batch? {
            if row.code.trim().is_empty() {
                continue;
            }
            match row.split.as_str() {
                "train" => splits.train.push(row.code),
                "valid" => splits.valid.push(row.code),
                _ => {}
            }
        }
    }
    if splits.train.is_empty() {
        return Err(TrainError::NothingToTrain {
            path: path.to_path_buf(),
        }
        .into());
    }
    Ok(splits)
}

/// What a tokenizer run reports.
#[derive(Debug, Clone, Serialize)]
pub struct TokenizerReport {
    pub vocab_size: i64,
    pub train_snippets: usize,
    pub train_bytes: usize,
    pub seconds: f64,
}

/// Trains a tokenizer on the train split of `snippets` and writes it to `out`.
pub fn train_tokenizer(
    spec: &TokenizerSpec,
    snippets: &Path,
    out: &Path,
) -> anyhow::Result<TokenizerReport> {
    let started = Instant::now();
    let splits = read_splits(snippets)?;
    let tokenizer = CodeTokenizer::train(spec, splits.train.iter(), snippets).map_err(lm_error)?;
    atomic::write_bytes(out, tokenizer.to_json().map_err(lm_error)?.as_bytes())?;
    Ok(TokenizerReport {
        vocab_size: tokenizer.vocab_size(),
        train_snippets: splits.train.len(),
        train_bytes: splits.train.iter().map(String::len).sum(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Where and with how many threads to train (flags, not params).
#[derive(Debug, Clone, Copy, Default)]
pub struct TrainOptions {
    pub device: DeviceChoice,
    pub threads: Option<usize>,
}

/// Trains the model `config` describes on `snippets` with the tokenizer at `tokenizer_path`
/// and writes the model directory `out` atomically.
pub fn train_model(
    config: &TrainConfig,
    options: TrainOptions,
    snippets: &Path,
    tokenizer_path: &Path,
    out: &Path,
) -> anyhow::Result<TrainMetrics> {
    config.validate().map_err(TrainError::Params)?;
    let device = options.device.resolve().map_err(lm_error)?;
    if let Some(threads) = options.threads.or(config.threads) {
        tch::set_num_threads(threads.max(1) as i32);
    }
    let tokenizer = CodeTokenizer::load(tokenizer_path).map_err(lm_error)?;
    let splits = read_splits(snippets)?;
    let bar = icodegen_artifacts::progress::bar(0, &format!("train {}", config.model.name()));
    let mut on_step = |step: usize, total: usize, _loss: f64| {
        if bar.length() != Some(total as u64) && total != usize::MAX {
            bar.set_length(total as u64);
        }
        bar.set_position(step as u64);
    };
    let trained = training::train(
        config,
        &tokenizer,
        &splits.train,
        &splits.valid,
        device,
        &mut on_step,
    )
    .map_err(lm_error)?;
    bar.finish_and_clear();
    let directory = atomic::AtomicDir::create(out)?;
    trained
        .save(directory.path(), &tokenizer)
        .map_err(lm_error)?;
    directory.commit()?;
    Ok(trained.metrics)
}
