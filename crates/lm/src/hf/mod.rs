//! Hugging Face checkpoint folders, natively: what `save_pretrained` or a hub snapshot leaves
//! (`config.json`, `model.safetensors` or sharded safetensors with their index, the tokenizer,
//! `tokenizer_config.json`, `special_tokens_map.json`, `generation_config.json`), loaded
//! without Python, export or conversion.
//!
//! - [`config`]: the families and both config dialects, into one decoder description;
//! - [`weights`]: memory-mapped safetensors, one tensor at a time into the model's dtype;
//! - the decoder itself is [`crate::model::Decoder`].
//!
//! BOS follows the checkpoint: `add_bos_token` in `tokenizer_config.json` when it says, else
//! whether the tokenizer's own post-processor puts a BOS first. Code is always encoded without
//! special tokens and the BOS (if any) is prepended once, so a tokenizer that adds one itself
//! never yields two.

pub mod config;
pub mod weights;

use std::path::{Path, PathBuf};

use serde_json::Value;
use tch::{Device, Kind};

use crate::error::{LmError, Result};
use crate::tokenizer::CodeTokenizer;
pub use config::{DecoderSpec, Family};
pub use weights::Weights;

pub const TOKENIZER_CONFIG_FILE: &str = "tokenizer_config.json";
pub const SPECIAL_TOKENS_FILE: &str = "special_tokens_map.json";
pub const GENERATION_CONFIG_FILE: &str = "generation_config.json";

/// Is `config` (the parsed `config.json`) a Hugging Face one? icodegen's own configs have
/// `format`; Hugging Face's have `model_type`.
pub fn is_hf_config(config: &Value) -> bool {
    config.get("format").is_none() && config.get("model_type").is_some()
}

/// How the code is fed to a checkpoint's model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    pub bos_id: Option<i64>,
    pub eos_id: Option<i64>,
    pub pad_id: Option<i64>,
}

fn read_json(path: &Path) -> Result<Option<Value>> {
    if !path.is_file() {
        return Ok(None);
    }
    let text = fs_err::read_to_string(path).map_err(|e| LmError::io("read", path, e))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| LmError::Config {
            path: path.to_path_buf(),
            message: format!("not valid JSON: {e}"),
        })
}

/// A special token as `tokenizer_config.json` or `special_tokens_map.json` writes it: a string
/// or `{"content": ...}`.
fn token_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text.clone()),
        Value::Object(map) => map.get("content")?.as_str().map(str::to_owned),
        _ => None,
    }
}

/// Refuses folders whose weights are pickles only, with the one command that converts them.
pub fn check_weights_present(dir: &Path) -> Result<()> {
    let safetensors =
        dir.join(weights::SINGLE_FILE).is_file() || dir.join(weights::INDEX_FILE).is_file();
    if safetensors {
        return Ok(());
    }
    let pickles = ["pytorch_model.bin", "pytorch_model.bin.index.json"]
        .iter()
        .any(|name| dir.join(name).is_file());
    if pickles {
        return Err(LmError::Unsupported {
            path: dir.to_path_buf(),
            message: format!(
                "has only `pytorch_model.bin` weights: pickles can run code when loaded, so icodegen reads safetensors only\n\
                 hint: convert once with Python: python -c \"from transformers import AutoModelForCausalLM as M; M.from_pretrained('{dir}').save_pretrained('{dir}', safe_serialization=True)\"",
                dir = dir.display()
            ),
        });
    }
    Err(LmError::Weights {
        path: dir.join(weights::SINGLE_FILE),
        message: format!(
            "no such file (nor `{}`): a Hugging Face checkpoint needs its safetensors weights",
            weights::INDEX_FILE
        ),
    })
}

