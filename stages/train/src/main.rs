use std::process::ExitCode;

use clap::Parser;

/// Train a BPE tokenizer and a GRU, LSTM or GPT-2-style code language model with libtorch.
#[derive(Parser)]
#[command(name = "icodegen-train", version)]
struct Args {}

fn main() -> ExitCode {
    icodegen_artifacts::cli::main("icodegen-train", env!("ICODEGEN_SOURCE_FINGERPRINT"), || {
        let _args = Args::parse();
        Err(icodegen_artifacts::cli::usage("stage `train` is not implemented yet"))
    })
}
