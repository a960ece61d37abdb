#!/usr/bin/env python3
"""Parity fixtures for icodegen-infer's native Hugging Face checkpoint loading (issue 13, part 7).

    $(scripts/reference/venv.sh hf) scripts/reference/make_hf_fixtures.py

(`venv.sh hf` is .tools/py-hf: transformers 5.25.0 and tokenizers 0.23.3 pinned in
scripts/reference/hf-requirements.txt, over torch 2.13.0 from .tools/py-torch.) Options:
`--check-only` rebuilds everything in memory and compares it with the committed files instead of
writing; `--cross-check PYTHON` also scores every old-dialect fixture with another interpreter's
transformers (e.g. .tools/py-torch/bin/python, transformers 4.57.1) and reports the largest difference.

Everything is deterministic (seed 0 + the fixture's index; byte-identical on re-runs). No hub access.

What it writes, under stages/infer/tests/fixtures/hf/:

    <name>/                 a checkpoint folder exactly as `save_pretrained` leaves it: config.json,
                            generation_config.json, model.safetensors (or model-0000i-of-0000n.safetensors
                            + model.safetensors.index.json), and the tokenizer files (see `tokenizer` below)
    <name>.expected.json    the reference outputs (beside the folder, so the folder stays a pristine
                            checkpoint)

The fixtures (model_type, and the variants whose effect on the output is checked, see `ablations`):

    gpt2                 gpt2; tied embeddings; learned positions; vocab.json + merges.txt ONLY (no
                         tokenizer.json); OLD config dialect (`torch_dtype`)
    gpt_neo              gpt_neo; attention_types global+local, window_size 8 < input; scale 1.0; tied
    gpt_neox_parallel    gpt_neox; partial rotary (rotary_pct 0.25: 4 of head_dim 16), use_parallel_residual true, untied
                         (`embed_out`), rotary_emb_base 20000; OLD dialect (`rotary_pct`, `rotary_emb_base`,
                         `torch_dtype`)
    gpt_neox_sequential  gpt_neox; use_parallel_residual false, tied embeddings, partial_rotary_factor 0.5;
                         NEW dialect (`rope_parameters`, `dtype`)
    gpt_bigcode_mqa      gpt_bigcode; multi_query true (one k/v head, c_attn = [q | k | v]); tied
    gpt_bigcode_mha      gpt_bigcode; multi_query false (c_attn laid out per head: [q_h k_h v_h] ...)
    codegen              codegen; rotary_dim 4 of head_dim 6 (GPT-J interleaved rotary), qkv_proj's
                         mp_num=4 layout with 8 heads, lm_head bias, untied, vocab 400 > tokenizer's 384;
                         OLD dialect (`torch_dtype`)
    llama_linear         llama; GQA (4 heads, 2 k/v heads), rope_scaling linear factor 2.0, untied;
                         OLD dialect (`rope_scaling` {"factor", "rope_type", "type"}, `rope_theta`, `torch_dtype`)
    llama3_bias          llama; rope llama3 (factor 8, original_max_position_embeddings 16), rope_theta
                         500000, GQA, attention_bias and mlp_bias true, tied; NEW dialect (`rope_parameters`)
    llama_mqa_sharded    llama; MQA (num_key_value_heads 1), untied, SHARDED (4 safetensors shards + index)
    mistral              mistral; sliding_window 8 < input, GQA, explicit head_dim 16 != hidden/heads 12,
                         rope_theta 1e6
    qwen2                qwen2; q/k/v bias, tied, no sliding window although config.json has
                         "sliding_window": 8 (use_sliding_window false, as in Qwen2.5-Coder's configs: the
                         window must be ignored), vocab 400, weights stored in BFLOAT16 (`torch_dtype`
                         bfloat16); OLD dialect
    qwen2_sliding        qwen2; use_sliding_window true, sliding_window 8, max_window_layers 1 (layer 0
                         full attention, layers 1-2 sliding: transformers 5.25 honours it through
                         config.layer_types), q/k/v bias, untied
    starcoder2           starcoder2; use_bias (all linears), GQA, sliding_window 8 < input, LayerNorm,
                         gelu_pytorch_tanh MLP, tied

Tokenizers: one byte-level BPE (ByteLevel pre-tokenizer, add_prefix_space false, 384 tokens including
the specials <|endoftext|>=0, <|pad|>=1, <s>=2, </s>=3, <unk>=4) trained on CORPUS below. The llama-family
fixtures (llama_*, mistral) use "<s>"/"</s>" and a tokenizer.json whose post-processor is
TemplateProcessing "<s> $A", with add_bos_token true in tokenizer_config.json: transformers adds exactly
one BOS (the Rust side must not add a second one). The other fixtures use "<|endoftext|>" and add no BOS,
exactly as their real tokenizers do (transformers 5.25's tokenizers backend follows the post-processor and
does not act on add_bos_token by itself). The new-dialect fixtures' tokenizer_config.json is what transformers 5.25 writes
(tokenizer_class "TokenizersBackend", no special_tokens_map.json); the old-dialect fixtures' tokenizer
files are written by transformers 4.57.1's save_pretrained (.tools/py-torch): tokenizer_config.json with
added_tokens_decoder and tokenizer_class "PreTrainedTokenizerFast" (or "GPT2Tokenizer"), plus
special_tokens_map.json. The qwen2 fixtures' tokenizer.json carries Qwen2's NFC normalizer and
digit-splitting Split pre-tokenizer before the ByteLevel one (transformers 5 imposes them on any qwen2
checkpoint, and real Qwen2 tokenizer.json files have them).

Config dialects: the NEW dialect is what transformers 5.25 writes (`dtype`, `rope_parameters` holding
rope_type, rope_theta and, for partial rotary, partial_rotary_factor). The OLD dialect is the same config
rewritten by hand as transformers 4.55.4 writes it (see to_old_dialect): `torch_dtype`; `rope_theta` +
`rope_scaling` (null, or the scaling dict with both "type" and "rope_type"); for gpt_neox `rotary_pct`,
`rotary_emb_base`, `rope_theta`, `partial_rotary_factor`; "transformers_version": "4.55.4". Each
old-dialect folder is reloaded by transformers 5.25 and must give bit-identical logits to the model that
was saved (checked below).

<name>.expected.json, field by field:

    made_by           "scripts/reference/make_hf_fixtures.py"
    fixture           <name>; the checkpoint folder is the sibling directory <name>/
    model_type        config.json's model_type
    architecture      the transformers class, e.g. "LlamaForCausalLM"
    variants          list of strings: what the fixture exercises (documentation)
    config_dialect    "old" or "new" (see above)
    weights_dtype     dtype of the stored tensors: "float32", or "bfloat16" (qwen2 only)
    sharded           true when the weights are in several shards with model.safetensors.index.json
    tokenizer_files   the tokenizer files in the folder, sorted
    adds_bos          whether transformers' tokenizer adds a BOS (then ids[0] == bos_token_id)
    bos_token_id, eos_token_id   from config.json
    transformers, torch, tokenizers   versions that produced the references
    seed              torch seed of the random weights
    context, stride   32, 12: the scoring window (give infer.max_context = 32); see `positions`
    top_k             3
    bf16_mae          mean over ALL scored positions of all rows of |bf16_logprob - logprob| (nats):
                      transformers' own bfloat16 error; the Rust bfloat16 run must have MAE <= 1.25 x
                      this and <= 0.05
    bf16_max_abs_error  the largest such difference (information)
    ablations         list of {"variant", "off", "max_abs_change", "mean_abs_change"}: the variant
                      switched off (`off` says how) changes the float32 logprobs by this much (nats, over
                      all scored positions); each is > 1e-3, i.e. the fixture exercises the variant
    rows              one per input code, in this order: ASCII Python, non-ASCII Python, Java, a
                      one-character input, a Python function longer than the context. Each row:
        code          the input string
        ids           token ids exactly as AutoTokenizer.from_pretrained(<folder>)(code) gives them
                      (default add_special_tokens, so a leading BOS where the tokenizer adds one)
        tokens        the token strings of ids (byte-level BPE symbols)
        special       per id: true for tokens the post-processor added (BOS)
        byte_offsets  per id: [start, end) in BYTES of the UTF-8 code, or null for special tokens
        positions     one entry per position p = 1 .. len(ids)-1 (position 0 is never scored), for the
                      token ids[p] predicted from ids[..p]. Code longer than `context` is scored in
                      windows: windows start at token 0, stride, 2*stride, ... and span `context` tokens;
                      each window scores the positions that the previous window did not reach (the first
                      window scores 1..context-1), until a window reaches the end. Each entry:
            logprob       log-softmax of the float32 eager model's logits (log_softmax in float64) at
                          the actual token ids[p]
            rank          1 + the number of vocabulary entries with a strictly larger logit
            tie_gap       smallest |logprob(ids[p]) - logprob(j)| over j != ids[p]: where it is below
                          ~1e-4 the rank can legitimately differ (a tie)
            entropy       -sum(p log p) of the distribution, nats (float64)
            topk_ids      the top_k token ids by logit, largest first
            topk_gap      smallest difference between consecutive logprobs among the top_k + 1
                          largest (where tiny, topk_ids order is a tie)
            bf16_logprob  the same logprob from transformers' bfloat16 model (the reloaded folder,
                          .to(torch.bfloat16); its logits cast to float32 before a float32 log_softmax)
    The references are computed from the SAVED folder reloaded with
    AutoModelForCausalLM.from_pretrained(dir, dtype=torch.float32, attn_implementation="eager"), one row at
    a time, no padding (attention_mask all ones), use_cache false.
"""
import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile

