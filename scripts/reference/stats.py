#!/usr/bin/env python3
"""Expected numbers for icodegen-stats, computed with scipy (and statsmodels, numpy).

Writes crates/stats/tests/fixtures/scipy_reference.json: every input sample and the numbers
scipy gives for it. `crates/stats/tests/scipy_reference.rs` reads that file, so the Rust tests
need no Python. Re-run after changing a case:

    .tools/bench-venv/bin/python scripts/reference/stats.py

(`scripts/reference/setup.sh` creates that virtualenv with scipy, statsmodels and dowhy.)
"""
import json
import os
import pathlib
import sys

import numpy as np
import scipy
import scipy.stats as st
import statsmodels
from statsmodels.stats.multitest import multipletests

ROOT = pathlib.Path(__file__).resolve().parents[2]
# ICODEGEN_REFERENCE_OUT=DIR writes there instead (the Rust test that checks the committed
# fixture against the installed scipy does that).
OUT = (pathlib.Path(os.environ["ICODEGEN_REFERENCE_OUT"]) if os.environ.get("ICODEGEN_REFERENCE_OUT")
       else ROOT / "crates/stats/tests/fixtures") / "scipy_reference.json"
rng = np.random.default_rng(20240607)


def floats(values):
    return [float(v) for v in np.asarray(values, dtype=float).ravel()]


def none_if_nan(value):
    value = float(value)
    return None if np.isnan(value) else value


def wilcoxon_case(name, x, y, **options):
    result = st.wilcoxon(x, y, **options)
    case = {"name": name, "x": floats(x), "y": floats(y), "options": options,
            "statistic": float(result.statistic), "p_value": float(result.pvalue)}
    z = getattr(result, "zstatistic", None)
    case["z"] = None if z is None else none_if_nan(z)
    return case


def mann_whitney_case(name, x, y, **options):
    result = st.mannwhitneyu(x, y, **options)
    return {"name": name, "x": floats(x), "y": floats(y), "options": options,
            "statistic": float(result.statistic), "p_value": float(result.pvalue)}


def correlation_cases(name, x, y):
    pearson = st.pearsonr(x, y)
    ci = pearson.confidence_interval(confidence_level=0.95)
    spearman = st.spearmanr(x, y)
    kendall = st.kendalltau(x, y)
    return {"name": name, "x": floats(x), "y": floats(y),
            "pearson": [float(pearson.statistic), float(pearson.pvalue)],
            "pearson_ci": [float(ci.low), float(ci.high)],
            "spearman": [float(spearman.statistic), float(spearman.pvalue)],
            "kendall": [float(kendall.statistic), float(kendall.pvalue)]}


def bootstrap_case(name, data, statistic_name, paired_with=None):
    statistic = {"mean": np.mean, "median": np.median, "std": lambda a, axis=-1: np.std(a, axis=axis, ddof=1)}[statistic_name]
    out = {"name": name, "statistic": statistic_name, "data": floats(data), "confidence_level": 0.95}
    if paired_with is None:
        samples = (data,)
        stat = lambda a, axis=-1: statistic(a, axis=axis)
    else:
        out["data_second"] = floats(paired_with)
        samples = (data, paired_with)
        stat = lambda a, b, axis=-1: statistic(a - b, axis=axis)
    for method in ("percentile", "BCa"):
        result = st.bootstrap(samples, stat, n_resamples=999, confidence_level=0.95, method=method,
                              paired=paired_with is not None, vectorized=True,
                              rng=np.random.default_rng(7))
        key = method.lower()
        out[key] = {"replicates": floats(result.bootstrap_distribution),
                    "ci": [float(result.confidence_interval.low), float(result.confidence_interval.high)],
                    "standard_error": float(result.standard_error)}
    return out


