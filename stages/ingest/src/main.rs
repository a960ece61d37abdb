use std::process::ExitCode;

use clap::Parser;

/// Read CodeSearchNet JSONL, source trees, archives, paired testbeds and Parquet into snippets.parquet.
#[derive(Parser)]
#[command(name = "icodegen-ingest", version)]
struct Args {}

fn main() -> ExitCode {
    icodegen_artifacts::cli::main("icodegen-ingest", env!("ICODEGEN_SOURCE_FINGERPRINT"), || {
        let _args = Args::parse();
        Err(icodegen_artifacts::cli::usage("stage `ingest` is not implemented yet"))
    })
}
