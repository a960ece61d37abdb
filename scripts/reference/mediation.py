#!/usr/bin/env python3
"""Expected numbers for icodegen-causal's mediation estimators, on a committed synthetic table.

Writes crates/causal/tests/fixtures/mediation_data.csv (the data) and mediation_reference.json:

- "statsmodels_single" / "statsmodels_single_interaction": statsmodels.stats.mediation.Mediation
  (the quasi-Bayesian simulation of Imai, Keele and Tingley, method="parametric") with one
  mediator (m1), without and with the treatment x mediator interaction. Its estimates are
  Monte Carlo means over N_REP draws: each effect's draw standard deviation "sd" is stored so
  the Rust test can allow a stated Monte Carlo tolerance (see crates/causal/tests/mediation.rs).
- "ols": the plug-in natural effects for several mediators (m1, m2, m3) from ordinary least
  squares fits, computed by averaging the fitted models' predictions under set treatment and
  mediator values (the g-formula), not by the product formula Rust uses: agreement to 1e-8.
- "paired": the mean paired difference of the outcomes.

`crates/causal/tests/mediation.rs` reads both files, so the Rust tests need no Python. Re-run
after changing a case (the venv from scripts/reference/setup.sh has statsmodels and DoWhy):

    .tools/bench-venv/bin/python scripts/reference/mediation.py
"""
import json
import os
import pathlib
import sys
import warnings

import numpy as np
import pandas as pd
import statsmodels
import statsmodels.api as sm
from statsmodels.stats.mediation import Mediation

warnings.filterwarnings("ignore")

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = (pathlib.Path(os.environ["ICODEGEN_REFERENCE_OUT"]) if os.environ.get("ICODEGEN_REFERENCE_OUT")
            else ROOT / "crates/causal/tests/fixtures")
N_REP = 20000
COVARIATES = ["x1", "x2"]
MEDIATORS = ["m1", "m2", "m3"]


def make_data(n_pairs, seed):
    """Pairs of (control, treated) rows; x1, x2 are pair-level (pre-treatment) covariates.

    m1 rises with the treatment (a = 1.0), m2 falls (a = -0.8), m3 does not move (a = 0).
    y: direct 0.7, indirect 0.6 * 1.0 + 0.5 * (-0.8) + 0.3 * 0 = 0.2, total 0.9.
    y_int adds 0.4 t m1 (a treatment x mediator interaction).
    """
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n_pairs)
    x2 = rng.uniform(0, 2, size=n_pairs)
    rows = []
    for p in range(n_pairs):
        for t in (0, 1):
            m1 = 5 + 1.0 * t + 0.5 * x1[p] + rng.normal()
            m2 = 2 - 0.8 * t + 0.3 * x2[p] + rng.normal()
            m3 = 1 + 0.4 * x1[p] + rng.normal()
            noise = rng.normal()
            y = 0.5 + 0.7 * t + 0.6 * m1 + 0.5 * m2 + 0.3 * m3 + 0.2 * x1[p] - 0.3 * x2[p] + noise
            y_int = y + 0.4 * t * m1
            rows.append({"pair": f"p{p:04d}", "t": t, "x1": x1[p], "x2": x2[p], "m1": m1, "m2": m2,
                         "m3": m3, "y": y, "y_int": y_int})
    return pd.DataFrame(rows)


def summarize(result):
    """Estimate (Monte Carlo mean), percentile interval and draw sd of each effect."""
    arrays = {
        "indirect_control": result.ACME_ctrl, "indirect_treated": result.ACME_tx,
        "direct_control": result.ADE_ctrl, "direct_treated": result.ADE_tx,
        "total": result.total_effect, "indirect": result.ACME_avg, "direct": result.ADE_avg,
    }
    out = {}
    for name, draws in arrays.items():
        draws = np.asarray(draws)
        out[name] = {"estimate": float(draws.mean()),
                     "ci": [float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))],
                     "sd": float(draws.std(ddof=1))}
    return out


class ArrayMediation(Mediation):
    """statsmodels' Mediation on array models, with a treatment x mediator column refreshed.

    statsmodels refreshes interaction terms only for formula models, by rebuilding the model for
    every draw (0.1 s a draw here); on arrays it sets the exposure and mediator columns only.
    This sets the interaction column too; main() checks that it reproduces the formula path
    draw for draw. The simulation itself is statsmodels' own.
    """

    interaction_column = None

    def _get_outcome_exog(self, exposure, mediator):
        exog = super()._get_outcome_exog(exposure, mediator)
        if self.interaction_column is not None:
            exog[:, self.interaction_column] = exog[:, self._exp_pos_outcome] * exog[:, self._med_pos_outcome]
        return exog


