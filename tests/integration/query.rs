//! `icodegen query`: the Parquet artifacts of the lock as SQL tables.

use icodegen_artifacts::schemas::scores;

use crate::harness::Project;

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

fn project() -> Project {
    let project = Project::new();
    project.pipeline(
        r#"
stages:
  infer:
    foreach: [gru, gpt2]
    do:
      cmd: mkdir -p work/${item} && cp input-${item}.parquet work/${item}/scores.parquet
      deps: ["input-${item}.parquet"]
      outs: ["work/${item}/"]
  summary:
    cmd: cp input-gru.parquet best.parquet && echo '{}' > metrics.json
    deps: [input-gru.parquet]
    outs: [best.parquet]
    metrics: [metrics.json]
"#,
    );
    icodegen_artifacts::write_all(
        project.path("input-gru.parquet"),
        "infer",
        &[score("gru", "a", 1.0), score("gru", "b", 3.0)],
    )
    .unwrap();
    icodegen_artifacts::write_all(
        project.path("input-gpt2.parquet"),
        "infer",
        &[score("gpt2", "a", 0.5)],
    )
    .unwrap();
    project.run(&["repro"]).ok();
    project
}

#[test]
fn query_tables_are_named_from_stages_and_kinds() {
    let project = project();
    let tables = project.run(&["query", "--tables"]).ok().stdout;
    let names: Vec<&str> = tables
        .lines()
        .map(|line| line.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "infer_gpt2_scores",
            "infer_gru_scores",
            "scores",
            "summary_best"
        ],
        "{tables}"
    );
    assert!(
        tables.contains("every `scores` artifact (3 files)"),
        "{tables}"
    );
}

#[test]
fn query_unions_every_artifact_of_a_kind() {
    let project = project();
    let run = project
        .run(&[
            "query",
            "SELECT model_id, count(*) AS n FROM scores GROUP BY model_id ORDER BY model_id",
            "--format",
            "csv",
        ])
        .ok();
    assert_eq!(run.stdout, "model_id,n\ngpt2,1\ngru,4\n");
    let table = project
        .run(&[
            "query",
            "SELECT avg(cross_entropy) AS ce FROM infer_gru_scores",
        ])
        .ok()
        .stdout;
    assert!(table.contains("| 2.0 |"), "{table}");
}

#[test]
fn query_writes_json_and_parquet_files() {
    let project = project();
    let json = project
        .run(&[
            "query",
            "SELECT row_id FROM infer_gpt2_scores",
            "--format",
            "json",
        ])
        .ok()
        .stdout;
    assert_eq!(json, "[{\"row_id\":\"a\"}]\n");
    project
        .run(&[
            "query",
            "SELECT * FROM scores",
            "--format",
            "parquet",
            "--output",
            "all.parquet",
        ])
        .ok();
    let metadata = icodegen_artifacts::read_metadata(project.path("all.parquet")).unwrap();
    assert_eq!(metadata.num_rows, 5);
    project
        .run(&["query", "SELECT 1", "--format", "parquet"])
        .code(2)
        .says(&["--output"]);
}

#[test]
fn a_bad_query_names_the_tables() {
    let project = project();
    project
        .run(&["query", "SELECT * FROM tokens"])
        .code(2)
        .says(&[
            "tokens",
            "hint: the tables are infer_gpt2_scores, infer_gru_scores, scores, summary_best",
        ]);
}
