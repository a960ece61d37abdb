//! Row-oriented reading of JSONL (optionally gzipped) and Parquet files: both hand out the
//! requested columns of each row as optional strings, with the row's location (`file:line` for
//! JSONL, `file:row N` for Parquet). A malformed line is a skipped row, never an error; a
//! Parquet file without a requested column is a usage error (a params mistake).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::report::{Reason, Skip};

/// One row's requested columns, or why the row is skipped.
pub type Record = Result<Vec<Option<String>>, Skip>;

/// A failure that stops reading a file (the caller decides whether it is fatal).
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("cannot read `{path}`: {message}")]
    Unreadable { path: PathBuf, message: String },
    /// A column the source's params name (`code_column`, `language_column`, ...) that the
    /// file lacks, with the nearest column it has.
    #[error(
        "`{path}` has no column `{column}`{} (it has: {available})\nhint: set the source's `*_column` keys in params to columns of the file",
        .suggestion.as_ref().map(|name| format!("; did you mean `{name}`?")).unwrap_or_default()
    )]
    MissingColumn {
        path: PathBuf,
        column: String,
        available: String,
        suggestion: Option<String>,
    },
}

/// Files to read at `path`: the file itself, or every file under the directory whose name ends
/// with one of `suffixes`, sorted by path.
pub fn files_under(path: &Path, suffixes: &[&str]) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(path)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| entry.into_path())
        .filter(|file| {
            let name = file.to_string_lossy().to_ascii_lowercase();
            suffixes.iter().any(|suffix| name.ends_with(suffix))
        })
        .collect();
    files.sort();
    files
}

/// True when `path` names a Parquet file.
pub fn is_parquet(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("parquet"))
}

fn open_text(path: &Path) -> Result<Box<dyn BufRead>, TableError> {
    #[expect(
        clippy::disallowed_methods,
        reason = "TableError::Unreadable names the path"
    )]
    let file = File::open(path).map_err(|error| TableError::Unreadable {
        path: path.to_path_buf(),
        message: error.to_string(),
    })?;
    let reader: Box<dyn Read> = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
    {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 16, reader)))
}

fn json_to_string(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

/// Reads a JSONL file line by line, calling `visit` with each non-blank line's record.
/// A read error in the middle (truncated gzip) ends the file with `Err`; the rows already
/// visited stay visited.
pub fn read_jsonl(
    path: &Path,
    columns: &[&str],
    mut visit: impl FnMut(String, Record) -> anyhow::Result<()>,
) -> Result<anyhow::Result<()>, TableError> {
    let mut reader = open_text(path)?;
    let mut line = Vec::new();
    let mut number = 0usize;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|error| TableError::Unreadable {
                path: path.to_path_buf(),
                message: format!("after line {number}: {error}"),
            })?;
        if read == 0 {
            return Ok(Ok(()));
        }
        number += 1;
        let location = format!("{}:{number}", path.display());
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record = match std::str::from_utf8(&line) {
            Err(_) => Err(Skip::new(Reason::InvalidUtf8, location.clone())),
            Ok(text) => match serde_json::from_str::<serde_json::Value>(text) {
                Ok(serde_json::Value::Object(object)) => Ok(columns
                    .iter()
                    .map(|column| object.get(*column).and_then(json_to_string))
                    .collect()),
                Ok(_) => Err(Skip::new(
                    Reason::MalformedJson,
                    format!("{location}: not a JSON object"),
                )),
                Err(error) => Err(Skip::new(
                    Reason::MalformedJson,
                    format!("{location}: {error}"),
                )),
            },
        };
        if let Err(error) = visit(location, record) {
            return Ok(Err(error));
        }
    }
}

/// Reads the `columns` of a Parquet file batch by batch (absent optional columns read as null;
/// `required` columns must exist).
pub fn read_parquet(
    path: &Path,
    columns: &[&str],
    required: &[&str],
    mut visit: impl FnMut(String, Record) -> anyhow::Result<()>,
) -> Result<anyhow::Result<()>, TableError> {
    let unreadable = |message: String| TableError::Unreadable {
        path: path.to_path_buf(),
        message,
    };
    #[expect(
        clippy::disallowed_methods,
        reason = "TableError::Unreadable names the path"
    )]
    let file = File::open(path).map_err(|error| unreadable(error.to_string()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|error| unreadable(error.to_string()))?;
    let schema = builder.schema().clone();
    let mut indices = Vec::new();
    for column in required {
        if schema.column_with_name(column).is_none() {
            let available: Vec<&str> = schema
                .fields()
                .iter()
                .map(|field| field.name().as_str())
                .collect();
            let suggestion = available
                .iter()
                .map(|name| (strsim::jaro_winkler(name, column), name))
                .filter(|(score, _)| *score > 0.8)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, name)| (*name).to_owned());
            return Err(TableError::MissingColumn {
                path: path.to_path_buf(),
                column: (*column).to_owned(),
                available: available.join(", "),
                suggestion,
            });
        }
    }
    for column in columns {
        if let Some((index, _)) = schema.column_with_name(column) {
            indices.push(index);
        }
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(1024)
        .build()
        .map_err(|error| unreadable(error.to_string()))?;
    let mut row = 0usize;
    for batch in reader {
        let batch = batch.map_err(|error| unreadable(format!("after row {row}: {error}")))?;
        let mut arrays = Vec::with_capacity(columns.len());
        for column in columns {
            let array = match batch.column_by_name(column) {
                Some(array) => Some(
                    arrow::compute::cast(array, &DataType::Utf8)
                        .map_err(|error| unreadable(format!("column `{column}`: {error}")))?,
                ),
                None => None,
            };
            arrays.push(array);
        }
        for index in 0..batch.num_rows() {
            row += 1;
            let values = arrays
                .iter()
                .map(|array| {
                    array.as_ref().and_then(|array| {
                        let strings = array.as_string::<i32>();
                        (!strings.is_null(index)).then(|| strings.value(index).to_owned())
                    })
                })
                .collect();
            if let Err(error) = visit(format!("{}:row {row}", path.display()), Ok(values)) {
                return Ok(Err(error));
            }
        }
    }
    Ok(Ok(()))
}

/// Reads `path` as Parquet or JSONL by its extension.
pub fn read_table(
    path: &Path,
    columns: &[&str],
    required: &[&str],
    visit: impl FnMut(String, Record) -> anyhow::Result<()>,
) -> Result<anyhow::Result<()>, TableError> {
    if is_parquet(path) {
        read_parquet(path, columns, required, visit)
    } else {
        read_jsonl(path, columns, visit)
    }
}
