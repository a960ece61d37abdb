//! Stage `infer`: score every token of a testbed with a causal code language model.
//!
//! For each distinct `row_id` of `testbed.parquet` the code is tokenized (byte offsets), a BOS
//! is prepended when the model has one, and every position `t >= 1` is scored with the
//! model's prediction after `w[..t]`: `tokens.parquet` gets the log-probability of the actual
//! token, its rank, the entropy and the top-k; `scores.parquet` gets per-row means (methodology
//! §1). Code longer than the context is read in sliding windows (`stride` new tokens each), so
//! each token is scored exactly once with at least `context - stride` tokens of context.
//! Windows of many rows are sorted by length and batched with right padding; padded positions
//! are never read. Only statistics leave the device, never logits. Results are deterministic
//! for a given model, device and batch size.
//!
//! The library knows nothing of the runner, its cache, the lock file or Slurm: it reads the
//! inputs it is given and writes only the output paths it is given.

use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use icodegen_artifacts::schemas::{scores, testbed, tokens};
use icodegen_artifacts::{ArtifactReader, ArtifactWriter, cli};
use icodegen_lm::LmError;
use icodegen_lm::device::{DeviceChoice, DtypeChoice, device_name};
use icodegen_lm::model_dir::{self, LoadedModel};
use icodegen_lm::scoring::{self, TokenStatistics, Window};
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Why a row was not scored (the `skip_reason` column).
pub const SKIP_EMPTY: &str = "empty or whitespace-only code";
pub const SKIP_SINGLE_TOKEN: &str = "a single token and no BOS: nothing to predict";

/// Distinct rows tokenized and scored together (bounds memory; larger groups batch better).
const ROWS_PER_CHUNK: usize = 1024;

/// An [`LmError`] as the CLI classifies it: the user's to fix (exit 2) or a failure (exit 1).
pub fn lm_error(error: LmError) -> anyhow::Error {
    if error.is_user_error() {
        cli::usage(error.to_string())
    } else {
        anyhow::Error::new(error)
    }
}

/// The `infer` section of `params.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InferConfig {
    /// Windows (sequences) per forward pass.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// New tokens per sliding window on code longer than the context; half the context when
    /// unset. Must be below the context.
    #[serde(default)]
    pub stride: Option<usize>,
    /// Read at most this many tokens at once (the model's context length when unset or larger).
    #[serde(default)]
    pub max_context: Option<usize>,
    /// How many most likely tokens `topk_ids`/`topk_logprobs` keep.
    #[serde(default = "default_top_k")]
    pub top_k: usize,
    /// libtorch intra-op threads; all cores when unset (`--threads` overrides).
    #[serde(default)]
    pub threads: Option<usize>,
    /// `auto` (a Hugging Face checkpoint's own dtype on CUDA, float32 on the CPU), `float32`,
    /// `bfloat16` or `float16` (`--dtype` overrides). Other formats run in float32.
    #[serde(default)]
    pub dtype: DtypeChoice,
}

fn default_batch_size() -> usize {
    16
}
fn default_top_k() -> usize {
    5
}

impl Default for InferConfig {
    fn default() -> Self {
        Self {
            batch_size: default_batch_size(),
            stride: None,
            max_context: None,
            top_k: default_top_k(),
            threads: None,
            dtype: DtypeChoice::Auto,
        }
    }
}

/// Flags that are not params.
#[derive(Debug, Clone, Default)]
pub struct InferOptions {
    pub model_id: String,
    pub device: DeviceChoice,
    pub threads: Option<usize>,
    /// Overrides `dtype` of the params.
    pub dtype: Option<DtypeChoice>,
}

/// Settings in force after the model is known (recorded in the artifacts' metadata).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Resolved {
    pub batch_size: usize,
    pub context: usize,
    pub stride: usize,
    pub top_k: usize,
}

