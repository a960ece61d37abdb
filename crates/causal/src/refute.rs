//! Refuters: re-estimate the effect on perturbed data and check the estimate survives.
//!
//! Each refuter runs `simulations` perturbations in parallel (rayon); simulation i draws from
//! its own ChaCha8 stream seeded by `(seed, refuter, i)`, so results do not depend on thread
//! scheduling. The p-value follows DoWhy's `CausalRefuter.test_significance`: with at least 100
//! simulations, the two-sided empirical test `2 · min(q, 1 - q)` with
//! `q = mean(sim > value) + ½ mean(sim == value)`; with fewer, a one-tailed normal test on the
//! simulations' mean and (population) standard deviation. A refuter passes when that p-value
//! exceeds the significance level (the perturbation did not move the effect significantly),
//! except [`Refuter::UnobservedCommonCause`], a sensitivity analysis (see its documentation).
//!
//! | refuter | perturbation | value tested against the simulations |
//! |---|---|---|
//! | placebo | T replaced by a random permutation of itself (also for continuous T: DoWhy's default placebo for a float treatment is a constant 0, a meaningless pass) | 0 |
//! | random_common_cause | an independent N(0, 1) column added to the confounders | the estimate |
//! | data_subset | a random subset of `round(fraction · n)` rows, without replacement | the estimate |
//! | bootstrap | n rows resampled with replacement, each confounder plus N(0, (noise · sd)²) noise (DoWhy's defaults: noise 0.1) | the estimate |
//! | unobserved_common_cause | U ~ N(0, 1) added with strength κ to the outcome (κ · sd(Y) · U) and to the treatment (κ · sd(T) · U; a 0/1 treatment becomes 1{T - ½ + κU > 0}), for each κ of a grid | the estimate |

//!
//! With `ps_stratification` and automatic strata (DoWhy's `0.5 n / clipping_threshold`), a
//! subset has fewer rows and therefore fewer strata, so `data_subset` also measures how the
//! estimate moves with the number of strata; set `num_strata` to separate the two.

use std::fmt;
use std::str::FromStr;

use icodegen_stats::descriptive;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::data::{CausalData, Column};
use crate::error::{CausalError, Result};
use crate::estimators::{
    EstimatorOptions, Method, bootstrap_rows, point_estimate_from, propensity_start,
};
use crate::refit::{PartialFit, SubsetFit};
#[cfg(test)]
use crate::regression::{Projection, dot, partial_coefficient, subset_treatment_coefficient};
use crate::seed::child_seed;

/// A refutation test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refuter {
    Placebo,
    RandomCommonCause,
    DataSubset,
    Bootstrap,
    UnobservedCommonCause,
}

impl Refuter {
    pub const ALL: [Refuter; 5] = [
        Refuter::Placebo,
        Refuter::RandomCommonCause,
        Refuter::DataSubset,
        Refuter::Bootstrap,
        Refuter::UnobservedCommonCause,
    ];

    /// `placebo`, `random_common_cause`, `data_subset`, `bootstrap`, `unobserved_common_cause`.
    pub fn name(self) -> &'static str {
        match self {
            Refuter::Placebo => "placebo",
            Refuter::RandomCommonCause => "random_common_cause",
            Refuter::DataSubset => "data_subset",
            Refuter::Bootstrap => "bootstrap",
            Refuter::UnobservedCommonCause => "unobserved_common_cause",
        }
    }

    fn stream(self) -> u64 {
        match self {
            Refuter::Placebo => 1,
            Refuter::RandomCommonCause => 2,
            Refuter::DataSubset => 3,
            Refuter::Bootstrap => 4,
            Refuter::UnobservedCommonCause => 5,
        }
    }
}

impl fmt::Display for Refuter {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for Refuter {
    type Err = CausalError;

