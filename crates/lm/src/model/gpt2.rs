//! A GPT-2-style decoder: learned token and position embeddings, pre-norm blocks of causal
//! multi-head self-attention and a 4x GELU MLP, a final layer norm, and an output layer tied to
//! the token embeddings. Initialisation follows GPT-2 (normal 0.02; residual projections scaled
//! by 1/sqrt(2 layers)).

use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use crate::config::Gpt2Config;

struct Block {
    norm_attention: nn::LayerNorm,
    qkv: nn::Linear,
    attention_out: nn::Linear,
    norm_mlp: nn::LayerNorm,
    mlp_in: nn::Linear,
    mlp_out: nn::Linear,
}

fn linear(path: nn::Path, input: i64, output: i64, stdev: f64) -> nn::Linear {
    nn::linear(
        path,
        input,
        output,
        nn::LinearConfig {
            ws_init: nn::Init::Randn { mean: 0.0, stdev },
            bs_init: Some(nn::Init::Const(0.0)),
            bias: true,
        },
    )
}

pub struct Gpt2 {
    token_embedding: Tensor,
    position_embedding: Tensor,
    blocks: Vec<Block>,
    norm_final: nn::LayerNorm,
    heads: i64,
    width: i64,
    dropout: f64,
    context_length: i64,
    vocab_size: i64,
}

impl Gpt2 {
    pub fn new(path: &nn::Path, vocab_size: i64, context_length: i64, config: &Gpt2Config) -> Self {
        let width = config.width;
        let init = nn::Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        };
        let token_embedding = path.var("token_embedding", &[vocab_size, width], init);
        let position_embedding = path.var(
            "position_embedding",
            &[context_length, width],
            nn::Init::Randn {
                mean: 0.0,
                stdev: 0.01,
            },
        );
        let residual_stdev = 0.02 / (2.0 * config.layers as f64).sqrt();
        let blocks = (0..config.layers)
            .map(|index| {
                let block = path / "blocks" / index;
                Block {
                    norm_attention: nn::layer_norm(
                        &block / "norm_attention",
                        vec![width],
                        Default::default(),
                    ),
                    qkv: linear(&block / "qkv", width, 3 * width, 0.02),
                    attention_out: linear(&block / "attention_out", width, width, residual_stdev),
                    norm_mlp: nn::layer_norm(&block / "norm_mlp", vec![width], Default::default()),
                    mlp_in: linear(&block / "mlp_in", width, 4 * width, 0.02),
                    mlp_out: linear(&block / "mlp_out", 4 * width, width, residual_stdev),
                }
            })
            .collect();
        let norm_final = nn::layer_norm(path / "norm_final", vec![width], Default::default());
        Self {
            token_embedding,
            position_embedding,
            blocks,
            norm_final,
            heads: config.heads,
            width,
            dropout: config.dropout,
            context_length,
            vocab_size,
        }
    }

    pub fn context_length(&self) -> i64 {
        self.context_length
    }

    /// Logits `[batch, time, vocab]`; `mask` (1 = token) is needed only when some sequence is
    /// padded, and then combines with the causal mask.
    // `x = x + ...` on purpose: `+=` would add in place into a tensor that layer norm saved for
    // the backward pass.
    #[allow(clippy::assign_op_pattern)]
    pub fn forward(&self, ids: &Tensor, mask: Option<&Tensor>, train: bool) -> Tensor {
        let (batch, time) = ids.size2().expect("ids are [batch, time]");
        assert!(
            time <= self.context_length,
            "sequence of {time} tokens exceeds the context length {}",
            self.context_length
        );
        let device = ids.device();
        let positions = Tensor::arange(time, (Kind::Int64, device));
        let mut x = Tensor::embedding(&self.token_embedding, ids, -1, false, false)
            + self.position_embedding.index_select(0, &positions);
        x = x.dropout(self.dropout, train);
        // Boolean [batch, 1, time, time]: true where a query may attend to a key.
        let attention_mask = mask.map(|mask| {
            let causal = Tensor::ones([time, time], (Kind::Bool, device)).tril(0);
            let keys = mask.to_kind(Kind::Bool).view([batch, 1, 1, time]);
            causal.view([1, 1, time, time]).logical_and(&keys)
        });
        let head_width = self.width / self.heads;
        for block in &self.blocks {
            let qkv = block.norm_attention.forward(&x).apply(&block.qkv);
            let parts = qkv.split(self.width, 2);
            let shape = [batch, time, self.heads, head_width];
            let q = parts[0].view(shape).transpose(1, 2);
            let k = parts[1].view(shape).transpose(1, 2);
            let v = parts[2].view(shape).transpose(1, 2);
            let dropout = if train { self.dropout } else { 0.0 };
            let attended = Tensor::scaled_dot_product_attention(
                &q,
                &k,
                &v,
                attention_mask.as_ref(),
                dropout,
                attention_mask.is_none(),
                None::<f64>,
                false,
            );
            let attended = attended
                .transpose(1, 2)
                .contiguous()
                .view([batch, time, self.width]);
            x = x + block
                .attention_out
                .forward(&attended)
                .dropout(self.dropout, train);
            let hidden = block.norm_mlp.forward(&x).apply(&block.mlp_in).gelu("tanh");
            x = x + block.mlp_out.forward(&hidden).dropout(self.dropout, train);
        }
        let x = self.norm_final.forward(&x);
        x.matmul(&self.token_embedding.tr()).to_kind(Kind::Float)
    }

    /// 2 x (12 layers width^2 for the blocks + width x vocab for the output layer) + attention
    /// scores over `time` positions (half of them masked, counted anyway).
    pub fn flops_per_token(&self, time: i64) -> f64 {
        let (w, layers) = (self.width as f64, self.blocks.len() as f64);
        2.0 * (12.0 * layers * w * w + w * self.vocab_size as f64)
            + 2.0 * 2.0 * layers * w * time as f64
    }
}
