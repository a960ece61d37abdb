//! Reading the inputs: the testbed's code by `row_id`, and tokens.parquet as a stream of
//! (model, row) groups, one batch at a time.
//!
//! Only the token columns tag uses are decoded (not the top-k lists). Groups must be contiguous
//! in the file, as infer writes them (sorted by model and row); a group that appears again after
//! another is an error naming the row, because merging it would need the whole file in memory.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use arrow::array::{Array, Float32Array, Int32Array, RecordBatch, StringArray};
use icodegen_artifacts::ProjectedReader;
use icodegen_artifacts::schemas::{testbed, tokens};
use icodegen_lang::Language;

use crate::error::{Result, TagError};
use crate::row::TokenIn;

/// The code of every testbed row, by `row_id` (a row_id shared by several testbed rows is the
/// same code, stored once).
#[derive(Debug, Default)]
pub struct CodeStore {
    rows: HashMap<String, (Language, String)>,
}

impl CodeStore {
    /// Reads `row_id`, `language` and `code` of every row of testbed.parquet (only those
    /// columns are checked and decoded).
    pub fn load(path: &Path) -> Result<Self> {
        let mut store = CodeStore::default();
        let mut reader = ProjectedReader::<testbed::Row>::open(
            path,
            &[
                testbed::col::row_id,
                testbed::col::language,
                testbed::col::code,
            ],
        )?;
        while let Some(batch) = reader.next_batch() {
            let batch = batch?;
            let row_ids = reader.column::<String>(&batch, testbed::col::row_id)?;
            let languages = reader.column::<String>(&batch, testbed::col::language)?;
            let codes = reader.column::<String>(&batch, testbed::col::code)?;
            for i in 0..batch.num_rows() {
                store.insert(
                    path,
                    reader.batch_offset() + i,
                    row_ids.value(i).to_owned(),
                    languages.value(i),
                    codes.value(i).to_owned(),
                )?;
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
    reader: ProjectedReader<tokens::Row>,
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
        let reader = ProjectedReader::open_with_batch_size(path, &COLUMNS, batch_size)?;
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
                    match self.reader.next_batch() {
                        Some(batch) => {
                            self.batch = Some(batch?);
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
            let columns = Columns::of(&batch, &self.reader)?;
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
    /// The columns of a batch the reader returned (it checked their types and nulls).
    fn of(batch: &'a RecordBatch, reader: &ProjectedReader<tokens::Row>) -> Result<Self> {
        Ok(Self {
            model_id: reader.column::<String>(batch, tokens::col::model_id)?,
            row_id: reader.column::<String>(batch, tokens::col::row_id)?,
            position: reader.column::<i32>(batch, tokens::col::position)?,
            token_id: reader.column::<i32>(batch, tokens::col::token_id)?,
            token: reader.column::<String>(batch, tokens::col::token)?,
            byte_start: reader.column::<Option<i32>>(batch, tokens::col::byte_start)?,
            byte_end: reader.column::<Option<i32>>(batch, tokens::col::byte_end)?,
            logprob: reader.column::<f32>(batch, tokens::col::logprob)?,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::disallowed_methods)] // test code may use std::fs (clippy.toml)

    use std::sync::Arc;

    use arrow::array::ArrayRef;
    use arrow::datatypes::{DataType, Field, Schema};
    use icodegen_artifacts::{Artifact, ArtifactError, write_all};

    use super::*;

    fn token(row_id: &str, position: i32) -> tokens::Row {
        tokens::Row {
            model_id: "gru".into(),
            row_id: row_id.into(),
            position,
            token_id: 7,
            token: "x".into(),
            byte_start: Some(position),
            byte_end: Some(position + 1),
            logprob: -0.5,
            rank: 1,
            entropy: 1.0,
            topk_ids: vec![7],
            topk_logprobs: vec![-0.5],
        }
    }

    /// Writes `batch` as a `kind` artifact of version 1 without the artifact writer.
    fn write_raw(path: &Path, kind: &str, batch: &RecordBatch) {
        let props = parquet::file::properties::WriterProperties::builder()
            .set_key_value_metadata(Some(vec![
                parquet::file::metadata::KeyValue::new("icodegen.kind".to_owned(), kind.to_owned()),
                parquet::file::metadata::KeyValue::new(
                    "icodegen.schema_version".to_owned(),
                    "1".to_owned(),
                ),
            ]))
            .build();
        let file = std::fs::File::create(path).unwrap();
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
        writer.write(batch).unwrap();
        writer.close().unwrap();
    }

    /// `batch` with only the columns named in `keep`.
    fn only(batch: &RecordBatch, keep: &[&str]) -> RecordBatch {
        let (fields, columns): (Vec<Field>, Vec<ArrayRef>) = batch
            .schema()
            .fields()
            .iter()
            .zip(batch.columns())
            .filter(|(field, _)| keep.contains(&field.name().as_str()))
            .map(|(field, column)| (field.as_ref().clone(), column.clone()))
            .unzip();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
    }

    #[test]
    fn tokens_without_the_columns_tag_does_not_read_are_grouped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.parquet");
        let rows = [token("a", 1), token("a", 2), token("b", 1)];
        write_raw(
            &path,
            tokens::KIND,
            &only(&tokens::Row::to_batch(&rows), &COLUMNS),
        );
        let groups: Vec<TokenGroup> = TokenGroups::open_with_batch_size(&path, 2)
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        let shape: Vec<(&str, usize)> = groups
            .iter()
            .map(|group| (group.row_id.as_str(), group.tokens.len()))
            .collect();
        assert_eq!(shape, [("a", 2), ("b", 1)]);
        assert_eq!(groups[1].tokens[0].file_row, 2);
    }

    #[test]
    fn tokens_of_another_kind_a_missing_column_or_a_null_are_the_readers_errors() {
        let dir = tempfile::tempdir().unwrap();
        let rows = [token("a", 1), token("a", 2)];

        let scores = dir.path().join("scores.parquet");
        write_raw(&scores, "scores", &tokens::Row::to_batch(&rows));
        let error = TokenGroups::open(&scores).err().unwrap();
        assert!(
            matches!(error, TagError::Artifact(ArtifactError::WrongKind { .. })),
            "{error}"
        );
        assert!(error.is_user_error());

        let no_logprob = dir.path().join("no_logprob.parquet");
        let keep: Vec<&str> = COLUMNS
            .iter()
            .copied()
            .filter(|column| *column != tokens::col::logprob)
            .collect();
        write_raw(
            &no_logprob,
            tokens::KIND,
            &only(&tokens::Row::to_batch(&rows), &keep),
        );
        let error = TokenGroups::open(&no_logprob).err().unwrap().to_string();
        assert!(error.contains("no column `logprob`"), "{error}");

        let null_position = dir.path().join("null_position.parquet");
        let batch = tokens::Row::to_batch(&rows);
        let (mut fields, mut columns): (Vec<Field>, Vec<ArrayRef>) = batch
            .schema()
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(field, column)| (field.as_ref().clone(), column.clone()))
            .unzip();
        let at = fields
            .iter()
            .position(|field| field.name() == tokens::col::position)
            .unwrap();
        fields[at] = Field::new(tokens::col::position, DataType::Int32, true);
        columns[at] = Arc::new(Int32Array::from(vec![Some(1), None]));
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
        write_raw(&null_position, tokens::KIND, &batch);
        let error = TokenGroups::open(&null_position)
            .unwrap()
            .find_map(|group| group.err())
            .unwrap()
            .to_string();
        assert!(
            error.contains("row 1") && error.contains("`position` is null"),
            "{error}"
        );
    }

    #[test]
    fn the_code_store_reads_only_row_id_language_and_code() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("testbed.parquet");
        let row = testbed::Row {
            row_id: "r".into(),
            pair_id: "p".into(),
            intervention: "none".into(),
            snippet_id: "s".into(),
            language: "python".into(),
            code: "def f():\n    return 1\n".into(),
            ..testbed::Row::default()
        };
        write_all(&path, "preprocess", std::slice::from_ref(&row)).unwrap();
        let full = CodeStore::load(&path).unwrap();
        assert_eq!(full.get("r").map(|(_, code)| code), Some(row.code.as_str()));
        let slim = dir.path().join("slim.parquet");
        write_raw(
            &slim,
            testbed::KIND,
            &only(
                &testbed::Row::to_batch(std::slice::from_ref(&row)),
                &[
                    testbed::col::row_id,
                    testbed::col::language,
                    testbed::col::code,
                ],
            ),
        );
        let store = CodeStore::load(&slim).unwrap();
        assert_eq!(store.len(), 1);
        assert_eq!(store.get("r"), Some((Language::Python, row.code.as_str())));
    }
}
