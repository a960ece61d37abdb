use icodegen_artifacts::schemas::scores;
use icodegen_sql::{Format, Sql, encode};

fn score(model: &str, row: &str, cross_entropy: f64) -> scores::Row {
    scores::Row {
        model_id: model.into(),
        row_id: row.into(),
        n_tokens: 10,
        n_scored: 9,
        cross_entropy: Some(cross_entropy),
        perplexity: Some(cross_entropy.exp()),
        accuracy: Some(0.5),
        skip_reason: None,
    }
}

#[test]
fn aggregates_an_artifact_with_sql_and_formats_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scores.parquet");
    let rows = vec![
        score("gru", "a", 1.0),
        score("gru", "b", 3.0),
        score("gpt", "a", 0.5),
    ];
    icodegen_artifacts::write_all(&path, "infer", &rows).unwrap();
    let sql = Sql::new(1).unwrap();
    sql.register_parquet("scores", &path).unwrap();
    assert_eq!(sql.tables(), vec!["scores".to_owned()]);
    let batches = sql
        .query("SELECT model_id, avg(cross_entropy) AS ce FROM scores GROUP BY model_id ORDER BY model_id")
        .unwrap();
    let table = icodegen_sql::format_table(&batches);
    assert!(table.contains("| gpt      | 0.5 |"), "{table}");
    assert!(table.contains("| gru      | 2.0 |"), "{table}");
    let csv = String::from_utf8(encode(&batches, Format::Csv, &path).unwrap()).unwrap();
    assert_eq!(csv, "model_id,ce\ngpt,0.5\ngru,2.0\n");
    let json = String::from_utf8(encode(&batches, Format::Json, &path).unwrap()).unwrap();
    assert!(
        json.starts_with("[{\"model_id\":\"gpt\",\"ce\":0.5}"),
        "{json}"
    );
}

#[test]
fn a_bad_query_is_an_error_not_a_panic() {
    let sql = Sql::new(1).unwrap();
    let error = sql
        .query("SELECT * FROM missing_table")
        .unwrap_err()
        .to_string();
    assert!(error.contains("missing_table"), "{error}");
}

#[test]
fn several_files_of_one_kind_register_as_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("gru.parquet");
    let second = dir.path().join("gpt.parquet");
    icodegen_artifacts::write_all(
        &first,
        "infer",
        &[score("gru", "a", 1.0), score("gru", "b", 3.0)],
    )
    .unwrap();
    icodegen_artifacts::write_all(&second, "infer", &[score("gpt", "a", 0.5)]).unwrap();
    let sql = Sql::new(1).unwrap();
    sql.register_parquet_files("scores", &[first, second])
        .unwrap();
    let batches = sql
        .query("SELECT count(*) AS n, count(DISTINCT model_id) AS models FROM scores")
        .unwrap();
    let csv = String::from_utf8(encode(&batches, Format::Csv, dir.path()).unwrap()).unwrap();
    assert_eq!(csv, "n,models\n3,2\n");
}
