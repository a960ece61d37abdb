//! A Hugging Face `config.json`, read into one [`DecoderSpec`] whatever the family.
//!
//! Both dialects found in the wild are read: the older one (`torch_dtype`, `rope_theta`,
//! `rope_scaling`, GPT-NeoX's `rotary_pct` and `rotary_emb_base`) and the newer one (`dtype`,
//! `rope_parameters`). A key that is absent takes the default of the family's configuration class
//! in `transformers`, as `from_pretrained` would. Anything this crate does not implement (another
//! `model_type`, remote code, a rope or attention variant) is refused with a message that names
//! the file, never approximated.

use std::path::Path;

use serde_json::{Map, Value};
use tch::Kind;

use crate::error::{LmError, Result};

/// The families implemented natively, with a checkpoint people audit for each.
pub const SUPPORTED: &[(&str, &str)] = &[
    ("gpt2", "CodeParrot"),
    ("gpt_neo", "GPT-Neo"),
    ("gpt_neox", "Pythia, PolyCoder"),
    ("gpt_bigcode", "SantaCoder, StarCoder"),
    ("codegen", "CodeGen"),
    ("llama", "CodeLlama, DeepSeek-Coder"),
    ("mistral", "Mistral, Codestral"),
    ("qwen2", "Qwen2.5-Coder"),
    ("starcoder2", "StarCoder2"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Gpt2,
    GptNeo,
    GptNeox,
    GptBigcode,
    Codegen,
    Llama,
    Mistral,
    Qwen2,
    Starcoder2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Exact GELU (erf).
    Gelu,
    /// GELU's tanh approximation (`gelu_new`, `gelu_pytorch_tanh`, `gelu_fast`).
    GeluTanh,
    Silu,
    Relu,
    /// x * sigmoid(1.702 x).
    QuickGelu,
}

impl Activation {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "gelu" => Activation::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
            "silu" | "swish" => Activation::Silu,
            "relu" => Activation::Relu,
            "quick_gelu" => Activation::QuickGelu,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NormKind {
    /// LayerNorm with weight and bias.
    Layer { eps: f64 },
    /// RMSNorm (computed in float32, as Llama's).
    Rms { eps: f64 },
}

/// How rotary frequencies are rescaled for longer contexts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RopeScaling {
    None,
    /// Positions divided by `factor` (inverse frequencies divided by it).
    Linear {
        factor: f64,
    },
    /// Llama 3.1's frequency-dependent scaling.
    Llama3 {
        factor: f64,
        low_freq_factor: f64,
        high_freq_factor: f64,
        original_max_position_embeddings: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RotarySpec {
    /// Leading dimensions of each head that are rotated (partial rotary when below head_dim).
    pub dims: i64,
    pub theta: f64,
    pub scaling: RopeScaling,
    /// GPT-J/CodeGen rotate adjacent pairs; the others rotate the two halves.
    pub interleaved: bool,
}

/// Everything the decoder needs, whatever the family.
#[derive(Debug, Clone, PartialEq)]
pub struct DecoderSpec {
    pub model_type: String,
    pub family: Family,
    pub vocab_size: i64,
    pub width: i64,
    pub layers: i64,
    pub heads: i64,
    pub kv_heads: i64,
    pub head_dim: i64,
    pub intermediate: i64,
    /// Longest input the model was trained on (learned positions or rope range).
    pub context_length: i64,
    pub activation: Activation,
    pub norm: NormKind,
    /// Learned absolute positions (GPT-2, GPT-Neo, GPT-BigCode).
    pub learned_positions: bool,
    pub rotary: Option<RotarySpec>,
    /// Softmax scale of the attention scores (the same in every layer).
    pub attention_scale: f64,
    /// Sliding window of each layer: a query sees the `window` most recent keys, itself included.
    pub windows: Vec<Option<i64>>,
    /// Attention and MLP read the same input and add to the residual together.
    pub parallel_residual: bool,
    /// The output layer is the token embedding.
    pub tied_embeddings: bool,
    /// Gated (SwiGLU-style) MLP: down(act(gate(x)) * up(x)).
    pub gated_mlp: bool,
    /// Biases of the query/key/value projections, the attention output and the MLP.
    pub qkv_bias: bool,
    pub out_bias: bool,
    pub mlp_bias: bool,
    /// The dtype the weights were saved in, when the config says.
    pub checkpoint_dtype: Option<Kind>,
    pub bos_token_id: Option<i64>,
    pub eos_token_id: Option<i64>,
    pub pad_token_id: Option<i64>,
}

/// Reads `config.json` of a Hugging Face checkpoint folder.
pub fn load(path: &Path) -> Result<DecoderSpec> {
    let text = fs_err::read_to_string(path).map_err(|e| LmError::io("read", path, e))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| LmError::Config {
        path: path.to_path_buf(),
        message: format!("not valid JSON: {e}"),
    })?;
    let Value::Object(map) = value else {
        return Err(LmError::Config {
            path: path.to_path_buf(),
            message: "not a JSON object".to_owned(),
        });
    };
    parse(&map, path)
}

/// The names of the supported families, for messages.
pub fn supported_list() -> String {
    SUPPORTED
        .iter()
        .map(|(name, examples)| format!("{name} ({examples})"))
        .collect::<Vec<_>>()
        .join(", ")
}

struct Reader<'a> {
    map: &'a Map<String, Value>,
    path: &'a Path,
}

impl Reader<'_> {
    fn config_error(&self, message: String) -> LmError {
        LmError::Config {
            path: self.path.to_path_buf(),
            message,
        }
    }

    fn unsupported(&self, message: String) -> LmError {
        LmError::Unsupported {
            path: self.path.to_path_buf(),
            message,
        }
    }

    /// The first of `keys` that is present and not null.
    fn value(&self, keys: &[&str]) -> Option<&Value> {
        keys.iter()
            .find_map(|key| self.map.get(*key).filter(|value| !value.is_null()))
    }

    /// The first of `keys` present, converted by `convert`; an error naming the key and
    /// `what` it must be when it is there but of another type.
    fn typed<T>(
        &self,
        keys: &[&str],
        convert: fn(&Value) -> Option<T>,
        what: &str,
    ) -> Result<Option<T>> {
        match self.value(keys) {
            None => Ok(None),
            Some(value) => convert(value).map(Some).ok_or_else(|| {
                self.config_error(format!("`{}` must be {what}, not {value}", keys[0]))
            }),
        }
    }

    fn int(&self, keys: &[&str]) -> Result<Option<i64>> {
        self.typed(keys, Value::as_i64, "an integer")
    }

    fn int_or(&self, keys: &[&str], default: i64) -> Result<i64> {
        Ok(self.int(keys)?.unwrap_or(default))
    }

    fn required(&self, keys: &[&str]) -> Result<i64> {
        self.int(keys)?
            .ok_or_else(|| self.config_error(format!("has no `{}`", keys[0])))
    }

    fn float(&self, keys: &[&str]) -> Result<Option<f64>> {
        self.typed(keys, Value::as_f64, "a number")
    }

    fn float_or(&self, keys: &[&str], default: f64) -> Result<f64> {
        Ok(self.float(keys)?.unwrap_or(default))
    }

    fn bool_or(&self, keys: &[&str], default: bool) -> Result<bool> {
        Ok(self
            .typed(keys, Value::as_bool, "true or false")?
            .unwrap_or(default))
    }

    fn string(&self, keys: &[&str]) -> Option<&str> {
        self.value(keys).and_then(Value::as_str)
    }

    /// A token id that may be written as a list (several EOS ids): the first one.
    fn token_id(&self, key: &str) -> Result<Option<i64>> {
        match self.value(&[key]) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(items.first().and_then(Value::as_i64)),
            Some(value) => value.as_i64().map(Some).ok_or_else(|| {
                self.config_error(format!("`{key}` must be an integer, not {value}"))
            }),
        }
    }

    fn activation(&self, keys: &[&str], default: &str) -> Result<Activation> {
        let name = self.string(keys).unwrap_or(default);
        Activation::parse(name).ok_or_else(|| {
            self.unsupported(format!(
                "activation `{name}` (`{}`) is not implemented; supported: gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, silu, relu, quick_gelu",
                keys[0]
            ))
        })
    }

    fn dtype(&self) -> Result<Option<Kind>> {
        let Some(name) = self.string(&["dtype", "torch_dtype"]) else {
            return Ok(None);
        };
        Ok(Some(match name {
            "float32" => Kind::Float,
            "float16" => Kind::Half,
            "bfloat16" => Kind::BFloat16,
            "float64" => Kind::Double,
            other => {
                return Err(self.unsupported(format!(
                    "dtype `{other}` is not supported (float32, float16, bfloat16); quantized checkpoints need their own loader"
                )));
            }
        }))
    }

    /// Rope parameters of either dialect: `rope_parameters` (newer) or `rope_theta` with
    /// `rope_scaling` (older), GPT-NeoX's `rotary_emb_base`/`rotary_pct` and the newer
    /// `partial_rotary_factor`. Returns (theta, partial factor, scaling).
    fn rope(
        &self,
        default_theta: f64,
        default_partial: f64,
        max_positions: i64,
    ) -> Result<(f64, f64, RopeScaling)> {
        let parameters = match self.value(&["rope_parameters"]) {
            Some(Value::Object(map)) => Some(map),
            Some(other) => {
                return Err(
                    self.config_error(format!("`rope_parameters` must be an object, not {other}"))
                );
            }
            None => None,
        };
        if let Some(map) = parameters
            && map.values().any(Value::is_object)
        {
            return Err(self.unsupported(
                "rope parameters per layer type are not implemented for this family".to_owned(),
            ));
        }
        let scaling_map = match self.value(&["rope_scaling"]) {
            Some(Value::Object(map)) => Some(map),
            Some(other) => {
                return Err(
                    self.config_error(format!("`rope_scaling` must be an object, not {other}"))
                );
            }
            None => None,
        };
        let get = |key: &str| -> Option<&Value> {
            parameters
                .and_then(|map| map.get(key))
                .or_else(|| scaling_map.and_then(|map| map.get(key)))
                .filter(|value| !value.is_null())
        };
        let number = |key: &str, section: &str| -> Result<Option<f64>> {
            match get(key) {
                None => Ok(None),
                Some(value) => value.as_f64().map(Some).ok_or_else(|| {
                    self.config_error(format!("`{section}.{key}` must be a number, not {value}"))
                }),
            }
        };
        let section = if parameters.is_some() {
            "rope_parameters"
        } else {
            "rope_scaling"
        };
        let theta = match number("rope_theta", section)? {
            Some(theta) => theta,
            None => self.float_or(&["rope_theta", "rotary_emb_base"], default_theta)?,
        };
        let partial = match number("partial_rotary_factor", section)? {
            Some(partial) => partial,
            None => self.float_or(&["partial_rotary_factor", "rotary_pct"], default_partial)?,
        };
        let kind = get("rope_type")
            .or_else(|| get("type"))
            .and_then(Value::as_str)
            .unwrap_or("default");
        let need = |key: &str| -> Result<f64> {
            number(key, section)?.ok_or_else(|| {
                self.config_error(format!("rope type `{kind}` needs `{section}.{key}`"))
            })
        };
        let scaling = match kind {
            "default" => RopeScaling::None,
            "linear" => RopeScaling::Linear {
                factor: need("factor")?,
            },
            "llama3" => RopeScaling::Llama3 {
                factor: need("factor")?,
                low_freq_factor: need("low_freq_factor")?,
                high_freq_factor: need("high_freq_factor")?,
                original_max_position_embeddings: number(
                    "original_max_position_embeddings",
                    section,
                )?
                .or(self.float(&["original_max_position_embeddings"])?)
                .unwrap_or(max_positions as f64),
            },
            other => {
                return Err(self.unsupported(format!(
                    "rope type `{other}` is not implemented (default, linear and llama3 are)"
                )));
            }
        };
        Ok((theta, partial, scaling))
    }
}

