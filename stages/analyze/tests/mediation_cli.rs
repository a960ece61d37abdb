//! `icodegen-analyze mediation` driven as a user would, on the mediation reference table of
//! `icodegen-causal` (`crates/causal/tests/fixtures/mediation_data.csv`: 400 pairs, mediators
//! m1, m2, m3, pair-level covariates x1, x2; `scripts/reference/mediation.py`).
#![allow(clippy::disallowed_methods)] // test code may use std::fs (clippy.toml)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/causal/tests/fixtures/mediation_data.csv")
}

fn reference() -> Value {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../crates/causal/tests/fixtures/mediation_reference.json"),
    )
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn mediation(data: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "mediation",
        "--data",
        data.to_str().unwrap(),
        "--treatment",
        "t",
        "--outcome",
        "y",
    ];
    args.extend_from_slice(extra);
    Command::new(env!("CARGO_BIN_EXE_icodegen-analyze"))
        .args(&args)
        .output()
        .unwrap()
}

fn json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON object")
}

#[track_caller]
fn assert_usage_error(output: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "expected exit 2: {stderr}");
    assert!(output.stdout.is_empty());
    for needle in needles {
        assert!(stderr.contains(needle), "stderr lacks `{needle}`: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn paired_mediation_prints_the_issue_shape() {
    let paired = [
        "--mediators",
        "m1,m2,m3",
        "--covariates",
        "x1,x2",
        "--pairs",
        "pair",
        "--simulations",
        "300",
        "--seed",
        "7",
        "--json",
    ];
    let output = mediation(&fixture(), &paired);
    let report = json(&output);
    for key in ["total", "direct", "indirect", "proportion_mediated"] {
        assert!(report[key]["estimate"].is_f64(), "{key}: {report}");
        let ci = report[key]["ci"].as_array().unwrap();
        assert_eq!(ci.len(), 2);
        assert!(ci[0].as_f64().unwrap() <= ci[1].as_f64().unwrap());
    }
    assert_eq!(report["n"], 800);
    assert_eq!(report["n_pairs"], 400);
    assert_eq!(report["interval"], "bootstrap");
    let total = report["total"]["estimate"].as_f64().unwrap();
    let expected = reference()["paired"]["y"].as_f64().unwrap();
    assert!((total - expected).abs() < 1e-9, "{total} vs {expected}");
    let sum = report["direct"]["estimate"].as_f64().unwrap()
        + report["indirect"]["estimate"].as_f64().unwrap();
    assert!((total - sum).abs() < 1e-9);
    // Seeded: the same command prints the same numbers.
    let again = json(&mediation(&fixture(), &paired));
    assert_eq!(report, again);
}

#[test]
fn with_interaction_direct_and_indirect_have_both_arms() {
    let output = mediation(
        &fixture(),
        &[
            "--mediators",
            "m1",
            "--covariates",
            "x1,x2",
            "--interaction",
            "--simulations",
            "200",
            "--json",
        ],
    );
    let report = json(&output);
    assert_eq!(report["interval"], "simulation");
    for effect in ["direct", "indirect"] {
        for arm in ["control", "treated"] {
            assert!(
                report[effect][arm]["estimate"].is_f64() && report[effect][arm]["ci"].is_array(),
                "{effect}.{arm}: {report}"
            );
        }
    }
    // The text report names the estimands and the interval method.
    let text = mediation(
        &fixture(),
        &["--mediators", "m1", "--interaction", "--simulations", "50"],
    );
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("natural indirect") && stdout.contains("quasi-Bayesian"));
    // One mediator without interaction: Imai's rho sensitivity.
    let report = json(&mediation(
        &fixture(),
        &["--mediators", "m1", "--simulations", "50", "--json"],
    ));
    let rho = report["rho_sensitivity"]["rho_at_zero"].as_f64().unwrap();
    assert!(rho > 0.0 && rho < 1.0, "{report}");
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn bad_input_is_a_usage_error_naming_the_column() {
    // A mediator identical to the treatment (by name, and by value).
    assert_usage_error(
        &mediation(&fixture(), &["--mediators", "t"]),
        &["`t`", "treatment"],
    );
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("pair,t,t_copy,flat,m,x,y\n");
    for row in 0..40 {
        let t = row % 2;
        let m = f64::from(t) + f64::from((row * 7) % 5);
        let x = f64::from(row / 2);
        let y = f64::from(t) + 0.5 * m + f64::from((row * 3) % 4);
        text += &format!("p{},{t},{},{},{m},{x},{y}\n", row / 2, 2 * t, 1.5);
    }
    let data = write(dir.path(), "data.csv", &text);
    assert_usage_error(
        &mediation(&data, &["--mediators", "t_copy"]),
        &["`t_copy`", "treatment"],
    );
    // A constant mediator.
    assert_usage_error(
        &mediation(&data, &["--mediators", "flat"]),
        &["mediator `flat`", "constant"],
    );
    // A covariate that the pair's rows do not share is a mediator, not a covariate.
    let varying = write(
        dir.path(),
        "varying.csv",
        &text.replace("pair,t,t_copy,flat,m,x,y", "pair,t,t_copy,flat,x,m,y"),
    );
    assert_usage_error(
        &mediation(
            &varying,
            &["--mediators", "m", "--covariates", "x", "--pairs", "pair"],
        ),
        &["covariate `x`", "pair"],
    );
    // Unpaired rows under --pairs: drop the last row.
    let cut: String = text
        .lines()
        .take(40)
        .map(|line| format!("{line}\n"))
        .collect();
    let unpaired = write(dir.path(), "unpaired.csv", &cut);
    assert_usage_error(
        &mediation(&unpaired, &["--mediators", "m", "--pairs", "pair"]),
        &["pair column `pair`", "`p19`", "1 row"],
    );
    // An unknown pair column.
    assert_usage_error(
        &mediation(&data, &["--mediators", "m", "--pairs", "couple"]),
        &["no column `couple`"],
    );
}

#[test]
fn an_unreadable_data_file_fails_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "broken.parquet", "not parquet at all");
    let output = mediation(&path, &["--mediators", "m"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("broken.parquet"), "{stderr}");
}
