#!/usr/bin/env python3
"""The peer of `icodegen-infer --model HF_DIR` in scripts/bench/hf.sh: `transformers` on the same
Hugging Face checkpoint folder and testbed, computing the same per-token statistics (log-softmax
in float32, log-probability of the actual token, rank, entropy, top-k) with the same tokens (the
folder's `tokenizer.json`, no special tokens, BOS prepended once when `tokenizer_config.json`
says `add_bos_token`), windows, batch size, ordering, dtype and threads as icodegen-infer
(stages/infer/src/lib.rs). By default the logits are made the way icodegen-infer makes them (the
base model's last hidden states at the scored positions, then the output layer on chunks of at most
1024 rows: crates/lm/src/scoring.rs); `--project full` takes `model(...).logits` of every position
instead, as most scripts do. Results stay in memory (no Parquet). Prints one JSON line.

    python scripts/bench/hf_transformers.py MODEL_DIR TESTBED --threads T --batch-size B --dtype float32|bfloat16
        [--top-k 5] [--max-context N] [--stride S] [--dump LOGPROBS.json]
    python scripts/bench/hf_transformers.py MODEL_DIR --load-only --threads T --dtype D   # from_pretrained, exit
    python scripts/bench/hf_transformers.py --baseline                                 # imports only, exit

`load_seconds` is `AutoModelForCausalLM.from_pretrained` + the tokenizer; `scoring_seconds` is
tokenization + scoring, as icodegen-infer times them.
"""
import argparse
import json
import os
import time

started = time.perf_counter()
import pyarrow.parquet as pq  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

imported = time.perf_counter()


from infer_torch import windows  # noqa: E402  (the same windows as the TorchScript bench)