fn parse(map: &Map<String, Value>, path: &Path) -> Result<DecoderSpec> {
    let r = Reader { map, path };
    if let Some(auto_map) = r.value(&["auto_map"]) {
        return Err(r.unsupported(format!(
            "this checkpoint needs remote code (`auto_map`: {auto_map}), which icodegen never runs; \
             only the built-in families are supported: {}",
            supported_list()
        )));
    }
    let Some(model_type) = r.string(&["model_type"]) else {
        return Err(r.config_error(
            "has no `model_type`: not a Hugging Face config.json (icodegen's own have `format`)"
                .to_owned(),
        ));
    };
    let family = match model_type {
        "gpt2" => Family::Gpt2,
        "gpt_neo" => Family::GptNeo,
        "gpt_neox" => Family::GptNeox,
        "gpt_bigcode" => Family::GptBigcode,
        "codegen" => Family::Codegen,
        "llama" => Family::Llama,
        "mistral" => Family::Mistral,
        "qwen2" => Family::Qwen2,
        "starcoder2" => Family::Starcoder2,
        other => {
            return Err(r.unsupported(format!(
                "model_type `{other}` is not supported natively; supported: {}\n\
                 hint: other families can be scored through a TorchScript export (scripts/export_hf.py)",
                supported_list()
            )));
        }
    };
    if r.bool_or(&["add_cross_attention"], false)? || r.bool_or(&["is_encoder_decoder"], false)? {
        return Err(r.unsupported(
            "cross-attention (encoder-decoder) checkpoints are not causal LMs icodegen scores"
                .to_owned(),
        ));
    }
    let vocab_size = r.required(&["vocab_size"])?;
    let checkpoint_dtype = r.dtype()?;
    let bos_token_id = r.token_id("bos_token_id")?;
    let eos_token_id = r.token_id("eos_token_id")?;
    let pad_token_id = r.token_id("pad_token_id")?;

    let spec = match family {
        Family::Gpt2 | Family::GptBigcode | Family::Codegen => {
            let width = r.int_or(&["n_embd", "hidden_size"], 768)?;
            let layers = r.int_or(&["n_layer", "num_hidden_layers"], 12)?;
            let heads = r.int_or(&["n_head", "num_attention_heads"], 12)?;
            let intermediate = r.int(&["n_inner"])?.unwrap_or(4 * width);
            let eps = r.float_or(&["layer_norm_epsilon"], 1e-5)?;
            let head_dim = width / heads.max(1);
            let context_length = match family {
                Family::Codegen => r.int_or(&["n_positions", "n_ctx"], 2048)?,
                _ => r.int_or(&["n_positions", "max_position_embeddings"], 1024)?,
            };
            let (default_activation, kv_heads) = match family {
                Family::Gpt2 => ("gelu_new", heads),
                Family::GptBigcode => (
                    "gelu_pytorch_tanh",
                    if r.bool_or(&["multi_query"], true)? {
                        1
                    } else {
                        heads
                    },
                ),
                _ => ("gelu_new", heads),
            };
            let mut scale = (head_dim as f64).powf(-0.5);
            if family != Family::Codegen {
                if !r.bool_or(&["scale_attn_weights"], true)? {
                    return Err(
                        r.unsupported("`scale_attn_weights: false` is not implemented".to_owned())
                    );
                }
                if r.bool_or(&["scale_attn_by_inverse_layer_idx"], false)? {
                    return Err(r.unsupported(
                        "`scale_attn_by_inverse_layer_idx: true` is not implemented".to_owned(),
                    ));
                }
            } else {
                scale = 1.0 / (head_dim as f32).sqrt() as f64;
            }
            let rotary = if family == Family::Codegen {
                let dims = r.int(&["rotary_dim"])?.unwrap_or(head_dim);
                Some(RotarySpec {
                    dims,
                    theta: 10000.0,
                    scaling: RopeScaling::None,
                    interleaved: true,
                })
            } else {
                None
            };
            DecoderSpec {
                model_type: model_type.to_owned(),
                family,
                vocab_size,
                width,
                layers,
                heads,
                kv_heads,
                head_dim,
                intermediate,
                context_length,
                activation: r.activation(&["activation_function"], default_activation)?,
                norm: NormKind::Layer { eps },
                learned_positions: family != Family::Codegen,
                rotary,
                attention_scale: scale,
                windows: vec![None; layers.max(0) as usize],
                parallel_residual: family == Family::Codegen,
                tied_embeddings: r.bool_or(&["tie_word_embeddings"], family != Family::Codegen)?,
                gated_mlp: false,
                qkv_bias: family != Family::Codegen,
                out_bias: family != Family::Codegen,
                mlp_bias: true,
                checkpoint_dtype,
                bos_token_id,
                eos_token_id,
                pad_token_id,
            }
        }
        Family::GptNeo => {
            let width = r.int_or(&["hidden_size"], 2048)?;
            let layers = r.int_or(&["num_layers", "num_hidden_layers"], 24)?;
            let heads = r.int_or(&["num_heads", "num_attention_heads"], 16)?;
            let window = r.int_or(&["window_size"], 256)?;
            let kinds = gpt_neo_layers(&r, layers)?;
            let windows = kinds
                .iter()
                .map(|kind| (kind == "local").then_some(window))
                .collect();
            DecoderSpec {
                model_type: model_type.to_owned(),
                family,
                vocab_size,
                width,
                layers,
                heads,
                kv_heads: heads,
                head_dim: width / heads.max(1),
                intermediate: r.int(&["intermediate_size"])?.unwrap_or(4 * width),
                context_length: r.int_or(&["max_position_embeddings"], 2048)?,
                activation: r.activation(&["activation_function"], "gelu_new")?,
                norm: NormKind::Layer {
                    eps: r.float_or(&["layer_norm_epsilon"], 1e-5)?,
                },
                learned_positions: true,
                rotary: None,
                // GPT-Neo does not scale its attention scores.
                attention_scale: 1.0,
                windows,
                parallel_residual: false,
                tied_embeddings: r.bool_or(&["tie_word_embeddings"], true)?,
                gated_mlp: false,
                qkv_bias: false,
                out_bias: true,
                mlp_bias: true,
                checkpoint_dtype,
                bos_token_id,
                eos_token_id,
                pad_token_id,
            }
        }
        Family::GptNeox => {
            let width = r.int_or(&["hidden_size"], 6144)?;
            let layers = r.int_or(&["num_hidden_layers"], 44)?;
            let heads = r.int_or(&["num_attention_heads"], 64)?;
            let head_dim = width / heads.max(1);
            let context_length = r.int_or(&["max_position_embeddings"], 2048)?;
            let (theta, partial, scaling) = r.rope(10000.0, 0.25, context_length)?;
            if !r.bool_or(&["attention_bias"], true)? {
                return Err(r.unsupported(
                    "gpt_neox with `attention_bias: false` is not implemented".to_owned(),
                ));
            }
            DecoderSpec {
                model_type: model_type.to_owned(),
                family,
                vocab_size,
                width,
                layers,
                heads,
                kv_heads: heads,
                head_dim,
                intermediate: r.int_or(&["intermediate_size"], 24576)?,
                context_length,
                activation: r.activation(&["hidden_act"], "gelu")?,
                norm: NormKind::Layer {
                    eps: r.float_or(&["layer_norm_eps"], 1e-5)?,
                },
                learned_positions: false,
                rotary: Some(RotarySpec {
                    dims: (head_dim as f64 * partial) as i64,
                    theta,
                    scaling,
                    interleaved: false,
                }),
                attention_scale: (head_dim as f64).powf(-0.5),
                windows: vec![None; layers.max(0) as usize],
                parallel_residual: r.bool_or(&["use_parallel_residual"], true)?,
                tied_embeddings: r.bool_or(&["tie_word_embeddings"], false)?,
                gated_mlp: false,
                qkv_bias: true,
                out_bias: true,
                mlp_bias: true,
                checkpoint_dtype,
                bos_token_id,
                eos_token_id,
                pad_token_id,
            }
        }
        Family::Llama | Family::Mistral | Family::Qwen2 | Family::Starcoder2 => {
            let width = r.int_or(&["hidden_size"], 4096)?;
            let layers = r.int_or(&["num_hidden_layers"], 32)?;
            let heads = r.int_or(&["num_attention_heads"], 32)?;
            let default_kv = match family {
                Family::Mistral => 8,
                Family::Starcoder2 => 2,
                _ => heads,
            };
            let kv_heads = r.int_or(&["num_key_value_heads"], default_kv)?;
            let head_dim = r.int(&["head_dim"])?.unwrap_or(width / heads.max(1));
            let default_positions = match family {
                Family::Llama => 2048,
                Family::Mistral => 4096 * 32,
                Family::Qwen2 => 32768,
                _ => 4096,
            };
            let context_length = r.int_or(&["max_position_embeddings"], default_positions)?;
            let (theta, partial, scaling) = r.rope(10000.0, 1.0, context_length)?;
            if family != Family::Llama && scaling != RopeScaling::None {
                return Err(r.unsupported(format!(
                    "rope scaling is implemented for llama only, not {model_type}"
                )));
            }
            let windows = match family {
                Family::Mistral | Family::Starcoder2 => {
                    vec![r.int(&["sliding_window"])?; layers.max(0) as usize]
                }
                Family::Qwen2 => qwen2_windows(&r, layers)?,
                _ => vec![None; layers.max(0) as usize],
            };
            let (norm, activation, default_tied, gated) = match family {
                Family::Starcoder2 => (
                    NormKind::Layer {
                        eps: r.float_or(&["norm_epsilon"], 1e-5)?,
                    },
                    r.activation(&["hidden_act"], "gelu_pytorch_tanh")?,
                    true,
                    false,
                ),
                _ => (
                    NormKind::Rms {
                        eps: r.float_or(&["rms_norm_eps"], 1e-6)?,
                    },
                    r.activation(&["hidden_act"], "silu")?,
                    false,
                    true,
                ),
            };
            let (qkv_bias, out_bias, mlp_bias) = match family {
                Family::Llama => {
                    let attention = r.bool_or(&["attention_bias"], false)?;
                    (attention, attention, r.bool_or(&["mlp_bias"], false)?)
                }
                Family::Qwen2 => (true, false, false),
                Family::Starcoder2 => {
                    let bias = r.bool_or(&["use_bias"], true)?;
                    (bias, bias, bias)
                }
                _ => (false, false, false),
            };
            let intermediate_default = match family {
                Family::Llama => 11008,
                Family::Mistral => 14336,
                Family::Qwen2 => 22016,
                _ => 12288,
            };
            DecoderSpec {
                model_type: model_type.to_owned(),
                family,
                vocab_size,
                width,
                layers,
                heads,
                kv_heads,
                head_dim,
                intermediate: r.int_or(&["intermediate_size"], intermediate_default)?,
                context_length,
                activation,
                norm,
                learned_positions: false,
                rotary: Some(RotarySpec {
                    dims: (head_dim as f64 * partial) as i64,
                    theta,
                    scaling,
                    interleaved: false,
                }),
                attention_scale: (head_dim as f64).powf(-0.5),
                windows,
                parallel_residual: false,
                tied_embeddings: r.bool_or(&["tie_word_embeddings"], default_tied)?,
                gated_mlp: gated,
                qkv_bias,
                out_bias,
                mlp_bias,
                checkpoint_dtype,
                bos_token_id,
                eos_token_id,
                pad_token_id,
            }
        }
    };
    validate(&spec, &r)?;
    Ok(spec)
}

