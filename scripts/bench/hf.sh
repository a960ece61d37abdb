#!/usr/bin/env bash
# Benchmark of native Hugging Face checkpoints in icodegen-infer against `transformers` (issue 13).
#
#   bash scripts/bench/hf.sh      # THREADS=2 BATCH=8 TESTBED_ROWS=24 MAX_CONTEXT=512 RUNS=5 by default
#
# 1. Inputs: real code (functions of the Python standard library, via scripts/bench/make_corpus.py;
#    the first TESTBED_ROWS test functions are the testbed), a byte-level BPE tokenizer trained on
#    the train functions, and randomly initialised checkpoints of realistic shape made with
#    `transformers` from configs and `save_pretrained(safe_serialization=True)`
#    (scripts/bench/hf_make_models.py): a llama (LAYERS x WIDTH = 12 x 768, GQA 12/4 heads, vocab
#    32000, context 2048, untied) and a gpt_bigcode (12 x 768, multi-query, vocab 49152, tied), each
#    saved in float32 and in bfloat16. Random weights cost the same as trained ones.
# 2. For each model and dtype (DTYPES; a float32 run reads the float32 checkpoint, a bfloat16 run the
#    bfloat16 one), RUNS runs of each side, alternating, on the same checkpoint folder, testbed,
#    tokens, windows, batches (icodegen-infer's plan: windows sorted by length, row_id, start), order
#    and thread count:
#    - icodegen-infer (release build, CARGO_TARGET_DIR=target-bench) --model DIR --dtype D --device cpu;
#    - transformers (scripts/bench/hf_transformers.py): from_pretrained(dtype=D), the same
#      statistics (log-softmax, rank, entropy, top-k), logits made as icodegen-infer makes them
#      (PROJECT=selected: scored positions only, chunked) or from model(...).logits (PROJECT=full).
#    Reported as medians: tokens/s (tokenization + scoring; loading and artifact IO excluded),
#    checkpoint load time (icodegen-infer: the metrics' checkpoint.load_seconds; transformers:
#    from_pretrained + the tokenizer) and peak RSS of the whole process (/usr/bin/time -v).
# 3. Load-only peak RSS against the checkpoint's size (issue 13 part 5: at most 1.2x): icodegen-infer
#    on a 1-row testbed, transformers' from_pretrained alone (LOAD_RUNS runs each), and the baseline
#    RSS of each process doing nothing (icodegen-infer refusing a missing folder; Python importing
#    torch and transformers), so the table shows the ratio both raw and above that baseline.
#    One more icodegen-infer load-only run is sampled by scripts/bench/hf_rss.py (RssAnon, the
#    weights' own copy, vs RssFile, memory-mapped files) to show where its peak comes from.
# 4. A check that both computed the same thing: the token ids of every row must be equal, and the
#    largest |log-prob difference| and the share of equal ranks are printed.
# The Markdown table is printed and written to $BENCH_DIR/results.md (.tools/bench/hf by default).
# Targets (issue 13): throughput ratio >= 1.0, load at least as fast, peak RSS no higher.
#
# Environment: THREADS BATCH (or MAX_BATCH_TOKENS: infer.max_batch_tokens) TESTBED_ROWS MAX_CONTEXT TOP_K RUNS LOAD_RUNS FAMILIES ("llama
# gpt_bigcode") DTYPES ("float32 bfloat16") LAYERS WIDTH PROJECT (selected|full) BENCH_DIR PY (the
# Python; by default `scripts/reference/venv.sh hf`: transformers 5.x over the torch of .tools/py-torch,
# ~5 GB the first time). About 15 minutes on a 2-core machine with the defaults (first run: plus
# the release build, the corpus and the models, about 20 minutes more).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
THREADS=${THREADS:-2}
BATCH=${BATCH:-8}
TESTBED_ROWS=${TESTBED_ROWS:-24}
MAX_CONTEXT=${MAX_CONTEXT:-512}
TOP_K=${TOP_K:-5}
RUNS=${RUNS:-5}
LOAD_RUNS=${LOAD_RUNS:-3}
FAMILIES=${FAMILIES:-llama gpt_bigcode}
DTYPES=${DTYPES:-float32 bfloat16}
LAYERS=${LAYERS:-12}
WIDTH=${WIDTH:-768}
PROJECT=${PROJECT:-selected}
MAX_BATCH_TOKENS=${MAX_BATCH_TOKENS:-}
WORK=${BENCH_DIR:-$ROOT/.tools/bench/hf}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target-bench}
export ICODEGEN_PROGRESS=0
# Both sides get the same OpenMP wait policy (icodegen-infer re-executes itself with PASSIVE unless
# the variable is set: crates/lm/src/openmp.rs).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
export TOKENIZERS_PARALLELISM=${TOKENIZERS_PARALLELISM:-true}
export HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error
log() { echo "[bench-hf] $(date +%H:%M:%S) $*" >&2; }

