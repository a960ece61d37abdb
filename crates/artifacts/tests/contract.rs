//! The artifact contract, checked end to end on tiny files.
#![allow(clippy::disallowed_methods)] // test code may use std::fs (clippy.toml)

use icodegen_artifacts::schemas::{covariates, testbed, tokens};
use icodegen_artifacts::{
    Artifact, ArtifactError, ArtifactReader, ArtifactWriter, Covariates, params, read_all,
    read_metadata, write_all,
};

fn token(position: i32, span: Option<(i32, i32)>) -> tokens::Row {
    tokens::Row {
        model_id: "gru".into(),
        row_id: "r1".into(),
        position,
        token_id: 7,
        token: "def".into(),
        byte_start: span.map(|s| s.0),
        byte_end: span.map(|s| s.1),
        logprob: -0.25,
        rank: 1,
        entropy: 1.5,
        topk_ids: vec![7, 3],
        topk_logprobs: vec![-0.25, -2.0],
    }
}

#[test]
fn rows_round_trip_with_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out/tokens.parquet");
    let rows: Vec<_> = (0..20_000)
        .map(|i| token(i, if i % 3 == 0 { None } else { Some((i, i + 3)) }))
        .collect();
    assert_eq!(write_all(&path, "infer", &rows).unwrap(), 20_000);
    let back: Vec<tokens::Row> = read_all(&path).unwrap();
    assert_eq!(back, rows);
    let meta = read_metadata(&path).unwrap();
    assert_eq!(meta.kind.as_deref(), Some("tokens"));
    assert_eq!(meta.schema_version.as_deref(), Some("1"));
    assert_eq!(meta.stage.as_deref(), Some("infer"));
    assert_eq!(
        meta.tool_version.as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(meta.num_rows, 20_000);
}

#[test]
fn outputs_get_the_mode_of_an_ordinary_file_not_a_private_temp_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    // What the umask makes of an ordinary new file and folder here.
    let plain = dir.path().join("plain");
    std::fs::write(&plain, b"x").unwrap();
    let plain_dir = dir.path().join("plain-dir");
    std::fs::create_dir(&plain_dir).unwrap();

    let artifact = dir.path().join("tokens.parquet");
    write_all(&artifact, "infer", &[token(0, Some((0, 3)))]).unwrap();
    assert_eq!(mode(&artifact), mode(&plain), "artifact mode");
    let json = dir.path().join("report.json");
    icodegen_artifacts::atomic::write_json(&json, &serde_json::json!({"ok": true})).unwrap();
    assert_eq!(mode(&json), mode(&plain), "JSON mode");
    let out = icodegen_artifacts::atomic::AtomicDir::create(dir.path().join("model")).unwrap();
    out.commit().unwrap();
    assert_eq!(
        mode(&dir.path().join("model")),
        mode(&plain_dir),
        "folder mode"
    );
}

#[test]
fn unfinished_writer_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.parquet");
    let mut writer = ArtifactWriter::<tokens::Row>::create(&path, "infer").unwrap();
    writer.push(token(1, Some((0, 3)))).unwrap();
    drop(writer);
    assert!(!path.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "temporary file removed"
    );
}

#[test]
fn reading_the_wrong_kind_names_both_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.parquet");
    write_all(&path, "infer", &[token(1, None)]).unwrap();
    let error = ArtifactReader::<testbed::Row>::open(&path).err().unwrap();
    assert!(matches!(error, ArtifactError::WrongKind { .. }));
    let message = error.to_string();
    assert!(
        message.contains("`tokens`")
            && message.contains("`testbed`")
            && message.contains("tokens.parquet"),
        "{message}"
    );
}

#[test]
fn covariates_columns_come_from_one_list() {
    assert_eq!(covariates::Row::COLUMNS[3..], *Covariates::NAMES);
    let testbed_columns = testbed::Row::COLUMNS;
    assert_eq!(
        testbed_columns[testbed_columns.len() - Covariates::NAMES.len()..],
        *Covariates::NAMES
    );
    let mut row = testbed::Row::default();
    let values = Covariates {
        ast_depth: 4,
        cyclomatic: 2,
        ..Default::default()
    };
    row.set_covariates(&values);
    assert_eq!(row.covariates(), values);
    assert_eq!(values.values()[0], 4.0);
}

