//! What both binaries of the package share: the global options, `query`'s arguments, and how an
//! error becomes a message and an exit code. `icodegen` parses `query` (so `icodegen --help`
//! and `icodegen query --help` show it) and hands it to `icodegen-query`, the binary beside it
//! that links DataFusion, so that every other command starts without loading it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use icodegen_pipeline::{Options, PipelineError};

#[derive(Args)]
pub struct Global {
    /// The pipeline file [default: pipeline.yaml]
    #[arg(long, global = true, value_name = "FILE")]
    pub pipeline: Option<PathBuf>,
    /// The cache folder [default: cache/ beside the pipeline file]
    #[arg(long, global = true, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Print only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more (`-v`: fresh stages and timings, `-vv`: stage keys)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl Global {
    /// -1 quiet, 0 normal, 1+ verbose.
    pub fn verbosity(&self) -> i8 {
        if self.quiet {
            -1
        } else {
            self.verbose.min(2) as i8
        }
    }

    pub fn options(&self) -> Options {
        Options {
            pipeline: self.pipeline.clone(),
            cache: self.cache.clone(),
            verbosity: self.verbosity(),
        }
    }
}

#[derive(Args)]
pub struct QueryArgs {
    /// The SQL query (tables: `icodegen query --tables`)
    #[arg(required_unless_present = "tables")]
    pub sql: Option<String>,
    /// List the tables and their files
    #[arg(long)]
    pub tables: bool,
    #[arg(long, value_enum, default_value_t = QueryFormat::Table)]
    pub format: QueryFormat,
    /// Write the result here instead of stdout (required for parquet)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    Table,
    Csv,
    Json,
    Parquet,
}

/// The exit code of a command's result, its error printed first (exit 2 for a usage or spec
/// error, 1 otherwise: see `PipelineError::exit_code`).
pub fn finish(result: anyhow::Result<u8>, verbosity: i8) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            let console = icodegen_pipeline::console::Console::new(verbosity);
            console.error(&error);
            let shown = error.to_string();
            for cause in error.chain().skip(1).map(ToString::to_string) {
                if !shown.contains(&cause) {
                    eprintln!("  caused by: {cause}");
                }
            }
            let code = error
                .chain()
                .find_map(|cause| cause.downcast_ref::<PipelineError>())
                .map_or(icodegen_pipeline::EXIT_FAILURE, PipelineError::exit_code);
            ExitCode::from(code)
        }
    }
}
