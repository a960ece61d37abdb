#!/usr/bin/env python3
"""The transformers side of scripts/bench/hf.sh: score code with a Hugging Face checkpoint folder in
Python, as icodegen-infer does natively, and print one JSON line of timings.

    PY=$(scripts/reference/venv.sh hf)
    $PY scripts/reference/hf_transformers_bench.py score MODEL_DIR CODES --dtype bfloat16 --batch-size 8 \
        --threads 8 [--max-context 1024] [--stride 512] [--top-k 5] [--device cpu|cuda] [--attn eager|sdpa]
    $PY scripts/reference/hf_transformers_bench.py make-random llama OUT_DIR [--layers 12 --hidden 768
        --heads 12 --kv-heads 4 --vocab 32000 --context 2048 --dtype bfloat16 --tokenizer-from FOLDER]

CODES is a Parquet testbed (column `code`, rows deduplicated by `row_id` when present), a JSON list of
strings, or a text file whose entries are separated by lines holding only "\\f" (form feed).

`score` loads the folder with AutoTokenizer / AutoModelForCausalLM (the given dtype, eager or sdpa
attention), tokenizes every code as transformers does by default (BOS where the tokenizer adds one),
cuts each sequence into windows of max-context tokens every `stride` tokens (each window scores the
tokens the previous one did not reach, as icodegen-infer does), runs them in batches of batch-size
windows with right padding and an attention mask, and computes per scored token the log-probability
of the actual token, its rank, the entropy and the top-k ids (kept in memory, not written). Output
fields: model, dtype, device, threads, batch_size, max_context, stride, codes, windows, tokens (scored
tokens), load_s (tokenizer + model load, imports excluded), score_s, tokens_per_s, baseline_rss_bytes
(peak resident set before loading: python + torch + transformers, ~0.7 GB), peak_rss_load_bytes (peak
after loading), peak_rss_bytes (peak at the end), cuda_peak_bytes (CUDA only), transformers, torch.

`make-random` writes a random checkpoint of realistic shape (save_pretrained, safetensors, the given
dtype) with the tokenizer files of --tokenizer-from (default: the gpt2-family fixture tokenizer of
stages/infer/tests/fixtures/hf/gpt_neo, vocab padded to --vocab). Families: llama, gpt_bigcode,
gpt_neox, qwen2, mistral, starcoder2, gpt2, codegen.
"""
import argparse
import json
import os
import resource
import shutil
import sys
import time

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def read_codes(path):
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq
        table = pq.read_table(path).to_pylist()
        seen, codes = set(), []
        for row in table:
            key = row.get("row_id", len(codes))
            if key not in seen:
                seen.add(key)
                codes.append(row["code"])
        return codes
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if path.endswith(".json"):
        return json.loads(text)
    return [c for c in text.split("\n\f\n") if c]


def windows(length, context, stride):
    out, begin, scored_until = [], 0, 1
    if length < 2:
        return out
    while True:
        end = min(begin + context, length)
        out.append((begin, end, max(scored_until, begin + 1)))
        if end == length:
            return out
        scored_until = end
        begin += stride