impl InferConfig {
    /// Checks the settings against the model's context length.
    pub fn resolve(&self, model_context: usize) -> anyhow::Result<Resolved> {
        let context = self
            .max_context
            .map_or(model_context, |max| max.min(model_context));
        let stride = self.stride.unwrap_or((context / 2).max(1));
        let problem = if self.batch_size == 0 {
            Some("batch_size must be at least 1".to_owned())
        } else if context < 2 {
            Some(format!("the context ({context} tokens) must be at least 2"))
        } else if stride == 0 || stride >= context {
            Some(format!(
                "stride {stride} must be at least 1 and below the context ({context} tokens)"
            ))
        } else if self.top_k == 0 {
            Some("top_k must be at least 1".to_owned())
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(cli::usage(format!("infer params: {problem}")));
        }
        Ok(Resolved {
            batch_size: self.batch_size,
            context,
            stride,
            top_k: self.top_k,
        })
    }
}

/// One row's tokens, ready to score.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The sequence the model reads: BOS (when the model has one) then the code's tokens.
    pub ids: Vec<i64>,
    pub spans: Vec<Option<(u32, u32)>>,
    /// The tokenizer's token count for the code (BOS not counted).
    pub n_tokens: usize,
    pub skip: Option<&'static str>,
}

/// Tokenizes `codes` for `model`.
pub fn prepare(model: &LoadedModel, codes: &[&str]) -> anyhow::Result<Vec<Prepared>> {
    let encoded = model.tokenizer.encode_batch(codes).map_err(lm_error)?;
    Ok(codes
        .iter()
        .zip(encoded)
        .map(|(code, encoded)| {
            let n_tokens = encoded.len();
            let mut ids = Vec::with_capacity(n_tokens + 1);
            let mut spans = Vec::with_capacity(n_tokens + 1);
            if let Some(bos) = model.config.bos_id {
                ids.push(bos);
                spans.push(None);
            }
            ids.extend(encoded.ids);
            spans.extend(encoded.spans);
            let skip = if code.trim().is_empty() {
                Some(SKIP_EMPTY)
            } else if ids.len() < 2 {
                Some(SKIP_SINGLE_TOKEN)
            } else {
                None
            };
            Prepared {
                ids,
                spans,
                n_tokens,
                skip,
            }
        })
        .collect())
}

/// Scores every position `1..len` of each non-skipped row; the statistics of row `r` are in
/// position order (entry `i` is position `i + 1`). Skipped rows get empty statistics.
pub fn score(
    model: &LoadedModel,
    rows: &[Prepared],
    settings: &Resolved,
) -> anyhow::Result<Vec<TokenStatistics>> {
    let k = settings.top_k.min(model.config.vocab_size as usize);
    let mut results: Vec<TokenStatistics> = rows
        .iter()
        .map(|row| {
            let n = if row.skip.is_some() {
                0
            } else {
                row.ids.len() - 1
            };
            TokenStatistics {
                logprob: vec![0.0; n],
                rank: vec![0; n],
                entropy: vec![0.0; n],
                top_ids: vec![0; n * k],
                top_logprobs: vec![0.0; n * k],
                k,
            }
        })
        .collect();
    let mut items: Vec<(usize, Window)> = rows
        .iter()
        .enumerate()
        .filter(|(_, row)| row.skip.is_none())
        .flat_map(|(index, row)| {
            scoring::windows(row.ids.len(), settings.context, settings.stride)
                .into_iter()
                .map(move |window| (index, window))
        })
        .collect();
    // Longest first, so each batch pads little and the largest allocation comes first.
    items.sort_by_key(|(index, window)| {
        (
            std::cmp::Reverse(window.end - window.start),
            *index,
            window.start,
        )
    });
    let pad = model.config.pad();
    let _no_grad = tch::no_grad_guard();
    for batch in items.chunks(settings.batch_size) {
        let time = batch
            .iter()
            .map(|(_, w)| w.end - w.start)
            .max()
            .unwrap_or(0);
        let mut ids = Vec::with_capacity(batch.len() * time);
        let mut mask = Vec::with_capacity(batch.len() * time);
        let (mut batch_index, mut time_index, mut targets) = (Vec::new(), Vec::new(), Vec::new());
        let mut padded = false;
        for (b, (row, window)) in batch.iter().enumerate() {
            let sequence = &rows[*row].ids[window.start..window.end];
            ids.extend_from_slice(sequence);
            mask.extend(std::iter::repeat_n(1i64, sequence.len()));
            let missing = time - sequence.len();
            padded |= missing > 0;
            ids.extend(std::iter::repeat_n(pad, missing));
            mask.extend(std::iter::repeat_n(0i64, missing));
            for position in window.score_from..window.end {
                batch_index.push(b as i64);
                time_index.push((position - window.start - 1) as i64);
                targets.push(rows[*row].ids[position]);
            }
        }
        let shape = [batch.len() as i64, time as i64];
        let device = model.device;
        let ids = Tensor::from_slice(&ids).view(shape).to_device(device);
        let mask = Tensor::from_slice(&mask).view(shape).to_device(device);
        let rows_at = model
            .model
            .select(
                &ids,
                padded.then_some(&mask),
                &Tensor::from_slice(&batch_index).to_device(device),
                &Tensor::from_slice(&time_index).to_device(device),
            )
            .map_err(lm_error)?;
        let statistics = scoring::statistics_projected(
            &rows_at,
            &Tensor::from_slice(&targets).to_device(device),
            k,
            model.config.vocab_size,
            &|rows| model.model.project(rows),
        )
        .map_err(lm_error)?;
        let mut next = 0;
        for (row, window) in batch {
            let result = &mut results[*row];
            for position in window.score_from..window.end {
                let at = position - 1;
                result.logprob[at] = statistics.logprob[next];
                result.rank[at] = statistics.rank[next];
                result.entropy[at] = statistics.entropy[next];
                result.top_ids[at * k..(at + 1) * k]
                    .copy_from_slice(&statistics.top_ids[next * k..(next + 1) * k]);
                result.top_logprobs[at * k..(at + 1) * k]
                    .copy_from_slice(&statistics.top_logprobs[next * k..(next + 1) * k]);
                next += 1;
            }
        }
    }
    Ok(results)
}

