//! Back-door estimators with DoWhy's `backdoor.*` semantics.
//!
//! | method | DoWhy | what is computed |
//! |---|---|---|
//! | [`Method::LinearRegression`] | `backdoor.linear_regression` | OLS of Y on [1, T, Z]; effect = coefficient of T (DoWhy: mean of predictions at T = 1 minus at T = 0, the same number); classical SE, t interval and p-value (statsmodels' `bse`, `conf_int`, `pvalues`) |
//! | [`Method::PsStratification`] | `backdoor.propensity_score_stratification` | strata = `round_half_even(rank(e) / n · k)` with average ranks; strata with more than `clipping_threshold` (10) rows in *both* arms are kept; `k = 0.5 n / clipping_threshold`, halved (integer division) until at least k/2 strata are kept (DoWhy's `num_strata="auto"`); effect = size-weighted mean of per-stratum mean differences (weights n, n_treated or n_control for ATE/ATT/ATC) |
//! | [`Method::PsMatching`] | `backdoor.propensity_score_matching` | 1-nearest neighbour on the propensity score, with replacement: ATT from treated rows, ATC from control rows, ATE = (ATT n_t + ATC n_c) / n |
//! | [`Method::PsWeighting`] | `backdoor.propensity_score_weighting` | scores clipped to [0.05, 0.95]; see [`WeightingScheme`] |
//! | [`Method::Aipw`] | `backdoor.doubly_robust` | μ̂(t, z) from the linear regression above, e clipped to [0.01, 0.99]; effect = mean(μ̂₁ - μ̂₀ + T(Y - μ̂₁)/e - (1-T)(Y - μ̂₀)/(1-e)); influence-function SE and normal interval |
//!
//! The propensity score e(Z) = p(T = 1 | Z) is a logistic regression fitted by IRLS
//! ([`PropensityOptions`]). DoWhy's default is scikit-learn's `LogisticRegression()`, which adds
//! an L2 penalty (C = 1); set [`PropensityOptions::l2_penalty`] to 1 to reproduce it, or leave
//! the default 0 for the unpenalized maximum-likelihood fit.
//!
//! Intervals: linear regression and AIPW are analytic; the three propensity-score methods use a
//! seeded percentile bootstrap that re-fits the propensity model on every resample (DoWhy's
//! bootstrap intervals do the same), run in parallel with rayon.

use std::fmt;
use std::str::FromStr;

use icodegen_stats::{ConfidenceInterval, descriptive};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use crate::data::CausalData;
use crate::error::{CausalError, Result};
use crate::regression::{PropensityOptions, design, fit_propensity_from, ols};
use crate::seed::child_seed;

/// An estimation method (CLI and params spelling in [`Method::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    LinearRegression,
    PsStratification,
    PsMatching,
    PsWeighting,
    Aipw,
}

impl Method {
    pub const ALL: [Method; 5] = [
        Method::LinearRegression,
        Method::PsStratification,
        Method::PsMatching,
        Method::PsWeighting,
        Method::Aipw,
    ];

    /// `linear_regression`, `ps_stratification`, `ps_matching`, `ps_weighting`, `aipw`.
    pub fn name(self) -> &'static str {
        match self {
            Method::LinearRegression => "linear_regression",
            Method::PsStratification => "ps_stratification",
            Method::PsMatching => "ps_matching",
            Method::PsWeighting => "ps_weighting",
            Method::Aipw => "aipw",
        }
    }

    /// The DoWhy `method_name` with the same semantics.
    pub fn dowhy_name(self) -> &'static str {
        match self {
            Method::LinearRegression => "backdoor.linear_regression",
            Method::PsStratification => "backdoor.propensity_score_stratification",
            Method::PsMatching => "backdoor.propensity_score_matching",
            Method::PsWeighting => "backdoor.propensity_score_weighting",
            Method::Aipw => "backdoor.doubly_robust",
        }
    }

    /// Whether the method needs a binary treatment and a propensity model.
    pub fn uses_propensity(self) -> bool {
        !matches!(self, Method::LinearRegression)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = CausalError;

    /// Accepts our names and DoWhy's `backdoor.*` names.
    fn from_str(text: &str) -> Result<Self> {
        Method::ALL
            .into_iter()
            .find(|method| method.name() == text || method.dowhy_name() == text)
            .ok_or_else(|| {
                CausalError::InvalidOption(format!(
                    "unknown method `{text}`; expected one of {}",
                    Method::ALL.map(Method::name).join(", ")
                ))
            })
    }
}

