//! icodegen-stats against scipy: the numbers in `fixtures/scipy_reference.json` were produced by
//! `scripts/reference/stats.py` (scipy 1.15, statsmodels, numpy) on the same inputs.
//!
//! Tolerances (relative unless stated): statistics and coefficients 1e-12; p-values 1e-9
//! (they go through statrs' incomplete beta / erfc where scipy uses cephes / boost);
//! percentile intervals given scipy's own replicates 1e-12; BCa intervals 1e-10 (statrs' Φ and
//! Φ⁻¹ differ from scipy's `ndtr`/`ndtri` by ~1e-13, which moves the BCa quantile levels and so
//! the interpolated order statistic by ~1e-12); multiplicity 1e-14.
#![allow(clippy::disallowed_methods)] // test code may use std::fs (clippy.toml)

use icodegen_stats::{
    Alternative, TestMethod, WilcoxonOptions, ZeroMethod, bca_interval, benjamini_hochberg,
    cliffs_delta, cohens_d, cohens_d_paired, descriptive, holm, kendall, mann_whitney_u_with,
    pearson, percentile_interval, spearman, wilcoxon_with,
};
use serde_json::Value;

fn fixture() -> Value {
    let text = include_str!("fixtures/scipy_reference.json");
    serde_json::from_str(text).expect("fixture is JSON")
}

fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_f64().expect("number"))
        .collect()
}

#[track_caller]
fn assert_close(actual: f64, expected: f64, relative: f64, what: &str) {
    let scale = expected.abs().max(1e-300);
    let error = (actual - expected).abs();
    assert!(
        error <= relative * scale || error <= 1e-15,
        "{what}: got {actual:e}, scipy {expected:e} (relative error {:e})",
        error / scale
    );
}

fn alternative(options: &Value) -> Alternative {
    match options.get("alternative").and_then(Value::as_str) {
        Some("less") => Alternative::Less,
        Some("greater") => Alternative::Greater,
        _ => Alternative::TwoSided,
    }
}

#[test]
fn wilcoxon_matches_scipy_in_every_regime() {
    let fixture = fixture();
    for case in fixture["wilcoxon"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let options = &case["options"];
        let wilcoxon_options = WilcoxonOptions {
            zero_method: match options.get("zero_method").and_then(Value::as_str) {
                Some("pratt") => ZeroMethod::Pratt,
                Some("zsplit") => ZeroMethod::Zsplit,
                _ => ZeroMethod::Wilcox,
            },
            correction: options
                .get("correction")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            alternative: alternative(options),
            method: match options.get("method").and_then(Value::as_str) {
                Some("asymptotic") => TestMethod::Asymptotic,
                Some("exact") => TestMethod::Exact,
                _ => TestMethod::Auto,
            },
        };
        let result =
            wilcoxon_with(&floats(&case["x"]), &floats(&case["y"]), &wilcoxon_options).unwrap();
        assert_close(
            result.statistic,
            case["statistic"].as_f64().unwrap(),
            1e-12,
            &format!("{name}: statistic"),
        );
        assert_close(
            result.p_value,
            case["p_value"].as_f64().unwrap(),
            1e-9,
            &format!("{name}: p-value"),
        );
        if let Some(z) = case["z"].as_f64() {
            assert_close(
                result.z.expect("z reported"),
                z,
                1e-12,
                &format!("{name}: z"),
            );
        }
    }
}

#[test]
fn mann_whitney_matches_scipy_exact_and_asymptotic() {
    let fixture = fixture();
    for case in fixture["mann_whitney"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let options = &case["options"];
        let continuity = options
            .get("use_continuity")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let result = mann_whitney_u_with(
            &floats(&case["x"]),
            &floats(&case["y"]),
            alternative(options),
            TestMethod::Auto,
            continuity,
        )
        .unwrap();
        assert_close(
            result.statistic,
            case["statistic"].as_f64().unwrap(),
            1e-12,
            &format!("{name}: U"),
        );
        assert_close(
            result.p_value,
            case["p_value"].as_f64().unwrap(),
            1e-9,
            &format!("{name}: p-value"),
        );
    }
}

