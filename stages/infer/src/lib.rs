//! Stage `infer`: score every token of a testbed with a causal code language model.
//!
//! For each distinct `row_id` of `testbed.parquet` the code is tokenized (byte offsets), a BOS
//! is prepended when the model has one, and every position `t >= 1` is scored with the
//! model's prediction after `w[..t]`: `tokens.parquet` gets the log-probability of the actual
//! token, its rank, the entropy and the top-k; `scores.parquet` gets per-row means (methodology
//! §1). Code longer than the context is read in sliding windows (`stride` new tokens each), so
//! each token is scored exactly once with at least `context - stride` tokens of context.
//! The windows of the whole testbed are sorted by (length, `row_id`, start) and cut into
//! batches (of `batch_size` windows, or of at most `max_batch_tokens` tokens with padding
//! counted), right-padded; padded positions are never read. Only statistics leave the device,
//! never logits. Every window is scored in the same batch whatever the sharding (`--shard I/N`
//! takes whole batches, balanced by tokens), so shards merged by `--merge` give the bytes of
//! one unsharded run. Outputs are in canonical order (`row_id`, then position).
//!
//! The library knows nothing of the runner, its cache, the lock file or Slurm: it reads the
//! inputs it is given and writes only the output paths it is given.

mod error;
pub mod journal;
mod merge;
pub mod row_cache;

pub use error::InferError;
pub use merge::merge;

use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use icodegen_artifacts::schemas::{scores, testbed, tokens};
use icodegen_artifacts::vocab::SkipReason;
use icodegen_artifacts::{ArtifactReader, ArtifactWriter};
use icodegen_lm::LmError;
use icodegen_lm::device::{DeviceChoice, DtypeChoice, device_name};
use icodegen_lm::model_dir::{self, LoadedModel};
use icodegen_lm::scoring::{self, TokenStatistics, Window};
use icodegen_lm::tokenizer::CodeTokenizer;
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Why a row was not scored (the `skip_reason` column), as spelled by [`SkipReason`].
pub const SKIP_EMPTY: &str = SkipReason::Empty.as_str();
pub const SKIP_SINGLE_TOKEN: &str = SkipReason::SingleToken.as_str();

/// An [`LmError`] inside an [`anyhow::Error`] as an [`InferError`], so that `icodegen-infer`'s
/// `cli::main_for_stage::<InferError>` classifies it (exit 2 or 1, by
/// [`LmError::is_user_error`]).
pub fn lm_error(error: LmError) -> anyhow::Error {
    anyhow::Error::new(InferError::Lm(error))
}

/// The `infer` section of `params.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InferConfig {
    /// Windows (sequences) per forward pass, when `max_batch_tokens` is not set.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Cut batches by tokens instead: at most this many tokens per forward pass, padding
    /// counted (windows sorted by length pad little).
    #[serde(default)]
    pub max_batch_tokens: Option<usize>,
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
            max_batch_tokens: None,
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
    /// Score only this shard of the testbed's batches.
    pub shard: Option<Shard>,
    /// Keep completed batches here, and resume from them (see [`journal`]).
    pub journal: Option<std::path::PathBuf>,
    /// Reuse rows scored earlier by the same model and settings, kept here (see
    /// [`row_cache`]).
    pub row_cache: Option<std::path::PathBuf>,
}

