#!/usr/bin/env bash
# The Java study from a fresh clone: set-up (idempotent), build, then `icodegen repro` of
# studies/java/pipeline.yaml (download real Java with npm, ingest, preprocess, train two models,
# infer, tag, analyze). Extra arguments go to `icodegen repro` (e.g. `-j 2`, `--dry-run`).
# The report is studies/java/report/index.html.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v npm >/dev/null 2>&1 || {
  echo "run.sh: npm is needed to download the Java study's packages (Debian: apt-get install npm)" >&2
  exit 2
}
bash scripts/setup.sh
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
cargo build --workspace --bins
target/debug/icodegen --pipeline studies/java/pipeline.yaml repro "$@"
echo "report: $(pwd)/studies/java/report/index.html" >&2
