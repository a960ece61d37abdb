#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine with rustup and python3 + pip.
# Installs what is missing into project-local folders only:
#   .tools/python   libtorch from the PyPI `torch` wheel (what tch links against), ~1.2 GB, and
#                   on a machine with an NVIDIA driver (or ICODEGEN_CUDA=1) the CUDA libraries
#                   that wheel needs at run time (cuBLAS, cuDNN, NCCL, ...; several GB), so
#                   `--device auto` runs on the GPU. ICODEGEN_CUDA=0 skips them.
# Plus, when missing, Debian's chromium for the report's browser tests (apt-get, as root or sudo -n).
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

# CUDA libraries: the wheel's own pinned requirements (cuda-toolkit[...], nvidia-cudnn, NCCL,
# ...), read from its metadata so they always match the torch version, installed beside it
# (libtorch_cuda.so finds them through its relative RPATH).
want_cuda=${ICODEGEN_CUDA:-auto}
if [ "$want_cuda" = auto ]; then
  if [ -e /proc/driver/nvidia/version ] || command -v nvidia-smi >/dev/null 2>&1; then
    want_cuda=1
  else
    want_cuda=0
  fi
fi
cuda_marker="$TORCH_DIR/.icodegen-cuda-$TORCH_VERSION"
if [ "$want_cuda" = 1 ] && [ ! -f "$cuda_marker" ]; then
  mapfile -t cuda_requirements < <(python3 - "$TORCH_DIR/torch-$TORCH_VERSION.dist-info/METADATA" <<'PY'
import sys
from pip._vendor.packaging.requirements import Requirement
for line in open(sys.argv[1], encoding="utf-8"):
    if not line.startswith("Requires-Dist:"):
        continue
    requirement = Requirement(line.split(":", 1)[1].strip())
    if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
        continue
    if requirement.name.startswith(("nvidia-", "cuda-toolkit")):
        print(str(requirement).split(";")[0].strip())
PY
  )
  log "NVIDIA driver found: installing the CUDA libraries torch==$TORCH_VERSION needs into $TORCH_DIR: ${cuda_requirements[*]}"
  python3 -m pip install --quiet --disable-pip-version-check --target "$TORCH_DIR" --upgrade \
    "${cuda_requirements[@]}"
  touch "$cuda_marker"
fi

# Chromium (Debian's package) for the report's browser tests: stages/analyze/tests/explorer.rs
# and the report test open report/ through file:// headless; under CI=true they fail without it.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  as_root=()
  [ "$(id -u)" = 0 ] || as_root=(sudo -n)
  if [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; then
    log "installing chromium (Debian package) for the report's browser tests"
    "${as_root[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq chromium >/dev/null
  else
    log "chromium is missing and apt-get needs root here: install it (apt-get install chromium) for the browser tests"
  fi
fi

# moto's S3 server (PyPI) for the remote tests (tests/integration/remote.rs starts it on a free
# port of 127.0.0.1); a project-local venv, installed once.
MOTO_VENV=.tools/moto-venv
if [ ! -x "$MOTO_VENV/bin/moto_server" ]; then
  log "installing moto[server] into $MOTO_VENV for the S3 remote tests"
  python3 -m venv "$MOTO_VENV" && "$MOTO_VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]' \
    || log "could not install moto: the S3 remote tests will say they are skipped"
fi
