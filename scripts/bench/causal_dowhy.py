#!/usr/bin/env python3
"""DoWhy side of scripts/bench/causal.sh: each method's estimate plus the placebo (permute),
random common cause and data subset refuters, timed (wall and process CPU seconds; with
n_jobs=1 every simulation runs in this process), printed as one JSON line per method."""
import json
import logging
import sys
import time
import warnings

import numpy as np
import pandas as pd
from dowhy import CausalModel

warnings.filterwarnings("ignore")
logging.getLogger("dowhy").setLevel(logging.ERROR)

path, simulations, seed, fraction, jobs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
methods = sys.argv[6].split(",")
df = pd.read_parquet(path)
confounders = [c for c in df.columns if c.startswith("z")]
names = {
    "linear_regression": "backdoor.linear_regression",
    "ps_stratification": "backdoor.propensity_score_stratification",
    "ps_matching": "backdoor.propensity_score_matching",
    "ps_weighting": "backdoor.propensity_score_weighting",
}
for method in methods:
    start, cpu_start = time.perf_counter(), time.process_time()
    data = df.copy()
    model = CausalModel(data=data, treatment="t", outcome="y", common_causes=confounders)
    estimand = model.identify_effect(proceed_when_unidentifiable=True)
    estimate = model.estimate_effect(estimand, method_name=names[method], target_units="ate")
    # DoWhy's propensity-score estimators add a `propensity_score` column to the caller's frame
    # and skip fitting whenever that column exists, so every refuter would silently reuse the
    # original scores: the random common cause would change nothing and the placebo would be
    # estimated with the real treatment's scores. Drop it so each refutation re-fits the model,
    # as icodegen does (and as the refutations are meant to).
    data.drop(columns=["propensity_score"], inplace=True, errors="ignore")
    refuters = {}
    for refuter, kwargs in (
        ("placebo", {"method_name": "placebo_treatment_refuter", "placebo_type": "permute"}),
        ("random_common_cause", {"method_name": "random_common_cause"}),
        # DoWhy's data subset refuter passes an int random_state straight to every
        # `DataFrame.sample`, so each simulation would draw the same subset (all new effects
        # equal, p = 0); a RandomState object advances between simulations (with n_jobs = 1).
        ("data_subset", {"method_name": "data_subset_refuter", "subset_fraction": fraction,
                         "random_state": np.random.RandomState(seed)}),
    ):
        kwargs.setdefault("random_state", seed)
        refutation = model.refute_estimate(estimand, estimate, num_simulations=simulations,
                                           n_jobs=jobs, **kwargs)
        refuters[refuter] = {"new_effect": float(refutation.new_effect),
                             "p_value": float(refutation.refutation_result["p_value"])}
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(json.dumps({"method": method, "seconds": seconds, "cpu_seconds": cpu, "ate": float(estimate.value),
                      "refuters": refuters}), flush=True)
