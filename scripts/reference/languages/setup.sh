#!/usr/bin/env bash
# Creates (idempotently) .tools/lang-venv with the pinned tools of the per-language reference
# suite (requirements.txt: lizard, py-tree-sitter and the grammar versions of Cargo.lock,
# pyarrow) and prints the path of its python. Needs only PyPI.
set -euo pipefail
cd "$(dirname "$0")/../../.."
VENV=.tools/lang-venv
REQUIREMENTS=scripts/reference/languages/requirements.txt
marker="$VENV/.requirements-$(sha256sum "$REQUIREMENTS" | cut -c1-16)"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if [ ! -f "$marker" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS" >&2
  rm -f "$VENV"/.requirements-*
  touch "$marker"
fi
echo "$PWD/$VENV/bin/python"