/// Loads the tokenizer of a checkpoint folder: `tokenizer.json`, else `vocab.json` with
/// `merges.txt`.
pub fn load_tokenizer(dir: &Path) -> Result<CodeTokenizer> {
    let json = dir.join("tokenizer.json");
    if json.is_file() {
        return CodeTokenizer::load(&json);
    }
    let (vocab, merges) = (dir.join("vocab.json"), dir.join("merges.txt"));
    if vocab.is_file() || merges.is_file() {
        let tokenizer_config = read_json(&dir.join(TOKENIZER_CONFIG_FILE))?;
        let add_prefix_space = tokenizer_config
            .as_ref()
            .and_then(|config| config.get("add_prefix_space"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut special = Vec::new();
        if let Some(Value::Object(added)) = tokenizer_config
            .as_ref()
            .and_then(|config| config.get("added_tokens_decoder"))
        {
            for token in added.values() {
                if let Some(text) = token_text(Some(token)) {
                    special.push(text);
                }
            }
        }
        return CodeTokenizer::load_vocab_merges(&vocab, &merges, add_prefix_space, &special);
    }
    Err(LmError::Tokenizer {
        path: dir.to_path_buf(),
        message: "has no tokenizer: neither `tokenizer.json` nor `vocab.json` with `merges.txt`"
            .to_owned(),
    })
}

/// Decides BOS, EOS and padding ids from the checkpoint's files.
pub fn special_tokens(dir: &Path, spec: &DecoderSpec, tokenizer: &CodeTokenizer) -> Result<Tokens> {
    let tokenizer_config = read_json(&dir.join(TOKENIZER_CONFIG_FILE))?;
    let special_map = read_json(&dir.join(SPECIAL_TOKENS_FILE))?;
    let generation = read_json(&dir.join(GENERATION_CONFIG_FILE))?;
    if let Some(config) = &tokenizer_config
        && config.get("auto_map").is_some()
    {
        return Err(LmError::Unsupported {
            path: dir.join(TOKENIZER_CONFIG_FILE),
            message: "this tokenizer needs remote code (`auto_map`), which icodegen never runs"
                .to_owned(),
        });
    }
    let named = |key: &str| -> Option<i64> {
        let text = token_text(tokenizer_config.as_ref().and_then(|c| c.get(key)))
            .or_else(|| token_text(special_map.as_ref().and_then(|c| c.get(key))))?;
        tokenizer.token_id(&text)
    };
    let generation_id = |key: &str| -> Option<i64> {
        match generation.as_ref()?.get(key)? {
            Value::Array(items) => items.first()?.as_i64(),
            value => value.as_i64(),
        }
    };
    let prefix = tokenizer.special_prefix()?;
    let bos_known = spec
        .bos_token_id
        .or_else(|| named("bos_token"))
        .or_else(|| generation_id("bos_token_id"));
    let add_bos = tokenizer_config
        .as_ref()
        .and_then(|config| config.get("add_bos_token"))
        .and_then(Value::as_bool);
    let bos_id = match add_bos {
        Some(true) => Some(bos_known.or(prefix.first().copied()).ok_or_else(|| {
            LmError::Config {
                path: dir.join(TOKENIZER_CONFIG_FILE),
                message: "`add_bos_token` is true but no BOS token is named (config.json `bos_token_id`, `bos_token`)".to_owned(),
            }
        })?),
        Some(false) => None,
        None => prefix.first().copied(),
    };
    let eos_id = spec
        .eos_token_id
        .or_else(|| named("eos_token"))
        .or_else(|| generation_id("eos_token_id"));
    let pad_id = spec.pad_token_id.or_else(|| named("pad_token"));
    Ok(Tokens {
        bos_id,
        eos_id,
        pad_id,
    })
}

/// What a loaded checkpoint is, for metrics and artifact metadata.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckpointInfo {
    pub model_type: String,
    pub parameters: i64,
    /// The dtype the weights are stored in.
    pub stored_dtype: String,
    pub files: Vec<PathBuf>,
    pub bytes: u64,
    pub load_seconds: f64,
    /// Checkpoint tensors the model does not use (old buffers such as `attn.bias`).
    pub unused_tensors: Vec<String>,
}

/// The dtype a model runs in: `auto` is the checkpoint's dtype on CUDA (when floating point)
/// and float32 on the CPU.
pub fn resolve_kind(
    choice: crate::device::DtypeChoice,
    stored: Option<Kind>,
    device: Device,
) -> Kind {
    use crate::device::DtypeChoice;
    match choice {
        DtypeChoice::Float32 => Kind::Float,
        DtypeChoice::Bfloat16 => Kind::BFloat16,
        DtypeChoice::Float16 => Kind::Half,
        DtypeChoice::Auto => match (device, stored) {
            (Device::Cuda(_), Some(kind @ (Kind::BFloat16 | Kind::Half | Kind::Float))) => kind,
            _ => Kind::Float,
        },
    }
}

/// The name of a dtype as `transformers` writes it.
pub fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Float => "float32",
        Kind::BFloat16 => "bfloat16",
        Kind::Half => "float16",
        Kind::Double => "float64",
        _ => "other",
    }
}
