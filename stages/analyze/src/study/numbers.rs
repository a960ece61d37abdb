//! Small numeric helpers of the study on top of `icodegen-stats`: labelled seeds, the bootstrap
//! interval of a mean (with the closed-form jackknife, so BCa stays O(n) per resample on large
//! tables), paired comparisons, and multiplicity adjustment of a family with gaps.

use icodegen_stats::{
    BootstrapConfig, IntervalMethod, Result as StatsResult, TestResult,
    bca_interval_from_jackknife, bootstrap_replicates, cohens_d_paired, descriptive,
    percentile_interval, wilcoxon,
};

use super::params::BootstrapParams;

/// A seed for one computation, derived from the study seed and labels naming what is computed
/// (model, concept, ...). Kept below 2^63 so it is stored exactly in an int64 column.
pub fn derive_seed(study_seed: u64, labels: &[&str]) -> u64 {
    let mut hasher = blake3::Hasher::new();
    for label in labels {
        hasher.update(label.as_bytes());
        hasher.update(&[0x1f]);
    }
    let bytes = hasher.finalize();
    let stream = u64::from_le_bytes(bytes.as_bytes()[..8].try_into().expect("8 bytes"));
    icodegen_causal::child_seed(study_seed, stream, 0) & (i64::MAX as u64)
}

/// A seed as stored in a table.
pub fn seed_column(seed: u64) -> i64 {
    i64::try_from(seed).expect("derived seeds are below 2^63")
}

/// The mean of a sample with its bootstrap interval, or the reason there is none.
#[derive(Debug, Clone, PartialEq)]
pub struct MeanInterval {
    pub n: usize,
    pub mean: f64,
    pub standard_error: Option<f64>,
    pub ci: Option<(f64, f64)>,
    /// Two-sided bootstrap p-value of a zero mean (for differences).
    pub p_value: Option<f64>,
    pub note: Option<String>,
}

/// The message shown instead of an interval computed from too few values.
pub fn too_few(n: usize, min_rows: usize, what: &str) -> String {
    format!("too few {what} (n = {n} < {min_rows}) for a meaningful interval")
}

/// Bootstraps the mean of `values` (seeded). No interval below `min_rows` values.
pub fn mean_interval(
    values: &[f64],
    params: &BootstrapParams,
    seed: u64,
    min_rows: usize,
    what: &str,
) -> MeanInterval {
    let n = values.len();
    let mean = if n == 0 {
        f64::NAN
    } else {
        descriptive::mean(values)
    };
    let mut result = MeanInterval {
        n,
        mean,
        standard_error: None,
        ci: None,
        p_value: None,
        note: None,
    };
    if n < min_rows.max(2) {
        result.note = Some(too_few(n, min_rows.max(2), what));
        return result;
    }
    if values.iter().all(|&value| value == values[0]) {
        result.standard_error = Some(0.0);
        result.ci = Some((mean, mean));
        result.p_value = Some(if mean == 0.0 { 1.0 } else { 0.0 });
        result.note = Some(format!("all {n} values are equal"));
        return result;
    }
    let replicates = bootstrap_replicates(values, descriptive::mean, params.resamples, seed);
    let percentile = || {
        let interval = percentile_interval(&replicates, params.confidence_level);
        (interval.lower, interval.upper)
    };
    let ci = match params.method {
        IntervalMethod::Percentile => percentile(),
        IntervalMethod::Bca => {
            // Jackknife of the mean in closed form: (sum - x_i) / (n - 1).
            let sum: f64 = values.iter().sum();
            let jackknife: Vec<f64> = values
                .iter()
                .map(|value| (sum - value) / (n - 1) as f64)
                .collect();
            let interval =
                bca_interval_from_jackknife(mean, &replicates, &jackknife, params.confidence_level);
            if interval.lower.is_finite() && interval.upper.is_finite() {
                (interval.lower, interval.upper)
            } else {
                result.note = Some("BCa undefined here; percentile interval".to_owned());
                percentile()
            }
        }
    };
    let resamples = replicates.len() as f64;
    let at_or_below = replicates.iter().filter(|&&value| value <= 0.0).count() as f64;
    let at_or_above = replicates.iter().filter(|&&value| value >= 0.0).count() as f64;
    let tail = (at_or_below.min(at_or_above) + 1.0) / (resamples + 1.0);
    result.standard_error = Some(descriptive::std_dev(&replicates));
    result.ci = Some(ci);
    result.p_value = Some((2.0 * tail).min(1.0));
    result
}

/// The value, or `None` with the reason noted.
fn keep<T>(result: StatsResult<T>, what: &str, notes: &mut Vec<String>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            notes.push(format!("{what}: {error}"));
            None
        }
    }
}

/// A paired comparison of `first - second` over the same units.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedComparison {
    pub n: usize,
    pub mean_first: Option<f64>,
    pub mean_second: Option<f64>,
    pub difference: MeanInterval,
    pub wilcoxon: Option<TestResult>,
    pub cohens_dz: Option<icodegen_stats::EffectSize>,
    /// Why a test is missing (too few pairs, all differences zero ...).
    pub notes: Vec<String>,
}