/// Whose effect: all units, the treated, or the controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetUnits {
    #[default]
    Ate,
    Att,
    Atc,
}

/// Inverse-propensity weighting scheme.
///
/// DoWhy always forms `Σ w T Y / Σ w T - Σ w (1-T) Y / Σ w (1-T)`: a per-arm normalized
/// (Hajek) estimator, whatever its `weighting_scheme` (`ips_weight`, `ips_normalized_weight`,
/// `ips_stabilized_weight` differ only by per-arm constants, which cancel). So `Hajek` and
/// `Stabilized` both equal DoWhy's estimate, and `Stabilized` equals `Hajek` for a binary
/// treatment (it is kept so the weights reported match DoWhy's stabilized weights). `Plain` is
/// the unnormalized Horvitz-Thompson estimator `(1/n) Σ [T Y / e - (1-T) Y / (1-e)]`, which DoWhy
/// does not offer; it is unbiased but has a larger variance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightingScheme {
    Plain,
    #[default]
    Hajek,
    Stabilized,
}

/// Estimator settings; the defaults are DoWhy's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EstimatorOptions {
    pub target_units: TargetUnits,
    pub confidence_level: f64,
    pub propensity: PropensityOptions,
    /// Number of propensity strata; `None` is DoWhy's `"auto"` search.
    pub num_strata: Option<usize>,
    /// A stratum is kept when both arms have more than this many rows (DoWhy: 10).
    pub clipping_threshold: usize,
    pub weighting_scheme: WeightingScheme,
    /// Propensity clipping for weighting (DoWhy: [0.05, 0.95]).
    pub weighting_clip: [f64; 2],
    /// Propensity clipping for AIPW (DoWhy's doubly robust estimator: [0.01, 0.99]).
    pub aipw_clip: [f64; 2],
    /// Bootstrap resamples for the intervals of the propensity-score methods.
    pub ci_resamples: usize,
    /// Seed of those resamples.
    pub seed: u64,
}

impl Default for EstimatorOptions {
    fn default() -> Self {
        Self {
            target_units: TargetUnits::Ate,
            confidence_level: 0.95,
            propensity: PropensityOptions::default(),
            num_strata: None,
            clipping_threshold: 10,
            weighting_scheme: WeightingScheme::Hajek,
            weighting_clip: [0.05, 0.95],
            aipw_clip: [0.01, 0.99],
            ci_resamples: 200,
            seed: 0,
        }
    }
}

impl EstimatorOptions {
    fn validate(&self) -> Result<()> {
        if !(self.confidence_level > 0.0 && self.confidence_level < 1.0) {
            return Err(CausalError::InvalidOption(format!(
                "confidence level must lie in (0, 1), got {}",
                self.confidence_level
            )));
        }
        for (name, [low, high]) in [
            ("weighting_clip", self.weighting_clip),
            ("aipw_clip", self.aipw_clip),
        ] {
            if !(0.0 < low && low < high && high < 1.0) {
                return Err(CausalError::InvalidOption(format!(
                    "{name} must satisfy 0 < low < high < 1, got [{low}, {high}]"
                )));
            }
        }
        if self.num_strata == Some(0) || self.num_strata == Some(1) {
            return Err(CausalError::InvalidOption(
                "num_strata must be at least 2".into(),
            ));
        }
        Ok(())
    }
}

/// How an interval was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalKind {
    /// Classical OLS standard error, Student's t with the residual degrees of freedom.
    StudentT,
    /// Sample standard deviation of the influence function over √n, normal quantiles.
    InfluenceFunction,
    /// Percentile bootstrap over rows, propensity model re-fitted per resample.
    Bootstrap,
}

/// One coefficient of the outcome regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coefficient {
    pub name: String,
    pub estimate: f64,
    pub standard_error: f64,
}