/// GPT-Neo's attention kind per layer: `attention_layers` when saved, else `attention_types`
/// expanded (`[[["global", "local"], 12]]` is 24 alternating layers).
fn gpt_neo_layers(r: &Reader, layers: i64) -> Result<Vec<String>> {
    let mut kinds = Vec::new();
    if let Some(Value::Array(items)) = r.value(&["attention_layers"]) {
        kinds = items
            .iter()
            .map(|item| item.as_str().unwrap_or("?").to_owned())
            .collect();
    } else if let Some(Value::Array(groups)) = r.value(&["attention_types"]) {
        for group in groups {
            let pattern = group.get(0).and_then(Value::as_array);
            let repeat = group.get(1).and_then(Value::as_i64);
            let (Some(pattern), Some(repeat)) = (pattern, repeat) else {
                return Err(r.config_error(format!(
                    "`attention_types` entries must be [[kinds...], count], not {group}"
                )));
            };
            for _ in 0..repeat {
                kinds.extend(
                    pattern
                        .iter()
                        .map(|kind| kind.as_str().unwrap_or("?").to_owned()),
                );
            }
        }
    } else {
        kinds = (0..layers)
            .map(|i| if i % 2 == 0 { "global" } else { "local" }.to_owned())
            .collect();
    }
    if kinds.len() as i64 != layers {
        return Err(r.config_error(format!(
            "the attention types name {} layers but `num_layers` is {layers}",
            kinds.len()
        )));
    }
    if let Some(other) = kinds
        .iter()
        .find(|kind| !matches!(kind.as_str(), "global" | "local"))
    {
        return Err(r.unsupported(format!(
            "gpt_neo attention type `{other}` is not implemented (global and local are)"
        )));
    }
    Ok(kinds)
}