/// Settings in force after the model is known (recorded in the artifacts' metadata).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Resolved {
    pub batch_size: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_batch_tokens: Option<usize>,
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
            Some(("batch_size", "batch_size must be at least 1".to_owned()))
        } else if self.max_batch_tokens == Some(0) {
            Some((
                "max_batch_tokens",
                "max_batch_tokens must be at least 1".to_owned(),
            ))
        } else if context < 2 {
            Some((
                "max_context",
                format!("the context ({context} tokens) must be at least 2"),
            ))
        } else if stride == 0 || stride >= context {
            Some((
                "stride",
                format!(
                    "stride {stride} must be at least 1 and below the context ({context} tokens)"
                ),
            ))
        } else if self.top_k == 0 {
            Some(("top_k", "top_k must be at least 1".to_owned()))
        } else {
            None
        };
        if let Some((key, problem)) = problem {
            return Err(InferError::params(key, problem).into());
        }
        Ok(Resolved {
            batch_size: self.batch_size,
            max_batch_tokens: self.max_batch_tokens,
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
    pub skip: Option<SkipReason>,
}

/// Tokenizes `codes` for `model`.
pub fn prepare(model: &LoadedModel, codes: &[&str]) -> anyhow::Result<Vec<Prepared>> {
    prepare_with(&model.tokenizer, model.config.bos_id, codes)
}

/// Rows tokenized per call of the tokenizer (each row's encoding is independent of the others).
const PREPARE_CHUNK: usize = 2048;

/// Tokenizes `codes` with `tokenizer`, prepending `bos` when set.
pub fn prepare_with(
    tokenizer: &CodeTokenizer,
    bos: Option<i64>,
    codes: &[&str],
) -> anyhow::Result<Vec<Prepared>> {
    // In chunks, each made into `Prepared` rows before the next: the tokenizer's own encodings
    // (token strings, words, masks) take several times the memory of ids and spans, so encoding
    // a 100k-row testbed at once held ~1 GB more at the peak.
    let mut prepared = Vec::with_capacity(codes.len());
    for chunk in codes.chunks(PREPARE_CHUNK) {
        let encoded = tokenizer.encode_batch(chunk).map_err(lm_error)?;
        prepared.extend(chunk.iter().zip(encoded).map(|(code, encoded)| {
            let n_tokens = encoded.len();
            let mut ids = Vec::with_capacity(n_tokens + 1);
            let mut spans = Vec::with_capacity(n_tokens + 1);
            if let Some(bos) = bos {
                ids.push(bos);
                spans.push(None);
            }
            ids.extend(encoded.ids);
            spans.extend(encoded.spans);
            let skip = if code.trim().is_empty() {
                Some(SkipReason::Empty)
            } else if ids.len() < 2 {
                Some(SkipReason::SingleToken)
            } else {
                None
            };
            Prepared {
                ids,
                spans,
                n_tokens,
                skip,
            }
        }));
    }
    Ok(prepared)
}

/// One window of one row, scored inside a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    pub row: usize,
    pub window: Window,
}

/// Windows read in one forward pass, right-padded to the longest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub items: Vec<Item>,
}

/// Sequence length of `items` padded to the longest.
fn padded_length(items: &[Item]) -> usize {
    items
        .iter()
        .map(|item| item.window.end - item.window.start)
        .max()
        .unwrap_or(0)
}

impl Batch {
    /// Sequence length of the padded batch.
    pub fn time(&self) -> usize {
        padded_length(&self.items)
    }

    /// Tokens the forward pass reads, padding included.
    pub fn padded_tokens(&self) -> usize {
        self.items.len() * self.time()
    }

    /// Tokens of the windows themselves.
    pub fn real_tokens(&self) -> usize {
        self.items
            .iter()
            .map(|item| item.window.end - item.window.start)
            .sum()
    }
}

/// The batches of a whole testbed, the same whatever the sharding: every window of every row,
/// sorted by (length, `row_id`, start), cut into batches of at most `max_batch_tokens` tokens
/// with padding counted (a window longer than the budget gets a batch of its own), or of
/// `batch_size` windows when no budget is set. Sorting by length keeps padding small.
pub fn plan(rows: &[Prepared], row_ids: &[&str], settings: &Resolved) -> Vec<Batch> {
    plan_rows(rows, row_ids, settings, &vec![true; rows.len()])
}

