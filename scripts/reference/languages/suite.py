#!/usr/bin/env python3
"""The per-language reference suite: icodegen against independent tools on real code.

For each language, on the packages of corpus.txt (fetched by fetch.sh into .tools/lang-corpus),
it runs `icodegen-ingest` and `icodegen-preprocess` (every intervention, every snippet in the
testbed) and checks, against tools that share no code with icodegen:

  binding        the leaves tokens bind to (node type and byte span, string literals whole) as
                 `icodegen-tag` builds them (the `leaves` example of icodegen-tag) against
                 py-tree-sitter with the grammar versions of Cargo.lock; a snippet is parsed as
                 it is and, when that leaves errors, inside a class shell (JavaScript, Java,
                 PHP), PHP with the `php_only` grammar. Rows whose leaves differ are counted.
  cyclomatic     the `cyclomatic` covariate against lizard 1.24.3 run on the whole files, per
                 function lizard and ingest both find (matched by file and line); and the share
                 of lizard's named functions that ingest extracts as snippets.
  interventions  the treated code parses (no ERROR/MISSING) unless the intervention is `syntax`,
                 which must break it; `comments` removes exactly the comments (and docstrings):
                 the other leaves are unchanged; `rename` changes only identifiers, one new
                 name per old name.
  uncategorised  the share of leaves with no taxonomy category (data/taxonomies).

    python suite.py run [--languages python,java,...] [--bin target/debug] [--json OUT]
    python suite.py fixtures OUT_DIR [--per-language N]
    python suite.py port [FOLDER ...] [--bin target/debug]

`port` checks the ports of lizard's JavaScript and Ruby readers (stages/preprocess/src/
covariates/lizard_js.rs and lizard_ruby.rs, through `cargo build -p icodegen-preprocess
--example lizard_functions`) on whole files: every .js/.mjs/.cjs/.rb file under the folders (the
corpus's JavaScript and Ruby by default) must give the functions lizard lists, with the same
names, lines and complexity, and fail where lizard fails.

`run` prints the per-language table (markdown). `fixtures` writes, per language, N snippets
with lizard's complexity and py-tree-sitter's leaves, the fixtures the Rust tests check without
Python (crates/lang/tests/fixtures/reference/LANGUAGE.json).
"""
import argparse
import collections
import json
import os
import random
import subprocess
import sys

import lizard
import pyarrow.parquet as pq
import tree_sitter

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CORPUS = os.environ.get("LANG_CORPUS", os.path.join(ROOT, ".tools", "lang-corpus"))
WORK = os.environ.get("LANG_SUITE_WORK", os.path.join(ROOT, ".tools", "lang-suite"))
LANGUAGES = ["python", "java", "javascript", "go", "ruby", "php"]
EXTENSIONS = {
    "python": (".py",),
    "java": (".java",),
    "javascript": (".js", ".mjs", ".cjs", ".jsx"),
    "go": (".go",),
    "ruby": (".rb",),
    "php": (".php",),
}
SHELLS = {"javascript": ("class _ {\n", "\n}\n"), "java": ("class _ {\n", "\n}\n"), "php": ("class _ {\n", "\n}\n")}
COMMENT_TYPES = {"comment", "line_comment", "block_comment"}
IDENTIFIER_TYPES = {
    "python": {"identifier"},
    "java": {"identifier"},
    "javascript": {"identifier", "property_identifier", "shorthand_property_identifier", "shorthand_property_identifier_pattern"},
    "go": {"identifier", "field_identifier"},
    "ruby": {"identifier"},
    "php": {"name"},
}


# ---------------------------------------------------------------- parsing, independently

def grammar(language):
    if language == "python":
        import tree_sitter_python as module
        return tree_sitter.Language(module.language())
    if language == "java":
        import tree_sitter_java as module
        return tree_sitter.Language(module.language())
    if language == "javascript":
        import tree_sitter_javascript as module
        return tree_sitter.Language(module.language())
    if language == "go":
        import tree_sitter_go as module
        return tree_sitter.Language(module.language())
    if language == "ruby":
        import tree_sitter_ruby as module
        return tree_sitter.Language(module.language())
    if language == "php":
        import tree_sitter_php as module
        return tree_sitter.Language(module.language_php_only())
    raise ValueError(language)


