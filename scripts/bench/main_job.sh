#!/usr/bin/env bash
# The main job's promises, measured on the real default study (network needed for the fetch):
#   1. the full study from an empty cache (fetch to report) within 20 minutes on 2 cores;
#   2. a no-op `icodegen repro` in under 1 second;
#   3. one transformer hyper-parameter changed: `status --json` lists exactly train@gpt2,
#      infer@gpt2, tag@gpt2 and analyze as stale, and only those run;
#   4. changed back: the same stages restored from the run-cache in seconds;
#   5. a third model (lstm) added: only its stages and analyze run.
# Runs in a fresh copy of the study's definition under $WORK (default: a temp folder), with the
# binaries of target/$PROFILE (default: debug, what scripts/main.sh builds). Prints a table.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
profile=${PROFILE:-debug}
work=${WORK:-$(mktemp -d /tmp/icodegen-main-job.XXXXXX)}
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
if [ "$profile" = release ]; then cargo build --release --workspace --bins; else cargo build --workspace --bins; fi
runner="$repo/target/$profile/icodegen"

mkdir -p "$work/data" "$work/scripts"
cp pipeline.yaml params.yaml "$work/"
cp -r data/corpus data/taxonomies "$work/data/"
cp scripts/fetch_corpus.sh "$work/scripts/"
cd "$work"
echo "main_job bench in $work ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))" >&2

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }
stale() {
  "$runner" status --json | python3 -c 'import json,sys; s=json.load(sys.stdin)["stages"]; print(" ".join(sorted(n for n,v in s.items() if v["state"]!="fresh")))'
}
set_param() { # set_param DOTTED.KEY YAML_VALUE
  python3 - "$1" "$2" <<'EOF'
import sys, re
key, value = sys.argv[1], sys.argv[2]
lines = open("params.yaml").read().split("\n")
path, out, done = key.split("."), [], False
stack = []
for line in lines:
    m = re.match(r"^(\s*)([A-Za-z0-9_]+):(.*)$", line)
    if m and not done:
        depth = len(m.group(1)) // 2
        stack = stack[:depth] + [m.group(2)]
        if stack == path:
            line = f"{m.group(1)}{m.group(2)}: {value}"
            done = True
    out.append(line)
if not done:
    sys.exit(f"params.yaml has no {key}")
open("params.yaml", "w").write("\n".join(out))
EOF
}

t0=$(now); "$runner" repro >full.log 2>&1; t1=$(now); full=$(elapsed "$t0" "$t1")
best=999
for _ in 1 2 3 4 5; do
  a=$(now); "$runner" repro -q >/dev/null; b=$(now)
  best=$(python3 -c "print(min($best, $b - $a))")
done
noop=$(python3 -c "print(f'{$best:.3f}')")

cp params.yaml params.orig.yaml
set_param train.models.gpt2.learning_rate 0.002
changed_stale=$(stale)
t0=$(now); "$runner" repro >change.log 2>&1; t1=$(now); change=$(elapsed "$t0" "$t1")
cp params.orig.yaml params.yaml
back_stale=$(stale)
t0=$(now); "$runner" repro >back.log 2>&1; t1=$(now); back=$(elapsed "$t0" "$t1")

python3 - <<'EOF'
text = open("params.yaml").read()
text = text.replace("models: [gru, gpt2]", "models: [gru, gpt2, lstm]")
text = text.replace("\ninfer:", """    lstm:
      model: {architecture: lstm, embedding: 128, hidden: 256, layers: 1, dropout: 0.1}
      context_length: 256
      batch_size: 16
      epochs: 1
      max_steps: 200
      max_minutes: 6
      learning_rate: 0.003
      warmup_steps: 20
      seed: 1
      max_valid_snippets: 200

infer:""", 1)
open("params.yaml", "w").write(text)
EOF
third_stale=$(stale)
t0=$(now); "$runner" repro >third.log 2>&1; t1=$(now); third=$(elapsed "$t0" "$t1")

cat <<EOF
| measure | value |
| --- | --- |
| full study from an empty cache (fetch to report) | ${full} s |
| no-op repro (best of 5) | ${noop} s |
| gpt2 learning rate changed: stale | ${changed_stale} |
| gpt2 learning rate changed: repro | ${change} s ($(tail -1 change.log)) |
| changed back: stale | ${back_stale} |
| changed back: repro | ${back} s ($(tail -1 back.log)) |
| third model added: not fresh | ${third_stale} |
| third model added: repro | ${third} s ($(tail -1 third.log)) |
EOF
grep -E "^Finished|^Done" full.log >&2 || true
echo "report: $work/report/index.html" >&2
