//! Seeded nonparametric bootstrap: percentile and BCa intervals, one-sample and paired.
//!
//! Resampling draws row indices with replacement from a ChaCha8 generator seeded by
//! [`BootstrapConfig::seed`], so a result is a pure function of (data, statistic, config). The
//! interval arithmetic is scipy's `scipy.stats.bootstrap` (1.15): the percentile interval takes
//! `numpy.percentile` (linear) of the replicates at `(1 - level) / 2` and `(1 + level) / 2`; BCa
//! uses the bias correction `z0 = Φ⁻¹(mean(θ* < θ̂, θ* ≤ θ̂))` and the jackknife acceleration,
//! exactly as scipy's `_bca_interval`; the standard error is the `ddof=1` standard deviation of
//! the replicates. Given the same replicates, [`percentile_interval`] and [`bca_interval`]
//! reproduce scipy to rounding (checked in `tests/scipy_reference.rs`); the replicates
//! themselves differ from scipy's because the random generators differ.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::descriptive::{mean, quantile_sorted, std_dev};
use crate::error::{Result, StatsError, check_confidence, check_finite, check_len, check_paired};
use crate::types::ConfidenceInterval;

/// Which bootstrap interval to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalMethod {
    /// Quantiles of the replicates.
    Percentile,
    /// Bias-corrected and accelerated (Efron 1987), scipy's default.
    #[default]
    Bca,
}

/// Bootstrap settings. `resamples` is the B of the literature.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BootstrapConfig {
    pub resamples: usize,
    pub confidence_level: f64,
    pub method: IntervalMethod,
    pub seed: u64,
}

impl Default for BootstrapConfig {
    /// B = 1000, 95 %, BCa, seed 0.
    fn default() -> Self {
        Self {
            resamples: 1000,
            confidence_level: 0.95,
            method: IntervalMethod::Bca,
            seed: 0,
        }
    }
}

/// A bootstrapped statistic.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BootstrapEstimate {
    /// The statistic on the original sample.
    pub estimate: f64,
    /// Standard deviation (`ddof=1`) of the replicates.
    pub standard_error: f64,
    pub ci: ConfidenceInterval,
    /// Median of the replicates (the AsC-Eval "bootstrap median").
    pub median: f64,
    /// Mean of the replicates minus the estimate.
    pub bias: f64,
    /// Observations (pairs for paired bootstraps).
    pub n: usize,
    pub resamples: usize,
    pub method: IntervalMethod,
    pub seed: u64,
}

/// A paired bootstrap of a difference, with a bootstrap p-value for "no difference".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairedDifference {
    /// The bootstrapped statistic of `treated - control` (the mean difference by default).
    pub difference: BootstrapEstimate,
    /// Two-sided p-value: `min(1, 2 · min(P*(d ≤ 0), P*(d ≥ 0)))` over the replicates, with
    /// `+1` in numerator and denominator so it is never exactly zero.
    pub p_value: f64,
}

fn check_config(config: &BootstrapConfig) -> Result<()> {
    check_confidence(config.confidence_level)?;
    if config.resamples < 2 {
        return Err(StatsError::InvalidParameter(format!(
            "bootstrap needs at least 2 resamples, got {}",
            config.resamples
        )));
    }
    Ok(())
}

/// Draws `resamples` bootstrap replicates of `statistic` over rows `0..n`: `evaluate` receives
/// the resampled row indices and returns the statistic. The building block of every bootstrap
/// here and in `icodegen-causal`.
pub fn replicates_by_index(
    n: usize,
    resamples: usize,
    seed: u64,
    mut evaluate: impl FnMut(&[usize]) -> f64,
) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut indices = vec![0usize; n];
    (0..resamples)
        .map(|_| {
            for index in indices.iter_mut() {
                *index = rng.random_range(0..n);
            }
            evaluate(&indices)
        })
        .collect()
}

/// Bootstrap replicates of `statistic` on `sample` (seeded).
pub fn bootstrap_replicates(
    sample: &[f64],
    statistic: impl Fn(&[f64]) -> f64,
    resamples: usize,
    seed: u64,
) -> Vec<f64> {
    let mut buffer = vec![0.0; sample.len()];
    replicates_by_index(sample.len(), resamples, seed, |indices| {
        for (slot, &index) in buffer.iter_mut().zip(indices) {
            *slot = sample[index];
        }
        statistic(&buffer)
    })
}

/// The percentile interval of `replicates` (NaN replicates are an error upstream).
pub fn percentile_interval(replicates: &[f64], confidence_level: f64) -> ConfidenceInterval {
    let mut sorted = replicates.to_vec();
    sorted.sort_by(f64::total_cmp);
    let alpha = (1.0 - confidence_level) / 2.0;
    ConfidenceInterval {
        lower: percentile_of_sorted(&sorted, alpha),
        upper: percentile_of_sorted(&sorted, 1.0 - alpha),
        level: confidence_level,
    }
}

