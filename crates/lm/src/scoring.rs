//! Per-token statistics of next-token predictions, and the windows that score long inputs.
//!
//! The rule (methodology §1): the token at position `t` is scored with the prediction made
//! after `w[..t]`, i.e. the logits at position `t - 1`. Position 0 has no prediction; padding is
//! never scored. Only the statistics leave the device, never the logits.

use tch::{Device, Kind, Tensor};

use crate::error::Result;

/// A slice `[start, end)` of a token sequence fed to the model in one piece; the positions
/// `score_from..end` are scored from it (`score_from > start`, so every scored token has at
/// least one token of context inside the window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: usize,
    pub end: usize,
    pub score_from: usize,
}

/// Sliding windows over a sequence of `len` tokens for a model that reads at most `context`
/// tokens, advancing by `stride` tokens: every position `1..len` is scored exactly once, each
/// with at least `context - stride` tokens of context (or all preceding tokens, when fewer).
/// Requires `1 <= stride < context`. No windows when `len < 2`.
pub fn windows(len: usize, context: usize, stride: usize) -> Vec<Window> {
    assert!(
        stride >= 1 && stride < context,
        "need 1 <= stride ({stride}) < context ({context})"
    );
    let mut windows = Vec::new();
    if len < 2 {
        return windows;
    }
    let (mut start, mut scored_until) = (0, 1);
    loop {
        let end = (start + context).min(len);
        windows.push(Window {
            start,
            end,
            score_from: scored_until.max(start + 1),
        });
        if end == len {
            return windows;
        }
        scored_until = end;
        start += stride;
    }
}

/// Statistics of the predictions for `n` scored tokens.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenStatistics {
    /// ln p(actual token).
    pub logprob: Vec<f32>,
    /// 1 + number of tokens strictly more likely than the actual one (ties favour it).
    pub rank: Vec<i32>,
    /// Entropy of the predictive distribution, nats.
    pub entropy: Vec<f32>,
    /// `n * k` ids and log-probabilities of the k most likely tokens, most likely first.
    pub top_ids: Vec<i32>,
    pub top_logprobs: Vec<f32>,
    pub k: usize,
}

impl TokenStatistics {
    pub fn len(&self) -> usize {
        self.logprob.len()
    }

    pub fn is_empty(&self) -> bool {
        self.logprob.is_empty()
    }

    fn append(&mut self, other: TokenStatistics) {
        self.logprob.extend(other.logprob);
        self.rank.extend(other.rank);
        self.entropy.extend(other.entropy);
        self.top_ids.extend(other.top_ids);
        self.top_logprobs.extend(other.top_logprobs);
    }
}

/// Rows of log-softmax computed at once; bounds device memory at `CHUNK x vocab` floats.
const CHUNK: i64 = 1024;

/// Statistics of `predictions` (`[n, vocab]` logits) for the actual tokens `targets` (`[n]`).
pub fn statistics(predictions: &Tensor, targets: &Tensor, k: usize) -> Result<TokenStatistics> {
    let vocab = predictions.size()[1];
    statistics_projected(predictions, targets, k, vocab, &|rows| {
        Ok(rows.shallow_clone())
    })
}

/// Statistics of rows that `project` turns into `[m, vocab]` logits a chunk at a time (a
/// decoder's hidden states and its output layer), so that at most a chunk of logits exists at
/// once: a 150k-token vocabulary makes 600 KB of float32 logits per token.
pub fn statistics_projected(
    rows: &Tensor,
    targets: &Tensor,
    k: usize,
    vocab: i64,
    project: &dyn Fn(&Tensor) -> Result<Tensor>,
) -> Result<TokenStatistics> {
    let n = rows.size()[0];
    let k_used = (k as i64).min(vocab);
    // About 64 M logits (256 MB of float32) per chunk, at least 16 rows, at most CHUNK.
    let chunk = (64 * 1024 * 1024 / vocab.max(1)).clamp(16, CHUNK);
    let mut all = TokenStatistics {
        k: k_used as usize,
        ..Default::default()
    };
    tch::no_grad(|| -> Result<()> {
        let mut offset = 0;
        while offset < n {
            let length = chunk.min(n - offset);
            let logits = project(&rows.narrow(0, offset, length))?;
            let target = targets.narrow(0, offset, length);
            all.append(chunk_statistics(&logits, &target, k_used)?);
            offset += length;
        }
        Ok(())
    })?;
    Ok(all)
}

