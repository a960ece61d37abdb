//! Least squares and logistic regression on nalgebra: the two models every estimator uses.
//!
//! OLS is solved by a Householder QR of the design (never the normal equations), so its
//! coefficients agree with statsmodels' pseudo-inverse solution to ~1e-12 on well-conditioned
//! data; standard errors are the classical (non-robust) ones, as statsmodels' default.
//! Logistic regression is Newton-Raphson / IRLS on the log-likelihood with step halving,
//! optionally with sklearn's L2 penalty on the non-intercept coefficients.

use nalgebra::{DMatrix, DVector};

use crate::data::CausalData;
use crate::error::{CausalError, Result};

/// The design `[1, columns...]` as an n × (k + 1) matrix.
pub(crate) fn design(n: usize, columns: &[&[f64]]) -> DMatrix<f64> {
    let mut matrix = DMatrix::<f64>::zeros(n, columns.len() + 1);
    matrix.column_mut(0).fill(1.0);
    for (index, column) in columns.iter().enumerate() {
        matrix.column_mut(index + 1).copy_from_slice(column);
    }
    matrix
}

/// An ordinary least squares fit.
#[derive(Debug, Clone)]
pub(crate) struct OlsFit {
    pub coefficients: DVector<f64>,
    pub standard_errors: DVector<f64>,
    pub residual_df: usize,
    pub r_squared: f64,
}

/// OLS of `y` on `x` (which includes the intercept column). `names` label the columns of `x`
/// for the singular-design error.
pub(crate) fn ols(x: DMatrix<f64>, y: &[f64], names: &[&str]) -> Result<OlsFit> {
    let (n, p) = x.shape();
    if n <= p {
        return Err(CausalError::TooFewRows {
            what: "linear regression",
            needed: p + 1,
            got: n,
        });
    }
    let fitted_design = x.clone();
    let qr = x.qr();
    let r = qr.r();
    let largest = r
        .diagonal()
        .iter()
        .fold(0.0f64, |acc, value| acc.max(value.abs()));
    if let Some(column) = r
        .diagonal()
        .iter()
        .position(|value| value.abs() <= largest * 1e-10)
    {
        return Err(CausalError::Singular(format!(
            "column `{}` is constant or a linear combination of the others",
            names.get(column).copied().unwrap_or("?")
        )));
    }
    let mut qty = DVector::from_column_slice(y);
    qr.q_tr_mul(&mut qty);
    let head = qty.rows(0, p).into_owned();
    let coefficients = r
        .solve_upper_triangular(&head)
        .ok_or_else(|| CausalError::Singular("triangular solve failed".into()))?;
    let fitted = &fitted_design * &coefficients;
    let mean_y = y.iter().sum::<f64>() / n as f64;
    let (mut residual_ss, mut total_ss) = (0.0, 0.0);
    for (observed, predicted) in y.iter().zip(fitted.iter()) {
        residual_ss += (observed - predicted).powi(2);
        total_ss += (observed - mean_y).powi(2);
    }
    let residual_df = n - p;
    let sigma2 = residual_ss / residual_df as f64;
    let r_inverse = r
        .solve_upper_triangular(&DMatrix::identity(p, p))
        .ok_or_else(|| CausalError::Singular("triangular inverse failed".into()))?;
    // (XᵀX)⁻¹ = R⁻¹ R⁻ᵀ: its diagonal is the squared row norms of R⁻¹.
    let standard_errors = DVector::from_iterator(
        p,
        (0..p).map(|row| (r_inverse.row(row).norm_squared() * sigma2).sqrt()),
    );
    Ok(OlsFit {
        coefficients,
        standard_errors,
        residual_df,
        r_squared: if total_ss > 0.0 {
            1.0 - residual_ss / total_ss
        } else {
            f64::NAN
        },
    })
}

/// Settings of the propensity model p(T = 1 | Z).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PropensityOptions {
    /// L2 penalty λ on the non-intercept coefficients: maximizes `loglik - λ/2 ‖β‖²`.
    /// 0 (the default) is the unpenalized maximum-likelihood fit; 1 reproduces sklearn's
    /// `LogisticRegression()` default (C = 1), which DoWhy uses when given no model.
    pub l2_penalty: f64,
    pub max_iterations: usize,
    /// Convergence: the largest Newton step, relative to 1 + the largest coefficient.
    pub tolerance: f64,
}

impl Default for PropensityOptions {
    fn default() -> Self {
        Self {
            l2_penalty: 0.0,
            max_iterations: 100,
            tolerance: 1e-10,
        }
    }
}

/// A fitted logistic regression of the treatment on the confounders.
#[derive(Debug, Clone)]
pub struct PropensityModel {
    /// Intercept first, then one coefficient per confounder.
    pub coefficients: Vec<f64>,
    pub iterations: usize,
    /// p(T = 1 | Z) per row, unclipped.
    pub scores: Vec<f64>,
}

fn sigmoid(eta: f64) -> f64 {
    if eta >= 0.0 {
        1.0 / (1.0 + (-eta).exp())
    } else {
        let e = eta.exp();
        e / (1.0 + e)
    }
}

fn log_likelihood(eta: &DVector<f64>, treatment: &[f64], beta: &DVector<f64>, penalty: f64) -> f64 {
    let mut total = 0.0;
    for (&linear, &t) in eta.iter().zip(treatment) {
        // log(1 + e^η) computed stably.
        let softplus = if linear > 0.0 {
            linear + (-linear).exp().ln_1p()
        } else {
            linear.exp().ln_1p()
        };
        total += t * linear - softplus;
    }
    let ridge: f64 = beta.iter().skip(1).map(|b| b * b).sum();
    total - 0.5 * penalty * ridge
}

