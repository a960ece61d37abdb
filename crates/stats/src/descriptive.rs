//! Descriptive statistics and ranks: the building blocks of the tests and intervals.
//!
//! Conventions follow numpy/scipy so numbers can be compared with them: [`variance`] divides by
//! `n - 1`, [`quantile`] interpolates linearly between order statistics (numpy's default
//! `method="linear"`), [`average_ranks`] gives tied values the mean of their ranks (scipy's
//! `rankdata(method="average")`). These functions do not validate their input: NaN in, NaN out.

/// Arithmetic mean; NaN for an empty slice.
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    // Pairwise-free but compensated summation keeps the mean exact enough for the 1e-12
    // comparisons against numpy on our fixtures.
    let mut sum = 0.0;
    let mut compensation = 0.0;
    for &value in values {
        let y = value - compensation;
        let t = sum + y;
        compensation = (t - sum) - y;
        sum = t;
    }
    sum / values.len() as f64
}

/// Sample variance with `n - 1` in the denominator (numpy `ddof=1`); NaN for fewer than two values.
pub fn variance(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return f64::NAN;
    }
    let center = mean(values);
    let sum_of_squares: f64 = values.iter().map(|value| (value - center).powi(2)).sum();
    sum_of_squares / (values.len() - 1) as f64
}

/// Sample standard deviation (`ddof=1`).
pub fn std_dev(values: &[f64]) -> f64 {
    variance(values).sqrt()
}

/// The `q`-quantile (`q` in [0, 1]) with linear interpolation between order statistics, as
/// `numpy.quantile(values, q)`. Sorts a copy; NaN for an empty slice.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    quantile_sorted(&sorted, q)
}

/// [`quantile`] of an already sorted slice (no copy).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    let q = q.clamp(0.0, 1.0);
    let position = q * (sorted.len() - 1) as f64;
    let lower = position.floor() as usize;
    let upper = position.ceil() as usize;
    let fraction = position - lower as f64;
    // numpy's `_lerp`: a + (b - a) * t, switching to b - (b - a) * (1 - t) for t >= 0.5 so
    // the result is exact at both ends.
    let (a, b) = (sorted[lower], sorted[upper]);
    let difference = b - a;
    if fraction >= 0.5 {
        b - difference * (1.0 - fraction)
    } else {
        a + difference * fraction
    }
}

/// The median (the 0.5 quantile).
pub fn median(values: &[f64]) -> f64 {
    quantile(values, 0.5)
}

/// Ranks of `values` (1-based), ties receiving the average of the ranks they span, plus the
/// sizes of the tie groups (groups of one included). NaN values must be removed by the caller.
pub fn average_ranks(values: &[f64]) -> (Vec<f64>, Vec<usize>) {
    // (value, index) pairs sorted in place (contiguous comparisons, no indirection). Ties are
    // averaged, so the order among equal values does not matter: an unstable sort is fine.
    let mut order: Vec<(f64, usize)> = values.iter().copied().zip(0..).collect();
    order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let mut ranks = vec![0.0; values.len()];
    let mut groups = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && order[end].0 == order[start].0 {
            end += 1;
        }
        // Ranks start..end (0-based) -> average of (start+1)..=end.
        let rank = (start + 1 + end) as f64 / 2.0;
        for &(_, index) in &order[start..end] {
            ranks[index] = rank;
        }
        groups.push(end - start);
        start = end;
    }
    (ranks, groups)
}

/// `sum(t^3 - t)` over tie groups: the tie correction shared by the rank tests.
pub(crate) fn tie_term(groups: &[usize]) -> f64 {
    groups
        .iter()
        .map(|&size| {
            let t = size as f64;
            t * t * t - t
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_matches_numpy_linear_interpolation() {
        let values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        // numpy.quantile([3,1,4,1,5,9,2,6], [0, .1, .25, .5, .9, 1])
        assert_eq!(quantile(&values, 0.0), 1.0);
        assert!((quantile(&values, 0.1) - 1.0).abs() < 1e-12);
        assert!((quantile(&values, 0.25) - 1.75).abs() < 1e-12);
        assert!((quantile(&values, 0.5) - 3.5).abs() < 1e-12);
        assert!((quantile(&values, 0.9) - 6.9).abs() < 1e-12);
        assert_eq!(quantile(&values, 1.0), 9.0);
    }

    #[test]
    fn ties_share_the_average_rank() {
        let (ranks, groups) = average_ranks(&[3.0, 2.0, 1.0, 2.0, 2.0, 2.0, 1.0]);
        assert_eq!(ranks, vec![7.0, 4.5, 1.5, 4.5, 4.5, 4.5, 1.5]);
        assert_eq!(groups, vec![2, 4, 1]);
        assert_eq!(tie_term(&groups), 6.0 + 60.0);
    }

    #[test]
    fn variance_uses_n_minus_one() {
        assert!((variance(&[1.0, 2.0, 3.0, 4.0]) - 5.0 / 3.0).abs() < 1e-15);
        assert!(variance(&[1.0]).is_nan());
    }
}
