//! Least squares and logistic regression on nalgebra: the two models every estimator uses.
//!
//! OLS is solved by a Householder QR of the design (never the normal equations), so its
//! coefficients agree with statsmodels' pseudo-inverse solution to ~1e-12 on well-conditioned
//! data; standard errors are the classical (non-robust) ones, as statsmodels' default.
//! Logistic regression is Newton-Raphson / IRLS on the log-likelihood with step halving,
//! optionally with sklearn's L2 penalty on the non-intercept coefficients.

use nalgebra::{DMatrix, DVector};

use crate::data::{CausalData, RowMajor};
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
    /// The classical covariance of the coefficients, `σ̂² (XᵀX)⁻¹` (statsmodels' `cov_params()`).
    pub covariance: DMatrix<f64>,
    /// The residual variance `σ̂² = RSS / (n − p)` (statsmodels' `scale`).
    pub scale: f64,
}

/// OLS of `y` on `x` (which includes the intercept column). `names` label the columns of `x`
/// for the singular-design error.
/// Fails when a diagonal entry of an R factor is negligible next to the largest: its column is
/// constant or a linear combination of the others (`names` label the columns).
fn check_rank(diagonal: &DVector<f64>, names: &[&str]) -> Result<()> {
    let largest = diagonal
        .iter()
        .fold(0.0f64, |acc, value| acc.max(value.abs()));
    match diagonal
        .iter()
        .position(|value| value.abs() <= largest * 1e-10)
    {
        Some(column) => Err(CausalError::Singular(format!(
            "column `{}` is constant or a linear combination of the others",
            names.get(column).copied().unwrap_or("?")
        ))),
        None => Ok(()),
    }
}

/// The smallest absolute diagonal entry of an R factor relative to the largest (0 for an
/// all-zero diagonal): how far the design is from [`check_rank`]'s 1e-10.
pub(crate) fn min_relative_diagonal(diagonal: &DVector<f64>) -> f64 {
    let largest = diagonal
        .iter()
        .fold(0.0f64, |acc, value| acc.max(value.abs()));
    let smallest = diagonal
        .iter()
        .fold(f64::INFINITY, |acc, value| acc.min(value.abs()));
    if largest > 0.0 {
        smallest / largest
    } else {
        0.0
    }
}

pub(crate) fn ols(x: DMatrix<f64>, y: &[f64], names: &[&str]) -> Result<OlsFit> {
    let (n, p) = x.shape();
    if n <= p {
        return Err(CausalError::TooFewRows {
            what: "linear regression",
            needed: p + 1,
            got: n,
        });
    }
    let qr = x.qr();
    let r = qr.r();
    check_rank(&r.diagonal(), names)?;
    let mut qty = DVector::from_column_slice(y);
    qr.q_tr_mul(&mut qty);
    let head = qty.rows(0, p).into_owned();
    let coefficients = r
        .solve_upper_triangular(&head)
        .ok_or_else(|| CausalError::Singular("triangular solve failed".into()))?;
    // Qᵀy below the first p rows is Qᵀ of the residual: its squared norm is the residual sum
    // of squares (no copy of the design for the fitted values).
    let residual_ss = qty.rows(p, n - p).norm_squared();
    let mean_y = y.iter().sum::<f64>() / n as f64;
    let total_ss: f64 = y.iter().map(|observed| (observed - mean_y).powi(2)).sum();
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
    let covariance = (&r_inverse * r_inverse.transpose()) * sigma2;
    Ok(OlsFit {
        coefficients,
        standard_errors,
        residual_df,
        covariance,
        scale: sigma2,
        r_squared: if total_ss > 0.0 {
            1.0 - residual_ss / total_ss
        } else {
            f64::NAN
        },
    })
}

/// The treatment coefficient of `Y ~ [1, T, Z]` on the rows `rows` of `table` (the linear
/// regression's `data_subset` refutation), without copying the subset: a Householder QR of
/// `[1, T, Z, Y]` in blocks of [`SUBSET_BLOCK`] rows, each block stacked under the R of the
/// rows before it (TSQR), so every block stays in cache. The final R holds `R` of the design
/// and `Qᵀy` in its last column; the coefficient agrees with [`ols`] on the copied subset to
/// rounding (orthogonal transformations throughout, never the normal equations). Errors like
/// [`ols`].
pub(crate) fn subset_treatment_coefficient(
    table: &RowMajor<'_>,
    rows: &[usize],
    names: &[&str],
) -> Result<f64> {
    let r = tsqr(table, rows)?;
    let p = r.ncols() - 1;
    let design = r.view((0, 0), (p, p));
    check_rank(&design.diagonal(), names)?;
    let head = r.view((0, p), (p, 1)).into_owned();
    let coefficients = design
        .into_owned()
        .solve_upper_triangular(&head)
        .ok_or_else(|| CausalError::Singular("triangular solve failed".into()))?;
    Ok(coefficients[1])
}