def model_context(config):
    for key in ("max_position_embeddings", "n_positions", "n_ctx", "seq_length"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    raise SystemExit("hf_transformers: no context length in config.json")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model", nargs="?")
    parser.add_argument("testbed", nargs="?")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--max-batch-tokens", type=int, help="as infer.max_batch_tokens (batches by tokens)")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--max-context", type=int)
    parser.add_argument("--stride", type=int)
    parser.add_argument("--project", choices=["selected", "full"], default="selected",
                        help="selected: hidden states of the scored positions through the output layer in chunks (as "
                             "icodegen-infer); full: model(...).logits of every position")
    parser.add_argument("--load-only", action="store_true")
    parser.add_argument("--baseline", action="store_true", help="import torch and transformers, then exit")
    parser.add_argument("--dump", help="write the log-probs of every row as JSON here (for checks)")
    args = parser.parse_args()
    if args.baseline:
        print(json.dumps({"import_seconds": imported - started}))
        return
    torch.set_num_threads(args.threads)
    load_started = time.perf_counter()
    model = transformers.AutoModelForCausalLM.from_pretrained(args.model, dtype=getattr(torch, args.dtype)).eval()
    tokenizer = Tokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
    load_seconds = time.perf_counter() - load_started
    if args.load_only:
        print(json.dumps({"load_seconds": load_seconds, "transformers": transformers.__version__,
                          "attention": model.config._attn_implementation}))
        return
    config = model.config
    tokenizer_config = {}
    if os.path.exists(os.path.join(args.model, "tokenizer_config.json")):
        tokenizer_config = json.load(open(os.path.join(args.model, "tokenizer_config.json")))
    bos = config.bos_token_id if tokenizer_config.get("add_bos_token") else None
    pad = config.pad_token_id if config.pad_token_id is not None else (config.eos_token_id or 0)
    if isinstance(pad, list):
        pad = pad[0]
    context = min(args.max_context or 1 << 62, model_context(config))
    stride = args.stride or max(1, context // 2)
    vocab = config.vocab_size
    k = min(args.top_k, vocab)
    base, head = model.base_model, model.get_output_embeddings()
    chunk = min(max(16, 64 * 1024 * 1024 // vocab), 1024)  # crates/lm/src/scoring.rs

    table = pq.read_table(args.testbed, columns=["row_id", "code"]).to_pylist()
    seen, rows = set(), []
    for row in table:
        if row["row_id"] not in seen:
            seen.add(row["row_id"])
            rows.append(row)
    rows.sort(key=lambda row: row["row_id"])
    scoring_started = time.perf_counter()
    encodings = tokenizer.encode_batch([row["code"] for row in rows], add_special_tokens=False)
    sequences = [([bos] if bos is not None else []) + encoding.ids for encoding in encodings]
    keep = [bool(row["code"].strip()) and len(sequence) >= 2 for row, sequence in zip(rows, sequences)]
    items = [(index, w) for index, sequence in enumerate(sequences) if keep[index]
             for w in windows(len(sequence), context, stride)]
    # icodegen-infer's plan (stages/infer/src/lib.rs): windows sorted by (length, row_id, start), cut
    # into batches of batch_size windows, or of at most max_batch_tokens tokens with padding counted.
    items.sort(key=lambda item: (item[1][1] - item[1][0], rows[item[0]]["row_id"], item[1][0]))
    batches, current = [], []
    for item in items:
        length = item[1][1] - item[1][0]
        if args.max_batch_tokens:
            full = bool(current) and (len(current) + 1) * length > args.max_batch_tokens
        else:
            full = len(current) == args.batch_size
        if full:
            batches.append(current)
            current = []
        current.append(item)
    if current:
        batches.append(current)
    results = [[None] * max(0, len(sequence) - 1) for sequence in sequences]
    scored = 0
    with torch.inference_mode():
        for batch in batches:
            length = max(end - start for _, (start, end, _) in batch)
            ids = torch.full((len(batch), length), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), length), dtype=torch.long)
            rows_index, times, targets, where = [], [], [], []
            padded = False
            for b, (index, (start, end, score_from)) in enumerate(batch):
                piece = sequences[index][start:end]
                ids[b, : len(piece)] = torch.tensor(piece)
                mask[b, : len(piece)] = 1
                padded |= len(piece) < length
                for position in range(score_from, end):
                    rows_index.append(b)
                    times.append(position - start - 1)
                    targets.append(sequences[index][position])
                    where.append((index, position - 1))
            attention_mask = mask if padded else None
            select = (torch.tensor(rows_index), torch.tensor(times))
            if args.project == "full":
                # What most scripts do: every position's logits, then the scored ones.
                hidden = model(input_ids=ids, attention_mask=attention_mask, use_cache=False).logits[select]
                project = lambda rows: rows  # noqa: E731
            else:
                # As icodegen-infer does: the last hidden states, the scored positions, then the
                # output layer on chunks of about 64 M logits.
                hidden = base(input_ids=ids, attention_mask=attention_mask, use_cache=False).last_hidden_state[select]
                project = head
            target_all = torch.tensor(targets)
            for chunk_start in range(0, len(targets), chunk):
                logits = project(hidden[chunk_start : chunk_start + chunk])
                logprobs = torch.log_softmax(logits.float(), dim=-1)
                actual = logprobs.gather(1, target_all[chunk_start : chunk_start + chunk].unsqueeze(1))
                rank = (logprobs > actual).sum(1) + 1
                entropy = -(logprobs.exp() * logprobs).nan_to_num(0.0).sum(1)
                top_values, top_ids = logprobs.topk(k, dim=1)
                for (index, at), lp, r, h, ti, tv in zip(
                    where[chunk_start : chunk_start + chunk], actual[:, 0].tolist(), rank.tolist(), entropy.tolist(),
                    top_ids.tolist(), top_values.tolist()
                ):
                    results[index][at] = (lp, r, h, ti, tv)
            scored += len(targets)
    finished = time.perf_counter()
    if args.dump:
        with open(args.dump, "w") as handle:
            json.dump({
                "ids": {row["row_id"]: sequence for row, sequence, ok in zip(rows, sequences, keep) if ok},
                "logprobs": {row["row_id"]: [r[0] for r in result] for row, result, ok in zip(rows, results, keep) if ok},
                "ranks": {row["row_id"]: [r[1] for r in result] for row, result, ok in zip(rows, results, keep) if ok},
            }, handle)
    print(json.dumps({
        "rows": len(rows),
        "skipped_rows": keep.count(False),
        "scored_tokens": scored,
        "load_seconds": load_seconds,
        "import_seconds": imported - started,
        "scoring_seconds": finished - scoring_started,
        "total_seconds": finished - started,
        "tokens_per_second": scored / (finished - scoring_started),
        "threads": torch.get_num_threads(),
        "dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
        "context": context,
        "stride": stride,
        "batches": len(batches),
        "attention": config._attn_implementation,
        "project": args.project,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