/// Qwen2's sliding window: per `layer_types` when saved, else on layers from
/// `max_window_layers` on when `use_sliding_window` is set.
fn qwen2_windows(r: &Reader, layers: i64) -> Result<Vec<Option<i64>>> {
    let use_window = r.bool_or(&["use_sliding_window"], false)?;
    let window = if use_window {
        r.int(&["sliding_window"])?
    } else {
        None
    };
    if let Some(Value::Array(types)) = r.value(&["layer_types"]) {
        if types.len() as i64 != layers {
            return Err(r.config_error(format!(
                "`layer_types` names {} layers but `num_hidden_layers` is {layers}",
                types.len()
            )));
        }
        return types
            .iter()
            .map(|kind| match kind.as_str() {
                Some("full_attention") => Ok(None),
                Some("sliding_attention") => Ok(window),
                _ => Err(r.unsupported(format!(
                    "layer type {kind} is not implemented (full_attention and sliding_attention are)"
                ))),
            })
            .collect();
    }
    let first = r.int_or(&["max_window_layers"], 28)?;
    Ok((0..layers)
        .map(|layer| if layer >= first { window } else { None })
        .collect())
}

fn validate(spec: &DecoderSpec, r: &Reader) -> Result<()> {
    let problem = if spec.vocab_size < 1
        || spec.width < 1
        || spec.layers < 1
        || spec.heads < 1
        || spec.kv_heads < 1
        || spec.head_dim < 1
        || spec.intermediate < 1
    {
        Some("vocab_size, hidden size, layers, heads, head_dim and intermediate size must be at least 1".to_owned())
    } else if spec.heads % spec.kv_heads != 0 {
        Some(format!(
            "{} attention heads are not a multiple of {} key/value heads",
            spec.heads, spec.kv_heads
        ))
    } else if !spec.family_sets_head_dim() && spec.width % spec.heads != 0 {
        Some(format!(
            "hidden size {} is not a multiple of {} heads",
            spec.width, spec.heads
        ))
    } else if spec.context_length < 2 {
        Some(format!(
            "the context ({} positions) must be at least 2",
            spec.context_length
        ))
    } else if let Some(rotary) = &spec.rotary
        && (rotary.dims < 2 || rotary.dims > spec.head_dim || rotary.dims % 2 != 0)
    {
        Some(format!(
            "rotary dimensions {} must be even and within the head size {}",
            rotary.dims, spec.head_dim
        ))
    } else if spec.family == Family::Codegen && spec.heads % 4 != 0 {
        Some(format!(
            "codegen's fused projection needs heads divisible by 4, not {}",
            spec.heads
        ))
    } else if spec.windows.iter().flatten().any(|&window| window < 1) {
        Some("a sliding window must be at least 1".to_owned())
    } else {
        None
    };
    match problem {
        Some(message) => Err(r.config_error(message)),
        None => Ok(()),
    }
}