#[test]
fn correlations_match_scipy_with_p_values() {
    let fixture = fixture();
    for case in fixture["correlation"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (x, y) = (floats(&case["x"]), floats(&case["y"]));
        let expected = |key: &str| floats(&case[key]);

        let result = pearson(&x, &y, 0.95).unwrap();
        assert_close(
            result.coefficient,
            expected("pearson")[0],
            1e-12,
            &format!("{name}: pearson r"),
        );
        assert_close(
            result.p_value,
            expected("pearson")[1],
            1e-9,
            &format!("{name}: pearson p"),
        );
        let ci = result.ci.unwrap();
        assert_close(
            ci.lower,
            expected("pearson_ci")[0],
            1e-12,
            &format!("{name}: pearson ci low"),
        );
        assert_close(
            ci.upper,
            expected("pearson_ci")[1],
            1e-12,
            &format!("{name}: pearson ci high"),
        );

        let result = spearman(&x, &y).unwrap();
        assert_close(
            result.coefficient,
            expected("spearman")[0],
            1e-12,
            &format!("{name}: spearman rho"),
        );
        assert_close(
            result.p_value,
            expected("spearman")[1],
            1e-9,
            &format!("{name}: spearman p"),
        );

        let result = kendall(&x, &y).unwrap();
        assert_close(
            result.coefficient,
            expected("kendall")[0],
            1e-12,
            &format!("{name}: kendall tau"),
        );
        assert_close(
            result.p_value,
            expected("kendall")[1],
            1e-9,
            &format!("{name}: kendall p"),
        );
    }
}

#[test]
fn bootstrap_intervals_match_scipy_given_its_replicates() {
    let fixture = fixture();
    for case in fixture["bootstrap"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let mut data = floats(&case["data"]);
        if let Some(second) = case.get("data_second") {
            // scipy's paired bootstrap of a statistic of (a - b) is the bootstrap of the differences.
            data = data
                .iter()
                .zip(floats(second))
                .map(|(a, b)| a - b)
                .collect();
        }
        let statistic = match case["statistic"].as_str().unwrap() {
            "mean" => descriptive::mean as fn(&[f64]) -> f64,
            "median" => descriptive::median,
            "std" => descriptive::std_dev,
            other => panic!("unknown statistic {other}"),
        };
        let level = case["confidence_level"].as_f64().unwrap();

        let percentile = &case["percentile"];
        let replicates = floats(&percentile["replicates"]);
        let interval = percentile_interval(&replicates, level);
        let expected = floats(&percentile["ci"]);
        assert_close(
            interval.lower,
            expected[0],
            1e-12,
            &format!("{name}: percentile low"),
        );
        assert_close(
            interval.upper,
            expected[1],
            1e-12,
            &format!("{name}: percentile high"),
        );
        assert_close(
            descriptive::std_dev(&replicates),
            percentile["standard_error"].as_f64().unwrap(),
            1e-12,
            &format!("{name}: standard error"),
        );

        let bca = &case["bca"];
        let interval = bca_interval(&data, statistic, &floats(&bca["replicates"]), level);
        let expected = floats(&bca["ci"]);
        assert_close(
            interval.lower,
            expected[0],
            1e-10,
            &format!("{name}: BCa low"),
        );
        assert_close(
            interval.upper,
            expected[1],
            1e-10,
            &format!("{name}: BCa high"),
        );
    }
}

#[test]
fn cliffs_delta_matches_its_definition_and_mann_whitney() {
    let fixture = fixture();
    for (index, case) in fixture["cliffs_delta"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let result = cliffs_delta(&floats(&case["x"]), &floats(&case["y"]), 0.95).unwrap();
        let what = format!("case {index}");
        assert_close(
            result.estimate,
            case["delta"].as_f64().unwrap(),
            1e-12,
            &format!("{what}: delta"),
        );
        assert_close(
            result.estimate,
            case["delta_from_u"].as_f64().unwrap(),
            1e-12,
            &format!("{what}: delta via U"),
        );
        assert_close(
            result.standard_error,
            case["standard_error"].as_f64().unwrap(),
            1e-10,
            &format!("{what}: se"),
        );
        let ci = floats(&case["ci"]);
        assert_close(result.ci.lower, ci[0], 1e-10, &format!("{what}: ci low"));
        assert_close(result.ci.upper, ci[1], 1e-10, &format!("{what}: ci high"));
    }
}

