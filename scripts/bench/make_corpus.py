#!/usr/bin/env python3
"""Benchmark inputs from real code: every function of a Python source tree (the standard library
of the running interpreter by default) as `snippets.parquet` (split train/valid/test by file) and
the test functions as `testbed.parquet` (intervention `none`), with icodegen's artifact schemas
and metadata. For benchmarks only: ids are sha256 rather than blake3 (Python has no blake3),
and covariates are zero.

    python scripts/bench/make_corpus.py OUT_DIR [--root DIR] [--max-test N] [--max-train N]
"""
import argparse
import ast
import hashlib
import os
import sysconfig
import textwrap

import pyarrow as pa
import pyarrow.parquet as pq

COVARIATES = [
    "ast_depth", "n_ast_nodes", "n_error_nodes", "cyclomatic", "loc", "n_whitespace", "n_identifiers",
    "n_unique_words", "n_returns", "n_loops", "n_comparisons", "n_try_catch", "n_variables", "n_lambdas",
    "n_string_literals", "n_numbers", "n_assignments", "n_math_operations", "max_nested_blocks",
    "n_parenthesized", "n_modifiers",
]


def content_id(language, code):
    return hashlib.sha256(language.encode() + b"\0" + code.encode()).hexdigest()


def functions(root):
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in ("test", "tests", "idlelib", "site-packages", "__pycache__"))
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            path = os.path.join(directory, name)
            try:
                source = open(path, encoding="utf-8").read()
                tree = ast.parse(source)
            except (SyntaxError, UnicodeDecodeError, ValueError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    segment = ast.get_source_segment(source, node)
                    if segment and 40 <= len(segment) <= 6000:
                        yield os.path.relpath(path, root), node, textwrap.dedent(" " * node.col_offset + segment) + "\n"


def split_of(path):
    bucket = int(hashlib.sha256(path.encode()).hexdigest()[:8], 16) % 100
    return "train" if bucket < 80 else "valid" if bucket < 90 else "test"


def write(table, path, kind):
    metadata = {
        b"icodegen.kind": kind.encode(),
        b"icodegen.schema_version": b"1",
        b"icodegen.stage": b"bench",
        b"icodegen.tool_version": b"bench",
    }
    pq.write_table(table.replace_schema_metadata(metadata), path, compression="zstd")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--root", default=sysconfig.get_paths()["stdlib"])
    parser.add_argument("--max-train", type=int, default=6000)
    parser.add_argument("--max-test", type=int, default=200)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    snippets, seen, counts = [], set(), {"train": 0, "valid": 0, "test": 0}
    limits = {"train": args.max_train, "valid": max(1, args.max_train // 10), "test": args.max_test}
    for path, node, code in functions(args.root):
        split = split_of(path)
        snippet_id = content_id("python", code)
        if snippet_id in seen or counts[split] >= limits[split]:
            continue
        seen.add(snippet_id)
        counts[split] += 1
        snippets.append(
            dict(snippet_id=snippet_id, language="python", code=code, docstring=ast.get_docstring(node), source="tree",
                 repo="python-stdlib", path=path, name=node.name, start_line=node.lineno, end_line=node.end_lineno,
                 split=split, n_bytes=len(code.encode()), pair_id=None, pair_role=None)
        )
    snippet_schema = pa.schema([
        ("snippet_id", pa.string()), ("language", pa.string()), ("code", pa.string()), ("docstring", pa.string()),
        ("source", pa.string()), ("repo", pa.string()), ("path", pa.string()), ("name", pa.string()),
        ("start_line", pa.int32()), ("end_line", pa.int32()), ("split", pa.string()), ("n_bytes", pa.int64()),
        ("pair_id", pa.string()), ("pair_role", pa.string()),
    ])
    write(pa.Table.from_pylist(snippets, schema=snippet_schema), os.path.join(args.out, "snippets.parquet"), "snippets")
    test = [row for row in snippets if row["split"] == "test"]
    testbed_schema = pa.schema(
        [("row_id", pa.string()), ("pair_id", pa.string()), ("intervention", pa.string()), ("treatment", pa.int8()),
         ("snippet_id", pa.string()), ("language", pa.string()), ("code", pa.string()), ("mutation", pa.string()),
         ("n_bytes", pa.int64())] + [(name, pa.int32()) for name in COVARIATES]
    )
    testbed = [
        dict(row_id=row["snippet_id"], pair_id=row["snippet_id"], intervention="none", treatment=0,
             snippet_id=row["snippet_id"], language="python", code=row["code"], mutation=None, n_bytes=row["n_bytes"],
             **{name: 0 for name in COVARIATES})
        for row in test
    ]
    write(pa.Table.from_pylist(testbed, schema=testbed_schema), os.path.join(args.out, "testbed.parquet"), "testbed")
    print(f"make_corpus: {counts} snippets from {args.root} -> {args.out}")


if __name__ == "__main__":
    main()
