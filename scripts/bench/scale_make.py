#!/usr/bin/env python3
"""Makes the scale test's held-out source tree from real code (issue 14, part 7).

    scale_make.py RAW_DIR... --snippets N --out DIR [--seed 14]

Reads every Python function and method (decorators included, dedented) of the sdists under
RAW_DIR (the default corpus: data/corpus/{train,test}.txt, fetched by scripts/fetch_corpus.sh),
keeps those that parse on their own and pass ingest's default filters, and writes N distinct
variants of them into DIR/part-NNNN.py (one file per 400 functions, all top level).

Variant k of function f consistently renames every identifier of f that is not a keyword, a
builtin, `self` or `cls` to seeded random pseudo-words, replaces decimal integer literals by
seeded random numbers and appends a seeded random word to string literals. Every variant is
renamed, also the first (k = 0), so that ingest's near-duplicate removal (MinHash over 3-token
shingles, Jaccard >= 0.8, across splits) does not match it against its original in the train
split: renaming touches nearly every shingle. Variants are checked with `ast.parse`; the
functions are taken round-robin over the bases (base order seeded), so N below the number of
bases draws each base at most once. Deterministic for (RAW_DIR contents, N, seed).

Prints a JSON summary (bases, variants, bytes) to stdout.
"""

import argparse
import ast
import builtins
import io
import json
import keyword
import os
import random
import re
import sys
import tarfile
import textwrap
import tokenize
import zipfile

KEEP = set(keyword.kwlist) | set(getattr(keyword, "softkwlist", [])) | set(dir(builtins)) | {"self", "cls"}
CONSONANTS = "bcdfghjklmnprstvwz"
VOWELS = "aeiou"
PER_FILE = 400


def sources(raw_dirs):
    """(archive member name, text) of every .py file of every sdist, in a stable order."""
    for raw in raw_dirs:
        for name in sorted(os.listdir(raw)):
            path = os.path.join(raw, name)
            if name.endswith((".tar.gz", ".tgz", ".tar")):
                with tarfile.open(path) as archive:
                    for member in sorted(archive.getmembers(), key=lambda m: m.name):
                        if member.isfile() and member.name.endswith(".py") and member.size < (1 << 20):
                            yield member.name, archive.extractfile(member).read()
            elif name.endswith(".zip"):
                with zipfile.ZipFile(path) as archive:
                    for member in sorted(archive.namelist()):
                        if member.endswith(".py"):
                            yield member, archive.read(member)


def functions(raw_dirs):
    """Distinct dedented function sources that parse alone and pass ingest's default filters."""
    seen = set()
    for name, data in sources(raw_dirs):
        try:
            text = data.decode("utf-8")
            tree = ast.parse(text)
        except (UnicodeDecodeError, SyntaxError, ValueError):
            continue
        lines = text.splitlines(keepends=True)
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            first = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
            code = textwrap.dedent("".join(lines[first : node.end_lineno])).rstrip() + "\n"
            n_lines = code.count("\n")
            if not (16 <= len(code.encode()) <= 20_000 and n_lines <= 400):
                continue
            if max(len(line.encode()) for line in code.splitlines()) > 1000 or "\t" in code:
                continue
            try:
                ast.parse(code)
            except SyntaxError:
                continue
            if code not in seen:
                seen.add(code)
                yield code


def word(rng):
    return "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(rng.randint(2, 3)))


def variant(code, rng):
    """Consistent identifier renaming plus distinct literals; None when the result does not parse."""
    names = {}
    used = set()
    edits = []  # ((row, col), (row, col), text)
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    for tok in toks:
        if tok.type == tokenize.NAME and tok.string not in KEEP and tok.string.isidentifier():
            new = names.get(tok.string)
            if new is None:
                while True:
                    new = word(rng) if rng.random() < 0.5 else f"{word(rng)}_{word(rng)}"
                    if new not in used and new not in KEEP:
                        break
                if tok.string.startswith("_"):
                    new = "_" + new
                names[tok.string] = new
                used.add(new)
            edits.append((tok.start, tok.end, new))
        elif tok.type == tokenize.NUMBER and re.fullmatch(r"[0-9]+", tok.string):
            edits.append((tok.start, tok.end, str(rng.randint(2, 999))))
        elif tok.type == tokenize.STRING:
            body = tok.string
            quote = body[-3:] if body[-3:] in ('"""', "'''") else body[-1]
            edits.append((tok.start, tok.end, body[: -len(quote)] + " " + word(rng) + quote))
    lines = code.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    out = []
    at = 0
    for (srow, scol), (erow, ecol), text in edits:
        start = offsets[srow - 1] + scol
        end = offsets[erow - 1] + ecol
        out.append(code[at:start])
        out.append(text)
        at = end
    out.append(code[at:])
    new_code = "".join(out)
    try:
        ast.parse(new_code)
    except SyntaxError:
        return None
    if max(len(line.encode()) for line in new_code.splitlines()) > 1000:
        return None
    return new_code


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("raw", nargs="+")
    parser.add_argument("--snippets", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    bases = list(functions(args.raw))
    if not bases:
        sys.exit("scale_make.py: no functions found")
    random.Random(args.seed).shuffle(bases)
    os.makedirs(args.out, exist_ok=True)
    written = set()
    variants = []
    k = 0
    failures = 0
    while len(variants) < args.snippets:
        for index, base in enumerate(bases):
            if len(variants) >= args.snippets:
                break
            rng = random.Random(f"{args.seed}/{k}/{index}")
            code = variant(base, rng)
            if code is None or code in written:
                failures += 1
                continue
            written.add(code)
            variants.append(code)
        k += 1
        if k > 1000:
            sys.exit("scale_make.py: cannot make enough distinct variants")
    total = 0
    for part in range(0, len(variants), PER_FILE):
        text = "\n\n".join(variants[part : part + PER_FILE])
        total += len(text.encode())
        with open(os.path.join(args.out, f"part-{part // PER_FILE:04d}.py"), "w", encoding="utf-8") as handle:
            handle.write(text)
    json.dump({"bases": len(bases), "variants": len(variants), "rounds": k, "failures": failures,
               "bytes": total}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
