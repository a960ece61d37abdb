#!/usr/bin/env bash
# Benchmark of `icodegen-ingest` + `icodegen-preprocess` (covariates) against lizard on a real
# Python corpus: the pinned sdists of scripts/bench/preprocess-corpus.txt (about 138 MB of .py).
#
# Reports, for the same files: MB/s of ingest + covariates, lizard's MB/s computing cyclomatic
# complexity, the ratio, peak RSS on half and on all of the corpus (memory must stay flat), and
# the agreement of our `cyclomatic` covariate with lizard, function by function.
#
# Usage: scripts/bench/preprocess.sh            (release build in $CARGO_TARGET_DIR or target-bench)
#        THREADS=2 scripts/bench/preprocess.sh  (threads for both tools; default: all cores)
# Everything it downloads or writes lives under .tools/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/../.."

LIZARD_VERSION=1.24.3
VENV=.tools/bench-venv
CORPUS=.tools/preprocess-corpus
WORK=.tools/preprocess-bench
THREADS=${THREADS:-$(nproc)}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target-bench}
log() { echo "[bench] $*" >&2; }

# 1. Python tools (idempotent).
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import lizard, pyarrow, sys; sys.exit(lizard.version != '$LIZARD_VERSION')" 2>/dev/null; then
  log "installing lizard==$LIZARD_VERSION and pyarrow into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "lizard==$LIZARD_VERSION" pyarrow
fi

# 2. The corpus: pinned sdists, extracted once (members that would leave the folder are refused).
mkdir -p "$CORPUS/sdists"
if [ ! -f "$CORPUS/.downloaded" ]; then
  log "downloading the pinned sdists"
  grep -v '^#' scripts/bench/preprocess-corpus.txt | xargs python3 -m pip download --quiet \
    --disable-pip-version-check --no-binary :all: --no-deps -d "$CORPUS/sdists"
  touch "$CORPUS/.downloaded"
fi
if [ ! -f "$CORPUS/.extracted" ]; then
  log "extracting into $CORPUS/tree and $CORPUS/half"
  rm -rf "$CORPUS/tree" "$CORPUS/half"
  "$VENV/bin/python" - "$CORPUS" <<'PY'
import os, sys, tarfile, zipfile
corpus = sys.argv[1]
archives = sorted(os.listdir(os.path.join(corpus, "sdists")))
for index, name in enumerate(archives):
    path = os.path.join(corpus, "sdists", name)
    for target in ["tree"] + (["half"] if index % 2 == 0 else []):
        out = os.path.join(corpus, target)
        if name.endswith((".tar.gz", ".tgz")):
            with tarfile.open(path) as archive:
                archive.extractall(out, filter="data")
        elif name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                archive.extractall(out)
PY
  touch "$CORPUS/.extracted"
fi

# 3. Release build of the two stages.
log "building (release) in $CARGO_TARGET_DIR"
cargo build --release --quiet -p icodegen-ingest -p icodegen-preprocess
BIN="$CARGO_TARGET_DIR/release"

mkdir -p "$WORK"
python_bytes() {
  find "$1" -name '*.py' -type f -printf '%s\n' | awk '{ s += $1 } END { print s }'
}

cat > "$WORK/params.yaml" <<EOF
ingest-tree:
  seed: 1
  languages: [python]
  sources:
    - kind: tree
      path: ../preprocess-corpus/tree
ingest-half:
  seed: 1
  languages: [python]
  sources:
    - kind: tree
      path: ../preprocess-corpus/half
covariates:
  testbed:
    splits: []
  interventions: []
full:
  interventions: [comments, bugfix, rename, reformat, deadcode, syntax]
EOF

# Runs a command under GNU time; prints "seconds peak_rss_kb".
timed() {
  local stats
  stats=$(mktemp)
  RAYON_NUM_THREADS=$THREADS ICODEGEN_PROGRESS=0 /usr/bin/time -f '%e %M' -o "$stats" "$@" >/dev/null 2>"$stats.err" || {
    cat "$stats.err" >&2
    exit 1
  }
  cat "$stats"
  rm -f "$stats" "$stats.err"
}