def score(model_dir, codes, dtype="float32", batch_size=8, threads=None, max_context=None, stride=None,
          top_k=5, device="cpu", attn="eager"):
    """Runs transformers on `codes`; returns the timings dict (see the module docstring)."""
    if threads:
        torch.set_num_threads(threads)
    rss_baseline = peak_rss_bytes()  # python + torch + transformers imported, nothing loaded
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=DTYPES[dtype], attn_implementation=attn).to(device).eval()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    loaded = time.perf_counter()
    rss_load = peak_rss_bytes()
    config = model.config
    context = max_context or getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions")
    stride = stride or max(1, context // 2)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (config.eos_token_id or 0)
    if isinstance(pad, list):
        pad = pad[0]
    sequences = tokenizer([c for c in codes if c.strip()])["input_ids"]
    items = [(s, w) for s, ids in enumerate(sequences) for w in windows(len(ids), context, stride)]
    items.sort(key=lambda item: item[1][1] - item[1][0], reverse=True)  # similar lengths together
    scored = 0
    with torch.inference_mode():
        for first in range(0, len(items), batch_size):
            batch = items[first:first + batch_size]
            width = max(end - begin for _, (begin, end, _) in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, (s, (begin, end, _)) in enumerate(batch):
                ids[row, : end - begin] = torch.tensor(sequences[s][begin:end])
                mask[row, : end - begin] = 1
            ids, mask = ids.to(device), mask.to(device)
            logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits.float()
            logprobs = torch.log_softmax(logits[:, :-1], dim=-1)
            targets = ids[:, 1:]
            actual = logprobs.gather(-1, targets.unsqueeze(-1))
            ranks = (logprobs > actual).sum(-1) + 1
            entropy = -(logprobs.exp() * logprobs).sum(-1)
            topk = logprobs.topk(top_k, dim=-1).indices
            keep = torch.zeros_like(targets, dtype=torch.bool)
            for row, (s, (begin, end, first_scored)) in enumerate(batch):
                keep[row, first_scored - begin - 1: end - begin - 1] = True
            _ = (actual.squeeze(-1)[keep].cpu(), ranks[keep].cpu(), entropy[keep].cpu(), topk[keep].cpu())
            scored += int(keep.sum())
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    finished = time.perf_counter()
    result = {
        "model": model_dir, "dtype": dtype, "device": device, "threads": torch.get_num_threads(),
        "batch_size": batch_size, "max_context": context, "stride": stride, "attn": attn,
        "codes": len(sequences), "windows": len(items), "tokens": scored,
        "load_s": loaded - started, "score_s": finished - loaded,
        "tokens_per_s": scored / max(finished - loaded, 1e-9),
        "baseline_rss_bytes": rss_baseline, "peak_rss_load_bytes": rss_load, "peak_rss_bytes": peak_rss_bytes(),
        "transformers": transformers.__version__, "torch": torch.__version__,
    }
    if device.startswith("cuda"):
        result["cuda_peak_bytes"] = torch.cuda.max_memory_allocated()
    return result


def make_random(family, out_dir, layers=12, hidden=768, heads=12, kv_heads=None, vocab=32000, context=2048,
                dtype="bfloat16", tokenizer_from=None, seed=0):
    """A random checkpoint of realistic shape, saved as save_pretrained does."""
    T = transformers
    tokenizer_from = tokenizer_from or os.path.join(ROOT, "stages", "infer", "tests", "fixtures", "hf", "gpt_neo")
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_from)
    bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else 0
    eos = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else bos
    kv_heads = kv_heads or heads
    common = dict(vocab_size=vocab, bos_token_id=bos, eos_token_id=eos)
    llama_like = dict(hidden_size=hidden, intermediate_size=hidden * 8 // 3 // 64 * 64 or 4 * hidden,
                      num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv_heads,
                      max_position_embeddings=context, **common)
    configs = {
        "llama": lambda: T.LlamaConfig(**llama_like),
        "mistral": lambda: T.MistralConfig(**llama_like, sliding_window=context // 2),
        "qwen2": lambda: T.Qwen2Config(**llama_like),
        "starcoder2": lambda: T.Starcoder2Config(**dict(llama_like, intermediate_size=4 * hidden)),
        "gpt_bigcode": lambda: T.GPTBigCodeConfig(n_embd=hidden, n_layer=layers, n_head=heads, n_positions=context,
                                                  multi_query=kv_heads == 1, **common),
        "gpt_neox": lambda: T.GPTNeoXConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                                            intermediate_size=4 * hidden, max_position_embeddings=context, **common),
        "gpt2": lambda: T.GPT2Config(n_embd=hidden, n_layer=layers, n_head=heads, n_positions=context, **common),
        "codegen": lambda: T.CodeGenConfig(n_embd=hidden, n_layer=layers, n_head=heads, n_positions=context,
                                           n_ctx=context, rotary_dim=hidden // heads // 2, **common),
    }
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(configs[family](), dtype=torch.float32)
    shutil.rmtree(out_dir, ignore_errors=True)
    model.to(DTYPES[dtype]).save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    for name in ("vocab.json", "merges.txt"):
        if os.path.exists(os.path.join(tokenizer_from, name)) and not os.path.exists(os.path.join(out_dir, name)):
            shutil.copy(os.path.join(tokenizer_from, name), out_dir)
    return {"family": family, "out": out_dir, "parameters": sum(p.numel() for p in model.parameters()), "dtype": dtype}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("score")
    s.add_argument("model")
    s.add_argument("codes")
    s.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    s.add_argument("--batch-size", type=int, default=8)
    s.add_argument("--threads", type=int)
    s.add_argument("--max-context", type=int)
    s.add_argument("--stride", type=int)
    s.add_argument("--top-k", type=int, default=5)
    s.add_argument("--device", default="cpu")
    s.add_argument("--attn", choices=["eager", "sdpa"], default="eager")
    m = sub.add_parser("make-random")
    m.add_argument("family")
    m.add_argument("out")
    m.add_argument("--layers", type=int, default=12)
    m.add_argument("--hidden", type=int, default=768)
    m.add_argument("--heads", type=int, default=12)
    m.add_argument("--kv-heads", type=int)
    m.add_argument("--vocab", type=int, default=32000)
    m.add_argument("--context", type=int, default=2048)
    m.add_argument("--dtype", choices=sorted(DTYPES), default="bfloat16")
    m.add_argument("--tokenizer-from")
    args = parser.parse_args()
    transformers.utils.logging.disable_progress_bar()
    if args.command == "score":
        result = score(args.model, read_codes(args.codes), args.dtype, args.batch_size, args.threads,
                       args.max_context, args.stride, args.top_k, args.device, args.attn)
    else:
        result = make_random(args.family, args.out, args.layers, args.hidden, args.heads, args.kv_heads, args.vocab,
                             args.context, args.dtype, args.tokenizer_from)
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
