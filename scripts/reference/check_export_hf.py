#!/usr/bin/env python3
"""Offline end-to-end check of scripts/export_hf.py: for each family (GPT-2, GPT-Neo, CodeGen) a
tiny randomly initialised model built from a config is exported, scored by icodegen-infer on a
small testbed (non-ASCII code and code longer than the context included), and every
log-probability is compared with the eager Hugging Face model in PyTorch. Exits non-zero on a
mismatch above 1e-4. Run through scripts/reference/test_export_hf.sh.

    python scripts/reference/check_export_hf.py ICODEGEN_INFER_BINARY WORK_DIR
"""
import importlib.util
import json
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import torch
from tokenizers import Tokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOKENIZER = os.path.join(ROOT, "stages", "infer", "tests", "fixtures", "tiny-gpt2", "tokenizer.json")
STRIDE = 10
CODES = [
    "def add(a, b):\n    return a + b\n",
    "s = \"héllo wörld ✓\"  # ünïcode\n",
    "def f(values):\n" + "".join(f"    v{i} = values[{i}] + {i}\n" for i in range(6)) + "    return v0\n",
]
COVARIATES = [
    "ast_depth", "n_ast_nodes", "n_error_nodes", "cyclomatic", "loc", "n_whitespace", "n_identifiers",
    "n_unique_words", "n_returns", "n_loops", "n_comparisons", "n_try_catch", "n_variables", "n_lambdas",
    "n_string_literals", "n_numbers", "n_assignments", "n_math_operations", "max_nested_blocks",
    "n_parenthesized", "n_modifiers",
]


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_testbed(path):
    rows = [
        dict(row_id=f"row{i}", pair_id=f"row{i}", intervention="none", treatment=0, snippet_id=f"row{i}",
             language="python", code=code, mutation=None, n_bytes=len(code.encode()), **{c: 0 for c in COVARIATES})
        for i, code in enumerate(CODES)
    ]
    schema = pa.schema(
        [("row_id", pa.string()), ("pair_id", pa.string()), ("intervention", pa.string()), ("treatment", pa.int8()),
         ("snippet_id", pa.string()), ("language", pa.string()), ("code", pa.string()), ("mutation", pa.string()),
         ("n_bytes", pa.int64())] + [(c, pa.int32()) for c in COVARIATES]
    )
    metadata = {b"icodegen.kind": b"testbed", b"icodegen.schema_version": b"1"}
    pq.write_table(pa.Table.from_pylist(rows, schema=schema).replace_schema_metadata(metadata), path)


def reference(model, ids, context):
    scored, previous_end = {}, 1
    for begin in range(0, len(ids), STRIDE):
        end = min(begin + context, len(ids))
        window = torch.tensor([ids[begin:end]])
        with torch.no_grad():
            logits = model(input_ids=window, attention_mask=torch.ones_like(window), use_cache=False).logits[0]
        logprobs = torch.log_softmax(logits.double(), -1)
        for position in range(max(previous_end, begin + 1), end):
            scored[position] = logprobs[position - begin - 1, ids[position]].item()
        previous_end = end
        if end == len(ids):
            break
    return scored


def main():
    binary, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    export_hf = load("export_hf", os.path.join(ROOT, "scripts", "export_hf.py"))
    tokenizer = Tokenizer.from_file(TOKENIZER)
    bos = tokenizer.token_to_id("<|endoftext|>")
    testbed = os.path.join(work, "testbed.parquet")
    write_testbed(testbed)
    with open(os.path.join(work, "params.yaml"), "w") as handle:
        handle.write(f"infer:\n  batch_size: 2\n  stride: {STRIDE}\n  top_k: 3\n")
    failures = 0
    for family in export_hf.FAMILIES:
        out = os.path.join(work, family)
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "export_hf.py"), "--random", family,
                        "--tokenizer", TOKENIZER, "--seed", "5", out], check=True, stderr=subprocess.DEVNULL)
        model = export_hf.random_model(family, tokenizer.get_vocab_size(), bos, bos, 5, {}).eval()
        context = json.load(open(os.path.join(out, "config.json")))["context_length"]
        tokens_path = os.path.join(work, f"{family}-tokens.parquet")
        subprocess.run([binary, "--params", os.path.join(work, "params.yaml"), "--model", out, "--model-id", family,
                        "--testbed", testbed, "--tokens", tokens_path, "--scores", os.path.join(work, f"{family}-scores.parquet"),
                        "--device", "cpu"], check=True)
        tokens = pq.read_table(tokens_path).to_pylist()
        worst, count = 0.0, 0
        for i, code in enumerate(CODES):
            ids = [bos] + tokenizer.encode(code, add_special_tokens=False).ids
            expected = reference(model, ids, context)
            rows = sorted((row for row in tokens if row["row_id"] == f"row{i}"), key=lambda row: row["position"])
            if [row["position"] for row in rows] != list(range(1, len(ids))):
                print(f"{family}: row {i}: positions {[row['position'] for row in rows]}", file=sys.stderr)
                failures += 1
                continue
            for row in rows:
                worst = max(worst, abs(row["logprob"] - expected[row["position"]]))
                count += 1
        status = "ok" if worst <= 1e-4 else "MISMATCH"
        failures += status != "ok"
        print(f"export_hf {family}: {count} tokens, max |logprob - PyTorch eager| = {worst:.2e} {status}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
