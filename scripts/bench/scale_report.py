#!/usr/bin/env python3
"""The markdown table of scripts/bench/scale.sh: scale_report.py WORK_DIR > results.md

Reads WORK_DIR/shared/measure.tsv (tokenizer and models, once) and WORK_DIR/runs/<rows>/ (every
size measured: measure.tsv, ingest.json, preprocess.json, infer-<model>.json,
gen summary). Standard library only.
"""

import json
import os
import platform
import sys


def read_measures(path):
    rows = []
    if os.path.exists(path):
        for line in open(path):
            label, wall, rss, size = line.rstrip("\n").split("\t")
            rows.append((label, float(wall), int(rss), int(size)))
    return rows


def mb(value):
    return f"{value / 1e6:.1f}"


def duration(seconds):
    return f"{seconds:.1f}" if seconds < 60 else f"{seconds:.0f} ({int(seconds // 60)} min {seconds % 60:02.0f} s)"


def main():
    work = sys.argv[1]
    base = {}
    shared_ingest = os.path.join(work, "shared", "ingest.json")
    if os.path.exists(shared_ingest):
        base = {name: value["count"] for name, value in json.load(open(shared_ingest)).get("skipped", {}).items()}
    runs = sorted((int(name) for name in os.listdir(os.path.join(work, "runs")) if name.isdigit()))
    cpu = ""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    print("# Scale test of the whole study (issue 14, part 7)")
    print()
    print(f"`bash scripts/bench/scale.sh {' '.join(map(str, runs))}`: stage binaries of the dev build (target/debug, "
          f"our crates at opt-level 2), {os.cpu_count()} cores ({cpu}), {platform.machine()}. Wall time and peak RSS "
          "by `/usr/bin/time -v`; *outputs* is the size of the stage's outs, which is what the runner copies "
          "into its cache for the stage (the cache holds each out once more).")
    print()
    for rows in runs:
        run = os.path.join(work, "runs", str(rows))
        measures = read_measures(os.path.join(run, "measure.tsv"))
        if not measures:
            continue
        ingest = json.load(open(os.path.join(run, "ingest.json")))
        pre = json.load(open(os.path.join(run, "preprocess.json")))
        params = open(os.path.join(run, "params.yaml")).read()
        gen = next(line.split("path: ")[1].split(",")[0] for line in params.splitlines() if "kind: tree" in line)
        summary = json.load(open(os.path.join(gen, "summary.json")))
        skipped = {name: value["count"] for name, value in ingest.get("skipped", {}).items()}
        test_kept = ingest["kept_by_split"].get("test", 0)
        print(f"## {pre['testbed']['rows']} testbed rows (target {rows})")
        print()
        if os.path.exists(os.path.join(run, "commit.txt")):
            print(f"- built from `{open(os.path.join(run, 'commit.txt')).read().strip()}` (`git describe --always --dirty` at the start)")
        print(f"- held out: {summary['variants']} generated functions (renamed variants of {summary['bases']} "
              f"functions of the default corpus, {mb(summary['bytes'])} MB); ingest kept {test_kept} of them "
              f"({100 * test_kept / summary['variants']:.1f}%) beside {ingest['kept_by_split'].get('train', 0)} train and "
              f"{ingest['kept_by_split'].get('valid', 0)} valid snippets of the train sdists; removed over all "
              f"sources: {skipped.get('exact_duplicate', 0)} exact and {skipped.get('near_duplicate', 0)} near "
              f"duplicates (the train sdists alone: {base.get('exact_duplicate', '?')} and {base.get('near_duplicate', '?')})")
        print(f"- testbed: {pre['testbed']['rows']} rows from {pre['testbed']['snippets']} snippets; pairs: "
              + ", ".join(f"{name} {value['pairs']}" for name, value in sorted(pre["interventions"].items())))
        # A stage measured twice (a rerun, its label annotated after a space) counts once, the last.
        last = {label.split(" ")[0]: (label, wall, rss, size) for label, wall, rss, size in measures}
        for label in last:
            if label.startswith("infer-"):
                metrics = json.load(open(os.path.join(run, f"{label}.json")))
                model = label[len("infer-"):]
                print(f"- {model}: {metrics.get('rows')} distinct rows, {metrics.get('scored_tokens')} tokens scored, "
                      f"{metrics.get('tokens_per_second', 0):.0f} tokens/s, padding {metrics.get('padding_fraction', 0):.3f}")
        print()
        print("| stage | wall s | peak RSS MB | outputs MB |")
        print("| --- | ---: | ---: | ---: |")
        for label, wall, rss, size in measures:
            print(f"| {label} | {duration(wall)} | {rss / 1024:.0f} | {mb(size)} |")
        counted = list(last.values())
        print(f"| **all** | {duration(sum(m[1] for m in counted))} | {max(m[2] for m in counted) / 1024:.0f} | "
              f"{mb(sum(m[3] for m in counted))} |")
        print()
    shared = read_measures(os.path.join(work, "shared", "measure.tsv"))
    if shared:
        print("Once for every size (the train split of the train sdists; tokenizer and tiny models of the "
              "default study's shapes, `TRAIN_STEPS` steps):")
        print()
        print("| stage | wall s | peak RSS MB | outputs MB |")
        print("| --- | ---: | ---: | ---: |")
        for label, wall, rss, size in shared:
            print(f"| {label} | {duration(wall)} | {rss / 1024:.0f} | {mb(size)} |")
        print()


if __name__ == "__main__":
    main()
