#!/usr/bin/env python3
"""Cyclomatic complexity as lizard computes it, to check icodegen's `cyclomatic` covariate.

Two uses:

  lizard_cyclomatic.py fixture DIR OUT.json
      Writes lizard's functions (file, name, start_line, end_line, ccn) for every source file
      in DIR. The output is committed next to the fixture
      (stages/preprocess/tests/fixtures/lizard/expected.json) and compared by the Rust test
      `cyclomatic_complexity_matches_lizard_on_the_reference_fixture`, so tests never need lizard.

  lizard_cyclomatic.py compare --tree DIR --snippets S.parquet --covariates C.parquet
                               [--language python|java] [--threads N] [--out REPORT.json]
      Runs lizard on every source file of the language under DIR (timed, N processes), joins
      its functions with the snippets that `icodegen-ingest` extracted from the same tree (by
      file and `def` line for Python, by file and last line for Java) and their `cyclomatic`
      covariate, and reports the agreement and the differences.

Needs `lizard` (and pyarrow for `compare`), installed by scripts/bench/preprocess.sh into
.tools/bench-venv.
"""
import argparse
import json
import multiprocessing
import os
import resource
import sys
import time

import lizard


def analyze(path):
    info = lizard.analyze_file(path)
    return [
        {
            "name": function.name,
            "long_name": function.long_name,
            "start_line": function.start_line,
            "end_line": function.end_line,
            "ccn": function.cyclomatic_complexity,
        }
        for function in info.function_list
    ]


def fixture(directory, out):
    functions = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if not os.path.isfile(path) or name.endswith(".json"):
            continue
        for function in analyze(path):
            function["file"] = name
            functions.append(function)
    with open(out, "w") as handle:
        json.dump({"lizard_version": lizard.version, "functions": functions}, handle, indent=1)
        handle.write("\n")
    print(f"{len(functions)} functions -> {out}")


EXTENSIONS = {"python": ".py", "java": ".java"}


def source_files(tree, extension):
    for root, dirs, files in os.walk(tree):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(extension):
                yield os.path.join(root, name)


def analyze_relative(args):
    tree, path = args
    try:
        return os.path.relpath(path, tree), analyze(path)
    except Exception as error:  # lizard gives up on a few files; count them, do not stop
        return os.path.relpath(path, tree), error


def def_line(code, start_line):
    """The line of `def` in a snippet that may start with decorators."""
    for offset, line in enumerate(code.split("\n")):
        stripped = line.lstrip()
        if stripped.startswith("def ") or stripped.startswith("async def "):
            return start_line + offset
    return start_line


def compare(args):
    import pyarrow.parquet as pq

    files = list(source_files(args.tree, EXTENSIONS[args.language]))
    size = sum(os.path.getsize(path) for path in files)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    pool = multiprocessing.Pool(args.threads)
    results = pool.map(analyze_relative, [(args.tree, path) for path in files], chunksize=16)
    pool.close()
    pool.join()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # Python: lizard's start line is the `def` line. Java: lizard starts at the method name,
    # after annotations, so the last line is the stable key.
    line_key = "start_line" if args.language == "python" else "end_line"
    lizard_functions = {}
    failures = 0
    for relative, functions in results:
        if isinstance(functions, Exception):
            failures += 1
            continue
        for function in functions:
            lizard_functions[(relative, function[line_key])] = function

    snippets = pq.read_table(args.snippets, columns=["snippet_id", "language", "path", "name", "start_line", "end_line", "code"]).to_pylist()
    covariates = {
        row["snippet_id"]: row["cyclomatic"]
        for row in pq.read_table(args.covariates, columns=["snippet_id", "cyclomatic"]).to_pylist()
    }
    compared = equal = unmatched = 0
    differences = []
    for snippet in snippets:
        if snippet["language"] != args.language:
            continue
        if args.language == "python":
            line = def_line(snippet["code"], snippet["start_line"])
        else:
            line = snippet["end_line"]
        key = (snippet["path"], line)
        ours = covariates[snippet["snippet_id"]]
        compared += 1
        theirs = lizard_functions.get(key)
        if theirs is None:
            unmatched += 1
            differences.append({"at": f"{snippet['path']}:{line}", "name": snippet["name"], "ours": ours, "lizard": None})
            continue
        if theirs["ccn"] == ours:
            equal += 1
        else:
            differences.append({"at": f"{snippet['path']}:{line}", "name": snippet["name"], "ours": ours, "lizard": theirs["ccn"], "lizard_end_line": theirs["end_line"]})
    report = {
        "lizard_version": lizard.version,
        "files": len(files),
        "bytes": size,
        "lizard_seconds": seconds,
        "lizard_mb_per_s": size / 1e6 / seconds,
        "lizard_cpu_seconds": cpu_seconds,
        "lizard_threads": args.threads,
        "lizard_failed_files": failures,
        "snippets_compared": compared,
        "equal": equal,
        "unmatched": unmatched,
        "agreement": equal / compared if compared else None,
        "agreement_where_lizard_finds_the_function": equal / (compared - unmatched) if compared > unmatched else None,
        "differences": differences,
    }
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(report, handle, indent=1)
    summary = {key: value for key, value in report.items() if key != "differences"}
    print(json.dumps(summary, indent=1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    fixture_parser = commands.add_parser("fixture")
    fixture_parser.add_argument("directory")
    fixture_parser.add_argument("out")
    compare_parser = commands.add_parser("compare")
    compare_parser.add_argument("--tree", required=True)
    compare_parser.add_argument("--snippets", required=True)
    compare_parser.add_argument("--covariates", required=True)
    compare_parser.add_argument("--language", choices=sorted(EXTENSIONS), default="python")
    compare_parser.add_argument("--threads", type=int, default=2)
    compare_parser.add_argument("--out")
    args = parser.parse_args()
    if args.command == "fixture":
        fixture(args.directory, args.out)
    else:
        compare(args)


if __name__ == "__main__":
    sys.exit(main())
