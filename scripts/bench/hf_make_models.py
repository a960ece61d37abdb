#!/usr/bin/env python3
"""Inputs of scripts/bench/hf.sh: randomly initialised Hugging Face checkpoints of realistic shape,
made with `transformers` from configs (no hub), each with a real tokenizer.

- a byte-level BPE tokenizer (Hugging Face `tokenizers`) trained on the corpus's train snippets,
  saved beside every checkpoint as `tokenizer.json` + `tokenizer_config.json` (+ the special
  tokens map) by `PreTrainedTokenizerFast.save_pretrained`, `add_bos_token` written explicitly;
- `llama`: 12 layers x 768, 12 heads, 4 key/value heads (GQA), MLP 2048, vocab 32000, context
  2048, untied embeddings, BOS `<s>` prepended (as CodeLlama / DeepSeek-Coder do);
- `gpt_bigcode`: 12 layers x 768, 12 heads, multi-query attention, MLP 3072, vocab 49152,
  context 2048, tied embeddings, no BOS (as SantaCoder / StarCoder do);

each saved by `save_pretrained(safe_serialization=True)` in float32 (`DIR/<family>-float32`) and
in bfloat16 (`DIR/<family>-bfloat16`, the same weights rounded). Idempotent: a folder whose
`config.json` exists is kept.

    python scripts/bench/hf_make_models.py OUT_DIR --snippets snippets.parquet [--families llama,gpt_bigcode]
        [--dtypes float32,bfloat16] [--layers 12] [--width 768] [--tokenizer-vocab 32000] [--seed 1]
"""
import argparse
import json
import os
import sys

import pyarrow.parquet as pq
import torch

SPECIAL = ["<|endoftext|>", "<s>", "</s>", "<pad>"]  # ids 0..3


def train_tokenizer(snippets, vocab_size, out):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    if os.path.exists(out):
        return Tokenizer.from_file(out)
    table = pq.read_table(snippets, columns=["code", "split"]).to_pylist()
    codes = [row["code"] for row in table if row["split"] == "train"]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tokenizer.train_from_iterator(codes, trainer)
    tokenizer.save(out)
    print(f"hf_make_models: tokenizer of {tokenizer.get_vocab_size()} tokens from {len(codes)} snippets", file=sys.stderr)
    return tokenizer


def config_of(family, layers, width, vocab, context):
    from transformers import AutoConfig

    heads = max(1, width // 64)
    if family == "llama":
        return AutoConfig.for_model(
            "llama", vocab_size=vocab or 32000, hidden_size=width, intermediate_size=width * 8 // 3 // 256 * 256 or 256,
            num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=max(1, heads // 3),
            max_position_embeddings=context, rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
            bos_token_id=1, eos_token_id=2, pad_token_id=None, hidden_act="silu",
        ), True
    if family == "gpt_bigcode":
        return AutoConfig.for_model(
            "gpt_bigcode", vocab_size=vocab or 49152, n_embd=width, n_layer=layers, n_head=heads, n_positions=context,
            multi_query=True, activation_function="gelu_pytorch_tanh", bos_token_id=0, eos_token_id=0,
            tie_word_embeddings=True,
        ), False
    raise SystemExit(f"hf_make_models: unknown family {family!r} (llama, gpt_bigcode)")


def save_tokenizer(tokenizer_path, folder, add_bos, family):
    from transformers import PreTrainedTokenizerFast

    if family == "llama":
        special = dict(bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    else:
        special = dict(bos_token="<|endoftext|>", eos_token="<|endoftext|>", pad_token="<pad>")
    fast = PreTrainedTokenizerFast(tokenizer_file=tokenizer_path, **special)
    fast.save_pretrained(folder)
    path = os.path.join(folder, "tokenizer_config.json")
    config = json.load(open(path))
    config["add_bos_token"] = add_bos
    config["add_eos_token"] = False
    with open(path, "w") as handle:
        json.dump(config, handle, indent=2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--snippets", required=True)
    parser.add_argument("--families", default="llama,gpt_bigcode")
    parser.add_argument("--dtypes", default="float32,bfloat16")
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--width", type=int, default=768)
    parser.add_argument("--vocab", type=int, default=0, help="model vocabulary (0: 32000 llama, 49152 gpt_bigcode)")
    parser.add_argument("--context", type=int, default=2048)
    parser.add_argument("--tokenizer-vocab", type=int, default=32000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    tokenizer_path = os.path.join(args.out, "bpe-tokenizer.json")
    tokenizer = train_tokenizer(args.snippets, args.tokenizer_vocab, tokenizer_path)
    from transformers import AutoModelForCausalLM

    for family in args.families.split(","):
        config, add_bos = config_of(family, args.layers, args.width, args.vocab, args.context)
        if tokenizer.get_vocab_size() > config.vocab_size:
            raise SystemExit(f"hf_make_models: tokenizer ({tokenizer.get_vocab_size()}) exceeds vocab {config.vocab_size}")
        todo = [d for d in args.dtypes.split(",") if not os.path.exists(os.path.join(args.out, f"{family}-{d}", "config.json"))]
        if not todo:
            continue
        torch.manual_seed(args.seed)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32).eval()
        parameters = sum(p.numel() for p in model.parameters())
        for dtype in todo:
            folder = os.path.join(args.out, f"{family}-{dtype}")
            model.to(getattr(torch, dtype)).save_pretrained(folder, safe_serialization=True)
            save_tokenizer(tokenizer_path, folder, add_bos, family)
            size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder) if f.endswith(".safetensors"))
            print(f"hf_make_models: {folder}: {family}, {parameters / 1e6:.1f} M parameters, {dtype}, "
                  f"{size / 2**20:.0f} MiB of safetensors", file=sys.stderr)
        del model


if __name__ == "__main__":
    main()
