#!/usr/bin/env bash
# Creates .tools/bench-venv with the Python tools the reference scripts and benchmarks compare
# against (scipy, statsmodels, DoWhy, pyarrow). Idempotent; only PyPI is needed.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.tools/bench-venv
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import scipy, statsmodels, dowhy, pyarrow" 2>/dev/null; then
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "scipy==1.15.*" "dowhy==0.14" pyarrow
fi
"$VENV/bin/python" -c "import scipy, dowhy; print(f'scipy {scipy.__version__}, dowhy {dowhy.__version__}')"