/// The R factor (p × (p + 1), `Qᵀy` in its last column) of `[1, T, Z, Y]` on the rows `rows`
/// of `table`, by the blocked QR of [`subset_treatment_coefficient`].
pub(crate) fn tsqr(table: &RowMajor<'_>, rows: &[usize]) -> Result<DMatrix<f64>> {
    let confounders = table.width() - 2;
    let p = confounders + 2;
    let width = p + 1;
    if rows.len() <= p {
        return Err(CausalError::TooFewRows {
            what: "linear regression",
            needed: p + 1,
            got: rows.len(),
        });
    }
    let mut r = DMatrix::<f64>::zeros(0, width);
    for chunk in rows.chunks(SUBSET_BLOCK) {
        let top = r.nrows();
        let mut block = DMatrix::<f64>::zeros(top + chunk.len(), width);
        block.rows_mut(0, top).copy_from(&r);
        for (offset, &index) in chunk.iter().enumerate() {
            let row = table.row(index);
            let at = top + offset;
            block[(at, 0)] = 1.0;
            block[(at, 1)] = row[0];
            for column in 0..confounders {
                block[(at, 2 + column)] = row[2 + column];
            }
            block[(at, p)] = row[1];
        }
        r = block.qr().r();
    }
    Ok(r.rows(0, p).into_owned())
}

/// Rows per block of [`subset_treatment_coefficient`]: 2048 × 9 values fit in L2.
const SUBSET_BLOCK: usize = 2048;

/// The projection off the span of `[1, Z]` (an orthonormal basis from a QR of that design),
/// for re-estimating the linear regression's treatment coefficient when only the treatment
/// changes or one confounder is added: by Frisch-Waugh-Lovell the coefficient of T in
/// `Y ~ [1, T, Z]` is `T̃ᵀỸ / T̃ᵀT̃`, where `~` is the residual after that projection. One
/// projection costs two passes over the design instead of a new QR of all of it.
pub(crate) struct Projection {
    /// Orthonormal columns spanning `[1, Z]`, n × (k + 1), column-major.
    basis: DMatrix<f64>,
}

impl Projection {
    /// The projection for the confounders of `data`; errors like [`ols`] on a singular design.
    pub fn new(data: &CausalData) -> Result<Self> {
        let columns: Vec<&[f64]> = data
            .confounders()
            .iter()
            .map(|column| column.values.as_slice())
            .collect();
        let x = design(data.len(), &columns);
        let p = x.ncols();
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
            let name = if column == 0 {
                "const"
            } else {
                data.confounders()[column - 1].name.as_str()
            };
            return Err(CausalError::Singular(format!(
                "column `{name}` is constant or a linear combination of the others"
            )));
        }
        let basis = qr.q();
        debug_assert_eq!(basis.ncols(), p);
        Ok(Self { basis })
    }

    /// The basis columns, for tests.
    #[cfg(test)]
    pub(crate) fn basis_columns(&self, n: usize) -> std::slice::ChunksExact<'_, f64> {
        self.basis.as_slice().chunks_exact(n)
    }

    /// `v` minus its projection on `[1, Z]`.
    ///
    /// Two passes over the basis instead of two per column: every column's [`dot`] with `v` in
    /// one pass (each with `dot`'s own lanes and order), then each value minus its projections
    /// in column order, the same arithmetic as one column at a time.
    pub fn residual(&self, v: &[f64]) -> Vec<f64> {
        let columns = self.columns(v.len());
        let coefficients = dots(&columns, v);
        let mut out = v.to_vec();
        for (row, slot) in out.iter_mut().enumerate() {
            for (column, coefficient) in columns.iter().zip(&coefficients) {
                *slot -= coefficient * column[row];
            }
        }
        out
    }

    /// The basis columns (each of length `n`, the number of rows).
    pub fn columns(&self, n: usize) -> Vec<&[f64]> {
        self.basis.as_slice().chunks_exact(n).collect()
    }
}

