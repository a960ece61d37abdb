//! A model directory's `config.json`: what `infer` needs to rebuild and feed a model.
//!
//! Two formats share it:
//! - `icodegen`: a model trained by `icodegen-train` (weights in `model.safetensors`), with its
//!   [`Architecture`] and the training settings that produced it;
//! - `torchscript`: a causal LM traced elsewhere (`model.pt`, see `scripts/export_hf.py`) whose
//!   `forward(input_ids, attention_mask)` returns logits `[batch, time, vocab]`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{LmError, Result};

/// The two kinds of model directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelFormat {
    Icodegen,
    Torchscript,
    /// A Hugging Face checkpoint folder: detected from its own `config.json` (which has
    /// `model_type`, not `format`), never declared.
    #[serde(skip_deserializing)]
    Huggingface,
}

/// Sizes of a recurrent (GRU or LSTM) language model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecurrentConfig {
    /// Token embedding width.
    pub embedding: i64,
    /// Hidden state width.
    pub hidden: i64,
    /// Stacked recurrent layers.
    pub layers: i64,
    /// Dropout on the embeddings and on the recurrent output, while training.
    #[serde(default)]
    pub dropout: f64,
}

/// Sizes of a GPT-2-style decoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gpt2Config {
    pub layers: i64,
    pub heads: i64,
    /// Model width (embedding size); a multiple of `heads`.
    pub width: i64,
    /// Dropout on embeddings, attention and residual branches, while training.
    #[serde(default)]
    pub dropout: f64,
}

/// The architecture of a model trained by icodegen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "architecture", rename_all = "lowercase")]
pub enum Architecture {
    Gru(RecurrentConfig),
    Lstm(RecurrentConfig),
    Gpt2(Gpt2Config),
}

impl Architecture {
    pub fn name(&self) -> &'static str {
        match self {
            Architecture::Gru(_) => "gru",
            Architecture::Lstm(_) => "lstm",
            Architecture::Gpt2(_) => "gpt2",
        }
    }

    /// Checks sizes before any tensor is made.
    pub fn validate(&self) -> Result<()> {
        let invalid = |message: String| Err(LmError::Invalid(message));
        match self {
            Architecture::Gru(config) | Architecture::Lstm(config) => {
                if config.embedding < 1 || config.hidden < 1 || config.layers < 1 {
                    return invalid(format!(
                        "{}: embedding, hidden and layers must be at least 1",
                        self.name()
                    ));
                }
                check_dropout(config.dropout)
            }
            Architecture::Gpt2(config) => {
                if config.layers < 1 || config.heads < 1 || config.width < 1 {
                    return invalid("gpt2: layers, heads and width must be at least 1".to_owned());
                }
                if config.width % config.heads != 0 {
                    return invalid(format!(
                        "gpt2: width {} is not a multiple of heads {}",
                        config.width, config.heads
                    ));
                }
                check_dropout(config.dropout)
            }
        }
    }
}

fn check_dropout(dropout: f64) -> Result<()> {
    if (0.0..1.0).contains(&dropout) {
        Ok(())
    } else {
        Err(LmError::Invalid(format!(
            "dropout {dropout} is not in [0, 1)"
        )))
    }
}

/// The contents of `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub format: ModelFormat,
    /// For `icodegen` models: the architecture and its sizes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<Architecture>,
    /// Rows of the output layer (logits per position).
    pub vocab_size: i64,
    /// Longest input the model accepts, BOS included.
    pub context_length: i64,
    /// Prepended to every input when set, so the first code token is scored too.
    #[serde(default)]
    pub bos_id: Option<i64>,
    #[serde(default)]
    pub eos_id: Option<i64>,
    /// Id used to fill batches (its predictions are never read); `eos_id` or 0 when unset.
    #[serde(default)]
    pub pad_id: Option<i64>,
    /// TorchScript only: whether `forward` takes the attention mask as a second argument.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub accepts_attention_mask: bool,
    /// Free-form provenance: training settings and metrics summary, or the exported model's
    /// name and library versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<serde_json::Value>,
}

