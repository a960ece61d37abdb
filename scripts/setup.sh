#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine with rustup and python3 + pip.
# Installs what is missing into project-local folders only:
#   .tools/python   libtorch from the PyPI `torch` wheel (what tch links against), ~1.2 GB
# Safe to run again: each step checks first and does nothing when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION=2.13.0
TORCH_DIR=.tools/python
log() { echo "[setup] $*" >&2; }

if ! command -v cargo >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null 2>&1 || { log "cargo not found: install Rust with rustup (https://rustup.rs) first"; exit 1; }
command -v python3 >/dev/null 2>&1 || { log "python3 not found: install python3 and python3-pip first"; exit 1; }

marker="$TORCH_DIR/.icodegen-torch-$TORCH_VERSION"
if [ ! -f "$marker" ]; then
  log "installing libtorch from the PyPI torch==$TORCH_VERSION wheel into $TORCH_DIR (about 1.2 GB)"
  rm -rf "$TORCH_DIR"
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$TORCH_DIR" \
    "torch==$TORCH_VERSION" nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85
  touch "$marker"
fi