impl DecoderSpec {
    fn family_sets_head_dim(&self) -> bool {
        matches!(
            self.family,
            Family::Llama | Family::Mistral | Family::Qwen2 | Family::Starcoder2
        )
    }

    /// Width of the query projection (heads x head_dim; differs from the hidden size when a
    /// config sets `head_dim`).
    pub fn query_width(&self) -> i64 {
        self.heads * self.head_dim
    }

    pub fn kv_width(&self) -> i64 {
        self.kv_heads * self.head_dim
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> Result<DecoderSpec> {
        let Value::Object(map) = serde_json::from_str(json).unwrap() else {
            panic!("object");
        };
        parse(&map, Path::new("m/config.json"))
    }

    #[test]
    fn both_rope_dialects_give_the_same_spec() {
        let old = spec(
            r#"{"model_type": "llama", "vocab_size": 10, "hidden_size": 16, "num_hidden_layers": 1,
                "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 32,
                "max_position_embeddings": 64, "torch_dtype": "bfloat16", "rope_theta": 500000.0,
                "rope_scaling": {"type": "linear", "factor": 2.0}}"#,
        )
        .unwrap();
        let new = spec(
            r#"{"model_type": "llama", "vocab_size": 10, "hidden_size": 16, "num_hidden_layers": 1,
                "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 32,
                "max_position_embeddings": 64, "dtype": "bfloat16",
                "rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 500000.0}}"#,
        )
        .unwrap();
        assert_eq!(old, new);
        assert_eq!(new.checkpoint_dtype, Some(Kind::BFloat16));
        assert_eq!(
            new.rotary.unwrap().scaling,
            RopeScaling::Linear { factor: 2.0 }
        );
        assert_eq!(new.rotary.unwrap().theta, 500000.0);
    }

