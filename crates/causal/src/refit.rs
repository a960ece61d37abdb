//! The linear regression's treatment coefficient re-fitted under a refuter's perturbation
//! without a new regression per simulation: the refuters change one column (placebo), add one
//! (random common cause) or drop a tenth of the rows (data subset), and each of those is a
//! small update of a factorization of the original design computed once.
//!
//! Every fast path checks its own conditioning and falls back to the exact computation it
//! replaces (the explicit residual of [`Projection`], the blocked QR of
//! [`subset_treatment_coefficient`]) where it would lose digits, so the decisions (a collinear
//! treatment, a singular subset) and their errors are those of the full regression.

use nalgebra::{DMatrix, DVector};

use crate::data::{CausalData, RowMajor};
use crate::error::Result;
use crate::regression::{Projection, dot, dots, partial_coefficient, subset_treatment_coefficient};
use crate::regression::{min_relative_diagonal, tsqr};

/// Below this, `‖v‖² − ‖Qᵀv‖²` (a residual's squared norm by subtraction) has lost more than
/// half of its digits to cancellation: the residual is then computed explicitly.
const CANCELLATION: f64 = 1e-8;

/// By Frisch-Waugh-Lovell, the coefficient of T in `Y ~ [1, T, Z]` is `T̃ᵀỸ / T̃ᵀT̃` (`~`: the
/// residual off `[1, Z]`). For a new treatment V (placebo), `ṼᵀỸ = VᵀỸ` and
/// `ṼᵀṼ = VᵀV − ‖QᵀV‖²`; for one more confounder W (random common cause), `W̃ᵀT̃ = WᵀT̃`,
/// `W̃ᵀỸ = WᵀỸ` and `W̃ᵀW̃ = WᵀW − ‖QᵀW‖²`. Either way one pass of dot products over the new
/// column replaces its residual (a second pass and a copy) and the dot products after it.
pub(crate) struct PartialFit {
    projection: Projection,
    /// Residuals of T and Y off `[1, Z]`.
    treatment: Vec<f64>,
    outcome: Vec<f64>,
    /// `T̃ᵀỸ`, `T̃ᵀT̃` and `TᵀT` (the scale of the collinearity test).
    ty: f64,
    tt: f64,
    raw_tt: f64,
}

impl PartialFit {
    pub fn new(data: &CausalData) -> Result<Self> {
        let projection = Projection::new(data)?;
        let treatment = projection.residual(data.treatment());
        let outcome = projection.residual(data.outcome());
        Ok(Self {
            ty: dot(&treatment, &outcome),
            tt: dot(&treatment, &treatment),
            raw_tt: dot(data.treatment(), data.treatment()),
            projection,
            treatment,
            outcome,
        })
    }

    /// `(VᵀV − ‖QᵀV‖², Vᵀc for each c of extra)` in one pass; `None` when the subtraction
    /// cancels (see [`CANCELLATION`]).
    fn residual_norm_and_dots(&self, v: &[f64], extra: &[&[f64]]) -> Option<(f64, Vec<f64>)> {
        let mut columns = self.projection.columns(v.len());
        let k = columns.len();
        columns.extend_from_slice(extra);
        columns.push(v);
        let sums = dots(&columns, v);
        let vv = sums[sums.len() - 1];
        let projected: f64 = sums[..k].iter().map(|s| s * s).sum();
        let norm = vv - projected;
        (norm > CANCELLATION * vv).then(|| (norm, sums[k..k + extra.len()].to_vec()))
    }

    /// The treatment coefficient with `v` in place of T (the same rows): `None` when `v` is
    /// collinear with `[1, Z]`, as [`partial_coefficient`] decides.
    pub fn with_treatment(&self, v: &[f64]) -> Option<f64> {
        match self.residual_norm_and_dots(v, &[&self.outcome]) {
            // Far from collinear: the test `tt > 1e-20 · VᵀV` passes (VᵀV is TᵀT for a
            // permutation of T, and at least `tt` otherwise).
            Some((tt, vy)) => Some(vy[0] / tt),
            None => partial_coefficient(
                &self.projection.residual(v),
                &self.outcome,
                None,
                self.raw_tt,
            ),
        }
    }

    /// The treatment coefficient with `w` as one more confounder.
    pub fn with_extra_confounder(&self, w: &[f64]) -> Option<f64> {
        // Where a subtraction cancels, (near-)collinearity is decided on the explicit residual.
        let explicit = || {
            let w = self.projection.residual(w);
            partial_coefficient(&self.treatment, &self.outcome, Some(&w), self.raw_tt)
        };
        let Some((ww, wdots)) = self.residual_norm_and_dots(w, &[&self.treatment, &self.outcome])
        else {
            return explicit();
        };
        let (wt, wy) = (wdots[0], wdots[1]);
        let ty = self.ty - wt * wy / ww;
        let tt = self.tt - wt * wt / ww;
        if tt > CANCELLATION * self.tt {
            Some(ty / tt)
        } else {
            explicit()
        }
    }
}

