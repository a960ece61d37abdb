//! Reading the inputs: the testbed's code by `row_id`, and tokens.parquet as a stream of
//! (model, row) groups, one batch at a time.
//!
//! Only the token columns tag uses are decoded (not the top-k lists). Groups must be contiguous
//! in the file, as infer writes them (sorted by model and row); a group that appears again after
//! another is an error naming the row, because merging it would need the whole file in memory.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{Array, Float32Array, Int32Array, RecordBatch, StringArray};
use icodegen_artifacts::io::{META_KIND, META_VERSION};
use icodegen_artifacts::schemas::{testbed, tokens};
use icodegen_artifacts::{ArtifactError, ArtifactReader};
use icodegen_lang::Language;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::error::{Result, TagError};
use crate::row::TokenIn;

/// The code of every testbed row, by `row_id` (a row_id shared by several testbed rows is the
/// same code, stored once).
#[derive(Debug, Default)]
pub struct CodeStore {
    rows: HashMap<String, (Language, String)>,
}

impl CodeStore {
    /// Reads `row_id`, `language` and `code` of every row of testbed.parquet.
    pub fn load(path: &Path) -> Result<Self> {
        let mut store = CodeStore::default();
        let mut row_number = 0usize;
        for batch in ArtifactReader::<testbed::Row>::open(path)? {
            for row in batch? {
                store.insert(path, row_number, row.row_id, &row.language, row.code)?;
                row_number += 1;
            }
        }
        Ok(store)
    }

    fn insert(
        &mut self,
        path: &Path,
        row_number: usize,
        row_id: String,
        language: &str,
        code: String,
    ) -> Result<()> {
        let language = Language::from_name(language).map_err(|error| TagError::Input {
            path: path.to_path_buf(),
            row: row_number,
            message: error.to_string(),
        })?;
        if i32::try_from(code.len()).is_err() {
            return Err(TagError::Input {
                path: path.to_path_buf(),
                row: row_number,
                message: format!("code of {} bytes is longer than 2 GiB", code.len()),
            });
        }
        match self.rows.get(&row_id) {
            Some((known_language, known_code)) => {
                if *known_language != language || *known_code != code {
                    return Err(TagError::Input {
                        path: path.to_path_buf(),
                        row: row_number,
                        message: format!(
                            "row_id `{row_id}` appears with different code or language; a row_id \
                             identifies the code (content_id(language, code))"
                        ),
                    });
                }
            }
            None => {
                self.rows.insert(row_id, (language, code));
            }
        }
        Ok(())
    }

    pub fn get(&self, row_id: &str) -> Option<(Language, &str)> {
        self.rows
            .get(row_id)
            .map(|(language, code)| (*language, code.as_str()))
    }

    pub fn languages(&self) -> BTreeSet<Language> {
        self.rows.values().map(|(language, _)| *language).collect()
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// The tokens of one (model, row), in position order.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenGroup {
    pub model_id: String,
    pub row_id: String,
    pub tokens: Vec<TokenIn>,
}

/// The columns of tokens.parquet that tag reads.
const COLUMNS: [&str; 8] = [
    tokens::col::model_id,
    tokens::col::row_id,
    tokens::col::position,
    tokens::col::token_id,
    tokens::col::token,
    tokens::col::byte_start,
    tokens::col::byte_end,
    tokens::col::logprob,
];

/// Streams tokens.parquet as (model, row) groups.
pub struct TokenGroups {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    batch: Option<RecordBatch>,
    /// Next row of `batch` to read.
    next_in_batch: usize,
    /// File row number of `batch`'s first row.
    batch_offset: usize,
    current: Option<TokenGroup>,
    /// Keys of groups already emitted, to detect a group that is not contiguous.
    finished: HashSet<[u8; 16]>,
    done: bool,
}

fn group_key(model_id: &str, row_id: &str) -> [u8; 16] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(model_id.as_bytes());
    hasher.update(&[0]);
    hasher.update(row_id.as_bytes());
    let mut key = [0u8; 16];
    key.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    key
}