/// Method-specific numbers behind an estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EstimateDetails {
    LinearRegression {
        /// `const`, then the treatment, then the confounders.
        coefficients: Vec<Coefficient>,
        r_squared: f64,
        residual_df: usize,
    },
    Stratification {
        num_strata: usize,
        strata_used: usize,
        rows_used: usize,
        ate: f64,
        att: f64,
        atc: f64,
    },
    Matching {
        ate: f64,
        att: f64,
        atc: f64,
    },
    Weighting {
        scheme: WeightingScheme,
        plain: f64,
        hajek: f64,
        stabilized: f64,
        /// Rows whose score was clipped.
        clipped_rows: usize,
    },
    Aipw {
        clipped_rows: usize,
        outcome_r_squared: f64,
    },
}

/// An estimated effect with its uncertainty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub method: Method,
    pub target_units: TargetUnits,
    /// The effect for `target_units` (the ATE by default), per unit of treatment.
    pub effect: f64,
    pub standard_error: f64,
    pub ci: ConfidenceInterval,
    /// Two-sided p-value of a zero effect (t, influence-function or bootstrap-SE normal test).
    pub p_value: f64,
    pub interval_kind: IntervalKind,
    /// Bootstrap resamples used for the interval (0 for analytic intervals).
    pub resamples: usize,
    /// Resamples on which the estimator failed (e.g. a resample without a usable stratum).
    pub failed_resamples: usize,
    pub seed: u64,
    pub n: usize,
    /// Treated and control rows (binary treatments only).
    pub n_treated: Option<usize>,
    pub n_control: Option<usize>,
    pub details: EstimateDetails,
}

/// Estimates the effect of the treatment on the outcome adjusting for all confounders in
/// `data`, with a standard error, interval and p-value.
pub fn estimate(data: &CausalData, method: Method, options: &EstimatorOptions) -> Result<Estimate> {
    options.validate()?;
    let Point {
        effect,
        details,
        influence,
        propensity,
    } = point_estimate_with_details(data, method, options, None)?;
    let (n_treated, n_control) = if data.is_binary_treatment() {
        let (treated, control) = data.arm_sizes();
        (Some(treated), Some(control))
    } else {
        (None, None)
    };
    let level = options.confidence_level;
    let normal = Normal::standard();
    let base =
        |standard_error: f64, ci: ConfidenceInterval, p_value: f64, kind: IntervalKind| Estimate {
            method,
            target_units: options.target_units,
            effect,
            standard_error,
            ci,
            p_value,
            interval_kind: kind,
            resamples: 0,
            failed_resamples: 0,
            seed: options.seed,
            n: data.len(),
            n_treated,
            n_control,
            details: details.clone(),
        };
    match method {
        Method::LinearRegression => {
            let EstimateDetails::LinearRegression {
                coefficients,
                residual_df,
                ..
            } = &details
            else {
                unreachable!("linear regression returns linear regression details")
            };
            let standard_error = coefficients[1].standard_error;
            let t =
                StudentsT::new(0.0, 1.0, *residual_df as f64).expect("positive degrees of freedom");
            let quantile = t.inverse_cdf(0.5 + level / 2.0);
            let p_value = (2.0 * t.sf((effect / standard_error).abs())).min(1.0);
            let ci = ConfidenceInterval {
                lower: effect - quantile * standard_error,
                upper: effect + quantile * standard_error,
                level,
            };
            Ok(base(standard_error, ci, p_value, IntervalKind::StudentT))
        }
        Method::Aipw => {
            let influence = influence.expect("AIPW returns its influence function");
            let standard_error = descriptive::std_dev(&influence) / (influence.len() as f64).sqrt();
            let quantile = normal.inverse_cdf(0.5 + level / 2.0);
            let p_value = (2.0 * normal.sf((effect / standard_error).abs())).min(1.0);
            let ci = ConfidenceInterval {
                lower: effect - quantile * standard_error,
                upper: effect + quantile * standard_error,
                level,
            };
            Ok(base(
                standard_error,
                ci,
                p_value,
                IntervalKind::InfluenceFunction,
            ))
        }
        Method::PsStratification | Method::PsMatching | Method::PsWeighting => {
            if options.ci_resamples < 2 {
                return Err(CausalError::InvalidOption(
                    "ci_resamples must be at least 2 for propensity-score methods".into(),
                ));
            }
            let n = data.len();
            let table = data.row_major();
            let replicates: Vec<Option<f64>> = (0..options.ci_resamples)
                .into_par_iter()
                .map(|resample| {
                    let rows = bootstrap_rows(n, child_seed(options.seed, 0xC1, resample as u64));
                    let resampled = table.select_rows(&rows);
                    // Newton starts from the full data's propensity model.
                    point_estimate_from(&resampled, method, options, propensity.as_deref()).ok()
                })
                .collect();
            let successes: Vec<f64> = replicates.iter().flatten().copied().collect();
            let failed = replicates.len() - successes.len();
            if successes.len() * 2 < replicates.len() {
                return Err(CausalError::NotEstimable {
                    method: method.name(),
                    reason: format!(
                        "the estimator failed on {failed} of {} bootstrap resamples; the data are too small or too unbalanced for a bootstrap interval",
                        replicates.len()
                    ),
                });
            }
            let standard_error = descriptive::std_dev(&successes);
            let ci = icodegen_stats::percentile_interval(&successes, level);
            let p_value = if standard_error > 0.0 {
                (2.0 * normal.sf((effect / standard_error).abs())).min(1.0)
            } else {
                f64::NAN
            };
            let mut result = base(standard_error, ci, p_value, IntervalKind::Bootstrap);
            result.resamples = options.ci_resamples;
            result.failed_resamples = failed;
            Ok(result)
        }
    }
}

