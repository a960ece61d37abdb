//! Model directories: what `icodegen-train` writes and `icodegen-infer` reads.
//!
//! ```text
//! config.json        ModelConfig: format, architecture or TorchScript details, vocabulary, BOS/EOS
//! tokenizer.json     Hugging Face tokenizer
//! model.safetensors  weights (format `icodegen`), or
//! model.pt           a TorchScript module (format `torchscript`)
//! metrics.json       training curve (written by icodegen-train; not read here)
//! ```
//!
//! Loading checks everything a user can get wrong before any scoring starts: a missing or
//! corrupt weights file, tensors missing from it or of the wrong shape, and a tokenizer whose
//! ids the model cannot predict. The directory's content hash identifies the model in the
//! artifacts it scores.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tch::{Device, Kind, Tensor, nn};

use crate::config::{ModelConfig, ModelFormat};
use crate::device::DtypeChoice;
use crate::error::{LmError, Result, torch_message};
use crate::hf;
use crate::model::{Decoder, LanguageModel, TorchScript};
use crate::tokenizer::CodeTokenizer;

pub const CONFIG_FILE: &str = "config.json";
pub const TOKENIZER_FILE: &str = "tokenizer.json";
pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const TORCHSCRIPT_FILE: &str = "model.pt";
pub const METRICS_FILE: &str = "metrics.json";

/// A model ready to score, with everything that describes it.
pub struct LoadedModel {
    pub dir: PathBuf,
    pub config: ModelConfig,
    pub tokenizer: CodeTokenizer,
    pub model: LanguageModel,
    /// Keeps the weights of `icodegen` models alive; `None` for the other formats.
    pub store: Option<nn::VarStore>,
    pub device: Device,
    /// The floating-point type the model computes in.
    pub kind: Kind,
    /// Scalars in the model's weights (`None` for TorchScript, whose structure is opaque).
    pub parameters: Option<i64>,
    /// Hugging Face checkpoints: what was loaded, for metrics and metadata.
    pub checkpoint: Option<hf::CheckpointInfo>,
    /// [`directory_hash`] of the model directory.
    pub hash: String,
}

/// How to load a model directory.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    pub device: Device,
    pub dtype: DtypeChoice,
}

/// Loads the model directory `dir` onto `device` in float32.
pub fn load(dir: impl AsRef<Path>, device: Device) -> Result<LoadedModel> {
    load_with(
        dir,
        LoadOptions {
            device,
            dtype: DtypeChoice::Auto,
        },
    )
}

