#!/usr/bin/env python3
"""The peer of `icodegen-infer` in the benchmark: a plain PyTorch loop over the same TorchScript
model directory and testbed, computing the same per-token statistics (log-probability of the
actual token, rank, entropy, top-k) with the same windows, batch size, ordering and threads.
Results stay in memory (no Parquet). Prints one JSON line with its timings.

    python scripts/bench/infer_torch.py MODEL_DIR TESTBED --threads T --batch-size B --top-k K [--stride S]
"""
import argparse
import json
import time

import pyarrow.parquet as pq
import torch
from tokenizers import Tokenizer


def windows(length, context, stride):
    out, start, scored_until = [], 0, 1
    if length < 2:
        return out
    while True:
        end = min(start + context, length)
        out.append((start, end, max(scored_until, start + 1)))
        if end == length:
            return out
        scored_until = end
        start += stride


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("testbed")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--stride", type=int)
    parser.add_argument("--dump", help="write the log-probs of every row as JSON here (for checks)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    config = json.load(open(f"{args.model}/config.json"))
    module = torch.jit.load(f"{args.model}/model.pt").eval()
    tokenizer = Tokenizer.from_file(f"{args.model}/tokenizer.json")
    table = pq.read_table(args.testbed, columns=["row_id", "code"]).to_pylist()
    seen, rows = set(), []
    for row in table:
        if row["row_id"] not in seen:
            seen.add(row["row_id"])
            rows.append(row)
    context = config["context_length"]
    stride = args.stride or max(1, context // 2)
    bos, pad = config.get("bos_id"), config.get("pad_id") or config.get("eos_id") or 0
    loaded = time.perf_counter()

    codes = [row["code"] for row in rows if row["code"].strip()]
    encodings = tokenizer.encode_batch(codes, add_special_tokens=False)
    sequences = [([bos] if bos is not None else []) + encoding.ids for encoding in encodings]
    items = [(index, w) for index, sequence in enumerate(sequences) for w in windows(len(sequence), context, stride)]
    items.sort(key=lambda item: (-(item[1][1] - item[1][0]), item[0], item[1][0]))
    results = [[None] * max(0, len(sequence) - 1) for sequence in sequences]
    scored = 0
    with torch.inference_mode():
        for offset in range(0, len(items), args.batch_size):
            batch = items[offset : offset + args.batch_size]
            length = max(end - start for _, (start, end, _) in batch)
            ids = torch.full((len(batch), length), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), length), dtype=torch.long)
            rows_index, times, targets, where = [], [], [], []
            for b, (index, (start, end, score_from)) in enumerate(batch):
                piece = sequences[index][start:end]
                ids[b, : len(piece)] = torch.tensor(piece)
                mask[b, : len(piece)] = 1
                for position in range(score_from, end):
                    rows_index.append(b)
                    times.append(position - start - 1)
                    targets.append(sequences[index][position])
                    where.append((index, position - 1))
            logits = module(ids, mask)
            predictions = logits[torch.tensor(rows_index), torch.tensor(times)]
            logprobs = torch.log_softmax(predictions.float(), dim=-1)
            target = torch.tensor(targets).unsqueeze(1)
            actual = logprobs.gather(1, target)
            rank = (logprobs > actual).sum(1) + 1
            entropy = -(logprobs.exp() * logprobs).nan_to_num(0.0).sum(1)
            top_values, top_ids = logprobs.topk(args.top_k, dim=1)
            for (index, at), lp, r, h, ti, tv in zip(
                where, actual[:, 0].tolist(), rank.tolist(), entropy.tolist(), top_ids.tolist(), top_values.tolist()
            ):
                results[index][at] = (lp, r, h, ti, tv)
            scored += len(targets)
    finished = time.perf_counter()
    if args.dump:
        with open(args.dump, "w") as handle:
            json.dump({row["row_id"]: [r[0] for r in result] for row, result in zip([r for r in rows if r["code"].strip()], results)}, handle)
    print(json.dumps({
        "rows": len(rows),
        "scored_tokens": scored,
        "scoring_seconds": finished - loaded,
        "total_seconds": finished - started,
        "tokens_per_second": scored / (finished - loaded),
        "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
