#!/usr/bin/env bash
# Offline test of scripts/export_hf.py (GPT-2, GPT-Neo, CodeGen): exports tiny random models,
# scores them with icodegen-infer and compares with PyTorch. Exits non-zero on a mismatch.
# Needs full torch + transformers (scripts/reference/venv.sh creates them, ~5 GB), so CI does
# not run it by default.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=$(bash scripts/reference/venv.sh)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --quiet -p icodegen-infer
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ICODEGEN_PROGRESS=0 "$PY" scripts/reference/check_export_hf.py "$CARGO_TARGET_DIR/debug/icodegen-infer" "$WORK"