import torch
import tokenizers
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "stages", "infer", "tests", "fixtures", "hf")
CONTEXT, STRIDE, TOP_K = 32, 12, 3
MAX_POSITIONS = 64
VOCAB = 384
OLD_VERSION = "4.55.4"
SPECIALS = ["<|endoftext|>", "<|pad|>", "<s>", "</s>", "<unk>"]
ABLATION_MIN = 1e-3
V4_PYTHON = os.path.join(ROOT, ".tools", "py-torch", "bin", "python")  # transformers 4.57.1
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                 r"|\s*[\r\n]+|\s+(?!\S)|\s+")

CORPUS = [
    "def add(a, b):\n    return a + b\n",
    "def mean(values):\n    total = 0\n    for value in values:\n        total += value\n    return total / len(values)\n",
    "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n",
    "public int max(int a, int b) {\n    if (a > b) {\n        return a;\n    }\n    return b;\n}\n",
    "for i in range(10):\n    if i % 2 == 0:\n        print(i)\n",
    "import os\nimport sys\n\ndef main(argv):\n    path = os.path.join(argv[1], 'data')\n    with open(path) as handle:\n        return handle.read()\n",
    "public static void main(String[] args) {\n    List<String> names = new ArrayList<>();\n    for (String arg : args) {\n        names.add(arg.trim());\n    }\n    System.out.println(names);\n}\n",
    "while (count < limit) {\n    result = result * 2 + count;\n    count++;\n}\n",
    "try:\n    value = int(text)\nexcept ValueError as error:\n    raise RuntimeError(str(error))\nelse:\n    print(value)\n",
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "# compute the sum of squares\nresult = sum(x * x for x in range(100) if x % 3 == 0)\n",
]