/// Row indices of one bootstrap resample (with replacement), seeded.
pub(crate) fn bootstrap_rows(n: usize, seed: u64) -> Vec<usize> {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(0..n)).collect()
}

/// The effect alone (no interval): what refuters call many times.
pub fn point_estimate(
    data: &CausalData,
    method: Method,
    options: &EstimatorOptions,
) -> Result<f64> {
    point_estimate_from(data, method, options, None)
}

/// [`point_estimate`] with the propensity model's Newton iterations started from `start`
/// (coefficients, intercept first), for perturbed copies of data already fitted once.
pub(crate) fn point_estimate_from(
    data: &CausalData,
    method: Method,
    options: &EstimatorOptions,
    start: Option<&[f64]>,
) -> Result<f64> {
    point_estimate_with_details(data, method, options, start).map(|point| point.effect)
}

/// The coefficients of the propensity model of `data`, when `method` uses one and it fits:
/// the warm start of the refuters' re-fits.
pub(crate) fn propensity_start(
    data: &CausalData,
    method: Method,
    options: &EstimatorOptions,
) -> Option<Vec<f64>> {
    if !method.uses_propensity() || !data.is_binary_treatment() || data.confounders().is_empty() {
        return None;
    }
    fit_propensity_from(data, &options.propensity, None)
        .ok()
        .map(|model| model.coefficients)
}

/// The effect, its details, (AIPW only) the per-row influence function values and (propensity
/// methods) the propensity model's coefficients.
struct Point {
    effect: f64,
    details: EstimateDetails,
    influence: Option<Vec<f64>>,
    propensity: Option<Vec<f64>>,
}

fn point_estimate_with_details(
    data: &CausalData,
    method: Method,
    options: &EstimatorOptions,
    start: Option<&[f64]>,
) -> Result<Point> {
    if method.uses_propensity() {
        data.require_binary_treatment(method.name())?;
        // Validated data has both arms; a bootstrap resample or a subset may not.
        let (treated, control) = data.arm_sizes();
        if treated == 0 || control == 0 {
            return Err(CausalError::NotEstimable {
                method: method.name(),
                reason: format!(
                    "these rows have {treated} treated and {control} control rows; both arms are needed"
                ),
            });
        }
        if data.confounders().is_empty() {
            return Err(CausalError::NotEstimable {
                method: method.name(),
                reason: "propensity-score methods need at least one confounder".into(),
            });
        }
    }
    let with_propensity = |(effect, details, coefficients)| Point {
        effect,
        details,
        influence: None,
        propensity: Some(coefficients),
    };
    match method {
        Method::LinearRegression => linear_regression(data).map(|(effect, details)| Point {
            effect,
            details,
            influence: None,
            propensity: None,
        }),
        Method::PsStratification => stratification(data, options, start).map(with_propensity),
        Method::PsMatching => matching(data, options, start).map(with_propensity),
        Method::PsWeighting => weighting(data, options, start).map(with_propensity),
        Method::Aipw => aipw(data, options, start).map(|parts| Point {
            effect: parts.effect,
            details: parts.details,
            influence: Some(parts.influence),
            propensity: Some(parts.propensity),
        }),
    }
}

