#!/usr/bin/env python3
"""Inputs for scripts/bench/tag.sh: real code and real tokenizer offsets with random
log-probabilities (the benchmark measures tagging, not a model).

- testbed.parquet: ASCII-only functions of the running interpreter's standard library (real code
  no one here wrote), deduplicated, 80..4000 bytes;
- tokens.parquet: a byte-level BPE tokenizer trained by Hugging Face `tokenizers` on those
  functions (offsets not trimmed, so tokens carry their leading whitespace as GPT-2's do); every
  token but the first is scored, with log p drawn uniformly in log space; `--models` copies of
  the scores (one per model id) multiply the tokens without growing the testbed.

Both carry icodegen's artifact metadata and column types. For benchmarks only: row ids are
sha256 rather than blake3 (tag does not recompute them) and covariates are zero.

    python tag_bench_data.py OUT_DIR --rows N [--models M] [--seed S]
"""
import argparse
import ast
import hashlib
import os
import random
import sysconfig
import textwrap

import pyarrow as pa
import pyarrow.parquet as pq
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

COVARIATES = [
    "ast_depth", "n_ast_nodes", "n_error_nodes", "cyclomatic", "loc", "n_whitespace", "n_identifiers",
    "n_unique_words", "n_returns", "n_loops", "n_comparisons", "n_try_catch", "n_variables", "n_lambdas",
    "n_string_literals", "n_numbers", "n_assignments", "n_math_operations", "max_nested_blocks",
    "n_parenthesized", "n_modifiers",
]


def metadata(kind):
    return {
        b"icodegen.kind": kind.encode(),
        b"icodegen.schema_version": b"1",
        b"icodegen.stage": b"bench",
        b"icodegen.tool_version": b"bench",
    }


def functions(root, limit):
    seen = set()
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in ("test", "tests", "site-packages", "__pycache__"))
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            try:
                source = open(os.path.join(directory, name), encoding="utf-8").read()
                tree = ast.parse(source)
            except (SyntaxError, UnicodeDecodeError, ValueError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    code = ast.get_source_segment(source, node)
                    if code is None:
                        continue
                    code = textwrap.dedent(" " * node.col_offset + code) + "\n"
                    if not code.isascii() or not 80 <= len(code) <= 4000 or code in seen:
                        continue
                    seen.add(code)
                    yield code
                    if len(seen) >= limit:
                        return


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--models", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--root", default=sysconfig.get_paths()["stdlib"])
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    codes = list(functions(args.root, args.rows))
    ids = [hashlib.sha256(b"python\0" + code.encode()).hexdigest() for code in codes]
    testbed = {
        "row_id": ids,
        "pair_id": ids,
        "intervention": ["none"] * len(ids),
        "treatment": pa.array([0] * len(ids), pa.int8()),
        "snippet_id": ids,
        "language": ["python"] * len(ids),
        "code": codes,
        "mutation": pa.array([None] * len(ids), pa.string()),
        "n_bytes": pa.array([len(code.encode()) for code in codes], pa.int64()),
    }
    for name in COVARIATES:
        testbed[name] = pa.array([0] * len(ids), pa.int32())
    table = pa.table(testbed)
    pq.write_table(table.replace_schema_metadata(metadata("testbed")), f"{args.out}/testbed.parquet",
                   compression="zstd")

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=4096, min_frequency=2,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(codes, trainer)
    tokenizer.save(f"{args.out}/tokenizer.json")

    rng = random.Random(args.seed)
    encodings = tokenizer.encode_batch(codes)
    columns = {k: [] for k in ("model_id", "row_id", "position", "token_id", "token", "byte_start",
                               "byte_end", "logprob", "rank", "entropy", "topk_ids", "topk_logprobs")}
    for model in range(args.models):
        model_id = f"model{model}"
        for row_id, code, encoding in zip(ids, codes, encodings):
            # `tokenizers` reports character offsets in Python; on ASCII code they are bytes.
            for position in range(1, len(encoding.ids)):
                start, end = encoding.offsets[position]
                logprob = -rng.expovariate(1.0)
                columns["model_id"].append(model_id)
                columns["row_id"].append(row_id)
                columns["position"].append(position)
                columns["token_id"].append(encoding.ids[position])
                columns["token"].append(code[start:end])
                columns["byte_start"].append(start)
                columns["byte_end"].append(end)
                columns["logprob"].append(logprob)
                columns["rank"].append(1 + int(rng.random() * 10))
                columns["entropy"].append(rng.random() * 5)
                columns["topk_ids"].append([encoding.ids[position], 0, 1])
                columns["topk_logprobs"].append([logprob, -3.0, -4.0])
    item = lambda t: pa.list_(pa.field("item", t, nullable=False))
    tokens = pa.table({
        "model_id": pa.array(columns["model_id"], pa.string()),
        "row_id": pa.array(columns["row_id"], pa.string()),
        "position": pa.array(columns["position"], pa.int32()),
        "token_id": pa.array(columns["token_id"], pa.int32()),
        "token": pa.array(columns["token"], pa.string()),
        "byte_start": pa.array(columns["byte_start"], pa.int32()),
        "byte_end": pa.array(columns["byte_end"], pa.int32()),
        "logprob": pa.array(columns["logprob"], pa.float32()),
        "rank": pa.array(columns["rank"], pa.int32()),
        "entropy": pa.array(columns["entropy"], pa.float32()),
        "topk_ids": pa.array(columns["topk_ids"], item(pa.int32())),
        "topk_logprobs": pa.array(columns["topk_logprobs"], item(pa.float32())),
    })
    pq.write_table(tokens.replace_schema_metadata(metadata("tokens")), f"{args.out}/tokens.parquet",
                   compression="zstd", row_group_size=65536)
    print(f"{len(codes)} rows, {tokens.num_rows} scored tokens, {args.models} model(s) -> {args.out}")


if __name__ == "__main__":
    main()
