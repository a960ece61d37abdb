//! `icodegen-ingest`: command-line glue over [`icodegen_ingest::run`].
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Read CodeSearchNet JSONL, source trees, archives, paired testbeds and Parquet into
/// snippets.parquet (one function or method per row).
#[derive(Parser)]
#[command(name = "icodegen-ingest", version)]
struct Args {
    /// The params file.
    #[arg(long, default_value = "params.yaml")]
    params: PathBuf,
    /// The dotted key of this stage's section in the params file.
    #[arg(long, default_value = "ingest")]
    key: String,
    /// Where to write snippets.parquet.
    #[arg(long)]
    out: PathBuf,
    /// Where to write the ingest report (JSON).
    #[arg(long)]
    report: PathBuf,
}

fn main() -> ExitCode {
    icodegen_artifacts::cli::main_for_stage::<icodegen_ingest::IngestError>(
        "icodegen-ingest",
        env!("ICODEGEN_SOURCE_FINGERPRINT"),
        || {
            let args = Args::parse();
            let config: icodegen_ingest::IngestConfig =
                icodegen_artifacts::params::load(&args.params, &args.key)?;
            let report = icodegen_ingest::run(&config, &args.out, &args.report)?;
            eprintln!(
                "icodegen-ingest: kept {} of {} snippets ({} skipped) from {} files ({} unreadable, {} skipped in all)",
                report.rows.kept,
                report.rows.read,
                report.rows.skipped,
                report.files.read,
                report.unreadable_files(),
                report.files.skipped
            );
            Ok(())
        },
    )
}
