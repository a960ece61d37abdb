//! The seeded bootstrap of a mean, specialised for the tag stage's hot loop (one bootstrap per
//! row and concept: B x the concept's tokens index draws, most of the stage's time): no
//! allocation per call, one xoshiro256++ stream per (seed, model, row, concept), so results do
//! not depend on thread scheduling or row order. Each 64-bit draw gives two indices by Lemire's
//! multiply-and-reject method, which is exactly uniform.
//!
//! Conventions match `icodegen-stats` and scipy: the standard error is the `ddof=1` standard
//! deviation of the B replicate means; the median and the percentiles of the replicates use
//! numpy's default linear interpolation.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};

/// The generator behind every bootstrap: a named algorithm, so a seed gives the same stream in
/// every build.
pub type Stream = Xoshiro256PlusPlus;

/// A generator whose seed is the blake3 hash of `parts` (length-prefixed, so `["ab", "c"]` and
/// `["a", "bc"]` differ).
pub fn stream(parts: &[&[u8]]) -> Stream {
    let mut hasher = blake3::Hasher::new();
    for part in parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    Stream::from_seed(*hasher.finalize().as_bytes())
}

/// Uniform indices below `bound` (Lemire, "Fast random integer generation in an interval",
/// 2019), two per 64-bit draw.
struct Indices<'a> {
    rng: &'a mut Stream,
    bound: u64,
    /// Products `x * bound` whose low half is below this are rejected: (2^32 - bound) mod bound.
    threshold: u32,
    spare: Option<u32>,
}

impl<'a> Indices<'a> {
    fn new(rng: &'a mut Stream, bound: u32) -> Self {
        Self {
            rng,
            bound: u64::from(bound),
            threshold: bound.wrapping_neg() % bound,
            spare: None,
        }
    }

    #[inline]
    fn next_word(&mut self) -> u32 {
        match self.spare.take() {
            Some(word) => word,
            None => {
                let draw = self.rng.next_u64();
                self.spare = Some((draw >> 32) as u32);
                draw as u32
            }
        }
    }

    #[inline]
    fn next(&mut self) -> usize {
        loop {
            let product = u64::from(self.next_word()) * self.bound;
            if (product as u32) >= self.threshold {
                return (product >> 32) as usize;
            }
        }
    }
}

/// What the bootstrap says about the mean of some values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanBootstrap {
    /// Median of the B replicate means.
    pub median: f64,
    /// `ddof=1` standard deviation of the replicate means.
    pub standard_error: f64,
    /// 2.5 % and 97.5 % percentiles of the replicate means.
    pub ci_low: f64,
    pub ci_high: f64,
}

/// Bootstraps the mean of `values` (non-empty) with `resamples` (>= 2) replicates drawn from
/// `rng`. `scratch` is reused between calls.
pub fn bootstrap_mean(
    values: &[f64],
    resamples: usize,
    rng: &mut Stream,
    scratch: &mut Vec<f64>,
) -> MeanBootstrap {
    debug_assert!(!values.is_empty() && resamples >= 2);
    let first = values[0];
    if values.iter().all(|&value| value == first) {
        // Every replicate mean is `first`: skip the draws, the answer is exact.
        return MeanBootstrap {
            median: first,
            standard_error: 0.0,
            ci_low: first,
            ci_high: first,
        };
    }
    let n = values.len();
    let bound = u32::try_from(n).expect("fewer than 2^32 values");
    let mut indices = Indices::new(rng, bound);
    scratch.clear();
    for _ in 0..resamples {
        // Two partial sums shorten the chain of dependent additions.
        let (mut even, mut odd) = (0.0, 0.0);
        for _ in 0..n / 2 {
            even += values[indices.next()];
            odd += values[indices.next()];
        }
        if n % 2 == 1 {
            even += values[indices.next()];
        }
        scratch.push((even + odd) / n as f64);
    }
    let standard_error = standard_deviation(scratch);
    scratch.sort_by(f64::total_cmp);
    MeanBootstrap {
        median: percentile_sorted(scratch, 0.5),
        standard_error,
        ci_low: percentile_sorted(scratch, 0.025),
        ci_high: percentile_sorted(scratch, 0.975),
    }
}