    #[test]
    fn neox_reads_rotary_pct_and_rotary_emb_base() {
        let old = spec(
            r#"{"model_type": "gpt_neox", "vocab_size": 10, "hidden_size": 32, "num_hidden_layers": 2,
                "num_attention_heads": 2, "intermediate_size": 64, "rotary_pct": 0.25,
                "rotary_emb_base": 1000, "use_parallel_residual": false}"#,
        )
        .unwrap();
        let rotary = old.rotary.unwrap();
        assert_eq!((rotary.dims, rotary.theta), (4, 1000.0));
        assert!(!old.parallel_residual);
        let new = spec(
            r#"{"model_type": "gpt_neox", "vocab_size": 10, "hidden_size": 32, "num_hidden_layers": 2,
                "num_attention_heads": 2, "intermediate_size": 64, "use_parallel_residual": false,
                "rope_parameters": {"rope_type": "default", "rope_theta": 1000, "partial_rotary_factor": 0.25}}"#,
        )
        .unwrap();
        assert_eq!(old, new);
    }

    #[test]
    fn refusals_name_the_file_and_the_reason() {
        let error = spec(r#"{"model_type": "t5", "vocab_size": 10}"#).unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("m/config.json") && text.contains("`t5`"),
            "{text}"
        );
        assert!(
            text.contains("starcoder2") && text.contains("export_hf.py"),
            "{text}"
        );
        assert!(error.is_user_error());
        let remote = spec(r#"{"model_type": "llama", "vocab_size": 10, "auto_map": {"AutoModelForCausalLM": "x.Y"}}"#)
            .unwrap_err()
            .to_string();
        assert!(remote.contains("remote code"), "{remote}");
        let yarn = spec(
            r#"{"model_type": "llama", "vocab_size": 10, "hidden_size": 16, "num_hidden_layers": 1,
                "num_attention_heads": 4, "rope_scaling": {"rope_type": "yarn", "factor": 4.0}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(yarn.contains("`yarn` is not implemented"), "{yarn}");
    }

    #[test]
    fn windows_follow_each_family() {
        let neo = spec(
            r#"{"model_type": "gpt_neo", "vocab_size": 10, "hidden_size": 16, "num_layers": 2,
                "num_heads": 2, "attention_types": [[["global", "local"], 1]], "window_size": 5}"#,
        )
        .unwrap();
        assert_eq!(neo.windows, vec![None, Some(5)]);
        assert_eq!(neo.attention_scale, 1.0);
        let qwen = spec(
            r#"{"model_type": "qwen2", "vocab_size": 10, "hidden_size": 16, "num_hidden_layers": 3,
                "num_attention_heads": 4, "use_sliding_window": true, "sliding_window": 7,
                "max_window_layers": 1}"#,
        )
        .unwrap();
        assert_eq!(qwen.windows, vec![None, Some(7), Some(7)]);
        let mistral = spec(
            r#"{"model_type": "mistral", "vocab_size": 10, "hidden_size": 16, "num_hidden_layers": 1,
                "num_attention_heads": 4, "num_key_value_heads": 1, "sliding_window": null}"#,
        )
        .unwrap();
        assert_eq!(mistral.windows, vec![None]);
        assert_eq!(mistral.kv_heads, 1);
    }
}