/// The treatment coefficient on a subset of the rows by downdating the whole table's QR:
/// with `[1, T, Z] = QR` on all rows, `c = Qᵀy`, and E the rows left out, the subset's normal
/// equations are `Rᵀ G R β = Rᵀ (c − Fᵀ y_E)` with `F = E R⁻¹` and `G = I − FᵀF`, so
/// `β = R⁻¹ G⁻¹ (c − Fᵀ y_E)`. Its cost is in the rows left out (a tenth for DoWhy's 90 %
/// subsets) instead of the rows kept, and it stays as accurate as a QR of the subset while G
/// is well conditioned (G's eigenvalues are those of the subset's Gram matrix relative to the
/// whole table's); otherwise, and when more than half of the rows are left out or a row repeats,
/// it is the blocked QR of [`subset_treatment_coefficient`].
pub(crate) struct SubsetFit<'a> {
    table: &'a RowMajor<'a>,
    names: &'a [&'a str],
    /// R of `[1, T, Z]` (p × p) and `Qᵀy`, when the whole design is well conditioned.
    factor: Option<(DMatrix<f64>, DVector<f64>)>,
}

/// Smallest pivot of G's Cholesky factor accepted (G's smallest eigenvalue at least ~0.01,
/// where a random 90 % subset has about 0.9): the solve then loses at most ~2 digits more than
/// a QR of the subset would, and the subset's R stays far from the rank test's 1e-10.
const MIN_PIVOT: f64 = 0.1;

/// Smallest diagonal of the whole table's R, relative to its largest, for the downdate.
const MIN_DIAGONAL: f64 = 1e-5;

