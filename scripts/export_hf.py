#!/usr/bin/env python3
"""Export a Hugging Face causal language model as an icodegen TorchScript model directory.

    python scripts/export_hf.py MODEL OUT_DIR [--context N] [--no-bos]

MODEL is a hub name (`gpt2`, `EleutherAI/gpt-neo-125M`, `Salesforce/codegen-350M-mono`; needs
internet access) or a local directory saved with `save_pretrained` (model and tokenizer).
OUT_DIR becomes a model directory that `icodegen-infer --model OUT_DIR` scores with:

    model.pt        TorchScript: forward(input_ids [B,T] int64, attention_mask [B,T] int64)
                    -> logits [B,T,V] float32 (eager attention, traced on CPU in eval mode)
    tokenizer.json  the model's fast tokenizer (Hugging Face `tokenizers` format)
    config.json     {"format": "torchscript", vocab_size, context_length, bos_id, eos_id, pad_id,
                     provenance}

For tests without a hub, `--random {gpt2,gpt-neo,codegen} --tokenizer tokenizer.json` builds a
tiny randomly initialised model of that family from a config instead (`--overrides JSON`
changes its sizes). The traced module is checked against the eager model on padded and
unpadded batches of several shapes before anything is written; the export fails on a mismatch.
Needs torch and transformers (scripts/reference/venv.sh makes such an environment).
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

import torch

FAMILIES = ("gpt2", "gpt-neo", "codegen")


class LogitsOnly(torch.nn.Module):
    """The interface icodegen-infer calls: ids and mask in, logits out.

    With `additive_mask`, the wrapper builds the full causal + padding mask itself as a 4-D
    additive float mask, which models built on transformers' `create_causal_mask` (GPT-2 since
    4.53) use as given: their own mask construction uses torch.vmap and Python integers that
    torch.jit.trace would freeze to the example's shape."""

    def __init__(self, model, additive_mask=False):
        super().__init__()
        self.model = model
        self.additive_mask = additive_mask

    def forward(self, input_ids, attention_mask):
        mask = attention_mask
        if self.additive_mask:
            time = input_ids.shape[1]
            causal = torch.ones(time, time, dtype=torch.bool, device=input_ids.device).tril()
            allowed = causal[None, None, :, :] & attention_mask[:, None, None, :].bool()
            blocked = torch.full(allowed.shape, torch.finfo(torch.float32).min, device=input_ids.device)
            mask = torch.where(allowed, torch.zeros_like(blocked), blocked)
        output = self.model(input_ids=input_ids, attention_mask=mask, use_cache=False, return_dict=False)
        return output[0].float()


def context_length_of(config):
    for name in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    raise SystemExit("export_hf: cannot find the context length in the model config; pass --context")


