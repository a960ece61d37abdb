//! Sensitivity of a back-door estimate to unobserved confounding: how strong a confounder
//! left out of the adjustment set would have to be to explain the estimate away.
//!
//! - **Robustness value** (Cinelli and Hazlett 2020, "Making sense of sensitivity"), from the
//!   linear outcome regression `Y ~ T + Z`: with `t` the treatment's t statistic and `df` the
//!   residual degrees of freedom, the partial Cohen's `f = |t| / √df` and, for `q = 1` (the
//!   whole estimate), `RV = (√(f⁴ + 4f²) − f²) / 2`: a confounder explaining at least RV of
//!   the residual variance of both the treatment and the outcome would bring the estimate to
//!   0. `RV_α` does the same for the confidence interval to reach 0 (with `f` reduced by the
//!   critical `|t_{α/2, df−1}| / √(df−1)`, and DoWhy's/sensemakr's edge case). The numbers of
//!   DoWhy's `LinearSensitivityAnalyzer` (`add_unobserved_common_cause` with
//!   `simulation_method="linear-partial-R2"`).
//! - **E-value** (VanderWeele and Ding 2017) for a continuous outcome through their
//!   standardized-difference approximation: `d = estimate / sd(Y)` (sd with ddof 0), the
//!   approximate risk ratio `RR = exp(0.91 d)` with limits `exp(0.91 d ∓ 1.78 se/sd(Y))`,
//!   `E = RR* + √(RR* (RR* − 1))` with `RR* = max(RR, 1/RR)`; the interval's E-value is that
//!   of the limit closer to 1, and 1 when the interval crosses 1. DoWhy's
//!   `EValueSensitivityAnalyzer` (`simulation_method="e-value"`). For the propensity-score
//!   methods the same conversion is applied to their estimate and standard error.
//! - **Benchmarks**: each observed covariate's partial R² with the treatment (given the other
//!   covariates) and with the outcome (given the treatment and the other covariates). The
//!   strongest is the one whose smaller partial R² is largest: an unobserved confounder as
//!   strong as it on both sides is comparable with the robustness value.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::data::CausalData;
use crate::error::{CausalError, Result};
use crate::regression::{design, ols};

/// An E-value and the risk-ratio conversion behind it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EValue {
    /// `estimate / sd(Y)`.
    pub standardized_difference: f64,
    /// `exp(0.91 d)`.
    pub risk_ratio: f64,
    /// `[exp(0.91 d − 1.78 se_d), exp(0.91 d + 1.78 se_d)]`.
    pub risk_ratio_ci: [f64; 2],
    /// The E-value of the point estimate.
    pub e_value: f64,
    /// The E-value of the interval limit closer to the null (1 when it crosses the null).
    pub e_value_ci: f64,
}

fn threshold(ratio: f64) -> f64 {
    let x = if ratio <= 1.0 { 1.0 / ratio } else { ratio };
    x + (x * (x - 1.0)).sqrt()
}

/// VanderWeele and Ding's E-value of a mean difference `estimate` (standard error
/// `standard_error`) on an outcome with standard deviation `sd_outcome`.
pub fn e_value_continuous(estimate: f64, standard_error: f64, sd_outcome: f64) -> EValue {
    let d = estimate / sd_outcome;
    let se = standard_error / sd_outcome;
    let risk_ratio = (0.91 * d).exp();
    let (lo, hi) = ((0.91 * d - 1.78 * se).exp(), (0.91 * d + 1.78 * se).exp());
    let e_value = threshold(risk_ratio);
    let e_value_ci = if risk_ratio > 1.0 {
        if lo < 1.0 { 1.0 } else { threshold(lo) }
    } else if risk_ratio < 1.0 {
        if hi > 1.0 { 1.0 } else { threshold(hi) }
    } else {
        1.0
    };
    EValue {
        standardized_difference: d,
        risk_ratio,
        risk_ratio_ci: [lo, hi],
        e_value,
        e_value_ci,
    }
}

/// Cinelli and Hazlett's robustness value `RV_{q,α}` of a coefficient with t statistic
/// `t_statistic` on `dof` residual degrees of freedom (`alpha = 1` for the point estimate).
pub fn robustness_value(t_statistic: f64, dof: f64, q: f64, alpha: f64) -> f64 {
    let f_q = q * (t_statistic / dof.sqrt()).abs();
    let f_critical = if alpha >= 1.0 {
        0.0
    } else {
        let t = StudentsT::new(0.0, 1.0, dof - 1.0).expect("positive degrees of freedom");
        t.inverse_cdf(alpha / 2.0).abs() / (dof - 1.0).sqrt()
    };
    let f_adjusted = f_q - f_critical;
    if f_adjusted < 0.0 {
        return 0.0;
    }
    if f_critical > 0.0 && f_q > 1.0 / f_critical {
        return (f_q * f_q - f_critical * f_critical) / (1.0 + f_q * f_q);
    }
    0.5 * ((f_adjusted.powi(4) + 4.0 * f_adjusted.powi(2)).sqrt() - f_adjusted.powi(2))
}

/// An observed covariate's strength, for benchmarking.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CovariateStrength {
    pub name: String,
    /// Partial R² with the treatment, given the other covariates.
    pub partial_r2_treatment: f64,
    /// Partial R² with the outcome, given the treatment and the other covariates.
    pub partial_r2_outcome: f64,
}

