//! The models: token ids in, next-token logits out.
//!
//! Every model takes `ids` `[batch, time]` (int64) with sequences **right-padded**, and an
//! optional `mask` `[batch, time]` (1 = token, 0 = padding; `None` when nothing is padded), and
//! returns logits `[batch, time, vocab]` where position `t` predicts token `t + 1`. Predictions
//! at padded positions are garbage and must not be read (the scoring code never does); right
//! padding keeps them from influencing real positions in a causal model.

mod decoder;
mod gpt2;
mod recurrent;
mod torchscript;

use tch::{Tensor, nn};

pub use decoder::Decoder;
pub use gpt2::Gpt2;
pub use recurrent::Recurrent;
pub use torchscript::TorchScript;

use crate::config::Architecture;
use crate::error::Result;

/// Any model icodegen can score with.
pub enum LanguageModel {
    Recurrent(Recurrent),
    Gpt2(Gpt2),
    TorchScript(TorchScript),
    /// A Hugging Face checkpoint, natively.
    Decoder(Box<Decoder>),
}

impl LanguageModel {
    /// Creates the variables of a freshly initialised model under `path` (seed libtorch first
    /// with `tch::manual_seed` for reproducible weights).
    pub fn build(
        path: &nn::Path,
        architecture: &Architecture,
        vocab_size: i64,
        context_length: i64,
    ) -> Result<Self> {
        architecture.validate()?;
        Ok(match architecture {
            Architecture::Gru(config) => LanguageModel::Recurrent(Recurrent::new(
                path,
                vocab_size,
                config,
                recurrent::Cell::Gru,
            )),
            Architecture::Lstm(config) => LanguageModel::Recurrent(Recurrent::new(
                path,
                vocab_size,
                config,
                recurrent::Cell::Lstm,
            )),
            Architecture::Gpt2(config) => {
                LanguageModel::Gpt2(Gpt2::new(path, vocab_size, context_length, config))
            }
        })
    }

    /// Next-token logits; `train` enables dropout (never for TorchScript models, which are
    /// always in eval mode).
    pub fn logits(&self, ids: &Tensor, mask: Option<&Tensor>, train: bool) -> Result<Tensor> {
        match self {
            LanguageModel::Recurrent(model) => Ok(model.forward(ids, train)),
            LanguageModel::Gpt2(model) => Ok(model.forward(ids, mask, train)),
            LanguageModel::TorchScript(model) => model.forward(ids, mask),
            LanguageModel::Decoder(model) => model.project(&model.hidden(ids, mask)?),
        }
    }

    /// The predictions at `(batch_index[i], time_index[i])`, as rows that [`Self::project`]
    /// turns into logits. Decoders return hidden states there (the output layer then runs on
    /// the selected positions only, a chunk at a time); the others return logits.
    pub fn select(
        &self,
        ids: &Tensor,
        mask: Option<&Tensor>,
        batch_index: &Tensor,
        time_index: &Tensor,
    ) -> Result<Tensor> {
        let full = match self {
            LanguageModel::Decoder(model) => model.hidden(ids, mask)?,
            other => other.logits(ids, mask, false)?,
        };
        Ok(full.f_index(&[Some(batch_index), Some(time_index)])?)
    }

    /// Logits of rows from [`Self::select`].
    pub fn project(&self, rows: &Tensor) -> Result<Tensor> {
        match self {
            LanguageModel::Decoder(model) => model.project(rows),
            _ => Ok(rows.shallow_clone()),
        }
    }

    /// Rough forward cost in floating-point operations per input token at sequence length
    /// `time` (multiply-adds count 2), for throughput reports. `None` for TorchScript models,
    /// whose structure is opaque.
    pub fn flops_per_token(&self, time: i64) -> Option<f64> {
        match self {
            LanguageModel::Recurrent(model) => Some(model.flops_per_token()),
            LanguageModel::Gpt2(model) => Some(model.flops_per_token(time)),
            LanguageModel::TorchScript(_) => None,
            LanguageModel::Decoder(model) => Some(model.flops_per_token(time)),
        }
    }
}

/// Number of scalars in the trainable variables of a var store.
pub fn parameter_count(store: &nn::VarStore) -> i64 {
    store
        .trainable_variables()
        .iter()
        .map(Tensor::numel)
        .sum::<usize>() as i64
}
