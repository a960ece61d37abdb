//! Rank tests: Wilcoxon signed-rank (paired) and Mann-Whitney U (unpaired).
//!
//! Both reproduce scipy 1.15 with its default arguments, decision rules included:
//! - [`wilcoxon`] = `scipy.stats.wilcoxon(x, y)`, i.e. `zero_method="wilcox"` (zero differences
//!   are dropped), `correction=False`, `method="auto"`: the exact null distribution when
//!   n ≤ 50 and there are no ties and no zeros; with ties or zeros and n ≤ 13, all 2ⁿ sign flips
//!   are enumerated (scipy's deterministic `PermutationMethod`); otherwise the normal
//!   approximation with the tie correction `Σ(t³ - t)/48`. The statistic is
//!   `min(R+, R-)` for two-sided tests and `R+` otherwise. [`WilcoxonOptions`] exposes the other
//!   scipy choices (`pratt`, `zsplit`, continuity correction, forced method).
//! - [`mann_whitney_u`] = `scipy.stats.mannwhitneyu(x, y)`: `use_continuity=True`,
//!   `method="auto"`: exact when either sample has at most 8 values and there are no ties, else
//!   the tie-corrected normal approximation. The statistic is U₁, the U of the first sample.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::descriptive::{average_ranks, tie_term};
use crate::error::{Result, StatsError, check_finite, check_len, check_paired};
use crate::types::{Alternative, PValueMethod, TestResult};

/// How zero differences enter the Wilcoxon test (scipy's `zero_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZeroMethod {
    /// Drop zero differences before ranking (scipy's default).
    #[default]
    Wilcox,
    /// Rank zeros with the rest, then drop them (Pratt 1959).
    Pratt,
    /// Rank zeros with the rest and split their ranks between R+ and R-.
    Zsplit,
}

/// Which null distribution to use (scipy's `method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestMethod {
    /// scipy's `"auto"` rule (see the module documentation).
    #[default]
    Auto,
    Exact,
    Asymptotic,
}

/// Options of [`wilcoxon_with`]; the default is scipy's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WilcoxonOptions {
    pub zero_method: ZeroMethod,
    /// Continuity correction of the normal approximation (scipy default `false`).
    pub correction: bool,
    pub alternative: Alternative,
    pub method: TestMethod,
}

/// Wilcoxon signed-rank test of `first - second` with scipy's defaults.
pub fn wilcoxon(first: &[f64], second: &[f64]) -> Result<TestResult> {
    wilcoxon_with(first, second, &WilcoxonOptions::default())
}

/// Wilcoxon signed-rank test of `first - second`.
pub fn wilcoxon_with(
    first: &[f64],
    second: &[f64],
    options: &WilcoxonOptions,
) -> Result<TestResult> {
    check_paired("wilcoxon", first, second)?;
    let differences: Vec<f64> = first.iter().zip(second).map(|(a, b)| a - b).collect();
    wilcoxon_differences(&differences, options)
}

struct SignedRanks {
    r_plus: f64,
    r_minus: f64,
    /// Standard deviation of R+ under the null.
    se: f64,
    /// Mean of R+ under the null.
    mean: f64,
    count: usize,
    has_ties: bool,
}

fn signed_ranks(differences: &[f64], zero_method: ZeroMethod) -> SignedRanks {
    let kept: Vec<f64> = match zero_method {
        ZeroMethod::Wilcox => differences.iter().copied().filter(|&d| d != 0.0).collect(),
        ZeroMethod::Pratt | ZeroMethod::Zsplit => differences.to_vec(),
    };
    let absolute: Vec<f64> = kept.iter().map(|d| d.abs()).collect();
    let (ranks, groups) = average_ranks(&absolute);
    let (mut r_plus, mut r_minus, mut r_zero) = (0.0, 0.0, 0.0);
    for (d, rank) in kept.iter().zip(&ranks) {
        if *d > 0.0 {
            r_plus += rank;
        } else if *d < 0.0 {
            r_minus += rank;
        } else {
            r_zero += rank;
        }
    }
    if zero_method == ZeroMethod::Zsplit {
        r_plus += r_zero / 2.0;
        r_minus += r_zero / 2.0;
    }
    let count = kept.len() as f64;
    let mut mean = count * (count + 1.0) * 0.25;
    let mut variance = count * (count + 1.0) * (2.0 * count + 1.0);
    let n_zero = kept.iter().filter(|&&d| d == 0.0).count();
    let mut tie_groups = groups.clone();
    if zero_method == ZeroMethod::Pratt && n_zero > 0 {
        let z = n_zero as f64;
        mean -= z * (z + 1.0) * 0.25;
        variance -= z * (z + 1.0) * (2.0 * z + 1.0);
        // Zeros are the smallest |d|, hence the first tie group; they leave the tie correction.
        tie_groups.remove(0);
    }
    variance -= tie_term(&tie_groups) / 2.0;
    SignedRanks {
        r_plus,
        r_minus,
        se: (variance / 24.0).sqrt(),
        mean,
        count: kept.len(),
        has_ties: groups.iter().any(|&size| size > 1),
    }
}

