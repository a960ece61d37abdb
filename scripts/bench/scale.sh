#!/usr/bin/env bash
# Scale test of the whole study (issue 14, part 7).
#
#   bash scripts/bench/scale.sh [ROWS...]      # default: 10000 100000 testbed rows
#
# For each ROWS, a held-out testbed of about ROWS testbed rows (testbed.parquet rows: every
# snippet once as `none`, plus the control/treated rows of comments, bugfix, rename, syntax)
# made from real code, run through ingest -> preprocess -> infer -> tag -> analyze with the
# stage binaries of the README's build (dev profile, target/debug), each under /usr/bin/time -v:
# wall time, peak RSS and the size of its outputs (what the runner would copy into its cache for
# the stage). Writes .tools/bench/scale/results.md (every size measured so far) and prints it.
#
# Inputs, made once and reused across runs (under $WORK = .tools/bench/scale):
# - raw/{train,test}: the default corpus' pinned sdists (scripts/fetch_corpus.sh);
# - gen/S<snippets>: S distinct renamed variants of the corpus' functions
#   (scripts/bench/scale_make.py), S = ROWS / ROWS_PER_SNIPPET; ingest reads them as a `tree`
#   source in the test split, beside the train sdists (train/valid), with exact and
#   near-duplicate removal on (defaults), so near-duplicate removal checks every variant against
#   the train split;
# - shared/: a tokenizer and the tiny models (MODELS, the default study's shapes, TRAIN_STEPS
#   steps) trained on the train split of the corpus alone, the same for every size.
#
# Environment: MODELS (default "gru gpt2"), TRAIN_STEPS (100), ROWS_PER_SNIPPET (7.08, testbed
# rows per held-out snippet, measured), THREADS (unset: all cores), SKIP_BUILD=1,
# BENCH_DIR (default .tools/bench/scale).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
WORK=${BENCH_DIR:-.tools/bench/scale}
MODELS=${MODELS:-gru gpt2}
TRAIN_STEPS=${TRAIN_STEPS:-100}
ROWS_PER_SNIPPET=${ROWS_PER_SNIPPET:-7.08}
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10000 100000)
export ICODEGEN_PROGRESS=0
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug
log() { echo "[scale] $(date -u +%H:%M:%S) $*" >&2; }
command -v /usr/bin/time >/dev/null || { echo "scale.sh needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "building the stage binaries (dev profile, as the README)"
  cargo build --quiet -p icodegen-ingest -p icodegen-preprocess -p icodegen-infer -p icodegen-tag \
    -p icodegen-analyze -p icodegen-train
fi
mkdir -p "$WORK"
for split in train test; do
  [ -d "$WORK/raw/$split" ] || bash scripts/fetch_corpus.sh "data/corpus/$split.txt" "$WORK/raw/$split"
done

# measure LABEL RUN_DIR OUTPUTS... -- COMMAND...: runs COMMAND under time -v, appends a line
# (label, wall s, peak RSS KB, output bytes) to RUN_DIR/measure.tsv.
measure() {
  local label=$1 dir=$2
  shift 2
  local outs=()
  while [ "$1" != -- ]; do outs+=("$1"); shift; done
  shift
  log "$label"
  if ! /usr/bin/time -v -o "$dir/time-$label.txt" "$@" > "$dir/log-$label.txt" 2>&1; then
    tail -20 "$dir/log-$label.txt" >&2
    echo "[scale] $label failed (log: $dir/log-$label.txt)" >&2
    exit 1
  fi
  local wall rss bytes
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$dir/time-$label.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$dir/time-$label.txt")
  bytes=$(du -cb "${outs[@]}" | tail -1 | cut -f1)
  printf '%s\t%s\t%s\t%s\n' "$label" "$wall" "$rss" "$bytes" >> "$dir/measure.tsv"
  log "$label: ${wall}s, peak RSS $((rss / 1024)) MB, outputs $((bytes / 1024 / 1024)) MB"
}

# Tokenizer and models: trained once on the corpus' train split (the default study's shapes).
SHARED=$WORK/shared
mkdir -p "$SHARED"
cat > "$SHARED/params.yaml" <<YAML
ingest:
  seed: 42
  languages: [python]
  splits: {train: 0.9, valid: 0.1, test: 0.0}
  sources:
    - {kind: archive, path: $WORK/raw/train}
tokenizer:
  vocab_size: 2048
  min_frequency: 2
train:
  models:
    gru:
      model: {architecture: gru, embedding: 128, hidden: 256, layers: 1, dropout: 0.1}
      context_length: 256
      batch_size: 16
      epochs: 4
      max_steps: $TRAIN_STEPS
      max_minutes: 8
      learning_rate: 0.003
      warmup_steps: 20
      seed: 1
      max_valid_snippets: 200
    gpt2:
      model: {architecture: gpt2, layers: 2, heads: 4, width: 128, dropout: 0.1}
      context_length: 256
      batch_size: 16
      epochs: 4
      max_steps: $TRAIN_STEPS
      max_minutes: 8
      learning_rate: 0.001
      warmup_steps: 20
      seed: 1
      max_valid_snippets: 200
YAML
if [ ! -f "$SHARED/tokenizer.json" ]; then
  rm -f "$SHARED/measure.tsv"
  measure ingest-train "$SHARED" "$SHARED/snippets.parquet" -- "$BIN/icodegen-ingest" --params "$SHARED/params.yaml" \
    --out "$SHARED/snippets.parquet" --report "$SHARED/ingest.json"
  measure tokenizer "$SHARED" "$SHARED/tokenizer.json" -- "$BIN/icodegen-train" tokenizer --params "$SHARED/params.yaml" \
    --snippets "$SHARED/snippets.parquet" --out "$SHARED/tokenizer.json"
fi
for model in $MODELS; do
  if [ ! -f "$SHARED/models/$model/config.json" ]; then
    measure "train-$model" "$SHARED" "$SHARED/models" -- "$BIN/icodegen-train" model --params "$SHARED/params.yaml" \
      --key "train.models.$model" --snippets "$SHARED/snippets.parquet" --tokenizer "$SHARED/tokenizer.json" \
      --out "$SHARED/models/$model"
  fi
done

for rows in "${SIZES[@]}"; do
  snippets=$(python3 -c "import math; print(math.ceil($rows / $ROWS_PER_SNIPPET))")
  GEN=$WORK/gen/S$snippets
  if [ ! -f "$GEN/summary.json" ]; then
    log "generating $snippets held-out functions into $GEN"
    rm -rf "$GEN"
    mkdir -p "$WORK/gen"
    python3 scripts/bench/scale_make.py "$WORK/raw/train" "$WORK/raw/test" --snippets "$snippets" --out "$GEN" \
      > "$GEN.summary.tmp"
    mv "$GEN.summary.tmp" "$GEN/summary.json"
  fi
  RUN=$WORK/runs/$rows
  rm -rf "$RUN"
  mkdir -p "$RUN/results"
  git describe --always --dirty > "$RUN/commit.txt" 2>/dev/null || true
  cat > "$RUN/params.yaml" <<YAML
ingest:
  seed: 42
  languages: [python]
  splits: {train: 0.9, valid: 0.1, test: 0.0}
  sources:
    - {kind: archive, path: $WORK/raw/train}
    - {kind: tree, path: $GEN, split: test}
preprocess:
  seed: 42
  testbed:
    splits: [test]
  interventions: [comments, bugfix, rename, syntax]
infer:
  batch_size: 16
  top_k: 5
tag:
  bootstrap: 500
  seed: 7
  taxonomy_dir: $ROOT/data/taxonomies
analyze:
  seed: 20230206
  bootstrap: {resamples: 1000, confidence_level: 0.95, method: bca}
YAML
  log "== $rows testbed rows ($snippets generated functions) in $RUN"
  measure ingest "$RUN" "$RUN/snippets.parquet" -- "$BIN/icodegen-ingest" --params "$RUN/params.yaml" \
    --out "$RUN/snippets.parquet" --report "$RUN/ingest.json"
  measure preprocess "$RUN" "$RUN/covariates.parquet" "$RUN/testbed.parquet" -- "$BIN/icodegen-preprocess" \
    --params "$RUN/params.yaml" --snippets "$RUN/snippets.parquet" --covariates "$RUN/covariates.parquet" \
    --testbed "$RUN/testbed.parquet" --report "$RUN/preprocess.json"
  for model in $MODELS; do
    out=$RUN/results/$model
    mkdir -p "$out"
    measure "infer-$model" "$RUN" "$out/tokens.parquet" "$out/scores.parquet" -- "$BIN/icodegen-infer" \
      --params "$RUN/params.yaml" --model "$SHARED/models/$model" --model-id "$model" --testbed "$RUN/testbed.parquet" \
      --tokens "$out/tokens.parquet" --scores "$out/scores.parquet" --metrics "$RUN/infer-$model.json" \
      ${THREADS:+--threads $THREADS}
    measure "tag-$model" "$RUN" "$out/tags.parquet" "$out/concepts.parquet" "$out/nodes.parquet" \
      "$out/concepts_global.parquet" -- "$BIN/icodegen-tag" --params "$RUN/params.yaml" --testbed "$RUN/testbed.parquet" \
      --tokens "$out/tokens.parquet" --tags "$out/tags.parquet" --concepts "$out/concepts.parquet" \
      --nodes "$out/nodes.parquet" --global "$out/concepts_global.parquet"
  done
  measure analyze "$RUN" "$RUN/report" -- "$BIN/icodegen-analyze" study --params "$RUN/params.yaml" \
    --testbed "$RUN/testbed.parquet" --covariates "$RUN/covariates.parquet" --models-dir "$RUN/results" \
    --out "$RUN/report"
done

python3 scripts/bench/scale_report.py "$WORK" > "$WORK/results.md"
cat "$WORK/results.md"
