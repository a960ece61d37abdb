//! Correlation coefficients with p-values: Pearson, Spearman and Kendall's tau-b.
//!
//! Each reproduces the scipy 1.15 function of the same name with default arguments
//! (two-sided): `pearsonr` (p from the exact null distribution of r under normality, a beta
//! distribution, here as the equivalent regularized incomplete beta `I_{1-r²}(df/2, 1/2)`;
//! Fisher-z interval as `PearsonRResult.confidence_interval()`), `spearmanr` (Pearson on
//! average ranks, p from Student's t with n - 2 degrees of freedom, the same formula), and
//! `kendalltau` (tau-b; exact p-value when there are no ties and n ≤ 33 or the data are at most
//! one swap from perfectly ordered, otherwise the tie-corrected normal approximation). Kendall's
//! tau uses Knight's O(n log n) algorithm, so it is usable on 100k-row tables.

use statrs::distribution::{ContinuousCDF, Normal};
use statrs::function::beta::beta_reg;

use crate::descriptive::{average_ranks, mean};
use crate::error::{Result, StatsError, check_confidence, check_finite, check_len, check_paired};
use crate::types::{ConfidenceInterval, Correlation, PValueMethod};

fn check_inputs(what: &'static str, x: &[f64], y: &[f64], needed: usize) -> Result<()> {
    check_paired(what, x, y)?;
    check_len(what, x, needed)?;
    check_finite(what, x)?;
    check_finite(what, y)
}

/// Pearson's r of two equally long samples (no validation; NaN if either is constant).
fn pearson_coefficient(x: &[f64], y: &[f64]) -> f64 {
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    (sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0)
}

/// Two-sided p-value of a correlation coefficient under the t / beta null with `n - 2` df.
fn correlation_p_value(r: f64, n: usize) -> f64 {
    let df = (n - 2) as f64;
    let one_minus_r2 = (1.0 - r * r).max(0.0);
    if one_minus_r2 == 0.0 {
        return 0.0;
    }
    beta_reg(df / 2.0, 0.5, one_minus_r2).clamp(0.0, 1.0)
}

fn constant_error(what: &'static str) -> StatsError {
    StatsError::Undefined {
        what,
        reason: "one of the samples is constant",
    }
}

/// Pearson's product-moment correlation with its two-sided p-value and a Fisher-z interval at
/// `confidence_level` (defined for n > 3).
pub fn pearson(x: &[f64], y: &[f64], confidence_level: f64) -> Result<Correlation> {
    check_inputs("pearson correlation", x, y, 3)?;
    check_confidence(confidence_level)?;
    let r = pearson_coefficient(x, y);
    if r.is_nan() {
        return Err(constant_error("pearson correlation"));
    }
    let n = x.len();
    let ci = (n > 3).then(|| {
        let z = Normal::standard().inverse_cdf(0.5 + confidence_level / 2.0);
        let center = r.atanh();
        let se = 1.0 / ((n - 3) as f64).sqrt();
        ConfidenceInterval {
            lower: (center - z * se).tanh(),
            upper: (center + z * se).tanh(),
            level: confidence_level,
        }
    });
    Ok(Correlation {
        coefficient: r,
        p_value: correlation_p_value(r, n),
        n,
        method: PValueMethod::Exact,
        ci,
    })
}

/// Spearman's rank correlation (average ranks for ties) with its two-sided p-value.
pub fn spearman(x: &[f64], y: &[f64]) -> Result<Correlation> {
    check_inputs("spearman correlation", x, y, 3)?;
    let (rx, _) = average_ranks(x);
    let (ry, _) = average_ranks(y);
    let r = pearson_coefficient(&rx, &ry);
    if r.is_nan() {
        return Err(constant_error("spearman correlation"));
    }
    Ok(Correlation {
        coefficient: r,
        p_value: correlation_p_value(r, x.len()),
        n: x.len(),
        method: PValueMethod::Asymptotic,
        ci: None,
    })
}

