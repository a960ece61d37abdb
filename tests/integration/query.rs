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

#[test]
fn queries_are_read_only_copy_create_insert_and_set_are_refused() {
    let project = project();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("stolen.csv");
    let lock = project.lock();
    for sql in [
        format!("COPY (SELECT * FROM scores) TO '{}'", target.display()),
        "COPY (SELECT 1 AS x) TO 'pipeline.lock' STORED AS CSV".to_owned(),
        "CREATE EXTERNAL TABLE secret STORED AS CSV LOCATION '/etc/passwd'".to_owned(),
        "CREATE TABLE t AS SELECT 1".to_owned(),
        "INSERT INTO scores SELECT * FROM scores".to_owned(),
        "SET datafusion.execution.batch_size = 1".to_owned(),
    ] {
        project
            .run(&["query", &sql])
            .code(2)
            .says(&["not supported", "read-only"]);
    }
    assert!(!target.exists());
    assert_eq!(project.lock(), lock);
}

#[test]
fn query_output_refuses_the_runners_files_artifacts_and_paths_outside_the_workspace() {
    let project = project();
    let lock = project.lock();
    let outside = tempfile::tempdir().unwrap();
    let away = outside.path().join("result.csv");
    std::os::unix::fs::symlink(outside.path(), project.path("ext")).unwrap();
    for (output, says) in [
        ("pipeline.lock", "the lock file"),
        ("pipeline.yaml", "the pipeline file"),
        ("cache/v1/objects/x", "the cache"),
        (".git/config", "the git repository"),
        ("best.parquet", "out of stage `summary`"),
        ("work/gru/scores.parquet", "out of stage `infer@gru`"),
        ("../result.csv", "outside the workspace"),
        (away.to_str().unwrap(), "outside the workspace"),
        ("ext/result.csv", "outside the workspace"),
    ] {
        project
            .run(&["query", "SELECT 1 AS x", "--format", "csv", "-o", output])
            .code(2)
            .says(&[says]);
    }
    assert_eq!(project.lock(), lock);
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    assert_eq!(project.in_state("fresh").len(), 3);
    project
        .run(&[
            "query",
            "SELECT 1 AS x",
            "--format",
            "csv",
            "-o",
            "mine.csv",
        ])
        .ok();
    assert_eq!(project.read("mine.csv"), "x\n1\n");
}

#[test]
fn a_corrupt_artifact_fails_a_query_with_exit_1() {
    let project = project();
    // Damage the data, not the footer: the table registers, reading it fails.
    let path = project.path("best.parquet");
    let mut bytes = std::fs::read(&path).unwrap();
    let footer = u32::from_le_bytes(bytes[bytes.len() - 8..bytes.len() - 4].try_into().unwrap());
    let end = bytes.len() - 8 - footer as usize;
    for byte in &mut bytes[4..end] {
        *byte ^= 0x5a;
    }
    std::fs::write(&path, &bytes).unwrap();
    project
        .run(&["query", "SELECT sum(cross_entropy) FROM summary_best"])
        .code(1);
    // A file that is not Parquet at all.
    std::fs::write(&path, "not parquet").unwrap();
    project
        .run(&["query", "SELECT count(*) FROM summary_best"])
        .code(1)
        .says(&["best.parquet"]);
}
