//! SQL over Parquet artifacts with DataFusion.
//!
//! This is the only crate that depends on DataFusion (its build is the heaviest part of the
//! workspace), used by `icodegen query` and by the `analyze` stage to aggregate large token
//! tables. It offers a blocking API: callers need not know about async or tokio.

use std::path::{Path, PathBuf};

use arrow::record_batch::RecordBatch;
use datafusion::execution::context::SQLOptions;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};

#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error("cannot register table `{table}` from `{path}`: {source}")]
    Register {
        table: String,
        path: PathBuf,
        #[source]
        source: datafusion::error::DataFusionError,
    },
    /// The query itself is wrong (syntax, unknown table or column) or not allowed: the user's to
    /// fix.
    #[error("query failed: {source}")]
    Query {
        #[source]
        source: datafusion::error::DataFusionError,
    },
    /// The query is fine but reading the data failed (a corrupt or unreadable file).
    #[error("query failed while reading the data: {source}")]
    Execute {
        #[source]
        source: datafusion::error::DataFusionError,
    },
    #[error("cannot write `{path}`: {message}")]
    Write { path: PathBuf, message: String },
    #[error("cannot start the query runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

pub type Result<T, E = SqlError> = std::result::Result<T, E>;

/// A DataFusion session with its own small runtime.
pub struct Sql {
    context: SessionContext,
    runtime: tokio::runtime::Runtime,
}

impl Sql {
    /// A session using up to `threads` threads (0 = all cores).
    pub fn new(threads: usize) -> Result<Self> {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            threads
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
            .map_err(SqlError::Runtime)?;
        let config = SessionConfig::new().with_target_partitions(threads);
        Ok(Self {
            context: SessionContext::new_with_config(config),
            runtime,
        })
    }

    /// Registers the Parquet file (or folder of Parquet files) at `path` as `table`.
    pub fn register_parquet(&self, table: &str, path: &Path) -> Result<()> {
        let location = path.to_string_lossy().into_owned();
        self.runtime
            .block_on(self.context.register_parquet(
                table,
                &location,
                ParquetReadOptions::default(),
            ))
            .map_err(|source| SqlError::Register {
                table: table.to_owned(),
                path: path.to_path_buf(),
                source,
            })
    }

    /// Registers several Parquet files with the same columns as one table (their union).
    pub fn register_parquet_files(&self, table: &str, paths: &[PathBuf]) -> Result<()> {
        if let [path] = paths {
            return self.register_parquet(table, path);
        }
        let locations: Vec<String> = paths
            .iter()
            .map(|path| path.to_string_lossy().into_owned())
            .collect();
        self.runtime
            .block_on(async {
                let frame = self
                    .context
                    .read_parquet(locations, ParquetReadOptions::default())
                    .await?;
                self.context.register_table(table, frame.into_view())?;
                Ok(())
            })
            .map_err(|source| SqlError::Register {
                table: table.to_owned(),
                path: paths.first().cloned().unwrap_or_default(),
                source,
            })
    }

    /// Names of the registered tables, sorted.
    pub fn tables(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .context
            .catalog("datafusion")
            .and_then(|catalog| catalog.schema("public"))
            .map(|schema| schema.table_names())
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Runs `sql`, a read-only query, and collects the result. DDL (`CREATE EXTERNAL TABLE`
    /// reads any path), DML (`INSERT`, `COPY ... TO` writes any path) and other statements
    /// (`SET`) are refused: queries only read the registered tables.
    pub fn query(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        self.runtime.block_on(async {
            let frame = self
                .context
                .sql_with_options(sql, options)
                .await
                .map_err(|source| SqlError::Query { source })?;
            frame
                .collect()
                .await
                .map_err(|source| SqlError::Execute { source })
        })
    }
}

/// Formats batches as an aligned text table.
pub fn format_table(batches: &[RecordBatch]) -> String {
    arrow::util::pretty::pretty_format_batches(batches)
        .map(|table| table.to_string())
        .unwrap_or_else(|error| format!("(cannot format result: {error})"))
}

/// Output formats for query results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
    Parquet,
}

/// Encodes batches in `format` (Parquet is zstd-compressed).
pub fn encode(batches: &[RecordBatch], format: Format, path_for_errors: &Path) -> Result<Vec<u8>> {
    let fail = |message: String| SqlError::Write {
        path: path_for_errors.to_path_buf(),
        message,
    };
    let mut bytes = Vec::new();
    match format {
        Format::Table => {
            bytes = format_table(batches).into_bytes();
            bytes.push(b'\n');
        }
        Format::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut bytes);
            for batch in batches {
                writer.write(batch).map_err(|e| fail(e.to_string()))?;
            }
        }
        Format::Json => {
            let mut writer = arrow::json::ArrayWriter::new(&mut bytes);
            for batch in batches {
                writer.write(batch).map_err(|e| fail(e.to_string()))?;
            }
            writer.finish().map_err(|e| fail(e.to_string()))?;
            drop(writer);
            if bytes.is_empty() {
                bytes.extend_from_slice(b"[]");
            }
            bytes.push(b'\n');
        }
        Format::Parquet => {
            let schema = match batches.first() {
                Some(batch) => batch.schema(),
                None => std::sync::Arc::new(arrow::datatypes::Schema::empty()),
            };
            let properties = parquet::file::properties::WriterProperties::builder()
                .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
                .build();
            let mut writer =
                parquet::arrow::ArrowWriter::try_new(&mut bytes, schema, Some(properties))
                    .map_err(|e| fail(e.to_string()))?;
            for batch in batches {
                writer.write(batch).map_err(|e| fail(e.to_string()))?;
            }
            writer.close().map_err(|e| fail(e.to_string()))?;
        }
    }
    Ok(bytes)
}

/// Writes batches to `path` in `format`, atomically.
pub fn write(batches: &[RecordBatch], format: Format, path: &Path) -> Result<()> {
    let bytes = encode(batches, format, path)?;
    icodegen_artifacts::atomic::write_bytes(path, &bytes).map_err(|e| SqlError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}
