//! `icodegen-preprocess`: command-line glue over [`icodegen_preprocess::run`].
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Compute confounders (covariates.parquet) and build interventional testbeds
/// (testbed.parquet) from snippets.parquet.
#[derive(Parser)]
#[command(name = "icodegen-preprocess", version)]
struct Args {
    /// The params file.
    #[arg(long, default_value = "params.yaml")]
    params: PathBuf,
    /// The dotted key of this stage's section in the params file.
    #[arg(long, default_value = "preprocess")]
    key: String,
    /// snippets.parquet from ingest.
    #[arg(long)]
    snippets: PathBuf,
    /// Where to write covariates.parquet.
    #[arg(long)]
    covariates: PathBuf,
    /// Where to write testbed.parquet.
    #[arg(long)]
    testbed: PathBuf,
    /// Where to write the preprocess report (JSON).
    #[arg(long)]
    report: Option<PathBuf>,
}

fn main() -> ExitCode {
    icodegen_artifacts::cli::main_for_stage::<icodegen_preprocess::PreprocessError>(
        "icodegen-preprocess",
        env!("ICODEGEN_SOURCE_FINGERPRINT"),
        || {
            let args = Args::parse();
            let config: icodegen_preprocess::PreprocessConfig =
                icodegen_artifacts::params::load(&args.params, &args.key)?;
            let report = icodegen_preprocess::run(
                &config,
                &args.snippets,
                &args.covariates,
                &args.testbed,
                args.report.as_deref(),
            )?;
            eprintln!(
                "icodegen-preprocess: {} snippets, testbed of {} snippets in {} rows",
                report.snippets, report.testbed.snippets, report.testbed.rows
            );
            Ok(())
        },
    )
}