if [ ! -x /usr/bin/time ]; then
  log "installing GNU time (Debian package \`time\`) for peak RSS"
  apt-get install -y -qq time >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
fi
PY=${PY:-$(bash scripts/reference/venv.sh hf)}
log "building icodegen-infer (release) in $CARGO_TARGET_DIR"
cargo build --quiet --release -p icodegen-infer
BIN=$CARGO_TARGET_DIR/release/icodegen-infer
mkdir -p "$WORK"

CORPUS=$WORK/corpus
if [ ! -f "$CORPUS/testbed.parquet" ]; then
  "$PY" scripts/bench/make_corpus.py "$CORPUS" --max-test 200 >&2
fi
# The first TESTBED_ROWS test functions, and the shortest one alone (the load-only run).
"$PY" - "$CORPUS/testbed.parquet" "$WORK/testbed.parquet" "$WORK/testbed-1.parquet" "$TESTBED_ROWS" <<'PYTHON'
import sys
import pyarrow.compute as pc
import pyarrow.parquet as pq
source, out, one, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
table = pq.read_table(source)
if rows > table.num_rows:
    sys.exit(f"TESTBED_ROWS={rows}: the corpus has {table.num_rows} test functions")
pq.write_table(table.slice(0, rows), out, compression="zstd")
shortest = pc.index(pc.utf8_length(table["code"]), pc.min(pc.utf8_length(table["code"]))).as_py()
pq.write_table(table.slice(shortest, 1), one, compression="zstd")
PYTHON

MODELS=$WORK/models-${LAYERS}x$WIDTH
log "checkpoints in $MODELS (made once)"
"$PY" scripts/bench/hf_make_models.py "$MODELS" --snippets "$CORPUS/snippets.parquet" \
  --families "$(echo $FAMILIES | tr ' ' ,)" --dtypes "$(echo $DTYPES | tr ' ' ,)" --layers "$LAYERS" --width "$WIDTH" \
  2>&1 | grep hf_make_models >&2 || true

cat > "$WORK/params.yaml" <<YAML
infer:
  batch_size: $BATCH
  top_k: $TOP_K
  max_context: $MAX_CONTEXT
YAML
batch_tokens=()
if [ -n "$MAX_BATCH_TOKENS" ]; then
  echo "  max_batch_tokens: $MAX_BATCH_TOKENS" >> "$WORK/params.yaml"
  batch_tokens=(--max-batch-tokens "$MAX_BATCH_TOKENS")
fi

RUNS_DIR=$WORK/runs
rm -rf "$RUNS_DIR"
mkdir -p "$RUNS_DIR"
timed() { # timed OUT.time OUT.json OUT.err command...: peak RSS and wall time of the command
  local time_file=$1 json=$2 err=$3
  shift 3
  /usr/bin/time -v -o "$time_file" "$@" > "$json" 2> "$err"
}
rust() { # rust OUT_PREFIX MODEL_DIR DTYPE TESTBED
  timed "$1.time" "$1.out" "$1.err" "$BIN" --params "$WORK/params.yaml" --key infer --model "$2" --model-id bench \
    --testbed "$4" --tokens "$1.tokens.parquet" --scores "$1.scores.parquet" --metrics "$1.json" \
    --device cpu --threads "$THREADS" --dtype "$3" || { cat "$1.err" >&2; log "icodegen-infer failed ($1)"; return 1; }
}
transformers() { # transformers OUT_PREFIX MODEL_DIR DTYPE [TESTBED | --load-only] [extra...]
  local prefix=$1 model=$2 dtype=$3
  shift 3
  timed "$prefix.time" "$prefix.json" "$prefix.err" "$PY" scripts/bench/hf_transformers.py "$model" "$@" \
    --threads "$THREADS" --batch-size "$BATCH" --dtype "$dtype" --top-k "$TOP_K" --max-context "$MAX_CONTEXT" \
    --project "$PROJECT" "${batch_tokens[@]}" || { cat "$prefix.err" >&2; log "transformers failed ($prefix)"; return 1; }
}

