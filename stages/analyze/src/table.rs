//! Reads named numeric columns from a Parquet or CSV file for the `causal` subcommand.
//!
//! Every problem is reported with the file, the column and the first bad row, counted the way a
//! user would look for it: the 1-based data row for Parquet, the line number for CSV (the header
//! is line 1). Booleans become 0/1; integers and floats become f64; anything else (strings,
//! dates) is an error naming the column and its type. Missing values (Parquet nulls, empty CSV
//! fields, `NA`, `NaN`, `null`) are errors, never silently dropped or zero-filled.

use std::path::Path;

use anyhow::Result;
use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::AnalyzeError;

/// How rows are counted in messages about this file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowLabel {
    /// "row N" (1-based data row).
    DataRow,
    /// "line N" (header on line 1).
    CsvLine,
}

impl RowLabel {
    /// Formats a 0-based data row index as the user sees it.
    pub fn describe(self, row: usize) -> String {
        match self {
            RowLabel::DataRow => format!("row {}", row + 1),
            RowLabel::CsvLine => format!("line {}", row + 2),
        }
    }
}

/// Columns read from a file, in the order requested.
#[derive(Debug, Clone)]
pub struct Table {
    pub columns: Vec<(String, Vec<f64>)>,
    pub rows: usize,
    pub row_label: RowLabel,
}

fn missing_value(path: &Path, label: RowLabel, column: &str, row: usize) -> AnalyzeError {
    AnalyzeError::data(
        path,
        format!(
            "column `{column}` has a missing value at {}; drop or impute missing rows before estimating",
            label.describe(row)
        ),
    )
}

fn unknown_column(path: &Path, column: &str, available: &[String]) -> AnalyzeError {
    let suggestion = available
        .iter()
        .map(|name| (strsim::jaro_winkler(name, column), name))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| name.clone());
    AnalyzeError::UnknownColumn {
        path: path.to_path_buf(),
        column: column.to_owned(),
        available: available.to_vec(),
        suggestion,
    }
}

/// Opens a Parquet data file (an unopenable file is the user's; a corrupt one a failed run).
fn parquet_builder(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<std::fs::File>> {
    let file = fs_err::File::open(path).map_err(AnalyzeError::Open)?;
    Ok(
        ParquetRecordBatchReaderBuilder::try_new(file.into_parts().0).map_err(|error| {
            AnalyzeError::CorruptParquet {
                path: path.to_path_buf(),
                error,
            }
        })?,
    )
}

/// A failure reading the batches of `path`.
fn read_error<E: std::error::Error + Send + Sync + 'static>(
    path: &Path,
) -> impl Fn(E) -> AnalyzeError + '_ {
    |error| AnalyzeError::Read {
        path: path.to_path_buf(),
        source: Box::new(error),
    }
}

/// Reads `names` from `path` (`.parquet` or `.csv`, by extension).
pub fn read_columns(path: &Path, names: &[String]) -> Result<Table> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match extension.as_str() {
        "parquet" | "pq" => read_parquet(path, names),
        "csv" => read_csv(path, names),
        _ => Err(AnalyzeError::UnsupportedFile {
            path: path.to_path_buf(),
        }
        .into()),
    }
}

fn read_parquet(path: &Path, names: &[String]) -> Result<Table> {
    let builder = parquet_builder(path)?;
    let schema = builder.schema().clone();
    let available: Vec<String> = schema
        .fields()
        .iter()
        .map(|field| field.name().clone())
        .collect();
    let mut indices = Vec::with_capacity(names.len());
    for name in names {
        let index = available
            .iter()
            .position(|field| field == name)
            .ok_or_else(|| unknown_column(path, name, &available))?;
        let data_type = schema.field(index).data_type();
        if !(data_type.is_numeric() || *data_type == DataType::Boolean) {
            return Err(AnalyzeError::data(
                path,
                format!(
                    "column `{name}` has type {data_type}; the causal subcommand needs numbers or booleans"
                ),
            )
            .into());
        }
        indices.push(index);
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), indices.iter().copied());
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(read_error(path))?;
    let mut columns: Vec<(String, Vec<f64>)> = names
        .iter()
        .map(|name| (name.clone(), Vec::new()))
        .collect();
    let mut offset = 0;
    for batch in reader {
        let batch = batch.map_err(read_error(path))?;
        for (name, values) in columns.iter_mut() {
            let array = batch
                .column_by_name(name)
                .expect("projected column is present");
            if array.null_count() > 0 {
                let row = (0..array.len())
                    .find(|&i| array.is_null(i))
                    .expect("a null exists");
                return Err(missing_value(path, RowLabel::DataRow, name, offset + row).into());
            }
            // The types were checked above: a failed cast is a failed read (exit 1).
            let floats =
                arrow::compute::cast(array, &DataType::Float64).map_err(read_error(path))?;
            values.extend(
                floats
                    .as_primitive::<Float64Type>()
                    .values()
                    .iter()
                    .copied(),
            );
        }
        offset += batch.num_rows();
    }
    for (name, values) in &columns {
        if let Some(row) = values.iter().position(|value| !value.is_finite()) {
            return Err(AnalyzeError::data(
                path,
                format!(
                    "column `{name}` has a non-finite value ({}) at {}",
                    values[row],
                    RowLabel::DataRow.describe(row)
                ),
            )
            .into());
        }
    }
    Ok(Table {
        columns,
        rows: offset,
        row_label: RowLabel::DataRow,
    })
}