/// Counts inversions (pairs i < j with values[i] > values[j]) by merge sort, sorting in place.
fn count_inversions(values: &mut [usize], buffer: &mut [usize]) -> u64 {
    let n = values.len();
    if n < 2 {
        return 0;
    }
    let middle = n / 2;
    let mut count = {
        let (left, right) = values.split_at_mut(middle);
        count_inversions(left, &mut buffer[..middle])
            + count_inversions(right, &mut buffer[middle..])
    };
    let (mut i, mut j, mut k) = (0, middle, 0);
    while i < middle && j < n {
        if values[i] <= values[j] {
            buffer[k] = values[i];
            i += 1;
        } else {
            buffer[k] = values[j];
            count += (middle - i) as u64;
            j += 1;
        }
        k += 1;
    }
    buffer[k..k + middle - i].copy_from_slice(&values[i..middle]);
    k += middle - i;
    buffer[k..k + n - j].copy_from_slice(&values[j..n]);
    values.copy_from_slice(&buffer[..n]);
    count
}

/// Dense ranks (1, 2, ...) of `values` in the order given by `order`.
fn dense_ranks_in(values: &[f64], order: &[usize]) -> Vec<usize> {
    let mut ranks = vec![0usize; values.len()];
    let mut rank = 0;
    for (position, &index) in order.iter().enumerate() {
        if position == 0 || values[index] != values[order[position - 1]] {
            rank += 1;
        }
        ranks[index] = rank;
    }
    ranks
}

/// (Σ t(t-1)/2, Σ t(t-1)(t-2), Σ t(t-1)(2t+5)) over tie groups of dense ranks.
fn tie_sums(ranks: &[usize]) -> (u64, f64, f64) {
    let max = ranks.iter().copied().max().unwrap_or(0);
    let mut counts = vec![0u64; max + 1];
    for &rank in ranks {
        counts[rank] += 1;
    }
    let (mut pairs, mut second, mut third) = (0u64, 0.0, 0.0);
    for &t in counts.iter().filter(|&&t| t > 1) {
        pairs += t * (t - 1) / 2;
        let t = t as f64;
        second += t * (t - 1.0) * (t - 2.0);
        third += t * (t - 1.0) * (2.0 * t + 5.0);
    }
    (pairs, second, third)
}

/// Kendall's tau-b with its two-sided p-value (scipy's `method="auto"`).
pub fn kendall(x: &[f64], y: &[f64]) -> Result<Correlation> {
    check_inputs("kendall correlation", x, y, 2)?;
    let n = x.len();
    let mut by_y: Vec<usize> = (0..n).collect();
    // IEEE order (not total_cmp): -0.0 and 0.0 are the same value and must share a rank.
    let order = |a: f64, b: f64| a.partial_cmp(&b).expect("validated finite");
    by_y.sort_by(|&a, &b| order(y[a], y[b]));
    let y_rank = dense_ranks_in(y, &by_y);
    let mut by_x: Vec<usize> = (0..n).collect();
    by_x.sort_by(|&a, &b| order(x[a], x[b]).then(y_rank[a].cmp(&y_rank[b])));
    let x_rank = dense_ranks_in(x, &by_x);

    // Joint ties: runs of equal (x, y) in the (x, y)-sorted order.
    let mut joint_ties = 0u64;
    let mut run = 1u64;
    for window in by_x.windows(2) {
        if x_rank[window[0]] == x_rank[window[1]] && y_rank[window[0]] == y_rank[window[1]] {
            run += 1;
        } else {
            joint_ties += run * (run - 1) / 2;
            run = 1;
        }
    }
    joint_ties += run * (run - 1) / 2;

    let mut y_in_x_order: Vec<usize> = by_x.iter().map(|&index| y_rank[index]).collect();
    let mut buffer = vec![0usize; n];
    let discordant = count_inversions(&mut y_in_x_order, &mut buffer);
    let (x_ties, x0, x1) = tie_sums(&x_rank);
    let (y_ties, y0, y1) = tie_sums(&y_rank);
    let total = (n as u64) * (n as u64 - 1) / 2;
    if x_ties == total || y_ties == total {
        return Err(constant_error("kendall correlation"));
    }
    let concordant_minus_discordant =
        total as f64 - x_ties as f64 - y_ties as f64 + joint_ties as f64 - 2.0 * discordant as f64;
    let tau = (concordant_minus_discordant
        / ((total - x_ties) as f64).sqrt()
        / ((total - y_ties) as f64).sqrt())
    .clamp(-1.0, 1.0);

    let no_ties = x_ties == 0 && y_ties == 0;
    let exact = no_ties && (n <= 33 || discordant.min(total - discordant) <= 1);
    let (p_value, method) = if exact {
        (
            kendall_exact_p(n as u64, total - discordant),
            PValueMethod::Exact,
        )
    } else {
        let nf = n as f64;
        let m = nf * (nf - 1.0);
        let variance = (m * (2.0 * nf + 5.0) - x1 - y1) / 18.0
            + (2.0 * x_ties as f64 * y_ties as f64) / m
            + x0 * y0 / (9.0 * m * (nf - 2.0));
        let z = concordant_minus_discordant / variance.sqrt();
        (
            (2.0 * Normal::standard().sf(z.abs())).min(1.0),
            PValueMethod::Asymptotic,
        )
    };
    Ok(Correlation {
        coefficient: tau,
        p_value,
        n,
        method,
        ci: None,
    })
}