/// `numpy.percentile(x, 100 q)`: scipy passes percentages, so the quantile goes through the
/// same `q * 100 / 100` round trip to land on the same order statistic.
fn percentile_of_sorted(sorted: &[f64], q: f64) -> f64 {
    quantile_sorted(sorted, (q * 100.0) / 100.0)
}

/// The BCa interval of `replicates`, given the jackknife values of the statistic (the
/// statistic with each observation left out in turn) and the estimate on the full sample.
pub fn bca_interval_from_jackknife(
    estimate: f64,
    replicates: &[f64],
    jackknife: &[f64],
    confidence_level: f64,
) -> ConfidenceInterval {
    let normal = Normal::standard();
    let resamples = replicates.len() as f64;
    let below = replicates.iter().filter(|&&value| value < estimate).count() as f64;
    let at_or_below = replicates
        .iter()
        .filter(|&&value| value <= estimate)
        .count() as f64;
    let z0 = normal.inverse_cdf((below + at_or_below) / (2.0 * resamples));

    let jackknife_mean = mean(jackknife);
    let (mut cubes, mut squares) = (0.0, 0.0);
    for &value in jackknife {
        let u = jackknife_mean - value;
        cubes += u * u * u;
        squares += u * u;
    }
    let acceleration = cubes / (6.0 * squares.powf(1.5));

    let alpha = (1.0 - confidence_level) / 2.0;
    let z_alpha = normal.inverse_cdf(alpha);
    let adjusted = |z: f64| {
        let numerator = z0 + z;
        normal.cdf(z0 + numerator / (1.0 - acceleration * numerator))
    };
    let (alpha_lower, alpha_upper) = (adjusted(z_alpha), adjusted(-z_alpha));
    let mut sorted = replicates.to_vec();
    sorted.sort_by(f64::total_cmp);
    ConfidenceInterval {
        lower: percentile_of_sorted(&sorted, alpha_lower),
        upper: percentile_of_sorted(&sorted, alpha_upper),
        level: confidence_level,
    }
}

/// The BCa interval of `replicates` for `statistic` on `sample` (computes the jackknife).
pub fn bca_interval(
    sample: &[f64],
    statistic: impl Fn(&[f64]) -> f64,
    replicates: &[f64],
    confidence_level: f64,
) -> ConfidenceInterval {
    let estimate = statistic(sample);
    let jackknife = jackknife_values(sample.len(), |keep| {
        let values: Vec<f64> = keep.iter().map(|&index| sample[index]).collect();
        statistic(&values)
    });
    bca_interval_from_jackknife(estimate, replicates, &jackknife, confidence_level)
}

/// The statistic with each of the `n` rows left out in turn; `evaluate` gets the kept rows.
fn jackknife_values(n: usize, mut evaluate: impl FnMut(&[usize]) -> f64) -> Vec<f64> {
    let mut keep: Vec<usize> = (1..n).collect();
    let mut values = Vec::with_capacity(n);
    for left_out in 0..n {
        values.push(evaluate(&keep));
        // Slide the hole one position right: put `left_out` back, remove `left_out + 1`.
        if left_out + 1 < n {
            keep[left_out] = left_out;
        }
    }
    values
}

fn summarize(
    estimate: f64,
    replicates: &[f64],
    ci: ConfidenceInterval,
    n: usize,
    config: &BootstrapConfig,
) -> Result<BootstrapEstimate> {
    if let Some(index) = replicates.iter().position(|value| !value.is_finite()) {
        return Err(StatsError::NonFinite {
            what: "bootstrap replicate",
            index,
            value: replicates[index],
        });
    }
    let mut sorted = replicates.to_vec();
    sorted.sort_by(f64::total_cmp);
    Ok(BootstrapEstimate {
        estimate,
        standard_error: std_dev(replicates),
        ci,
        median: quantile_sorted(&sorted, 0.5),
        bias: mean(replicates) - estimate,
        n,
        resamples: config.resamples,
        method: config.method,
        seed: config.seed,
    })
}

/// Bootstraps `statistic` on `sample` and returns the estimate, standard error and interval.
///
/// Errors on an empty or non-finite sample, a bad config, or a non-finite replicate.
pub fn bootstrap(
    sample: &[f64],
    statistic: impl Fn(&[f64]) -> f64,
    config: &BootstrapConfig,
) -> Result<BootstrapEstimate> {
    check_config(config)?;
    check_len("bootstrap", sample, 2)?;
    check_finite("bootstrap", sample)?;
    let estimate = statistic(sample);
    let replicates = bootstrap_replicates(sample, &statistic, config.resamples, config.seed);
    let ci = match config.method {
        IntervalMethod::Percentile => percentile_interval(&replicates, config.confidence_level),
        IntervalMethod::Bca => {
            bca_interval(sample, &statistic, &replicates, config.confidence_level)
        }
    };
    summarize(estimate, &replicates, ci, sample.len(), config)
}

/// Bootstraps the mean of `sample`.
pub fn bootstrap_mean(sample: &[f64], config: &BootstrapConfig) -> Result<BootstrapEstimate> {
    bootstrap(sample, mean, config)
}