/// A CSV file with a header: its reader, positioned after the header, and the trimmed column
/// names.
fn open_csv(path: &Path) -> Result<(csv::Reader<std::io::BufReader<fs_err::File>>, Vec<String>)> {
    let file = fs_err::File::open(path).map_err(AnalyzeError::Open)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(std::io::BufReader::new(file));
    let headers: Vec<String> = reader
        .headers()
        .map_err(|error| AnalyzeError::data(path, format!("cannot read the CSV header: {error}")))?
        .iter()
        .map(|header| header.trim().to_string())
        .collect();
    Ok((reader, headers))
}

fn read_csv(path: &Path, names: &[String]) -> Result<Table> {
    let (mut reader, headers) = open_csv(path)?;
    let mut indices = Vec::with_capacity(names.len());
    for name in names {
        indices.push(
            headers
                .iter()
                .position(|header| header == name)
                .ok_or_else(|| unknown_column(path, name, &headers))?,
        );
    }
    let mut columns: Vec<(String, Vec<f64>)> = names
        .iter()
        .map(|name| (name.clone(), Vec::new()))
        .collect();
    let mut record = csv::StringRecord::new();
    let mut row = 0;
    loop {
        let more = reader.read_record(&mut record).map_err(|error| {
            AnalyzeError::data(
                path,
                format!("{}: {error}", RowLabel::CsvLine.describe(row)),
            )
        })?;
        if !more {
            break;
        }
        for ((name, values), &index) in columns.iter_mut().zip(&indices) {
            let field = record.get(index).unwrap_or("").trim();
            let value = match field {
                "" | "NA" | "N/A" | "NaN" | "nan" | "null" | "NULL" | "None" => {
                    return Err(missing_value(path, RowLabel::CsvLine, name, row).into());
                }
                "true" | "True" | "TRUE" => 1.0,
                "false" | "False" | "FALSE" => 0.0,
                text => text.parse::<f64>().map_err(|_| {
                    AnalyzeError::data(
                        path,
                        format!(
                            "column `{name}` has `{text}` at {}, which is not a number",
                            RowLabel::CsvLine.describe(row)
                        ),
                    )
                })?,
            };
            if !value.is_finite() {
                return Err(AnalyzeError::data(
                    path,
                    format!(
                        "column `{name}` has a non-finite value ({value}) at {}",
                        RowLabel::CsvLine.describe(row)
                    ),
                )
                .into());
            }
            values.push(value);
        }
        row += 1;
    }
    Ok(Table {
        columns,
        rows: row,
        row_label: RowLabel::CsvLine,
    })
}

/// Reads one column of `path` as text labels (a pair id: strings or numbers), for grouping
/// rows. A missing label is an error naming the column and row.
pub fn read_labels(path: &Path, name: &str) -> Result<Vec<String>> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match extension.as_str() {
        "parquet" | "pq" => {
            let builder = parquet_builder(path)?;
            let available: Vec<String> = builder
                .schema()
                .fields()
                .iter()
                .map(|field| field.name().clone())
                .collect();
            let index = available
                .iter()
                .position(|field| field == name)
                .ok_or_else(|| unknown_column(path, name, &available))?;
            let mask = ProjectionMask::roots(builder.parquet_schema(), [index]);
            let reader = builder
                .with_projection(mask)
                .build()
                .map_err(read_error(path))?;
            let mut labels = Vec::new();
            for batch in reader {
                let batch = batch.map_err(read_error(path))?;
                let array = batch.column_by_name(name).expect("projected column");
                if array.null_count() > 0 {
                    let row = (0..array.len()).find(|&i| array.is_null(i)).expect("null");
                    return Err(
                        missing_value(path, RowLabel::DataRow, name, labels.len() + row).into(),
                    );
                }
                let text = arrow::compute::cast(array, &DataType::Utf8).map_err(|error| {
                    AnalyzeError::data(
                        path,
                        format!("column `{name}` cannot be read as labels: {error}"),
                    )
                })?;
                labels.extend(
                    text.as_string::<i32>()
                        .iter()
                        .map(|value| value.unwrap_or_default().to_owned()),
                );
            }
            Ok(labels)
        }
        "csv" => {
            let (mut reader, headers) = open_csv(path)?;
            let index = headers
                .iter()
                .position(|header| header == name)
                .ok_or_else(|| unknown_column(path, name, &headers))?;
            let mut labels = Vec::new();
            for (row, record) in reader.records().enumerate() {
                let record = record.map_err(|error| {
                    AnalyzeError::data(
                        path,
                        format!("{}: {error}", RowLabel::CsvLine.describe(row)),
                    )
                })?;
                let field = record.get(index).unwrap_or("").trim();
                if field.is_empty() {
                    return Err(missing_value(path, RowLabel::CsvLine, name, row).into());
                }
                labels.push(field.to_owned());
            }
            Ok(labels)
        }
        _ => Err(AnalyzeError::UnsupportedFile {
            path: path.to_path_buf(),
        }
        .into()),
    }
}