def cliffs_delta_reference(x, y, level=0.95):
    x, y = np.asarray(x, float), np.asarray(y, float)
    d = np.sign(x[:, None] - y[None, :])
    n, m = d.shape
    delta = d.mean()
    rows, cols = d.mean(axis=1), d.mean(axis=0)
    variance = (m * m * ((rows - delta) ** 2).sum() + n * n * ((cols - delta) ** 2).sum()
                - ((d - delta) ** 2).sum()) / (n * m * (n - 1) * (m - 1))
    s = np.sqrt(variance)
    z = st.norm.ppf(0.5 + level / 2)
    root = z * s * np.sqrt((1 - delta ** 2) ** 2 + z * z * s * s)
    denominator = 1 - delta ** 2 + z * z * s * s
    u1 = st.mannwhitneyu(x, y).statistic
    return {"x": floats(x), "y": floats(y), "delta": float(delta), "delta_from_u": float(2 * u1 / (n * m) - 1),
            "standard_error": float(s),
            "ci": [float((delta - delta ** 3 - root) / denominator), float((delta - delta ** 3 + root) / denominator)]}


def cohens_d_reference(x, y, level=0.95):
    x, y = np.asarray(x, float), np.asarray(y, float)
    n1, n2 = len(x), len(y)
    pooled = np.sqrt(((n1 - 1) * x.var(ddof=1) + (n2 - 1) * y.var(ddof=1)) / (n1 + n2 - 2))
    d = (x.mean() - y.mean()) / pooled
    se = np.sqrt((n1 + n2) / (n1 * n2) + d * d / (2 * (n1 + n2)))
    z = st.norm.ppf(0.5 + level / 2)
    unpaired = {"d": float(d), "standard_error": float(se), "ci": [float(d - z * se), float(d + z * se)]}
    paired = None
    if n1 == n2:
        diff = x - y
        dz = diff.mean() / diff.std(ddof=1)
        se_z = np.sqrt(1 / n1 + dz * dz / (2 * n1))
        paired = {"d": float(dz), "standard_error": float(se_z), "ci": [float(dz - z * se_z), float(dz + z * se_z)]}
    return {"x": floats(x), "y": floats(y), "unpaired": unpaired, "paired": paired}


