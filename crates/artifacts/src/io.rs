//! Reading and writing artifacts as zstd-compressed Parquet with icodegen metadata.

use std::fs::File;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use arrow::array::Array;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use crate::artifact::{Artifact, ColumnProblem};
use crate::atomic::AtomicFile;
use crate::column::ColumnValue;
use crate::error::{ArtifactError, Result};

/// File metadata keys.
pub const META_KIND: &str = "icodegen.kind";
pub const META_VERSION: &str = "icodegen.schema_version";
pub const META_STAGE: &str = "icodegen.stage";
pub const META_TOOL_VERSION: &str = "icodegen.tool_version";

/// The version of the icodegen tools, recorded in every artifact.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Rows buffered before a record batch is written.
const BATCH_ROWS: usize = 8192;
/// Rows per Parquet row group. The writer holds one row group in memory, so this bounds a
/// stage's memory independently of the artifact's size (the parquet default is 1M rows).
const ROW_GROUP_ROWS: usize = 64 * 1024;

/// What an artifact's file metadata says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactMetadata {
    pub kind: Option<String>,
    pub schema_version: Option<String>,
    pub stage: Option<String>,
    pub tool_version: Option<String>,
    pub num_rows: i64,
    /// Every key-value pair, icodegen's and others'.
    pub key_values: Vec<(String, String)>,
}

/// Writes rows of one artifact kind to a temporary file that replaces `path` on
/// [`ArtifactWriter::finish`].
pub struct ArtifactWriter<A: Artifact> {
    path: PathBuf,
    file: AtomicFile,
    writer: ArrowWriter<File>,
    pending: Vec<A>,
    rows: u64,
    _kind: PhantomData<A>,
}

impl<A: Artifact> ArtifactWriter<A> {
    /// Starts an artifact written by `stage` (the producing stage's name, e.g. `infer`).
    pub fn create(path: impl AsRef<Path>, stage: &str) -> Result<Self> {
        Self::create_with_metadata(path, stage, &[])
    }

    /// Like [`ArtifactWriter::create`], with extra key-value metadata (model hash, seed, ...).
    pub fn create_with_metadata(
        path: impl AsRef<Path>,
        stage: &str,
        metadata: &[(&str, &str)],
    ) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = AtomicFile::create(&path)?;
        let handle = file.try_clone_file()?;
        let mut key_values = vec![
            KeyValue::new(META_KIND.to_owned(), A::KIND.to_owned()),
            KeyValue::new(META_VERSION.to_owned(), A::VERSION.to_string()),
            KeyValue::new(META_STAGE.to_owned(), stage.to_owned()),
            KeyValue::new(META_TOOL_VERSION.to_owned(), TOOL_VERSION.to_owned()),
        ];
        key_values.extend(
            metadata
                .iter()
                .map(|(key, value)| KeyValue::new((*key).to_owned(), (*value).to_owned())),
        );
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(3).expect("valid level"),
            ))
            .set_key_value_metadata(Some(key_values))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .build();
        let writer =
            ArrowWriter::try_new(handle, A::schema(), Some(properties)).map_err(|source| {
                ArtifactError::Parquet {
                    path: path.clone(),
                    source,
                }
            })?;
        Ok(Self {
            path,
            file,
            writer,
            pending: Vec::with_capacity(BATCH_ROWS),
            rows: 0,
            _kind: PhantomData,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds one row.
    pub fn push(&mut self, row: A) -> Result<()> {
        self.pending.push(row);
        if self.pending.len() >= BATCH_ROWS {
            self.flush_pending()?;
        }
        Ok(())
    }

    /// Adds rows.
    pub fn extend(&mut self, rows: impl IntoIterator<Item = A>) -> Result<()> {
        for row in rows {
            self.push(row)?;
        }
        Ok(())
    }

    /// Writes a batch built elsewhere; it must have exactly this artifact's schema.
    pub fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        self.flush_pending()?;
        self.rows += batch.num_rows() as u64;
        self.writer
            .write(batch)
            .map_err(|source| ArtifactError::Parquet {
                path: self.path.clone(),
                source,
            })
    }

    fn flush_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = A::to_batch(&self.pending);
        self.pending.clear();
        self.rows += batch.num_rows() as u64;
        self.writer
            .write(&batch)
            .map_err(|source| ArtifactError::Parquet {
                path: self.path.clone(),
                source,
            })
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows + self.pending.len() as u64
    }

    /// Closes the Parquet file and renames it into place. Returns the number of rows.
    pub fn finish(mut self) -> Result<u64> {
        self.flush_pending()?;
        self.writer
            .close()
            .map_err(|source| ArtifactError::Parquet {
                path: self.path.clone(),
                source,
            })?;
        self.file.commit()?;
        Ok(self.rows)
    }
}

/// Writes all `rows` to `path` in one go.
pub fn write_all<A: Artifact>(path: impl AsRef<Path>, stage: &str, rows: &[A]) -> Result<u64> {
    let mut writer = ArtifactWriter::<A>::create(path, stage)?;
    writer.extend(rows.iter().cloned())?;
    writer.finish()
}