/// Fits p(T = 1 | Z) by IRLS on the data's confounders (T must be 0/1).
pub fn fit_propensity(data: &CausalData, options: &PropensityOptions) -> Result<PropensityModel> {
    let columns: Vec<&[f64]> = data
        .confounders()
        .iter()
        .map(|column| column.values.as_slice())
        .collect();
    let x = design(data.len(), &columns);
    fit_logistic(&x, data.treatment(), options)
}

pub(crate) fn fit_logistic(
    x: &DMatrix<f64>,
    treatment: &[f64],
    options: &PropensityOptions,
) -> Result<PropensityModel> {
    let (n, p) = x.shape();
    let penalty = options.l2_penalty;
    let mut beta = DVector::<f64>::zeros(p);
    let mut eta = x * &beta;
    let mut current = log_likelihood(&eta, treatment, &beta, penalty);
    let mut weighted = x.clone();
    for iteration in 1..=options.max_iterations {
        let mut residual = DVector::<f64>::zeros(n);
        let mut weights = vec![0.0; n];
        for (((slot, weight), &linear), &t) in residual
            .iter_mut()
            .zip(&mut weights)
            .zip(eta.iter())
            .zip(treatment)
        {
            let mu = sigmoid(linear);
            *slot = t - mu;
            *weight = mu * (1.0 - mu);
        }
        // Column-major storage: scale each column slice by the weights (X W, for Xᵀ W X).
        for column in 0..p {
            let source = x.column(column);
            let mut target = weighted.column_mut(column);
            for ((out, value), weight) in target.iter_mut().zip(source.iter()).zip(&weights) {
                *out = value * weight;
            }
        }
        let mut gradient = x.tr_mul(&residual);
        let mut hessian = x.tr_mul(&weighted);
        for k in 1..p {
            gradient[k] -= penalty * beta[k];
            hessian[(k, k)] += penalty;
        }
        let step = hessian
            .cholesky()
            .map(|cholesky| cholesky.solve(&gradient))
            .ok_or_else(|| CausalError::NoConvergence {
                iterations: iteration,
                reason: "the weighted design is singular: a confounder is constant or collinear, or the treatment is perfectly separated".into(),
            })?;
        // Step halving keeps every iteration an ascent step.
        let mut scale = 1.0;
        let (candidate, candidate_eta, value) = loop {
            let candidate = &beta + &step * scale;
            let candidate_eta = x * &candidate;
            let value = log_likelihood(&candidate_eta, treatment, &candidate, penalty);
            if value >= current - 1e-12 * current.abs() || scale < 1e-8 {
                break (candidate, candidate_eta, value);
            }
            scale *= 0.5;
        };
        let largest_step = (&step * scale).amax();
        beta = candidate;
        eta = candidate_eta;
        current = value;
        if !beta.iter().all(|b| b.is_finite()) || beta.amax() > 1e8 {
            break;
        }
        if largest_step <= options.tolerance * (1.0 + beta.amax()) {
            return Ok(PropensityModel {
                coefficients: beta.iter().copied().collect(),
                iterations: iteration,
                scores: eta.iter().map(|&linear| sigmoid(linear)).collect(),
            });
        }
    }
    Err(CausalError::NoConvergence {
        iterations: options.max_iterations,
        reason: "coefficients keep growing: the confounders (nearly) separate treated from control rows; \
                 set a propensity l2 penalty or drop the separating confounder"
            .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ols_recovers_an_exact_line() {
        let x1 = [0.0, 1.0, 2.0, 3.0, 4.0];
        let y: Vec<f64> = x1.iter().map(|v| 2.0 + 3.0 * v).collect();
        let fit = ols(design(5, &[&x1]), &y, &["const", "x1"]).unwrap();
        assert!((fit.coefficients[0] - 2.0).abs() < 1e-12);
        assert!((fit.coefficients[1] - 3.0).abs() < 1e-12);
    }

    #[test]
    fn a_collinear_column_is_named() {
        let x1 = [0.0, 1.0, 2.0, 3.0, 4.0];
        let x2 = [0.0, 2.0, 4.0, 6.0, 8.0];
        let error = ols(
            design(5, &[&x1, &x2]),
            &[1.0, 2.0, 3.0, 5.0, 4.0],
            &["const", "x1", "x2"],
        )
        .unwrap_err();
        assert!(error.to_string().contains("`x2`"), "{error}");
    }

    #[test]
    fn logistic_regression_reaches_the_score_equations() {
        let z: Vec<f64> = (0..200).map(|i| (i as f64 / 20.0) - 5.0).collect();
        let t: Vec<f64> = z
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if (v + ((i * 7) % 5) as f64 - 2.0) > 0.0 {
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        let x = design(200, &[&z]);
        let model = fit_logistic(&x, &t, &PropensityOptions::default()).unwrap();
        // At the MLE, Σ (t - p) = 0 and Σ z (t - p) = 0.
        let score0: f64 = t.iter().zip(&model.scores).map(|(t, p)| t - p).sum();
        let score1: f64 = t
            .iter()
            .zip(&model.scores)
            .zip(&z)
            .map(|((t, p), z)| z * (t - p))
            .sum();
        assert!(
            score0.abs() < 1e-8 && score1.abs() < 1e-8,
            "{score0} {score1}"
        );
    }

    #[test]
    fn perfect_separation_is_reported_not_looped_on() {
        let z: Vec<f64> = (0..50).map(f64::from).collect();
        let t: Vec<f64> = z
            .iter()
            .map(|v| if *v >= 25.0 { 1.0 } else { 0.0 })
            .collect();
        let error =
            fit_logistic(&design(50, &[&z]), &t, &PropensityOptions::default()).unwrap_err();
        assert!(
            matches!(error, CausalError::NoConvergence { .. }),
            "{error}"
        );
    }
}
