#!/usr/bin/env bash
# Benchmark of the infer stage (issue 5), and training throughput of the default study sizes.
#
#   bash scripts/bench/infer.sh            # THREADS=2 BATCH=8 MODEL=small by default
#
# 1. Inputs: real code (functions of the Python standard library: snippets + testbed, via
#    scripts/bench/make_corpus.py), an 8192-token BPE tokenizer trained by icodegen-train, and a
#    randomly initialised GPT-2 exported to TorchScript by scripts/export_hf.py
#    (MODEL=small: GPT-2 small's shape, 12 layers x 768, 50257 logits, context 1024;
#     MODEL=mini: 4 layers x 256, context 512). Random weights cost the same as trained ones.
# 2. The same TorchScript model, testbed, windows, batch size, order and thread count through
#    icodegen-infer (release build) and through a plain PyTorch loop in Python
#    (scripts/bench/infer_torch.py); both time tokenization + scoring (model loading and
#    artifact IO excluded; icodegen-infer's wall time is printed too). Their log-probs are
#    compared as a check that both computed the same thing.
# 3. Achieved GFLOP/s (2 x parameters-in-matmuls + attention, per token) against the CPU's
#    nominal fp32 peak (cores x base GHz x 2 FMA units x SIMD lanes x 2).
# 4. Training tokens/s of the default study's GRU and GPT-2 (icodegen-train, BENCH_STEPS steps).
# 5. Fixed batches vs token budgets (issue 14): icodegen-infer over the same model and testbed
#    with `infer.batch_size` = each of FIXED (windows per forward pass) and with
#    `infer.max_batch_tokens` = each of BUDGETS (tokens per forward pass, padding counted),
#    side by side: batches, padding fraction (share of the tokens read that were padding) and
#    scored tokens/s from the `--metrics` JSON. Windows are sorted by length in both modes.
#
# Needs the Python environment of scripts/reference/venv.sh (created on first use, ~5 GB).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
THREADS=${THREADS:-2}
BATCH=${BATCH:-8}
MODEL=${MODEL:-small}
TESTBED_ROWS=${TESTBED_ROWS:-150}
BENCH_STEPS=${BENCH_STEPS:-60}
FIXED=${FIXED:-1 $BATCH 32}
BUDGETS=${BUDGETS:-1024 2048 4096 8192}
WORK=${BENCH_DIR:-$ROOT/.tools/bench/infer}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target-bench}
export ICODEGEN_PROGRESS=0
# Both sides get the same OpenMP wait policy: icodegen-train/infer re-execute themselves with
# PASSIVE unless the variable is set (crates/lm/src/openmp.rs), so set it for Python too.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
PY=$(bash scripts/reference/venv.sh)
log() { echo "[bench] $*" >&2; }

log "building release binaries in $CARGO_TARGET_DIR"
cargo build --quiet --release -p icodegen-infer -p icodegen-train
BIN=$CARGO_TARGET_DIR/release
mkdir -p "$WORK"

if [ ! -f "$WORK/corpus-$TESTBED_ROWS/testbed.parquet" ]; then
  "$PY" scripts/bench/make_corpus.py "$WORK/corpus-$TESTBED_ROWS" --max-test "$TESTBED_ROWS" >&2
fi
CORPUS=$WORK/corpus-$TESTBED_ROWS
cat > "$WORK/params.yaml" <<YAML
tokenizer:
  vocab_size: 8192
  min_frequency: 2
infer:
  batch_size: $BATCH
  top_k: 5
tokenizer-train:
  vocab_size: 2048
  min_frequency: 2
train:
  # The default study's sizes (params.yaml: tokenizer.vocab_size 2048, train.models.{gru,gpt2});
  # keep in sync. Only the budget differs: BENCH_STEPS steps here.
  gru:
    model: {architecture: gru, embedding: 128, hidden: 256, layers: 1, dropout: 0.1}
    context_length: 256
    batch_size: 16
    epochs: 0
    max_steps: $BENCH_STEPS
    learning_rate: 0.003
    warmup_steps: 20
    seed: 1
    max_valid_snippets: 200
  gpt2:
    model: {architecture: gpt2, layers: 2, heads: 4, width: 128, dropout: 0.1}
    context_length: 256
    batch_size: 16
    epochs: 0
    max_steps: $BENCH_STEPS
    learning_rate: 0.001
    warmup_steps: 20
    seed: 1
    max_valid_snippets: 200