/// Two-sided exact p-value of Kendall's statistic for `n` untied pairs with `concordant`
/// concordant pairs (scipy's `_kendall_p_exact`).
fn kendall_exact_p(n: u64, concordant: u64) -> f64 {
    let half = n * (n - 1) / 2;
    let c = concordant.min(half - concordant);
    let factorial = |k: u64| (1..=k).fold(1.0f64, |product, i| product * i as f64);
    let probability = if n <= 2 {
        1.0
    } else if c == 0 {
        if n < 171 { 2.0 / factorial(n) } else { 0.0 }
    } else if c == 1 {
        if n < 172 { 2.0 / factorial(n - 1) } else { 0.0 }
    } else if 4 * c == n * (n - 1) {
        1.0
    } else {
        let c = c as usize;
        let mut counts = vec![0.0f64; c + 1];
        counts[0] = 1.0;
        counts[1] = 1.0;
        let large = n >= 171;
        for j in 3..=n as usize {
            let mut running = 0.0;
            for value in counts.iter_mut() {
                running += *value;
                *value = if large { running / j as f64 } else { running };
            }
            if j <= c {
                for k in (j..=c).rev() {
                    counts[k] -= counts[k - j];
                }
            }
        }
        if large {
            counts.iter().sum::<f64>()
        } else {
            2.0 * counts.iter().sum::<f64>() / factorial(n)
        }
    };
    probability.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inversions_are_counted_strictly() {
        let mut values = vec![3, 1, 2, 2];
        let mut buffer = vec![0; 4];
        assert_eq!(count_inversions(&mut values, &mut buffer), 3);
        assert_eq!(values, vec![1, 2, 2, 3]);
    }

    #[test]
    fn perfectly_ordered_data_has_tau_one() {
        let x: Vec<f64> = (0..10).map(f64::from).collect();
        let result = kendall(&x, &x).unwrap();
        // 45 / √45 / √45 rounds to 1 - 2⁻⁵³, exactly as in scipy.
        assert!((result.coefficient - 1.0).abs() < 1e-15);
        // Exact: 2 / 10!
        assert!((result.p_value - 2.0 / 3_628_800.0).abs() < 1e-18);
    }

    #[test]
    fn a_constant_sample_is_an_error() {
        assert!(kendall(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).is_err());
        assert!(pearson(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0], 0.95).is_err());
        assert!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).is_err());
    }
}
