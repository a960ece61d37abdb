#!/usr/bin/env bash
# Benchmark of the tag stage (issue 6): icodegen-tag against a Python reference of the original
# SEMERU binding, on the same code and tokens.
#
#   bash scripts/bench/tag.sh             # ROWS=1000 by default
#
# 1. Inputs (scripts/reference/tag_bench_data.py): ASCII functions of the Python standard
#    library as testbed.parquet, tokenized by a byte-level BPE trained with Hugging Face
#    `tokenizers` (its offsets are the token spans), random log-probs; a second copy with the
#    same testbed and 4 models (4x the tokens) for the memory check.
# 2. icodegen-tag (release build), the full stage: binding, node and concept aggregation, the
#    B=500 bootstrap of every (row, concept) and (model, concept), four Parquet outputs; on 1
#    and 2 threads. Then `cargo bench --bench align`: the binding and labels alone, 1 thread.
# 3. scripts/reference/tag_reference.py: py-tree-sitter with the original's O(tokens x leaves)
#    binding (every leaf's span recomputed for every token, as `get_token_type` did), and a
#    tuned variant that computes spans once per row. Both write labels only.
# 4. The labels of icodegen-tag and of the reference compared token by token (ASCII code, so
#    the original's character offsets equal bytes): they must be identical.
# 5. Peak memory (max RSS) of icodegen-tag on 1x and 4x the tokens: it must stay flat.
#
# Python tools go to .tools/bench-venv (created on first use); data and outputs to
# $CARGO_TARGET_DIR/bench/tag.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
ROWS=${ROWS:-1000}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target-tag}
export ICODEGEN_PROGRESS=0
WORK=$CARGO_TARGET_DIR/bench/tag
VENV=$ROOT/.tools/bench-venv
log() { echo "[bench] $*" >&2; }

if ! "$VENV/bin/python" -c "import tokenizers, tree_sitter, tree_sitter_python, pyarrow, yaml" 2>/dev/null; then
  log "creating $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "tokenizers==0.22.*" "tree-sitter==0.25.*" \
    "tree-sitter-python==0.25.0" "tree-sitter-java==0.23.5" pyarrow pyyaml
fi
PY=$VENV/bin/python

log "building icodegen-tag (release) in $CARGO_TARGET_DIR"
cargo build --quiet --release -p icodegen-tag
cargo bench --quiet --no-run -p icodegen-tag --bench align 2>/dev/null
BIN=$CARGO_TARGET_DIR/release/icodegen-tag
mkdir -p "$WORK"

for models in 1 4; do
  data=$WORK/rows$ROWS-models$models
  if [ ! -f "$data/tokens.parquet" ]; then
    log "making $data"
    "$PY" scripts/reference/tag_bench_data.py "$data" --rows "$ROWS" --models "$models" >&2
  fi
done
ONE=$WORK/rows$ROWS-models1
FOUR=$WORK/rows$ROWS-models4
printf 'tag:\n  bootstrap: 500\n  seed: 0\n  taxonomy_dir: %s\n' "$ROOT/data/taxonomies" > "$WORK/params.yaml"

# run_tag DATA THREADS NAME: the full stage, timed; NAME.time = "wall user sys max_rss_kb"
run_tag() {
  local data=$1 threads=$2 name=$3
  /usr/bin/time -f "%e %U %S %M" -o "$WORK/$name.time" "$BIN" --params "$WORK/params.yaml" \
    --testbed "$data/testbed.parquet" --tokens "$data/tokens.parquet" \
    --tags "$WORK/$name/tags.parquet" --concepts "$WORK/$name/concepts.parquet" \
    --nodes "$WORK/$name/nodes.parquet" --global "$WORK/$name/global.parquet" \
    --threads "$threads" 2>"$WORK/$name.log"
}

log "icodegen-tag, 1 thread"; run_tag "$ONE" 1 full-1t
log "icodegen-tag, 2 threads"; run_tag "$ONE" 2 full-2t
log "icodegen-tag, 2 threads, 4x tokens"; run_tag "$FOUR" 2 full-4x
log "binding alone (cargo bench --bench align)"
cargo bench --quiet -p icodegen-tag --bench align -- "$ONE/testbed.parquet" "$ONE/tokens.parquet" \
  "$ROOT/data/taxonomies" > "$WORK/align.json"