/// What a run did, for the log and `--metrics`.
#[derive(Debug, Clone, Serialize)]
pub struct InferReport {
    pub model_id: String,
    pub model_blake3: String,
    /// `icodegen`, `torchscript` or `huggingface`.
    pub model_format: String,
    /// Scalars in the model's weights (absent for TorchScript).
    pub parameters: Option<i64>,
    /// The floating-point type the model computed in.
    pub dtype: String,
    /// Hugging Face checkpoints: model type, stored dtype, files, load time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<icodegen_lm::hf::CheckpointInfo>,
    pub device: String,
    pub threads: i32,
    pub settings: Resolved,
    pub rows: usize,
    pub skipped_rows: usize,
    pub scored_tokens: usize,
    /// Seconds tokenizing and scoring (model loading and artifact IO excluded).
    pub scoring_seconds: f64,
    pub total_seconds: f64,
    pub tokens_per_second: f64,
}

/// Reads the distinct rows of a testbed artifact as (row_id, code), in order of first
/// appearance.
pub fn read_testbed(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut seen = HashSet::new();
    let mut rows = Vec::new();
    for batch in ArtifactReader::<testbed::Row>::open(path)? {
        for row in batch? {
            if seen.insert(row.row_id.clone()) {
                rows.push((row.row_id, row.code));
            }
        }
    }
    Ok(rows)
}

