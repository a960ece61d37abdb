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
# "half": every other archive by size, so it holds about half of the bytes.
archives = sorted(os.listdir(os.path.join(corpus, "sdists")),
                  key=lambda name: os.path.getsize(os.path.join(corpus, "sdists", name)))
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
BIN="$(cd "$CARGO_TARGET_DIR/release" && pwd)"

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

# Runs a command under GNU time; prints "wall_seconds peak_rss_kb cpu_seconds".
timed() {
  local stats
  stats=$(mktemp)
  RAYON_NUM_THREADS=$THREADS ICODEGEN_PROGRESS=0 /usr/bin/time -f '%e %M %U %S' -o "$stats" "$@" >/dev/null 2>"$stats.err" || {
    cat "$stats.err" >&2
    exit 1
  }
  awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }' "$stats"
  rm -f "$stats" "$stats.err"
}

run_stages() { # $1 = corpus part (tree|half)
  local part=$1 ingest cov
  ingest=$(cd "$WORK" && timed "$BIN/icodegen-ingest" --key "ingest-$part" --out "$part-snippets.parquet" --report "$part-ingest.json")
  cov=$(cd "$WORK" && timed "$BIN/icodegen-preprocess" --key covariates --snippets "$part-snippets.parquet" --covariates "$part-covariates.parquet" --testbed "$part-testbed.parquet" --report "$part-preprocess.json")
  echo "$ingest $cov"
}

log "ingest + covariates on half of the corpus"
half=$(run_stages half)
log "ingest + covariates on the whole corpus"
whole=$(run_stages tree)
log "preprocess with every intervention (testbed = test split)"
full=$(cd "$WORK" && timed "$BIN/icodegen-preprocess" --key full --snippets tree-snippets.parquet --covariates full-covariates.parquet --testbed full-testbed.parquet --report full-preprocess.json)

log "lizard on the same files ($THREADS processes) and the agreement check"
"$VENV/bin/python" scripts/reference/lizard_cyclomatic.py compare --tree "$CORPUS/tree" \
  --snippets "$WORK/tree-snippets.parquet" --covariates "$WORK/tree-covariates.parquet" \
  --threads "$THREADS" --out "$WORK/lizard.json" >/dev/null

"$VENV/bin/python" - "$WORK" "$(python_bytes "$CORPUS/tree")" "$(python_bytes "$CORPUS/half")" "$THREADS" \
  $whole $half $full <<'PY'
import json, sys
work = sys.argv[1]
tree_bytes, half_bytes, threads = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
(ingest_s, ingest_kb, ingest_cpu, cov_s, cov_kb, cov_cpu,
 half_ingest_s, half_ingest_kb, half_ingest_cpu, half_cov_s, half_cov_kb, half_cov_cpu,
 full_s, full_kb, full_cpu) = map(float, sys.argv[5:20])
lizard = json.load(open(f"{work}/lizard.json"))
ingest = json.load(open(f"{work}/tree-ingest.json"))
full = json.load(open(f"{work}/full-preprocess.json"))
mb = tree_bytes / 1e6
ours_s, ours_cpu = ingest_s + cov_s, ingest_cpu + cov_cpu
lizard_s, lizard_cpu = lizard["lizard_seconds"], lizard["lizard_cpu_seconds"]
print(f"\nCorpus: {lizard['files']} .py files, {mb:.1f} MB; {ingest['rows']['read']} functions found, "
      f"{ingest['rows']['kept']} kept; {threads} threads (ours) / processes (lizard)\n")
print("| step | wall s | CPU s | MB/s (wall) | MB per CPU-second | peak RSS (MB) |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
def row(name, wall, cpu, kb):
    rss = f"{kb / 1024:.0f}" if kb else ""
    print(f"| {name} | {wall:.1f} | {cpu:.1f} | {mb / wall:.2f} | {mb / cpu:.2f} | {rss} |")
row("icodegen-ingest (extraction, filters, dedup, split)", ingest_s, ingest_cpu, ingest_kb)
row("icodegen-preprocess (covariates of every snippet)", cov_s, cov_cpu, cov_kb)
row("**ingest + covariates**", ours_s, ours_cpu, max(ingest_kb, cov_kb))
row(f"lizard {lizard['lizard_version']} (cyclomatic complexity only)", lizard_s, lizard_cpu, 0)
print(f"| **lizard / ours** | **{lizard_s / ours_s:.2f}x** | **{lizard_cpu / ours_cpu:.2f}x** | | | |")
print(f"\nPreprocess with all 6 interventions ({full['testbed']['snippets']} test snippets -> "
      f"{full['testbed']['rows']} testbed rows): {full_s:.1f} s wall, {full_cpu:.1f} CPU s, {full_kb / 1024:.0f} MB peak.")
print(f"Memory: {half_bytes / 1e6:.1f} MB of the corpus peaks at {half_ingest_kb / 1024:.0f} MB (ingest) / "
      f"{half_cov_kb / 1024:.0f} MB (covariates); all {mb:.1f} MB at {ingest_kb / 1024:.0f} MB / {cov_kb / 1024:.0f} MB.")
origins = ingest.get("covariates_of_file_functions", {}).values()
from_tree, reparsed = (sum(o[key] for o in origins) for key in ("from_file_tree", "reparsed"))
print(f"Covariates of the kept functions: {from_tree} from their subtree in the file's tree, "
      f"{reparsed} from a second parse of the function alone (equality not established).")
print(f"\nCyclomatic agreement with lizard: {lizard['equal']} of {lizard['snippets_compared']} functions "
      f"({100 * lizard['agreement']:.2f}%); {lizard['unmatched']} functions lizard does not report at all; "
      f"{100 * lizard['agreement_where_lizard_finds_the_function']:.2f}% of those it reports. "
      f"Details: {work}/lizard.json")
PY