/// Loads the model directory `dir`: icodegen's own (`format: icodegen`), a TorchScript export
/// (`format: torchscript`), or a Hugging Face checkpoint folder (its `config.json` has
/// `model_type`). The folder may be reached through symlinks (hub snapshots); it is only read.
pub fn load_with(dir: impl AsRef<Path>, options: LoadOptions) -> Result<LoadedModel> {
    let dir = dir.as_ref().to_path_buf();
    if !dir.is_dir() {
        return Err(LmError::Invalid(format!(
            "`{}` is not a model directory (no such directory)",
            dir.display()
        )));
    }
    let config_path = dir.join(CONFIG_FILE);
    if config_path.is_file() {
        let text = fs_err::read_to_string(&config_path)
            .map_err(|e| LmError::io("read", &config_path, e))?;
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text)
            && hf::is_hf_config(&value)
        {
            return load_hf(dir, options);
        }
    }
    if options.dtype != DtypeChoice::Auto && options.dtype != DtypeChoice::Float32 {
        return Err(LmError::Unsupported {
            path: dir,
            message: format!(
                "dtype {} applies to Hugging Face checkpoints; icodegen and TorchScript models run in float32",
                options.dtype
            ),
        });
    }
    let device = options.device;
    let config = ModelConfig::load(&config_path)?;
    let tokenizer = CodeTokenizer::load(dir.join(TOKENIZER_FILE))?;
    let tokenizer_vocab = tokenizer.vocab_size();
    let mismatch = |model: i64| LmError::VocabularyMismatch {
        dir: dir.clone(),
        tokenizer: tokenizer_vocab,
        model,
    };
    // A trained model's output layer has exactly its tokenizer's vocabulary; an exported one
    // may have more rows than its tokenizer has ids (CodeGen pads to a multiple of 64), never
    // fewer.
    let fits = match config.format {
        ModelFormat::Icodegen => tokenizer_vocab == config.vocab_size,
        ModelFormat::Torchscript | ModelFormat::Huggingface => tokenizer_vocab <= config.vocab_size,
    };
    if !fits {
        return Err(mismatch(config.vocab_size));
    }
    let (model, store, parameters) = match config.format {
        ModelFormat::Icodegen => {
            let architecture = config
                .model
                .as_ref()
                .expect("validated: icodegen models have one");
            let mut store = nn::VarStore::new(device);
            let model = LanguageModel::build(
                &store.root(),
                architecture,
                config.vocab_size,
                config.context_length,
            )?;
            load_weights(&mut store, &dir.join(WEIGHTS_FILE))?;
            store.freeze();
            let parameters = crate::model::parameter_count(&store);
            (model, Some(store), Some(parameters))
        }
        ModelFormat::Torchscript | ModelFormat::Huggingface => {
            let path = dir.join(TORCHSCRIPT_FILE);
            let module = TorchScript::load(&path, device, config.accepts_attention_mask)?;
            let model = LanguageModel::TorchScript(module);
            let predicted =
                probe_vocabulary(&model, &config, device).map_err(|e| LmError::Weights {
                    path: path.clone(),
                    message: format!("a test forward pass failed: {e}"),
                })?;
            if predicted != config.vocab_size {
                return Err(LmError::Config {
                    path: dir.join(CONFIG_FILE),
                    message: format!(
                        "vocab_size is {} but {} predicts {predicted} logits per position",
                        config.vocab_size, TORCHSCRIPT_FILE
                    ),
                });
            }
            (model, None, None)
        }
    };
    let hash = directory_hash(&dir)?;
    Ok(LoadedModel {
        dir,
        config,
        tokenizer,
        model,
        store,
        device,
        kind: Kind::Float,
        parameters,
        checkpoint: None,
        hash,
    })
}

/// What a model reads and predicts over, without its weights: the tokenizer and the config
/// (BOS, vocabulary, context).
pub struct TextSide {
    pub config: ModelConfig,
    pub tokenizer: CodeTokenizer,
}

/// Loads only the text side of a model directory (cheap: no weights are read).
pub fn load_text(dir: impl AsRef<Path>) -> Result<TextSide> {
    let dir = dir.as_ref();
    if !dir.is_dir() {
        return Err(LmError::Invalid(format!(
            "`{}` is not a model directory (no such directory)",
            dir.display()
        )));
    }
    let config_path = dir.join(CONFIG_FILE);
    let text =
        fs_err::read_to_string(&config_path).map_err(|e| LmError::io("read", &config_path, e))?;
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text)
        && hf::is_hf_config(&value)
    {
        let (spec, tokenizer, tokens) = hf_text(dir)?;
        return Ok(TextSide {
            config: hf_model_config(&spec, &tokens, Kind::Float),
            tokenizer,
        });
    }
    Ok(TextSide {
        config: ModelConfig::load(&config_path)?,
        tokenizer: CodeTokenizer::load(dir.join(TOKENIZER_FILE))?,
    })
}

