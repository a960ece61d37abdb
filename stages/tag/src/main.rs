use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use icodegen_artifacts::cli;
use icodegen_tag::explain::{ExplainPaths, explain};
use icodegen_tag::{Paths, TagError, TagParams};

/// Align scored tokens to the AST and aggregate AsC-Eval concept scores.
///
/// Reads testbed.parquet and tokens.parquet; writes tags.parquet (every token with its leaf's
/// node type, parent type, category and depth), concepts.parquet (per row and concept),
/// nodes.parquet (per row and AST node) and concepts_global.parquet (per model and concept).
#[derive(Parser)]
#[command(name = "icodegen-tag", version, subcommand_negates_reqs = true)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// The params file.
    #[arg(long, default_value = "params.yaml")]
    params: PathBuf,
    /// The dotted key of this stage's settings in the params file.
    #[arg(long, default_value = "tag")]
    key: String,
    #[arg(long, required = true)]
    testbed: Option<PathBuf>,
    #[arg(long, required = true)]
    tokens: Option<PathBuf>,
    /// Output: tags.parquet.
    #[arg(long, required = true)]
    tags: Option<PathBuf>,
    /// Output: concepts.parquet.
    #[arg(long, required = true)]
    concepts: Option<PathBuf>,
    /// Output: nodes.parquet.
    #[arg(long, required = true)]
    nodes: Option<PathBuf>,
    /// Output: concepts_global.parquet.
    #[arg(long, required = true)]
    global: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Subcommand)]
enum Command {
    /// Render one row's local explanation (its AST and tokens coloured by the model's
    /// confidence) as a self-contained HTML file.
    Explain {
        #[arg(long)]
        testbed: PathBuf,
        /// tags.parquet written by `icodegen-tag`.
        #[arg(long)]
        tags: PathBuf,
        /// nodes.parquet written by `icodegen-tag`.
        #[arg(long)]
        nodes: PathBuf,
        /// The row_id to explain.
        #[arg(long)]
        row: String,
        #[arg(long)]
        model_id: String,
        /// The HTML file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    cli::main_for_stage::<TagError>("icodegen-tag", env!("ICODEGEN_SOURCE_FINGERPRINT"), || {
        let args = Args::parse();
        match args.command {
            Some(Command::Explain {
                testbed,
                tags,
                nodes,
                row,
                model_id,
                out,
            }) => {
                let paths = ExplainPaths {
                    testbed,
                    tags,
                    nodes,
                    out,
                };
                explain(&paths, &model_id, &row)?;
                eprintln!("icodegen-tag: wrote {}", paths.out.display());
                Ok(())
            }
            None => {
                let params = TagParams::load(&args.params, &args.key)?;
                let required = |path: Option<PathBuf>| path.expect("clap requires it");
                let paths = Paths {
                    testbed: required(args.testbed),
                    tokens: required(args.tokens),
                    tags: required(args.tags),
                    concepts: required(args.concepts),
                    nodes: required(args.nodes),
                    global: required(args.global),
                };
                let summary = icodegen_tag::run(&params, &paths, args.threads)?;
                eprintln!(
                    "icodegen-tag: {} rows, {} tokens ({} without a span), {} concept rows, {} \
                     global rows",
                    summary.groups,
                    summary.tokens,
                    summary.tokens_without_span,
                    summary.concept_rows,
                    summary.global_rows
                );
                Ok(())
            }
        }
    })
}
