//! Training icodegen's own architectures.
//!
//! Seeded and deterministic on the CPU for a given thread count: libtorch's generator is
//! seeded before the weights are made (dropout draws from it too), and batches are length
//! buckets whose order a seeded ChaCha generator shuffles each epoch. A `max_minutes` budget
//! stops at a time, not a step, so only step budgets reproduce bit for bit across machines;
//! the metrics say which budget stopped a run.

mod data;
mod schedule;

use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Reduction, Tensor};

pub use data::{IGNORE, batch_tensors, epoch_order, length_buckets, pieces};
pub use schedule::learning_rate;

use crate::config::{Architecture, ModelConfig, ModelFormat};
use crate::device::device_name;
use crate::error::{LmError, Result};
use crate::model::{LanguageModel, parameter_count};
use crate::model_dir;
use crate::tokenizer::CodeTokenizer;

/// How to train one model (a `train.models.NAME` section of `params.yaml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Architecture and sizes: `{architecture: gru|lstm, embedding, hidden, layers, dropout}` or
    /// `{architecture: gpt2, layers, heads, width, dropout}`.
    pub model: Architecture,
    /// Longest input in tokens (BOS included); longer code is cut into pieces of this length.
    pub context_length: i64,
    /// Sequences per step.
    pub batch_size: usize,
    /// Passes over the training split (a budget may stop earlier); 0 = until a budget stops.
    pub epochs: usize,
    /// Budget: stop after this many optimizer steps.
    #[serde(default)]
    pub max_steps: Option<usize>,
    /// Budget: stop after this many minutes of training (checked after each step).
    #[serde(default)]
    pub max_minutes: Option<f64>,
    /// Peak learning rate of AdamW.
    pub learning_rate: f64,
    /// Where the cosine decay ends.
    #[serde(default)]
    pub min_learning_rate: f64,
    /// Linear warm-up steps.
    #[serde(default)]
    pub warmup_steps: usize,
    /// AdamW's decoupled weight decay.
    #[serde(default = "default_weight_decay")]
    pub weight_decay: f64,
    /// Gradients are rescaled to at most this global L2 norm.
    #[serde(default = "default_clip_norm")]
    pub clip_norm: f64,
    pub seed: u64,
    /// libtorch intra-op threads; all cores when unset (the stage's `--threads` overrides).
    #[serde(default)]
    pub threads: Option<usize>,
    /// Validate on the first this many snippets of the valid split only (all when unset):
    /// validation runs after every epoch and should stay a small share of the budget.
    #[serde(default)]
    pub max_valid_snippets: Option<usize>,
    /// Token prepended to each snippet and appended as its end.
    #[serde(default = "default_bos")]
    pub bos_token: String,
    /// Token that fills batches.
    #[serde(default = "default_pad")]
    pub pad_token: String,
}

fn default_weight_decay() -> f64 {
    0.01
}
fn default_clip_norm() -> f64 {
    1.0
}
fn default_bos() -> String {
    "<|endoftext|>".to_owned()
}
fn default_pad() -> String {
    "<|pad|>".to_owned()
}

impl TrainConfig {
    pub fn validate(&self) -> Result<()> {
        let problem = if self.batch_size == 0 {
            Some("batch_size must be at least 1")
        } else if self.context_length < 2 {
            Some("context_length must be at least 2")
        } else if self.learning_rate.is_nan() || self.learning_rate <= 0.0 {
            Some("learning_rate must be positive")
        } else if self.min_learning_rate < 0.0 || self.min_learning_rate > self.learning_rate {
            Some("min_learning_rate must be in [0, learning_rate]")
        } else if self.clip_norm.is_nan() || self.clip_norm <= 0.0 {
            Some("clip_norm must be positive")
        } else if self.epochs == 0 && self.max_steps.is_none() && self.max_minutes.is_none() {
            Some("epochs is 0 and there is no max_steps or max_minutes: training would not stop")
        } else if self
            .max_minutes
            .is_some_and(|minutes| minutes.is_nan() || minutes <= 0.0)
        {
            Some("max_minutes must be positive")
        } else {
            None
        };
        match problem {
            Some(message) => Err(LmError::Invalid(message.to_owned())),
            None => self.model.validate(),
        }
    }
}

/// One epoch, or the part of one that ran before a budget stopped training.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EpochMetrics {
    /// 1-based.
    pub epoch: usize,
    /// Optimizer steps so far, all epochs.
    pub steps: usize,
    /// Mean training cross-entropy (nats per token) over this epoch's steps.
    pub train_loss: f64,
    /// Mean cross-entropy on the valid split after this epoch; null without one.
    pub valid_loss: Option<f64>,
    pub train_tokens: i64,
    pub seconds: f64,
    pub tokens_per_second: f64,
}