PARSERS = {}


def parser(language):
    if language not in PARSERS:
        PARSERS[language] = tree_sitter.Parser(grammar(language))
    return PARSERS[language]


def count_errors(node):
    count = 0
    stack = [node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            count += 1
        if node.has_error or node.is_error:
            stack.extend(node.children)
    return count


def parse_snippet(language, code):
    """(tree, offset, code_bytes): bare, or in a class shell when that has fewer errors."""
    data = code.encode()
    tree = parser(language).parse(data)
    best = (tree, 0, len(data))
    if not tree.root_node.has_error:
        return best
    errors = count_errors(tree.root_node)
    if language in SHELLS:
        prefix, suffix = SHELLS[language]
        wrapped = parser(language).parse(prefix.encode() + data + suffix.encode())
        wrapped_errors = count_errors(wrapped.root_node)
        if wrapped_errors < errors:
            best = (wrapped, len(prefix.encode()), len(data))
    return best


def roots(tree, offset, length):
    """The topmost nodes within the code (the root when not wrapped)."""
    if offset == 0:
        return [tree.root_node]
    found = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        start, end = node.start_byte, node.end_byte
        if start >= offset and end <= offset + length and end > start:
            found.append(node)
        elif end <= offset or start >= offset + length:
            continue
        else:
            stack.extend(reversed(node.children))
    return found


def node_type(node):
    return "ERROR" if node.is_error else node.type


def leaves(language, code, atomic):
    """[(type, start, end)] in byte order: childless nodes (atomic types whole) with a span."""
    tree, offset, length = parse_snippet(language, code)
    out = []
    for top in roots(tree, offset, length):
        stack = [top]
        while stack:
            node = stack.pop()
            kind = node_type(node)
            if node.child_count and kind not in atomic:
                stack.extend(reversed(node.children))
            elif node.end_byte > node.start_byte:
                out.append((kind, node.start_byte - offset, node.end_byte - offset))
    if not out:
        out.append((node_type(tree.root_node), 0, len(code.encode())))
    out.sort(key=lambda leaf: (leaf[1], leaf[2]))
    return out, tree, offset, length


def has_errors(language, code):
    tree, offset, length = parse_snippet(language, code)
    return sum(count_errors(node) for node in roots(tree, offset, length)) > 0


def alternative_taxonomies(language):
    """The other taxonomy files of a language: data/taxonomies/LANGUAGE-NAME.yaml."""
    directory = os.path.join(ROOT, "data", "taxonomies")
    return sorted(name[:-5] for name in os.listdir(directory)
                  if name.startswith(language + "-") and name.endswith(".yaml"))


def load_taxonomy(language, name=None):
    """(atomic types, {type: category}) from data/taxonomies/LANGUAGE.yaml (or NAME.yaml)."""
    import yaml

    with open(os.path.join(ROOT, "data", "taxonomies", f"{name or language}.yaml"), encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    category_of = {}
    for category, types in (document.get("categories") or {}).items():
        for kind in types:
            category_of.setdefault(str(kind), category)
    return set(map(str, document.get("atomic") or [])), category_of


def categorised(leaf_node, category_of):
    node = leaf_node
    while node is not None:
        if node_type(node) in category_of:
            return True
        node = node.parent
    return False


# ---------------------------------------------------------------- lizard

def lizard_functions(path):
    info = lizard.analyze_file(path)
    return [
        {"name": f.name, "start_line": f.start_line, "end_line": f.end_line, "ccn": f.cyclomatic_complexity}
        for f in info.function_list
    ]


def is_named(language, name):
    return not (name == "(anonymous)" or name.startswith("anonymous__") or name.endswith("(anonymous)"))


def first_code_line(language, code, start_line):
    """The line lizard reports a function from: Python's `def` (after decorators); elsewhere the
    snippet's first line that is not an annotation, attribute or comment."""
    for offset, line in enumerate(code.split("\n")):
        stripped = line.lstrip()
        if language == "python":
            if stripped.startswith(("def ", "async def ")):
                return start_line + offset
        elif stripped and not stripped.startswith(("@", "//", "/*", "*", "#[")):
            return start_line + offset
    return start_line


# ---------------------------------------------------------------- the pipeline

def run_stages(language, bin_dir):
    work = os.path.join(WORK, language)
    os.makedirs(work, exist_ok=True)
    tree = os.path.relpath(os.path.join(CORPUS, language), work)
    with open(os.path.join(work, "params.yaml"), "w") as handle:
        handle.write(
            "ingest:\n  seed: 1\n  languages: [%s]\n  splits: {train: 0.0, valid: 0.0, test: 1.0}\n"
            "  near_duplicates: {enabled: false}\n  sources:\n    - kind: tree\n      path: %s\n"
            "preprocess:\n  seed: 1\n  testbed:\n    splits: [test]\n"
            "  interventions: [comments, bugfix, rename, reformat, deadcode, syntax]\n" % (language, tree)
        )
    env = dict(os.environ, ICODEGEN_PROGRESS="0")
    subprocess.run([os.path.join(bin_dir, "icodegen-ingest"), "--params", "params.yaml", "--out", "snippets.parquet",
                    "--report", "ingest.json"], cwd=work, check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run([os.path.join(bin_dir, "icodegen-preprocess"), "--params", "params.yaml", "--snippets",
                    "snippets.parquet", "--covariates", "covariates.parquet", "--testbed", "testbed.parquet",
                    "--report", "preprocess.json"], cwd=work, check=True, env=env, stdout=subprocess.DEVNULL)
    return work


def icodegen_leaves(work, bin_dir):
    """{row_id: [(type, start, end)]} from icodegen-tag's `leaves` example."""
    out = os.path.join(work, "leaves.jsonl")
    subprocess.run([os.path.join(bin_dir, "examples", "leaves"), os.path.join(work, "testbed.parquet"),
                    os.path.join(ROOT, "data", "taxonomies"), out], check=True, stdout=subprocess.DEVNULL)
    result = {}
    with open(out) as handle:
        for line in handle:
            row = json.loads(line)
            result[row["row_id"]] = [tuple(leaf) for leaf in row["leaves"]]
    return result


def source_files(language):
    base = os.path.join(CORPUS, language)
    for root, dirs, files in os.walk(base):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(EXTENSIONS[language]) and not name.endswith(".min.js"):
                yield os.path.relpath(os.path.join(root, name), base)


def check_language(language, bin_dir, differences_out):
    work = run_stages(language, bin_dir)
    base = os.path.join(CORPUS, language)
    snippets = pq.read_table(os.path.join(work, "snippets.parquet"),
                             columns=["snippet_id", "path", "name", "start_line", "end_line", "code"]).to_pylist()
    cyclomatic = {row["snippet_id"]: row["cyclomatic"] for row in
                  pq.read_table(os.path.join(work, "covariates.parquet"), columns=["snippet_id", "cyclomatic"]).to_pylist()}
    testbed = pq.read_table(os.path.join(work, "testbed.parquet"),
                            columns=["row_id", "pair_id", "intervention", "treatment", "snippet_id", "code"]).to_pylist()

    # Cyclomatic complexity and extraction.
    by_file = collections.defaultdict(list)
    lizard_total = lizard_named = 0
    for relative in source_files(language):
        try:
            functions = lizard_functions(os.path.join(base, relative))
        except Exception:  # lizard gives up on a few files; they are left out
            continue
        by_file[relative] = functions
        lizard_total += len(functions)
    matched = equal = 0
    used = set()
    differences = []
    for snippet in snippets:
        functions = by_file.get(snippet["path"], [])
        line = first_code_line(language, snippet["code"], snippet["start_line"])
        candidates = [f for f in functions if f["start_line"] == line and f["end_line"] == snippet["end_line"]]
        if not candidates:
            candidates = [f for f in functions if f["start_line"] == line]
        if not candidates:
            candidates = [f for f in functions if f["end_line"] == snippet["end_line"] and snippet["start_line"] <= f["start_line"]]
        if not candidates:
            continue
        function = candidates[0]
        used.add((snippet["path"], function["start_line"], function["name"]))
        matched += 1
        ours = cyclomatic[snippet["snippet_id"]]
        if ours == function["ccn"]:
            equal += 1
        else:
            differences.append({"at": f"{snippet['path']}:{snippet['start_line']}", "name": snippet["name"],
                                "ours": ours, "lizard": function["ccn"], "code": snippet["code"]})
    named = [(path, f) for path, functions in by_file.items() for f in functions if is_named(language, f["name"])]
    extracted = sum(1 for path, f in named if (path, f["start_line"], f["name"]) in used)

    # Binding: icodegen's leaves against py-tree-sitter's.
    atomic, category_of = load_taxonomy(language)
    alternatives = {name: load_taxonomy(language, name)[1] for name in alternative_taxonomies(language)}
    uncategorised_alternative = collections.Counter()
    ours_leaves = icodegen_leaves(work, bin_dir)
    originals = [row for row in testbed if row["intervention"] == "none"]
    binding_rows = binding_differences = leaf_count = uncategorised = 0
    for row in originals:
        reference, tree, offset, length = leaves(language, row["code"], atomic)
        binding_rows += 1
        leaf_count += len(reference)
        if ours_leaves.get(row["row_id"]) != reference:
            binding_differences += 1
            if len(differences) < 10000:
                differences.append({"binding": row["row_id"], "code": row["code"][:400]})
        # Uncategorised share, on the reference tree.
        for kind, start, end in reference:
            node = tree.root_node.descendant_for_byte_range(start + offset, end + offset)
            if not categorised(node, category_of):
                uncategorised += 1
            for name, other in alternatives.items():
                if not categorised(node, other):
                    uncategorised_alternative[name] += 1

    # Interventions.
    pairs = collections.defaultdict(dict)
    for row in testbed:
        if row["intervention"] != "none":
            pairs[(row["intervention"], row["pair_id"])][row["treatment"]] = row["code"]
    validity = collections.Counter()
    totals = collections.Counter()
    for (intervention, _), sides in pairs.items():
        if 0 not in sides or 1 not in sides:
            continue
        totals[intervention] += 1
        control, treated = sides[0], sides[1]
        # Renaming reaches interpolations: its check splits strings into their parts.
        ok = check_intervention(language, intervention, control, treated,
                                set() if intervention == "rename" else atomic)
        validity[intervention] += ok
        if not ok:
            differences.append({"intervention": intervention, "control": control[:400], "treated": treated[:400]})
    with open(differences_out, "w") as handle:
        json.dump(differences, handle, indent=1)
    return {
        "language": language,
        "files": len(by_file),
        "snippets": len(snippets),
        "lizard_functions": lizard_total,
        "lizard_named": len(named),
        "extracted": extracted,
        "matched": matched,
        "agree": equal,
        "binding_rows": binding_rows,
        "binding_differences": binding_differences,
        "leaves": leaf_count,
        "uncategorised": uncategorised,
        "uncategorised_alternative": dict(uncategorised_alternative),
        "interventions": {name: [validity[name], totals[name]] for name in sorted(totals)},
    }


def check_intervention(language, intervention, control, treated, atomic):
    control_broken, treated_broken = has_errors(language, control), has_errors(language, treated)
    if intervention == "syntax":
        return control_broken != treated_broken
    if control_broken or treated_broken:
        return False
    if intervention == "comments":
        # control = stripped, treated = original: the original's leaves minus its comments
        # (and Python docstrings) are the stripped code's leaves.
        original = [(kind, text) for kind, text in leaf_texts(language, treated, atomic) if kind not in COMMENT_TYPES]
        stripped = [(kind, text) for kind, text in leaf_texts(language, control, atomic)]
        if any(kind in COMMENT_TYPES for kind, _ in stripped):
            return False
        if language == "python":
            original = drop_docstrings(treated, original, atomic)
        return original == stripped
    if intervention == "rename":
        before, after = leaf_texts(language, control, atomic), leaf_texts(language, treated, atomic)
        if [kind for kind, _ in before] != [kind for kind, _ in after]:
            return False
        mapping, reverse = {}, {}
        changed = False
        for (kind, old), (_, new) in zip(before, after):
            if old == new:
                continue
            if kind not in IDENTIFIER_TYPES[language]:
                return False
            if mapping.setdefault(old, new) != new or reverse.setdefault(new, old) != old:
                return False
            changed = True
        return changed
    return True


def leaf_texts(language, code, atomic):
    data = code.encode()
    found, _, _, _ = leaves(language, code, atomic)
    return [(kind, data[start:end].decode(errors="replace")) for kind, start, end in found]


def drop_docstrings(code, original, atomic):
    """The original's leaves without docstrings (a string alone as a body's first statement)."""
    tree = parser("python").parse(code.encode())
    docstrings = set()
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "block" and node.named_children:
            first = node.named_children[0]
            if first.type == "expression_statement" and first.named_child_count == 1 and first.named_children[0].type == "string":
                docstrings.add(first.named_children[0].text.decode(errors="replace"))
        stack.extend(node.children)
    result, skipped = [], set()
    for kind, text in original:
        if kind == "string" and text in docstrings and text not in skipped:
            skipped.add(text)
            continue
        result.append((kind, text))
    return result


def percent(part, whole):
    return f"{100.0 * part / whole:.1f}%" if whole else "n/a"


def table(results):
    lines = [
        "| language | files | snippets | binding differences (rows) | lizard agreement | extracted of lizard's named | "
        "interventions valid | uncategorised leaves |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        interventions = ", ".join(f"{name} {ok}/{total}" for name, (ok, total) in r["interventions"].items())
        lines.append(
            f"| {r['language']} | {r['files']} | {r['snippets']} | {r['binding_differences']} of {r['binding_rows']} | "
            f"{percent(r['agree'], r['matched'])} ({r['agree']}/{r['matched']}) | "
            f"{percent(r['extracted'], r['lizard_named'])} ({r['extracted']}/{r['lizard_named']}) | {interventions} | "
            f"{percent(r['uncategorised'], r['leaves'])}"
            + "".join(f" ({name}: {percent(count, r['leaves'])})"
                      for name, count in sorted(r.get("uncategorised_alternative", {}).items()))
            + " |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- the ports of lizard's readers

def port(folders, bin_dir):
    """Files where the port's functions (name, lines, complexity) equal lizard's, and functions."""
    files = []
    for folder in folders:
        for root, dirs, names in os.walk(folder):
            dirs.sort()
            files.extend(os.path.join(root, name) for name in sorted(names)
                         if name.endswith((".js", ".mjs", ".cjs", ".rb")) and not name.endswith(".min.js"))
    ours = {}
    for start in range(0, len(files), 200):
        output = subprocess.run([os.path.join(bin_dir, "examples", "lizard_functions")] + files[start:start + 200],
                                check=True, capture_output=True, text=True).stdout
        for line in output.splitlines():
            row = json.loads(line)
            ours[row["path"]] = None if row["failed"] else [tuple(f) for f in row["functions"]]
    same = functions = functions_same = 0
    differences = []
    for path in files:
        try:
            info = lizard.analyze_file(path)
            reference = [(f.name, f.start_line, f.end_line, f.cyclomatic_complexity) for f in info.function_list]
        except Exception:  # lizard fails on the file: the port must say so
            reference = None
        got = ours.get(path)
        same += reference == got
        if reference is not None:
            functions += len(reference)
            functions_same += sum(1 for f in reference if got and f in got)
        if reference != got:
            differences.append({"path": path, "lizard": reference, "port": got})
    out = os.path.join(WORK, "port-differences.json")
    os.makedirs(WORK, exist_ok=True)
    with open(out, "w") as handle:
        json.dump(differences, handle, indent=1)
    print(f"ports of lizard's readers: files identical {same}/{len(files)}, functions identical "
          f"{functions_same}/{functions} (differences: {out})")
    return 0 if not differences else 1


# ---------------------------------------------------------------- fixtures for CI

def fixtures(out_dir, per_language, languages):
    os.makedirs(out_dir, exist_ok=True)
    for language in languages:
        work = os.path.join(WORK, language)
        base = os.path.join(CORPUS, language)
        atomic, _ = load_taxonomy(language)
        snippets = pq.read_table(os.path.join(work, "snippets.parquet"),
                                 columns=["snippet_id", "path", "name", "start_line", "end_line", "code"]).to_pylist()
        ours = {row["snippet_id"]: row["cyclomatic"] for row in
                pq.read_table(os.path.join(work, "covariates.parquet"), columns=["snippet_id", "cyclomatic"]).to_pylist()}
        cache = {}
        entries = []
        for snippet in snippets:
            if snippet["path"] not in cache:
                cache[snippet["path"]] = lizard_functions(os.path.join(base, snippet["path"]))
            line = first_code_line(language, snippet["code"], snippet["start_line"])
            match = [f for f in cache[snippet["path"]] if f["start_line"] == line and f["end_line"] == snippet["end_line"]]
            if match and len(snippet["code"]) <= 1200:
                entries.append((snippet, match[0]))
        # Prefer the varied: every complexity value present, then a seeded sample.
        random.Random(7).shuffle(entries)
        chosen, seen = [], set()
        for snippet, function in entries:
            if function["ccn"] not in seen:
                seen.add(function["ccn"])
                chosen.append((snippet, function))
        for item in entries:
            if len(chosen) >= per_language:
                break
            if item not in chosen:
                chosen.append(item)
        chosen = chosen[:per_language]
        chosen.sort(key=lambda item: (item[0]["path"], item[0]["start_line"]))
        package = lambda path: path.split("/", 1)[0]
        rows = []
        known = []
        for snippet, function in chosen:
            if ours[snippet["snippet_id"]] != function["ccn"]:
                known.append(f"{snippet['path']}:{snippet['start_line']}")
            found, _, _, _ = leaves(language, snippet["code"], atomic)
            rows.append({
                "package": package(snippet["path"]),
                "path": snippet["path"],
                "start_line": snippet["start_line"],
                "name": snippet["name"],
                "code": snippet["code"],
                "lizard_ccn": function["ccn"],
                # "START END TYPE" (a type may hold a space: Python's `not in`).
                "leaves": [f"{start} {end} {kind}" for kind, start, end in found],
            })
        document = {
            "language": language,
            "made_by": "scripts/reference/languages/suite.py fixtures (lizard %s, py-tree-sitter %s)" % (
                lizard.version, tree_sitter.__version__ if hasattr(tree_sitter, "__version__") else "0.25.2"),
            "known_differences": known,
            "snippets": rows,
        }
        path = os.path.join(out_dir, f"{language}.json")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1, ensure_ascii=False)
            handle.write("\n")
        print(f"{language}: {len(rows)} snippets ({len(known)} where icodegen and lizard differ) -> {path}")


def main():
    parser_ = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser_.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run")
    run.add_argument("--languages", default=",".join(LANGUAGES))
    run.add_argument("--bin", default=os.path.join(ROOT, "target", "debug"))
    run.add_argument("--json")
    make = commands.add_parser("fixtures")
    make.add_argument("out_dir")
    make.add_argument("--per-language", type=int, default=30)
    make.add_argument("--languages", default=",".join(LANGUAGES))
    check_port = commands.add_parser("port")
    check_port.add_argument("folders", nargs="*")
    check_port.add_argument("--bin", default=os.path.join(ROOT, "target", "debug"))
    args = parser_.parse_args()
    if args.command == "port":
        return port(args.folders or [os.path.join(CORPUS, "javascript"), os.path.join(CORPUS, "ruby")], args.bin)
    languages = [name.strip() for name in args.languages.split(",") if name.strip()]
    if args.command == "fixtures":
        fixtures(args.out_dir, args.per_language, languages)
        return 0
    results = []
    for language in languages:
        result = check_language(language, args.bin, os.path.join(WORK, f"{language}-differences.json"))
        results.append(result)
        print(json.dumps(result), file=sys.stderr)
    print(table(results))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