/// `[c · v for c in columns]` in one pass over `v`, each with [`dot`]'s four lanes and order
/// (the same values as one [`dot`] per column).
pub(crate) fn dots(columns: &[&[f64]], v: &[f64]) -> Vec<f64> {
    let n = v.len();
    let mut sums = vec![[0.0f64; 4]; columns.len()];
    let whole = n - n % 4;
    for start in (0..whole).step_by(4) {
        let x = &v[start..start + 4];
        for (column, sums) in columns.iter().zip(sums.iter_mut()) {
            let q = &column[start..start + 4];
            for lane in 0..4 {
                sums[lane] += q[lane] * x[lane];
            }
        }
    }
    columns
        .iter()
        .zip(&sums)
        .map(|(column, sums)| {
            let mut total = (sums[0] + sums[1]) + (sums[2] + sums[3]);
            for (q, x) in column[whole..].iter().zip(&v[whole..]) {
                total += q * x;
            }
            total
        })
        .collect()
}

/// The treatment coefficient of `Y ~ [1, T, Z]` from the residuals `t`, `y` of T and Y
/// after [`Projection`], or of `Y ~ [1, T, Z, W]` when `extra` holds W's residual (one more
/// Frisch-Waugh-Lovell step). `None` when T (given the rest) is collinear with the design:
/// its residual's norm is at most 1e-10 of T's own (`raw_tt`, `TᵀT` before the projection),
/// the test [`ols`] applies to the diagonal of R.
pub(crate) fn partial_coefficient(
    t: &[f64],
    y: &[f64],
    extra: Option<&[f64]>,
    raw_tt: f64,
) -> Option<f64> {
    let (mut ty, mut tt) = (dot(t, y), dot(t, t));
    if let Some(w) = extra {
        let ww = dot(w, w);
        if ww <= 0.0 {
            return None;
        }
        let (wt, wy) = (dot(w, t), dot(w, y));
        ty -= wt * wy / ww;
        tt -= wt * wt / ww;
    }
    (tt > raw_tt * 1e-20 && tt > 0.0).then(|| ty / tt)
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

/// Rows per block of the IRLS passes: the block's design columns stay in cache while the
/// Hessian's dot products run over them.
const BLOCK: usize = 2048;

/// `Σ a·b` with four accumulators (so the compiler can vectorize it).
#[inline]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut sums = [0.0f64; 4];
    let (a_chunks, b_chunks) = (a.chunks_exact(4), b.chunks_exact(4));
    let (a_rest, b_rest) = (a_chunks.remainder(), b_chunks.remainder());
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..4 {
            sums[lane] += x[lane] * y[lane];
        }
    }
    let mut total = (sums[0] + sums[1]) + (sums[2] + sums[3]);
    for (x, y) in a_rest.iter().zip(b_rest) {
        total += x * y;
    }
    total
}

/// One pass over the rows at coefficients β: η = Xβ, μ = σ(η) into `mu`, the gradient
/// `Xᵀ(t − μ)` (unpenalized) and the penalized log-likelihood
/// `Σ tη − log(1 + e^η) − λ/2 ‖β₁..‖²`, with one `exp` per row shared by μ and the softplus.
fn linear_predictor_pass(
    columns: &[&[f64]],
    beta: &[f64],
    treatment: &[f64],
    penalty: f64,
    mu: &mut [f64],
) -> (f64, DVector<f64>) {
    // softplus(η) = max(η, 0) + log(1 + e) with e = exp(-|η|) ∈ (0, 1]: the logs are summed as
    // the log of products of at most 512 factors in (1, 2] (no overflow), so a block costs a
    // handful of `ln` calls instead of one per row. The rounding error, ~1e-13 per product,
    // is far below the line search's 1e-12 relative slack on a sum over many rows.
    const FACTORS: usize = 512;
    let n = treatment.len();
    let mut gradient = DVector::<f64>::zeros(beta.len());
    let mut eta = [0.0f64; BLOCK];
    let mut residual = [0.0f64; BLOCK];
    let mut linear_part = 0.0;
    let mut log_part = 0.0;
    for start in (0..n).step_by(BLOCK) {
        let len = BLOCK.min(n - start);
        let eta = &mut eta[..len];
        eta.fill(beta[0]);
        for (column, &coefficient) in columns.iter().zip(&beta[1..]) {
            let values = &column[start..start + len];
            for (slot, value) in eta.iter_mut().zip(values) {
                *slot += coefficient * value;
            }
        }
        let treatment = &treatment[start..start + len];
        let mu = &mut mu[start..start + len];
        for (offset, chunk) in (0..len).step_by(FACTORS).map(|o| (o, FACTORS.min(len - o))) {
            let mut product = 1.0;
            for row in offset..offset + chunk {
                let (linear, t) = (eta[row], treatment[row]);
                // Without a branch on the sign (unpredictable): σ(η) = 1 / (1 + e) for η > 0
                // and e / (1 + e) otherwise, the same operations as two branches would do.
                let e = (-linear.abs()).exp();
                let numerator = if linear > 0.0 { 1.0 } else { e };
                let probability = numerator / (1.0 + e);
                let positive = linear.max(0.0);
                product *= 1.0 + e;
                mu[row] = probability;
                residual[row] = t - probability;
                linear_part += t * linear - positive;
            }
            log_part += product.ln();
        }
        gradient[0] += residual[..len].iter().sum::<f64>();
        for (j, column) in columns.iter().enumerate() {
            gradient[j + 1] += dot(&column[start..start + len], &residual[..len]);
        }
    }
    let ridge: f64 = beta.iter().skip(1).map(|b| b * b).sum();
    (linear_part - log_part - 0.5 * penalty * ridge, gradient)
}

