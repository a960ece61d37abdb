#!/usr/bin/env python3
"""Reference for the tag stage's token-to-AST binding, written the way the original SEMERU code
(CodeSyntaxConcept: `utils.traverse` + `tokenizer.get_token_type`) did it: py-tree-sitter,
leaves collected by a recursive traversal that keeps string literals whole, and for every token
a scan over *all* leaves, O(tokens x leaves) per row.

`--variant original` (the default) keeps the original's cost structure: for every token,
`get_token_type` recomputes the span of every leaf from its (row, column) points with
`convert_to_offset` (a character count over the preceding lines, exact on ASCII code only:
tree-sitter columns are bytes; this is the drift on non-ASCII code that icodegen fixes), then
scans the leaves. One deliberate departure, so the labels are comparable with icodegen-tag: the
rule. Here a token belongs to the first leaf it overlaps, and a whitespace token that overlaps
no leaf belongs to the leaf it precedes; the original took the first leaf containing the token's
start or end (missing tokens that cover a leaf) and labelled whitespace `ERROR`. The atomic
node types (string literals) come from the same taxonomy file.

`--variant precomputed` computes byte spans once per row instead: a tuned Python version of the
same O(tokens x leaves) scan, for context.

    python tag_reference.py TESTBED TOKENS TAXONOMY_DIR OUT_LABELS.parquet [--variant V]

Prints one JSON line: {"tokens": N, "rows": R, "seconds": S, "tokens_per_second": ...}; the
time covers reading the inputs, parsing, binding and writing the labels.
"""
import json
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq
import tree_sitter
import yaml

GRAMMARS = {}


def grammar(language):
    if language not in GRAMMARS:
        if language == "python":
            import tree_sitter_python as module
        elif language == "java":
            import tree_sitter_java as module
        else:
            raise SystemExit(f"the reference knows python and java, not {language}")
        GRAMMARS[language] = tree_sitter.Parser(tree_sitter.Language(module.language()))
    return GRAMMARS[language]


def load_taxonomy(directory, language):
    with open(f"{directory}/{language}.yaml", encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    category_of = {}
    for category, types in data["categories"].items():
        for node_type in types:
            # YAML reads unquoted true/false/null as booleans and None
            name = {True: "true", False: "false", None: "null"}.get(node_type, node_type)
            category_of[str(name)] = category
    return set(data.get("atomic", [])), category_of


def traverse(node, atomic, results):
    """The original `utils.traverse`: leaves in order, string literals kept whole."""
    if node.type in atomic:
        results.append(node)
        return
    for child in node.children:
        traverse(child, atomic, results)
    if not node.children:
        results.append(node)


def depth_of(node):
    depth = 0
    while node.parent is not None:
        node = node.parent
        depth += 1
    return depth


def category_of_node(node, category_of):
    while node is not None:
        if node.type in category_of:
            return category_of[node.type]
        node = node.parent
    return None


def convert_to_offset(point, lines):
    """The original `utils.convert_to_offset`: characters before (row, column)."""
    row, column = point
    chars_in_rows = sum(map(len, lines[:row])) + row
    chars_in_columns = len(lines[row][:column])
    return chars_in_rows + chars_in_columns


def node_span(node, lines):
    return convert_to_offset(node.start_point, lines), convert_to_offset(node.end_point, lines)


def label_row(code, language, tokens, taxonomy_dir, taxonomies, variant):
    if language not in taxonomies:
        taxonomies[language] = load_taxonomy(taxonomy_dir, language)
    atomic, category_of = taxonomies[language]
    tree = grammar(language).parse(code.encode("utf-8"))
    nodes = []
    traverse(tree.root_node, atomic, nodes)
    leaves = [node for node in nodes if node.start_byte < node.end_byte] or [tree.root_node]
    spans = [(leaf.start_byte, leaf.end_byte) for leaf in leaves]
    lines = code.split("\n")
    labels = []
    for start, end in tokens:
        if start is None or end is None or start >= end:
            labels.append(None)
            continue
        if variant == "original":
            # the original's get_token_type: every leaf's span, for every token
            spans = [node_span(leaf, lines) for leaf in leaves]
        chosen = None
        for index, (leaf_start, leaf_end) in enumerate(spans):  # O(leaves) per token
            if leaf_start < end and start < leaf_end:
                chosen = index
                break
        if chosen is None:  # whitespace: the leaf it precedes, else the last leaf
            chosen = next((i for i, (s, _) in enumerate(spans) if s >= end), len(spans) - 1)
        leaf = leaves[chosen]
        labels.append(
            (
                leaf.type,
                leaf.parent.type if leaf.parent is not None else None,
                category_of_node(leaf, category_of),
                depth_of(leaf),
            )
        )
    return labels


def main():
    testbed_path, tokens_path, taxonomy_dir, out_path = sys.argv[1:5]
    variant = sys.argv[6] if len(sys.argv) > 6 and sys.argv[5] == "--variant" else "original"
    if variant not in ("original", "precomputed"):
        raise SystemExit(f"unknown variant {variant}")
    began = time.perf_counter()
    testbed = pq.read_table(testbed_path, columns=["row_id", "language", "code"]).to_pylist()
    code_of = {row["row_id"]: (row["language"], row["code"]) for row in testbed}
    table = pq.read_table(
        tokens_path, columns=["model_id", "row_id", "position", "byte_start", "byte_end"]
    )
    columns = {name: table.column(name).to_pylist() for name in table.column_names}
    out = {k: [] for k in ("model_id", "row_id", "position", "node_type", "parent_type", "category", "depth")}
    taxonomies = {}
    count = len(columns["row_id"])
    rows = 0
    start = 0
    while start < count:
        model, row_id = columns["model_id"][start], columns["row_id"][start]
        end = start
        while end < count and columns["model_id"][end] == model and columns["row_id"][end] == row_id:
            end += 1
        language, code = code_of[row_id]
        spans = list(zip(columns["byte_start"][start:end], columns["byte_end"][start:end]))
        for offset, label in enumerate(label_row(code, language, spans, taxonomy_dir, taxonomies, variant)):
            out["model_id"].append(model)
            out["row_id"].append(row_id)
            out["position"].append(columns["position"][start + offset])
            node_type, parent_type, category, depth = label if label else (None, None, None, None)
            out["node_type"].append(node_type)
            out["parent_type"].append(parent_type)
            out["category"].append(category)
            out["depth"].append(depth)
        rows += 1
        start = end
    pq.write_table(pa.table(out), out_path)
    seconds = time.perf_counter() - began
    print(json.dumps({"variant": variant, "tokens": count, "rows": rows, "seconds": round(seconds, 3),
                      "tokens_per_second": round(count / seconds, 1)}))


if __name__ == "__main__":
    main()
