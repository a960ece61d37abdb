#!/usr/bin/env bash
# fetch_corpus.sh REQUIREMENTS OUT_DIR
# Downloads the pinned sdists listed (with sha256 hashes) in REQUIREMENTS into OUT_DIR with
# `pip download --no-binary :all: --no-deps --require-hashes`: pip refuses any file whose hash differs.
# The folder appears only when every download succeeded (temp folder, then rename).
set -euo pipefail
requirements=${1:?usage: fetch_corpus.sh REQUIREMENTS OUT_DIR}
out=${2:?usage: fetch_corpus.sh REQUIREMENTS OUT_DIR}
[ -f "$requirements" ] || { echo "fetch_corpus.sh: no such file: $requirements" >&2; exit 2; }
parent=$(dirname "$out")
mkdir -p "$parent"
tmp=$(mktemp -d "$parent/.$(basename "$out").tmp-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --disable-pip-version-check --no-binary :all: --no-deps \
  --require-hashes -r "$requirements" -d "$tmp"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "fetch_corpus.sh: $(ls "$out" | wc -l) sdists in $out" >&2