#[test]
fn a_null_in_a_required_column_names_file_row_and_column() {
    use arrow::array::{ArrayRef, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.parquet");
    // Write a file whose model_id column is nullable and has a null at row 2.
    let mut batch = tokens::Row::to_batch(&[token(0, None), token(1, None), token(2, None)]);
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields[0] = Field::new("model_id", DataType::Utf8, true);
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns[0] = Arc::new(StringArray::from(vec![Some("a"), Some("b"), None]));
    batch =
        arrow::record_batch::RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    let file = std::fs::File::create(&path).unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_key_value_metadata(Some(vec![
            parquet::file::metadata::KeyValue::new("icodegen.kind".into(), "tokens".to_string()),
            parquet::file::metadata::KeyValue::new(
                "icodegen.schema_version".into(),
                "1".to_string(),
            ),
        ]))
        .build();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let error = read_all::<tokens::Row>(&path).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("row 2") && message.contains("model_id"),
        "{message}"
    );
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TrainParams {
    #[allow(dead_code)]
    epochs: u32,
    #[allow(dead_code)]
    hidden_size: u32,
}

#[test]
fn params_section_loads_and_typos_get_line_key_and_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("params.yaml");
    std::fs::write(&path, "seed: 1\ntrain:\n  gru:\n    epochs: 2\n    hiden_size: 8\n  gpt:\n    epochs: 3\n    hidden_size: 4\n").unwrap();
    let gpt: TrainParams = params::load(&path, "train.gpt").unwrap();
    assert_eq!(gpt.epochs, 3);
    let error = params::load::<TrainParams>(&path, "train.gru")
        .unwrap_err()
        .to_string();
    assert!(error.contains("params.yaml:5:"), "{error}");
    assert!(error.contains("train.gru"), "{error}");
    assert!(error.contains("did you mean `hidden_size`?"), "{error}");
    let missing = params::load::<TrainParams>(&path, "train.lstm")
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("train.lstm") && missing.contains("no such key"),
        "{missing}"
    );
}

#[test]
fn snippets_carry_every_covariate_column_since_version_2() {
    use icodegen_artifacts::schemas::snippets;
    assert_eq!(snippets::VERSION, 2);
    let names = snippets::Row::COLUMNS;
    let at = names.iter().position(|name| *name == "pair_role").unwrap();
    assert_eq!(&names[at + 1..], Covariates::NAMES);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snippets.parquet");
    let mut row = snippets::Row {
        snippet_id: "s".into(),
        language: "python".into(),
        code: "def f():\n    return 1\n".into(),
        source: "tree".into(),
        split: "test".into(),
        ..snippets::Row::default()
    };
    let covariates = Covariates {
        ast_depth: 5,
        cyclomatic: 2,
        n_modifiers: 1,
        ..Covariates::default()
    };
    row.set_covariates(&covariates);
    write_all(&path, "ingest", std::slice::from_ref(&row)).unwrap();
    let back: Vec<snippets::Row> = read_all(&path).unwrap();
    assert_eq!(back[0].covariates(), covariates);
    assert_eq!(
        read_metadata(&path).unwrap().schema_version.as_deref(),
        Some("2")
    );
}

#[test]
fn docs_describe_every_column_of_every_artifact() {
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/artifacts.md"
    ))
    .unwrap();
    let kinds: &[(&str, &[&str])] = &[
        (
            icodegen_artifacts::schemas::snippets::KIND,
            icodegen_artifacts::schemas::snippets::Row::COLUMNS,
        ),
        (covariates::KIND, covariates::Row::COLUMNS),
        (testbed::KIND, testbed::Row::COLUMNS),
        (tokens::KIND, tokens::Row::COLUMNS),
        (
            icodegen_artifacts::schemas::scores::KIND,
            icodegen_artifacts::schemas::scores::Row::COLUMNS,
        ),
        (
            icodegen_artifacts::schemas::tags::KIND,
            icodegen_artifacts::schemas::tags::Row::COLUMNS,
        ),
        (
            icodegen_artifacts::schemas::concepts::KIND,
            icodegen_artifacts::schemas::concepts::Row::COLUMNS,
        ),
        (
            icodegen_artifacts::schemas::nodes::KIND,
            icodegen_artifacts::schemas::nodes::Row::COLUMNS,
        ),
        (
            icodegen_artifacts::schemas::concepts_global::KIND,
            icodegen_artifacts::schemas::concepts_global::Row::COLUMNS,
        ),
    ];
    for (kind, columns) in kinds {
        let heading = format!("## `{kind}`");
        let start = docs
            .find(&heading)
            .unwrap_or_else(|| panic!("docs/artifacts.md lacks {heading}"));
        let section = &docs[start + heading.len()..];
        let section = &section[..section.find("\n## ").unwrap_or(section.len())];
        for column in *columns {
            if Covariates::NAMES.contains(column) && *kind != covariates::KIND {
                continue;
            }
            assert!(
                section.contains(&format!("`{column}`")),
                "docs/artifacts.md section {kind} lacks `{column}`"
            );
        }
    }
}