/// Runs the stage: scores the testbed at `testbed_path` with the model directory `model_path`
/// and writes `tokens.parquet` and `scores.parquet` (atomically).
pub fn infer(
    config: &InferConfig,
    options: &InferOptions,
    model_path: &Path,
    testbed_path: &Path,
    tokens_path: &Path,
    scores_path: &Path,
) -> anyhow::Result<InferReport> {
    let started = Instant::now();
    if options.model_id.trim().is_empty() {
        return Err(cli::usage("--model-id must not be empty"));
    }
    let device = options.device.resolve().map_err(lm_error)?;
    if let Some(threads) = options.threads.or(config.threads) {
        tch::set_num_threads(threads.max(1) as i32);
    }
    let dtype = options.dtype.unwrap_or(config.dtype);
    let model = model_dir::load_with(model_path, model_dir::LoadOptions { device, dtype })
        .map_err(lm_error)?;
    let settings = config.resolve(model.config.context_length as usize)?;
    let rows = read_testbed(testbed_path)?;

    let params_json = serde_json::to_string(&settings).expect("settings serialize");
    let format = serde_json::to_value(model.config.format).expect("formats serialize");
    let format = format.as_str().unwrap_or("unknown").to_owned();
    let dtype_name = icodegen_lm::hf::kind_name(model.kind).to_owned();
    let parameters = model
        .parameters
        .map(|count| count.to_string())
        .unwrap_or_default();
    let device_text = device_name(device);
    let metadata = [
        ("icodegen.model_id", options.model_id.as_str()),
        ("icodegen.model_blake3", model.hash.as_str()),
        ("icodegen.infer_params", params_json.as_str()),
        ("icodegen.model_format", format.as_str()),
        ("icodegen.model_parameters", parameters.as_str()),
        ("icodegen.dtype", dtype_name.as_str()),
        ("icodegen.device", device_text.as_str()),
    ];
    let mut token_writer =
        ArtifactWriter::<tokens::Row>::create_with_metadata(tokens_path, "infer", &metadata)?;
    let mut score_writer =
        ArtifactWriter::<scores::Row>::create_with_metadata(scores_path, "infer", &metadata)?;
    let bar = icodegen_artifacts::progress::bar(
        rows.len() as u64,
        &format!("infer {}", options.model_id),
    );
    let (mut scoring_seconds, mut scored_tokens, mut skipped_rows) = (0.0, 0, 0);
    for chunk in rows.chunks(ROWS_PER_CHUNK) {
        let scoring_started = Instant::now();
        let codes: Vec<&str> = chunk.iter().map(|(_, code)| code.as_str()).collect();
        let prepared = prepare(&model, &codes)?;
        let statistics = score(&model, &prepared, &settings).with_context(|| {
            format!(
                "scoring `{}` with `{}`",
                testbed_path.display(),
                model_path.display()
            )
        })?;
        scoring_seconds += scoring_started.elapsed().as_secs_f64();
        for (((row_id, _), row), stats) in chunk.iter().zip(&prepared).zip(statistics) {
            let n_tokens = i32::try_from(row.n_tokens).unwrap_or(i32::MAX);
            if let Some(reason) = row.skip {
                skipped_rows += 1;
                score_writer.push(scores::Row {
                    model_id: options.model_id.clone(),
                    row_id: row_id.clone(),
                    n_tokens,
                    n_scored: 0,
                    cross_entropy: None,
                    perplexity: None,
                    accuracy: None,
                    skip_reason: Some(reason.to_owned()),
                })?;
                continue;
            }
            let k = stats.k;
            for (at, position) in (1..row.ids.len()).enumerate() {
                let span = row.spans[position];
                token_writer.push(tokens::Row {
                    model_id: options.model_id.clone(),
                    row_id: row_id.clone(),
                    position: position as i32,
                    token_id: row.ids[position] as i32,
                    token: model.tokenizer.token_text(row.ids[position]),
                    byte_start: span.map(|(start, _)| start as i32),
                    byte_end: span.map(|(_, end)| end as i32),
                    logprob: stats.logprob[at],
                    rank: stats.rank[at],
                    entropy: stats.entropy[at],
                    topk_ids: stats.top_ids[at * k..(at + 1) * k].to_vec(),
                    topk_logprobs: stats.top_logprobs[at * k..(at + 1) * k].to_vec(),
                })?;
            }
            let n = stats.len();
            scored_tokens += n;
            let cross_entropy =
                -stats.logprob.iter().map(|&lp| f64::from(lp)).sum::<f64>() / n as f64;
            let correct = stats.rank.iter().filter(|&&rank| rank == 1).count();
            score_writer.push(scores::Row {
                model_id: options.model_id.clone(),
                row_id: row_id.clone(),
                n_tokens,
                n_scored: n as i32,
                cross_entropy: Some(cross_entropy),
                perplexity: Some(cross_entropy.exp()),
                accuracy: Some(correct as f64 / n as f64),
                skip_reason: None,
            })?;
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    token_writer.finish()?;
    score_writer.finish()?;
    Ok(InferReport {
        model_id: options.model_id.clone(),
        model_blake3: model.hash.clone(),
        model_format: format,
        parameters: model.parameters,
        dtype: dtype_name,
        checkpoint: model.checkpoint.clone(),
        device: device_text,
        threads: tch::get_num_threads(),
        settings,
        rows: rows.len(),
        skipped_rows,
        scored_tokens,
        scoring_seconds,
        total_seconds: started.elapsed().as_secs_f64(),
        tokens_per_second: scored_tokens as f64 / scoring_seconds.max(1e-9),
    })
}