/// Wilcoxon signed-rank test of one sample of differences (against a zero median).
pub fn wilcoxon_differences(differences: &[f64], options: &WilcoxonOptions) -> Result<TestResult> {
    check_finite("wilcoxon", differences)?;
    check_len("wilcoxon", differences, 1)?;
    let n_zero = differences.iter().filter(|&&d| d == 0.0).count();
    let ranks = signed_ranks(differences, options.zero_method);
    if ranks.count == 0 || ranks.se == 0.0 && options.method != TestMethod::Exact {
        return Err(StatsError::Undefined {
            what: "the Wilcoxon signed-rank test",
            reason: "every difference is zero",
        });
    }
    enum Chosen {
        Exact,
        Permutation,
        Asymptotic,
    }
    let chosen = match options.method {
        TestMethod::Exact => Chosen::Exact,
        TestMethod::Asymptotic => Chosen::Asymptotic,
        TestMethod::Auto if differences.len() > 50 => Chosen::Asymptotic,
        TestMethod::Auto if !(ranks.has_ties || n_zero > 0) => Chosen::Exact,
        TestMethod::Auto if differences.len() <= 13 => Chosen::Permutation,
        TestMethod::Auto => Chosen::Asymptotic,
    };
    let statistic = match options.alternative {
        Alternative::TwoSided => ranks.r_plus.min(ranks.r_minus),
        _ => ranks.r_plus,
    };
    let (p_value, z, method) = match chosen {
        Chosen::Asymptotic => {
            let mut z = (ranks.r_plus - ranks.mean) / ranks.se;
            if options.correction {
                let sign = match options.alternative {
                    Alternative::Greater => 1.0,
                    Alternative::Less => -1.0,
                    Alternative::TwoSided => z.signum() * (z != 0.0) as u8 as f64,
                };
                z -= sign * 0.5 / ranks.se;
            }
            let p = normal_p_value(z, options.alternative);
            let reported = match options.alternative {
                Alternative::TwoSided => -z.abs(),
                _ => z,
            };
            (p, Some(reported), PValueMethod::Asymptotic)
        }
        Chosen::Exact => {
            let distribution = signed_rank_distribution(ranks.count);
            let cdf = |k: f64| -> f64 {
                let k = k.ceil();
                if k < 0.0 {
                    return 0.0;
                }
                distribution.iter().take(k as usize + 1).sum::<f64>()
            };
            let sf = |k: f64| -> f64 {
                let k = k.floor().max(0.0) as usize;
                distribution.iter().skip(k).sum::<f64>()
            };
            let p = match options.alternative {
                Alternative::Less => cdf(ranks.r_plus),
                Alternative::Greater => sf(ranks.r_plus),
                Alternative::TwoSided => {
                    (2.0 * sf(ranks.r_plus).min(cdf(ranks.r_plus))).clamp(0.0, 1.0)
                }
            };
            (p, None, PValueMethod::Exact)
        }
        Chosen::Permutation => {
            let p = sign_flip_p_value(
                differences,
                options.zero_method,
                ranks.r_plus,
                options.alternative,
            );
            (p, None, PValueMethod::ExhaustivePermutation)
        }
    };
    Ok(TestResult {
        statistic,
        p_value,
        z,
        n: ranks.count,
        method,
        alternative: options.alternative,
    })
}

/// Probability mass of the signed-rank statistic R+ for n untied, non-zero differences.
fn signed_rank_distribution(n: usize) -> Vec<f64> {
    let max = n * (n + 1) / 2;
    let mut counts = vec![0.0f64; max + 1];
    counts[0] = 1.0;
    for rank in 1..=n {
        for sum in (rank..=max).rev() {
            counts[sum] += counts[sum - rank];
        }
    }
    let total = 2f64.powi(n as i32);
    counts.iter().map(|count| count / total).collect()
}

/// scipy's `permutation_test(..., permutation_type="samples")` on one sample: every sign
/// assignment of the differences, the statistic R+ recomputed for each.
fn sign_flip_p_value(
    differences: &[f64],
    zero_method: ZeroMethod,
    observed: f64,
    alternative: Alternative,
) -> f64 {
    let n = differences.len();
    let mut flipped = differences.to_vec();
    let mut null = Vec::with_capacity(1 << n);
    for mask in 0u32..(1u32 << n) {
        for (bit, (slot, &d)) in flipped.iter_mut().zip(differences).enumerate() {
            *slot = if mask & (1 << bit) != 0 { -d } else { d };
        }
        null.push(signed_ranks(&flipped, zero_method).r_plus);
    }
    // scipy compares with a relative tolerance so ties in the null are counted as ties.
    let gamma = (observed * f64::EPSILON * 100.0).abs();
    let total = null.len() as f64;
    let less = null
        .iter()
        .filter(|&&value| value <= observed + gamma)
        .count() as f64
        / total;
    let greater = null
        .iter()
        .filter(|&&value| value >= observed - gamma)
        .count() as f64
        / total;
    let p = match alternative {
        Alternative::Less => less,
        Alternative::Greater => greater,
        Alternative::TwoSided => 2.0 * less.min(greater),
    };
    p.clamp(0.0, 1.0)
}

