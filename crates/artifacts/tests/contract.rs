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