fn yes() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

impl ModelConfig {
    /// Reads and checks `config.json`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = fs_err::read_to_string(path).map_err(|e| LmError::io("read", path, e))?;
        let config: ModelConfig = serde_json::from_str(&text).map_err(|e| LmError::Config {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        config.validate().map_err(|e| LmError::Config {
            path: path.to_path_buf(),
            message: match e {
                LmError::Invalid(message) => message,
                other => other.to_string(),
            },
        })?;
        Ok(config)
    }

    /// The id that fills batches.
    pub fn pad(&self) -> i64 {
        self.pad_id.or(self.eos_id).unwrap_or(0)
    }

    pub fn validate(&self) -> Result<()> {
        let invalid = |message: String| Err(LmError::Invalid(message));
        if self.vocab_size < 1 {
            return invalid(format!("vocab_size {} must be at least 1", self.vocab_size));
        }
        if self.context_length < 2 {
            return invalid(format!(
                "context_length {} must be at least 2 (one token of context, one to score)",
                self.context_length
            ));
        }
        for (name, id) in [
            ("bos_id", self.bos_id),
            ("eos_id", self.eos_id),
            ("pad_id", self.pad_id),
        ] {
            if let Some(id) = id
                && !(0..self.vocab_size).contains(&id)
            {
                return invalid(format!(
                    "{name} {id} is outside the vocabulary (0..{})",
                    self.vocab_size
                ));
            }
        }
        match (self.format, &self.model) {
            (ModelFormat::Icodegen, None) => {
                invalid("an icodegen model needs `model` (its architecture)".to_owned())
            }
            (ModelFormat::Icodegen, Some(architecture)) => architecture.validate(),
            (ModelFormat::Torchscript, Some(_)) => invalid(
                "a torchscript model has no `model` section (its architecture is in model.pt)"
                    .to_owned(),
            ),
            (ModelFormat::Torchscript, None) | (ModelFormat::Huggingface, None) => Ok(()),
            (ModelFormat::Huggingface, Some(_)) => {
                invalid("a Hugging Face checkpoint has no `model` section".to_owned())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architecture_is_tagged_and_typos_are_rejected() {
        let json = r#"{"architecture": "gpt2", "layers": 2, "heads": 2, "width": 32}"#;
        let architecture: Architecture = serde_json::from_str(json).unwrap();
        assert_eq!(architecture.name(), "gpt2");
        let typo = r#"{"architecture": "gru", "embeding": 8, "hidden": 8, "layers": 1}"#;
        let error = serde_json::from_str::<Architecture>(typo)
            .unwrap_err()
            .to_string();
        assert!(error.contains("embeding"), "{error}");
    }

    #[test]
    fn config_round_trips_and_checks_ids() {
        let config = ModelConfig {
            format: ModelFormat::Icodegen,
            model: Some(Architecture::Gru(RecurrentConfig {
                embedding: 8,
                hidden: 16,
                layers: 1,
                dropout: 0.0,
            })),
            vocab_size: 300,
            context_length: 64,
            bos_id: Some(0),
            eos_id: Some(0),
            pad_id: Some(1),
            accepts_attention_mask: true,
            provenance: None,
        };
        let text = serde_json::to_string(&config).unwrap();
        assert_eq!(serde_json::from_str::<ModelConfig>(&text).unwrap(), config);
        let bad = ModelConfig {
            bos_id: Some(300),
            ..config.clone()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("bos_id 300")
        );
        let heads = ModelConfig {
            model: Some(Architecture::Gpt2(Gpt2Config {
                layers: 1,
                heads: 3,
                width: 32,
                dropout: 0.0,
            })),
            ..config
        };
        assert!(
            heads
                .validate()
                .unwrap_err()
                .to_string()
                .contains("multiple of heads")
        );
    }
}