fn normal_p_value(z: f64, alternative: Alternative) -> f64 {
    let normal = Normal::standard();
    match alternative {
        Alternative::Less => normal.cdf(z),
        Alternative::Greater => normal.sf(z),
        Alternative::TwoSided => (2.0 * normal.sf(z.abs())).min(1.0),
    }
}

/// Mann-Whitney U test of `first` against `second` with scipy's defaults.
pub fn mann_whitney_u(first: &[f64], second: &[f64]) -> Result<TestResult> {
    mann_whitney_u_with(first, second, Alternative::TwoSided, TestMethod::Auto, true)
}

/// Mann-Whitney U test with explicit alternative, method and continuity correction.
pub fn mann_whitney_u_with(
    first: &[f64],
    second: &[f64],
    alternative: Alternative,
    method: TestMethod,
    use_continuity: bool,
) -> Result<TestResult> {
    check_len("mann-whitney u (first sample)", first, 1)?;
    check_len("mann-whitney u (second sample)", second, 1)?;
    check_finite("mann-whitney u (first sample)", first)?;
    check_finite("mann-whitney u (second sample)", second)?;
    let (n1, n2) = (first.len(), second.len());
    let combined: Vec<f64> = first.iter().chain(second).copied().collect();
    let (ranks, groups) = average_ranks(&combined);
    let r1: f64 = ranks[..n1].iter().sum();
    let u1 = r1 - (n1 * (n1 + 1)) as f64 / 2.0;
    let u2 = (n1 * n2) as f64 - u1;
    let (u, factor) = match alternative {
        Alternative::Greater => (u1, 1.0),
        Alternative::Less => (u2, 1.0),
        Alternative::TwoSided => (u1.max(u2), 2.0),
    };
    let has_ties = groups.iter().any(|&size| size > 1);
    let exact = match method {
        TestMethod::Exact => true,
        TestMethod::Asymptotic => false,
        TestMethod::Auto => (n1 <= 8 || n2 <= 8) && !has_ties,
    };
    let (p, z, used) = if exact {
        (u_survival(u as usize, n1, n2), None, PValueMethod::Exact)
    } else {
        let n = (n1 + n2) as f64;
        let (a, b) = (n1 as f64, n2 as f64);
        let s = (a * b / 12.0 * ((n + 1.0) - tie_term(&groups) / (n * (n - 1.0)))).sqrt();
        let mut numerator = u - a * b / 2.0;
        if use_continuity {
            numerator -= 0.5;
        }
        let z = numerator / s;
        (Normal::standard().sf(z), Some(z), PValueMethod::Asymptotic)
    };
    Ok(TestResult {
        statistic: u1,
        p_value: (p * factor).clamp(0.0, 1.0),
        z,
        n: n1 + n2,
        method: used,
        alternative,
    })
}

/// P(U ≥ u) under the null for sample sizes n1, n2 without ties: the coefficients of the
/// Gaussian binomial coefficient [n1 + n2 choose n1]_q, built by multiplying and dividing
/// polynomials in q (Andrews), normalised by their sum.
fn u_survival(u: usize, n1: usize, n2: usize) -> f64 {
    let (small, large) = (n1.min(n2), n1.max(n2));
    let max = small * large;
    let mut coefficients = vec![0.0f64; max + 1];
    coefficients[0] = 1.0;
    for i in 1..=small {
        // Multiply by (1 - q^(large + i)) ...
        let shift = large + i;
        for k in (shift..=max).rev() {
            coefficients[k] -= coefficients[k - shift];
        }
        // ... and divide by (1 - q^i): c[k] += c[k - i] going up.
        for k in i..=max {
            coefficients[k] += coefficients[k - i];
        }
    }
    let total: f64 = coefficients.iter().sum();
    if u > max {
        return 0.0;
    }
    coefficients[u..].iter().sum::<f64>() / total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_rank_distribution_sums_to_one_and_is_symmetric() {
        let distribution = signed_rank_distribution(10);
        assert!((distribution.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let last = distribution.len() - 1;
        for k in 0..=last {
            assert!((distribution[k] - distribution[last - k]).abs() < 1e-15);
        }
    }

    #[test]
    fn u_distribution_matches_enumeration_for_tiny_samples() {
        // n1 = 2, n2 = 3: U takes 0..=6 with counts 1,1,2,2,2,1,1 over C(5,2) = 10.
        let expected_sf = [10.0, 9.0, 8.0, 6.0, 4.0, 2.0, 1.0];
        for (u, count) in expected_sf.iter().enumerate() {
            assert!(
                (u_survival(u, 2, 3) - count / 10.0).abs() < 1e-15,
                "u = {u}"
            );
        }
    }

    #[test]
    fn all_zero_differences_are_an_error() {
        assert!(wilcoxon(&[1.0, 2.0], &[1.0, 2.0]).is_err());
    }
}