/// [`plan`] over the rows with `include[row]` set.
pub fn plan_rows(
    rows: &[Prepared],
    row_ids: &[&str],
    settings: &Resolved,
    include: &[bool],
) -> Vec<Batch> {
    let mut items: Vec<Item> = rows
        .iter()
        .enumerate()
        .filter(|(index, row)| row.skip.is_none() && include[*index])
        .flat_map(|(index, row)| {
            scoring::windows(row.ids.len(), settings.context, settings.stride)
                .into_iter()
                .map(move |window| Item { row: index, window })
        })
        .collect();
    items.sort_by(|a, b| {
        let length = |item: &Item| item.window.end - item.window.start;
        length(a)
            .cmp(&length(b))
            .then_with(|| row_ids[a.row].cmp(row_ids[b.row]))
            .then_with(|| a.window.start.cmp(&b.window.start))
    });
    let mut batches = Vec::new();
    let mut current: Vec<Item> = Vec::new();
    for item in items {
        let length = item.window.end - item.window.start;
        let full = match settings.max_batch_tokens {
            // Ascending lengths: the new item sets the padded length.
            Some(budget) => !current.is_empty() && (current.len() + 1) * length > budget,
            None => current.len() == settings.batch_size,
        };
        if full {
            batches.push(Batch {
                items: std::mem::take(&mut current),
            });
        }
        current.push(item);
    }
    if !current.is_empty() {
        batches.push(Batch { items: current });
    }
    batches
}

