#!/usr/bin/env python3
"""Expected sensitivity numbers for icodegen-causal, computed with DoWhy's sensitivity analysers.

On the committed table of scripts/reference/causal.py (crates/causal/tests/fixtures/causal_data.csv),
for backdoor.linear_regression of y on t (binary) and of y_cont on t_cont (continuous), with
common causes z1, z2, z3:

- add_unobserved_common_cause(simulation_method="linear-partial-R2"): Cinelli and Hazlett's
  robustness values (RV_q with q = 1, RV_{q,alpha} with alpha = 0.05), the treatment's partial
  R2 with the outcome, and each common cause's partial R2 with the treatment (r2twj_w) and with
  the outcome (r2ywj_tw);
- add_unobserved_common_cause(simulation_method="e-value"): the E-value of the estimate and of
  the confidence limit closer to the null, through VanderWeele and Ding's standardized-difference
  approximation (RR = exp(0.91 d), limits exp(0.91 d -/+ 1.78 se_d), d = estimate / sd(Y)).

Writes crates/causal/tests/fixtures/dowhy_sensitivity.json; crates/causal/tests/sensitivity.rs
reads it. Re-run after changing a case:

    .tools/bench-venv/bin/python scripts/reference/sensitivity.py
"""
import json
import logging
import os
import pathlib
import sys
import warnings

import numpy as np
import pandas as pd

import dowhy
from dowhy import CausalModel

warnings.filterwarnings("ignore")
logging.getLogger("dowhy").setLevel(logging.ERROR)

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "crates/causal/tests/fixtures/causal_data.csv"
FIXTURES = (pathlib.Path(os.environ["ICODEGEN_REFERENCE_OUT"]) if os.environ.get("ICODEGEN_REFERENCE_OUT")
            else ROOT / "crates/causal/tests/fixtures")
COMMON_CAUSES = ["z1", "z2", "z3"]


def case(df, treatment, outcome):
    model = CausalModel(data=df.copy(), treatment=treatment, outcome=outcome, common_causes=COMMON_CAUSES)
    estimand = model.identify_effect(proceed_when_unidentifiable=True)
    estimate = model.estimate_effect(estimand, method_name="backdoor.linear_regression")
    linear = model.refute_estimate(estimand, estimate, method_name="add_unobserved_common_cause",
                                   simulation_method="linear-partial-R2",
                                   benchmark_common_causes=COMMON_CAUSES, plot_estimate=False,
                                   # a list: DoWhy 0.14 iterates over it (a scalar or an ndarray fails)
                                   effect_fraction_on_treatment=[1.0])
    evalue = model.refute_estimate(estimand, estimate, method_name="add_unobserved_common_cause",
                                   simulation_method="e-value", plot_estimate=False)
    stats = linear.stats
    e = evalue.stats
    as_float = lambda v: None if v is None else float(v)
    return {
        "estimate": float(estimate.value),
        "standard_error": float(stats["standard_error"]),
        "dof": int(stats["degree of freedom"]),
        "partial_r2": float(stats["r2yt_w"]),
        "robustness_value": float(stats["robustness_value"]),
        "robustness_value_alpha": float(stats["robustness_value_alpha"]),
        "benchmark_r2_treatment": [float(v) for v in linear.r2twj_w],
        "benchmark_r2_outcome": [float(v) for v in linear.r2ywj_tw],
        "e_value": {
            "converted_estimate": as_float(e["converted_estimate"]),
            "converted_lower_ci": as_float(e["converted_lower_ci"]),
            "converted_upper_ci": as_float(e["converted_upper_ci"]),
            "evalue_estimate": as_float(e["evalue_estimate"]),
            "evalue_lower_ci": as_float(e["evalue_lower_ci"]),
            "evalue_upper_ci": as_float(e["evalue_upper_ci"]),
        },
    }


def main():
    df = pd.read_csv(DATA)
    out = {
        "dowhy_version": dowhy.__version__,
        "binary": case(df, "t", "y"),
        "continuous": case(df, "t_cont", "y_cont"),
    }
    FIXTURES.mkdir(parents=True, exist_ok=True)
    (FIXTURES / "dowhy_sensitivity.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {FIXTURES}/dowhy_sensitivity.json", file=sys.stderr)


if __name__ == "__main__":
    main()