def statsmodels_single(df, outcome, interaction, seed, n_rep=N_REP):
    """Outcome model [1, t, m1, (t m1), x1, x2], mediator model [1, t, x1, x2]."""
    n = len(df)
    parts = [np.ones(n), df["t"], df["m1"]]
    if interaction:
        parts.append(df["t"] * df["m1"])
    parts += [df["x1"], df["x2"]]
    outcome_model = sm.OLS(df[outcome].to_numpy(), np.column_stack(parts))
    mediator_model = sm.OLS(df["m1"].to_numpy(), np.column_stack([np.ones(n), df["t"], df["x1"], df["x2"]]))
    mediation = ArrayMediation(outcome_model, mediator_model, (1, 1), 2)
    if interaction:
        mediation.interaction_column = 3
    return mediation.fit(n_rep=n_rep, rng=seed)


def check_array_path(df):
    """ArrayMediation gives the formula path's draws (same seed, same parameter order)."""
    formula = Mediation(sm.OLS.from_formula("y_int ~ t * m1 + x1 + x2", df),
                        sm.OLS.from_formula("m1 ~ t + x1 + x2", df), "t", "m1").fit(n_rep=20, rng=5)
    arrays = statsmodels_single(df, "y_int", True, 5, n_rep=20)
    for name in ("ACME_ctrl", "ACME_tx", "ADE_ctrl", "ADE_tx"):
        gap = np.max(np.abs(getattr(formula, name) - getattr(arrays, name)))
        assert gap < 1e-10, f"{name}: array path differs from the formula path by {gap}"


def g_formula(df, outcome, interaction):
    """Plug-in natural effects from OLS fits, by averaging predictions."""
    x = df[COVARIATES].to_numpy()
    n = len(df)
    mediator_fits = []
    for m in MEDIATORS:
        design = np.column_stack([np.ones(n), df["t"], x])
        mediator_fits.append(sm.OLS(df[m].to_numpy(), design).fit())
    m_obs = df[MEDIATORS].to_numpy()
    t_obs = df["t"].to_numpy()
    parts = [np.ones(n), t_obs, m_obs]
    if interaction:
        parts.append(m_obs * t_obs[:, None])
    parts.append(x)
    outcome_fit = sm.OLS(df[outcome].to_numpy(), np.column_stack(parts)).fit()

    def mediators_at(t):
        design = np.column_stack([np.ones(n), np.full(n, float(t)), x])
        return np.column_stack([fit.predict(design) for fit in mediator_fits])

    def predict(t, mediators):
        parts = [np.ones(n), np.full(n, float(t)), mediators]
        if interaction:
            parts.append(mediators * t)
        parts.append(x)
        return outcome_fit.predict(np.column_stack(parts))

    m_at = {t: mediators_at(t) for t in (0, 1)}
    direct = [float(np.mean(predict(1, m_at[t]) - predict(0, m_at[t]))) for t in (0, 1)]
    indirect = [float(np.mean(predict(t, m_at[1]) - predict(t, m_at[0]))) for t in (0, 1)]
    per_mediator = []
    for j in range(len(MEDIATORS)):
        arms = []
        for t in (0, 1):
            only_j_1 = m_at[0].copy()
            only_j_1[:, j] = m_at[1][:, j]
            arms.append(float(np.mean(predict(t, only_j_1) - predict(t, m_at[0]))))
        per_mediator.append(sum(arms) / 2)
    total_regression = sm.OLS(df[outcome].to_numpy(), np.column_stack([np.ones(n), t_obs, x])).fit()
    return {
        "a": [float(fit.params[1]) for fit in mediator_fits],
        "b": [float(v) for v in outcome_fit.params[2:2 + len(MEDIATORS)]],
        "direct_control": direct[0], "direct_treated": direct[1],
        "indirect_control": indirect[0], "indirect_treated": indirect[1],
        "direct": sum(direct) / 2, "indirect": sum(indirect) / 2,
        "total": (sum(direct) + sum(indirect)) / 2,
        "per_mediator_indirect": per_mediator,
        "total_regression": float(total_regression.params[1]),
    }


def main():
    df = make_data(400, 18)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    df.to_csv(FIXTURES / "mediation_data.csv", index=False, float_format="%.17g")
    df = pd.read_csv(FIXTURES / "mediation_data.csv")  # exactly what Rust will read
    check_array_path(df)
    pivot = df.pivot(index="pair", columns="t")
    out = {
        "statsmodels_version": statsmodels.__version__,
        "n": len(df),
        "n_rep": N_REP,
        "statsmodels_single": summarize(statsmodels_single(df, "y", False, 1)),
        "statsmodels_single_interaction": summarize(statsmodels_single(df, "y_int", True, 2)),
        "ols": {"mediators": MEDIATORS, "y": g_formula(df, "y", False),
                "y_int": g_formula(df, "y_int", True)},
        "paired": {"y": float((pivot["y"][1] - pivot["y"][0]).mean()),
                   "y_int": float((pivot["y_int"][1] - pivot["y_int"][0]).mean())},
    }
    (FIXTURES / "mediation_reference.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {FIXTURES}/mediation_data.csv and mediation_reference.json", file=sys.stderr)


if __name__ == "__main__":
    main()