    fn from_str(text: &str) -> Result<Self> {
        Refuter::ALL
            .into_iter()
            .find(|refuter| refuter.name() == text)
            .ok_or_else(|| {
                CausalError::InvalidOption(format!(
                    "unknown refuter `{text}`; expected one of {}",
                    Refuter::ALL.map(Refuter::name).join(", ")
                ))
            })
    }
}

/// Refuter settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RefuterOptions {
    /// Perturbed datasets per refuter (per strength for the unobserved common cause).
    pub simulations: usize,
    pub seed: u64,
    /// Fraction of rows kept by `data_subset` (methodology: 0.9; DoWhy's default is 0.8).
    pub subset_fraction: f64,
    /// Noise added to confounders by `bootstrap`, in standard deviations (DoWhy: 0.1).
    pub bootstrap_noise: f64,
    /// A refuter fails when its p-value is at or below this level.
    pub significance_level: f64,
    /// The κ grid of `unobserved_common_cause`.
    pub strengths: Vec<f64>,
}

impl Default for RefuterOptions {
    fn default() -> Self {
        Self {
            simulations: 100,
            seed: 0,
            subset_fraction: 0.9,
            bootstrap_noise: 0.1,
            significance_level: 0.05,
            strengths: vec![0.05, 0.1, 0.2, 0.3, 0.5],
        }
    }
}

/// Which significance test produced the p-value (DoWhy's choice by simulation count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignificanceTest {
    /// Empirical two-sided test over the simulations (≥ 100 simulations).
    Empirical,
    /// One-tailed normal test on the simulations' mean and standard deviation (< 100).
    Normal,
}

/// The effects at one strength of the unobserved common cause.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StrengthEffect {
    pub strength: f64,
    pub mean_effect: f64,
    pub min_effect: f64,
    pub max_effect: f64,
}

/// The outcome of one refuter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refutation {
    pub refuter: Refuter,
    pub original_effect: f64,
    /// Mean effect over the simulations (at the strongest κ for the unobserved common cause).
    pub new_effect: f64,
    /// Standard deviation (`ddof=1`) of the simulated effects.
    pub new_effect_sd: f64,
    pub p_value: f64,
    pub passed: bool,
    /// The pass rule in words, for reports.
    pub rule: String,
    pub test: SignificanceTest,
    /// Successful simulations (failed ones, e.g. a subset without a usable stratum, are dropped).
    pub simulations: usize,
    pub failed_simulations: usize,
    pub seed: u64,
    /// Placebo only: permutation p-value of the original effect against the placebo effects,
    /// `(1 + #{|placebo| ≥ |effect|}) / (1 + simulations)`; small means the effect is real.
    pub effect_vs_placebo_p_value: Option<f64>,
    /// Unobserved common cause only: the effect at each strength.
    pub strengths: Vec<StrengthEffect>,
}

/// DoWhy's `test_significance(value, simulations)`.
pub fn refutation_p_value(value: f64, simulations: &[f64]) -> (f64, SignificanceTest) {
    if simulations.len() >= 100 {
        let count = simulations.len() as f64;
        let half = simulations
            .iter()
            .map(|&x| {
                if x > value {
                    1.0
                } else if x == value {
                    0.5
                } else {
                    0.0
                }
            })
            .sum::<f64>()
            / count;
        (2.0 * half.min(1.0 - half), SignificanceTest::Empirical)
    } else {
        let center = descriptive::mean(simulations);
        let spread = (simulations
            .iter()
            .map(|x| (x - center).powi(2))
            .sum::<f64>()
            / simulations.len() as f64)
            .sqrt();
        if spread == 0.0 {
            return (
                if value == center { 1.0 } else { 0.0 },
                SignificanceTest::Normal,
            );
        }
        let z = (value - center) / spread;
        let normal = Normal::standard();
        let p = if z > 0.0 { normal.sf(z) } else { normal.cdf(z) };
        (p, SignificanceTest::Normal)
    }
}

fn standard_normals(rng: &mut impl Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| StandardNormal.sample(rng)).collect()
}

