#!/usr/bin/env python3
"""Expected numbers for icodegen-causal, computed with DoWhy on a committed synthetic table.

Writes crates/causal/tests/fixtures/causal_data.csv (the data) and dowhy_reference.json (what
DoWhy's backdoor.* estimators return on it). `crates/causal/tests/dowhy_reference.rs` reads both,
so the Rust tests need no Python. Re-run after changing a case:

    .tools/bench-venv/bin/python scripts/reference/causal.py

Propensity models: DoWhy's default is scikit-learn's LogisticRegression() (L2, C=1, lbfgs
stopped at tol=1e-4). Three sections: "unpenalized" passes LogisticRegression(C=inf,
solver="newton-cholesky") - the maximum-likelihood fit icodegen computes by IRLS by default;
"penalized" passes the same L2 C=1 objective as the default but solved to convergence - what
icodegen computes with PropensityOptions { l2_penalty: 1.0 }; "default" keeps DoWhy's default.
"""
import json
import logging
import os
import pathlib
import sys
import warnings

import numpy as np
import pandas as pd
import sklearn
from sklearn.linear_model import LogisticRegression

import dowhy
from dowhy import CausalModel

warnings.filterwarnings("ignore")
logging.getLogger("dowhy").setLevel(logging.ERROR)

ROOT = pathlib.Path(__file__).resolve().parents[2]
# ICODEGEN_REFERENCE_OUT=DIR writes there instead (the Rust test that checks the committed
# fixtures against the installed DoWhy does that).
FIXTURES = (pathlib.Path(os.environ["ICODEGEN_REFERENCE_OUT"]) if os.environ.get("ICODEGEN_REFERENCE_OUT")
            else ROOT / "crates/causal/tests/fixtures")


def make_data(n, seed):
    rng = np.random.default_rng(seed)
    z1 = rng.normal(size=n)
    z2 = rng.uniform(0, 3, size=n)
    z3 = rng.poisson(4, size=n).astype(float)
    logit = -0.5 + 0.8 * z1 - 0.4 * z2 + 0.15 * z3
    t = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    y = 1.5 * t + 2.0 * z1 + 0.5 * z2 * z2 - 0.3 * z3 + 0.5 * t * z1 + rng.normal(size=n)
    t_continuous = 0.7 * z1 + 0.2 * z3 + rng.normal(size=n)
    y_continuous = 0.8 * t_continuous + 1.0 * z1 - 0.2 * z3 + rng.normal(size=n)
    return pd.DataFrame({"t": t, "y": y, "z1": z1, "z2": z2, "z3": z3,
                         "t_cont": t_continuous, "y_cont": y_continuous})


def unpenalized():
    return LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12, max_iter=1000)


def penalized():
    return LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-12, max_iter=1000)


def run(df, method, treatment="t", outcome="y", target_units="ate", **params):
    model = CausalModel(data=df.copy(), treatment=treatment, outcome=outcome, common_causes=["z1", "z2", "z3"])
    estimand = model.identify_effect(proceed_when_unidentifiable=True)
    estimate = model.estimate_effect(estimand, method_name=method, target_units=target_units,
                                     method_params=params or None)
    return float(estimate.value), estimate


def main():
    df = make_data(1500, 11)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    df.to_csv(FIXTURES / "causal_data.csv", index=False, float_format="%.17g")
    df = pd.read_csv(FIXTURES / "causal_data.csv")  # exactly what Rust will read

    out = {"dowhy_version": dowhy.__version__, "sklearn_version": sklearn.__version__, "n": len(df)}

    value, estimate = run(df, "backdoor.linear_regression")
    model = CausalModel(data=df.copy(), treatment="t", outcome="y", common_causes=["z1", "z2", "z3"])
    estimand = model.identify_effect(proceed_when_unidentifiable=True)
    estimate = model.estimate_effect(estimand, method_name="backdoor.linear_regression",
                                     confidence_intervals=True, test_significance=True)
    ci = np.asarray(estimate.get_confidence_intervals()).ravel()
    out["linear_regression"] = {
        "ate": float(estimate.value),
        "standard_error": float(np.asarray(estimate.get_standard_error()).ravel()[0]),
        "ci": [float(ci[0]), float(ci[1])],
        "p_value": float(np.asarray(estimate.test_stat_significance()["p_value"]).ravel()[0]),
    }
    value, _ = run(df, "backdoor.linear_regression", treatment="t_cont", outcome="y_cont")
    out["linear_regression_continuous"] = {"ate": value}

    for label, make_model in (("unpenalized", unpenalized), ("penalized", penalized), ("default", lambda: None)):
        section = {}
        params = lambda: ({"propensity_score_model": make_model()} if make_model() is not None else {})
        for units in ("ate", "att", "atc"):
            section[f"stratification_{units}"] = run(df, "backdoor.propensity_score_stratification", target_units=units, **params())[0]
            section[f"matching_{units}"] = run(df, "backdoor.propensity_score_matching", target_units=units, **params())[0]
            for scheme in ("ips_weight", "ips_normalized_weight", "ips_stabilized_weight"):
                section[f"weighting_{scheme}_{units}"] = run(
                    df, "backdoor.propensity_score_weighting", target_units=units, weighting_scheme=scheme, **params())[0]
        section["doubly_robust_ate"] = run(df, "backdoor.doubly_robust", **params())[0]
        fitted = (make_model() or LogisticRegression()).fit(df[["z1", "z2", "z3"]], df["t"])
        section["propensity_intercept"] = float(fitted.intercept_[0])
        section["propensity_coefficients"] = [float(c) for c in fitted.coef_[0]]
        out[label] = section

    (FIXTURES / "dowhy_reference.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {FIXTURES}/causal_data.csv and dowhy_reference.json", file=sys.stderr)


if __name__ == "__main__":
    main()
