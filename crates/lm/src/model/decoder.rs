//! One decoder skeleton for the Hugging Face families (the published `transformers` modeling
//! code is the specification): token embeddings (plus learned positions or rotary), blocks of
//! pre-norm self-attention and MLP, sequential or parallel residuals, a final norm and an output
//! layer, tied or not.
//!
//! Each family's tensors are brought into one layout when loaded: the query, key and value
//! projections as one `[q + k + v, width]` matrix in that order (GPT-2's transposed `Conv1D`,
//! GPT-NeoX's and GPT-BigCode's per-head interleaving and CodeGen's four-way `q, v, k` split
//! are undone then), a gated MLP's gate and up projections as one matrix. The forward pass is
//! then the same code for every family: one GEMM for q/k/v, libtorch's
//! `scaled_dot_product_attention` with one boolean mask (causal, padding and sliding window
//! together: libtorch refuses `is_causal` with a mask), the family's softmax scale.
//!
//! Padding: sequences are right-padded. A padded query whose window holds no real key would
//! give a softmax over nothing (NaN), and that NaN would reach real positions through the next
//! layer's values (0 x NaN); so every position may always attend to itself. Real positions are
//! unaffected (they attend to themselves anyway).

use std::collections::HashMap;

use tch::{Device, Kind, Tensor};

use crate::error::Result;
use crate::hf::config::{Activation, DecoderSpec, Family, NormKind, RopeScaling, RotarySpec};
use crate::hf::weights::Weights;

enum Norm {
    Layer {
        weight: Tensor,
        bias: Tensor,
        eps: f64,
    },
    Rms {
        weight: Tensor,
        eps: f64,
    },
}

impl Norm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Norm::Layer { weight, bias, eps } => {
                let width = *x.size().last().expect("hidden states have a width");
                x.f_layer_norm([width], Some(weight), Some(bias), *eps, true)?
            }
            Norm::Rms { weight, eps } => {
                // As Llama's RMSNorm: statistics in float32, the weight applied in the input dtype.
                let kind = x.kind();
                let h = x.f_to_kind(Kind::Float)?;
                let variance = h.f_square()?.f_mean_dim(-1, true, Kind::Float)?;
                let h = h.f_mul(&(variance + *eps).f_rsqrt()?)?;
                weight.f_mul(&h.f_to_kind(kind)?)?
            }
        })
    }
}

struct Layer {
    norm_attention: Norm,
    /// `None`: the MLP reads the attention's normalised input (CodeGen's shared `ln_1`).
    norm_mlp: Option<Norm>,
    qkv: Tensor,
    qkv_bias: Option<Tensor>,
    out: Tensor,
    out_bias: Option<Tensor>,
    /// `[intermediate, width]`, or gate and up stacked `[2 intermediate, width]` when gated.
    mlp_in: Tensor,
    mlp_in_bias: Option<Tensor>,
    mlp_out: Tensor,
    mlp_out_bias: Option<Tensor>,
    scale: f64,
    window: Option<i64>,
}

/// A decoder loaded from a Hugging Face checkpoint.
pub struct Decoder {
    spec: DecoderSpec,
    embed: Tensor,
    positions: Option<Tensor>,
    layers: Vec<Layer>,
    norm_final: Norm,
    head: Tensor,
    head_bias: Option<Tensor>,
    /// Rotary inverse frequencies (float32, on the device).
    inv_freq: Option<Tensor>,
    kind: Kind,
    device: Device,
}

/// Tensor names with and without the base model's prefix (checkpoints saved from the base
/// model have none).
struct Names<'a> {
    prefix: &'a str,
}

