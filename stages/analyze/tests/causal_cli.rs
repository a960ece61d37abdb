//! `icodegen-analyze causal` driven as a user would: tables written to a temp dir, the built
//! binary run on them, its JSON and exit codes checked.
#![allow(clippy::disallowed_methods)] // test code may use std::fs (clippy.toml)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array};
use arrow::record_batch::RecordBatch;
use serde_json::Value;

const ROWS: usize = 400;

/// A deterministic table: size confounds both a binary treatment and the outcome; the true
/// effect of `treated` on `loss` is 2.
struct Table {
    size: Vec<f64>,
    depth: Vec<f64>,
    treated: Vec<f64>,
    loss: Vec<f64>,
    dose: Vec<f64>,
}

fn table() -> Table {
    let mut state = 12345u64;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64) / ((1u64 << 53) as f64)
    };
    let mut table = Table {
        size: vec![],
        depth: vec![],
        treated: vec![],
        loss: vec![],
        dose: vec![],
    };
    for _ in 0..ROWS {
        let size = uniform() * 4.0;
        let depth = (uniform() * 6.0).floor();
        let propensity = 1.0 / (1.0 + (-(size - 2.0)).exp());
        let treated = if uniform() < propensity { 1.0 } else { 0.0 };
        let noise = uniform() - 0.5;
        table
            .loss
            .push(2.0 * treated + 1.5 * size + 0.2 * depth + noise);
        table.dose.push(size + uniform());
        table.size.push(size);
        table.depth.push(depth);
        table.treated.push(treated);
    }
    table
}

