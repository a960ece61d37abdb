use std::process::ExitCode;

use clap::Parser;

/// Compute confounders (covariates.parquet) and build interventional testbeds (testbed.parquet).
#[derive(Parser)]
#[command(name = "icodegen-preprocess", version)]
struct Args {}

fn main() -> ExitCode {
    icodegen_artifacts::cli::main("icodegen-preprocess", env!("ICODEGEN_SOURCE_FINGERPRINT"), || {
        let _args = Args::parse();
        Err(icodegen_artifacts::cli::usage("stage `preprocess` is not implemented yet"))
    })
}