impl Names<'_> {
    fn base(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

/// `[heads, 3, head_dim, ...]` rows (GPT-NeoX, GPT-BigCode without MQA) to `[3, heads, head_dim, ...]`.
fn deinterleave_heads(tensor: Tensor, heads: i64) -> Result<Tensor> {
    let size = tensor.size();
    let rows = size[0];
    let mut shape = vec![heads, 3, rows / (3 * heads)];
    shape.extend_from_slice(&size[1..]);
    let mut order: Vec<i64> = vec![1, 0, 2];
    order.extend((3..shape.len() as i64).collect::<Vec<_>>());
    Ok(tensor
        .f_reshape(&shape)?
        .f_permute(&order)?
        .f_reshape(&size)?
        .f_contiguous()?)
}

/// A linear layer's `NAME.weight` `[rows, columns]` and `NAME.bias` `[rows]`.
fn biased(
    weights: &mut Weights,
    name: &str,
    rows: i64,
    columns: i64,
) -> Result<(Tensor, Option<Tensor>)> {
    Ok((
        weights.take(&format!("{name}.weight"), &[rows, columns])?,
        Some(weights.take(&format!("{name}.bias"), &[rows])?),
    ))
}

/// CodeGen's fused projection: four model-parallel groups, each `[q, v, k]`, to `[q, k, v]`.
fn codegen_qkv(tensor: Tensor, width: i64) -> Result<Tensor> {
    let grouped = tensor.f_reshape([4, 3, width / 4, width])?;
    let part = |index: i64| -> Result<Tensor> {
        Ok(grouped.f_select(1, index)?.f_reshape([width, width])?)
    };
    Ok(Tensor::f_cat(&[part(0)?, part(2)?, part(1)?], 0)?)
}

impl Decoder {
    /// Builds the model of `spec` from the checkpoint's tensors, in `kind` on `device`.
    pub fn load(
        spec: &DecoderSpec,
        weights: &mut Weights,
        kind: Kind,
        device: Device,
    ) -> Result<Self> {
        let w = spec.width;
        let (q, kv, inter) = (spec.query_width(), spec.kv_width(), spec.intermediate);
        let vocab = spec.vocab_size;
        let prefix = match spec.family {
            Family::Gpt2 | Family::GptNeo | Family::GptBigcode | Family::Codegen => {
                if weights.contains("transformer.wte.weight") {
                    "transformer."
                } else {
                    ""
                }
            }
            Family::GptNeox => {
                if weights.contains("gpt_neox.embed_in.weight") {
                    "gpt_neox."
                } else {
                    ""
                }
            }
            _ => {
                if weights.contains("model.embed_tokens.weight") {
                    "model."
                } else {
                    ""
                }
            }
        };
        let n = Names { prefix };
        let layer_norm = |weights: &mut Weights, name: &str, eps: f64| -> Result<Norm> {
            Ok(Norm::Layer {
                weight: weights.take(&format!("{name}.weight"), &[w])?,
                bias: weights.take(&format!("{name}.bias"), &[w])?,
                eps,
            })
        };
        let norm = |weights: &mut Weights, name: &str| -> Result<Norm> {
            match spec.norm {
                NormKind::Layer { eps } => layer_norm(weights, name, eps),
                NormKind::Rms { eps } => Ok(Norm::Rms {
                    weight: weights.take(&format!("{name}.weight"), &[w])?,
                    eps,
                }),
            }
        };
        let bias =
            |weights: &mut Weights, on: bool, name: &str, rows: i64| -> Result<Option<Tensor>> {
                if on {
                    weights.take(name, &[rows]).map(Some)
                } else {
                    Ok(None)
                }
            };

        let (embed_name, positions_name) = match spec.family {
            Family::GptNeox => (n.base("embed_in.weight"), None),
            Family::Llama | Family::Mistral | Family::Qwen2 | Family::Starcoder2 => {
                (n.base("embed_tokens.weight"), None)
            }
            Family::Codegen => (n.base("wte.weight"), None),
            _ => (n.base("wte.weight"), Some(n.base("wpe.weight"))),
        };
        let embed = weights.take(&embed_name, &[vocab, w])?;
        let positions = match positions_name {
            Some(name) => Some(weights.take(&name, &[spec.context_length, w])?),
            None => None,
        };

        let mut layers = Vec::with_capacity(spec.layers as usize);
        for index in 0..spec.layers {
            let scale = spec.attention_scale;
            let window = spec.windows[index as usize];
            let layer = match spec.family {
                Family::Gpt2 => {
                    let h = n.base(&format!("h.{index}."));
                    Layer {
                        norm_attention: norm(weights, &format!("{h}ln_1"))?,
                        norm_mlp: Some(norm(weights, &format!("{h}ln_2"))?),
                        qkv: weights
                            .take_transposed(&format!("{h}attn.c_attn.weight"), &[w, 3 * w])?,
                        qkv_bias: Some(weights.take(&format!("{h}attn.c_attn.bias"), &[3 * w])?),
                        out: weights.take_transposed(&format!("{h}attn.c_proj.weight"), &[w, w])?,
                        out_bias: Some(weights.take(&format!("{h}attn.c_proj.bias"), &[w])?),
                        mlp_in: weights
                            .take_transposed(&format!("{h}mlp.c_fc.weight"), &[w, inter])?,
                        mlp_in_bias: Some(weights.take(&format!("{h}mlp.c_fc.bias"), &[inter])?),
                        mlp_out: weights
                            .take_transposed(&format!("{h}mlp.c_proj.weight"), &[inter, w])?,
                        mlp_out_bias: Some(weights.take(&format!("{h}mlp.c_proj.bias"), &[w])?),
                        scale,
                        window,
                    }
                }
                Family::GptNeo => {
                    let h = n.base(&format!("h.{index}."));
                    let parts = ["q_proj", "k_proj", "v_proj"]
                        .iter()
                        .map(|p| weights.raw(&format!("{h}attn.attention.{p}.weight"), &[w, w]))
                        .collect::<Result<Vec<_>>>()?;
                    let (out, out_bias) =
                        biased(weights, &format!("{h}attn.attention.out_proj"), w, w)?;
                    let (mlp_in, mlp_in_bias) = biased(weights, &format!("{h}mlp.c_fc"), inter, w)?;
                    let (mlp_out, mlp_out_bias) =
                        biased(weights, &format!("{h}mlp.c_proj"), w, inter)?;
                    Layer {
                        norm_attention: norm(weights, &format!("{h}ln_1"))?,
                        norm_mlp: Some(norm(weights, &format!("{h}ln_2"))?),
                        qkv: weights.place(Tensor::f_cat(&parts, 0)?)?,
                        qkv_bias: None,
                        out,
                        out_bias,
                        mlp_in,
                        mlp_in_bias,
                        mlp_out,
                        mlp_out_bias,
                        scale,
                        window,
                    }
                }
                Family::GptNeox => {
                    let h = n.base(&format!("layers.{index}."));
                    let qkv = weights
                        .raw(&format!("{h}attention.query_key_value.weight"), &[3 * w, w])?;
                    let qkv_bias =
                        weights.raw(&format!("{h}attention.query_key_value.bias"), &[3 * w])?;
                    let (out, out_bias) = biased(weights, &format!("{h}attention.dense"), w, w)?;
                    let (mlp_in, mlp_in_bias) =
                        biased(weights, &format!("{h}mlp.dense_h_to_4h"), inter, w)?;
                    let (mlp_out, mlp_out_bias) =
                        biased(weights, &format!("{h}mlp.dense_4h_to_h"), w, inter)?;
                    Layer {
                        norm_attention: norm(weights, &format!("{h}input_layernorm"))?,
                        norm_mlp: Some(norm(weights, &format!("{h}post_attention_layernorm"))?),
                        qkv: weights.place(deinterleave_heads(qkv, spec.heads)?)?,
                        qkv_bias: Some(weights.place(deinterleave_heads(qkv_bias, spec.heads)?)?),
                        out,
                        out_bias,
                        mlp_in,
                        mlp_in_bias,
                        mlp_out,
                        mlp_out_bias,
                        scale,
                        window,
                    }
                }
                Family::GptBigcode => {
                    let h = n.base(&format!("h.{index}."));
                    let rows = q + 2 * kv;
                    let mut qkv = weights.raw(&format!("{h}attn.c_attn.weight"), &[rows, w])?;
                    let mut qkv_bias = weights.raw(&format!("{h}attn.c_attn.bias"), &[rows])?;
                    if spec.kv_heads != 1 {
                        qkv = deinterleave_heads(qkv, spec.heads)?;
                        qkv_bias = deinterleave_heads(qkv_bias, spec.heads)?;
                    }
                    let (out, out_bias) = biased(weights, &format!("{h}attn.c_proj"), w, w)?;
                    let (mlp_in, mlp_in_bias) = biased(weights, &format!("{h}mlp.c_fc"), inter, w)?;
                    let (mlp_out, mlp_out_bias) =
                        biased(weights, &format!("{h}mlp.c_proj"), w, inter)?;
                    Layer {
                        norm_attention: norm(weights, &format!("{h}ln_1"))?,
                        norm_mlp: Some(norm(weights, &format!("{h}ln_2"))?),
                        qkv: weights.place(qkv)?,
                        qkv_bias: Some(weights.place(qkv_bias)?),
                        out,
                        out_bias,
                        mlp_in,
                        mlp_in_bias,
                        mlp_out,
                        mlp_out_bias,
                        scale,
                        window,
                    }
                }
                Family::Codegen => {
                    let h = n.base(&format!("h.{index}."));
                    let qkv = weights.raw(&format!("{h}attn.qkv_proj.weight"), &[3 * w, w])?;
                    let (mlp_in, mlp_in_bias) =
                        biased(weights, &format!("{h}mlp.fc_in"), inter, w)?;
                    let (mlp_out, mlp_out_bias) =
                        biased(weights, &format!("{h}mlp.fc_out"), w, inter)?;
                    Layer {
                        norm_attention: norm(weights, &format!("{h}ln_1"))?,
                        norm_mlp: None,
                        qkv: weights.place(codegen_qkv(qkv, w)?)?,
                        qkv_bias: None,
                        out: weights.take(&format!("{h}attn.out_proj.weight"), &[w, w])?,
                        out_bias: None,
                        mlp_in,
                        mlp_in_bias,
                        mlp_out,
                        mlp_out_bias,
                        scale,
                        window,
                    }
                }
                Family::Llama | Family::Mistral | Family::Qwen2 | Family::Starcoder2 => {
                    let h = n.base(&format!("layers.{index}."));
                    let attention = format!("{h}self_attn.");
                    let q_w = weights.raw(&format!("{attention}q_proj.weight"), &[q, w])?;
                    let k_w = weights.raw(&format!("{attention}k_proj.weight"), &[kv, w])?;
                    let v_w = weights.raw(&format!("{attention}v_proj.weight"), &[kv, w])?;
                    let qkv_bias = if spec.qkv_bias {
                        let q_b = weights.raw(&format!("{attention}q_proj.bias"), &[q])?;
                        let k_b = weights.raw(&format!("{attention}k_proj.bias"), &[kv])?;
                        let v_b = weights.raw(&format!("{attention}v_proj.bias"), &[kv])?;
                        Some(weights.place(Tensor::f_cat(&[q_b, k_b, v_b], 0)?)?)
                    } else {
                        None
                    };
                    let (mlp_in, mlp_in_bias, mlp_out_name) = if spec.gated_mlp {
                        let gate = weights.raw(&format!("{h}mlp.gate_proj.weight"), &[inter, w])?;
                        let up = weights.raw(&format!("{h}mlp.up_proj.weight"), &[inter, w])?;
                        let mlp_in = weights.place(Tensor::f_cat(&[gate, up], 0)?)?;
                        let bias = if spec.mlp_bias {
                            let gate = weights.raw(&format!("{h}mlp.gate_proj.bias"), &[inter])?;
                            let up = weights.raw(&format!("{h}mlp.up_proj.bias"), &[inter])?;
                            Some(weights.place(Tensor::f_cat(&[gate, up], 0)?)?)
                        } else {
                            None
                        };
                        (mlp_in, bias, format!("{h}mlp.down_proj"))
                    } else {
                        let mlp_in = weights.take(&format!("{h}mlp.c_fc.weight"), &[inter, w])?;
                        let bias =
                            bias(weights, spec.mlp_bias, &format!("{h}mlp.c_fc.bias"), inter)?;
                        (mlp_in, bias, format!("{h}mlp.c_proj"))
                    };
                    Layer {
                        norm_attention: norm(weights, &format!("{h}input_layernorm"))?,
                        norm_mlp: Some(norm(weights, &format!("{h}post_attention_layernorm"))?),
                        qkv: weights.place(Tensor::f_cat(&[q_w, k_w, v_w], 0)?)?,
                        qkv_bias,
                        out: weights.take(&format!("{attention}o_proj.weight"), &[w, q])?,
                        out_bias: bias(
                            weights,
                            spec.out_bias,
                            &format!("{attention}o_proj.bias"),
                            w,
                        )?,
                        mlp_in,
                        mlp_in_bias,
                        mlp_out: weights.take(&format!("{mlp_out_name}.weight"), &[w, inter])?,
                        mlp_out_bias: bias(
                            weights,
                            spec.mlp_bias,
                            &format!("{mlp_out_name}.bias"),
                            w,
                        )?,
                        scale,
                        window,
                    }
                }
            };
            layers.push(layer);
        }

        let final_name = match spec.family {
            Family::GptNeox => n.base("final_layer_norm"),
            Family::Llama | Family::Mistral | Family::Qwen2 | Family::Starcoder2 => n.base("norm"),
            _ => n.base("ln_f"),
        };
        let norm_final = norm(weights, &final_name)?;
        let head_name = match spec.family {
            Family::GptNeox => "embed_out.weight",
            _ => "lm_head.weight",
        };
        let head = if spec.tied_embeddings {
            embed.shallow_clone()
        } else {
            weights.take(head_name, &[vocab, w])?
        };
        let head_bias = if spec.family == Family::Codegen {
            weights.take_optional("lm_head.bias", &[vocab])?
        } else {
            None
        };
        let inv_freq = spec
            .rotary
            .as_ref()
            .map(|rotary| inverse_frequencies(rotary).f_to_device(device))
            .transpose()?;
        Ok(Self {
            spec: spec.clone(),
            embed,
            positions,
            layers,
            norm_final,
            head,
            head_bias,
            inv_freq,
            kind,
            device,
        })
    }

    pub fn spec(&self) -> &DecoderSpec {
        &self.spec
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn device(&self) -> Device {
        self.device
    }

    pub fn context_length(&self) -> i64 {
        self.spec.context_length
    }

    /// Final hidden states `[batch, time, width]`; `mask` (1 = token) only when some sequence
    /// is right-padded.
    pub fn hidden(&self, ids: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let (batch, time) = ids.size2()?;
        if time > self.spec.context_length {
            return Err(crate::LmError::Invalid(format!(
                "a sequence of {time} tokens exceeds the model's {} positions",
                self.spec.context_length
            )));
        }
        let device = ids.device();
        let mut x = Tensor::f_embedding(&self.embed, ids, -1, false, false)?;
        if let Some(positions) = &self.positions {
            x = x.f_add(&positions.f_narrow(0, 0, time)?)?;
        }
        let rope = match (&self.inv_freq, &self.spec.rotary) {
            (Some(inv_freq), Some(rotary)) => Some(rope_tables(inv_freq, rotary, time, self.kind)?),
            _ => None,
        };
        // One mask per distinct window; `None` when plain causal attention does (no padding,
        // no window shorter than the input).
        let mut masks: HashMap<Option<i64>, Option<Tensor>> = HashMap::new();
        for layer in &self.layers {
            let mask = match masks.entry(layer.window) {
                std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::hash_map::Entry::Vacant(entry) => {
                    entry.insert(attention_mask(batch, time, mask, layer.window, device)?)
                }
            }
            .as_ref();
            x = self.layer(layer, &x, mask, rope.as_ref())?;
        }
        self.norm_final.forward(&x)
    }

    fn layer(
        &self,
        layer: &Layer,
        x: &Tensor,
        mask: Option<&Tensor>,
        rope: Option<&(Tensor, Tensor)>,
    ) -> Result<Tensor> {
        let h = layer.norm_attention.forward(x)?;
        let attention = self.attention(layer, &h, mask, rope)?;
        Ok(match (&layer.norm_mlp, self.spec.parallel_residual) {
            (None, _) => {
                let mlp = self.mlp(layer, &h)?;
                attention.f_add(&mlp)?.f_add(x)?
            }
            (Some(norm), true) => {
                let mlp = self.mlp(layer, &norm.forward(x)?)?;
                mlp.f_add(&attention)?.f_add(x)?
            }
            (Some(norm), false) => {
                let x = attention.f_add(x)?;
                let mlp = self.mlp(layer, &norm.forward(&x)?)?;
                mlp.f_add(&x)?
            }
        })
    }

    fn attention(
        &self,
        layer: &Layer,
        h: &Tensor,
        mask: Option<&Tensor>,
        rope: Option<&(Tensor, Tensor)>,
    ) -> Result<Tensor> {
        let (batch, time, _) = h.size3()?;
        let spec = &self.spec;
        let (heads, kv_heads, head_dim) = (spec.heads, spec.kv_heads, spec.head_dim);
        let qkv = h.f_linear(&layer.qkv, layer.qkv_bias.as_ref())?;
        let parts =
            qkv.f_split_with_sizes([spec.query_width(), spec.kv_width(), spec.kv_width()], -1)?;
        let split = |part: &Tensor, count: i64| -> Result<Tensor> {
            Ok(part
                .f_view([batch, time, count, head_dim])?
                .f_transpose(1, 2)?)
        };
        let mut query = split(&parts[0], heads)?;
        let mut key = split(&parts[1], kv_heads)?;
        let value = split(&parts[2], kv_heads)?;
        if let (Some((cos, sin)), Some(rotary)) = (rope, &spec.rotary) {
            query = apply_rotary(&query, cos, sin, rotary)?;
            key = apply_rotary(&key, cos, sin, rotary)?;
        }
        let output = Tensor::f_scaled_dot_product_attention(
            &query,
            &key,
            &value,
            mask,
            0.0,
            mask.is_none(),
            Some(layer.scale),
            kv_heads != heads,
        )?;
        let output = output
            .f_transpose(1, 2)?
            .f_reshape([batch, time, spec.query_width()])?;
        Ok(output.f_linear(&layer.out, layer.out_bias.as_ref())?)
    }

    fn mlp(&self, layer: &Layer, h: &Tensor) -> Result<Tensor> {
        let up = h.f_linear(&layer.mlp_in, layer.mlp_in_bias.as_ref())?;
        let inner = if self.spec.gated_mlp {
            let halves = up.f_chunk(2, -1)?;
            activate(&halves[0], self.spec.activation)?.f_mul(&halves[1])?
        } else {
            activate(&up, self.spec.activation)?
        };
        Ok(inner.f_linear(&layer.mlp_out, layer.mlp_out_bias.as_ref())?)
    }

    /// Logits of hidden-state rows (`[..., width]` -> `[..., vocab]`).
    pub fn project(&self, hidden: &Tensor) -> Result<Tensor> {
        Ok(hidden.f_linear(&self.head, self.head_bias.as_ref())?)
    }

    /// Floating-point operations per token at sequence length `time` (multiply-adds count 2).
    pub fn flops_per_token(&self, time: i64) -> f64 {
        let s = &self.spec;
        let projections =
            s.width * (s.query_width() + 2 * s.kv_width()) + s.query_width() * s.width;
        let mlp = s.width * s.intermediate * if s.gated_mlp { 3 } else { 2 };
        let attention = 2 * time * s.query_width();
        (2 * s.layers * (projections + mlp + attention) + 2 * s.width * s.vocab_size) as f64
    }
}

fn activate(x: &Tensor, activation: Activation) -> Result<Tensor> {
    Ok(match activation {
        Activation::Gelu => x.f_gelu("none")?,
        Activation::GeluTanh => x.f_gelu("tanh")?,
        Activation::Silu => x.f_silu()?,
        Activation::Relu => x.f_relu()?,
        Activation::QuickGelu => x.f_mul(&(x * 1.702).f_sigmoid()?)?,
    })
}

/// `1 / theta^(2i / dims)` in float32, rescaled as the config says (transformers'
/// `modeling_rope_utils`).
fn inverse_frequencies(rotary: &RotarySpec) -> Tensor {
    let dims = rotary.dims;
    let exponents = Tensor::arange_start_step(0, dims, 2, (Kind::Int64, Device::Cpu))
        .to_kind(Kind::Float)
        / dims as f64;
    let inv_freq = Tensor::pow_scalar(rotary.theta, &exponents).reciprocal();
    match rotary.scaling {
        RopeScaling::None => inv_freq,
        RopeScaling::Linear { factor } => inv_freq / factor,
        RopeScaling::Llama3 {
            factor,
            low_freq_factor,
            high_freq_factor,
            original_max_position_embeddings: old_context,
        } => {
            let low_wavelength = old_context / low_freq_factor;
            let high_wavelength = old_context / high_freq_factor;
            let wavelength = inv_freq.reciprocal() * (2.0 * std::f64::consts::PI);
            let scaled = inv_freq.where_self(&wavelength.le(low_wavelength), &(&inv_freq / factor));
            let smooth = (wavelength.reciprocal() * old_context - low_freq_factor)
                / (high_freq_factor - low_freq_factor);
            let smoothed = (smooth.ones_like() - &smooth) * &scaled / factor + &smooth * &scaled;
            let medium = wavelength
                .ge(high_wavelength)
                .logical_and(&wavelength.le(low_wavelength));
            smoothed.where_self(&medium, &scaled)
        }
    }
}

/// cos and sin `[time, dims]` for positions `0..time`. Half-rotating families get them in the
/// model's dtype (as transformers casts them); CodeGen's interleaved ones stay float32.
fn rope_tables(
    inv_freq: &Tensor,
    rotary: &RotarySpec,
    time: i64,
    kind: Kind,
) -> Result<(Tensor, Tensor)> {
    let positions = Tensor::f_arange(time, (Kind::Float, inv_freq.device()))?;
    let freqs = positions.f_unsqueeze(1)?.f_mul(&inv_freq.f_unsqueeze(0)?)?;
    if rotary.interleaved {
        let repeat = |t: Tensor| t.f_repeat_interleave_self_int(2, Some(-1), None::<i64>);
        Ok((repeat(freqs.f_cos()?)?, repeat(freqs.f_sin()?)?))
    } else {
        let both = Tensor::f_cat(&[&freqs, &freqs], -1)?;
        Ok((
            both.f_cos()?.f_to_kind(kind)?,
            both.f_sin()?.f_to_kind(kind)?,
        ))
    }
}

/// Rotates the first `rotary.dims` dimensions of each head (`x`: `[batch, heads, time, head_dim]`).
fn apply_rotary(x: &Tensor, cos: &Tensor, sin: &Tensor, rotary: &RotarySpec) -> Result<Tensor> {
    let head_dim = *x.size().last().expect("4 dimensions");
    let dims = rotary.dims;
    let rot = x.f_narrow(-1, 0, dims)?;
    let rotated = if rotary.interleaved {
        // GPT-J: pairs (x0, x1) -> (-x1, x0), computed in float32 as CodeGen's tables are.
        let kind = x.kind();
        let rot = rot.f_to_kind(Kind::Float)?;
        let even = rot.f_slice(-1, 0, dims, 2)?;
        let odd = rot.f_slice(-1, 1, dims, 2)?;
        let turned = Tensor::f_stack(&[odd.f_neg()?, even], -1)?.f_flatten(-2, -1)?;
        rot.f_mul(cos)?
            .f_add(&turned.f_mul(sin)?)?
            .f_to_kind(kind)?
    } else {
        let half = dims / 2;
        let first = rot.f_narrow(-1, 0, half)?;
        let second = rot.f_narrow(-1, half, half)?;
        let turned = Tensor::f_cat(&[second.f_neg()?, first], -1)?;
        rot.f_mul(cos)?.f_add(&turned.f_mul(sin)?)?
    };
    if dims == head_dim {
        Ok(rotated)
    } else {
        Ok(Tensor::f_cat(
            &[rotated, x.f_narrow(-1, dims, head_dim - dims)?],
            -1,
        )?)
    }
}

/// The boolean attention mask `[batch | 1, 1, time, time]` (true: may attend), or `None`
/// when plain causal attention is exact.
fn attention_mask(
    batch: i64,
    time: i64,
    padding: Option<&Tensor>,
    window: Option<i64>,
    device: Device,
) -> Result<Option<Tensor>> {
    let window = window.filter(|&window| window < time);
    if padding.is_none() && window.is_none() {
        return Ok(None);
    }
    let queries = Tensor::f_arange(time, (Kind::Int64, device))?.f_view([time, 1])?;
    let keys = Tensor::f_arange(time, (Kind::Int64, device))?.f_view([1, time])?;
    let mut allowed = keys.f_le_tensor(&queries)?;
    if let Some(window) = window {
        allowed = allowed.f_logical_and(&(&queries - &keys).f_lt(window)?)?;
    }
    let mut allowed = allowed.f_view([1, 1, time, time])?;
    if let Some(padding) = padding {
        let real = padding.f_to_kind(Kind::Bool)?.f_view([batch, 1, 1, time])?;
        let diagonal = Tensor::f_eye(time, (Kind::Bool, device))?.f_view([1, 1, time, time])?;
        allowed = allowed.f_logical_and(&real)?.f_logical_or(&diagonal)?;
    }
    Ok(Some(allowed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_combine_causality_window_and_padding_and_never_empty_a_row() {
        let padding = Tensor::from_slice(&[1i64, 1, 0, 0, 0, 0, 0, 0]).view([2, 4]);
        let mask = attention_mask(2, 4, Some(&padding), Some(2), Device::Cpu)
            .unwrap()
            .unwrap();
        assert_eq!(mask.size(), vec![2, 1, 4, 4]);
        let row = |b: i64, q: i64| -> Vec<bool> {
            Vec::<bool>::try_from(mask.get(b).get(0).get(q)).unwrap()
        };
        assert_eq!(row(0, 1), vec![true, true, false, false]);
        // A padded query whose window holds a real key attends to it and itself.
        assert_eq!(row(0, 2), vec![false, true, true, false]);
        // A padded query: only itself (its window holds no real key).
        assert_eq!(row(0, 3), vec![false, false, false, true]);
        // A fully padded row.
        assert_eq!(row(1, 1), vec![false, true, false, false]);
        assert!(
            attention_mask(2, 4, None, Some(8), Device::Cpu)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn llama3_scaling_keeps_high_frequencies_and_divides_low_ones() {
        let rotary = RotarySpec {
            dims: 64,
            theta: 500000.0,
            scaling: RopeScaling::Llama3 {
                factor: 8.0,
                low_freq_factor: 1.0,
                high_freq_factor: 4.0,
                original_max_position_embeddings: 8192.0,
            },
            interleaved: false,
        };
        let plain = inverse_frequencies(&RotarySpec {
            scaling: RopeScaling::None,
            ..rotary
        });
        let scaled = inverse_frequencies(&rotary);
        let plain = Vec::<f32>::try_from(&plain).unwrap();
        let scaled = Vec::<f32>::try_from(&scaled).unwrap();
        assert_eq!(plain[0], scaled[0]);
        let last = plain.len() - 1;
        assert!((scaled[last] - plain[last] / 8.0).abs() < 1e-12);
        assert!(scaled.iter().zip(&plain).all(|(s, p)| s <= p));
    }
}
