#!/usr/bin/env bash
# The main job, from a fresh clone: set-up (idempotent), build, then `icodegen repro` of the default
# study in pipeline.yaml (fetch real code, ingest, preprocess, train two models, infer, tag, analyze).
# Extra arguments go to `icodegen repro` (e.g. `-j 2`, `--dry-run`). The report is report/index.html.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
cargo build --workspace --bins
target/debug/icodegen repro "$@"
echo "report: $(pwd)/report/index.html" >&2