log "Python reference, original binding (slow)"
/usr/bin/time -f "%e %U %S %M" -o "$WORK/reference.time" "$PY" scripts/reference/tag_reference.py \
  "$ONE/testbed.parquet" "$ONE/tokens.parquet" "$ROOT/data/taxonomies" "$WORK/reference.parquet" \
  --variant original > "$WORK/reference.json"
log "Python reference, spans computed once per row"
"$PY" scripts/reference/tag_reference.py "$ONE/testbed.parquet" "$ONE/tokens.parquet" \
  "$ROOT/data/taxonomies" "$WORK/reference-precomputed.parquet" --variant precomputed \
  > "$WORK/reference-precomputed.json"

"$PY" - "$WORK" <<'PYTHON'
import json, sys
import pyarrow.parquet as pq

work = sys.argv[1]
def timed(name):
    wall, user, system, rss = open(f"{work}/{name}.time").read().split()
    return float(wall), float(user) + float(system), int(rss) / 1024
tokens = pq.ParquetFile(f"{work}/full-1t/tags.parquet").metadata.num_rows
tokens4 = pq.ParquetFile(f"{work}/full-4x/tags.parquet").metadata.num_rows
reference = json.load(open(f"{work}/reference.json"))
precomputed = json.load(open(f"{work}/reference-precomputed.json"))
align = json.load(open(f"{work}/align.json"))
assert reference["tokens"] == tokens == align["tokens"], (reference, tokens, align)

keys = ["model_id", "row_id", "position"]
labels = ["node_type", "parent_type", "category", "depth"]
ours = pq.read_table(f"{work}/full-1t/tags.parquet", columns=keys + labels).to_pylist()
theirs = pq.read_table(f"{work}/reference.parquet", columns=keys + labels).to_pylist()
theirs = {tuple(r[k] for k in keys): tuple(r[k] for k in labels) for r in theirs}
differ = [r for r in ours if tuple(r[k] for k in labels) != theirs.get(tuple(r[k] for k in keys))]
tuned = pq.read_table(f"{work}/reference-precomputed.parquet", columns=keys + labels).to_pylist()
tuned_differ = sum(1 for a, b in zip(sorted(ours, key=lambda r: tuple(r[k] for k in keys)),
                                     sorted(tuned, key=lambda r: tuple(r[k] for k in keys))) if a != b)

s1, c1, m1 = timed("full-1t"); s2, c2, m2 = timed("full-2t"); s4, c4, m4 = timed("full-4x")
sr, cr, mr = timed("reference")
with open("/proc/loadavg") as handle:
    load = handle.read().split()[0]
print(f"\n{tokens} scored tokens, {reference['rows']} rows (ASCII Python functions of the standard "
      f"library); load average at the end {load} on {__import__('os').cpu_count()} cores\n")
print("| run | threads | wall s | CPU s | tokens/s (wall) | vs reference, original binding (wall) "
      "| vs reference, spans once per row (wall) | max RSS MiB |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
def line(name, threads, seconds, cpu, rss):
    print(f"| {name} | {threads} | {seconds:.2f} | {cpu} | {tokens / seconds:,.0f} | {sr / seconds:.0f}x | "
          f"{precomputed['seconds'] / seconds:.1f}x | {rss} |")
line("icodegen-tag, full stage (B=500)", 1, s1, f"{c1:.2f}", f"{m1:.0f}")
line("icodegen-tag, full stage (B=500)", 2, s2, f"{c2:.2f}", f"{m2:.0f}")
line("icodegen-tag binding + labels (`--bench align`)", 1, align["seconds"], "", "")
line("Python reference, original binding", 1, sr, f"{cr:.2f}", f"{mr:.0f}")
line("Python reference, spans once per row", 1, precomputed["seconds"], "", "")
print(f"\nlabels differing from the reference: {len(differ)} of {tokens} "
      f"(spans-once variant: {tuned_differ})")
print(f"tree-sitter parsing inside `--bench align`: {align['parse_seconds']:.3f} s")
print(f"memory: {tokens} tokens -> {m2:.0f} MiB; {tokens4} tokens (4 models) -> {m4:.0f} MiB "
      f"(2 threads; {s4:.2f} s, {tokens4 / s4:,.0f} tokens/s)")
if differ:
    print("first differences:", differ[:5])
    sys.exit(1)
PYTHON
