//! icodegen-causal against DoWhy 0.14: `fixtures/dowhy_reference.json` holds what DoWhy's
//! `backdoor.*` estimators returned on `fixtures/causal_data.csv` (both written by
//! `scripts/reference/causal.py`).
//!
//! Tolerances (relative):
//! - linear regression: effect and standard error 1e-10 (the issue asks 1e-8), interval 1e-8,
//!   p-value 1e-6 (statrs' Student t tail vs scipy's);
//! - unpenalized propensity model (DoWhy given `LogisticRegression(C=inf, newton-cholesky)`):
//!   coefficients 1e-7, and every estimate 1e-7: the same scores give the same strata and
//!   matches, so only rounding remains;
//! - DoWhy given scikit-learn's L2 (C = 1) objective solved to convergence, versus ours with
//!   `l2_penalty = 1`: the same 1e-7 everywhere;
//! - DoWhy's true default, `LogisticRegression()` (L2, C = 1, lbfgs stopped at tol 1e-4), versus
//!   ours with `l2_penalty = 1`: coefficients 5e-3, weighting and AIPW 2e-3, stratification 1e-2,
//!   matching 0.15. lbfgs' early stop moves the coefficients by ~3e-3 and the scores by ~1e-3,
//!   which moves rows across stratum edges and, for matching, to other nearest neighbours: on
//!   this data DoWhy's own default matching ATE moves by 7 % (ATC 10 %) between the early-stopped
//!   and the converged fit of the same model. That is a property of DoWhy's default, not a gap
//!   in ours, and the converged comparison above pins our implementation down.
#![allow(clippy::disallowed_methods)] // test code may use std::fs (clippy.toml)

mod common;

use icodegen_causal::{
    CausalData, EstimateDetails, EstimatorOptions, Method, PropensityOptions, TargetUnits,
    WeightingScheme, estimate, fit_propensity, point_estimate,
};
use serde_json::Value;

fn reference() -> Value {
    serde_json::from_str(include_str!("fixtures/dowhy_reference.json")).unwrap()
}

use common::fixture_column as column;

fn data(treatment: &str, outcome: &str) -> CausalData {
    CausalData::new(
        column(treatment),
        column(outcome),
        vec![column("z1"), column("z2"), column("z3")],
    )
    .unwrap()
}

#[track_caller]
fn assert_close(actual: f64, expected: f64, relative: f64, what: &str) {
    let error = (actual - expected).abs() / expected.abs();
    assert!(
        error <= relative,
        "{what}: got {actual}, DoWhy {expected} (relative error {error:e})"
    );
}

#[test]
fn linear_regression_equals_dowhy_to_1e_10() {
    let expected = &reference()["linear_regression"];
    let result = estimate(
        &data("t", "y"),
        Method::LinearRegression,
        &EstimatorOptions::default(),
    )
    .unwrap();
    assert_close(
        result.effect,
        expected["ate"].as_f64().unwrap(),
        1e-10,
        "ATE",
    );
    assert_close(
        result.standard_error,
        expected["standard_error"].as_f64().unwrap(),
        1e-10,
        "standard error",
    );
    assert_close(
        result.ci.lower,
        expected["ci"][0].as_f64().unwrap(),
        1e-8,
        "CI low",
    );
    assert_close(
        result.ci.upper,
        expected["ci"][1].as_f64().unwrap(),
        1e-8,
        "CI high",
    );
    assert_close(
        result.p_value,
        expected["p_value"].as_f64().unwrap(),
        1e-6,
        "p-value",
    );

    let continuous = point_estimate(
        &data("t_cont", "y_cont"),
        Method::LinearRegression,
        &EstimatorOptions::default(),
    )
    .unwrap();
    let expected = reference()["linear_regression_continuous"]["ate"]
        .as_f64()
        .unwrap();
    assert_close(continuous, expected, 1e-10, "continuous-treatment ATE");
}

fn options(
    l2_penalty: f64,
    target_units: TargetUnits,
    weighting_scheme: WeightingScheme,
) -> EstimatorOptions {
    EstimatorOptions {
        target_units,
        weighting_scheme,
        propensity: PropensityOptions {
            l2_penalty,
            ..PropensityOptions::default()
        },
        ..EstimatorOptions::default()
    }
}

struct Tolerances {
    coefficients: f64,
    smooth: f64,
    stratification: f64,
    matching: f64,
}