YAML
if [ ! -f "$CORPUS/tokenizer.json" ]; then
  "$BIN/icodegen-train" tokenizer --params "$WORK/params.yaml" --snippets "$CORPUS/snippets.parquet" --out "$CORPUS/tokenizer.json"
fi

case "$MODEL" in
  small) OVERRIDES='{"vocab_size": 50257, "n_positions": 1024, "n_embd": 768, "n_layer": 12, "n_head": 12}'; LAYERS=12; WIDTH=768; VOCAB=50257 ;;
  mini) OVERRIDES='{"n_positions": 512, "n_embd": 256, "n_layer": 4, "n_head": 4}'; LAYERS=4; WIDTH=256; VOCAB=8192 ;;
  *) echo "MODEL must be small or mini" >&2; exit 2 ;;
esac
MODEL_DIR=$WORK/gpt2-$MODEL
if [ ! -f "$MODEL_DIR/model.pt" ]; then
  log "exporting a random GPT-2 ($MODEL) to TorchScript"
  "$PY" scripts/export_hf.py --random gpt2 --tokenizer "$CORPUS/tokenizer.json" --overrides "$OVERRIDES" "$MODEL_DIR" 2>&1 | grep export_hf >&2
fi

log "icodegen-infer: $THREADS threads, batch $BATCH"
start=$(date +%s.%N)
"$BIN/icodegen-infer" --params "$WORK/params.yaml" --model "$MODEL_DIR" --model-id bench --testbed "$CORPUS/testbed.parquet" \
  --tokens "$WORK/tokens.parquet" --scores "$WORK/scores.parquet" --metrics "$WORK/rust.json" --device cpu --threads "$THREADS"