/// One pass over the rows: the Hessian `Xᵀ W X` (W = μ(1 − μ)) of X = `[1, columns...]`, its
/// upper triangle accumulated block by block, then mirrored.
fn hessian_pass(columns: &[&[f64]], mu: &[f64]) -> DMatrix<f64> {
    let n = mu.len();
    let p = columns.len() + 1;
    let mut hessian = DMatrix::<f64>::zeros(p, p);
    let mut weighted = vec![0.0f64; p * BLOCK];
    for start in (0..n).step_by(BLOCK) {
        let len = BLOCK.min(n - start);
        // Column 0 is the intercept: its weighted column is the weights themselves.
        for (w, &m) in weighted[..len].iter_mut().zip(&mu[start..start + len]) {
            *w = m * (1.0 - m);
        }
        let (weights, rest) = weighted.split_at_mut(BLOCK);
        let weights = &weights[..len];
        for (j, column) in columns.iter().enumerate() {
            let target = &mut rest[j * BLOCK..j * BLOCK + len];
            for ((out, value), w) in target
                .iter_mut()
                .zip(&column[start..start + len])
                .zip(weights)
            {
                *out = value * w;
            }
        }
        hessian[(0, 0)] += weights.iter().sum::<f64>();
        for j in 0..p {
            let left = &weighted[j * BLOCK..j * BLOCK + len];
            for k in j.max(1)..p {
                hessian[(j, k)] += dot(left, &columns[k - 1][start..start + len]);
            }
        }
    }
    for j in 0..p {
        for k in 0..j {
            hessian[(j, k)] = hessian[(k, j)];
        }
    }
    hessian
}

/// Fits p(T = 1 | Z) by IRLS on the data's confounders (T must be 0/1).
pub fn fit_propensity(data: &CausalData, options: &PropensityOptions) -> Result<PropensityModel> {
    fit_propensity_from(data, options, None)
}

/// [`fit_propensity`] starting Newton's iterations from `start` (intercept first) instead of
/// 0, when it has the right length: refuters and bootstrap resamples start from the original
/// fit, which saves most iterations. The maximum is the same (the log-likelihood is concave);
/// only where the iterations stop within the tolerance moves, far below it.
pub fn fit_propensity_from(
    data: &CausalData,
    options: &PropensityOptions,
    start: Option<&[f64]>,
) -> Result<PropensityModel> {
    let columns: Vec<&[f64]> = data
        .confounders()
        .iter()
        .map(|column| column.values.as_slice())
        .collect();
    fit_logistic(&columns, data.treatment(), options, start)
}