def main():
    cases = {"scipy_version": scipy.__version__, "numpy_version": np.__version__,
             "statsmodels_version": statsmodels.__version__}

    continuous_20 = rng.normal(0.3, 1.0, 20), rng.normal(0.0, 1.0, 20)
    tied_10 = np.round(rng.normal(0.5, 1.0, 10), 0), np.round(rng.normal(0.0, 1.0, 10), 0)
    zeros_10 = np.array([1.2, 0.0, -0.4, 2.2, 0.0, 1.1, 0.7, -0.3, 0.9, 1.5]), np.zeros(10)
    tied_30 = np.round(rng.normal(0.4, 1.0, 30), 1), np.round(rng.normal(0.0, 1.0, 30), 1)
    continuous_80 = rng.normal(0.1, 1.0, 80), rng.normal(0.0, 1.0, 80)
    zeros_40 = np.round(rng.normal(0.2, 1.0, 40), 0), np.zeros(40)
    cases["wilcoxon"] = [
        wilcoxon_case("exact, n=20", *continuous_20),
        wilcoxon_case("exact less", *continuous_20, alternative="less"),
        wilcoxon_case("exact greater", *continuous_20, alternative="greater"),
        wilcoxon_case("ties n=10, sign-flip enumeration", *tied_10),
        wilcoxon_case("zeros n=10, sign-flip enumeration", *zeros_10),
        wilcoxon_case("ties n=30, normal with tie correction", *tied_30),
        wilcoxon_case("ties n=30, continuity correction", *tied_30, correction=True),
        wilcoxon_case("n=80, normal", *continuous_80),
        wilcoxon_case("n=80, forced asymptotic greater", *continuous_80, method="asymptotic", alternative="greater"),
        wilcoxon_case("zeros n=40, wilcox", *zeros_40),
        wilcoxon_case("zeros n=40, pratt", *zeros_40, zero_method="pratt"),
        wilcoxon_case("zeros n=40, zsplit", *zeros_40, zero_method="zsplit"),
        wilcoxon_case("n=20 forced asymptotic", *continuous_20, method="asymptotic"),
    ]

    small_a, small_b = rng.normal(0.5, 1, 6), rng.normal(0, 1, 7)
    unbalanced_a, unbalanced_b = rng.normal(0.5, 1, 5), rng.normal(0, 1, 30)
    tied_a, tied_b = np.round(rng.normal(0.5, 1, 7), 0), np.round(rng.normal(0, 1, 9), 0)
    large_a, large_b = rng.normal(0.3, 1, 40), rng.normal(0, 1, 50)
    cases["mann_whitney"] = [
        mann_whitney_case("exact 6 vs 7", small_a, small_b),
        mann_whitney_case("exact 6 vs 7 less", small_a, small_b, alternative="less"),
        mann_whitney_case("exact 6 vs 7 greater", small_a, small_b, alternative="greater"),
        mann_whitney_case("exact 5 vs 30", unbalanced_a, unbalanced_b),
        mann_whitney_case("ties 7 vs 9, normal", tied_a, tied_b),
        mann_whitney_case("40 vs 50, normal", large_a, large_b),
        mann_whitney_case("40 vs 50, no continuity", large_a, large_b, use_continuity=False),
        mann_whitney_case("40 vs 50 greater", large_a, large_b, alternative="greater"),
    ]

    x20 = rng.normal(size=20)
    y20 = 0.6 * x20 + rng.normal(size=20)
    x50 = rng.normal(size=50)
    y50 = -0.3 * x50 + rng.normal(size=50)
    x_tied = np.round(rng.normal(size=60), 0)
    y_tied = np.round(x_tied + rng.normal(size=60), 1)
    x_sorted = np.arange(40, dtype=float)
    y_sorted = x_sorted.copy()
    y_sorted[[10, 11]] = y_sorted[[11, 10]]
    x_big = rng.normal(size=500)
    y_big = np.round(0.1 * x_big + rng.normal(size=500), 2)
    binary = (rng.random(300) < 0.4).astype(float)
    outcome = 0.5 * binary + rng.normal(size=300)
    cases["correlation"] = [
        correlation_cases("n=20 continuous (kendall exact)", x20, y20),
        correlation_cases("n=50 continuous (kendall normal)", x50, y50),
        correlation_cases("n=60 ties", x_tied, y_tied),
        correlation_cases("n=40 one swap from sorted (kendall exact)", x_sorted, y_sorted),
        correlation_cases("n=500 ties in y", x_big, y_big),
        correlation_cases("binary treatment vs outcome", binary, outcome),
    ]

    skewed = rng.exponential(2.0, 30)
    before = rng.normal(10, 2, 25)
    after = before + rng.normal(0.8, 1.5, 25)
    cases["bootstrap"] = [
        bootstrap_case("mean of skewed n=30", skewed, "mean"),
        bootstrap_case("median of skewed n=30", skewed, "median"),
        bootstrap_case("std of skewed n=30", skewed, "std"),
        bootstrap_case("paired mean difference n=25", after, "mean", paired_with=before),
    ]

    cases["cliffs_delta"] = [
        cliffs_delta_reference(large_a, large_b),
        cliffs_delta_reference(tied_a, tied_b),
        cliffs_delta_reference(np.round(rng.normal(1, 1, 15), 0), np.round(rng.normal(0, 1, 12), 0)),
    ]
    cases["cohens_d"] = [
        cohens_d_reference(large_a, large_b),
        cohens_d_reference(after, before),
    ]

    p_values = np.concatenate([rng.uniform(0, 0.05, 6), rng.uniform(0, 1, 14), [0.0, 1.0, 0.03, 0.03]])
    cases["multiplicity"] = {
        "p_values": floats(p_values),
        "holm": floats(multipletests(p_values, method="holm")[1]),
        "bh": floats(multipletests(p_values, method="fdr_bh")[1]),
        "bh_scipy": floats(st.false_discovery_control(p_values, method="bh")),
    }

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(cases, indent=1) + "\n")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
