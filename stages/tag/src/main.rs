use std::process::ExitCode;

use clap::Parser;

/// Align scored tokens to the AST and aggregate AsC-Eval concept scores.
#[derive(Parser)]
#[command(name = "icodegen-tag", version)]
struct Args {}

fn main() -> ExitCode {
    icodegen_artifacts::cli::main("icodegen-tag", env!("ICODEGEN_SOURCE_FINGERPRINT"), || {
        let _args = Args::parse();
        Err(icodegen_artifacts::cli::usage("stage `tag` is not implemented yet"))
    })
}