/// Logistic regression of the 0/1 `treatment` on `[1, columns...]`.
pub(crate) fn fit_logistic(
    columns: &[&[f64]],
    treatment: &[f64],
    options: &PropensityOptions,
    start: Option<&[f64]>,
) -> Result<PropensityModel> {
    let (n, p) = (treatment.len(), columns.len() + 1);
    let penalty = options.l2_penalty;
    let mut beta = match start {
        Some(start) if start.len() == p && start.iter().all(|b| b.is_finite()) => {
            DVector::from_column_slice(start)
        }
        _ => DVector::<f64>::zeros(p),
    };
    let mut mu = vec![0.0; n];
    let mut candidate_mu = vec![0.0; n];
    let (mut current, mut gradient) =
        linear_predictor_pass(columns, beta.as_slice(), treatment, penalty, &mut mu);
    if !current.is_finite() && start.is_some() {
        return fit_logistic(columns, treatment, options, None);
    }
    let penalize = |gradient: &mut DVector<f64>, beta: &DVector<f64>| {
        for k in 1..p {
            gradient[k] -= penalty * beta[k];
        }
    };
    penalize(&mut gradient, &beta);
    let converged = |beta: DVector<f64>, iterations: usize, scores: Vec<f64>| PropensityModel {
        coefficients: beta.iter().copied().collect(),
        iterations,
        scores,
    };
    for iteration in 1..=options.max_iterations {
        let mut hessian = hessian_pass(columns, &mu);
        for k in 1..p {
            hessian[(k, k)] += penalty;
        }
        let cholesky = hessian.cholesky().ok_or_else(|| CausalError::NoConvergence {
            iterations: iteration,
            reason: "the weighted design is singular: a confounder is constant or collinear, or the treatment is perfectly separated".into(),
        })?;
        let step = cholesky.solve(&gradient);
        // Step halving keeps every iteration an ascent step.
        let mut scale = 1.0;
        let (candidate, value, candidate_gradient) = loop {
            let candidate = &beta + &step * scale;
            let (value, gradient) = linear_predictor_pass(
                columns,
                candidate.as_slice(),
                treatment,
                penalty,
                &mut candidate_mu,
            );
            if value >= current - 1e-12 * current.abs() || scale < 1e-8 {
                break (candidate, value, gradient);
            }
            scale *= 0.5;
        };
        let largest_step = (&step * scale).amax();
        beta = candidate;
        gradient = candidate_gradient;
        penalize(&mut gradient, &beta);
        std::mem::swap(&mut mu, &mut candidate_mu);
        current = value;
        if !beta.iter().all(|b| b.is_finite()) || beta.amax() > 1e8 {
            break;
        }
        let tolerance = options.tolerance * (1.0 + beta.amax());
        if largest_step <= tolerance {
            return Ok(converged(beta, iteration, mu));
        }
        // The next Newton step, predicted with this iteration's Hessian: once β moves little
        // (a full step below 1e-3), that Hessian is accurate to a relative O(step), and when the
        // predicted step is within the tolerance β is converged and the next Hessian pass is
        // saved. (A diverging fit keeps taking large steps and never gets here: it ends on the
        // singular Hessian or the iteration limit, as before.)
        if scale == 1.0
            && largest_step <= 1e-3 * (1.0 + beta.amax())
            && cholesky.solve(&gradient).amax() <= tolerance
        {
            return Ok(converged(beta, iteration, mu));
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
        let model = fit_logistic(&[&z], &t, &PropensityOptions::default(), None).unwrap();
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
    fn a_warm_start_does_not_hide_separation_or_a_constant_treatment() {
        let z: Vec<f64> = (0..50).map(|i| f64::from(i) / 10.0).collect();
        let separated: Vec<f64> = z.iter().map(|v| f64::from(u8::from(*v >= 2.5))).collect();
        for t in [separated, vec![0.0; 50], vec![1.0; 50]] {
            for start in [None, Some(&[0.3, 0.1][..]), Some(&[-40.0, 16.0][..])] {
                let result = fit_logistic(&[&z], &t, &PropensityOptions::default(), start);
                assert!(
                    matches!(result, Err(CausalError::NoConvergence { .. })),
                    "{start:?}: {:?}",
                    result.map(|model| model.coefficients)
                );
            }
        }
    }

    #[test]
    fn perfect_separation_is_reported_not_looped_on() {
        let z: Vec<f64> = (0..50).map(f64::from).collect();
        let t: Vec<f64> = z
            .iter()
            .map(|v| if *v >= 25.0 { 1.0 } else { 0.0 })
            .collect();
        let error = fit_logistic(&[&z], &t, &PropensityOptions::default(), None).unwrap_err();
        assert!(
            matches!(error, CausalError::NoConvergence { .. }),
            "{error}"
        );
    }
}
