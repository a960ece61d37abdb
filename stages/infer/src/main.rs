use std::process::ExitCode;

use clap::Parser;

/// Score every token of a testbed with a causal code language model (tokens.parquet, scores.parquet).
#[derive(Parser)]
#[command(name = "icodegen-infer", version)]
struct Args {}

fn main() -> ExitCode {
    icodegen_artifacts::cli::main("icodegen-infer", env!("ICODEGEN_SOURCE_FINGERPRINT"), || {
        let _args = Args::parse();
        Err(icodegen_artifacts::cli::usage("stage `infer` is not implemented yet"))
    })
}
