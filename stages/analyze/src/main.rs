use std::process::ExitCode;

use clap::Parser;

/// Statistics, causal effects with refutation, and the HTML report.
#[derive(Parser)]
#[command(name = "icodegen-analyze", version)]
struct Args {}

fn main() -> ExitCode {
    icodegen_artifacts::cli::main("icodegen-analyze", env!("ICODEGEN_SOURCE_FINGERPRINT"), || {
        let _args = Args::parse();
        Err(icodegen_artifacts::cli::usage("stage `analyze` is not implemented yet"))
    })
}
