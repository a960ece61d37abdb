#!/usr/bin/env bash
# Times `icodegen-analyze study` on a synthetic study: N snippets (default 1000), two
# interventions (comments, bugfix: 2N rows each), two models, the fixture of the study tests
# (stages/analyze/tests/study_fixture, written by `--example study_fixture`). Prints wall time,
# CPU time and peak memory for the default params and for a lighter configuration (linear
# regression only, no refuters).
#
#   scripts/bench/study.sh [N]            # release build (PROFILE=dev for the debug build)
set -euo pipefail
snippets="${1:-1000}"
profile="${PROFILE:-release}"
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --profile "$profile" -p icodegen-analyze --bin icodegen-analyze --example study_fixture
out_dir="$CARGO_TARGET_DIR/$([ "$profile" = dev ] && echo debug || echo "$profile")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$out_dir/examples/study_fixture" "$work" "$snippets"
printf 'analyze:\n  seed: 1\n' > "$work/default.yaml"
printf 'analyze:\n  seed: 1\n  methods: [linear_regression]\n  refuters: []\n' > "$work/light.yaml"
echo "study of $snippets snippets, 2 interventions, 2 models ($profile build, $(nproc) cores)"
printf '%-8s %10s %10s %12s\n' params wall_s cpu_s peak_MiB
for config in default light; do
    /usr/bin/time -f "%e %U %S %M" -o "$work/time" env ICODEGEN_PROGRESS=0 \
        "$out_dir/icodegen-analyze" study --params "$work/$config.yaml" \
        --testbed "$work/testbed.parquet" --covariates "$work/covariates.parquet" --models-dir "$work/models" --out "$work/report-$config"
    read -r wall user system kib < "$work/time"
    printf '%-8s %10.1f %10.1f %12.0f\n' "$config" "$wall" "$(echo "$user + $system" | bc)" "$(echo "$kib / 1024" | bc)"
done
