#!/usr/bin/env python3
"""Generates the TorchScript fixture of icodegen-infer's reference test.

    $(scripts/reference/venv.sh) scripts/reference/make_infer_fixture.py

Writes stages/infer/tests/fixtures/tiny-gpt2/ (a randomly initialised 2-layer GPT-2 exported by
scripts/export_hf.py, with a 300-token byte-level BPE tokenizer) and
stages/infer/tests/fixtures/tiny-gpt2-expected.json: for each test code, the token ids (BOS
first), byte offsets, and per scored position the log-probability, rank, entropy and top-k ids
of the actual next token, computed by the *eager* Hugging Face model in PyTorch, one row at a
time without padding, with sliding windows for code longer than the context. The Rust test
(`stages/infer/tests/infer.rs`) must agree to 1e-5 while batching with padding.
"""
import importlib.util
import json
import os
import sys

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "stages", "infer", "tests", "fixtures")
CONTEXT, STRIDE, TOP_K = 32, 12, 3

CORPUS = [
    "def add(a, b):\n    return a + b\n",
    "def mean(values):\n    total = 0\n    for value in values:\n        total += value\n    return total / len(values)\n",
    "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n",
    "public int max(int a, int b) {\n    if (a > b) {\n        return a;\n    }\n    return b;\n}\n",
    "for i in range(10):\n    if i % 2 == 0:\n        print(i)\n",
]

CODES = [
    "def add(a, b):\n    return a + b\n",
    "s = \"héllo wörld ✓\"  # ünïcode\nreturn s\n",
    "x",
    "public int max(int a, int b) {\n    return a > b ? a : b;\n}\n",
    # Longer than the 32-token context: scored in sliding windows.
    "def long_function(values):\n"
    + "".join(f"    item_{i} = values[{i}] * {i} + len(values)\n" for i in range(8))
    + "    return item_0 + item_7\n",
]


def load_export_hf():
    spec = importlib.util.spec_from_file_location("export_hf", os.path.join(ROOT, "scripts", "export_hf.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_tokenizer():
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        min_frequency=1,
        special_tokens=["<|endoftext|>", "<|pad|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS * 4, trainer)
    return tokenizer


def byte_offsets(code, char_offsets):
    """Python `tokenizers` reports character offsets; icodegen reports bytes."""
    return [[len(code[:start].encode("utf-8")), len(code[:end].encode("utf-8"))] for start, end in char_offsets]


def reference(model, ids):
    """Per position 1..len: (logprob, rank, entropy, topk ids), scoring windows as Hugging Face's
    perplexity guide does: windows start every STRIDE tokens, each scores the tokens that the
    previous window did not reach."""
    scored = {}
    previous_end = 1
    for begin in range(0, len(ids), STRIDE):
        end = min(begin + CONTEXT, len(ids))
        window = torch.tensor([ids[begin:end]])
        with torch.no_grad():
            logits = model(input_ids=window, attention_mask=torch.ones_like(window), use_cache=False).logits[0]
        logprobs = torch.log_softmax(logits.double(), dim=-1)
        for position in range(max(previous_end, begin + 1), end):
            row = logprobs[position - begin - 1]
            actual = row[ids[position]]
            scored[position] = {
                "logprob": actual.item(),
                "rank": int((row > actual).sum().item()) + 1,
                "entropy": float(-(row.exp() * row).sum().item()),
                "topk_ids": row.topk(TOP_K).indices.tolist(),
            }
        previous_end = end
        if end == len(ids):
            break
    return [scored[position] for position in range(1, len(ids))]


def main():
    export_hf = load_export_hf()
    tokenizer = train_tokenizer()
    bos = tokenizer.token_to_id("<|endoftext|>")
    model = export_hf.random_model("gpt2", tokenizer.get_vocab_size(), bos, bos, seed=0, overrides={"n_positions": CONTEXT})
    out_dir = os.path.join(FIXTURES, "tiny-gpt2")
    export_hf.export(
        model,
        tokenizer.to_str(pretty=True),
        out_dir,
        bos_id=bos,
        eos_id=bos,
        pad_id=tokenizer.token_to_id("<|pad|>"),
        provenance={"random": "gpt2", "seed": 0, "made_by": "scripts/reference/make_infer_fixture.py"},
    )
    model.eval()
    rows = []
    for code in CODES:
        encoding = tokenizer.encode(code, add_special_tokens=False)
        ids = [bos] + encoding.ids
        rows.append(
            {
                "code": code,
                "ids": ids,
                "tokens": [tokenizer.id_to_token(i) for i in ids],
                "byte_offsets": [None] + byte_offsets(code, encoding.offsets),
                "positions": reference(model, ids),
            }
        )
        assert len(ids) > CONTEXT or code != CODES[-1], "the long code must exceed the context"
    expected = {
        "made_by": "scripts/reference/make_infer_fixture.py",
        "torch": torch.__version__,
        "context": CONTEXT,
        "stride": STRIDE,
        "top_k": TOP_K,
        "rows": rows,
    }
    with open(os.path.join(FIXTURES, "tiny-gpt2-expected.json"), "w", encoding="utf-8") as handle:
        json.dump(expected, handle, indent=1, ensure_ascii=False)
        handle.write("\n")
    print(f"wrote {out_dir} and tiny-gpt2-expected.json ({sum(len(r['positions']) for r in rows)} scored tokens)", file=sys.stderr)


if __name__ == "__main__":
    main()