impl<'a> SubsetFit<'a> {
    pub fn new(table: &'a RowMajor<'a>, names: &'a [&'a str]) -> Self {
        let all: Vec<usize> = (0..table.len()).collect();
        let factor = tsqr(table, &all).ok().and_then(|r| {
            let p = r.ncols() - 1;
            let design = r.view((0, 0), (p, p)).into_owned();
            (min_relative_diagonal(&design.diagonal()) > MIN_DIAGONAL)
                .then(|| (design, r.view((0, p), (p, 1)).column(0).into_owned()))
        });
        Self {
            table,
            names,
            factor,
        }
    }

    /// The treatment coefficient of `Y ~ [1, T, Z]` on `rows`; errors like
    /// [`subset_treatment_coefficient`].
    pub fn coefficient(&self, rows: &[usize]) -> Result<f64> {
        let n = self.table.len();
        let exact = || subset_treatment_coefficient(self.table, rows, self.names);
        let Some((r, c)) = &self.factor else {
            return exact();
        };
        if rows.len() * 2 < n {
            return exact();
        }
        let mut kept = vec![false; n];
        for &row in rows {
            if std::mem::replace(&mut kept[row], true) {
                return exact();
            }
        }
        // Eᵀ (one column per row left out: 1, t, z...) and y_E, then Fᵀ = R⁻ᵀ Eᵀ in place.
        let p = r.nrows();
        let left_out = n - rows.len();
        let mut f = DMatrix::<f64>::zeros(p, left_out);
        let mut y = DVector::<f64>::zeros(left_out);
        let excluded = kept.iter().enumerate().filter(|(_, kept)| !**kept);
        for (at, (index, _)) in excluded.enumerate() {
            let row = self.table.row(index);
            let mut column = f.column_mut(at);
            column[0] = 1.0;
            column[1] = row[0];
            for j in 2..p {
                column[j] = row[j];
            }
            y[at] = row[1];
        }
        if !r.tr_solve_upper_triangular_mut(&mut f) {
            return exact();
        }
        let gram = DMatrix::<f64>::identity(p, p) - &f * f.transpose();
        let head = c - &f * y;
        let Some(cholesky) = gram.cholesky() else {
            return exact();
        };
        if cholesky.l_dirty().diagonal().iter().any(|d| *d < MIN_PIVOT) {
            return exact();
        }
        let u = cholesky.solve(&head);
        match r.solve_upper_triangular(&u) {
            Some(beta) if beta[1].is_finite() => Ok(beta[1]),
            _ => exact(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::estimators::{EstimatorOptions, Method, point_estimate};
    use crate::{Column, data::CausalData};
    use rand::seq::SliceRandom;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    /// n rows, two confounders on different scales (z2 = 100 b), a binary treatment that
    /// depends on them, effect 1.5 (the refuters' tests use it too).
    pub(crate) fn data(n: usize) -> CausalData {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let (mut t, mut y, mut z1, mut z2) = (vec![], vec![], vec![], vec![]);
        for _ in 0..n {
            let (a, b): (f64, f64) = (StandardNormal.sample(&mut rng), rng.random());
            let treated = rng.random::<f64>() < 1.0 / (1.0 + (-(0.8 * a - b)).exp());
            let treated = if treated { 1.0 } else { 0.0 };
            let noise: f64 = StandardNormal.sample(&mut rng);
            t.push(treated);
            y.push(1.5 * treated + 2.0 * a - 3.0 * b + 0.5 * noise + 10.0);
            z1.push(a);
            z2.push(100.0 * b);
        }
        CausalData::new(
            Column::new("t", t),
            Column::new("y", y),
            vec![Column::new("z1", z1), Column::new("z2", z2)],
        )
        .unwrap()
    }

    fn full(data: &CausalData) -> f64 {
        point_estimate(data, Method::LinearRegression, &EstimatorOptions::default()).unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-10 * b.abs().max(1e-2)
    }

    #[test]
    fn a_new_treatment_or_confounder_gives_the_full_regressions_coefficient() {
        let data = data(3001);
        let fit = PartialFit::new(&data).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for _ in 0..5 {
            let mut permuted = data.treatment().to_vec();
            permuted.shuffle(&mut rng);
            let fast = fit.with_treatment(&permuted).unwrap();
            let slow = full(&data.with_treatment(permuted));
            assert!(close(fast, slow), "{fast} vs {slow}");
            let noise: Vec<f64> = (0..data.len())
                .map(|_| StandardNormal.sample(&mut rng))
                .collect();
            let fast = fit.with_extra_confounder(&noise).unwrap();
            let slow = full(&data.with_extra_confounder(Column::new("w", noise)));
            assert!(close(fast, slow), "{fast} vs {slow}");
        }
    }

    #[test]
    fn collinear_columns_are_refused_as_before() {
        let data = data(500);
        let fit = PartialFit::new(&data).unwrap();
        // A treatment in the span of the confounders; a confounder equal to T.
        let z1 = data.confounders()[0].values.clone();
        let shifted: Vec<f64> = z1.iter().map(|v| 3.0 * v - 2.0).collect();
        assert_eq!(fit.with_treatment(&shifted), None);
        assert_eq!(fit.with_extra_confounder(data.treatment()), None);
        // A column nearly in that span takes the explicit residual and still agrees.
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let near: Vec<f64> = z1
            .iter()
            .map(|v| {
                let noise: f64 = StandardNormal.sample(&mut rng);
                v + 1e-5 * noise
            })
            .collect();
        assert!(fit.residual_norm_and_dots(&near, &[]).is_none());
        let fast = fit.with_extra_confounder(&near).unwrap();
        let slow = full(&data.with_extra_confounder(Column::new("w", near)));
        assert!((fast - slow).abs() < 1e-6 * slow.abs(), "{fast} vs {slow}");
    }

    #[test]
    fn the_downdated_subset_is_the_copied_subsets_regression() {
        let data = data(5000);
        let table = data.row_major();
        let names = ["const", "t", "z1", "z2"];
        let fit = SubsetFit::new(&table, &names);
        assert!(fit.factor.is_some());
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for keep in [4500, 2600, 1000] {
            let rows: Vec<usize> = rand::seq::index::sample(&mut rng, 5000, keep).into_vec();
            let fast = fit.coefficient(&rows).unwrap();
            let slow = full(&data.select_rows(&rows));
            assert!(
                (fast - slow).abs() <= 1e-12 * slow.abs(),
                "{keep}: {fast} vs {slow}"
            );
        }
        // Repeated rows take the blocked QR.
        let repeats: Vec<usize> = (0..4700).map(|i| (i * 37) % 5000).collect();
        let slow = full(&data.select_rows(&repeats));
        assert!((fit.coefficient(&repeats).unwrap() - slow).abs() <= 1e-12 * slow.abs());
        // A singular subset (every treated row) is refused with the column named.
        let treated: Vec<usize> = (0..5000).filter(|&i| data.treatment()[i] == 1.0).collect();
        let error = fit.coefficient(&treated).unwrap_err();
        assert!(error.to_string().contains("`t`"), "{error}");
        // Nearly every treated row left out: G is ill conditioned, the blocked QR answers.
        let controls_and_two: Vec<usize> = (0..5000)
            .filter(|&i| data.treatment()[i] == 0.0)
            .chain(treated.iter().copied().take(2))
            .collect();
        assert!(controls_and_two.len() * 2 >= 5000);
        let fast = fit.coefficient(&controls_and_two).unwrap();
        let exact =
            crate::regression::subset_treatment_coefficient(&table, &controls_and_two, &names)
                .unwrap();
        assert_eq!(fast, exact);
    }
}