#[test]
fn cohens_d_matches_numpy_for_both_variants() {
    let fixture = fixture();
    for (index, case) in fixture["cohens_d"].as_array().unwrap().iter().enumerate() {
        let (x, y) = (floats(&case["x"]), floats(&case["y"]));
        let unpaired = cohens_d(&x, &y, 0.95).unwrap();
        let expected = &case["unpaired"];
        assert_close(
            unpaired.estimate,
            expected["d"].as_f64().unwrap(),
            1e-12,
            &format!("case {index}: d"),
        );
        assert_close(
            unpaired.standard_error,
            expected["standard_error"].as_f64().unwrap(),
            1e-12,
            "d se",
        );
        assert_close(unpaired.ci.lower, floats(&expected["ci"])[0], 1e-12, "d ci");
        if let Some(expected) = case["paired"].as_object() {
            let paired = cohens_d_paired(&x, &y, 0.95).unwrap();
            assert_close(
                paired.estimate,
                expected["d"].as_f64().unwrap(),
                1e-12,
                &format!("case {index}: d_z"),
            );
            assert_close(
                paired.standard_error,
                expected["standard_error"].as_f64().unwrap(),
                1e-12,
                "d_z se",
            );
            assert_close(paired.ci.upper, floats(&expected["ci"])[1], 1e-12, "d_z ci");
        }
    }
}

#[test]
fn holm_and_benjamini_hochberg_match_statsmodels_and_scipy() {
    let fixture = fixture();
    let case = &fixture["multiplicity"];
    let p_values = floats(&case["p_values"]);
    for (actual, expected) in holm(&p_values).unwrap().iter().zip(floats(&case["holm"])) {
        assert_close(*actual, expected, 1e-14, "holm");
    }
    let bh = benjamini_hochberg(&p_values).unwrap();
    for ((actual, expected), from_scipy) in bh
        .iter()
        .zip(floats(&case["bh"]))
        .zip(floats(&case["bh_scipy"]))
    {
        assert_close(*actual, expected, 1e-14, "bh vs statsmodels");
        assert_close(*actual, from_scipy, 1e-14, "bh vs scipy");
    }
}

/// Recursively compares a committed fixture with a freshly produced one: the same keys and
/// lengths, numbers to 1e-9 relative, everything else equal; `*_version` keys may differ.
fn assert_same(committed: &Value, fresh: &Value, path: &str) {
    match (committed, fresh) {
        (Value::Object(a), Value::Object(b)) => {
            let keys =
                |map: &serde_json::Map<String, Value>| map.keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(a), keys(b), "{path}: keys");
            for (key, value) in a {
                if !key.ends_with("_version") {
                    assert_same(value, &b[key], &format!("{path}.{key}"));
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{path}: length");
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                assert_same(x, y, &format!("{path}[{index}]"));
            }
        }
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            assert!(
                (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) + 1e-300,
                "{path}: committed {a:e}, scipy now gives {b:e}; re-run scripts/reference/stats.py"
            );
        }
        _ => assert_eq!(committed, fresh, "{path}"),
    }
}

/// CI runs the reference script itself when scipy is installed (`scripts/reference/setup.sh`
/// makes `.tools/bench-venv`; `ICODEGEN_REFERENCE_PYTHON` names another interpreter): the
/// committed fixture must be what it produces today, so a stale fixture cannot hide. Without
/// scipy the test says it is skipped and passes; the checks above need no Python.
#[test]
fn the_committed_fixture_is_what_the_reference_script_produces_today() {
    use std::path::PathBuf;
    use std::process::Command;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = std::env::var_os("ICODEGEN_REFERENCE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".tools/bench-venv/bin/python"));
    let probe = Command::new(&python)
        .args(["-c", "import scipy, statsmodels"])
        .output();
    if !matches!(&probe, Ok(output) if output.status.success()) {
        eprintln!(
            "skipped: no Python with scipy and statsmodels at {} (scripts/reference/setup.sh)",
            python.display()
        );
        return;
    }
    let out = std::env::temp_dir().join(format!("icodegen-stats-reference-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let run = Command::new(&python)
        .arg(root.join("scripts/reference/stats.py"))
        .env("ICODEGEN_REFERENCE_OUT", &out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "stats.py failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let fresh: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("scipy_reference.json")).unwrap())
            .unwrap();
    std::fs::remove_dir_all(&out).ok();
    assert_same(&fixture(), &fresh, "scipy_reference");
}