/// numpy's default (linear) percentile of sorted, non-empty values; `q` in [0, 1].
pub fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    let position = q * (sorted.len() - 1) as f64;
    let low = position.floor() as usize;
    let high = position.ceil() as usize;
    let fraction = position - low as f64;
    sorted[low] + (sorted[high] - sorted[low]) * fraction
}

/// Median of values (sorts `scratch`, a copy).
pub fn median(values: &[f64], scratch: &mut Vec<f64>) -> f64 {
    scratch.clear();
    scratch.extend_from_slice(values);
    scratch.sort_by(f64::total_cmp);
    percentile_sorted(scratch, 0.5)
}

pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// `ddof=1` standard deviation (0 for fewer than two values).
pub fn standard_deviation(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let mean = mean(values);
    let squares: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    (squares / (values.len() - 1) as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_linearly_like_numpy() {
        let sorted = [1.0, 2.0, 4.0, 8.0];
        // numpy.percentile([1,2,4,8], [50, 2.5, 97.5]) = [3.0, 1.075, 7.7]
        assert_eq!(percentile_sorted(&sorted, 0.5), 3.0);
        assert!((percentile_sorted(&sorted, 0.025) - 1.075).abs() < 1e-12);
        assert!((percentile_sorted(&sorted, 0.975) - 7.7).abs() < 1e-12);
        assert_eq!(median(&[3.0, 1.0, 2.0], &mut Vec::new()), 2.0);
    }

    #[test]
    fn the_same_stream_gives_the_same_bootstrap_and_another_differs() {
        let values = [0.1, 0.9, 0.4, 0.7, 0.3];
        let mut scratch = Vec::new();
        let a = bootstrap_mean(&values, 500, &mut stream(&[b"7", b"m", b"r"]), &mut scratch);
        let b = bootstrap_mean(&values, 500, &mut stream(&[b"7", b"m", b"r"]), &mut scratch);
        let c = bootstrap_mean(&values, 500, &mut stream(&[b"8", b"m", b"r"]), &mut scratch);
        assert_eq!(a, b);
        assert_ne!(a, c);
        // the replicate means centre on the sample mean with SE near sd / sqrt(n)
        let expected_se = standard_deviation(&values) * ((5.0 - 1.0) / 5.0f64).sqrt() / 5f64.sqrt();
        assert!((a.median - mean(&values)).abs() < 0.05, "{a:?}");
        assert!(
            (a.standard_error - expected_se).abs() < 0.03,
            "{a:?} vs {expected_se}"
        );
        assert!(a.ci_low < a.median && a.median < a.ci_high);
    }

    #[test]
    fn constant_values_have_zero_standard_error() {
        let result = bootstrap_mean(&[0.25; 3], 500, &mut stream(&[]), &mut Vec::new());
        assert_eq!(result.median, 0.25);
        assert_eq!(result.standard_error, 0.0);
    }

    #[test]
    fn indices_are_uniform_and_in_range() {
        let mut rng = stream(&[b"uniform"]);
        let mut indices = Indices::new(&mut rng, 7);
        let mut counts = [0usize; 7];
        for _ in 0..70_000 {
            counts[indices.next()] += 1;
        }
        // each count is Binomial(70000, 1/7): mean 10000, sd 92
        assert!(
            counts.iter().all(|&c| (9_600..10_400).contains(&c)),
            "{counts:?}"
        );
        let mut rng = stream(&[b"one"]);
        let mut indices = Indices::new(&mut rng, 1);
        assert!((0..100).all(|_| indices.next() == 0));
    }

    #[test]
    fn stream_parts_are_length_prefixed() {
        let mut a = stream(&[b"ab", b"c"]);
        let mut b = stream(&[b"a", b"bc"]);
        assert_ne!(a.next_u64(), b.next_u64());
    }
}