CODES = [
    "def add(a, b):\n    return a + b\n",
    "s = \"héllo wörld ✓\"  # ünïcode\nreturn s\n",
    "public int max(int a, int b) {\n    return a > b ? a : b;\n}\n",
    "x",
    # Longer than the 32-token context: scored in sliding windows.
    "def long_function(values):\n"
    + "".join(f"    item_{i} = values[{i}] * {i} + len(values)\n" for i in range(8))
    + "    return item_0 + item_7\n",
]


# ----------------------------------------------------------------------------------------- tokenizer

def train_tokenizer():
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB,
        min_frequency=1,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS * 4, trainer)
    assert tokenizer.get_vocab_size() == VOCAB, tokenizer.get_vocab_size()
    return tokenizer


def save_tokenizer(base, kind, folder, old_dialect):
    """kind: "json" (tokenizer.json, no BOS), "json_bos" (tokenizer.json whose post-processor adds
    <s>), "vocab_merges" (GPT-2 style vocab.json + merges.txt only)."""
    tok = Tokenizer.from_str(base.to_str())
    if kind == "json_qwen2":
        # transformers 5 loads a qwen2 checkpoint's tokenizer as Qwen2Tokenizer, which imposes Qwen2's
        # NFC normalizer and pre-tokenizer (digits one by one) over tokenizer.json's; real Qwen2
        # tokenizer.json files carry exactly these, so the fixture does too.
        data = json.loads(tok.to_str())
        data["normalizer"] = {"type": "NFC"}
        data["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_PATTERN}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
        ]}
        tok = Tokenizer.from_str(json.dumps(data))
    if kind == "json_bos":
        bos, eos, unk = "<s>", "</s>", "<unk>"
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", tok.token_to_id("<s>"))]
        )
    else:
        bos = eos = unk = "<|endoftext|>"
    if old_dialect:
        save_tokenizer_v4(tok, kind, folder, bos, eos, unk)
    elif kind == "vocab_merges":
        with tempfile.TemporaryDirectory() as tmp:
            tok.model.save(tmp)
            hf = transformers.GPT2Tokenizer(
                vocab_file=os.path.join(tmp, "vocab.json"), merges_file=os.path.join(tmp, "merges.txt"),
                bos_token=bos, eos_token=eos, unk_token=unk,
            )
            hf.save_pretrained(folder)
        # transformers 5 writes only tokenizer.json; GPT-2 style checkpoints carry the BPE model's own
        # vocab.json + merges.txt (the format `tokenizers` writes, "#version: 0.2" header) instead.
        os.remove(os.path.join(folder, "tokenizer.json"))
        tok.model.save(folder)
    else:
        hf = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos, eos_token=eos, unk_token=unk)
        hf.save_pretrained(folder)
        if kind == "json_bos":
            path = os.path.join(folder, "tokenizer_config.json")
            with open(path, encoding="utf-8") as handle:
                config = json.load(handle)
            config["add_bos_token"] = True
            config["add_eos_token"] = False
            write_json(path, config, sort_keys=True)
    return tok.token_to_id(bos), tok.token_to_id(eos)


SAVE_V4 = r"""
import json, os, sys, transformers
from tokenizers import Tokenizer
kind, source, folder, bos, eos, unk = sys.argv[1:]
tok = Tokenizer.from_file(source)
if kind == "vocab_merges":
    hf = transformers.GPT2TokenizerFast(tokenizer_object=tok, bos_token=bos, eos_token=eos, unk_token=unk)
else:
    extra = {"add_bos_token": True, "add_eos_token": False} if kind == "json_bos" else {}
    hf = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos, eos_token=eos, unk_token=unk, **extra)
hf.save_pretrained(folder)
if kind == "vocab_merges":
    os.remove(os.path.join(folder, "tokenizer.json"))
print(transformers.__version__)
"""


