use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Statistics, causal effects with refutation, and the HTML report.
#[derive(Parser)]
#[command(name = "icodegen-analyze", version)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Estimate the causal effect of one column on another in any Parquet or CSV table,
    /// with refutation.
    Causal(icodegen_analyze::causal::CausalArgs),
    /// Total, natural direct and natural indirect effects of a treatment through mediators,
    /// in any Parquet or CSV table.
    Mediation(icodegen_analyze::mediation::MediationArgs),
    /// The study analysis over the pipeline's artifacts: results tables and the HTML report.
    Study(icodegen_analyze::study::StudyArgs),
}

fn main() -> ExitCode {
    icodegen_artifacts::cli::main_for_stage::<icodegen_analyze::AnalyzeError>(
        "icodegen-analyze",
        env!("ICODEGEN_SOURCE_FINGERPRINT"),
        || {
            let args = Args::parse();
            match args.command {
                Command::Causal(causal) => {
                    print!("{}", icodegen_analyze::causal::run(&causal)?);
                    Ok(())
                }
                Command::Mediation(mediation) => {
                    print!("{}", icodegen_analyze::mediation::run(&mediation)?);
                    Ok(())
                }
                Command::Study(study) => icodegen_analyze::study::run(&study),
            }
        },
    )
}