fn chunk_statistics(logits: &Tensor, targets: &Tensor, k: i64) -> Result<TokenStatistics> {
    let logprobs = logits.to_kind(Kind::Float).f_log_softmax(-1, Kind::Float)?;
    let actual = logprobs.f_gather(1, &targets.unsqueeze(1), false)?;
    let rank = logprobs
        .f_gt_tensor(&actual)?
        .f_sum_dim_intlist(1, false, Kind::Int64)?
        + 1;
    // p ln p with 0 ln 0 = 0 (models that mask ids with -inf logits).
    let entropy = -(logprobs.exp() * &logprobs)
        .nan_to_num(0.0, None::<f64>, None::<f64>)
        .sum_dim_intlist(1, false, Kind::Float);
    let (top_values, top_indices) = logprobs.f_topk(k, 1, true, true)?;
    Ok(TokenStatistics {
        logprob: to_vec_f32(&actual.squeeze_dim(1))?,
        rank: to_vec_i32(&rank)?,
        entropy: to_vec_f32(&entropy)?,
        top_ids: to_vec_i32(&top_indices)?,
        top_logprobs: to_vec_f32(&top_values)?,
        k: k as usize,
    })
}

fn to_vec_f32(tensor: &Tensor) -> Result<Vec<f32>> {
    let flat = tensor
        .to_device(Device::Cpu)
        .to_kind(Kind::Float)
        .contiguous()
        .view(-1);
    Ok(Vec::<f32>::try_from(&flat)?)
}

fn to_vec_i32(tensor: &Tensor) -> Result<Vec<i32>> {
    let flat = tensor
        .to_device(Device::Cpu)
        .to_kind(Kind::Int)
        .contiguous()
        .view(-1);
    Ok(Vec::<i32>::try_from(&flat)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covered(len: usize, context: usize, stride: usize) -> Vec<usize> {
        windows(len, context, stride)
            .iter()
            .flat_map(|w| {
                assert!(w.end - w.start <= context);
                assert!(w.score_from > w.start);
                w.score_from..w.end
            })
            .collect()
    }

    #[test]
    fn every_position_but_the_first_is_scored_exactly_once() {
        for len in 0..40 {
            for context in 2..12 {
                for stride in 1..context {
                    let expected: Vec<usize> = (1..len).collect();
                    assert_eq!(
                        covered(len, context, stride),
                        expected,
                        "len {len} context {context} stride {stride}"
                    );
                }
            }
        }
    }

    #[test]
    fn windows_keep_at_least_context_minus_stride_tokens_of_context() {
        let context = 8;
        let stride = 3;
        for window in windows(30, context, stride).iter().skip(1) {
            assert!(
                window.score_from - window.start >= context - stride,
                "{window:?}"
            );
        }
        assert_eq!(
            windows(5, 8, 4),
            vec![Window {
                start: 0,
                end: 5,
                score_from: 1
            }]
        );
    }

    #[test]
    fn statistics_match_a_hand_computed_distribution() {
        // Two predictions over 4 tokens.
        let logits = Tensor::from_slice(&[2.0f32, 1.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0]).view([2, 4]);
        let targets = Tensor::from_slice(&[1i64, 3]);
        let stats = statistics(&logits, &targets, 2).unwrap();
        let z: f64 = [2.0f64, 1.0, 0.0, -1.0]
            .iter()
            .map(|x| x.exp())
            .sum::<f64>();
        let expected = (1.0 - z.ln()) as f32;
        assert!((stats.logprob[0] - expected).abs() < 1e-6);
        assert_eq!(stats.rank, vec![2, 1]);
        assert!((stats.logprob[1] - (0.25f32).ln()).abs() < 1e-6);
        assert!((stats.entropy[1] - (4.0f32).ln()).abs() < 1e-6);
        let p: Vec<f64> = [2.0f64, 1.0, 0.0, -1.0]
            .iter()
            .map(|x| x.exp() / z)
            .collect();
        let entropy: f64 = -p.iter().map(|p| p * p.ln()).sum::<f64>();
        assert!((f64::from(stats.entropy[0]) - entropy).abs() < 1e-6);
        assert_eq!(&stats.top_ids[..2], &[0, 1]);
        assert_eq!(stats.top_ids.len(), 4);
        assert!((stats.top_logprobs[1] - stats.logprob[0]).abs() < 1e-6);
    }

    #[test]
    fn masked_logits_give_finite_entropy() {
        let logits = Tensor::from_slice(&[0.0f32, f32::NEG_INFINITY, 0.0]).view([1, 3]);
        let stats = statistics(&logits, &Tensor::from_slice(&[0i64]), 5).unwrap();
        assert!((stats.entropy[0] - (2.0f32).ln()).abs() < 1e-6);
        assert_eq!(stats.k, 3);
    }
}
