#!/usr/bin/env bash
# Creates (idempotently) the Python environment that the reference scripts and the infer
# benchmark need: full PyTorch (the CUDA build from PyPI, which runs on CPU; ~4.7 GB) plus
# transformers, tokenizers and pyarrow, in .tools/py-torch. Prints the path of its python.
#
# Only developers regenerating fixtures or running benchmarks need it: the Rust build and
# tests link libtorch from .tools/python (scripts/setup.sh) and never run Python.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=.tools/py-torch
REQUIREMENTS=(torch==2.13.0 transformers==4.57.1 tokenizers==0.22.2 safetensors numpy pyarrow)
marker="$VENV/.icodegen-$(echo "${REQUIREMENTS[*]}" | tr ' =' '_-')"
log() { echo "[py-torch] $*" >&2; }

if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  python3 -m venv "$VENV"
fi
if [ ! -f "$marker" ]; then
  log "installing ${REQUIREMENTS[*]} into $VENV (about 5 GB the first time)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${REQUIREMENTS[@]}"
  rm -f "$VENV"/.icodegen-*
  touch "$marker"
fi
echo "$PWD/$VENV/bin/python"