fn write_csv(dir: &Path, name: &str, edit: impl Fn(usize, &mut Vec<String>)) -> PathBuf {
    let t = table();
    let mut text = String::from("size,depth,treated,loss,dose,label\n");
    for row in 0..ROWS {
        let mut fields = vec![
            t.size[row].to_string(),
            t.depth[row].to_string(),
            t.treated[row].to_string(),
            t.loss[row].to_string(),
            t.dose[row].to_string(),
            format!("snippet-{row}"),
        ];
        edit(row, &mut fields);
        text += &fields.join(",");
        text.push('\n');
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn write_parquet(dir: &Path) -> PathBuf {
    let t = table();
    let batch = RecordBatch::try_from_iter([
        ("size", Arc::new(Float64Array::from(t.size)) as ArrayRef),
        (
            "depth",
            Arc::new(Int64Array::from(
                t.depth.iter().map(|d| *d as i64).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
        (
            "treated",
            Arc::new(Int64Array::from(
                t.treated.iter().map(|d| *d as i64).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
        ("loss", Arc::new(Float64Array::from(t.loss)) as ArrayRef),
    ])
    .unwrap();
    let path = dir.join("table.parquet");
    let file = std::fs::File::create(&path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    path
}

fn analyze(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_icodegen-analyze"))
        .args(args)
        .output()
        .unwrap()
}

fn causal(data: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "causal",
        "--data",
        data.to_str().unwrap(),
        "--treatment",
        "treated",
        "--outcome",
        "loss",
    ];
    args.extend_from_slice(extra);
    analyze(&args)
}

fn json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    // Exactly one JSON object on stdout.
    let mut stream = serde_json::Deserializer::from_str(&stdout).into_iter::<Value>();
    let value = stream.next().expect("one JSON value").expect("valid JSON");
    assert!(
        stream.next().is_none(),
        "more than one JSON value on stdout"
    );
    assert!(value.is_object());
    value
}

#[track_caller]
fn assert_usage_error(output: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "expected exit 2, stderr: {stderr}"
    );
    assert!(output.stdout.is_empty(), "nothing on stdout on error");
    for needle in needles {
        assert!(stderr.contains(needle), "stderr lacks `{needle}`: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn linear_regression_on_csv_prints_one_json_object_with_the_issue_shape() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_csv(dir.path(), "table.csv", |_, _| {});
    let output = causal(
        &data,
        &[
            "--confounders",
            "size,depth",
            "--method",
            "linear_regression",
            "--refuters",
            "placebo,random_common_cause,data_subset",
            "--simulations",
            "30",
            "--seed",
            "5",
            "--json",
        ],
    );
    let report = json(&output);
    assert_eq!(report["method"], "linear_regression");
    assert_eq!(report["n"], ROWS);
    let ate = report["ate"].as_f64().unwrap();
    assert!(
        (ate - 2.0).abs() < 0.1,
        "ATE {ate} should be near the true 2"
    );
    let ci = report["ci"].as_array().unwrap();
    assert!(ci[0].as_f64().unwrap() < ate && ate < ci[1].as_f64().unwrap());
    for key in ["pearson", "spearman", "kendall"] {
        let r = report["correlation"][key].as_f64().unwrap();
        assert!(r > 0.0 && r <= 1.0, "{key} = {r}");
    }
    let refuters = report["refuters"].as_array().unwrap();
    let names: Vec<&str> = refuters
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["placebo", "random_common_cause", "data_subset"]);
    for refuter in refuters {
        assert!(refuter["new_effect"].is_f64() && refuter["p_value"].is_f64());
        assert!(
            refuter["passed"].as_bool().unwrap(),
            "a true effect survives: {refuter}"
        );
    }
    assert!(
        refuters[0]["new_effect"].as_f64().unwrap().abs() < 0.5,
        "placebo effect vanishes"
    );
    assert_eq!(report["seed"], 5);
    assert_eq!(
        report["adjustment_set"],
        serde_json::json!(["size", "depth"])
    );
}

#[test]
fn parquet_and_csv_inputs_give_the_same_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write_csv(dir.path(), "table.csv", |_, _| {});
    let parquet = write_parquet(dir.path());
    let args = [
        "--confounders",
        "size,depth",
        "--method",
        "ps_weighting",
        "--refuters",
        "none",
        "--ci-resamples",
        "20",
        "--json",
    ];
    let from_csv = json(&causal(&csv, &args));
    let from_parquet = json(&causal(&parquet, &args));
    assert_eq!(from_csv["ate"], from_parquet["ate"]);
    assert_eq!(from_csv["ci"], from_parquet["ci"]);
}

#[test]
fn every_method_runs_and_the_same_seed_reproduces_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_csv(dir.path(), "table.csv", |_, _| {});
    for method in [
        "linear_regression",
        "ps_stratification",
        "ps_matching",
        "ps_weighting",
        "aipw",
    ] {
        let args = [
            "--confounders",
            "size,depth",
            "--method",
            method,
            "--refuters",
            "placebo,bootstrap",
            "--simulations",
            "10",
            "--ci-resamples",
            "20",
            "--seed",
            "9",
            "--json",
        ];
        let first = causal(&data, &args);
        let report = json(&first);
        assert_eq!(report["method"], method);
        let ate = report["ate"].as_f64().unwrap();
        assert!((ate - 2.0).abs() < 0.6, "{method}: ATE {ate}");
        let again = causal(&data, &args);
        assert_eq!(
            first.stdout, again.stdout,
            "{method}: same seed, same output"
        );
    }
    let seed_one = json(&causal(
        &data,
        &[
            "--confounders",
            "size",
            "--refuters",
            "placebo",
            "--simulations",
            "10",
            "--seed",
            "1",
            "--json",
        ],
    ));
    let seed_two = json(&causal(
        &data,
        &[
            "--confounders",
            "size",
            "--refuters",
            "placebo",
            "--simulations",
            "10",
            "--seed",
            "2",
            "--json",
        ],
    ));
    assert_ne!(
        seed_one["refuters"][0]["new_effect"],
        seed_two["refuters"][0]["new_effect"]
    );
}

#[test]
fn a_graph_gives_the_adjustment_set_and_rejects_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_csv(dir.path(), "table.csv", |_, _| {});
    let graph = dir.path().join("study.dot");
    // dose is caused by size and by nothing else: a descendant-free proxy that is not needed.
    std::fs::write(&graph, "digraph study {\n  size -> treated; size -> loss; depth -> loss;\n  treated -> loss; size -> dose;\n}\n").unwrap();
    let report = json(&causal(
        &data,
        &[
            "--graph",
            graph.to_str().unwrap(),
            "--refuters",
            "none",
            "--json",
        ],
    ));
    assert_eq!(
        report["adjustment_set"],
        serde_json::json!(["depth", "size"])
    );
    assert_eq!(
        report["minimal_adjustment_set"],
        serde_json::json!(["size"])
    );

    let output = causal(
        &data,
        &[
            "--graph",
            graph.to_str().unwrap(),
            "--confounders",
            "depth",
            "--refuters",
            "none",
            "--json",
        ],
    );
    assert_usage_error(&output, &["study.dot", "back-door", "size"]);
}

#[test]
fn an_unknown_column_is_named_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_csv(dir.path(), "table.csv", |_, _| {});
    let output = causal(&data, &["--confounders", "sise,depth", "--json"]);
    assert_usage_error(&output, &["table.csv", "`sise`", "did you mean `size`?"]);
}

#[test]
fn a_missing_value_names_the_file_column_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_csv(dir.path(), "holes.csv", |row, fields| {
        if row == 6 {
            fields[0] = String::new();
        }
    });
    let output = causal(&data, &["--confounders", "size,depth", "--json"]);
    assert_usage_error(&output, &["holes.csv", "`size`", "missing value", "line 8"]);
}

#[test]
fn a_constant_treatment_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_csv(dir.path(), "constant.csv", |_, fields| {
        fields[2] = "1".into()
    });
    let output = causal(&data, &["--confounders", "size", "--json"]);
    assert_usage_error(&output, &["constant.csv", "`treated`", "constant"]);
}

#[test]
fn a_non_binary_treatment_is_rejected_by_propensity_methods_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_csv(dir.path(), "dose.csv", |_, _| {});
    let args = |method: &'static str| {
        vec![
            "causal",
            "--data",
            data.to_str().unwrap(),
            "--treatment",
            "dose",
            "--outcome",
            "loss",
            "--confounders",
            "size",
            "--method",
            method,
            "--refuters",
            "none",
            "--json",
        ]
    };
    let output = analyze(&args("ps_matching"));
    assert_usage_error(
        &output,
        &["dose.csv", "ps_matching", "binary", "`dose`", "line 2"],
    );
    let output = analyze(&args("linear_regression"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn text_in_a_numeric_column_names_the_value_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_csv(dir.path(), "text.csv", |row, fields| {
        if row == 0 {
            fields[1] = "deep".into();
        }
    });
    let output = causal(&data, &["--confounders", "depth", "--json"]);
    assert_usage_error(&output, &["text.csv", "`depth`", "`deep`", "line 2"]);
}

#[test]
fn bad_arguments_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_csv(dir.path(), "table.csv", |_, _| {});
    assert_usage_error(
        &causal(&data, &["--confounders", "size", "--method", "magic"]),
        &["unknown method `magic`"],
    );
    assert_usage_error(
        &causal(&data, &["--confounders", "size", "--refuters", "vibes"]),
        &["unknown refuter `vibes`"],
    );
    assert_usage_error(
        &causal(&dir.path().join("absent.csv"), &["--confounders", "size"]),
        &["absent.csv", "does not exist"],
    );
    assert_usage_error(
        &causal(&data, &["--confounders", "loss"]),
        &["`loss`", "more than once"],
    );
    assert_usage_error(
        &causal(&data, &["--confounders", "label"]),
        &["`label`", "not a number"],
    );
    assert_usage_error(
        &analyze(&["study"]),
        &["--testbed", "--models-dir", "--out"],
    );
}

