#!/usr/bin/env bash
# Benchmark: `icodegen-analyze causal` vs DoWhy on the same table (issue 7).
#
# 100k rows, 6 confounders, binary treatment; for linear regression, propensity-score
# stratification, matching and weighting: the estimate plus placebo (permutation), random
# common cause and data subset (90 %) refuters at 100 simulations each. Prints both wall times,
# the ratio and the estimates side by side, and writes the raw results under
# target-stats/bench-causal/ (the tables in summary.md).
#
#   scripts/bench/causal.sh [--rows N] [--simulations N] [--methods a,b] [--threads N]
#                           [--ci-resamples N] [--engine cli|example] [--ci on|off|both | --no-ci]
#                           [--reuse-dowhy]
#
# --engine example times crates/causal/examples/refute_bench (the same library calls as the CLI,
# on a CSV copy of the table) instead of `icodegen-analyze causal`: its release build takes about
# a minute, where the CLI's pulls in DataFusion (half an hour on two shared cores).
#
# CPU seconds (user + system) are the headline: on a shared machine wall time mostly measures the
# neighbours. Same resources on both sides: --threads (default 1) is DoWhy's joblib n_jobs for the refuter
# simulations and icodegen's RAYON_NUM_THREADS. icodegen also computes a 200-resample bootstrap
# CI for the propensity-score methods, which DoWhy is not asked for (DoWhy's `estimate_effect`
# defaults to `confidence_intervals=False`): with `--ci on` (the default) icodegen does more work.
# `--ci off` (or `--no-ci`) turns icodegen's interval off, so both sides do the same work (like
# for like); `--ci both` runs icodegen both ways against one DoWhy run and prints both speed-ups.
# Turning the interval off needs `--engine example` (the CLI always computes one); `--ci off` and
# `--ci both` choose it.
#
# What is counted: DoWhy's CPU seconds start after the table is read (its `time.process_time()`
# around `CausalModel` .. the last refutation); the example's likewise (its own process CPU
# clock around `estimate` .. `refute_all`, without parsing the CSV), the CLI's are the whole
# process's (`/usr/bin/time`, reading the Parquet file included). `--reuse-dowhy` keeps the DoWhy
# results of the last run with the same rows and simulations (target-stats/bench-causal/
# dowhy.jsonl; DoWhy needs about half an hour of CPU for the four methods) and times only icodegen.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=100000
SIMULATIONS=100
METHODS=linear_regression,ps_stratification,ps_matching,ps_weighting
THREADS=1
CI_RESAMPLES=200
ENGINE=
CI=on
SEED=1
FRACTION=0.9
REUSE_DOWHY=0
while [ $# -gt 0 ]; do
    case "$1" in
        --rows) ROWS=$2; shift 2 ;;
        --simulations) SIMULATIONS=$2; shift 2 ;;
        --methods) METHODS=$2; shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --ci-resamples) CI_RESAMPLES=$2; shift 2 ;;
        --engine) ENGINE=$2; shift 2 ;;
        --ci) CI=$2; shift 2 ;;
        --no-ci) CI=off; shift ;;
        --reuse-dowhy) REUSE_DOWHY=1; shift ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
case "$CI" in
    on) ENGINE=${ENGINE:-cli}; VARIANTS=ci ;;
    off) VARIANTS=noci ;;
    both) VARIANTS="noci ci" ;;
    *) echo "unknown --ci $CI (on, off or both)" >&2; exit 2 ;;
esac
if [ "$CI" != on ]; then
    if [ "${ENGINE:-example}" != example ]; then
        echo "--ci $CI needs --engine example: icodegen-analyze causal always computes an interval" >&2
        exit 2
    fi
    ENGINE=example
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target-stats}
OUT=$CARGO_TARGET_DIR/bench-causal
mkdir -p "$OUT"
PY=.tools/bench-venv/bin/python

bash scripts/reference/setup.sh >&2
case "$ENGINE" in
    cli) cargo build --release -p icodegen-analyze >&2
         BIN=$CARGO_TARGET_DIR/release/icodegen-analyze ;;
    example) cargo build --release -p icodegen-causal --example refute_bench >&2
             BIN=$CARGO_TARGET_DIR/release/examples/refute_bench ;;
    *) echo "unknown engine $ENGINE (cli or example)" >&2; exit 2 ;;
esac

DATA=$OUT/causal_${ROWS}.parquet
"$PY" - "$DATA" "$ROWS" <<'PYEOF'
import sys
import numpy as np
import pandas as pd
path, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(2024)
z = rng.normal(size=(n, 6))
logit = z @ np.array([0.6, -0.4, 0.3, 0.2, -0.3, 0.1]) - 0.2
t = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
y = 1.0 * t + z @ np.array([1.0, 0.8, -0.5, 0.3, 0.6, -0.2]) + rng.normal(size=n)
frame = pd.DataFrame({"t": t, "y": y, **{f"z{i + 1}": z[:, i] for i in range(6)}})
frame.to_parquet(path, index=False)
PYEOF
echo "data: $DATA ($ROWS rows, 6 confounders, true effect 1.0)" >&2
if [ "$ENGINE" = example ]; then
    CSV=${DATA%.parquet}.csv
    [ -s "$CSV" ] || "$PY" -c "import sys, pandas as pd; pd.read_parquet(sys.argv[1]).to_csv(sys.argv[2], index=False, float_format='%.17g')" "$DATA" "$CSV"
fi