impl TokenGroups {
    /// Opens tokens.parquet, checking its kind, schema version and the columns tag reads.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with_batch_size(path, 8192)
    }

    pub fn open_with_batch_size(path: &Path, batch_size: usize) -> Result<Self> {
        #[expect(
            clippy::disallowed_methods,
            reason = "ArtifactError::Io names the path"
        )]
        let file = File::open(path).map_err(|source| ArtifactError::Io {
            action: "open",
            path: path.to_path_buf(),
            source,
        })?;
        let parquet_error = |source| ArtifactError::Parquet {
            path: path.to_path_buf(),
            source,
        };
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet_error)?;
        let key_values = builder.metadata().file_metadata().key_value_metadata();
        let get = |key: &str| {
            key_values
                .and_then(|pairs| pairs.iter().find(|pair| pair.key == key))
                .and_then(|pair| pair.value.clone())
        };
        let kind = get(META_KIND).unwrap_or_else(|| "(no icodegen kind)".to_owned());
        if kind != tokens::KIND {
            return Err(ArtifactError::WrongKind {
                path: path.to_path_buf(),
                expected: tokens::KIND,
                found: kind,
            }
            .into());
        }
        let version = get(META_VERSION).unwrap_or_default();
        if version != tokens::VERSION.to_string() {
            return Err(ArtifactError::WrongVersion {
                path: path.to_path_buf(),
                kind: tokens::KIND,
                expected: tokens::VERSION,
                found: version,
            }
            .into());
        }
        let expected = tokens::schema();
        let mut roots = Vec::new();
        for column in COLUMNS {
            let (index, found) =
                builder
                    .schema()
                    .column_with_name(column)
                    .ok_or(ArtifactError::MissingColumn {
                        path: path.to_path_buf(),
                        kind: tokens::KIND,
                        column,
                    })?;
            let wanted = expected
                .field_with_name(column)
                .expect("COLUMNS are tokens columns");
            if !found.data_type().equals_datatype(wanted.data_type()) {
                return Err(ArtifactError::ColumnType {
                    path: path.to_path_buf(),
                    kind: tokens::KIND,
                    column,
                    expected: wanted.data_type().to_string(),
                    found: found.data_type().to_string(),
                }
                .into());
            }
            roots.push(index);
        }
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
        let reader = builder
            .with_projection(mask)
            .with_batch_size(batch_size)
            .build()
            .map_err(parquet_error)?;
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            batch: None,
            next_in_batch: 0,
            batch_offset: 0,
            current: None,
            finished: HashSet::new(),
            done: false,
        })
    }

    fn next_group(&mut self) -> Result<Option<TokenGroup>> {
        loop {
            let batch = match &self.batch {
                Some(batch) if self.next_in_batch < batch.num_rows() => batch.clone(),
                _ => {
                    if let Some(batch) = &self.batch {
                        self.batch_offset += batch.num_rows();
                    }
                    self.next_in_batch = 0;
                    match self.reader.next() {
                        Some(batch) => {
                            self.batch = Some(batch.map_err(|source| ArtifactError::Arrow {
                                path: self.path.clone(),
                                source,
                            })?);
                            continue;
                        }
                        None => {
                            self.batch = None;
                            return self
                                .current
                                .take()
                                .map(|group| finish_group(group, &self.path))
                                .transpose();
                        }
                    }
                }
            };
            let columns = Columns::of(&batch, &self.path, self.batch_offset)?;
            while self.next_in_batch < batch.num_rows() {
                let i = self.next_in_batch;
                let file_row = self.batch_offset + i;
                let (model_id, row_id) = (columns.model_id.value(i), columns.row_id.value(i));
                let same = self
                    .current
                    .as_ref()
                    .is_some_and(|group| group.model_id == model_id && group.row_id == row_id);
                if !same {
                    let key = group_key(model_id, row_id);
                    if !self.finished.insert(key) {
                        return Err(TagError::Input {
                            path: self.path.clone(),
                            row: file_row,
                            message: format!(
                                "the tokens of model `{model_id}`, row `{row_id}` appear again \
                                 after other rows; tag needs each (model_id, row_id) group \
                                 contiguous, as infer writes it\nhint: sort the file by \
                                 model_id, row_id, position"
                            ),
                        });
                    }
                    let previous = self.current.replace(TokenGroup {
                        model_id: model_id.to_owned(),
                        row_id: row_id.to_owned(),
                        tokens: Vec::new(),
                    });
                    if let Some(previous) = previous {
                        // Do not consume row i: it starts the new group.
                        self.current
                            .as_mut()
                            .expect("just set")
                            .tokens
                            .push(columns.token(i, file_row));
                        self.next_in_batch += 1;
                        return finish_group(previous, &self.path).map(Some);
                    }
                }
                self.current
                    .as_mut()
                    .expect("set above")
                    .tokens
                    .push(columns.token(i, file_row));
                self.next_in_batch += 1;
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Sorts a group's tokens by position and rejects repeated positions.
fn finish_group(mut group: TokenGroup, path: &Path) -> Result<TokenGroup> {
    if !group
        .tokens
        .windows(2)
        .all(|pair| pair[0].position < pair[1].position)
    {
        group.tokens.sort_by_key(|token| token.position);
        if let Some(pair) = group
            .tokens
            .windows(2)
            .find(|pair| pair[0].position == pair[1].position)
        {
            return Err(TagError::Input {
                path: path.to_path_buf(),
                row: pair[1].file_row,
                message: format!(
                    "model `{}`, row `{}` has two tokens at position {}",
                    group.model_id, group.row_id, pair[1].position
                ),
            });
        }
    }
    Ok(group)
}

impl Iterator for TokenGroups {
    type Item = Result<TokenGroup>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_group() {
            Ok(Some(group)) => Some(Ok(group)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(error) => {
                self.done = true;
                Some(Err(error))
            }
        }
    }
}

struct Columns<'a> {
    model_id: &'a StringArray,
    row_id: &'a StringArray,
    position: &'a Int32Array,
    token_id: &'a Int32Array,
    token: &'a StringArray,
    byte_start: &'a Int32Array,
    byte_end: &'a Int32Array,
    logprob: &'a Float32Array,
}

impl<'a> Columns<'a> {
    fn of(batch: &'a RecordBatch, path: &Path, offset: usize) -> Result<Self> {
        fn get<'b, A: Array + 'static>(
            batch: &'b RecordBatch,
            column: &'static str,
            nullable: bool,
            path: &Path,
            offset: usize,
        ) -> Result<&'b A> {
            let array = batch
                .column_by_name(column)
                .and_then(|array| array.as_any().downcast_ref::<A>())
                .ok_or_else(|| ArtifactError::MissingColumn {
                    path: path.to_path_buf(),
                    kind: tokens::KIND,
                    column,
                })?;
            if !nullable && array.null_count() > 0 {
                let row = (0..array.len()).find(|&i| array.is_null(i)).unwrap_or(0);
                return Err(ArtifactError::NullValue {
                    path: path.to_path_buf(),
                    kind: tokens::KIND,
                    column,
                    row: offset + row,
                }
                .into());
            }
            Ok(array)
        }
        Ok(Self {
            model_id: get(batch, tokens::col::model_id, false, path, offset)?,
            row_id: get(batch, tokens::col::row_id, false, path, offset)?,
            position: get(batch, tokens::col::position, false, path, offset)?,
            token_id: get(batch, tokens::col::token_id, false, path, offset)?,
            token: get(batch, tokens::col::token, false, path, offset)?,
            byte_start: get(batch, tokens::col::byte_start, true, path, offset)?,
            byte_end: get(batch, tokens::col::byte_end, true, path, offset)?,
            logprob: get(batch, tokens::col::logprob, false, path, offset)?,
        })
    }

    fn token(&self, i: usize, file_row: usize) -> TokenIn {
        let optional = |array: &Int32Array| (!array.is_null(i)).then(|| array.value(i));
        TokenIn {
            position: self.position.value(i),
            token_id: self.token_id.value(i),
            token: self.token.value(i).to_owned(),
            byte_start: optional(self.byte_start),
            byte_end: optional(self.byte_end),
            logprob: self.logprob.value(i),
            file_row,
        }
    }
}
