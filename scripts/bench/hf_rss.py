#!/usr/bin/env python3
"""Runs a command and samples its memory from /proc/PID/status every few milliseconds: the peaks
of VmRSS, RssAnon (heap: the model's own copy of the weights) and RssFile (file-backed pages:
memory-mapped checkpoint and libraries), and when they happened. Used by scripts/bench/hf.sh to
show where icodegen-infer's load-time peak comes from. Prints one JSON line; the command's exit
status is passed on.

    python scripts/bench/hf_rss.py [--interval 0.005] -- COMMAND [ARGS...]
"""
import argparse
import json
import subprocess
import sys
import time


def sample(pid):
    values = {}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                    values[key] = int(rest.split()[0]) * 1024
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return None
    return values


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--interval", type=float, default=0.005)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peaks = {}
    at = {}
    timeline = []
    while process.poll() is None:
        values = sample(process.pid)
        now = time.perf_counter() - started
        if values:
            for key, value in values.items():
                if value > peaks.get(key, -1):
                    peaks[key], at[key] = value, now
            if not timeline or abs(values.get("VmRSS", 0) - timeline[-1][1]) > 16 * 2**20:
                timeline.append((round(now, 3), values.get("VmRSS", 0), values.get("RssAnon", 0), values.get("RssFile", 0)))
        time.sleep(args.interval)
    stderr = process.stderr.read().decode(errors="replace")
    print(json.dumps({
        "exit": process.returncode,
        "seconds": time.perf_counter() - started,
        "peak_bytes": peaks,
        "peak_at_seconds": at,
        "timeline_seconds_vmrss_anon_file": timeline,
        "stderr_tail": stderr[-2000:],
    }))
    sys.exit(process.returncode)


if __name__ == "__main__":
    main()