/// `--shard I/N`: shard `index` of `count` (counted from 0, like Slurm array task ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let problem = || {
            format!(
                "shard `{text}` must be I/N with 0 <= I < N (I counted from 0, like Slurm array task ids)"
            )
        };
        let (index, count) = text.split_once('/').ok_or_else(problem)?;
        let index: usize = index.trim().parse().map_err(|_| problem())?;
        let count: usize = count.trim().parse().map_err(|_| problem())?;
        if count == 0 || index >= count {
            return Err(problem());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The shard of each batch: whole batches, balanced by padded tokens (largest first, each to
/// the least loaded shard, ties to the lowest index), so it is deterministic.
pub fn assign_shards(batches: &[Batch], count: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..batches.len()).collect();
    order.sort_by_key(|&index| (std::cmp::Reverse(batches[index].padded_tokens()), index));
    let mut load = vec![0usize; count.max(1)];
    let mut shard_of = vec![0; batches.len()];
    for index in order {
        let (shard, _) = load
            .iter()
            .enumerate()
            .min_by_key(|&(shard, load)| (*load, shard))
            .expect("at least one shard");
        shard_of[index] = shard;
        load[shard] += batches[index].padded_tokens();
    }
    shard_of
}

/// Empty statistics for every position `1..len` of each row (none for skipped rows).
fn empty_results(rows: &[Prepared], k: usize) -> Vec<TokenStatistics> {
    rows.iter()
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
        .collect()
}

/// Test-only fault injection: batches of more windows than this fail as a CUDA
/// out-of-memory error would (`ICODEGEN_INFER_TEST_OOM_ABOVE`).
fn injected_oom_limit() -> Option<usize> {
    std::env::var("ICODEGEN_INFER_TEST_OOM_ABOVE")
        .ok()
        .and_then(|value| value.parse().ok())
}

fn is_out_of_memory(error: &LmError) -> bool {
    let text = error.to_string();
    text.contains("out of memory") || text.contains("CUDA error: out of memory")
}

/// Scores one batch into `results`. On an out-of-memory error the batch is split in two and
/// each half retried (with a log line) instead of failing the job; a single window that does
/// not fit fails.
fn score_batch(
    model: &LoadedModel,
    rows: &[Prepared],
    items: &[Item],
    k: usize,
    results: &mut [TokenStatistics],
) -> anyhow::Result<()> {
    match forward_batch(model, rows, items, k) {
        Ok(statistics) => {
            let mut next = 0;
            for item in items {
                let result = &mut results[item.row];
                for position in item.window.score_from..item.window.end {
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
            Ok(())
        }
        Err(error) if is_out_of_memory(&error) && items.len() > 1 => {
            let half = items.len() / 2;
            eprintln!(
                "icodegen-infer: out of memory on a batch of {} windows x {} tokens; splitting it in two and retrying",
                items.len(),
                padded_length(items)
            );
            score_batch(model, rows, &items[..half], k, results)?;
            score_batch(model, rows, &items[half..], k, results)
        }
        Err(error) => Err(lm_error(error)),
    }
}

/// One forward pass over `items`, right-padded; the statistics of their scored positions in
/// item order.
fn forward_batch(
    model: &LoadedModel,
    rows: &[Prepared],
    items: &[Item],
    k: usize,
) -> Result<TokenStatistics, LmError> {
    if let Some(limit) = injected_oom_limit()
        && items.len() > limit
    {
        return Err(LmError::Torch(
            "CUDA out of memory (injected by ICODEGEN_INFER_TEST_OOM_ABOVE)".to_owned(),
        ));
    }
    let time = padded_length(items);
    let pad = model.config.pad();
    let mut ids = Vec::with_capacity(items.len() * time);
    let mut mask = Vec::with_capacity(items.len() * time);
    let (mut batch_index, mut time_index, mut targets) = (Vec::new(), Vec::new(), Vec::new());
    let mut padded = false;
    for (b, item) in items.iter().enumerate() {
        let window = item.window;
        let sequence = &rows[item.row].ids[window.start..window.end];
        ids.extend_from_slice(sequence);
        mask.extend(std::iter::repeat_n(1i64, sequence.len()));
        let missing = time - sequence.len();
        padded |= missing > 0;
        ids.extend(std::iter::repeat_n(pad, missing));
        mask.extend(std::iter::repeat_n(0i64, missing));
        for position in window.score_from..window.end {
            batch_index.push(b as i64);
            time_index.push((position - window.start - 1) as i64);
            targets.push(rows[item.row].ids[position]);
        }
    }
    let _no_grad = tch::no_grad_guard();
    let shape = [items.len() as i64, time as i64];
    let device = model.device;
    let ids = Tensor::from_slice(&ids).view(shape).to_device(device);
    let mask = Tensor::from_slice(&mask).view(shape).to_device(device);
    let rows_at = model.model.select(
        &ids,
        padded.then_some(&mask),
        &Tensor::from_slice(&batch_index).to_device(device),
        &Tensor::from_slice(&time_index).to_device(device),
    )?;
    scoring::statistics_projected(
        &rows_at,
        &Tensor::from_slice(&targets).to_device(device),
        k,
        model.config.vocab_size,
        &|rows| model.model.project(rows),
    )
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
    /// `I/N` when this run scored one shard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    pub rows: usize,
    pub skipped_rows: usize,
    pub scored_tokens: usize,
    /// Batches of the whole testbed, those this run scored, and those it took from its
    /// journal (scored by an earlier, interrupted run).
    pub batches: usize,
    pub batches_scored: usize,
    pub batches_resumed: usize,
    /// Rows taken from `--row-cache` (scored by an earlier run of the same model and
    /// settings), and rows this run scored.
    pub rows_reused: usize,
    pub rows_scored: usize,
    /// Share of the tokens read that were padding, in the batches this run scored.
    pub padding_fraction: f64,
    /// Seconds tokenizing and scoring (model loading and artifact IO excluded).
    pub scoring_seconds: f64,
    pub total_seconds: f64,
    pub tokens_per_second: f64,
}

/// Reads the distinct rows of a testbed artifact as (row_id, code), sorted by `row_id` (the
/// outputs' canonical order).
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
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(rows)
}

/// Runs the stage: scores the testbed at `testbed_path` with the model directory `model_path`
/// and writes `tokens.parquet` and `scores.parquet` (atomically). With `options.shard`, scores
/// only that shard's batches and writes its part of `tokens.parquet` (no scores): `merge`
/// makes the pair from all parts.
pub fn infer(
    config: &InferConfig,
    options: &InferOptions,
    model_path: &Path,
    testbed_path: &Path,
    tokens_path: &Path,
    scores_path: Option<&Path>,
) -> anyhow::Result<InferReport> {
    let started = Instant::now();
    if options.model_id.trim().is_empty() {
        return Err(InferError::option("--model-id", "--model-id must not be empty").into());
    }
    if options.shard.is_none() && scores_path.is_none() {
        return Err(InferError::option(
            "--scores",
            "--scores is needed (only a --shard run writes no scores)",
        )
        .into());
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
    let shard_text = options
        .shard
        .map(|shard| shard.to_string())
        .unwrap_or_default();
    let mut metadata = vec![
        ("icodegen.model_id", options.model_id.as_str()),
        ("icodegen.model_blake3", model.hash.as_str()),
        ("icodegen.infer_params", params_json.as_str()),
        ("icodegen.model_format", format.as_str()),
        ("icodegen.model_parameters", parameters.as_str()),
        ("icodegen.dtype", dtype_name.as_str()),
        ("icodegen.device", device_text.as_str()),
    ];
    if options.shard.is_some() {
        metadata.push(("icodegen.shard", shard_text.as_str()));
    }

    let scoring_started = Instant::now();
    let codes: Vec<&str> = rows.iter().map(|(_, code)| code.as_str()).collect();
    let row_ids: Vec<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
    let prepared = prepare(&model, &codes)?;
    let k = settings.top_k.min(model.config.vocab_size as usize);
    let mut results = empty_results(&prepared, k);
    // Which positions of each row this run writes (all, unless sharded).
    let mut scored: Vec<Vec<(usize, usize)>> = vec![Vec::new(); prepared.len()];
    let cache = match &options.row_cache {
        Some(_) if options.shard.is_some() => {
            return Err(InferError::option(
                "--row-cache",
                "--row-cache works on whole runs, not with --shard",
            )
            .into());
        }
        Some(dir) => Some(row_cache::RowCache::open(
            dir,
            &[&model.hash, &params_json, &dtype_name, &device_text],
        )?),
        None => None,
    };
    let mut include = vec![true; prepared.len()];
    let mut rows_reused = 0;
    if let Some(cache) = &cache {
        for (index, row_id) in row_ids.iter().enumerate() {
            if prepared[index].skip.is_none()
                && cache.fill(row_id, &prepared[index].ids, &mut results[index])
            {
                include[index] = false;
                scored[index].push((1, prepared[index].ids.len()));
                rows_reused += 1;
            }
        }
    }
    let batches = plan_rows(&prepared, &row_ids, &settings, &include);
    let mine: Vec<(usize, &Batch)> = match options.shard {
        Some(shard) => {
            let shard_of = assign_shards(&batches, shard.count);
            batches
                .iter()
                .enumerate()
                .zip(shard_of)
                .filter(|(_, of)| *of == shard.index)
                .map(|(batch, _)| batch)
                .collect()
        }
        None => batches.iter().enumerate().collect(),
    };
    let journal = match &options.journal {
        Some(dir) => {
            let mut key = blake3::Hasher::new();
            for part in [
                model.hash.as_str(),
                params_json.as_str(),
                dtype_name.as_str(),
                device_text.as_str(),
                shard_text.as_str(),
                options.model_id.as_str(),
            ] {
                key.update(part.as_bytes());
                key.update(&[0]);
            }
            for ((row_id, _), row) in rows.iter().zip(&prepared) {
                key.update(row_id.as_bytes());
                key.update(&[0]);
                for id in &row.ids {
                    key.update(&id.to_le_bytes());
                }
            }
            Some(journal::Journal::open(
                dir,
                key.finalize().to_hex().as_str(),
            )?)
        }
        None => None,
    };
    let mut resumed = journal
        .as_ref()
        .map(journal::Journal::completed)
        .transpose()?
        .unwrap_or_default();
    let index_of: std::collections::HashMap<&str, usize> = row_ids
        .iter()
        .enumerate()
        .map(|(index, id)| (*id, index))
        .collect();
    let total_windows: u64 = mine.iter().map(|(_, batch)| batch.items.len() as u64).sum();
    let bar =
        icodegen_artifacts::progress::bar(total_windows, &format!("infer {}", options.model_id));
    let pause = std::env::var("ICODEGEN_INFER_TEST_PAUSE_MS")
        .ok()
        .and_then(|ms| ms.parse::<u64>().ok());
    let mut batches_resumed = 0;
    for (batch_index, batch) in &mine {
        if let Some(done) = resumed.remove(batch_index) {
            for token in done {
                let Some(&row) = index_of.get(token.row_id.as_str()) else {
                    return Err(InferError::Journal {
                        dir: options.journal.clone().unwrap_or_default(),
                        message: format!(
                            "batch {batch_index} names row `{}`, which the testbed lacks",
                            token.row_id
                        ),
                    }
                    .into());
                };
                let (result, at) = (&mut results[row], token.position as usize - 1);
                result.logprob[at] = token.logprob;
                result.rank[at] = token.rank;
                result.entropy[at] = token.entropy;
                result.top_ids[at * k..(at + 1) * k].copy_from_slice(&token.topk_ids);
                result.top_logprobs[at * k..(at + 1) * k].copy_from_slice(&token.topk_logprobs);
            }
            batches_resumed += 1;
        } else {
            score_batch(&model, &prepared, &batch.items, k, &mut results).with_context(|| {
                format!(
                    "scoring `{}` with `{}`",
                    testbed_path.display(),
                    model_path.display()
                )
            })?;
            if let Some(journal) = &journal {
                let mut done = Vec::new();
                for item in &batch.items {
                    for position in item.window.score_from..item.window.end {
                        done.push(token_row(
                            &model.tokenizer,
                            &options.model_id,
                            row_ids[item.row],
                            &prepared[item.row],
                            &results[item.row],
                            position,
                        ));
                    }
                }
                journal.record(*batch_index, &done)?;
                if let Some(ms) = pause {
                    std::thread::sleep(std::time::Duration::from_millis(ms));
                }
            }
        }
        bar.inc(batch.items.len() as u64);
    }
    bar.finish_and_clear();
    // Recorded after the loop, not per batch: small allocations that outlive a batch, made
    // between its tensors, pin the heap (glibc keeps large blocks there, `keep_large_blocks`)
    // so that the next, longer batch cannot reuse the space; at 10k testbed rows that grew the
    // heap to 7x the memory in use.
    for (_, batch) in &mine {
        for item in &batch.items {
            scored[item.row].push((item.window.score_from, item.window.end));
        }
    }
    let scoring_seconds = scoring_started.elapsed().as_secs_f64();
    let padded: usize = mine.iter().map(|(_, batch)| batch.padded_tokens()).sum();
    let real: usize = mine.iter().map(|(_, batch)| batch.real_tokens()).sum();

    let mut token_writer =
        ArtifactWriter::<tokens::Row>::create_with_metadata(tokens_path, "infer", &metadata)?;
    let mut score_writer = match scores_path {
        Some(path) if options.shard.is_none() => Some(
            ArtifactWriter::<scores::Row>::create_with_metadata(path, "infer", &metadata)?,
        ),
        _ => None,
    };
    let mut scored_tokens = 0;
    for (index, (row_id, _)) in rows.iter().enumerate() {
        let mut ranges = std::mem::take(&mut scored[index]);
        ranges.sort_unstable();
        for (from, to) in ranges {
            for position in from..to {
                token_writer.push(token_row(
                    &model.tokenizer,
                    &options.model_id,
                    row_id,
                    &prepared[index],
                    &results[index],
                    position,
                ))?;
                scored_tokens += 1;
            }
        }
        if let Some(writer) = score_writer.as_mut() {
            writer.push(score_row(
                &options.model_id,
                row_id,
                &prepared[index],
                &results[index],
            ))?;
        }
    }
    token_writer.finish()?;
    if let Some(writer) = score_writer {
        writer.finish()?;
    }
    if let Some(cache) = &cache {
        let fresh: Vec<tokens::Row> = (0..prepared.len())
            .filter(|&index| include[index] && prepared[index].skip.is_none())
            .flat_map(|index| {
                let (row_id, row, stats) = (row_ids[index], &prepared[index], &results[index]);
                let tokenizer = &model.tokenizer;
                let model_id = options.model_id.as_str();
                (1..row.ids.len()).map(move |position| {
                    token_row(tokenizer, model_id, row_id, row, stats, position)
                })
            })
            .collect();
        cache.store(&fresh)?;
    }
    if let Some(journal) = journal {
        journal.finish()?;
    }
    let skipped_rows = prepared.iter().filter(|row| row.skip.is_some()).count();
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
        shard: options.shard.map(|shard| shard.to_string()),
        rows: rows.len(),
        skipped_rows,
        scored_tokens,
        batches: batches.len(),
        batches_scored: mine.len() - batches_resumed,
        batches_resumed,
        rows_reused,
        rows_scored: include
            .iter()
            .zip(&prepared)
            .filter(|(include, row)| **include && row.skip.is_none())
            .count(),
        padding_fraction: if padded == 0 {
            0.0
        } else {
            1.0 - real as f64 / padded as f64
        },
        scoring_seconds,
        total_seconds: started.elapsed().as_secs_f64(),
        tokens_per_second: scored_tokens as f64 / scoring_seconds.max(1e-9),
    })
}

/// The `tokens` row of `position` (>= 1) of a row.
fn token_row(
    tokenizer: &CodeTokenizer,
    model_id: &str,
    row_id: &str,
    row: &Prepared,
    stats: &TokenStatistics,
    position: usize,
) -> tokens::Row {
    let k = stats.k;
    let at = position - 1;
    let span = row.spans[position];
    tokens::Row {
        model_id: model_id.to_owned(),
        row_id: row_id.to_owned(),
        position: position as i32,
        token_id: row.ids[position] as i32,
        token: tokenizer.token_text(row.ids[position]),
        byte_start: span.map(|(start, _)| start as i32),
        byte_end: span.map(|(_, end)| end as i32),
        logprob: stats.logprob[at],
        rank: stats.rank[at],
        entropy: stats.entropy[at],
        topk_ids: stats.top_ids[at * k..(at + 1) * k].to_vec(),
        topk_logprobs: stats.top_logprobs[at * k..(at + 1) * k].to_vec(),
    }
}

/// The `scores` row of a row: means over its scored tokens, or why it was skipped.
fn score_row(model_id: &str, row_id: &str, row: &Prepared, stats: &TokenStatistics) -> scores::Row {
    let n_tokens = i32::try_from(row.n_tokens).unwrap_or(i32::MAX);
    if let Some(reason) = row.skip {
        return scores::Row {
            model_id: model_id.to_owned(),
            row_id: row_id.to_owned(),
            n_tokens,
            n_scored: 0,
            cross_entropy: None,
            perplexity: None,
            accuracy: None,
            skip_reason: Some(reason.as_str().to_owned()),
        };
    }
    let n = stats.len();
    let cross_entropy = -stats.logprob.iter().map(|&lp| f64::from(lp)).sum::<f64>() / n as f64;
    let correct = stats.rank.iter().filter(|&&rank| rank == 1).count();
    scores::Row {
        model_id: model_id.to_owned(),
        row_id: row_id.to_owned(),
        n_tokens,
        n_scored: n as i32,
        cross_entropy: Some(cross_entropy),
        perplexity: Some(cross_entropy.exp()),
        accuracy: Some(correct as f64 / n as f64),
        skip_reason: None,
    }
}
