use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use icodegen_artifacts::params;
use icodegen_lm::device::DeviceChoice;
use icodegen_lm::tokenizer::TokenizerSpec;
use icodegen_lm::training::TrainConfig;
use icodegen_train::{TrainError, TrainOptions};

/// Train a BPE tokenizer and a GRU, LSTM or GPT-2-style code language model with libtorch.
#[derive(Parser)]
#[command(name = "icodegen-train", version)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a byte-level BPE tokenizer on the train split of a snippets artifact.
    Tokenizer {
        #[arg(long, default_value = "params.yaml")]
        params: PathBuf,
        /// Dotted key of the tokenizer settings in the params file.
        #[arg(long, default_value = "tokenizer")]
        key: String,
        /// snippets.parquet (train split is used).
        #[arg(long)]
        snippets: PathBuf,
        /// Where to write tokenizer.json.
        #[arg(long)]
        out: PathBuf,
    },
    /// Train a language model and write its model directory.
    Model {
        #[arg(long, default_value = "params.yaml")]
        params: PathBuf,
        /// Dotted key of this model's settings (`train.models.gru`).
        #[arg(long, default_value = "train")]
        key: String,
        /// snippets.parquet (train split to train on, valid split to validate on).
        #[arg(long)]
        snippets: PathBuf,
        /// tokenizer.json from `icodegen-train tokenizer`.
        #[arg(long)]
        tokenizer: PathBuf,
        /// The model directory to write.
        #[arg(long)]
        out: PathBuf,
        /// `auto` (CUDA when available), `cpu` or `cuda`.
        #[arg(long, default_value = "auto")]
        device: DeviceChoice,
        /// libtorch threads (overrides the params).
        #[arg(long)]
        threads: Option<usize>,
    },
}

fn main() -> ExitCode {
    icodegen_lm::openmp::use_passive_wait_policy();
    icodegen_artifacts::cli::main_for_stage::<TrainError>(
        "icodegen-train",
        env!("ICODEGEN_SOURCE_FINGERPRINT"),
        || {
            match Args::parse().command {
                Command::Tokenizer {
                    params: params_path,
                    key,
                    snippets,
                    out,
                } => {
                    let spec: TokenizerSpec = params::load(&params_path, &key)?;
                    let report = icodegen_train::train_tokenizer(&spec, &snippets, &out)?;
                    eprintln!(
                        "icodegen-train: tokenizer with {} tokens from {} snippets ({} bytes) in {:.1} s -> {}",
                        report.vocab_size,
                        report.train_snippets,
                        report.train_bytes,
                        report.seconds,
                        out.display()
                    );
                }
                Command::Model {
                    params: params_path,
                    key,
                    snippets,
                    tokenizer,
                    out,
                    device,
                    threads,
                } => {
                    let config: TrainConfig = params::load(&params_path, &key)?;
                    let options = TrainOptions { device, threads };
                    let metrics =
                        icodegen_train::train_model(&config, options, &snippets, &tokenizer, &out)?;
                    eprintln!(
                        "icodegen-train: {} ({} parameters) {} steps on {} ({} threads), stopped by {}: {:.0} tokens/s, valid loss {} -> {}",
                        metrics.architecture,
                        metrics.parameters,
                        metrics.steps,
                        metrics.device,
                        metrics.threads,
                        metrics.stopped_by,
                        metrics.tokens_per_second,
                        metrics
                            .final_valid_loss
                            .map_or_else(|| "n/a".to_owned(), |loss| format!("{loss:.3}")),
                        out.display()
                    );
                }
            }
            Ok(())
        },
    )
}