/// An effect, its details and the propensity model's coefficients.
type PropensityPoint = (f64, EstimateDetails, Vec<f64>);

fn regression_names(data: &CausalData) -> Vec<&str> {
    let mut names = vec!["const", data.treatment_name()];
    names.extend(data.confounder_names());
    names
}

fn linear_regression(data: &CausalData) -> Result<(f64, EstimateDetails)> {
    let mut columns: Vec<&[f64]> = vec![data.treatment()];
    columns.extend(
        data.confounders()
            .iter()
            .map(|column| column.values.as_slice()),
    );
    let names = regression_names(data);
    let fit = ols(design(data.len(), &columns), data.outcome(), &names)?;
    let coefficients = names
        .iter()
        .enumerate()
        .map(|(index, name)| Coefficient {
            name: (*name).to_string(),
            estimate: fit.coefficients[index],
            standard_error: fit.standard_errors[index],
        })
        .collect();
    Ok((
        fit.coefficients[1],
        EstimateDetails::LinearRegression {
            coefficients,
            r_squared: fit.r_squared,
            residual_df: fit.residual_df,
        },
    ))
}

#[derive(Default, Clone, Copy)]
struct Stratum {
    treated: usize,
    control: usize,
    treated_sum: f64,
    control_sum: f64,
}

/// Kept strata for `num_strata`, or `None` when no stratum qualifies.
fn strata(
    ranks: &[f64],
    treatment: &[f64],
    outcome: &[f64],
    num_strata: f64,
    threshold: usize,
) -> Option<Vec<Stratum>> {
    let n = ranks.len() as f64;
    // Keys are round((rank / n) * k) in 0..=k: a dense vector indexed by key replaces pandas' groupby.
    let mut groups = vec![Stratum::default(); num_strata.ceil() as usize + 2];
    for ((&rank, &t), &y) in ranks.iter().zip(treatment).zip(outcome) {
        let key = ((rank / n) * num_strata).round_ties_even() as usize;
        let stratum = &mut groups[key];
        if t == 1.0 {
            stratum.treated += 1;
            stratum.treated_sum += y;
        } else {
            stratum.control += 1;
            stratum.control_sum += y;
        }
    }
    let kept: Vec<Stratum> = groups
        .into_iter()
        .filter(|stratum| stratum.treated.min(stratum.control) > threshold)
        .collect();
    (!kept.is_empty()).then_some(kept)
}

fn stratification(
    data: &CausalData,
    options: &EstimatorOptions,
    start: Option<&[f64]>,
) -> Result<PropensityPoint> {
    let model = fit_propensity_from(data, &options.propensity, start)?;
    let (ranks, _) = descriptive::average_ranks(&model.scores);
    let threshold = options.clipping_threshold;
    let not_enough = || CausalError::NotEstimable {
        method: "ps_stratification",
        reason: format!(
            "not enough data to form at least two strata with more than {threshold} treated and {threshold} control rows each; lower the clipping threshold or the number of strata"
        ),
    };
    let (num_strata, kept) = match options.num_strata {
        Some(fixed) => (
            fixed as f64,
            strata(
                &ranks,
                data.treatment(),
                data.outcome(),
                fixed as f64,
                threshold,
            )
            .ok_or_else(not_enough)?,
        ),
        None => {
            let mut num_strata = 0.5 * data.len() as f64 / threshold.max(1) as f64;
            loop {
                match strata(
                    &ranks,
                    data.treatment(),
                    data.outcome(),
                    num_strata,
                    threshold,
                ) {
                    Some(kept) if kept.len() as f64 >= 0.5 * num_strata => {
                        break (num_strata, kept);
                    }
                    _ => {
                        num_strata = (num_strata / 2.0).trunc();
                        if num_strata < 2.0 {
                            return Err(not_enough());
                        }
                    }
                }
            }
        }
    };
    let (mut ate, mut att, mut atc) = (0.0, 0.0, 0.0);
    let (mut treated_total, mut control_total) = (0usize, 0usize);
    for stratum in &kept {
        let effect = stratum.treated_sum / stratum.treated as f64
            - stratum.control_sum / stratum.control as f64;
        ate += effect * (stratum.treated + stratum.control) as f64;
        att += effect * stratum.treated as f64;
        atc += effect * stratum.control as f64;
        treated_total += stratum.treated;
        control_total += stratum.control;
    }
    let rows_used = treated_total + control_total;
    let (ate, att, atc) = (
        ate / rows_used as f64,
        att / treated_total as f64,
        atc / control_total as f64,
    );
    let effect = match options.target_units {
        TargetUnits::Ate => ate,
        TargetUnits::Att => att,
        TargetUnits::Atc => atc,
    };
    Ok((
        effect,
        EstimateDetails::Stratification {
            num_strata: num_strata as usize,
            strata_used: kept.len(),
            rows_used,
            ate,
            att,
            atc,
        },
        model.coefficients,
    ))
}