/// Bootstraps a statistic of two paired samples, resampling pairs (scipy's `paired=True`).
pub fn bootstrap_paired(
    first: &[f64],
    second: &[f64],
    statistic: impl Fn(&[f64], &[f64]) -> f64,
    config: &BootstrapConfig,
) -> Result<BootstrapEstimate> {
    check_config(config)?;
    check_paired("paired bootstrap", first, second)?;
    check_len("paired bootstrap", first, 2)?;
    check_finite("paired bootstrap (first sample)", first)?;
    check_finite("paired bootstrap (second sample)", second)?;
    let n = first.len();
    let estimate = statistic(first, second);
    let (mut a, mut b) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut evaluate = |indices: &[usize]| {
        a.clear();
        b.clear();
        a.extend(indices.iter().map(|&index| first[index]));
        b.extend(indices.iter().map(|&index| second[index]));
        statistic(&a, &b)
    };
    let replicates = replicates_by_index(n, config.resamples, config.seed, &mut evaluate);
    let ci = match config.method {
        IntervalMethod::Percentile => percentile_interval(&replicates, config.confidence_level),
        IntervalMethod::Bca => {
            let jackknife = jackknife_values(n, &mut evaluate);
            bca_interval_from_jackknife(estimate, &replicates, &jackknife, config.confidence_level)
        }
    };
    summarize(estimate, &replicates, ci, n, config)
}

/// Paired bootstrap of the mean difference `treated - control` (pairs resampled together),
/// with a two-sided bootstrap p-value for a zero difference.
pub fn paired_bootstrap_difference(
    treated: &[f64],
    control: &[f64],
    config: &BootstrapConfig,
) -> Result<PairedDifference> {
    check_paired("paired bootstrap of a difference", treated, control)?;
    let differences: Vec<f64> = treated.iter().zip(control).map(|(t, c)| t - c).collect();
    check_finite("paired bootstrap of a difference", &differences)?;
    check_config(config)?;
    check_len("paired bootstrap of a difference", &differences, 2)?;
    let replicates = bootstrap_replicates(&differences, mean, config.resamples, config.seed);
    let estimate = mean(&differences);
    let ci = match config.method {
        IntervalMethod::Percentile => percentile_interval(&replicates, config.confidence_level),
        IntervalMethod::Bca => {
            bca_interval(&differences, mean, &replicates, config.confidence_level)
        }
    };
    let resamples = replicates.len() as f64;
    let at_or_below = replicates.iter().filter(|&&value| value <= 0.0).count() as f64;
    let at_or_above = replicates.iter().filter(|&&value| value >= 0.0).count() as f64;
    let tail = (at_or_below.min(at_or_above) + 1.0) / (resamples + 1.0);
    Ok(PairedDifference {
        difference: summarize(estimate, &replicates, ci, differences.len(), config)?,
        p_value: (2.0 * tail).min(1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_interval_and_another_seed_does_not() {
        let sample: Vec<f64> = (0..40).map(|i| ((i * 37) % 11) as f64 * 0.3).collect();
        let config = BootstrapConfig {
            resamples: 300,
            ..BootstrapConfig::default()
        };
        let first = bootstrap_mean(&sample, &config).unwrap();
        let again = bootstrap_mean(&sample, &config).unwrap();
        let other = bootstrap_mean(&sample, &BootstrapConfig { seed: 7, ..config }).unwrap();
        assert_eq!(first, again);
        assert_ne!(first.ci, other.ci);
        assert!(first.ci.contains(first.estimate));
    }

    #[test]
    fn jackknife_leaves_each_row_out_once() {
        let sample = [1.0, 2.0, 4.0, 8.0];
        let values = jackknife_values(4, |keep| keep.iter().map(|&i| sample[i]).sum());
        assert_eq!(values, vec![14.0, 13.0, 11.0, 7.0]);
    }

    #[test]
    fn a_clear_shift_has_a_small_paired_p_value() {
        let control: Vec<f64> = (0..30).map(|i| (i % 7) as f64).collect();
        let treated: Vec<f64> = control
            .iter()
            .enumerate()
            .map(|(i, c)| c + 1.0 + (i % 3) as f64 * 0.1)
            .collect();
        let result =
            paired_bootstrap_difference(&treated, &control, &BootstrapConfig::default()).unwrap();
        assert!(result.p_value < 0.01, "{result:?}");
        assert!(result.difference.ci.lower > 0.9);
    }

    #[test]
    fn bad_settings_are_errors_not_panics() {
        let config = BootstrapConfig {
            confidence_level: 1.5,
            ..BootstrapConfig::default()
        };
        assert!(bootstrap_mean(&[1.0, 2.0, 3.0], &config).is_err());
        assert!(bootstrap_mean(&[1.0], &BootstrapConfig::default()).is_err());
        assert!(bootstrap_mean(&[1.0, f64::NAN], &BootstrapConfig::default()).is_err());
    }
}