: > "$OUT/icodegen.jsonl"
: > "$OUT/icodegen_noci.jsonl"
IFS=, read -ra METHOD_LIST <<< "$METHODS"
for method in "${METHOD_LIST[@]}"; do
    for variant in $VARIANTS; do
        # noci: no interval (CI_RESAMPLES 0 to the example), the work DoWhy does by default.
        if [ "$variant" = noci ]; then resamples=0; suffix=_noci; else resamples=$CI_RESAMPLES; suffix=; fi
        if [ "$ENGINE" = example ]; then
            RAYON_NUM_THREADS=$THREADS /usr/bin/time -f "%e %U %S" -o "$OUT/time_$method$suffix.txt" \
                "$BIN" "$CSV" "$method" "$SIMULATIONS" "$resamples" "$SEED" > "$OUT/icodegen_$method$suffix.json"
        else
            RAYON_NUM_THREADS=$THREADS /usr/bin/time -f "%e %U %S" -o "$OUT/time_$method$suffix.txt" \
                "$BIN" causal --data "$DATA" --treatment t --outcome y --confounders z1,z2,z3,z4,z5,z6 \
                --method "$method" --refuters placebo,random_common_cause,data_subset \
                --simulations "$SIMULATIONS" --subset-fraction "$FRACTION" --seed "$SEED" \
                --ci-resamples "$resamples" --json > "$OUT/icodegen_$method$suffix.json"
        fi
        # cpu_seconds: the example's own clock (without reading the CSV) when it reports one,
        # else the process's; process_cpu_seconds: always the whole process (/usr/bin/time).
        "$PY" -c "import json,sys; r=json.load(open(sys.argv[1])); wall,user,system=map(float,open(sys.argv[3]).read().split()[-3:]); print(json.dumps({'method': sys.argv[2], 'seconds': r.get('seconds', wall), 'cpu_seconds': r.get('cpu_seconds', user + system), 'process_seconds': wall, 'process_cpu_seconds': user + system, 'ate': r['ate'], 'refuters': {x['name']: {'new_effect': x['new_effect'], 'p_value': x['p_value']} for x in r['refuters']}}))" \
            "$OUT/icodegen_$method$suffix.json" "$method" "$OUT/time_$method$suffix.txt" >> "$OUT/icodegen$suffix.jsonl"
        echo "icodegen $method ($variant) done" >&2
    done
done

DOWHY_KEY="$ROWS $SIMULATIONS $SEED $FRACTION $THREADS"
if [ "$REUSE_DOWHY" = 1 ] && [ -s "$OUT/dowhy.jsonl" ] && [ "$(cat "$OUT/dowhy.key" 2>/dev/null)" = "$DOWHY_KEY" ]; then
    echo "DoWhy: reusing $OUT/dowhy.jsonl ($(cat "$OUT/dowhy.key"): rows simulations seed fraction threads)" >&2
else
    OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS \
        "$PY" scripts/bench/causal_dowhy.py "$DATA" "$SIMULATIONS" "$SEED" "$FRACTION" "$THREADS" "$METHODS" | tee "$OUT/dowhy.jsonl" >&2
    echo "$DOWHY_KEY" > "$OUT/dowhy.key"
fi

"$PY" - "$OUT/icodegen_noci.jsonl" "$OUT/icodegen.jsonl" "$OUT/dowhy.jsonl" "$ROWS" "$SIMULATIONS" "$THREADS" "$CI_RESAMPLES" "$ENGINE" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PYEOF' | tee "$OUT/summary.md"
import json, sys
def load(path):
    return {r["method"]: r for r in map(json.loads, open(path))}
like, full, theirs = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3])
rows, sims, threads, resamples, engine, cores, load_avg = sys.argv[4:11]
print(f"\n{rows} rows, 6 confounders, 3 refuters x {sims} simulations per method, {threads} thread(s) each "
      f"({engine}; {cores} cores, load average {load_avg} at the end). CPU s: user + system of the estimate "
      f"and the refutations (" + ("the example's own clock, not reading the CSV" if engine == "example" else "the whole CLI process")
      + "; DoWhy: process_time() after reading the table)")
for title, ours in (
    ("Like for like: no interval on either side (DoWhy's default confidence_intervals=False)", like),
    (f"Full work: icodegen also bootstraps {resamples} resamples for the propensity methods' intervals", full),
):
    if not ours:
        continue
    print(f"\n{title}\n")
    print("| method | icodegen CPU s | DoWhy CPU s | CPU speed-up | wall s (ours / DoWhy) | ATE icodegen | ATE DoWhy | placebo (ours / DoWhy) | random cc (ours / DoWhy) | subset (ours / DoWhy) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    total_ours = total_theirs = 0.0
    for method, mine in ours.items():
        other = theirs.get(method)
        if other is None:
            continue
        total_ours += mine["cpu_seconds"]; total_theirs += other["cpu_seconds"]
        cells = [f"{mine['refuters'][k]['new_effect']:.4f} / {other['refuters'][k]['new_effect']:.4f}"
                 for k in ("placebo", "random_common_cause", "data_subset")]
        print(f"| {method} | {mine['cpu_seconds']:.2f} | {other['cpu_seconds']:.1f} | {other['cpu_seconds'] / mine['cpu_seconds']:.0f}x | "
              f"{mine['seconds']:.2f} / {other['seconds']:.1f} | {mine['ate']:.6f} | {other['ate']:.6f} | " + " | ".join(cells) + " |")
    print(f"| **total** | {total_ours:.2f} | {total_theirs:.1f} | {total_theirs / total_ours:.0f}x | | | | | | |")
PYEOF