def save_tokenizer_v4(tok, kind, folder, bos, eos, unk):
    """The tokenizer files of an old-dialect fixture, written by transformers 4.57.1's save_pretrained
    (.tools/py-torch, under which .tools/py-hf is layered): tokenizer_config.json with
    added_tokens_decoder and a 4.x tokenizer_class, and special_tokens_map.json."""
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "tokenizer.json")
        tok.save(source)
        result = subprocess.run([V4_PYTHON, "-c", SAVE_V4, kind, source, folder, bos, eos, unk],
                                capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().startswith("4."), result.stdout
    if kind == "vocab_merges":
        assert {"vocab.json", "merges.txt"} <= set(os.listdir(folder)), os.listdir(folder)


# ------------------------------------------------------------------------------------------- configs

def base_kwargs(bos, eos):
    return {"bos_token_id": bos, "eos_token_id": eos}


def fixture_specs():
    """One dict per fixture. `config`: (ConfigClass, kwargs). `ablations`: (variant, how it is switched
    off, function(config_dict, state_dict, generator) -> (config_dict, state_dict) modified copies)."""
    T = transformers
    llama_common = dict(hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                        max_position_embeddings=MAX_POSITIONS, rms_norm_eps=1e-5)
    return [
        dict(name="gpt2", tokenizer="vocab_merges", dialect="old",
             config=(T.GPT2Config, dict(n_positions=MAX_POSITIONS, n_embd=32, n_layer=2, n_head=4)),
             variants=["tied embeddings", "learned absolute positions", "vocab.json + merges.txt only", "old dialect"],
             ablations=[("tied embeddings", "lm_head untied (random)", untie("transformer.wte.weight"))]),
        dict(name="gpt_neo", tokenizer="json", dialect="new",
             config=(T.GPTNeoConfig, dict(max_position_embeddings=MAX_POSITIONS, hidden_size=32, num_layers=2, num_heads=4,
                                          attention_types=[[["global", "local"], 1]], window_size=8)),
             variants=["attention_types global+local", "window_size 8 < input", "attention scale 1.0 (no 1/sqrt(d))",
                       "tied embeddings"],
             ablations=[("local attention (window_size 8)", "all layers global",
                         set_config(attention_types=[[["global"], 2]], drop=("attention_layers",)))]),
        dict(name="gpt_neox_parallel", tokenizer="json", dialect="old",
             config=(T.GPTNeoXConfig, dict(max_position_embeddings=MAX_POSITIONS, hidden_size=32, num_hidden_layers=2,
                                           num_attention_heads=2, intermediate_size=64, use_parallel_residual=True,
                                           tie_word_embeddings=False,
                                           rope_parameters={"rope_type": "default", "rope_theta": 20000.0,
                                                            "partial_rotary_factor": 0.25})),
             variants=["partial rotary 0.25 (4 of head_dim 16)", "use_parallel_residual true", "untied embed_out",
                       "rotary_emb_base 20000", "old dialect (rotary_pct, rotary_emb_base)"],
             ablations=[("partial rotary 0.25", "rotary on all dims", set_rope(partial_rotary_factor=1.0)),
                        ("use_parallel_residual true", "sequential residual", set_config(use_parallel_residual=False)),
                        ("rotary_emb_base 20000", "base 10000", set_rope(rope_theta=10000.0)),
                        ("untied embed_out", "tied to embed_in", tie("gpt_neox.embed_in.weight"))]),
        dict(name="gpt_neox_sequential", tokenizer="json", dialect="new",
             config=(T.GPTNeoXConfig, dict(max_position_embeddings=MAX_POSITIONS, hidden_size=32, num_hidden_layers=2,
                                           num_attention_heads=4, intermediate_size=64, use_parallel_residual=False,
                                           tie_word_embeddings=True,
                                           rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                                            "partial_rotary_factor": 0.5})),
             variants=["use_parallel_residual false", "tied embeddings", "partial rotary 0.5", "new dialect (rope_parameters)"],
             ablations=[("use_parallel_residual false", "parallel residual", set_config(use_parallel_residual=True)),
                        ("tied embeddings", "lm_head untied (random)", untie("gpt_neox.embed_in.weight")),
                        ("partial rotary 0.5", "rotary on all dims", set_rope(partial_rotary_factor=1.0))]),
        dict(name="gpt_bigcode_mqa", tokenizer="json", dialect="new",
             config=(T.GPTBigCodeConfig, dict(n_positions=MAX_POSITIONS, n_embd=32, n_layer=2, n_head=4, multi_query=True)),
             variants=["multi_query true (1 k/v head)", "tied embeddings"],
             ablations=[("tied embeddings", "lm_head untied (random)", untie("transformer.wte.weight"))]),
        dict(name="gpt_bigcode_mha", tokenizer="json", dialect="new",
             config=(T.GPTBigCodeConfig, dict(n_positions=MAX_POSITIONS, n_embd=32, n_layer=2, n_head=4, multi_query=False)),
             variants=["multi_query false (per-head interleaved c_attn)", "tied embeddings"],
             ablations=[("per-head c_attn layout", "c_attn read as [q | k | v] blocks", bigcode_blocks_as_mha)]),
        dict(name="codegen", tokenizer="json", dialect="old",
             config=(T.CodeGenConfig, dict(vocab_size=400, n_positions=MAX_POSITIONS, n_ctx=MAX_POSITIONS, n_embd=48, n_layer=2,
                                           n_head=8, n_inner=64, rotary_dim=4)),
             variants=["partial rotary_dim 4 of head_dim 6 (interleaved)", "qkv_proj mp_num 4 layout (8 heads)", "lm_head bias",
                       "untied", "vocab_size 400 > tokenizer 384", "old dialect (torch_dtype)"],
             ablations=[("partial rotary_dim 4", "rotary_dim 6 (all dims)", set_config(rotary_dim=6)),
                        ("lm_head bias", "bias zeroed", zero_params("lm_head.bias"))]),
        dict(name="llama_linear", tokenizer="json_bos", dialect="old",
             config=(T.LlamaConfig, dict(llama_common, num_key_value_heads=2, tie_word_embeddings=False,
                                         rope_parameters={"rope_type": "linear", "factor": 2.0, "rope_theta": 10000.0})),
             variants=["GQA (4 heads, 2 k/v heads)", "rope_scaling linear factor 2", "untied", "BOS from post-processor",
                       "old dialect (rope_scaling with type + rope_type, rope_theta, torch_dtype)"],
             ablations=[("rope linear factor 2", "no rope scaling", set_rope(rope_type="default", drop=("factor",))),
                        ("GQA head mapping", "k/v heads 0 and 1 swapped", swap_kv_heads(2, 12))]),
        dict(name="llama3_bias", tokenizer="json_bos", dialect="new",
             config=(T.LlamaConfig, dict(llama_common, num_key_value_heads=2, tie_word_embeddings=True,
                                         attention_bias=True, mlp_bias=True,
                                         rope_parameters={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                          "high_freq_factor": 4.0, "original_max_position_embeddings": 16,
                                                          "rope_theta": 500000.0})),
             variants=["rope llama3 (factor 8, low 1, high 4, original 16)", "rope_theta 500000", "attention_bias",
                       "mlp_bias", "GQA", "tied embeddings", "BOS from post-processor", "new dialect (rope_parameters)"],
             ablations=[("rope llama3", "no rope scaling",
                         set_rope(rope_type="default", drop=("factor", "low_freq_factor", "high_freq_factor",
                                                             "original_max_position_embeddings"))),
                        ("attention_bias", "attention biases zeroed", zero_params("self_attn.")),
                        ("mlp_bias", "mlp biases zeroed", zero_params("mlp.")),
                        ("tied embeddings", "lm_head untied (random)", untie("model.embed_tokens.weight"))]),
        dict(name="llama_mqa_sharded", tokenizer="json_bos", dialect="new", shard="60KB",
             config=(T.LlamaConfig, dict(llama_common, num_key_value_heads=1, tie_word_embeddings=False)),
             variants=["MQA (num_key_value_heads 1)", "untied", "sharded safetensors + index", "BOS from post-processor"],
             ablations=[("untied lm_head", "tied to embed_tokens", tie("model.embed_tokens.weight"))]),
        dict(name="mistral", tokenizer="json_bos", dialect="new",
             config=(T.MistralConfig, dict(llama_common, num_key_value_heads=2, head_dim=16, sliding_window=8,
                                           tie_word_embeddings=False,
                                           rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
             variants=["sliding_window 8 < input", "GQA", "head_dim 16 != hidden/heads 12", "rope_theta 1e6",
                       "BOS from post-processor"],
             ablations=[("sliding_window 8", "no window", set_config(sliding_window=None)),
                        ("GQA head mapping", "k/v heads 0 and 1 swapped", swap_kv_heads(2, 16)),
                        ("rope_theta 1e6", "theta 10000", set_rope(rope_theta=10000.0))]),
        dict(name="qwen2", tokenizer="json_qwen2", dialect="old", dtype=torch.bfloat16,
             config_patch={"sliding_window": 8},  # present but off, as in Qwen2.5 hub configs
             config=(T.Qwen2Config, dict(llama_common, vocab_size=400, num_key_value_heads=2, tie_word_embeddings=True,
                                         use_sliding_window=False, rms_norm_eps=1e-6,
                                         rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
             variants=["q/k/v bias", "tied embeddings", "weights stored in bfloat16", "vocab_size 400 > tokenizer 384",
                       "GQA", "sliding_window 8 present but use_sliding_window false (must be ignored)", "old dialect"],
             ablations=[("q/k/v bias", "biases zeroed", zero_params("self_attn.q_proj.bias", "self_attn.k_proj.bias",
                                                                   "self_attn.v_proj.bias")),
                        ("tied embeddings", "lm_head untied (random)", untie("model.embed_tokens.weight")),
                        ("sliding_window ignored (use_sliding_window false)", "window 8 honoured on all layers",
                         set_config(use_sliding_window=True, sliding_window=8, max_window_layers=0, drop=("layer_types",)))]),
        dict(name="qwen2_sliding", tokenizer="json_qwen2", dialect="new",
             config=(T.Qwen2Config, dict(llama_common, num_hidden_layers=3, num_key_value_heads=2, tie_word_embeddings=False,
                                         use_sliding_window=True, sliding_window=8, max_window_layers=1,
                                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0})),
             variants=["use_sliding_window true, sliding_window 8, max_window_layers 1 (layers 1-2 sliding)",
                       "q/k/v bias", "untied", "GQA"],
             ablations=[("sliding window on layers >= 1", "no window",
                         set_config(use_sliding_window=False, drop=("layer_types",))),
                        ("max_window_layers 1", "window on all 3 layers",
                         set_config(max_window_layers=0, drop=("layer_types",)))]),
        dict(name="starcoder2", tokenizer="json", dialect="new",
             config=(T.Starcoder2Config, dict(hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                                              num_key_value_heads=2, max_position_embeddings=MAX_POSITIONS, use_bias=True,
                                              sliding_window=8, tie_word_embeddings=True,
                                              rope_parameters={"rope_type": "default", "rope_theta": 100000.0})),
             variants=["use_bias (all linears)", "GQA", "sliding_window 8 < input", "LayerNorm with bias", "tied embeddings"],
             ablations=[("sliding_window 8", "no window", set_config(sliding_window=None)),
                        ("use_bias", "linear biases zeroed", zero_params("self_attn.", "mlp.")),
                        ("GQA head mapping", "k/v heads 0 and 1 swapped", swap_kv_heads(2, 12))]),
    ]


# ----------------------------------------------------------------------------------------- ablations

def set_config(drop=(), **changes):
    def apply(config, state, generator):
        config = dict(config, **changes)
        for key in drop:
            config.pop(key, None)
        return config, state
    return apply


def set_rope(drop=(), **changes):
    def apply(config, state, generator):
        config = copy.deepcopy(config)
        rope = config["rope_parameters"]
        rope.update(changes)
        for key in drop:
            rope.pop(key, None)
        return config, state
    return apply


def untie(embedding):
    def apply(config, state, generator):
        state = dict(state)
        state["lm_head.weight"] = torch.randn(state[embedding].shape, generator=generator) * 0.3
        return dict(config, tie_word_embeddings=False), state
    return apply


def tie(embedding):
    def apply(config, state, generator):
        state = dict(state)
        head = "embed_out.weight" if "embed_out.weight" in state else "lm_head.weight"
        state[head] = state[embedding].clone()
        return dict(config, tie_word_embeddings=True), state
    return apply


def zero_params(*fragments):
    def apply(config, state, generator):
        state = dict(state)
        hits = [k for k in state if k.endswith(".bias") and any(f in k for f in fragments)]
        assert hits, fragments
        for key in hits:
            state[key] = torch.zeros_like(state[key])
        return config, state
    return apply


def swap_kv_heads(kv_heads, head_dim):
    def apply(config, state, generator):
        state = dict(state)
        for key in list(state):
            if any(p in key for p in ("k_proj.", "v_proj.")):
                t = state[key].reshape(kv_heads, head_dim, *state[key].shape[1:])
                state[key] = t[[1, 0] + list(range(2, kv_heads))].reshape(state[key].shape).clone()
        return config, state
    return apply


def bigcode_blocks_as_mha(config, state, generator):
    """Re-lay c_attn as if it were [q | k | v] blocks: what a loader that ignored the per-head layout
    would compute."""
    state = dict(state)
    heads, dim = config["n_head"], config["n_embd"] // config["n_head"]
    for key in list(state):
        if key.endswith("attn.c_attn.weight") or key.endswith("attn.c_attn.bias"):
            t = state[key]
            blocks = t.reshape(3, heads, dim, *t.shape[1:])  # read as [q|k|v] blocks of heads
            state[key] = blocks.transpose(0, 1).reshape(t.shape).clone()  # store per head [q_h k_h v_h]
    return config, state


# ------------------------------------------------------------------------------------------- scoring

def byte_offsets(code, char_offsets):
    return [[len(code[:start].encode("utf-8")), len(code[:end].encode("utf-8"))] for start, end in char_offsets]


def windows(n):
    """(begin, end, first scored position) of each window, as make_infer_fixture.py's reference()."""
    out, previous_end = [], 1
    for begin in range(0, n, STRIDE):
        end = min(begin + CONTEXT, n)
        out.append((begin, end, max(previous_end, begin + 1)))
        previous_end = end
        if end == n:
            break
    return out


def forward_logprobs(model, ids, float32_softmax=False):
    """Per position 1..len-1: the log-softmax row (float64, or float32 for the bf16 model) that predicts it."""
    rows = {}
    for begin, end, first in windows(len(ids)):
        window = torch.tensor([ids[begin:end]])
        with torch.no_grad():
            logits = model(input_ids=window, attention_mask=torch.ones_like(window), use_cache=False).logits[0]
        logits = logits.float() if float32_softmax else logits.double()
        logprobs = torch.log_softmax(logits, dim=-1)
        for position in range(first, end):
            rows[position] = (logprobs[position - begin - 1], logits[position - begin - 1])
    return [rows[p] for p in range(1, len(ids))]


def reference_positions(model, ids):
    out = []
    for position, (row, logits) in enumerate(forward_logprobs(model, ids), start=1):
        actual_id = ids[position]
        actual = row[actual_id]
        others = torch.cat([row[:actual_id], row[actual_id + 1:]])
        top = row.topk(TOP_K + 1)
        out.append({
            "logprob": actual.item(),
            "rank": int((logits > logits[actual_id]).sum().item()) + 1,
            "tie_gap": (others - actual).abs().min().item(),
            "entropy": float(-(row.exp() * row).sum().item()),
            "topk_ids": top.indices[:TOP_K].tolist(),
            "topk_gap": (top.values[:-1] - top.values[1:]).min().item(),
        })
    return out


def actual_logprobs(model, ids, float32_softmax=False):
    return [row[ids[p]].item() for p, (row, _) in enumerate(forward_logprobs(model, ids, float32_softmax), start=1)]


# ------------------------------------------------------------------------------------------ building

def randomize(model, generator):
    """Replace transformers' init (zero biases, unit norms, std 0.02) by one where every parameter
    matters: norms 1 + N(0, 0.2), biases N(0, 0.1), matrices N(0, 0.15), embeddings N(0, 0.3)."""
    with torch.no_grad():
        for name, param in sorted(model.named_parameters()):
            noise = torch.randn(param.shape, generator=generator)
            if param.dim() == 1 and ("norm" in name or "ln" in name or "layernorm" in name):
                param.copy_(1 + 0.2 * noise if name.endswith("weight") else 0.1 * noise)
            elif param.dim() == 1:
                param.copy_(0.1 * noise)
            elif "wte" in name or "wpe" in name or "embed" in name:
                param.copy_(0.3 * noise)
            else:
                param.copy_(0.15 * noise)


def build(config_class, kwargs):
    config = config_class(**kwargs)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="eager", dtype=torch.float32)
    return model.eval()


def from_dict(model_type, config_dict, state):
    config = transformers.AutoConfig.for_model(model_type, **{k: v for k, v in config_dict.items() if k != "model_type"})
    model = AutoModelForCausalLM.from_config(config, attn_implementation="eager", dtype=torch.float32).eval()
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected, unexpected
    assert all("lm_head" in m or "embed_out" in m for m in missing), missing
    return model


def to_old_dialect(config):
    """config.json as transformers 4.55.4 writes the same configuration."""
    config = dict(config)
    if "dtype" in config:
        config["torch_dtype"] = config.pop("dtype")
    rope = config.pop("rope_parameters", None)
    if rope is not None:
        rope = dict(rope)
        theta = rope.pop("rope_theta")
        partial = rope.pop("partial_rotary_factor", None)
        rope_type = rope.get("rope_type", "default")
        config["rope_theta"] = theta
        if config["model_type"] == "gpt_neox":
            config["rotary_emb_base"] = theta
            config["rotary_pct"] = partial
            config["partial_rotary_factor"] = partial
        elif partial is not None:
            config["partial_rotary_factor"] = partial
        if rope_type == "default":
            config["rope_scaling"] = None
        else:
            rope["type"] = rope_type  # checkpoints of that time wrote "type"; 4.55 adds "rope_type" beside it
            config["rope_scaling"] = rope
    config["transformers_version"] = OLD_VERSION
    return config


def write_json(path, data, sort_keys=False):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=sort_keys, ensure_ascii=False)
        handle.write("\n")


def compact_json(data, indent=""):
    """Indented JSON whose lists of scalars, and dicts inside lists, each take one line."""
    inline = lambda v: json.dumps(v, ensure_ascii=False, separators=(", ", ": "))
    if isinstance(data, dict):
        inner = indent + "  "
        items = [f"{inner}{json.dumps(k)}: {compact_json(v, inner)}" for k, v in data.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(data, list) and data and all(isinstance(v, dict) for v in data):
        inner = indent + "  "
        return "[\n" + ",\n".join(inner + inline(v) for v in data) + "\n" + indent + "]"
    return inline(data)


def read_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def make_fixture(index, spec, base_tokenizer, out_root):
    name = spec["name"]
    folder = os.path.join(out_root, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    old = spec["dialect"] == "old"
    bos, eos = save_tokenizer(base_tokenizer, spec["tokenizer"], folder, old)
    seed = index
    torch.manual_seed(seed)
    config_class, kwargs = spec["config"]
    kwargs = dict(kwargs, **base_kwargs(bos, eos))
    kwargs.setdefault("vocab_size", VOCAB)
    model = build(config_class, kwargs)
    generator = torch.Generator().manual_seed(1000 + seed)
    randomize(model, generator)
    weights_dtype = spec.get("dtype", torch.float32)
    save_kwargs = {"safe_serialization": True}
    if "shard" in spec:
        save_kwargs["max_shard_size"] = spec["shard"]
    copy.deepcopy(model).to(weights_dtype).save_pretrained(folder, **save_kwargs)
    with torch.no_grad():  # bfloat16: the in-memory model gets the rounded values the folder holds
        for param in model.parameters():
            param.copy_(param.to(weights_dtype).float())
    path = os.path.join(folder, "config.json")
    if old or "config_patch" in spec:
        config = read_json(path)
        config = to_old_dialect(config) if old else config
        write_json(path, dict(config, **spec.get("config_patch", {})), sort_keys=True)
    # The references come from the saved folder, reloaded as a user would.
    tokenizer = AutoTokenizer.from_pretrained(folder)
    loaded = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager").eval()
    assert type(loaded) is type(model)
    rows = []
    for code in CODES:
        encoding = tokenizer(code, return_offsets_mapping=True, return_special_tokens_mask=True)
        ids = encoding["input_ids"]
        if spec["tokenizer"] == "vocab_merges":
            raw = base_tokenizer.encode(code).ids  # same BPE, no post-processor
        else:
            raw = Tokenizer.from_file(os.path.join(folder, "tokenizer.json")).encode(code).ids
        assert raw == ids, (name, raw, ids)  # transformers == the tokenizers library
        special = [bool(s) for s in encoding["special_tokens_mask"]]
        offsets = byte_offsets(code, encoding["offset_mapping"])
        rows.append({
            "code": code,
            "ids": ids,
            "tokens": tokenizer.convert_ids_to_tokens(ids),
            "special": special,
            "byte_offsets": [None if s else o for s, o in zip(special, offsets)],
            "positions": reference_positions(loaded, ids),
        })
        # The reloaded folder must compute exactly what the model in memory computed (for the old
        # dialect this checks that transformers 5 reads the rewritten config the same way).
        same = actual_logprobs(model, ids)
        diff = max((abs(a - p["logprob"]) for a, p in zip(same, rows[-1]["positions"])), default=0.0)
        assert diff == 0.0, f"{name}: reload changed the output by {diff}"
    adds_bos = rows[0]["ids"][0] == bos and rows[0]["special"][0]
    assert adds_bos == (spec["tokenizer"] == "json_bos"), name
    assert all(r["ids"].count(bos) == (1 if adds_bos else 0) for r in rows), name
    assert len(rows[-1]["ids"]) > CONTEXT, "the long code must exceed the context"
    # bfloat16: transformers' own
    bf16 = copy.deepcopy(loaded).to(torch.bfloat16)
    errors = []
    for row in rows:
        values = actual_logprobs(bf16, row["ids"], float32_softmax=True)
        for position, value in zip(row["positions"], values):
            position["bf16_logprob"] = value
            errors.append(abs(value - position["logprob"]))
    del bf16
    # Every variant must change the output.
    state = {k: v.detach().clone() for k, v in loaded.state_dict().items()}
    config_dict = loaded.config.to_dict()
    reference = [p["logprob"] for r in rows for p in r["positions"]]
    ablations = []
    for variant, off, apply in spec["ablations"]:
        generator = torch.Generator().manual_seed(2000 + seed)
        new_config, new_state = apply(copy.deepcopy(config_dict), state, generator)
        ablated = from_dict(config_dict["model_type"], new_config, new_state)
        values = [v for r in rows for v in actual_logprobs(ablated, r["ids"])]
        changes = [abs(a - b) for a, b in zip(values, reference)]
        ablations.append({"variant": variant, "off": off, "max_abs_change": max(changes),
                          "mean_abs_change": sum(changes) / len(changes)})
        print(f"  {name}: {variant} -> off ({off}): max |change| {max(changes):.4g} nats", file=sys.stderr)
        assert max(changes) > ABLATION_MIN, f"{name}: switching off {variant} does not change the output"
    files = sorted(os.listdir(folder))
    tokenizer_files = [f for f in files if f.startswith(("tokenizer", "special_tokens", "vocab", "merges"))]
    config = read_json(os.path.join(folder, "config.json"))
    expected = {
        "made_by": "scripts/reference/make_hf_fixtures.py",
        "fixture": name,
        "model_type": config["model_type"],
        "architecture": type(loaded).__name__,
        "variants": spec["variants"],
        "config_dialect": spec["dialect"],
        "weights_dtype": str(weights_dtype).split(".")[-1],
        "sharded": os.path.exists(os.path.join(folder, "model.safetensors.index.json")),
        "tokenizer_files": tokenizer_files,
        "adds_bos": adds_bos,
        "bos_token_id": config.get("bos_token_id"),
        "eos_token_id": config.get("eos_token_id"),
        "transformers": transformers.__version__,
        "torch": torch.__version__.split("+")[0],
        "tokenizers": tokenizers.__version__,
        "seed": seed,
        "context": CONTEXT,
        "stride": STRIDE,
        "top_k": TOP_K,
        "bf16_mae": sum(errors) / len(errors),
        "bf16_max_abs_error": max(errors),
        "ablations": ablations,
        "rows": rows,
    }
    with open(os.path.join(out_root, f"{name}.expected.json"), "w", encoding="utf-8") as handle:
        handle.write(compact_json(expected) + "\n")
    print(f"{name}: {len(files)} files, bf16 MAE {expected['bf16_mae']:.4g}, "
          f"{sum(len(r['positions']) for r in rows)} scored tokens", file=sys.stderr)
    return expected


CROSS_CHECK = r"""
import json, sys, torch
from transformers import AutoModelForCausalLM
folder, expected = sys.argv[1], json.load(open(sys.argv[2]))
model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32, attn_implementation="eager").eval()
from transformers import AutoTokenizer
tokenizer = AutoTokenizer.from_pretrained(folder)
same_ids = all(tokenizer(row["code"])["input_ids"] == row["ids"] for row in expected["rows"])
C, S = expected["context"], expected["stride"]
worst = 0.0
for row in expected["rows"]:
    ids, previous_end, got = row["ids"], 1, {}
    for begin in range(0, len(ids), S):
        end = min(begin + C, len(ids))
        w = torch.tensor([ids[begin:end]])
        with torch.no_grad():
            lp = torch.log_softmax(model(input_ids=w, attention_mask=torch.ones_like(w), use_cache=False).logits[0].double(), -1)
        for p in range(max(previous_end, begin + 1), end):
            got[p] = lp[p - begin - 1][ids[p]].item()
        previous_end = end
        if end == len(ids):
            break
    for p, pos in enumerate(row["positions"], start=1):
        worst = max(worst, abs(got[p] - pos["logprob"]))
import transformers
print(json.dumps({"transformers": transformers.__version__, "max_abs_diff": worst, "same_ids": same_ids}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check-only", action="store_true", help="build in a temporary folder and compare with the committed fixtures")
    parser.add_argument("--cross-check", metavar="PYTHON", help="score the old-dialect fixtures with this interpreter's transformers too")
    parser.add_argument("--only", nargs="*", help="fixture names")
    args = parser.parse_args()
    if int(transformers.__version__.split(".")[0]) < 5:
        sys.exit(f"transformers {transformers.__version__}: run with $(scripts/reference/venv.sh hf) (transformers 5)")
    transformers.utils.logging.disable_progress_bar()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    base = train_tokenizer()
    out_root = tempfile.mkdtemp() if args.check_only else OUT
    os.makedirs(out_root, exist_ok=True)
    specs = fixture_specs()
    for index, spec in enumerate(specs):
        if args.only and spec["name"] not in args.only:
            continue
        make_fixture(index, spec, base, out_root)
        if args.cross_check and spec["dialect"] == "old":
            result = subprocess.run([args.cross_check, "-c", CROSS_CHECK, os.path.join(out_root, spec["name"]),
                                     os.path.join(out_root, f"{spec['name']}.expected.json")],
                                    capture_output=True, text=True)
            print(f"  cross-check {spec['name']}: {result.stdout.strip() or result.stderr.strip()[-2000:]}", file=sys.stderr)
    if args.check_only:
        result = subprocess.run(["diff", "-r", out_root, OUT], capture_output=True, text=True)
        print(result.stdout[-4000:] or "identical to the committed fixtures", file=sys.stderr)
        shutil.rmtree(out_root)
        sys.exit(1 if result.returncode else 0)


if __name__ == "__main__":
    main()