/// A Hugging Face checkpoint's config, tokenizer and special tokens, checked against each other.
fn hf_text(dir: &Path) -> Result<(hf::DecoderSpec, CodeTokenizer, hf::Tokens)> {
    let spec = hf::config::load(&dir.join(CONFIG_FILE))?;
    hf::check_weights_present(dir)?;
    let tokenizer = hf::load_tokenizer(dir)?;
    let tokens = hf::special_tokens(dir, &spec, &tokenizer)?;
    if tokenizer.vocab_size() > spec.vocab_size {
        return Err(LmError::VocabularyMismatch {
            dir: dir.to_path_buf(),
            tokenizer: tokenizer.vocab_size(),
            model: spec.vocab_size,
        });
    }
    for (name, id) in [
        ("BOS", tokens.bos_id),
        ("EOS", tokens.eos_id),
        ("padding", tokens.pad_id),
    ] {
        if let Some(id) = id
            && !(0..spec.vocab_size).contains(&id)
        {
            return Err(LmError::Config {
                path: dir.join(CONFIG_FILE),
                message: format!(
                    "the {name} token id {id} is outside the model's {} embedding rows",
                    spec.vocab_size
                ),
            });
        }
    }
    Ok((spec, tokenizer, tokens))
}

fn hf_model_config(spec: &hf::DecoderSpec, tokens: &hf::Tokens, kind: Kind) -> ModelConfig {
    ModelConfig {
        format: ModelFormat::Huggingface,
        model: None,
        vocab_size: spec.vocab_size,
        context_length: spec.context_length,
        bos_id: tokens.bos_id,
        eos_id: tokens.eos_id,
        pad_id: tokens.pad_id,
        accepts_attention_mask: true,
        provenance: Some(serde_json::json!({
            "model_type": spec.model_type,
            "dtype": hf::kind_name(kind),
        })),
    }
}

/// Loads a Hugging Face checkpoint folder natively (see [`crate::hf`]).
fn load_hf(dir: PathBuf, options: LoadOptions) -> Result<LoadedModel> {
    let started = std::time::Instant::now();
    let (spec, tokenizer, tokens) = hf_text(&dir)?;
    // Hashed before the weights are loaded: hashing maps each file whole, and those pages
    // must be gone before the model's own memory grows (peak RSS about 1x the checkpoint).
    let hash = directory_hash(&dir)?;
    // Weights are opened (mapped, headers checked) before the dtype is chosen: `auto` follows
    // what is stored when config.json does not say.
    let mut weights = hf::Weights::open(&dir, Kind::Float, options.device)?;
    let stored = weights.stored_kind();
    let kind = hf::resolve_kind(
        options.dtype,
        spec.checkpoint_dtype.or(stored),
        options.device,
    );
    weights.set_kind(kind);
    let decoder = Decoder::load(&spec, &mut weights, kind, options.device)?;
    let checkpoint = hf::CheckpointInfo {
        model_type: spec.model_type.clone(),
        parameters: weights.parameters,
        stored_dtype: stored.map_or("unknown", hf::kind_name).to_owned(),
        files: weights.files(),
        bytes: weights.bytes(),
        load_seconds: started.elapsed().as_secs_f64(),
        unused_tensors: weights.unused(),
    };
    drop(weights);
    let config = hf_model_config(&spec, &tokens, kind);
    Ok(LoadedModel {
        dir,
        config,
        tokenizer,
        model: LanguageModel::Decoder(Box::new(decoder)),
        store: None,
        device: options.device,
        kind,
        parameters: Some(checkpoint.parameters),
        checkpoint: Some(checkpoint),
        hash,
    })
}

/// Runs two tokens through the model and returns the width of its logits.
fn probe_vocabulary(model: &LanguageModel, config: &ModelConfig, device: Device) -> Result<i64> {
    let first = config.bos_id.unwrap_or(0);
    let ids = Tensor::from_slice(&[first, config.pad()])
        .view([1, 2])
        .to_device(device);
    let logits = tch::no_grad(|| model.logits(&ids, None, false))?;
    Ok(*logits.size().last().expect("three dimensions"))
}