fn open_builder(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>> {
    #[expect(
        clippy::disallowed_methods,
        reason = "ArtifactError::Io names the path"
    )]
    let file = File::open(path).map_err(|e| ArtifactError::io("open", path, e))?;
    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| ArtifactError::Parquet {
        path: path.to_path_buf(),
        source,
    })
}

fn metadata_of(builder: &ParquetRecordBatchReaderBuilder<File>) -> ArtifactMetadata {
    let file_metadata = builder.metadata().file_metadata();
    let key_values: Vec<(String, String)> = file_metadata
        .key_value_metadata()
        .map(|pairs| {
            pairs
                .iter()
                .map(|pair| (pair.key.clone(), pair.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let get = |key: &str| {
        key_values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    ArtifactMetadata {
        kind: get(META_KIND),
        schema_version: get(META_VERSION),
        stage: get(META_STAGE),
        tool_version: get(META_TOOL_VERSION),
        num_rows: file_metadata.num_rows(),
        key_values,
    }
}

/// Reads the metadata of any artifact (or plain Parquet file) without reading its rows.
pub fn read_metadata(path: impl AsRef<Path>) -> Result<ArtifactMetadata> {
    Ok(metadata_of(&open_builder(path.as_ref())?))
}

fn problem_to_error<A: Artifact>(
    path: &Path,
    problem: ColumnProblem,
    row_offset: usize,
) -> ArtifactError {
    let path = path.to_path_buf();
    match problem {
        ColumnProblem::Missing { column } => ArtifactError::MissingColumn {
            path,
            kind: A::KIND,
            column,
        },
        ColumnProblem::WrongType {
            column,
            expected,
            found,
        } => ArtifactError::ColumnType {
            path,
            kind: A::KIND,
            column,
            expected,
            found,
        },
        ColumnProblem::UnexpectedNull { column, row } => ArtifactError::NullValue {
            path,
            kind: A::KIND,
            column,
            row: row_offset + row,
        },
    }
}

/// Reads typed rows of one artifact kind, batch by batch, so memory stays flat.
pub struct ArtifactReader<A: Artifact> {
    path: PathBuf,
    metadata: ArtifactMetadata,
    reader: ParquetRecordBatchReader,
    row_offset: usize,
    _kind: PhantomData<A>,
}

impl<A: Artifact> ArtifactReader<A> {
    /// Opens `path`, checking its kind, schema version and columns.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with_batch_size(path, BATCH_ROWS)
    }

    pub fn open_with_batch_size(path: impl AsRef<Path>, batch_size: usize) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let (metadata, reader) = open_checked::<A>(&path, A::COLUMNS, batch_size)?;
        Ok(Self {
            path,
            metadata,
            reader,
            row_offset: 0,
            _kind: PhantomData,
        })
    }

    pub fn metadata(&self) -> &ArtifactMetadata {
        &self.metadata
    }

    pub fn num_rows(&self) -> usize {
        usize::try_from(self.metadata.num_rows).unwrap_or(0)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next batch as raw Arrow columns (projected to this artifact's columns).
    pub fn next_batch(&mut self) -> Option<Result<RecordBatch>> {
        let batch = self.reader.next()?;
        Some(batch.map_err(|source| ArtifactError::Arrow {
            path: self.path.clone(),
            source,
        }))
    }

    /// The next batch as typed rows.
    pub fn next_rows(&mut self) -> Option<Result<Vec<A>>> {
        let batch = match self.next_batch()? {
            Ok(batch) => batch,
            Err(error) => return Some(Err(error)),
        };
        let offset = self.row_offset;
        self.row_offset += batch.num_rows();
        Some(
            A::from_batch(&batch)
                .map_err(|problem| problem_to_error::<A>(&self.path, problem, offset)),
        )
    }
}

impl<A: Artifact> Iterator for ArtifactReader<A> {
    type Item = Result<Vec<A>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_rows()
    }
}

/// Opens `path` as an `A` artifact reading only `columns` (each one of `A::COLUMNS`): checks
/// the kind, the schema version, and that every one of `columns` is there with its type.
fn open_checked<A: Artifact>(
    path: &Path,
    columns: &[&'static str],
    batch_size: usize,
) -> Result<(ArtifactMetadata, ParquetRecordBatchReader)> {
    let builder = open_builder(path)?;
    let metadata = metadata_of(&builder);
    check_kind::<A>(path, &metadata)?;
    let arrow_schema = builder.schema().clone();
    let expected = A::schema();
    let mut roots = Vec::with_capacity(columns.len());
    for field in expected.fields() {
        let Some(column) = columns
            .iter()
            .find(|name| **name == field.name().as_str())
            .copied()
        else {
            continue;
        };
        let (index, found) =
            arrow_schema
                .column_with_name(column)
                .ok_or_else(|| ArtifactError::MissingColumn {
                    path: path.to_path_buf(),
                    kind: A::KIND,
                    column,
                })?;
        if !found.data_type().equals_datatype(field.data_type()) {
            return Err(ArtifactError::ColumnType {
                path: path.to_path_buf(),
                kind: A::KIND,
                column,
                expected: field.data_type().to_string(),
                found: found.data_type().to_string(),
            });
        }
        roots.push(index);
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(batch_size)
        .build()
        .map_err(|source| ArtifactError::Parquet {
            path: path.to_path_buf(),
            source,
        })?;
    Ok((metadata, reader))
}

/// Reads only some columns of one artifact kind, batch by batch, with the checks of
/// [`ArtifactReader`]: the kind, the schema version, each named column's presence and type,
/// and no null in a column the schema does not let be null (named with its file row). Other
/// columns are neither checked nor decoded.
pub struct ProjectedReader<A: Artifact> {
    path: PathBuf,
    metadata: ArtifactMetadata,
    reader: ParquetRecordBatchReader,
    /// The projected columns the schema does not let be null.
    required: Vec<&'static str>,
    /// File row of the last batch's first row, and of the next batch's.
    batch_offset: usize,
    next_offset: usize,
    _kind: PhantomData<A>,
}

impl<A: Artifact> ProjectedReader<A> {
    /// Opens `path` reading only `columns`.
    ///
    /// # Panics
    /// When one of `columns` is not a column of `A` (a bug in the caller, not in the file).
    pub fn open(path: impl AsRef<Path>, columns: &[&'static str]) -> Result<Self> {
        Self::open_with_batch_size(path, columns, BATCH_ROWS)
    }

    pub fn open_with_batch_size(
        path: impl AsRef<Path>,
        columns: &[&'static str],
        batch_size: usize,
    ) -> Result<Self> {
        for column in columns {
            assert!(
                A::COLUMNS.contains(column),
                "`{column}` is not a column of `{}` artifacts",
                A::KIND
            );
        }
        let path = path.as_ref().to_path_buf();
        let (metadata, reader) = open_checked::<A>(&path, columns, batch_size)?;
        let schema = A::schema();
        let required = columns
            .iter()
            .copied()
            .filter(|column| {
                schema
                    .field_with_name(column)
                    .is_ok_and(|field| !field.is_nullable())
            })
            .collect();
        Ok(Self {
            path,
            metadata,
            reader,
            required,
            batch_offset: 0,
            next_offset: 0,
            _kind: PhantomData,
        })
    }

    pub fn metadata(&self) -> &ArtifactMetadata {
        &self.metadata
    }

    pub fn num_rows(&self) -> usize {
        usize::try_from(self.metadata.num_rows).unwrap_or(0)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file row of the first row of the batch [`ProjectedReader::next_batch`] returned last.
    pub fn batch_offset(&self) -> usize {
        self.batch_offset
    }

    /// The next batch of the projected columns (in file order; get them by name), after
    /// checking that no required column holds a null.
    pub fn next_batch(&mut self) -> Option<Result<RecordBatch>> {
        let batch = match self.reader.next()? {
            Ok(batch) => batch,
            Err(source) => {
                return Some(Err(ArtifactError::Arrow {
                    path: self.path.clone(),
                    source,
                }));
            }
        };
        self.batch_offset = self.next_offset;
        self.next_offset += batch.num_rows();
        for column in &self.required {
            let Some(array) = batch.column_by_name(column) else {
                continue;
            };
            if array.null_count() > 0 {
                let row = (0..array.len()).find(|&i| array.is_null(i)).unwrap_or(0);
                return Some(Err(ArtifactError::NullValue {
                    path: self.path.clone(),
                    kind: A::KIND,
                    column,
                    row: self.batch_offset + row,
                }));
            }
        }
        Some(Ok(batch))
    }

    /// Column `column` of `batch` (a batch this reader returned) as `T`'s array: `T` is the
    /// column's field type in `A`'s `Row` (`String`, `Option<i32>`, ...).
    pub fn column<'b, T: ColumnValue>(
        &self,
        batch: &'b RecordBatch,
        column: &'static str,
    ) -> Result<&'b T::Array> {
        crate::artifact::column_of::<T>(batch, column)
            .map_err(|problem| problem_to_error::<A>(&self.path, problem, self.batch_offset))
    }
}

impl<A: Artifact> Iterator for ProjectedReader<A> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch()
    }
}

fn check_kind<A: Artifact>(path: &Path, metadata: &ArtifactMetadata) -> Result<()> {
    let found = metadata
        .kind
        .clone()
        .unwrap_or_else(|| "(no icodegen kind)".to_owned());
    if found != A::KIND {
        return Err(ArtifactError::WrongKind {
            path: path.to_path_buf(),
            expected: A::KIND,
            found,
        });
    }
    let version = metadata.schema_version.clone().unwrap_or_default();
    if version != A::VERSION.to_string() {
        return Err(ArtifactError::WrongVersion {
            path: path.to_path_buf(),
            kind: A::KIND,
            expected: A::VERSION,
            found: version,
        });
    }
    Ok(())
}

/// Reads every row of `path`.
pub fn read_all<A: Artifact>(path: impl AsRef<Path>) -> Result<Vec<A>> {
    let reader = ArtifactReader::<A>::open(path)?;
    let mut rows = Vec::with_capacity(reader.num_rows());
    for batch in reader {
        rows.extend(batch?);
    }
    Ok(rows)
}