log "baselines: icodegen-infer refusing a missing folder, Python importing torch + transformers"
timed "$RUNS_DIR/baseline-icodegen.time" /dev/null /dev/null "$BIN" --params "$WORK/params.yaml" --key infer \
  --model "$WORK/no-such-model" --model-id bench --testbed "$WORK/testbed-1.parquet" --tokens "$RUNS_DIR/x.parquet" \
  --scores "$RUNS_DIR/y.parquet" --device cpu --threads "$THREADS" || true
timed "$RUNS_DIR/baseline-transformers.time" /dev/null /dev/null "$PY" scripts/bench/hf_transformers.py --baseline

for family in $FAMILIES; do
  for dtype in $DTYPES; do
    model=$MODELS/$family-$dtype
    out=$RUNS_DIR/$family-$dtype
    mkdir -p "$out"
    log "$family $dtype: load-only x $LOAD_RUNS"
    for run in $(seq 1 "$LOAD_RUNS"); do
      rust "$out/load-icodegen-$run" "$model" "$dtype" "$WORK/testbed-1.parquet"
      transformers "$out/load-transformers-$run" "$model" "$dtype" --load-only
    done
    # Where the load-time peak comes from: RssAnon (the weights' copy) vs RssFile (mapped files).
    "$PY" scripts/bench/hf_rss.py -- "$BIN" --params "$WORK/params.yaml" --key infer --model "$model" --model-id bench \
      --testbed "$WORK/testbed-1.parquet" --tokens "$out/profile.tokens.parquet" --scores "$out/profile.scores.parquet" \
      --metrics "$out/profile.metrics.json" --device cpu --threads "$THREADS" --dtype "$dtype" > "$out/rss-profile.json" \
      || log "the RSS profile of icodegen-infer failed ($family $dtype)"
    for run in $(seq 1 "$RUNS"); do
      log "$family $dtype: run $run/$RUNS ($THREADS threads, batch $BATCH, context $MAX_CONTEXT)"
      extra=()
      [ "$run" = 1 ] && extra=(--dump "$out/transformers-logprobs.json")
      # Alternate which side goes first.
      if [ $((run % 2)) = 1 ]; then
        rust "$out/icodegen-$run" "$model" "$dtype" "$WORK/testbed.parquet"
        transformers "$out/transformers-$run" "$model" "$dtype" "$WORK/testbed.parquet" "${extra[@]}"
      else
        transformers "$out/transformers-$run" "$model" "$dtype" "$WORK/testbed.parquet" "${extra[@]}"
        rust "$out/icodegen-$run" "$model" "$dtype" "$WORK/testbed.parquet"
      fi
      [ "$run" = 1 ] || rm -f "$out/icodegen-$run.tokens.parquet"
    done
  done
done

COMMAND="THREADS=$THREADS BATCH=$BATCH ${MAX_BATCH_TOKENS:+MAX_BATCH_TOKENS=$MAX_BATCH_TOKENS }TESTBED_ROWS=$TESTBED_ROWS MAX_CONTEXT=$MAX_CONTEXT RUNS=$RUNS PROJECT=$PROJECT bash scripts/bench/hf.sh"
"$PY" scripts/bench/hf_report.py "$RUNS_DIR" --models "$MODELS" --families "$FAMILIES" --dtypes "$DTYPES" \
  --command "$COMMAND" --out "$WORK/results.md"