run_stages() { # $1 = corpus part (tree|half)
  local part=$1
  read -r ingest_s ingest_kb < <(cd "$WORK" && timed "../../$BIN/icodegen-ingest" --key "ingest-$part" --out "$part-snippets.parquet" --report "$part-ingest.json")
  read -r cov_s cov_kb < <(cd "$WORK" && timed "../../$BIN/icodegen-preprocess" --key covariates --snippets "$part-snippets.parquet" --covariates "$part-covariates.parquet" --testbed "$part-testbed.parquet" --report "$part-preprocess.json")
  echo "$ingest_s $ingest_kb $cov_s $cov_kb"
}

log "ingest + covariates on half of the corpus"
read -r half_ingest_s half_ingest_kb half_cov_s half_cov_kb < <(run_stages half)
log "ingest + covariates on the whole corpus"
read -r ingest_s ingest_kb cov_s cov_kb < <(run_stages tree)
log "preprocess with every intervention (testbed = test split)"
read -r full_s full_kb < <(cd "$WORK" && timed "../../$BIN/icodegen-preprocess" --key full --snippets tree-snippets.parquet --covariates full-covariates.parquet --testbed full-testbed.parquet --report full-preprocess.json)

log "lizard on the same files ($THREADS processes) and the agreement check"
"$VENV/bin/python" scripts/reference/lizard_cyclomatic.py compare --tree "$CORPUS/tree" \
  --snippets "$WORK/tree-snippets.parquet" --covariates "$WORK/tree-covariates.parquet" \
  --threads "$THREADS" --out "$WORK/lizard.json" >/dev/null

"$VENV/bin/python" - "$WORK" "$(python_bytes "$CORPUS/tree")" "$(python_bytes "$CORPUS/half")" \
  "$ingest_s" "$ingest_kb" "$cov_s" "$cov_kb" "$half_ingest_s" "$half_ingest_kb" "$half_cov_s" "$half_cov_kb" \
  "$full_s" "$full_kb" "$THREADS" <<'PY'
import json, sys
work = sys.argv[1]
tree_bytes, half_bytes = int(sys.argv[2]), int(sys.argv[3])
ingest_s, ingest_kb, cov_s, cov_kb, half_ingest_s, half_ingest_kb, half_cov_s, half_cov_kb, full_s, full_kb = map(float, sys.argv[4:14])
threads = sys.argv[14]
lizard = json.load(open(f"{work}/lizard.json"))
ingest = json.load(open(f"{work}/tree-ingest.json"))
full = json.load(open(f"{work}/full-preprocess.json"))
mb = tree_bytes / 1e6
ours_s = ingest_s + cov_s
print(f"\nCorpus: {lizard['files']} .py files, {mb:.1f} MB; {ingest['rows']['read']} functions found, "
      f"{ingest['rows']['kept']} kept; {threads} threads/processes\n")
print("| step | seconds | MB/s | peak RSS (MB) |")
print("| --- | ---: | ---: | ---: |")
print(f"| icodegen-ingest (tree-sitter extraction, filters, dedup) | {ingest_s:.1f} | {mb / ingest_s:.1f} | {ingest_kb / 1024:.0f} |")
print(f"| icodegen-preprocess (covariates of every snippet) | {cov_s:.1f} | {mb / cov_s:.1f} | {cov_kb / 1024:.0f} |")
print(f"| **ingest + covariates** | **{ours_s:.1f}** | **{mb / ours_s:.1f}** | {max(ingest_kb, cov_kb) / 1024:.0f} |")
print(f"| lizard {lizard['lizard_version']} (cyclomatic complexity only) | {lizard['lizard_seconds']:.1f} | {lizard['lizard_mb_per_s']:.2f} | |")
print(f"| **ratio (lizard time / ours)** | **{lizard['lizard_seconds'] / ours_s:.1f}x** | | |")
print(f"| preprocess with all 6 interventions ({full['testbed']['snippets']} test snippets, {full['testbed']['rows']} rows) | {full_s:.1f} | | {full_kb / 1024:.0f} |")
print(f"\nMemory: half the corpus ({half_bytes / 1e6:.1f} MB) peaks at {half_ingest_kb / 1024:.0f} MB (ingest) / {half_cov_kb / 1024:.0f} MB (covariates); "
      f"the whole corpus at {ingest_kb / 1024:.0f} MB / {cov_kb / 1024:.0f} MB.")
agreement = lizard["agreement"]
print(f"\nCyclomatic agreement with lizard: {lizard['equal']} of {lizard['snippets_compared']} functions "
      f"({100 * agreement:.2f}%); {lizard['unmatched']} not found by lizard at the same `def` line; "
      f"details in {work}/lizard.json")
PY