#[test]
fn a_constant_outcome_is_a_usage_error_for_every_method() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_csv(dir.path(), "flat.csv", |_, fields| fields[3] = "0.5".into());
    for method in ["linear_regression", "ps_weighting", "ps_matching", "aipw"] {
        let output = causal(
            &data,
            &["--confounders", "size", "--method", method, "--json"],
        );
        assert_usage_error(&output, &["flat.csv", "outcome `loss`", "constant"]);
    }
}

#[test]
fn perfect_separation_marks_propensity_estimates_not_reliable() {
    let dir = tempfile::tempdir().unwrap();
    // Treated exactly when size > 2: the confounder separates the arms.
    let data = write_csv(dir.path(), "separated.csv", |_, fields| {
        let size: f64 = fields[0].parse().unwrap();
        fields[2] = if size > 2.0 { "1" } else { "0" }.into();
    });
    for method in ["ps_weighting", "ps_matching"] {
        let args = [
            "--confounders",
            "size",
            "--method",
            method,
            "--refuters",
            "none",
            // DoWhy's default penalty keeps the separated fit finite.
            "--propensity-l2",
            "1",
        ];
        let report = json(&causal(&data, &[&args[..], &["--json"]].concat()));
        assert_eq!(report["reliable"], false, "{method}: {report}");
        assert!(
            report["warnings"][0]
                .as_str()
                .unwrap()
                .contains("separate treated and control rows perfectly"),
            "{method}: {report}"
        );
        let text = causal(&data, &args);
        assert!(text.status.success());
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.contains("WARNING: not reliable"), "{method}: {text}");
    }
    // With overlap, the same methods are reliable and say nothing.
    let data = write_csv(dir.path(), "overlap.csv", |_, _| {});
    let args = [
        "--confounders",
        "size",
        "--method",
        "ps_weighting",
        "--refuters",
        "none",
    ];
    let report = json(&causal(&data, &[&args[..], &["--json"]].concat()));
    assert_eq!(report["reliable"], true, "{report}");
    assert_eq!(report["warnings"], serde_json::json!([]));
}

#[test]
fn every_estimate_carries_its_sensitivity_to_unobserved_confounding() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_csv(dir.path(), "data.csv", |_, _| {});
    for method in ["linear_regression", "ps_weighting"] {
        let report = json(&causal(
            &data,
            &[
                "--confounders",
                "size,depth",
                "--method",
                method,
                "--refuters",
                "none",
                "--json",
            ],
        ));
        let sensitivity = &report["sensitivity"];
        let rv = sensitivity["robustness_value"].as_f64().unwrap();
        assert!(rv > 0.0 && rv < 1.0, "{method}: {sensitivity}");
        assert!(sensitivity["e_value"]["e_value"].as_f64().unwrap() > 1.0);
        // The E-value is computed from this method's estimate.
        assert_eq!(sensitivity["estimate"], report["ate"], "{method}");
        assert_eq!(
            sensitivity["strongest"]["name"], "size",
            "the strongest observed covariate is the benchmark: {sensitivity}"
        );
    }
}

#[test]
fn a_corrupt_parquet_file_fails_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.parquet");
    std::fs::write(&path, "not parquet at all").unwrap();
    let output = causal(&path, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("broken.parquet"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