def right_padded_batch(vocab, batch, time, seed):
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab, (batch, time), generator=generator)
    mask = torch.ones(batch, time, dtype=torch.long)
    for row in range(1, batch):
        length = max(1, time - row * max(1, time // (batch + 1)))
        mask[row, length:] = 0
    return ids, mask


def check_trace(eager, traced, vocab, context):
    """Largest difference between traced and eager logits at real (unpadded) positions; `eager`
    is the model with its own (2-D) mask handling, the reference whatever the traced wrapper
    does."""
    worst = 0.0
    shapes = [(1, min(5, context)), (3, min(16, context)), (4, min(context, 40)), (2, context)]
    for index, (batch, time) in enumerate(shapes):
        ids, mask = right_padded_batch(vocab, batch, time, seed=100 + index)
        with torch.no_grad():
            expected = eager(ids, mask)
            actual = traced(ids, mask)
        if expected.shape != actual.shape:
            raise SystemExit(f"export_hf: traced output shape {tuple(actual.shape)} != eager {tuple(expected.shape)}")
        real = mask.bool()
        worst = max(worst, (expected[real] - actual[real]).abs().max().item())
    return worst


def export(model, tokenizer_json, out_dir, *, context=None, bos_id=None, eos_id=None, pad_id=None, provenance=None):
    """Traces `model` and writes the model directory `out_dir` (replacing it atomically)."""
    model = model.float().eval()
    context = context or context_length_of(model.config)
    vocab = model.get_output_embeddings().weight.shape[0]
    example = right_padded_batch(vocab, 3, min(16, context), seed=0)
    # Plain 2-D masks first (GPT-Neo, CodeGen); the 4-D additive mask where tracing the
    # model's own mask construction fails or freezes shapes (GPT-2 on recent transformers).
    failures = []
    reference = LogitsOnly(model, additive_mask=False).eval()
    for additive_mask in (False, True):
        wrapper = LogitsOnly(model, additive_mask).eval()
        try:
            with torch.no_grad():
                traced = torch.jit.trace(wrapper, example, check_trace=False)
            worst = check_trace(reference, traced, vocab, context)
        except Exception as error:  # tracing failures surface as many exception types
            failures.append(f"{'4-D' if additive_mask else '2-D'} mask: {str(error).splitlines()[0]}")
            continue
        if worst <= 1e-4:
            break
        failures.append(f"{'4-D' if additive_mask else '2-D'} mask: traced differs from eager by {worst:.3g}")
    else:
        raise SystemExit("export_hf: cannot trace this model faithfully; not exported\n  " + "\n  ".join(failures))
    with torch.no_grad():
        ids, mask = right_padded_batch(vocab, 1, 2, seed=1)
        predicted = traced(ids, mask).shape[-1]
    config = {
        "format": "torchscript",
        "vocab_size": int(predicted),
        "context_length": int(context),
        "bos_id": bos_id,
        "eos_id": eos_id,
        "pad_id": pad_id if pad_id is not None else eos_id,
        "provenance": dict(
            provenance or {}, torch=torch.__version__, traced_max_abs_diff=worst, additive_mask=additive_mask
        ),
    }
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    temp = tempfile.mkdtemp(prefix="." + os.path.basename(out_dir) + ".tmp-", dir=parent)
    os.chmod(temp, 0o755)
    try:
        traced.save(os.path.join(temp, "model.pt"))
        with open(os.path.join(temp, "tokenizer.json"), "w", encoding="utf-8") as handle:
            handle.write(tokenizer_json)
        with open(os.path.join(temp, "config.json"), "w", encoding="utf-8") as handle:
            json.dump(config, handle, indent=2)
            handle.write("\n")
        if os.path.exists(out_dir):
            shutil.rmtree(out_dir)
        os.rename(temp, out_dir)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return config


def random_model(family, vocab_size, bos_id, eos_id, seed, overrides):
    """A tiny randomly initialised model of `family`, built from a config (no hub access)."""
    import transformers

    torch.manual_seed(seed)
    common = dict(vocab_size=vocab_size, bos_token_id=bos_id, eos_token_id=eos_id)
    if family == "gpt2":
        config = transformers.GPT2Config(n_positions=32, n_embd=32, n_layer=2, n_head=2, **common)
        model_class = transformers.GPT2LMHeadModel
    elif family == "gpt-neo":
        config = transformers.GPTNeoConfig(
            max_position_embeddings=32,
            hidden_size=32,
            num_layers=2,
            num_heads=2,
            attention_types=[[["global", "local"], 1]],
            window_size=8,
            **common,
        )
        model_class = transformers.GPTNeoForCausalLM
    elif family == "codegen":
        # CodeGen splits heads into 4 model-parallel groups: n_head must be a multiple of 4.
        config = transformers.CodeGenConfig(n_positions=32, n_ctx=32, n_embd=32, n_layer=2, n_head=4, rotary_dim=4, **common)
        model_class = transformers.CodeGenForCausalLM
    else:
        raise SystemExit(f"export_hf: unknown family `{family}`, expected one of {', '.join(FAMILIES)}")
    for key, value in overrides.items():
        if not hasattr(config, key):
            raise SystemExit(f"export_hf: the {family} config has no `{key}`")
        setattr(config, key, value)
    config._attn_implementation = "eager"
    return model_class(config)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", help="hub name or local directory (omit with --random)")
    parser.add_argument("out", help="model directory to write")
    parser.add_argument("--context", type=int, help="context length (default: the model's)")
    parser.add_argument("--no-bos", action="store_true", help="do not prepend BOS when scoring")
    parser.add_argument("--random", choices=FAMILIES, help="export a tiny random model of this family")
    parser.add_argument("--tokenizer", help="tokenizer.json for --random")
    parser.add_argument("--bos-token", default="<|endoftext|>", help="BOS/EOS token of --tokenizer")
    parser.add_argument("--seed", type=int, default=0, help="seed of --random weights")
    parser.add_argument("--overrides", default="{}", help="JSON of config fields for --random")
    args = parser.parse_args(argv)

    if args.random:
        if not args.tokenizer:
            parser.error("--random needs --tokenizer")
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(args.tokenizer)
        bos = tokenizer.token_to_id(args.bos_token)
        if bos is None:
            parser.error(f"{args.tokenizer} has no token {args.bos_token}")
        overrides = json.loads(args.overrides)
        vocab = overrides.pop("vocab_size", tokenizer.get_vocab_size(with_added_tokens=True))
        model = random_model(args.random, vocab, bos, bos, args.seed, overrides)
        tokenizer_json = tokenizer.to_str(pretty=True)
        eos, pad = bos, bos
        provenance = {"random": args.random, "seed": args.seed, "overrides": overrides}
    else:
        if not args.model:
            parser.error("give a MODEL, or --random")
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.model, use_fast=True)
        if not getattr(tokenizer, "is_fast", False):
            raise SystemExit(f"export_hf: {args.model} has no fast tokenizer (tokenizer.json) that icodegen can load")
        model = AutoModelForCausalLM.from_pretrained(args.model, attn_implementation="eager", torch_dtype=torch.float32)
        tokenizer_json = tokenizer.backend_tokenizer.to_str(pretty=True)
        bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else model.config.bos_token_id
        eos = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else model.config.eos_token_id
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
        provenance = {"source": args.model, "transformers": transformers.__version__, "class": type(model).__name__}
    if args.no_bos:
        bos = None
    config = export(model, tokenizer_json, args.out, context=args.context, bos_id=bos, eos_id=eos, pad_id=pad, provenance=provenance)
    print(f"export_hf: wrote {args.out} (vocab {config['vocab_size']}, context {config['context_length']}, "
          f"traced vs eager max |diff| {config['provenance']['traced_max_abs_diff']:.2e})", file=sys.stderr)


if __name__ == "__main__":
    main()