/// `metrics.json` of a model directory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrainMetrics {
    pub architecture: String,
    pub parameters: i64,
    pub vocab_size: i64,
    pub device: String,
    pub threads: i32,
    pub seed: u64,
    pub train_sequences: usize,
    pub valid_sequences: usize,
    pub batches_per_epoch: usize,
    pub steps: usize,
    /// `epochs`, `max_steps` or `max_minutes`.
    pub stopped_by: String,
    pub train_tokens: i64,
    /// Seconds in optimizer steps and validation.
    pub train_seconds: f64,
    /// Training throughput: target tokens per second, validation time included.
    pub tokens_per_second: f64,
    /// Estimated forward + backward GFLOP/s (3 x the forward FLOPs).
    pub gflops_per_second: Option<f64>,
    pub final_valid_loss: Option<f64>,
    pub epochs: Vec<EpochMetrics>,
}

/// A trained model with what describes it.
pub struct Trained {
    pub store: nn::VarStore,
    pub model: LanguageModel,
    pub config: ModelConfig,
    pub metrics: TrainMetrics,
}

impl Trained {
    /// Writes the model directory's files into `dir` (the temporary directory of an atomic
    /// output): config, tokenizer, weights, metrics.
    pub fn save(&self, dir: &std::path::Path, tokenizer: &CodeTokenizer) -> Result<()> {
        model_dir::save(dir, &self.config, tokenizer, &self.store)?;
        let path = dir.join(model_dir::METRICS_FILE);
        let mut text = serde_json::to_string_pretty(&self.metrics).expect("metrics serialize");
        text.push('\n');
        fs_err::write(&path, text).map_err(|e| LmError::io("write", &path, e))
    }
}