end=$(date +%s.%N)
RUST_WALL=$(echo "$end - $start" | bc)
rm -f "$WORK"/batching-*.json
for mode in $(for b in $FIXED; do echo "batch_size=$b"; done; for t in $BUDGETS; do echo "max_batch_tokens=$t"; done); do
  key=${mode%%=*}
  value=${mode#*=}
  if [ "$mode" = "batch_size=$BATCH" ]; then
    cp "$WORK/rust.json" "$WORK/batching-$key-$value.json"
    continue
  fi
  printf 'infer:\n  batch_size: %s\n  top_k: 5\n' "$([ "$key" = batch_size ] && echo "$value" || echo "$BATCH")" \
    > "$WORK/params-batching.yaml"
  [ "$key" = max_batch_tokens ] && echo "  max_batch_tokens: $value" >> "$WORK/params-batching.yaml"
  log "icodegen-infer: $THREADS threads, $key $value"
  "$BIN/icodegen-infer" --params "$WORK/params-batching.yaml" --model "$MODEL_DIR" --model-id bench \
    --testbed "$CORPUS/testbed.parquet" --tokens "$WORK/batching-tokens.parquet" --scores "$WORK/batching-scores.parquet" \
    --metrics "$WORK/batching-$key-$value.json" --device cpu --threads "$THREADS"
done
rm -f "$WORK/batching-tokens.parquet" "$WORK/batching-scores.parquet"

log "PyTorch loop: $THREADS threads, batch $BATCH"
"$PY" scripts/bench/infer_torch.py "$MODEL_DIR" "$CORPUS/testbed.parquet" --threads "$THREADS" --batch-size "$BATCH" --top-k 5 \
  --dump "$WORK/torch-logprobs.json" > "$WORK/torch.json"

log "training throughput at the default study sizes ($BENCH_STEPS steps each)"
if [ ! -f "$CORPUS/tokenizer-2048.json" ]; then
  "$BIN/icodegen-train" tokenizer --params "$WORK/params.yaml" --key tokenizer-train --snippets "$CORPUS/snippets.parquet" \
    --out "$CORPUS/tokenizer-2048.json"
fi
for name in gru gpt2; do
  "$BIN/icodegen-train" model --params "$WORK/params.yaml" --key "train.$name" --snippets "$CORPUS/snippets.parquet" \
    --tokenizer "$CORPUS/tokenizer-2048.json" --out "$WORK/train-$name" --device cpu --threads "$THREADS" 2>&1 | tail -1 >&2
done

"$PY" - "$WORK" "$RUST_WALL" "$LAYERS" "$WIDTH" "$VOCAB" "$THREADS" "$FIXED" "$BUDGETS" <<'PYTHON'
import json, os, sys
import pyarrow.parquet as pq
work, rust_wall, layers, width, vocab, threads = sys.argv[1], float(sys.argv[2]), *map(int, sys.argv[3:7])
fixed, budgets = sys.argv[7].split(), sys.argv[8].split()
rust = json.load(open(f"{work}/rust.json"))
torch_run = json.load(open(f"{work}/torch.json"))
# Same computation? Compare every log-prob.
reference = json.load(open(f"{work}/torch-logprobs.json"))
tokens = pq.read_table(f"{work}/tokens.parquet", columns=["row_id", "position", "logprob"]).to_pylist()
worst = max(abs(row["logprob"] - reference[row["row_id"]][row["position"] - 1]) for row in tokens)
assert len(tokens) == torch_run["scored_tokens"] == rust["scored_tokens"], (len(tokens), torch_run["scored_tokens"])
ratio = rust["tokens_per_second"] / torch_run["tokens_per_second"]
# FLOPs per token: matmuls of the blocks and the output layer, plus attention over the mean window.
mean_time = min(rust["settings"]["context"], 2 * rust["scored_tokens"] / max(1, rust["rows"] - rust["skipped_rows"]))
flops = 2 * (12 * layers * width * width + width * vocab) + 4 * layers * width * mean_time / 2
cpu_ghz = None
for line in open("/proc/cpuinfo"):
    if line.startswith("cpu MHz"):
        cpu_ghz = float(line.split(":")[1]) / 1000
        break
flags = open("/proc/cpuinfo").read()
lanes = 16 if " avx512f" in flags else 8 if " avx2" in flags else 4
peak = threads * cpu_ghz * 2 * lanes * 2
print()
print(f"infer benchmark: GPT-2 {layers}x{width}, vocab {vocab}, {rust['rows']} rows, {rust['scored_tokens']} tokens, "
      f"{threads} threads, batch {rust['settings']['batch_size']}, context {rust['settings']['context']}")
print(f"| runner | tokens/s | scoring s | GFLOP/s | % of peak |")
print(f"| --- | ---: | ---: | ---: | ---: |")
for name, run in (("icodegen-infer", rust), ("PyTorch loop", torch_run)):
    gflops = flops * run["tokens_per_second"] / 1e9
    print(f"| {name} | {run['tokens_per_second']:.0f} | {run['scoring_seconds']:.2f} | {gflops:.1f} | {100 * gflops / peak:.0f}% |")
print(f"ratio icodegen-infer / PyTorch: {ratio:.2f} (target >= 1.0); icodegen-infer wall time incl. load and Parquet: {rust_wall:.2f} s")
print(f"max |logprob difference| between the two: {worst:.2e}")
print(f"nominal fp32 peak: {threads} cores x {cpu_ghz:.2f} GHz x 2 FMA x {lanes} lanes x 2 = {peak:.0f} GFLOP/s")
print()
print("| training (default study size) | parameters | tokens/s | GFLOP/s | steps |")
print("| --- | ---: | ---: | ---: | ---: |")
for name in ("gru", "gpt2"):
    metrics = json.load(open(f"{work}/train-{name}/metrics.json"))
    print(f"| {name} | {metrics['parameters']} | {metrics['tokens_per_second']:.0f} | {metrics['gflops_per_second'] or 0:.1f} | {metrics['steps']} |")
print()
print(f"fixed batches vs token budgets: the model above, the same {rust['rows']} rows and {rust['scored_tokens']} scored tokens, "
      f"{threads} threads, windows sorted by length in both modes")
print("| batching | batches | padding fraction | tokens/s | scoring s |")
print("| --- | ---: | ---: | ---: | ---: |")
for key, values in (("batch_size", fixed), ("max_batch_tokens", budgets)):
    for value in values:
        run = json.load(open(f"{work}/batching-{key}-{value}.json"))
        assert run["scored_tokens"] == rust["scored_tokens"]
        label = f"fixed: {value} windows" if key == "batch_size" else f"budget: {value} tokens"
        print(f"| {label} | {run['batches']} | {run['padding_fraction']:.4f} | {run['tokens_per_second']:.0f} | {run['scoring_seconds']:.2f} |")
PYTHON
