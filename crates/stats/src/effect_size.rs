//! Effect sizes: Cliff's delta and Cohen's d (unpaired, and the paired d_z).
//!
//! Neither exists in scipy; the reference script computes them from their definitions with
//! numpy (and Cliff's delta also as `2 U₁ / (n₁ n₂) - 1` from scipy's Mann-Whitney U).

use statrs::distribution::{ContinuousCDF, Normal};

use crate::descriptive::{mean, std_dev, variance};
use crate::error::{Result, StatsError, check_confidence, check_finite, check_len, check_paired};
use crate::types::{ConfidenceInterval, EffectSize};

fn normal_interval(estimate: f64, standard_error: f64, level: f64) -> ConfidenceInterval {
    let z = Normal::standard().inverse_cdf(0.5 + level / 2.0);
    ConfidenceInterval {
        lower: estimate - z * standard_error,
        upper: estimate + z * standard_error,
        level,
    }
}

/// Cliff's delta: `P(x > y) - P(x < y)` over all pairs of one value from each sample, in
/// [-1, 1]; ties count as neither. O((n + m) log m).
///
/// The standard error is Cliff's (1993) unbiased consistent variance estimate; the interval is
/// his asymmetric one, `(δ - δ³ ± z s √((1 - δ²)² + z² s²)) / (1 - δ² + z² s²)`.
pub fn cliffs_delta(first: &[f64], second: &[f64], confidence_level: f64) -> Result<EffectSize> {
    check_len("cliff's delta (first sample)", first, 2)?;
    check_len("cliff's delta (second sample)", second, 2)?;
    check_finite("cliff's delta (first sample)", first)?;
    check_finite("cliff's delta (second sample)", second)?;
    check_confidence(confidence_level)?;
    let mut sorted_second = second.to_vec();
    sorted_second.sort_by(f64::total_cmp);
    let (n, m) = (first.len() as f64, second.len() as f64);
    // Dominance d_ij = sign(x_i - y_j); its row means (over j) and column means (over i).
    let mut row_means = Vec::with_capacity(first.len());
    for &x in first {
        let below = sorted_second.partition_point(|&y| y < x) as f64;
        let at_or_below = sorted_second.partition_point(|&y| y <= x) as f64;
        let above = m - at_or_below;
        row_means.push((below - above) / m);
    }
    let mut sorted_first = first.to_vec();
    sorted_first.sort_by(f64::total_cmp);
    let mut column_means = Vec::with_capacity(second.len());
    for &y in second {
        let below = sorted_first.partition_point(|&x| x < y) as f64;
        let at_or_below = sorted_first.partition_point(|&x| x <= y) as f64;
        let above = n - at_or_below;
        column_means.push((above - below) / n);
    }
    let delta = mean(&row_means);
    // Σ_ij (d_ij - δ)² = Σ_ij d_ij² - nm δ², and d_ij² = 1 unless tied.
    let ties: f64 = first
        .iter()
        .map(|&x| {
            (sorted_second.partition_point(|&y| y <= x) - sorted_second.partition_point(|&y| y < x))
                as f64
        })
        .sum();
    let sum_squares = (n * m - ties) - n * m * delta * delta;
    // Cliff (1993): s² = (m² Σᵢ(dᵢ. - δ)² + n² Σⱼ(d.ⱼ - δ)² - ΣΣ(dᵢⱼ - δ)²) / (nm(n-1)(m-1)).
    let rows: f64 = row_means.iter().map(|d| (d - delta).powi(2)).sum();
    let columns: f64 = column_means.iter().map(|d| (d - delta).powi(2)).sum();
    let variance = ((m * m * rows + n * n * columns - sum_squares)
        / (n * m * (n - 1.0) * (m - 1.0)))
        .max(f64::MIN_POSITIVE);
    let standard_error = variance.sqrt();
    let z = Normal::standard().inverse_cdf(0.5 + confidence_level / 2.0);
    let ci = if delta.abs() == 1.0 {
        // Cliff's interval degenerates at the boundary: fall back to the normal one, clipped.
        let interval = normal_interval(delta, standard_error, confidence_level);
        ConfidenceInterval {
            lower: interval.lower.max(-1.0),
            upper: interval.upper.min(1.0),
            level: confidence_level,
        }
    } else {
        let d2 = delta * delta;
        let zs = z * standard_error;
        let root = zs * ((1.0 - d2).powi(2) + zs * zs).sqrt();
        let denominator = 1.0 - d2 + zs * zs;
        ConfidenceInterval {
            lower: (delta - delta * d2 - root) / denominator,
            upper: (delta - delta * d2 + root) / denominator,
            level: confidence_level,
        }
    };
    Ok(EffectSize {
        estimate: delta,
        standard_error,
        ci,
        n: first.len() + second.len(),
    })
}

