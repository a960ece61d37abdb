#!/usr/bin/env bash
# Creates (idempotently) the Python environment that the reference scripts and the infer
# benchmark need: full PyTorch (the CUDA build from PyPI, which runs on CPU; ~4.7 GB) plus
# transformers, tokenizers and pyarrow, in .tools/py-torch. Prints the path of its python.
#
# Only developers regenerating fixtures or running benchmarks need it: the Rust build and
# tests link libtorch from .tools/python (scripts/setup.sh) and never run Python.
#
# `venv.sh hf` makes (idempotently) .tools/py-hf instead: transformers 5.x and its tokenizers
# pinned in scripts/reference/hf-requirements.txt, over the torch of .tools/py-torch (a .pth file
# puts that venv's site-packages after py-hf's own, so torch is not installed twice). Used by
# scripts/reference/make_hf_fixtures.py and scripts/reference/hf_transformers_bench.py.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "${1:-}" = hf ]; then
  base_python=$(bash "$PWD/scripts/reference/venv.sh")
  VENV=.tools/py-hf
  requirements=scripts/reference/hf-requirements.txt
  marker="$VENV/.icodegen-hf-$(sha256sum "$requirements" | cut -c1-16)"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "[py-hf] creating $VENV" >&2
    python3 -m venv "$VENV"
  fi
  if [ ! -f "$marker" ]; then
    base_site=$("$base_python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    own_site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "$base_site" > "$own_site/icodegen-py-torch.pth"
    echo "[py-hf] installing $requirements into $VENV (torch from $base_site)" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    rm -f "$VENV"/.icodegen-*
    touch "$marker"
  fi
  echo "$PWD/$VENV/bin/python"
  exit 0
fi

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