/// `(score, index)` pairs sorted by score, then index: a stable radix sort by the score's
/// bits (radsort; `f64::total_cmp`'s order) of pairs made in index order, a few passes over
/// the pairs instead of a comparison sort's n log n comparisons.
fn sorted_pairs(scores: &[f64]) -> Vec<(f64, usize)> {
    let mut pairs: Vec<(f64, usize)> = scores.iter().copied().zip(0..).collect();
    radsort::sort_by_key(&mut pairs, |pair| pair.0);
    pairs
}

/// For each `query` score, the index (into `pool`) of the nearest `pool` score. Ties in
/// distance go to the lower score; equal scores to the earliest row.
#[cfg(test)]
fn nearest(pool_scores: &[f64], query_scores: &[f64]) -> Vec<usize> {
    nearest_sorted(&sorted_pairs(pool_scores), &sorted_pairs(query_scores))
}

/// [`nearest`] on both sides sorted by [`sorted_pairs`]: one merge sweep, the pool's pointer
/// only moving forward, instead of a binary search per query. The result is indexed by the
/// queries' original indices.
fn nearest_sorted(pool: &[(f64, usize)], queries: &[(f64, usize)]) -> Vec<usize> {
    let mut matches = vec![0; queries.len()];
    if pool.is_empty() {
        return matches;
    }
    // The first position of each run of equal pool scores (the earliest row among them).
    let mut run_start = vec![0; pool.len()];
    for position in 1..pool.len() {
        run_start[position] = if pool[position].0 == pool[position - 1].0 {
            run_start[position - 1]
        } else {
            position
        };
    }
    let mut right = 0;
    for &(score, query) in queries {
        // The first pool score ≥ this query's.
        while right < pool.len() && pool[right].0 < score {
            right += 1;
        }
        let choice = if right == 0 {
            0
        } else if right == pool.len() {
            right - 1
        } else {
            let left = run_start[right - 1];
            if score - pool[left].0 <= pool[right].0 - score {
                left
            } else {
                right
            }
        };
        matches[query] = pool[choice].1;
    }
    matches
}