/// Cohen's d for two independent samples: `(mean(first) - mean(second)) / s_pooled`, with
/// `s_pooled² = ((n₁-1) s₁² + (n₂-1) s₂²) / (n₁ + n₂ - 2)` (sample variances, `ddof=1`).
///
/// Standard error `√((n₁+n₂)/(n₁n₂) + d²/(2(n₁+n₂)))` (Hedges & Olkin), normal interval.
pub fn cohens_d(first: &[f64], second: &[f64], confidence_level: f64) -> Result<EffectSize> {
    check_len("cohen's d (first sample)", first, 2)?;
    check_len("cohen's d (second sample)", second, 2)?;
    check_finite("cohen's d (first sample)", first)?;
    check_finite("cohen's d (second sample)", second)?;
    check_confidence(confidence_level)?;
    let (n1, n2) = (first.len() as f64, second.len() as f64);
    let pooled =
        (((n1 - 1.0) * variance(first) + (n2 - 1.0) * variance(second)) / (n1 + n2 - 2.0)).sqrt();
    if pooled == 0.0 {
        return Err(StatsError::Undefined {
            what: "cohen's d",
            reason: "both samples are constant (pooled standard deviation is zero)",
        });
    }
    let d = (mean(first) - mean(second)) / pooled;
    let standard_error = ((n1 + n2) / (n1 * n2) + d * d / (2.0 * (n1 + n2))).sqrt();
    Ok(EffectSize {
        estimate: d,
        standard_error,
        ci: normal_interval(d, standard_error, confidence_level),
        n: first.len() + second.len(),
    })
}

/// Cohen's d_z for paired samples: `mean(d) / sd(d)` with `d = treated - control` (`ddof=1`).
/// This is the standardized mean difference that the paired t-test uses; it is not comparable
/// with the unpaired d when the pairs are correlated.
///
/// Standard error `√(1/n + d_z²/(2n))`, normal interval.
pub fn cohens_d_paired(
    treated: &[f64],
    control: &[f64],
    confidence_level: f64,
) -> Result<EffectSize> {
    check_paired("paired cohen's d", treated, control)?;
    let differences: Vec<f64> = treated.iter().zip(control).map(|(t, c)| t - c).collect();
    check_len("paired cohen's d", &differences, 2)?;
    check_finite("paired cohen's d", &differences)?;
    check_confidence(confidence_level)?;
    let spread = std_dev(&differences);
    if spread == 0.0 {
        return Err(StatsError::Undefined {
            what: "paired cohen's d",
            reason: "every difference is the same (standard deviation is zero)",
        });
    }
    let n = differences.len() as f64;
    let d = mean(&differences) / spread;
    let standard_error = (1.0 / n + d * d / (2.0 * n)).sqrt();
    Ok(EffectSize {
        estimate: d,
        standard_error,
        ci: normal_interval(d, standard_error, confidence_level),
        n: differences.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_dominance_gives_delta_one() {
        let result = cliffs_delta(&[5.0, 6.0, 7.0], &[1.0, 2.0], 0.95).unwrap();
        assert_eq!(result.estimate, 1.0);
        assert!(result.ci.upper <= 1.0);
    }

    #[test]
    fn cliffs_delta_counts_ties_as_neither() {
        // pairs: (1,1)=0 (1,2)=- (2,1)=+ (2,2)=0 -> 0
        assert_eq!(
            cliffs_delta(&[1.0, 2.0], &[1.0, 2.0], 0.95)
                .unwrap()
                .estimate,
            0.0
        );
        // (3>1)(3>2)(1=1)(1<2) -> (2 - 1)/4
        assert_eq!(
            cliffs_delta(&[3.0, 1.0], &[1.0, 2.0], 0.95)
                .unwrap()
                .estimate,
            0.25
        );
    }

    #[test]
    fn constant_samples_have_no_cohens_d() {
        assert!(cohens_d(&[1.0, 1.0], &[1.0, 1.0], 0.95).is_err());
        assert!(cohens_d_paired(&[2.0, 3.0], &[1.0, 2.0], 0.95).is_err());
    }
}
