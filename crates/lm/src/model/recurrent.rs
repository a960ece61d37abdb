//! GRU and LSTM language models: embedding, stacked recurrent layers, a linear output layer.

use tch::nn::{self, Module, RNN};
use tch::{Kind, Tensor};

use crate::config::RecurrentConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Gru,
    Lstm,
}

enum Layers {
    Gru(nn::GRU),
    Lstm(nn::LSTM),
}

/// A recurrent language model. Dropout applies to the embeddings and to the recurrent output
/// only: tch fixes the between-layer dropout of its RNNs at construction, so one model could not
/// both train with it and validate without it.
pub struct Recurrent {
    embedding: nn::Embedding,
    layers: Layers,
    head: nn::Linear,
    dropout: f64,
    cell: Cell,
    config: RecurrentConfig,
    vocab_size: i64,
}

impl Recurrent {
    pub fn new(path: &nn::Path, vocab_size: i64, config: &RecurrentConfig, cell: Cell) -> Self {
        let embedding = nn::embedding(
            path / "embedding",
            vocab_size,
            config.embedding,
            nn::EmbeddingConfig {
                ws_init: nn::Init::Randn {
                    mean: 0.0,
                    stdev: 0.1,
                },
                ..Default::default()
            },
        );
        // PyTorch's default recurrent initialisation: U(-1/sqrt(hidden), 1/sqrt(hidden)).
        let bound = 1.0 / (config.hidden as f64).sqrt();
        let uniform = nn::Init::Uniform {
            lo: -bound,
            up: bound,
        };
        let rnn_config = nn::RNNConfig {
            num_layers: config.layers,
            dropout: 0.0,
            train: false,
            batch_first: true,
            w_ih_init: uniform,
            w_hh_init: uniform,
            b_ih_init: Some(uniform),
            b_hh_init: Some(uniform),
            ..Default::default()
        };
        let rnn_path = path / "rnn";
        let layers = match cell {
            Cell::Gru => Layers::Gru(nn::gru(
                &rnn_path,
                config.embedding,
                config.hidden,
                rnn_config,
            )),
            Cell::Lstm => Layers::Lstm(nn::lstm(
                &rnn_path,
                config.embedding,
                config.hidden,
                rnn_config,
            )),
        };
        let head = nn::linear(path / "head", config.hidden, vocab_size, Default::default());
        Self {
            embedding,
            layers,
            head,
            dropout: config.dropout,
            cell,
            config: config.clone(),
            vocab_size,
        }
    }

    /// Logits `[batch, time, vocab]` for ids `[batch, time]`. Right padding needs no mask: a
    /// recurrent state only flows forward.
    pub fn forward(&self, ids: &Tensor, train: bool) -> Tensor {
        let embedded = self.embedding.forward(ids).dropout(self.dropout, train);
        let output = match &self.layers {
            Layers::Gru(gru) => gru.seq(&embedded).0,
            Layers::Lstm(lstm) => lstm.seq(&embedded).0,
        };
        self.head
            .forward(&output.dropout(self.dropout, train))
            .to_kind(Kind::Float)
    }

    /// Multiply-adds of one step: input and hidden projections of each gate, plus the head.
    pub fn flops_per_token(&self) -> f64 {
        let gates = match self.cell {
            Cell::Gru => 3.0,
            Cell::Lstm => 4.0,
        };
        let (e, h, layers) = (
            self.config.embedding as f64,
            self.config.hidden as f64,
            self.config.layers as f64,
        );
        let first = gates * h * (e + h);
        let rest = (layers - 1.0) * gates * h * (h + h);
        2.0 * (first + rest + h * self.vocab_size as f64)
    }
}