/// The sensitivity of one back-door estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sensitivity {
    /// The estimate and standard error the E-value is computed from.
    pub estimate: f64,
    pub standard_error: f64,
    /// The linear outcome regression's treatment coefficient, t statistic and residual df
    /// (what the robustness value is computed from).
    pub regression_estimate: f64,
    pub t_statistic: f64,
    pub dof: f64,
    /// Partial R² of the treatment with the outcome, `t² / (t² + df)`.
    pub partial_r2: f64,
    /// `RV_{q=1}`: explains the estimate away.
    pub robustness_value: f64,
    /// `RV_{q=1,α}`: brings the interval to include 0.
    pub robustness_value_alpha: f64,
    pub alpha: f64,
    pub e_value: EValue,
    pub covariates: Vec<CovariateStrength>,
    /// The covariate whose smaller partial R² is largest.
    pub strongest: Option<CovariateStrength>,
}

fn partial_r2(t: f64, dof: f64) -> f64 {
    t * t / (t * t + dof)
}

/// The sensitivity of the linear regression estimate on `data` (`Y ~ [1, T, Z]`), with the
/// E-value computed from `estimate` and `standard_error` when given (another method's
/// estimate), else from the regression's. `alpha` is `1 − confidence level`.
pub fn sensitivity(
    data: &CausalData,
    alpha: f64,
    estimate: Option<(f64, f64)>,
) -> Result<Sensitivity> {
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(CausalError::InvalidOption(format!(
            "sensitivity alpha {alpha} is not in (0, 1)"
        )));
    }
    let n = data.len();
    let names: Vec<&str> = data.confounder_names();
    let z: Vec<&[f64]> = data
        .confounders()
        .iter()
        .map(|c| c.values.as_slice())
        .collect();
    let mut columns: Vec<&[f64]> = vec![data.treatment()];
    columns.extend(&z);
    let mut labels = vec!["const", data.treatment_name()];
    labels.extend(&names);
    let outcome_fit = ols(design(n, &columns), data.outcome(), &labels)?;
    let dof = outcome_fit.residual_df as f64;
    let t_of = |fit: &crate::regression::OlsFit, index: usize| {
        fit.coefficients[index] / fit.standard_errors[index]
    };
    let t_statistic = t_of(&outcome_fit, 1);
    let mut covariates = Vec::new();
    if !z.is_empty() {
        let mut z_labels = vec!["const"];
        z_labels.extend(&names);
        let treatment_fit = ols(design(n, &z), data.treatment(), &z_labels)?;
        let treatment_dof = treatment_fit.residual_df as f64;
        for (j, name) in names.iter().enumerate() {
            covariates.push(CovariateStrength {
                name: (*name).to_owned(),
                partial_r2_treatment: partial_r2(t_of(&treatment_fit, j + 1), treatment_dof),
                partial_r2_outcome: partial_r2(t_of(&outcome_fit, j + 2), dof),
            });
        }
    }
    let strongest = covariates
        .iter()
        .max_by(|a, b| {
            let strength = |c: &CovariateStrength| c.partial_r2_treatment.min(c.partial_r2_outcome);
            strength(a).total_cmp(&strength(b))
        })
        .cloned();
    let outcome = data.outcome();
    let mean = outcome.iter().sum::<f64>() / n as f64;
    let sd = (outcome.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
    let (estimate, standard_error) =
        estimate.unwrap_or((outcome_fit.coefficients[1], outcome_fit.standard_errors[1]));
    Ok(Sensitivity {
        estimate,
        standard_error,
        regression_estimate: outcome_fit.coefficients[1],
        t_statistic,
        dof,
        partial_r2: partial_r2(t_statistic, dof),
        robustness_value: robustness_value(t_statistic, dof, 1.0, 1.0),
        robustness_value_alpha: robustness_value(t_statistic, dof, 1.0, alpha),
        alpha,
        e_value: e_value_continuous(estimate, standard_error, sd),
        covariates,
        strongest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e_value_of_a_null_effect_is_one_and_grows_with_the_effect() {
        assert_eq!(e_value_continuous(0.0, 0.1, 1.0).e_value, 1.0);
        let small = e_value_continuous(0.2, 0.05, 1.0);
        let large = e_value_continuous(1.0, 0.05, 1.0);
        assert!(large.e_value > small.e_value && small.e_value > 1.0);
        // Symmetric in the sign of the effect.
        let negative = e_value_continuous(-1.0, 0.05, 1.0);
        assert!((negative.e_value - large.e_value).abs() < 1e-12);
        // An interval across the null has E-value 1.
        assert_eq!(e_value_continuous(0.1, 1.0, 1.0).e_value_ci, 1.0);
    }

    #[test]
    fn robustness_value_is_zero_for_a_null_and_below_one() {
        assert_eq!(robustness_value(0.0, 100.0, 1.0, 1.0), 0.0);
        let rv = robustness_value(10.0, 100.0, 1.0, 1.0);
        assert!(rv > 0.0 && rv < 1.0);
        assert!(robustness_value(10.0, 100.0, 1.0, 0.05) < rv);
        assert_eq!(robustness_value(1.0, 100.0, 1.0, 0.05), 0.0);
    }
}