#[test]
fn docs_list_every_value_of_every_vocabulary() {
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/artifacts.md"
    ))
    .unwrap();
    let start = docs
        .find("## Value vocabularies")
        .expect("docs/artifacts.md lacks ## Value vocabularies");
    let section = &docs[start + 1..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let headings = section.matches("\n### `").count();
    assert_eq!(
        headings,
        icodegen_artifacts::vocab::VOCABULARIES.len(),
        "docs/artifacts.md lists another number of vocabularies than vocab::VOCABULARIES"
    );
    for (name, values) in icodegen_artifacts::vocab::VOCABULARIES {
        let heading = format!("\n### `{name}`\n");
        let at = section
            .find(&heading)
            .unwrap_or_else(|| panic!("docs/artifacts.md lacks ### `{name}`"));
        let entry = &section[at + heading.len()..];
        let entry = &entry[..entry.find("\n### ").unwrap_or(entry.len())];
        let line = entry
            .lines()
            .find_map(|line| line.strip_prefix("Values: "))
            .unwrap_or_else(|| panic!("docs/artifacts.md: `{name}` has no `Values:` line"));
        let listed: Vec<&str> = line.split('`').skip(1).step_by(2).collect();
        assert_eq!(
            listed, *values,
            "docs/artifacts.md lists other values of `{name}` than its enum's ALL"
        );
    }
}

#[test]
fn vocabulary_values_are_the_enums_all() {
    use icodegen_artifacts::vocab::{ConceptKind, Intervention, Verdict};
    let spelled: Vec<&str> = ConceptKind::ALL.iter().map(|kind| kind.as_str()).collect();
    assert_eq!(spelled, ConceptKind::VALUES);
    let spelled: Vec<&str> = Intervention::ALL.iter().map(|i| i.as_str()).collect();
    assert_eq!(spelled, Intervention::VALUES);
    let spelled: Vec<&str> = Verdict::ALL.iter().map(|v| v.as_str()).collect();
    assert_eq!(spelled, Verdict::VALUES);
}

mod projected {
    use super::*;
    use icodegen_artifacts::ProjectedReader;

    const COLUMNS: &[&str] = &[tokens::col::model_id, tokens::col::byte_start];

    fn first_error<A: Artifact>(path: &std::path::Path, columns: &[&'static str]) -> String {
        match ProjectedReader::<A>::open(path, columns) {
            Err(error) => error.to_string(),
            Ok(reader) => {
                for batch in reader {
                    if let Err(error) = batch {
                        return error.to_string();
                    }
                }
                panic!("no error")
            }
        }
    }

    /// Writes `tokens` rows with column `name` replaced by `array` (and its field by `field`),
    /// or dropped when `array` is None.
    fn write_altered(
        path: &std::path::Path,
        name: &str,
        replacement: Option<(arrow::datatypes::Field, arrow::array::ArrayRef)>,
    ) {
        use arrow::datatypes::Schema;
        use std::sync::Arc;
        let batch = tokens::Row::to_batch(&[token(0, Some((0, 3))), token(1, None)]);
        let mut fields = Vec::new();
        let mut columns = Vec::new();
        for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
            if field.name() == name {
                if let Some((field, column)) = &replacement {
                    fields.push(field.clone());
                    columns.push(column.clone());
                }
            } else {
                fields.push(field.as_ref().clone());
                columns.push(column.clone());
            }
        }
        let batch =
            arrow::record_batch::RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
                .unwrap();
        let props = parquet::file::properties::WriterProperties::builder()
            .set_key_value_metadata(Some(vec![
                parquet::file::metadata::KeyValue::new("icodegen.kind".into(), "tokens".to_owned()),
                parquet::file::metadata::KeyValue::new(
                    "icodegen.schema_version".into(),
                    "1".to_owned(),
                ),
            ]))
            .build();
        let file = std::fs::File::create(path).unwrap();
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }

    #[test]
    fn a_projected_read_decodes_only_the_named_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.parquet");
        let rows: Vec<_> = (0..10)
            .map(|i| token(i, (i % 2 == 0).then_some((i, i + 1))))
            .collect();
        write_all(&path, "infer", &rows).unwrap();
        let mut reader =
            ProjectedReader::<tokens::Row>::open_with_batch_size(&path, COLUMNS, 4).unwrap();
        assert_eq!(reader.num_rows(), 10);
        assert_eq!(reader.metadata().kind.as_deref(), Some("tokens"));
        let mut starts = Vec::new();
        let mut offsets = Vec::new();
        while let Some(batch) = reader.next_batch() {
            let batch = batch.unwrap();
            assert_eq!(batch.num_columns(), 2);
            offsets.push(reader.batch_offset());
            let models = reader
                .column::<String>(&batch, tokens::col::model_id)
                .unwrap();
            assert!((0..batch.num_rows()).all(|i| models.value(i) == "gru"));
            let column = reader
                .column::<Option<i32>>(&batch, tokens::col::byte_start)
                .unwrap();
            starts.extend(
                (0..batch.num_rows()).map(|i| {
                    <Option<i32> as icodegen_artifacts::column::ColumnValue>::get(column, i)
                }),
            );
        }
        assert_eq!(offsets, [0, 4, 8]);
        let expected: Vec<_> = rows.iter().map(|row| row.byte_start).collect();
        assert_eq!(starts, expected);
        // A column that was not projected is not there.
        let batch = ProjectedReader::<tokens::Row>::open(&path, COLUMNS)
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        assert!(batch.column_by_name(tokens::col::topk_ids).is_none());
    }

    #[test]
    fn problems_are_the_full_readers_errors() {
        use arrow::array::{ArrayRef, Int64Array, StringArray};
        use arrow::datatypes::{DataType, Field};
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();

        // Wrong kind.
        let path = dir.path().join("tokens.parquet");
        write_all(&path, "infer", &[token(1, None)]).unwrap();
        let full = ArtifactReader::<testbed::Row>::open(&path).err().unwrap();
        let projected = ProjectedReader::<testbed::Row>::open(&path, &[testbed::col::row_id])
            .err()
            .unwrap();
        assert!(matches!(projected, ArtifactError::WrongKind { .. }));
        assert_eq!(projected.to_string(), full.to_string());

        // A missing column: an error when projected, ignored when not.
        let missing = dir.path().join("missing.parquet");
        write_altered(&missing, tokens::col::byte_start, None);
        let full = first_error::<tokens::Row>(&missing, tokens::Row::COLUMNS);
        assert_eq!(first_error::<tokens::Row>(&missing, COLUMNS), full);
        assert!(full.contains("no column `byte_start`"), "{full}");
        ProjectedReader::<tokens::Row>::open(&missing, &[tokens::col::model_id]).unwrap();
        assert_eq!(
            ArtifactReader::<tokens::Row>::open(&missing)
                .err()
                .unwrap()
                .to_string(),
            full
        );

        // A wrong type.
        let retyped = dir.path().join("retyped.parquet");
        let column: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None]));
        write_altered(
            &retyped,
            tokens::col::byte_start,
            Some((Field::new("byte_start", DataType::Int64, true), column)),
        );
        let error = ProjectedReader::<tokens::Row>::open(&retyped, COLUMNS)
            .err()
            .unwrap();
        assert!(matches!(error, ArtifactError::ColumnType { .. }));
        assert_eq!(
            error.to_string(),
            ArtifactReader::<tokens::Row>::open(&retyped)
                .err()
                .unwrap()
                .to_string()
        );

        // A null in a required column, named with its file row.
        let nulls = dir.path().join("nulls.parquet");
        let column: ArrayRef = Arc::new(StringArray::from(vec![Some("gru"), None]));
        write_altered(
            &nulls,
            tokens::col::model_id,
            Some((Field::new("model_id", DataType::Utf8, true), column)),
        );
        let projected = first_error::<tokens::Row>(&nulls, COLUMNS);
        assert_eq!(
            projected,
            read_all::<tokens::Row>(&nulls).unwrap_err().to_string()
        );
        assert!(
            projected.contains("row 1") && projected.contains("model_id"),
            "{projected}"
        );
    }
}
