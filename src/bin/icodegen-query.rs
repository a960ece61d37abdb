//! `icodegen-query`: what `icodegen query` runs (SQL over the Parquet artifacts of the lock,
//! with `icodegen-sql`). A binary of its own so that DataFusion, most of the package's code,
//! is loaded by `query` only: `icodegen` parses the command line and hands `query` over with
//! the same options (see `cli.rs`), and starts its other commands several times faster.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use icodegen_pipeline::{PipelineError, Session};

#[path = "../cli.rs"]
mod cli;

use cli::{QueryArgs, QueryFormat};

/// Query the Parquet artifacts of the current lock with SQL (run by `icodegen query`)
#[derive(Parser)]
#[command(name = "icodegen query", version, max_term_width = 100)]
struct Cli {
    #[command(flatten)]
    global: cli::Global,
    #[command(flatten)]
    query: QueryArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = Session::open(&cli.global.options())
        .map_err(anyhow::Error::new)
        .and_then(|session| query(&session, cli.query))
        .map(|()| 0);
    cli::finish(result, cli.global.verbosity())
}

fn query(session: &Session, args: QueryArgs) -> anyhow::Result<()> {
    let QueryArgs {
        sql,
        tables: list,
        format,
        output,
    } = args;
    let lock = session.read_lock()?;
    let tables = icodegen_pipeline::commands::tables::artifact_tables(session, &lock)?;
    if list {
        if tables.is_empty() {
            println!("(no Parquet artifacts in pipeline.lock yet: run `icodegen repro`)");
        }
        let width = tables
            .iter()
            .map(|table| table.name.len())
            .max()
            .unwrap_or(0);
        for table in &tables {
            println!("{:<width$}  {}", table.name, table.source);
        }
        return Ok(());
    }
    let sql_text = sql.as_deref().unwrap_or_default();
    if format == QueryFormat::Parquet && output.is_none() {
        return Err(anyhow::Error::new(PipelineError::Spec {
            file: "--output".into(),
            location: None,
            key: String::new(),
            message: "`--format parquet` needs `--output FILE`".to_owned(),
        }));
    }
    let engine = icodegen_sql::Sql::new(0).context("cannot start the SQL engine")?;
    for table in &tables {
        engine
            .register_parquet_files(&table.name, &table.files)
            .with_context(|| format!("cannot register table `{}`", table.name))?;
    }
    if let Some(path) = &output {
        icodegen_pipeline::safety::guard::check_query_output(
            &session.pipeline,
            session.cache_dir(),
            path,
        )
        .map_err(|message| {
            anyhow::Error::new(PipelineError::Spec {
                file: "--output".into(),
                location: None,
                key: String::new(),
                message,
            })
        })?;
    }
    let batches = engine.query(sql_text).map_err(|error| match error {
        icodegen_sql::SqlError::Query { .. } => {
            let mut message = error.to_string();
            if message.contains("not found") && !tables.is_empty() {
                let names: Vec<&str> = tables.iter().map(|table| table.name.as_str()).collect();
                message.push_str(&format!("\nhint: the tables are {}", names.join(", ")));
            }
            if message.contains("not supported") {
                message.push_str("\nhint: queries are read-only: SELECT (and WITH, EXPLAIN) over the artifacts of pipeline.lock; write a result with `--output FILE`");
            }
            anyhow::Error::new(PipelineError::Spec {
                file: "query".into(),
                location: None,
                key: String::new(),
                message,
            })
        }
        // The data could not be read (a corrupt artifact): the work failed, exit 1.
        other => anyhow::Error::new(other),
    })?;
    let format = match format {
        QueryFormat::Table => icodegen_sql::Format::Table,
        QueryFormat::Csv => icodegen_sql::Format::Csv,
        QueryFormat::Json => icodegen_sql::Format::Json,
        QueryFormat::Parquet => icodegen_sql::Format::Parquet,
    };
    match output {
        Some(path) => icodegen_sql::write(&batches, format, &path)?,
        None => {
            use std::io::Write;
            let bytes = icodegen_sql::encode(&batches, format, std::path::Path::new("stdout"))?;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    Ok(())
}