fn matching(
    data: &CausalData,
    options: &EstimatorOptions,
    start: Option<&[f64]>,
) -> Result<PropensityPoint> {
    let model = fit_propensity_from(data, &options.propensity, start)?;
    let (mut treated_scores, mut treated_outcomes, mut control_scores, mut control_outcomes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ((&t, &y), &score) in data
        .treatment()
        .iter()
        .zip(data.outcome())
        .zip(&model.scores)
    {
        if t == 1.0 {
            treated_scores.push(score);
            treated_outcomes.push(y);
        } else {
            control_scores.push(score);
            control_outcomes.push(y);
        }
    }
    // Each arm is sorted once and serves as the pool of one direction and the queries of
    // the other.
    let (treated_sorted, control_sorted) =
        (sorted_pairs(&treated_scores), sorted_pairs(&control_scores));
    let matches_for_treated = nearest_sorted(&control_sorted, &treated_sorted);
    let att = treated_outcomes
        .iter()
        .zip(&matches_for_treated)
        .map(|(y, &j)| y - control_outcomes[j])
        .sum::<f64>()
        / treated_outcomes.len() as f64;
    let matches_for_control = nearest_sorted(&treated_sorted, &control_sorted);
    let atc = control_outcomes
        .iter()
        .zip(&matches_for_control)
        .map(|(y, &j)| treated_outcomes[j] - y)
        .sum::<f64>()
        / control_outcomes.len() as f64;
    let (n_t, n_c) = (treated_outcomes.len() as f64, control_outcomes.len() as f64);
    let ate = (att * n_t + atc * n_c) / (n_t + n_c);
    let effect = match options.target_units {
        TargetUnits::Ate => ate,
        TargetUnits::Att => att,
        TargetUnits::Atc => atc,
    };
    Ok((
        effect,
        EstimateDetails::Matching { ate, att, atc },
        model.coefficients,
    ))
}

fn clip(scores: &[f64], [low, high]: [f64; 2]) -> (Vec<f64>, usize) {
    let clipped: Vec<f64> = scores.iter().map(|score| score.clamp(low, high)).collect();
    let count = scores
        .iter()
        .filter(|&&score| score < low || score > high)
        .count();
    (clipped, count)
}

fn weighting(
    data: &CausalData,
    options: &EstimatorOptions,
    start: Option<&[f64]>,
) -> Result<PropensityPoint> {
    let model = fit_propensity_from(data, &options.propensity, start)?;
    let (scores, clipped_rows) = clip(&model.scores, options.weighting_clip);
    let (t, y) = (data.treatment(), data.outcome());
    let n = t.len() as f64;
    let (n_treated, _) = data.arm_sizes();
    let p_treated = n_treated as f64 / n;
    let n_control = n - n_treated as f64;
    // A treated row's and a control row's weight for the target units, before stabilization
    // (each row needs only its own arm's).
    let [treated_base, control_base]: [fn(f64) -> f64; 2] = match options.target_units {
        TargetUnits::Ate => [|e| 1.0 / e, |e| 1.0 / (1.0 - e)],
        TargetUnits::Att => [|_| 1.0, |e| e / (1.0 - e)],
        TargetUnits::Atc => [|e| (1.0 - e) / e, |_| 1.0],
    };
    let (mut treated_sum, mut treated_weight, mut control_sum, mut control_weight) =
        (0.0, 0.0, 0.0, 0.0);
    let (mut stabilized_treated_sum, mut stabilized_treated_weight) = (0.0, 0.0);
    let (mut stabilized_control_sum, mut stabilized_control_weight) = (0.0, 0.0);
    for ((&treatment, &outcome), &e) in t.iter().zip(y).zip(&scores) {
        if treatment == 1.0 {
            let weight_treated = treated_base(e);
            treated_sum += weight_treated * outcome;
            treated_weight += weight_treated;
            let stabilized = weight_treated * p_treated;
            stabilized_treated_sum += stabilized * outcome;
            stabilized_treated_weight += stabilized;
        } else {
            let weight_control = control_base(e);
            control_sum += weight_control * outcome;
            control_weight += weight_control;
            let stabilized = weight_control * (1.0 - p_treated);
            stabilized_control_sum += stabilized * outcome;
            stabilized_control_weight += stabilized;
        }
    }
    let normalizer = match options.target_units {
        TargetUnits::Ate => n,
        TargetUnits::Att => n_treated as f64,
        TargetUnits::Atc => n_control,
    };
    let plain = (treated_sum - control_sum) / normalizer;
    let hajek = treated_sum / treated_weight - control_sum / control_weight;
    let stabilized = stabilized_treated_sum / stabilized_treated_weight
        - stabilized_control_sum / stabilized_control_weight;
    let effect = match options.weighting_scheme {
        WeightingScheme::Plain => plain,
        WeightingScheme::Hajek => hajek,
        WeightingScheme::Stabilized => stabilized,
    };
    Ok((
        effect,
        EstimateDetails::Weighting {
            scheme: options.weighting_scheme,
            plain,
            hajek,
            stabilized,
            clipped_rows,
        },
        model.coefficients,
    ))
}

struct AipwParts {
    effect: f64,
    influence: Vec<f64>,
    details: EstimateDetails,
    propensity: Vec<f64>,
}

fn aipw(data: &CausalData, options: &EstimatorOptions, start: Option<&[f64]>) -> Result<AipwParts> {
    if options.target_units != TargetUnits::Ate {
        return Err(CausalError::NotEstimable {
            method: "aipw",
            reason: "only the ATE is supported (as in DoWhy's doubly robust estimator)".into(),
        });
    }
    let (_, regression) = linear_regression(data)?;
    let EstimateDetails::LinearRegression {
        coefficients,
        r_squared,
        ..
    } = regression
    else {
        unreachable!("linear regression returns linear regression details")
    };
    let model = fit_propensity_from(data, &options.propensity, start)?;
    let (scores, clipped_rows) = clip(&model.scores, options.aipw_clip);
    let treatment_coefficient = coefficients[1].estimate;
    let rows = data
        .treatment()
        .iter()
        .zip(data.outcome())
        .zip(&scores)
        .enumerate();
    let influence: Vec<f64> = rows
        .map(|(row, ((&t, &y), &e))| {
            let mut mu0 = coefficients[0].estimate;
            for (index, column) in data.confounders().iter().enumerate() {
                mu0 += coefficients[index + 2].estimate * column.values[row];
            }
            let mu1 = mu0 + treatment_coefficient;
            mu1 - mu0 + t * (y - mu1) / e - (1.0 - t) * (y - mu0) / (1.0 - e)
        })
        .collect();
    let effect = descriptive::mean(&influence);
    Ok(AipwParts {
        effect,
        influence,
        details: EstimateDetails::Aipw {
            clipped_rows,
            outcome_r_squared: r_squared,
        },
        propensity: model.coefficients,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_parse_from_our_names_and_dowhys() {
        for method in Method::ALL {
            assert_eq!(method.name().parse::<Method>().unwrap(), method);
            assert_eq!(method.dowhy_name().parse::<Method>().unwrap(), method);
        }
        assert!("ps_magic".parse::<Method>().is_err());
    }

    #[test]
    fn nearest_neighbour_prefers_the_lower_score_on_a_tie() {
        let pool = [0.2, 0.4, 0.4, 0.9];
        assert_eq!(
            nearest(&pool, &[0.3, 0.41, 0.0, 1.0, 0.4]),
            vec![0, 1, 0, 3, 1]
        );
    }

    #[test]
    fn rows_from_one_arm_are_not_estimable_rather_than_a_panic() {
        use crate::data::Column;
        let data = CausalData::new(
            Column::new("t", vec![0.0, 1.0, 0.0, 1.0, 1.0, 0.0]),
            Column::new("y", vec![1.0, 2.0, 1.5, 2.5, 3.0, 0.5]),
            vec![Column::new("z", vec![0.1, 0.9, 0.4, 0.3, 0.8, 0.2])],
        )
        .unwrap();
        // A resample that drew treated rows only.
        let treated_only = data.select_rows(&[1, 3, 4, 1]);
        for method in [
            Method::PsStratification,
            Method::PsMatching,
            Method::PsWeighting,
            Method::Aipw,
        ] {
            let error = point_estimate(&treated_only, method, &EstimatorOptions::default());
            assert!(
                matches!(error, Err(CausalError::NotEstimable { .. })),
                "{method}: {error:?}"
            );
        }
    }

    /// The binary-search matcher the sweep replaced, as the reference.
    fn nearest_by_search(pool_scores: &[f64], query_scores: &[f64]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..pool_scores.len()).collect();
        order.sort_by(|&a, &b| pool_scores[a].total_cmp(&pool_scores[b]).then(a.cmp(&b)));
        let sorted: Vec<f64> = order.iter().map(|&index| pool_scores[index]).collect();
        query_scores
            .iter()
            .map(|&score| {
                let right = sorted.partition_point(|&value| value < score);
                let choice = if right == 0 {
                    0
                } else if right == sorted.len() {
                    right - 1
                } else {
                    let left = sorted.partition_point(|&value| value < sorted[right - 1]);
                    if score - sorted[left] <= sorted[right] - score {
                        left
                    } else {
                        right
                    }
                };
                order[choice]
            })
            .collect()
    }

    #[test]
    fn the_sweep_matches_the_binary_search_with_ties_everywhere() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for round in 0..200 {
            // Coarse scores make ties within and across the arms common.
            let levels = [4.0, 20.0, 1000.0][round % 3];
            let mut draw = |count: usize| -> Vec<f64> {
                (0..count)
                    .map(|_| (rng.random::<f64>() * levels).floor() / levels)
                    .collect()
            };
            let pool = draw(1 + round % 37);
            let queries = draw(1 + round % 23);
            assert_eq!(
                nearest(&pool, &queries),
                nearest_by_search(&pool, &queries),
                "{pool:?} {queries:?}"
            );
        }
    }
}