/// Trains `config.model` on `train` (validating on `valid` after each epoch) on `device`.
/// `on_step(step, total_steps, loss)` is called after each optimizer step.
pub fn train(
    config: &TrainConfig,
    tokenizer: &CodeTokenizer,
    train: &[String],
    valid: &[String],
    device: Device,
    on_step: &mut dyn FnMut(usize, usize, f64),
) -> Result<Trained> {
    config.validate()?;
    let special = |name: &str, token: &str| {
        tokenizer.token_id(token).ok_or_else(|| LmError::Tokenizer {
            path: tokenizer.path().to_path_buf(),
            message: format!(
                "has no {name} token `{token}` (set {name}_token in the train params)"
            ),
        })
    };
    let bos = special("bos", &config.bos_token)?;
    let pad = special("pad", &config.pad_token)?;
    let context = config.context_length as usize;
    let encode = |codes: &[String]| -> Result<Vec<Vec<i64>>> {
        let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
        Ok(tokenizer
            .encode_batch(&refs)?
            .into_iter()
            .map(|encoded| {
                let mut sequence = Vec::with_capacity(encoded.len() + 2);
                sequence.push(bos);
                sequence.extend(encoded.ids);
                sequence.push(bos);
                sequence
            })
            .collect())
    };
    let train_pieces = pieces(&encode(train)?, context);
    let valid = &valid[..config
        .max_valid_snippets
        .map_or(valid.len(), |max| max.min(valid.len()))];
    let valid_pieces = pieces(&encode(valid)?, context);
    if train_pieces.is_empty() {
        return Err(LmError::Invalid("no training code".to_owned()));
    }
    let train_batches = length_buckets(&train_pieces, config.batch_size);
    let valid_batches = length_buckets(&valid_pieces, config.batch_size);

    tch::manual_seed(config.seed as i64);
    let vocab_size = tokenizer.vocab_size();
    let store = nn::VarStore::new(device);
    let model = LanguageModel::build(
        &store.root(),
        &config.model,
        vocab_size,
        config.context_length,
    )?;
    let mut optimizer = nn::AdamW {
        beta1: 0.9,
        beta2: 0.95,
        wd: config.weight_decay,
        eps: 1e-8,
        amsgrad: false,
    }
    .build(&store, config.learning_rate)?;

    let by_epochs = config.epochs.saturating_mul(train_batches.len());
    let total_steps = match (config.max_steps, config.epochs) {
        (Some(max_steps), 0) => max_steps,
        (Some(max_steps), _) => max_steps.min(by_epochs),
        (None, 0) => usize::MAX,
        (None, _) => by_epochs,
    };
    let deadline = config.max_minutes.map(|minutes| minutes * 60.0);
    let started = Instant::now();
    let mut epochs = Vec::new();
    let (mut step, mut epoch) = (0, 0);
    let mut out_of_time = false;
    while step < total_steps && !out_of_time && (config.epochs == 0 || epoch < config.epochs) {
        let epoch_started = Instant::now();
        let (mut loss_sum, mut tokens) = (0.0, 0i64);
        for batch in epoch_order(train_batches.len(), config.seed, epoch) {
            if step >= total_steps {
                break;
            }
            if deadline.is_some_and(|limit| started.elapsed().as_secs_f64() >= limit) {
                out_of_time = true;
                break;
            }
            // With only a time budget (total_steps = usize::MAX) the cosine never starts: the
            // rate stays at its peak after warm-up.
            optimizer.set_lr(learning_rate(
                step,
                total_steps,
                config.warmup_steps,
                config.learning_rate,
                config.min_learning_rate,
            ));
            let (inputs, targets, count) =
                batch_tensors(&train_pieces, &train_batches[batch], pad, device);
            let logits = model.logits(&inputs, None, true)?;
            let loss = logits
                .view([-1, vocab_size])
                .f_cross_entropy_loss::<Tensor>(
                    &targets.view(-1),
                    None,
                    Reduction::Mean,
                    IGNORE,
                    0.0,
                )?;
            optimizer.backward_step_clip_norm(&loss, config.clip_norm);
            let value = f64::try_from(&loss)?;
            if !value.is_finite() {
                return Err(LmError::Training(format!(
                    "training diverged at step {step}: the loss is {value}\nhint: lower learning_rate or clip_norm"
                )));
            }
            loss_sum += value * count as f64;
            tokens += count;
            step += 1;
            on_step(step, total_steps, value);
        }
        epoch += 1;
        if tokens > 0 {
            let valid_loss = evaluate(
                &model,
                &valid_pieces,
                &valid_batches,
                pad,
                vocab_size,
                device,
            )?;
            let seconds = epoch_started.elapsed().as_secs_f64();
            epochs.push(EpochMetrics {
                epoch,
                steps: step,
                train_loss: loss_sum / tokens as f64,
                valid_loss,
                train_tokens: tokens,
                seconds,
                tokens_per_second: tokens as f64 / seconds.max(1e-9),
            });
        }
    }
    let stopped_by = if out_of_time {
        "max_minutes"
    } else if config.max_steps.is_some_and(|max| step >= max)
        && (config.epochs == 0 || step < by_epochs)
    {
        "max_steps"
    } else {
        "epochs"
    };

    let train_tokens: i64 = epochs.iter().map(|epoch| epoch.train_tokens).sum();
    let train_seconds: f64 = epochs.iter().map(|epoch| epoch.seconds).sum();
    let mean_time = train_pieces
        .iter()
        .map(|piece| piece.len() - 1)
        .sum::<usize>()
        / train_pieces.len();
    let flops = model.flops_per_token(mean_time as i64);
    let metrics = TrainMetrics {
        architecture: config.model.name().to_owned(),
        parameters: parameter_count(&store),
        vocab_size,
        device: device_name(device),
        threads: tch::get_num_threads(),
        seed: config.seed,
        train_sequences: train.len(),
        valid_sequences: valid.len(),
        batches_per_epoch: train_batches.len(),
        steps: step,
        stopped_by: stopped_by.to_owned(),
        train_tokens,
        train_seconds,
        tokens_per_second: train_tokens as f64 / train_seconds.max(1e-9),
        gflops_per_second: flops
            .map(|flops| 3.0 * flops * train_tokens as f64 / train_seconds.max(1e-9) / 1e9),
        final_valid_loss: epochs.last().and_then(|epoch| epoch.valid_loss),
        epochs,
    };
    let model_config = ModelConfig {
        format: ModelFormat::Icodegen,
        model: Some(config.model.clone()),
        vocab_size,
        context_length: config.context_length,
        bos_id: Some(bos),
        eos_id: Some(bos),
        pad_id: Some(pad),
        accepts_attention_mask: true,
        provenance: Some(serde_json::json!({ "trained_by": "icodegen-train", "train": config })),
    };
    Ok(Trained {
        store,
        model,
        config: model_config,
        metrics,
    })
}

/// Mean cross-entropy per target token over `pieces`, without dropout; `None` when there are
/// none.
pub fn evaluate(
    model: &LanguageModel,
    pieces: &[Vec<i64>],
    batches: &[Vec<usize>],
    pad: i64,
    vocab_size: i64,
    device: Device,
) -> Result<Option<f64>> {
    if pieces.is_empty() {
        return Ok(None);
    }
    let _no_grad = tch::no_grad_guard();
    let (mut sum, mut count) = (0.0, 0i64);
    for members in batches {
        let (inputs, targets, tokens) = batch_tensors(pieces, members, pad, device);
        let logits = model.logits(&inputs, None, false)?;
        let loss = logits
            .view([-1, vocab_size])
            .f_cross_entropy_loss::<Tensor>(&targets.view(-1), None, Reduction::Sum, IGNORE, 0.0)?;
        sum += f64::try_from(&loss.to_kind(Kind::Double))?;
        count += tokens;
    }
    Ok(Some(sum / count.max(1) as f64))
}