fn check_section(section: &str, l2_penalty: f64, tolerances: Tolerances) {
    let reference = reference();
    let expected = &reference[section];
    let data = data("t", "y");

    let model = fit_propensity(
        &data,
        &PropensityOptions {
            l2_penalty,
            ..PropensityOptions::default()
        },
    )
    .unwrap();
    assert_close(
        model.coefficients[0],
        expected["propensity_intercept"].as_f64().unwrap(),
        tolerances.coefficients,
        "intercept",
    );
    for (index, coefficient) in expected["propensity_coefficients"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        assert_close(
            model.coefficients[index + 1],
            coefficient.as_f64().unwrap(),
            tolerances.coefficients,
            "coefficient",
        );
    }

    for (units, name) in [
        (TargetUnits::Ate, "ate"),
        (TargetUnits::Att, "att"),
        (TargetUnits::Atc, "atc"),
    ] {
        let opts = options(l2_penalty, units, WeightingScheme::Hajek);
        let value = |key: &str| expected[format!("{key}_{name}")].as_f64().unwrap();
        let what = |key: &str| format!("{section} {key} {name}");
        assert_close(
            point_estimate(&data, Method::PsStratification, &opts).unwrap(),
            value("stratification"),
            tolerances.stratification,
            &what("stratification"),
        );
        assert_close(
            point_estimate(&data, Method::PsMatching, &opts).unwrap(),
            value("matching"),
            tolerances.matching,
            &what("matching"),
        );
        for scheme in [WeightingScheme::Hajek, WeightingScheme::Stabilized] {
            let effect = point_estimate(
                &data,
                Method::PsWeighting,
                &options(l2_penalty, units, scheme),
            )
            .unwrap();
            for dowhy_scheme in [
                "ips_weight",
                "ips_normalized_weight",
                "ips_stabilized_weight",
            ] {
                assert_close(
                    effect,
                    value(&format!("weighting_{dowhy_scheme}")),
                    tolerances.smooth,
                    &what(dowhy_scheme),
                );
            }
        }
    }
    let aipw = point_estimate(
        &data,
        Method::Aipw,
        &options(l2_penalty, TargetUnits::Ate, WeightingScheme::Hajek),
    )
    .unwrap();
    assert_close(
        aipw,
        expected["doubly_robust_ate"].as_f64().unwrap(),
        tolerances.smooth,
        "doubly robust",
    );
}

const EXACT: Tolerances = Tolerances {
    coefficients: 1e-7,
    smooth: 1e-7,
    stratification: 1e-7,
    matching: 1e-7,
};

#[test]
fn propensity_methods_equal_dowhy_given_the_same_unpenalized_model() {
    check_section("unpenalized", 0.0, EXACT);
}

#[test]
fn propensity_methods_equal_dowhy_given_the_l2_model_solved_to_convergence() {
    check_section("penalized", 1.0, EXACT);
}

#[test]
fn propensity_methods_track_dowhys_early_stopped_default_model() {
    let tolerances = Tolerances {
        coefficients: 5e-3,
        smooth: 2e-3,
        stratification: 1e-2,
        matching: 0.15,
    };
    check_section("default", 1.0, tolerances);
}

#[test]
fn plain_horvitz_thompson_differs_from_hajek_but_estimates_the_same_effect() {
    let data = data("t", "y");
    let result = estimate(
        &data,
        Method::PsWeighting,
        &EstimatorOptions {
            ci_resamples: 20,
            ..EstimatorOptions::default()
        },
    )
    .unwrap();
    let EstimateDetails::Weighting {
        plain,
        hajek,
        stabilized,
        ..
    } = result.details
    else {
        panic!("weighting details")
    };
    assert_eq!(result.effect, hajek);
    assert!((hajek - stabilized).abs() < 1e-12);
    assert!(
        (plain - hajek).abs() > 1e-6,
        "HT and Hajek coincide only by accident"
    );
    assert!(
        (plain - 1.5).abs() < 0.5,
        "HT is in the right region: {plain}"
    );
}

/// Recursively compares a committed fixture with a freshly produced one: the same keys and
/// lengths, numbers to `relative`, everything else equal; `*_version` keys may differ.
fn assert_same(committed: &Value, fresh: &Value, relative: f64, path: &str) {
    match (committed, fresh) {
        (Value::Object(a), Value::Object(b)) => {
            let keys =
                |map: &serde_json::Map<String, Value>| map.keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(a), keys(b), "{path}: keys");
            for (key, value) in a {
                // DoWhy's default (lbfgs stopped at tol 1e-4) depends on scikit-learn's version.
                let relative = if key == "default" { 1e-6 } else { relative };
                if !key.ends_with("_version") {
                    assert_same(value, &b[key], relative, &format!("{path}.{key}"));
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{path}: length");
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                assert_same(x, y, relative, &format!("{path}[{index}]"));
            }
        }
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            assert!(
                (a - b).abs() <= relative * a.abs().max(b.abs()) + 1e-300,
                "{path}: committed {a:e}, DoWhy now gives {b:e}; re-run scripts/reference/causal.py"
            );
        }
        _ => assert_eq!(committed, fresh, "{path}"),
    }
}

/// CI runs the reference script itself when DoWhy is installed (`scripts/reference/setup.sh`
/// makes `.tools/bench-venv`; `ICODEGEN_REFERENCE_PYTHON` names another interpreter): the
/// committed data and numbers must be what it produces today, so a stale fixture cannot hide.
/// Without DoWhy the test says it is skipped and passes; the checks above need no Python.
#[test]
fn the_committed_fixtures_are_what_the_reference_script_produces_today() {
    let Some(python) = common::reference_python("dowhy, sklearn") else {
        return;
    };
    let out = common::run_reference(&python, "causal.py");
    let data = std::fs::read_to_string(out.join("causal_data.csv")).unwrap();
    let fresh: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("dowhy_reference.json")).unwrap())
            .unwrap();
    std::fs::remove_dir_all(&out).ok();
    assert!(
        data == include_str!("fixtures/causal_data.csv"),
        "causal_data.csv differs from what scripts/reference/causal.py writes now"
    );
    assert_same(&reference(), &fresh, 1e-9, "dowhy_reference");
}