/// Compares two paired samples: bootstrap interval of the mean difference, Wilcoxon
/// signed-rank test and Cohen's d_z.
pub fn compare_paired(
    first: &[f64],
    second: &[f64],
    params: &BootstrapParams,
    seed: u64,
    min_pairs: usize,
) -> PairedComparison {
    let n = first.len();
    let differences: Vec<f64> = first.iter().zip(second).map(|(a, b)| a - b).collect();
    let difference = mean_interval(&differences, params, seed, min_pairs, "pairs");
    let mut notes = Vec::new();
    let (wilcoxon_result, cohens) = if n >= 2 {
        (
            keep(wilcoxon(first, second), "wilcoxon", &mut notes),
            keep(
                cohens_d_paired(first, second, params.confidence_level),
                "cohen's d_z",
                &mut notes,
            ),
        )
    } else {
        (None, None)
    };
    PairedComparison {
        n,
        mean_first: (n > 0).then(|| descriptive::mean(first)),
        mean_second: (n > 0).then(|| descriptive::mean(second)),
        difference,
        wilcoxon: wilcoxon_result,
        cohens_dz: cohens,
        notes,
    }
}

/// Holm and Benjamini-Hochberg adjustment of the present p-values of a family (missing ones
/// stay missing and do not count towards the family size).
pub fn adjust_family(p_values: &[Option<f64>]) -> (Vec<Option<f64>>, Vec<Option<f64>>) {
    let present: Vec<(usize, f64)> = p_values
        .iter()
        .enumerate()
        .filter_map(|(index, p)| p.filter(|p| (0.0..=1.0).contains(p)).map(|p| (index, p)))
        .collect();
    let values: Vec<f64> = present.iter().map(|(_, p)| *p).collect();
    let holm = icodegen_stats::holm(&values).unwrap_or_default();
    let bh = icodegen_stats::benjamini_hochberg(&values).unwrap_or_default();
    let mut holm_out = vec![None; p_values.len()];
    let mut bh_out = vec![None; p_values.len()];
    for (position, (index, _)) in present.iter().enumerate() {
        holm_out[*index] = holm.get(position).copied();
        bh_out[*index] = bh.get(position).copied();
    }
    (holm_out, bh_out)
}

/// Quartiles, minimum and maximum (linear interpolation, as numpy).
pub fn five_numbers(values: &[f64]) -> [f64; 5] {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    [
        sorted[0],
        descriptive::quantile_sorted(&sorted, 0.25),
        descriptive::quantile_sorted(&sorted, 0.5),
        descriptive::quantile_sorted(&sorted, 0.75),
        sorted[sorted.len() - 1],
    ]
}

/// The bootstrap config recorded with a seed (for the stats crate's own routines).
pub fn config(params: &BootstrapParams, seed: u64) -> BootstrapConfig {
    BootstrapConfig {
        resamples: params.resamples,
        confidence_level: params.confidence_level,
        method: params.method,
        seed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_depend_on_labels_not_on_order_of_computation() {
        let a = derive_seed(7, &["gru", "category", "scope"]);
        assert_eq!(a, derive_seed(7, &["gru", "category", "scope"]));
        assert_ne!(a, derive_seed(7, &["gru", "category", "operator"]));
        assert_ne!(a, derive_seed(8, &["gru", "category", "scope"]));
        assert!(a <= i64::MAX as u64);
    }

    #[test]
    fn the_closed_form_jackknife_matches_the_stats_crates_bca() {
        let values: Vec<f64> = (0..40)
            .map(|i| ((i * 37) % 11) as f64 * 0.3 + (i as f64).sqrt())
            .collect();
        let params = BootstrapParams::default();
        let ours = mean_interval(&values, &params, 11, 10, "rows");
        let theirs = icodegen_stats::bootstrap_mean(&values, &config(&params, 11)).unwrap();
        let (low, high) = ours.ci.unwrap();
        assert!(
            (low - theirs.ci.lower).abs() < 1e-12,
            "{low} vs {}",
            theirs.ci.lower
        );
        assert!((high - theirs.ci.upper).abs() < 1e-12);
        assert!((ours.standard_error.unwrap() - theirs.standard_error).abs() < 1e-12);
    }

    #[test]
    fn too_few_values_give_a_note_instead_of_an_interval() {
        let result = mean_interval(&[0.2, 0.4, 0.9], &BootstrapParams::default(), 1, 10, "rows");
        assert_eq!(result.ci, None);
        assert_eq!(
            result.note.as_deref(),
            Some("too few rows (n = 3 < 10) for a meaningful interval")
        );
        assert!((result.mean - 0.5).abs() < 1e-12);
    }

    #[test]
    fn missing_p_values_do_not_count_towards_the_family() {
        let (holm, bh) = adjust_family(&[Some(0.01), None, Some(0.04)]);
        assert_eq!(holm, vec![Some(0.02), None, Some(0.04)]);
        assert_eq!(bh[1], None);
        assert!((bh[0].unwrap() - 0.02).abs() < 1e-15);
    }
}