/// Fills the variables of `store` from a safetensors file, checking that every variable is
/// there with its shape (libtorch's own copy would broadcast a wrong shape silently).
pub fn load_weights(store: &mut nn::VarStore, path: &Path) -> Result<()> {
    let weights_error = |message: String| LmError::Weights {
        path: path.to_path_buf(),
        message,
    };
    if !path.is_file() {
        return Err(weights_error("no such file".to_owned()));
    }
    let tensors: BTreeMap<String, Tensor> = Tensor::read_safetensors(path)
        .map_err(|e| {
            weights_error(format!(
                "not a valid safetensors file: {}",
                torch_message(&e)
            ))
        })?
        .into_iter()
        .collect();
    let mut variables: Vec<(String, Tensor)> = store.variables().into_iter().collect();
    variables.sort_by(|a, b| a.0.cmp(&b.0));
    tch::no_grad(|| {
        for (name, mut variable) in variables {
            let Some(source) = tensors.get(&name) else {
                return Err(weights_error(format!(
                    "has no tensor `{name}`, which the model needs"
                )));
            };
            if source.size() != variable.size() {
                return Err(weights_error(format!(
                    "tensor `{name}` has shape {:?}, the model needs {:?}",
                    source.size(),
                    variable.size()
                )));
            }
            variable.f_copy_(source).map_err(|e| {
                weights_error(format!("cannot load `{name}`: {}", torch_message(&e)))
            })?;
        }
        Ok(())
    })
}

/// Writes the variables of `store` as safetensors, sorted by name so identical weights give
/// identical bytes.
pub fn save_weights(store: &nn::VarStore, path: &Path) -> Result<()> {
    let mut variables: Vec<(String, Tensor)> = store
        .variables()
        .into_iter()
        .map(|(name, tensor)| (name, tensor.to_device(Device::Cpu).contiguous()))
        .collect();
    variables.sort_by(|a, b| a.0.cmp(&b.0));
    Tensor::write_safetensors(&variables, path).map_err(|e| LmError::Weights {
        path: path.to_path_buf(),
        message: format!("cannot write: {}", torch_message(&e)),
    })
}

/// Writes `config.json`, `tokenizer.json` and `model.safetensors` of a trained model into
/// `dir` (the temporary directory of an atomic output).
pub fn save(
    dir: &Path,
    config: &ModelConfig,
    tokenizer: &CodeTokenizer,
    store: &nn::VarStore,
) -> Result<()> {
    let config_path = dir.join(CONFIG_FILE);
    let mut text = serde_json::to_string_pretty(config).expect("configs serialize");
    text.push('\n');
    fs_err::write(&config_path, text).map_err(|e| LmError::io("write", &config_path, e))?;
    let tokenizer_path = dir.join(TOKENIZER_FILE);
    fs_err::write(&tokenizer_path, tokenizer.to_json()?)
        .map_err(|e| LmError::io("write", &tokenizer_path, e))?;
    save_weights(store, &dir.join(WEIGHTS_FILE))
}

/// blake3 over the files that determine the model's predictions (every file, recursively,
/// except `metrics.json`, whose timings differ between identical trainings, and hidden
/// temporary files), in path order: relative path, NUL, length, contents.
pub fn directory_hash(dir: &Path) -> Result<String> {
    let mut files = Vec::new();
    collect_files(dir, dir, &mut files)?;
    files.sort();
    let mut hasher = blake3::Hasher::new();
    for relative in files {
        let path = dir.join(&relative);
        let length = fs_err::metadata(&path)
            .map_err(|e| LmError::io("read", &path, e))?
            .len();
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update(&[0]);
        hasher.update(&length.to_le_bytes());
        // Memory-mapped and hashed on all cores: checkpoints are gigabytes.
        hasher
            .update_mmap_rayon(&path)
            .map_err(|e| LmError::io("read", &path, e))?;
    }
    Ok(hasher.finalize().to_hex().to_string())
}

fn collect_files(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let entries = fs_err::read_dir(dir).map_err(|e| LmError::io("read", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| LmError::io("read", dir, e))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') || (dir == root && name == METRICS_FILE) {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            collect_files(root, &path, files)?;
        } else {
            files.push(path.strip_prefix(root).expect("under root").to_path_buf());
        }
    }
    Ok(())
}
