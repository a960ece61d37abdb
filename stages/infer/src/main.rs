use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use icodegen_artifacts::{atomic, params};
use icodegen_infer::{InferConfig, InferError, InferOptions, Shard};
use icodegen_lm::device::{DeviceChoice, DtypeChoice};

/// Score every token of a testbed with a causal code language model (tokens.parquet, scores.parquet).
#[derive(Parser)]
#[command(name = "icodegen-infer", version)]
struct Args {
    #[arg(long, default_value = "params.yaml")]
    params: PathBuf,
    /// Dotted key of the infer settings in the params file.
    #[arg(long, default_value = "infer")]
    key: String,
    /// Model directory: trained by icodegen-train, a Hugging Face checkpoint folder
    /// (save_pretrained or a hub snapshot: config.json, safetensors, tokenizer), or a
    /// TorchScript export (scripts/export_hf.py).
    #[arg(long)]
    model: PathBuf,
    /// Name of the model in the outputs (`model_id` column).
    #[arg(long, required_unless_present = "merge", default_value = "")]
    model_id: String,
    /// testbed.parquet; each distinct row_id is scored once.
    #[arg(long)]
    testbed: PathBuf,
    /// Where to write tokens.parquet.
    #[arg(long)]
    tokens: PathBuf,
    /// Where to write scores.parquet (not with --shard).
    #[arg(long)]
    scores: Option<PathBuf>,
    /// Score only shard I of N of the testbed's batches (I counted from 0, like Slurm array
    /// task ids) and write that part of the tokens to --tokens; `--merge` joins the parts.
    #[arg(long, value_name = "I/N", conflicts_with = "merge")]
    shard: Option<Shard>,
    /// Instead of scoring, merge the --tokens parts of every shard into --tokens and --scores
    /// (byte for byte what one unsharded run writes); needs --model's tokenizer only.
    #[arg(long, value_name = "PART", num_args = 1..)]
    merge: Vec<PathBuf>,
    /// Keep completed batches in this folder (outside the outputs) and resume from them after
    /// a kill, time-out or pre-emption; removed when the outputs are complete.
    #[arg(long, value_name = "DIR")]
    journal: Option<PathBuf>,
    /// Reuse rows that the same model folder already scored with the same settings, kept in
    /// this folder (outside the outputs), so a grown testbed scores only its new rows.
    #[arg(long, value_name = "DIR")]
    row_cache: Option<PathBuf>,
    /// Where to write a JSON summary (throughput, settings); optional.
    #[arg(long)]
    metrics: Option<PathBuf>,
    /// `auto` (CUDA when available), `cpu` or `cuda`.
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
    /// libtorch threads (overrides the params).
    #[arg(long)]
    threads: Option<usize>,
    /// `auto`, `float32`, `bfloat16` or `float16` (overrides the params' `dtype`).
    #[arg(long)]
    dtype: Option<DtypeChoice>,
}

fn main() -> ExitCode {
    icodegen_lm::openmp::use_passive_wait_policy();
    icodegen_lm::allocator::keep_large_blocks();
    icodegen_artifacts::cli::main_for_stage::<InferError>(
        "icodegen-infer",
        env!("ICODEGEN_SOURCE_FINGERPRINT"),
        || {
            let args = Args::parse();
            if !args.merge.is_empty() {
                let Some(scores) = &args.scores else {
                    return Err(InferError::option("--merge", "--merge needs --scores").into());
                };
                let tokens = icodegen_infer::merge(
                    &args.model,
                    &args.testbed,
                    &args.merge,
                    &args.tokens,
                    scores,
                )?;
                eprintln!(
                    "icodegen-infer: merged {} parts ({tokens} tokens)",
                    args.merge.len()
                );
                return Ok(());
            }
            if args.shard.is_some() && args.scores.is_some() {
                return Err(InferError::option(
                    "--shard",
                    "a --shard run writes its part of the tokens only: drop --scores (--merge writes them)",
                )
                .into());
            }
            let config: InferConfig = params::load(&args.params, &args.key)?;
            let options = InferOptions {
                model_id: args.model_id,
                device: args.device,
                threads: args.threads,
                dtype: args.dtype,
                shard: args.shard,
                journal: args.journal,
                row_cache: args.row_cache,
            };
            let report = icodegen_infer::infer(
                &config,
                &options,
                &args.model,
                &args.testbed,
                &args.tokens,
                args.scores.as_deref(),
            )?;
            if let Some(path) = &args.metrics {
                atomic::write_json(path, &report)?;
            }
            eprintln!(
                "icodegen-infer: {} scored {} rows ({} skipped), {} tokens on {} in {} ({} threads): {:.0} tokens/s",
                report.model_id,
                report.rows - report.skipped_rows,
                report.skipped_rows,
                report.scored_tokens,
                report.device,
                report.dtype,
                report.threads,
                report.tokens_per_second
            );
            Ok(())
        },
    )
}