/// Runs `simulate` for `count` seeded simulations in parallel, dropping failures.
fn simulate(
    count: usize,
    seed: u64,
    stream: u64,
    simulate: impl Fn(&mut ChaCha8Rng) -> Result<f64> + Sync,
) -> Result<(Vec<f64>, usize)> {
    let results: Vec<Result<f64>> = (0..count)
        .into_par_iter()
        .map(|index| {
            let mut rng = ChaCha8Rng::seed_from_u64(child_seed(seed, stream, index as u64));
            simulate(&mut rng)
        })
        .collect();
    let mut effects = Vec::with_capacity(count);
    let mut first_error = None;
    for result in results {
        match result {
            Ok(effect) => effects.push(effect),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    let failed = count - effects.len();
    if effects.len() * 2 < count.max(1) {
        return Err(
            first_error.unwrap_or_else(|| CausalError::InvalidOption("no simulations ran".into()))
        );
    }
    Ok((effects, failed))
}

/// Refutes `original_effect` (estimated by `method` with `estimator` options on `data`).
pub fn refute(
    data: &CausalData,
    method: Method,
    estimator: &EstimatorOptions,
    original_effect: f64,
    refuter: Refuter,
    options: &RefuterOptions,
) -> Result<Refutation> {
    if options.simulations == 0 {
        return Err(CausalError::InvalidOption(
            "simulations must be at least 1".into(),
        ));
    }
    if !(options.subset_fraction > 0.0 && options.subset_fraction <= 1.0) {
        return Err(CausalError::InvalidOption(format!(
            "subset fraction must lie in (0, 1], got {}",
            options.subset_fraction
        )));
    }
    let n = data.len();
    let stream = refuter.stream();
    let seed = options.seed;
    // Propensity methods: every re-fit starts Newton from the original data's model.
    let start = propensity_start(data, method, estimator);
    let estimate = |perturbed: &CausalData, start: Option<&[f64]>| {
        point_estimate_from(perturbed, method, estimator, start)
    };
    // Linear regression under a new treatment or one more confounder: Frisch-Waugh-Lovell on
    // one projection off [1, Z] instead of a new QR per simulation (the same coefficient).
    let partial = (method == Method::LinearRegression
        && matches!(refuter, Refuter::Placebo | Refuter::RandomCommonCause))
    .then(|| PartialFit::new(data).ok())
    .flatten();
    let collinear = || {
        CausalError::Singular(format!(
            "column `{}` is constant or a linear combination of the others",
            data.treatment_name()
        ))
    };
    let alpha = options.significance_level;
    let finish = |effects: Vec<f64>, failed: usize, tested: f64, rule: String| {
        let (p_value, test) = refutation_p_value(tested, &effects);
        Refutation {
            refuter,
            original_effect,
            new_effect: descriptive::mean(&effects),
            new_effect_sd: descriptive::std_dev(&effects),
            p_value,
            passed: p_value > alpha,
            rule,
            test,
            simulations: effects.len(),
            failed_simulations: failed,
            seed,
            effect_vs_placebo_p_value: None,
            strengths: Vec::new(),
        }
    };
    match refuter {
        Refuter::Placebo => {
            // A permuted treatment is independent of Z: start from the intercept-only model.
            let intercept_only = start.as_ref().map(|start| {
                let share = data.arm_sizes().0 as f64 / n as f64;
                let mut coefficients = vec![0.0; start.len()];
                coefficients[0] = (share / (1.0 - share)).ln();
                coefficients
            });
            let (effects, failed) = simulate(options.simulations, seed, stream, |rng| {
                let mut permuted = data.treatment().to_vec();
                permuted.shuffle(rng);
                if let Some(partial) = &partial {
                    return partial.with_treatment(&permuted).ok_or_else(collinear);
                }
                estimate(&data.with_treatment(permuted), intercept_only.as_deref())
            })?;
            let as_large = effects
                .iter()
                .filter(|effect| effect.abs() >= original_effect.abs())
                .count();
            let versus = (1.0 + as_large as f64) / (1.0 + effects.len() as f64);
            let mut result = finish(
                effects,
                failed,
                0.0,
                format!("passes when the placebo effects are consistent with 0 (p > {alpha})"),
            );
            result.effect_vs_placebo_p_value = Some(versus);
            Ok(result)
        }
        Refuter::RandomCommonCause => {
            let mut name = "w_random".to_string();
            while data.confounder_names().contains(&name.as_str())
                || name == data.treatment_name()
                || name == data.outcome_name()
            {
                name.push('_');
            }
            // The new confounder's coefficient starts at 0.
            let extended = start.as_ref().map(|start| {
                let mut coefficients = start.clone();
                coefficients.push(0.0);
                coefficients
            });
            let (effects, failed) = simulate(options.simulations, seed, stream, |rng| {
                let noise = standard_normals(rng, n);
                if let Some(partial) = &partial {
                    return partial.with_extra_confounder(&noise).ok_or_else(collinear);
                }
                estimate(
                    &data.with_extra_confounder(Column::new(name.clone(), noise)),
                    extended.as_deref(),
                )
            })?;
            Ok(finish(
                effects,
                failed,
                original_effect,
                format!(
                    "passes when adding a random common cause does not move the effect significantly (p > {alpha})"
                ),
            ))
        }
        Refuter::DataSubset => {
            // pandas' DataFrame.sample(frac=f) keeps round(f · n) rows (half to even).
            let keep = (options.subset_fraction * n as f64).round_ties_even() as usize;
            let table = data.row_major();
            let mut names = vec!["const", data.treatment_name()];
            names.extend(data.confounder_names());
            // Linear regression: the whole table's QR downdated by the rows left out.
            let subset =
                (method == Method::LinearRegression).then(|| SubsetFit::new(&table, &names));
            let (effects, failed) = simulate(options.simulations, seed, stream, |rng| {
                let rows: Vec<usize> = rand::seq::index::sample(rng, n, keep).into_vec();
                if let Some(subset) = &subset {
                    return subset.coefficient(&rows);
                }
                estimate(&table.select_rows(&rows), start.as_deref())
            })?;
            Ok(finish(
                effects,
                failed,
                original_effect,
                format!(
                    "passes when the effect on random {:.0}% subsets is consistent with the estimate (p > {alpha})",
                    options.subset_fraction * 100.0
                ),
            ))
        }
        Refuter::Bootstrap => {
            let noise = options.bootstrap_noise;
            let table = data.row_major();
            let (effects, failed) = simulate(options.simulations, seed, stream, |rng| {
                let rows = bootstrap_rows(n, rng.next_u64());
                let resampled = table.select_rows(&rows);
                let perturbed = resampled.map_confounders(|_, column| {
                    let scale = noise * descriptive::std_dev(&column.values);
                    column
                        .values
                        .iter()
                        .map(|value| {
                            let z: f64 = StandardNormal.sample(rng);
                            value + scale * z
                        })
                        .collect::<Vec<f64>>()
                });
                estimate(&perturbed, start.as_deref())
            })?;
            Ok(finish(
                effects,
                failed,
                original_effect,
                format!(
                    "passes when bootstrap resamples with {noise} sd of confounder noise are consistent with the estimate (p > {alpha})"
                ),
            ))
        }
        Refuter::UnobservedCommonCause => {
            if options.strengths.is_empty()
                || options.strengths.iter().any(|k| !k.is_finite() || *k < 0.0)
            {
                return Err(CausalError::InvalidOption(
                    "unobserved common cause strengths must be a non-empty list of non-negative numbers".into(),
                ));
            }
            let binary = data.is_binary_treatment();
            let sd_outcome = descriptive::std_dev(data.outcome());
            let sd_treatment = descriptive::std_dev(data.treatment());
            let mut strengths = Vec::new();
            let mut last = None;
            let mut total_failed = 0;
            for (position, &strength) in options.strengths.iter().enumerate() {
                let sub_stream = stream * 1000 + position as u64;
                let (effects, failed) = simulate(options.simulations, seed, sub_stream, |rng| {
                    let confounder = standard_normals(rng, n);
                    let outcome: Vec<f64> = data
                        .outcome()
                        .iter()
                        .zip(&confounder)
                        .map(|(y, u)| y + strength * sd_outcome * u)
                        .collect();
                    let treatment: Vec<f64> = data
                        .treatment()
                        .iter()
                        .zip(&confounder)
                        .map(|(t, u)| {
                            if binary {
                                if t - 0.5 + strength * u > 0.0 {
                                    1.0
                                } else {
                                    0.0
                                }
                            } else {
                                t + strength * sd_treatment * u
                            }
                        })
                        .collect();
                    estimate(
                        &data.with_outcome_and_treatment(outcome, treatment),
                        start.as_deref(),
                    )
                })?;
                total_failed += failed;
                strengths.push(StrengthEffect {
                    strength,
                    mean_effect: descriptive::mean(&effects),
                    min_effect: effects.iter().copied().fold(f64::INFINITY, f64::min),
                    max_effect: effects.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                });
                last = Some(effects);
            }
            let effects = last.expect("at least one strength");
            let mut result = finish(effects, total_failed, original_effect, String::new());
            let sign = original_effect.signum();
            result.passed = original_effect != 0.0
                && strengths
                    .iter()
                    .all(|s| s.mean_effect.signum() == sign && s.mean_effect != 0.0);
            result.rule = format!(
                "sensitivity analysis: passes when the effect keeps its sign for every strength up to {}; the p-value compares the estimate with the effects at the strongest confounding",
                options.strengths.iter().copied().fold(0.0, f64::max)
            );
            result.strengths = strengths;
            Ok(result)
        }
    }
}

/// Runs several refuters on one estimate, in the order given.
pub fn refute_all(
    data: &CausalData,
    method: Method,
    estimator: &EstimatorOptions,
    original_effect: f64,
    refuters: &[Refuter],
    options: &RefuterOptions,
) -> Result<Vec<Refutation>> {
    refuters
        .iter()
        .map(|&refuter| refute(data, method, estimator, original_effect, refuter, options))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refit::tests::data;

    #[test]
    fn p_value_matches_dowhys_empirical_test() {
        let simulations: Vec<f64> = (0..100).map(f64::from).collect();
        // 49.5 → 50 above → q = 0.5 → p = 1.
        assert_eq!(refutation_p_value(49.5, &simulations).0, 1.0);
        // 95 → 4 above + one tie → q = 0.045 → p = 0.09.
        assert!((refutation_p_value(95.0, &simulations).0 - 0.09).abs() < 1e-12);
        assert_eq!(
            refutation_p_value(95.0, &simulations).1,
            SignificanceTest::Empirical
        );
    }

    #[test]
    fn with_few_simulations_the_normal_test_is_one_tailed() {
        let simulations = [-1.0, 1.0];
        let (p, test) = refutation_p_value(1.0, &simulations);
        assert_eq!(test, SignificanceTest::Normal);
        assert!((p - Normal::standard().sf(1.0)).abs() < 1e-15);
    }

    #[test]
    fn the_fused_residual_is_the_column_at_a_time_one_bit_for_bit() {
        // 4099 rows: a remainder after the 4-lane chunks.
        let data = data(4099);
        let projection = Projection::new(&data).unwrap();
        let n = data.len();
        for v in [
            data.outcome(),
            data.treatment(),
            data.confounders()[1].values.as_slice(),
        ] {
            let mut plain = v.to_vec();
            for column in projection.basis_columns(n) {
                let coefficient = dot(column, v);
                for (slot, q) in plain.iter_mut().zip(column) {
                    *slot -= coefficient * q;
                }
            }
            assert_eq!(projection.residual(v), plain);
        }
    }

    #[test]
    fn the_blocked_subset_regression_is_the_copied_subsets() {
        // Several blocks and a short last one; a subset in random order, and one with repeats.
        let data = data(5000);
        let options = EstimatorOptions::default();
        let table = data.row_major();
        let mut names = vec!["const", data.treatment_name()];
        names.extend(data.confounder_names());
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let subset: Vec<usize> = rand::seq::index::sample(&mut rng, 5000, 4500).into_vec();
        let repeats: Vec<usize> = (0..4700).map(|i| (i * 37) % 5000).collect();
        for rows in [subset, repeats] {
            let copied = data.select_rows(&rows);
            assert_eq!(table.select_rows(&rows), copied);
            let plain =
                crate::estimators::point_estimate(&copied, Method::LinearRegression, &options)
                    .unwrap();
            let blocked = subset_treatment_coefficient(&table, &rows, &names).unwrap();
            assert!(
                (blocked - plain).abs() <= 1e-12 * plain.abs(),
                "{blocked} {plain}"
            );
        }
        // A collinear subset is refused like the full regression: every row with T = 1.
        let treated: Vec<usize> = (0..5000).filter(|&i| data.treatment()[i] == 1.0).collect();
        let error = subset_treatment_coefficient(&table, &treated, &names).unwrap_err();
        assert!(error.to_string().contains("`t`"), "{error}");
    }

    #[test]
    fn the_projection_gives_the_full_regressions_coefficient() {
        let data = data(500);
        let options = EstimatorOptions::default();
        let full = |data: &CausalData| {
            crate::estimators::point_estimate(data, Method::LinearRegression, &options).unwrap()
        };
        let projection = Projection::new(&data).unwrap();
        let outcome = projection.residual(data.outcome());
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-10 * b.abs().max(1e-3);
        // The original treatment, a permuted one (placebo), one more confounder.
        let raw_tt = dot(data.treatment(), data.treatment());
        let fast = partial_coefficient(
            &projection.residual(data.treatment()),
            &outcome,
            None,
            raw_tt,
        );
        assert!(close(fast.unwrap(), full(&data)), "{fast:?}");
        let mut permuted = data.treatment().to_vec();
        permuted.shuffle(&mut rng);
        let fast =
            partial_coefficient(&projection.residual(&permuted), &outcome, None, raw_tt).unwrap();
        assert!(close(fast, full(&data.with_treatment(permuted))), "{fast}");
        let noise = standard_normals(&mut rng, data.len());
        let fast = partial_coefficient(
            &projection.residual(data.treatment()),
            &outcome,
            Some(&projection.residual(&noise)),
            raw_tt,
        )
        .unwrap();
        let slow = full(&data.with_extra_confounder(Column::new("w", noise)));
        assert!(close(fast, slow), "{fast} vs {slow}");
        // A treatment in the span of the confounders is collinear.
        let z1 = &data.confounders()[0].values;
        let collinear = projection.residual(z1);
        assert_eq!(
            partial_coefficient(&collinear, &outcome, None, dot(z1, z1)),
            None
        );
    }

    #[test]
    fn a_warm_started_propensity_fit_reaches_the_same_maximum() {
        let data = data(800);
        let options = EstimatorOptions::default();
        let start = propensity_start(&data, Method::PsWeighting, &options).unwrap();
        let subset = data.select_rows(&(0..800).filter(|i| i % 7 != 0).collect::<Vec<_>>());
        let cold = crate::regression::fit_propensity(&subset, &options.propensity).unwrap();
        let warm =
            crate::regression::fit_propensity_from(&subset, &options.propensity, Some(&start))
                .unwrap();
        assert!(
            warm.iterations < cold.iterations,
            "{} {}",
            warm.iterations,
            cold.iterations
        );
        for (a, b) in warm.coefficients.iter().zip(&cold.coefficients) {
            assert!((a - b).abs() < 1e-9 * (1.0 + b.abs()), "{a} vs {b}");
        }
        for method in [
            Method::PsStratification,
            Method::PsMatching,
            Method::PsWeighting,
            Method::Aipw,
        ] {
            let cold = point_estimate_from(&subset, method, &options, None).unwrap();
            let warm = point_estimate_from(&subset, method, &options, Some(&start)).unwrap();
            assert!((warm - cold).abs() < 1e-9, "{method}: {warm} vs {cold}");
        }
        // A start of the wrong length is ignored.
        let ignored =
            crate::regression::fit_propensity_from(&subset, &options.propensity, Some(&[1.0]))
                .unwrap();
        assert_eq!(ignored.coefficients, cold.coefficients);
    }

    #[test]
    fn refuter_names_round_trip() {
        for refuter in Refuter::ALL {
            assert_eq!(refuter.name().parse::<Refuter>().unwrap(), refuter);
        }
    }
}
