//! Mediation: how much of a treatment's effect runs through mediators it changes.
//!
//! Linear models, one per mediator and one for the outcome:
//!
//! ```text
//! M_j = α_j + a_j T + γ_j X + ε_j                                 (one per mediator)
//! Y   = β + c T + Σ_j b_j M_j [+ Σ_j d_j T M_j] + δ X + ε           (outcome)
//! ```
//!
//! with X the pre-treatment covariates (never a mediator). The contrast is T = 0 → T = 1.
//! Writing m_j(t) = α_j + a_j t + γ_j X̄ for the mean mediator under treatment t:
//!
//! - natural direct effect with the mediators at arm t: `direct(t) = c + Σ_j d_j m_j(t)`;
//! - natural indirect effect at arm t: `indirect(t) = Σ_j a_j (b_j + d_j t)`;
//! - total effect `(direct(0) + direct(1) + indirect(0) + indirect(1)) / 2`, which equals
//!   `direct(0) + indirect(1)` and `direct(1) + indirect(0)`; average direct and indirect
//!   effects are the means over the two arms; proportion mediated = average indirect / total.
//!
//! Without the interaction (`d = 0`) this is the product-of-coefficients estimator:
//! indirect = Σ a_j b_j, direct = c, and total = c + Σ a_j b_j is exactly the coefficient of
//! T in `Y ~ T + X` (the OLS identity). With `pairs` (every pair one control and one treated
//! row, covariates constant within a pair), the total effect is exactly the mean paired
//! difference, with or without the interaction.
//!
//! These are the natural effects under **sequential ignorability** (Imai, Keele and Tingley
//! 2010): given X, the treatment is as good as random, and given X and T the mediators are as
//! good as random (no unobserved mediator-outcome confounder, none affected by T).
//!
//! Intervals ([`MediationInterval`]):
//! - `Simulation`: the quasi-Bayesian Monte Carlo of Imai, Keele and Tingley (2010), as
//!   statsmodels' `Mediation.fit(method="parametric")`: each simulation draws the outcome and
//!   every mediator model's coefficients from their asymptotic normal distributions
//!   (`N(θ̂, σ̂²(XᵀX)⁻¹)`) and computes the effects from the draw; the interval is the
//!   percentile interval of the draws. Like statsmodels, each draw also draws every row's
//!   potential mediators under both arms with the mediator model's residual variance; in
//!   linear models only their mean over the n rows matters, so that is drawn directly
//!   (`N(0, σ̂²_j / n)` per mediator and arm), which gives the same distribution of effects.
//! - `Bootstrap`: the percentile interval of the estimates refitted on resamples of the pairs
//!   (with `pairs`), or of the rows.
//!
//! With one mediator and no interaction, [`RhoSensitivity`] gives Imai, Keele and Yamamoto's
//! sensitivity of the indirect effect to a correlation ρ of the two models' errors (a
//! violation of sequential ignorability).
//!
//! Point estimates are the plug-in values above (the simulation's mean differs from them only
//! by Monte Carlo error); p-values are statsmodels' `2 min(#draws > 0, #draws < 0) / draws`.

use nalgebra::{DMatrix, DVector};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::Column;
use crate::error::{CausalError, Result};
use crate::regression::{OlsFit, design, ols};
use crate::seed::child_seed;

/// The interval method of a mediation analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediationInterval {
    /// Imai, Keele and Tingley's quasi-Bayesian Monte Carlo (statsmodels' "parametric").
    Simulation,
    /// Percentile bootstrap over pairs (with pairs) or rows.
    Bootstrap,
}

impl MediationInterval {
    /// `simulation` or `bootstrap`.
    pub fn name(self) -> &'static str {
        match self {
            MediationInterval::Simulation => "simulation",
            MediationInterval::Bootstrap => "bootstrap",
        }
    }

    /// A sentence naming the method, for reports.
    pub fn describe(self, paired: bool) -> &'static str {
        match (self, paired) {
            (MediationInterval::Simulation, _) => {
                "quasi-Bayesian Monte Carlo (Imai, Keele and Tingley 2010): percentile interval of effects computed from coefficients drawn from their asymptotic normal distribution"
            }
            (MediationInterval::Bootstrap, true) => {
                "percentile bootstrap over pairs (both models refitted on each resample)"
            }
            (MediationInterval::Bootstrap, false) => {
                "percentile bootstrap over rows (both models refitted on each resample)"
            }
        }
    }
}

impl std::str::FromStr for MediationInterval {
    type Err = CausalError;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "simulation" | "parametric" | "quasi_bayesian" => Ok(MediationInterval::Simulation),
            "bootstrap" => Ok(MediationInterval::Bootstrap),
            other => Err(CausalError::InvalidOption(format!(
                "unknown mediation interval `{other}`; expected simulation or bootstrap"
            ))),
        }
    }
}

/// Settings of [`mediation`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MediationOptions {
    /// Add the treatment × mediator interactions to the outcome model.
    pub interaction: bool,
    /// Simulation draws or bootstrap resamples.
    pub simulations: usize,
    pub seed: u64,
    pub confidence_level: f64,
    pub interval: MediationInterval,
}

impl Default for MediationOptions {
    fn default() -> Self {
        Self {
            interaction: false,
            simulations: 1000,
            seed: 0,
            confidence_level: 0.95,
            interval: MediationInterval::Simulation,
        }
    }
}

/// Pairs of rows: one control (T = 0) and one treated (T = 1) row each.
#[derive(Debug, Clone, PartialEq)]
struct Pairs {
    column: String,
    /// (control row, treated row) per pair, in order of first appearance.
    rows: Vec<(usize, usize)>,
}

/// Treatment, mediators, outcome, pre-treatment covariates and optional pairs, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct MediationData {
    treatment: Column,
    mediators: Vec<Column>,
    outcome: Column,
    covariates: Vec<Column>,
    pairs: Option<Pairs>,
}

fn constant_value(values: &[f64]) -> Option<f64> {
    let first = *values.first()?;
    values.iter().all(|&value| value == first).then_some(first)
}

/// Whether `m` is an affine function of `t` (its residual on `[1, t]` vanishes).
fn determined_by(m: &[f64], t: &[f64]) -> bool {
    let n = m.len() as f64;
    let (mean_m, mean_t) = (m.iter().sum::<f64>() / n, t.iter().sum::<f64>() / n);
    let (mut smm, mut stt, mut smt) = (0.0, 0.0, 0.0);
    for (a, b) in m.iter().zip(t) {
        let (x, y) = (a - mean_m, b - mean_t);
        smm += x * x;
        stt += y * y;
        smt += x * y;
    }
    smm > 0.0 && stt > 0.0 && 1.0 - smt * smt / (smm * stt) < 1e-10
}

impl MediationData {
    /// Validates the columns. `pairs` is the pair column's name and each row's pair label.
    ///
    /// Errors name the column: a mediator that is the treatment (same name, or an affine
    /// function of it), a constant mediator, outcome or covariate, a pair without exactly one
    /// control and one treated row, a covariate that differs within a pair (the intervention
    /// changes it: it is a mediator, not a pre-treatment covariate).
    pub fn new(
        treatment: Column,
        mediators: Vec<Column>,
        outcome: Column,
        covariates: Vec<Column>,
        pairs: Option<(String, Vec<String>)>,
    ) -> Result<Self> {
        if mediators.is_empty() {
            return Err(CausalError::InvalidOption(
                "mediation needs at least one mediator".into(),
            ));
        }
        let rows = treatment.values.len();
        let mut seen: Vec<&str> = vec![&treatment.name];
        for mediator in &mediators {
            if mediator.name == treatment.name {
                return Err(CausalError::MediatorIsTreatment {
                    mediator: mediator.name.clone(),
                    treatment: treatment.name.clone(),
                });
            }
        }
        for column in mediators
            .iter()
            .chain(std::iter::once(&outcome))
            .chain(&covariates)
        {
            if seen.contains(&column.name.as_str()) {
                return Err(CausalError::DuplicateColumn(column.name.clone()));
            }
            seen.push(&column.name);
        }
        for column in std::iter::once(&treatment)
            .chain(&mediators)
            .chain(std::iter::once(&outcome))
            .chain(&covariates)
        {
            column.check(&treatment.name, rows)?;
        }
        if let Some(value) = constant_value(&treatment.values) {
            return Err(CausalError::ConstantTreatment {
                column: treatment.name.clone(),
                value,
            });
        }
        for (role, column) in mediators
            .iter()
            .map(|column| ("mediator", column))
            .chain(std::iter::once(("outcome", &outcome)))
            .chain(covariates.iter().map(|column| ("covariate", column)))
        {
            if let Some(value) = constant_value(&column.values) {
                return Err(CausalError::ConstantColumn {
                    role,
                    column: column.name.clone(),
                    value,
                });
            }
        }
        for mediator in &mediators {
            if determined_by(&mediator.values, &treatment.values) {
                return Err(CausalError::MediatorIsTreatment {
                    mediator: mediator.name.clone(),
                    treatment: treatment.name.clone(),
                });
            }
        }
        let k = mediators.len();
        let needed = 2 * k + covariates.len() + 4;
        if rows < needed {
            return Err(CausalError::TooFewRows {
                what: "mediation with these mediators and covariates",
                needed,
                got: rows,
            });
        }
        let pairs = match pairs {
            None => None,
            Some((column, labels)) => {
                Some(Self::pair_rows(&treatment, &covariates, column, &labels)?)
            }
        };
        Ok(Self {
            treatment,
            mediators,
            outcome,
            covariates,
            pairs,
        })
    }

    fn pair_rows(
        treatment: &Column,
        covariates: &[Column],
        column: String,
        labels: &[String],
    ) -> Result<Pairs> {
        if labels.len() != treatment.values.len() {
            return Err(CausalError::LengthMismatch {
                column,
                reference: treatment.name.clone(),
                expected: treatment.values.len(),
                got: labels.len(),
            });
        }
        if let Some(row) = treatment
            .values
            .iter()
            .position(|&value| value != 0.0 && value != 1.0)
        {
            return Err(CausalError::NonBinaryTreatment {
                method: "paired mediation",
                column: treatment.name.clone(),
                row,
                value: treatment.values[row],
            });
        }
        let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
        for (row, label) in labels.iter().enumerate() {
            let slot = *index.entry(label.as_str()).or_insert_with(|| {
                groups.push((label.as_str(), Vec::new()));
                groups.len() - 1
            });
            groups[slot].1.push(row);
        }
        let mut rows = Vec::with_capacity(groups.len());
        for (label, members) in &groups {
            let unpaired = |reason: String| CausalError::Unpaired {
                column: column.clone(),
                pair: (*label).to_owned(),
                row: members[0],
                reason,
            };
            if members.len() != 2 {
                return Err(unpaired(format!(
                    "has {} row{} (a pair needs exactly one control and one treated row)",
                    members.len(),
                    if members.len() == 1 { "" } else { "s" }
                )));
            }
            let (first, second) = (members[0], members[1]);
            let pair = match (treatment.values[first], treatment.values[second]) {
                (a, b) if a == 0.0 && b == 1.0 => (first, second),
                (a, b) if a == 1.0 && b == 0.0 => (second, first),
                (a, _) => {
                    return Err(unpaired(format!(
                        "has two rows with treatment {a} (a pair needs one control and one treated row)"
                    )));
                }
            };
            for covariate in covariates {
                if covariate.values[first] != covariate.values[second] {
                    return Err(CausalError::CovariateVariesWithinPair {
                        column: covariate.name.clone(),
                        pair: (*label).to_owned(),
                    });
                }
            }
            rows.push(pair);
        }
        Ok(Pairs { column, rows })
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.treatment.values.len()
    }

    /// Whether there are no rows (never true for validated data).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of pairs, when paired.
    pub fn n_pairs(&self) -> Option<usize> {
        self.pairs.as_ref().map(|pairs| pairs.rows.len())
    }

    /// The pair column's name, when paired.
    pub fn pair_column(&self) -> Option<&str> {
        self.pairs.as_ref().map(|pairs| pairs.column.as_str())
    }

    pub fn treatment_name(&self) -> &str {
        &self.treatment.name
    }

    pub fn outcome_name(&self) -> &str {
        &self.outcome.name
    }

    pub fn mediator_names(&self) -> Vec<&str> {
        self.mediators.iter().map(|c| c.name.as_str()).collect()
    }

    pub fn covariate_names(&self) -> Vec<&str> {
        self.covariates.iter().map(|c| c.name.as_str()).collect()
    }

    /// The mean paired difference of the outcome (treated − control), when paired.
    pub fn mean_paired_difference(&self) -> Option<f64> {
        let pairs = self.pairs.as_ref()?;
        let y = &self.outcome.values;
        Some(pairs.rows.iter().map(|&(c, t)| y[t] - y[c]).sum::<f64>() / pairs.rows.len() as f64)
    }
}

/// The fitted models on some rows.
struct Fit {
    mediators: Vec<OlsFit>,
    outcome: OlsFit,
    covariate_means: Vec<f64>,
}

fn pick(values: &[f64], rows: Option<&[usize]>) -> Vec<f64> {
    match rows {
        None => values.to_vec(),
        Some(rows) => rows.iter().map(|&row| values[row]).collect(),
    }
}

fn fit(data: &MediationData, rows: Option<&[usize]>, interaction: bool) -> Result<Fit> {
    let t = pick(&data.treatment.values, rows);
    let n = t.len();
    let m: Vec<Vec<f64>> = data
        .mediators
        .iter()
        .map(|c| pick(&c.values, rows))
        .collect();
    let x: Vec<Vec<f64>> = data
        .covariates
        .iter()
        .map(|c| pick(&c.values, rows))
        .collect();
    let y = pick(&data.outcome.values, rows);
    let interactions: Vec<Vec<f64>> = if interaction {
        m.iter()
            .map(|m| m.iter().zip(&t).map(|(m, t)| m * t).collect())
            .collect()
    } else {
        Vec::new()
    };
    let covariate_names: Vec<&str> = data.covariates.iter().map(|c| c.name.as_str()).collect();
    let mut mediator_columns: Vec<&[f64]> = vec![&t];
    mediator_columns.extend(x.iter().map(Vec::as_slice));
    let mut mediator_names = vec!["const", data.treatment.name.as_str()];
    mediator_names.extend(&covariate_names);
    let mediators = m
        .iter()
        .map(|m| ols(design(n, &mediator_columns), m, &mediator_names))
        .collect::<Result<Vec<_>>>()?;
    let interaction_names: Vec<String> = data
        .mediators
        .iter()
        .map(|c| format!("{}×{}", data.treatment.name, c.name))
        .collect();
    let mut outcome_columns: Vec<&[f64]> = vec![&t];
    outcome_columns.extend(m.iter().map(Vec::as_slice));
    outcome_columns.extend(interactions.iter().map(Vec::as_slice));
    outcome_columns.extend(x.iter().map(Vec::as_slice));
    let mut outcome_names = vec!["const", data.treatment.name.as_str()];
    outcome_names.extend(data.mediators.iter().map(|c| c.name.as_str()));
    if interaction {
        outcome_names.extend(interaction_names.iter().map(String::as_str));
    }
    outcome_names.extend(&covariate_names);
    let outcome = ols(design(n, &outcome_columns), &y, &outcome_names)?;
    let covariate_means = x
        .iter()
        .map(|column| column.iter().sum::<f64>() / n as f64)
        .collect();
    Ok(Fit {
        mediators,
        outcome,
        covariate_means,
    })
}

/// The effects implied by one set of coefficients.
#[derive(Debug, Clone)]
struct Effects {
    /// direct(0), direct(1).
    direct: [f64; 2],
    /// indirect(0), indirect(1).
    indirect: [f64; 2],
    /// Per mediator: indirect through it at arm 0 and 1.
    per_mediator: Vec<[f64; 2]>,
}

impl Effects {
    fn total(&self) -> f64 {
        (self.direct[0] + self.direct[1] + self.indirect[0] + self.indirect[1]) / 2.0
    }

    fn direct_average(&self) -> f64 {
        (self.direct[0] + self.direct[1]) / 2.0
    }

    fn indirect_average(&self) -> f64 {
        (self.indirect[0] + self.indirect[1]) / 2.0
    }

    /// The statistics every interval is taken over, in the order of [`STATISTICS`].
    fn statistics(&self) -> Vec<f64> {
        let total = self.total();
        let mut out = vec![
            total,
            self.direct_average(),
            self.indirect_average(),
            self.indirect_average() / total,
            self.direct[0],
            self.direct[1],
            self.indirect[0],
            self.indirect[1],
        ];
        out.extend(
            self.per_mediator
                .iter()
                .map(|arms| (arms[0] + arms[1]) / 2.0),
        );
        out
    }
}

/// The effects of coefficients `mediators` (one slice per mediator model) and `outcome`;
/// `noise[j]` is the mean residual of mediator j's potential values under arm 0 and 1 (0 for
/// the point estimate).
fn effects(
    mediators: &[&[f64]],
    outcome: &[f64],
    covariate_means: &[f64],
    interaction: bool,
    noise: &[[f64; 2]],
) -> Effects {
    let k = mediators.len();
    let c = outcome[1];
    let mut direct = [c, c];
    let mut indirect = [0.0, 0.0];
    let mut per_mediator = Vec::with_capacity(k);
    for (j, alpha) in mediators.iter().enumerate() {
        let a = alpha[1];
        let b = outcome[2 + j];
        let d = if interaction { outcome[2 + k + j] } else { 0.0 };
        let base = alpha[0]
            + alpha[2..]
                .iter()
                .zip(covariate_means)
                .map(|(g, x)| g * x)
                .sum::<f64>();
        let [e0, e1] = noise.get(j).copied().unwrap_or([0.0, 0.0]);
        let mediator_change = a + e1 - e0;
        let mut arms = [0.0; 2];
        for t in 0..2 {
            let mean_mediator = base + a * t as f64 + if t == 0 { e0 } else { e1 };
            direct[t] += d * mean_mediator;
            arms[t] = mediator_change * (b + d * t as f64);
            indirect[t] += arms[t];
        }
        per_mediator.push(arms);
    }
    Effects {
        direct,
        indirect,
        per_mediator,
    }
}

fn fitted_effects(fit: &Fit, interaction: bool) -> Effects {
    let mediators: Vec<&[f64]> = fit
        .mediators
        .iter()
        .map(|m| m.coefficients.as_slice())
        .collect();
    effects(
        &mediators,
        fit.outcome.coefficients.as_slice(),
        &fit.covariate_means,
        interaction,
        &[],
    )
}

/// An estimate with its interval and p-value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EffectInterval {
    pub estimate: f64,
    /// `[low, high]`.
    pub ci: [f64; 2],
    /// `2 min(#draws > 0, #draws < 0) / draws` (statsmodels' mediation p-value).
    pub p_value: f64,
}

/// One mediator's path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MediatorPath {
    pub name: String,
    /// a: the coefficient of T in the mediator model.
    pub treatment_to_mediator: f64,
    /// b: the coefficient of the mediator in the outcome model.
    pub mediator_to_outcome: f64,
    /// d: the treatment × mediator coefficient (with the interaction).
    pub interaction: Option<f64>,
    /// The (average) indirect effect through this mediator.
    pub indirect: EffectInterval,
}

/// The result of [`mediation`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mediation {
    pub n: usize,
    pub n_pairs: Option<usize>,
    pub total: EffectInterval,
    /// Average natural direct effect (over the two arms; the only one without interaction).
    pub direct: EffectInterval,
    /// Average natural indirect effect.
    pub indirect: EffectInterval,
    pub proportion_mediated: EffectInterval,
    /// With the interaction: the effects with the mediators at the control arm's (`_control`)
    /// and at the treated arm's (`_treated`) values.
    pub direct_control: Option<EffectInterval>,
    pub direct_treated: Option<EffectInterval>,
    pub indirect_control: Option<EffectInterval>,
    pub indirect_treated: Option<EffectInterval>,
    pub mediators: Vec<MediatorPath>,
    /// The mean paired difference (with pairs): equal to `total.estimate`.
    pub mean_paired_difference: Option<f64>,
    pub interval: MediationInterval,
    pub interval_description: &'static str,
    pub confidence_level: f64,
    pub simulations: usize,
    /// Bootstrap resamples on which a model could not be fitted (left out).
    pub failed_simulations: usize,
    pub seed: u64,
    pub interaction: bool,
    /// Imai's ρ sensitivity of the indirect effect (one mediator, no interaction).
    pub rho_sensitivity: Option<RhoSensitivity>,
}

/// Imai, Keele and Yamamoto's (2010) sensitivity of the indirect effect to a violation of
/// sequential ignorability, for one mediator in linear models without interaction: with ρ the
/// correlation of the mediator-model and outcome-model errors (0 under sequential
/// ignorability), `ACME(ρ) = (a σ₁ / σ₂) (ρ̃ − ρ √((1 − ρ̃²) / (1 − ρ²)))`, where σ₁ and σ₂ are
/// the residual standard deviations of `Y ~ T + X` and `M ~ T + X` and ρ̃ the correlation of
/// those residuals. `ACME(0) = a b` (the product of coefficients) and `ACME(ρ̃) = 0`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RhoSensitivity {
    /// ρ at which the indirect effect is 0 (= ρ̃).
    pub rho_at_zero: f64,
    pub scale: f64,
    /// `(ρ, ACME(ρ))` for ρ = −0.9, −0.8, ..., 0.9.
    pub curve: Vec<[f64; 2]>,
}

impl RhoSensitivity {
    /// The indirect effect if the errors' correlation were `rho` (|ρ| < 1).
    pub fn indirect_at(&self, rho: f64) -> f64 {
        let tilde = self.rho_at_zero;
        self.scale * (tilde - rho * ((1.0 - tilde * tilde) / (1.0 - rho * rho)).sqrt())
    }
}

fn rho_sensitivity(data: &MediationData) -> Result<RhoSensitivity> {
    let n = data.len();
    let t = &data.treatment.values;
    let mut columns: Vec<&[f64]> = vec![t];
    columns.extend(data.covariates.iter().map(|c| c.values.as_slice()));
    let mut names = vec!["const", data.treatment.name.as_str()];
    names.extend(data.covariates.iter().map(|c| c.name.as_str()));
    let residuals = |y: &[f64]| -> Result<(Vec<f64>, f64)> {
        let x = design(n, &columns);
        let fit = ols(x.clone(), y, &names)?;
        let fitted = x * &fit.coefficients;
        Ok((
            y.iter().zip(fitted.iter()).map(|(y, f)| y - f).collect(),
            fit.coefficients[1],
        ))
    };
    let (outcome_residuals, _) = residuals(&data.outcome.values)?;
    let (mediator_residuals, a) = residuals(&data.mediators[0].values)?;
    let dot = |u: &[f64], v: &[f64]| u.iter().zip(v).map(|(a, b)| a * b).sum::<f64>();
    let (s11, s22) = (
        dot(&outcome_residuals, &outcome_residuals),
        dot(&mediator_residuals, &mediator_residuals),
    );
    let tilde = dot(&outcome_residuals, &mediator_residuals) / (s11 * s22).sqrt();
    let mut result = RhoSensitivity {
        rho_at_zero: tilde,
        scale: a * (s11 / s22).sqrt(),
        curve: Vec::new(),
    };
    result.curve = (-9..=9)
        .map(|k| {
            let rho = f64::from(k) / 10.0;
            [rho, result.indirect_at(rho)]
        })
        .collect();
    Ok(result)
}

/// The draws of the statistics (one vector per draw), by simulation or bootstrap.
fn draws(data: &MediationData, fit0: &Fit, options: &MediationOptions) -> Result<Vec<Vec<f64>>> {
    let interaction = options.interaction;
    match options.interval {
        MediationInterval::Simulation => {
            let factor = |ols: &OlsFit| -> Result<DMatrix<f64>> {
                let p = ols.covariance.nrows();
                // A tiny ridge keeps the Cholesky factor defined for a covariance that rounding
                // left barely indefinite; it is far below any coefficient's variance.
                let scale = ols.covariance.diagonal().amax().max(f64::MIN_POSITIVE);
                let matrix = &ols.covariance + DMatrix::identity(p, p) * (scale * 1e-14);
                matrix.cholesky().map(|c| c.l()).ok_or_else(|| {
                    CausalError::Singular(
                        "the coefficients' covariance is not positive definite".into(),
                    )
                })
            };
            let mediator_factors = fit0
                .mediators
                .iter()
                .map(factor)
                .collect::<Result<Vec<_>>>()?;
            let outcome_factor = factor(&fit0.outcome)?;
            let draw = |mean: &DVector<f64>, l: &DMatrix<f64>, rng: &mut ChaCha8Rng| {
                let z = DVector::from_iterator(
                    mean.len(),
                    (0..mean.len()).map(|_| StandardNormal.sample(rng)),
                );
                mean + l * z
            };
            Ok((0..options.simulations)
                .into_par_iter()
                .map(|index| {
                    let mut rng =
                        ChaCha8Rng::seed_from_u64(child_seed(options.seed, 0, index as u64));
                    let outcome = draw(&fit0.outcome.coefficients, &outcome_factor, &mut rng);
                    let mediators: Vec<DVector<f64>> = fit0
                        .mediators
                        .iter()
                        .zip(&mediator_factors)
                        .map(|(m, l)| draw(&m.coefficients, l, &mut rng))
                        .collect();
                    let n = data.len() as f64;
                    let noise: Vec<[f64; 2]> = fit0
                        .mediators
                        .iter()
                        .map(|m| {
                            let sd = (m.scale / n).sqrt();
                            let e0: f64 = StandardNormal.sample(&mut rng);
                            let e1: f64 = StandardNormal.sample(&mut rng);
                            [sd * e0, sd * e1]
                        })
                        .collect();
                    let slices: Vec<&[f64]> = mediators.iter().map(|m| m.as_slice()).collect();
                    effects(
                        &slices,
                        outcome.as_slice(),
                        &fit0.covariate_means,
                        interaction,
                        &noise,
                    )
                    .statistics()
                })
                .collect())
        }
        MediationInterval::Bootstrap => {
            let results: Vec<Option<Vec<f64>>> = (0..options.simulations)
                .into_par_iter()
                .map(|index| {
                    use rand::RngExt;
                    let mut rng =
                        ChaCha8Rng::seed_from_u64(child_seed(options.seed, 1, index as u64));
                    let rows: Vec<usize> = match &data.pairs {
                        Some(pairs) => {
                            let count = pairs.rows.len();
                            (0..count)
                                .flat_map(|_| {
                                    let (c, t) = pairs.rows[rng.random_range(0..count)];
                                    [c, t]
                                })
                                .collect()
                        }
                        None => {
                            let n = data.len();
                            (0..n).map(|_| rng.random_range(0..n)).collect()
                        }
                    };
                    fit(data, Some(&rows), interaction)
                        .ok()
                        .map(|fit| fitted_effects(&fit, interaction).statistics())
                        .filter(|statistics| statistics[..8].iter().all(|v| v.is_finite()))
                })
                .collect();
            let ok: Vec<Vec<f64>> = results.into_iter().flatten().collect();
            if ok.len() * 2 < options.simulations {
                return Err(CausalError::NotEstimable {
                    method: "mediation bootstrap",
                    reason: format!(
                        "the models could be fitted on only {} of {} resamples (a mediator or covariate is nearly constant)",
                        ok.len(),
                        options.simulations
                    ),
                });
            }
            Ok(ok)
        }
    }
}

/// Estimates total, natural direct and indirect effects and the proportion mediated, with
/// intervals by [`MediationOptions::interval`].
pub fn mediation(data: &MediationData, options: &MediationOptions) -> Result<Mediation> {
    if options.simulations < 2 {
        return Err(CausalError::InvalidOption(
            "mediation needs at least 2 simulations".into(),
        ));
    }
    if !(options.confidence_level > 0.0 && options.confidence_level < 1.0) {
        return Err(CausalError::InvalidOption(format!(
            "confidence level {} is not in (0, 1)",
            options.confidence_level
        )));
    }
    let interaction = options.interaction;
    let fit0 = fit(data, None, interaction)?;
    let point = fitted_effects(&fit0, interaction);
    let estimates = point.statistics();
    let draws = draws(data, &fit0, options)?;
    let failed = options.simulations - draws.len();
    let interval = |index: usize| -> EffectInterval {
        let values: Vec<f64> = draws
            .iter()
            .map(|draw| draw[index])
            .filter(|v| v.is_finite())
            .collect();
        let ci = icodegen_stats::percentile_interval(&values, options.confidence_level);
        let positive = values.iter().filter(|&&v| v > 0.0).count();
        let negative = values.iter().filter(|&&v| v < 0.0).count();
        EffectInterval {
            estimate: estimates[index],
            ci: [ci.lower, ci.upper],
            p_value: (2 * positive.min(negative)) as f64 / values.len().max(1) as f64,
        }
    };
    let k = data.mediators.len();
    let mediators = (0..k)
        .map(|j| MediatorPath {
            name: data.mediators[j].name.clone(),
            treatment_to_mediator: fit0.mediators[j].coefficients[1],
            mediator_to_outcome: fit0.outcome.coefficients[2 + j],
            interaction: interaction.then(|| fit0.outcome.coefficients[2 + k + j]),
            indirect: interval(8 + j),
        })
        .collect();
    let arms = |index: usize| interaction.then(|| interval(index));
    Ok(Mediation {
        n: data.len(),
        n_pairs: data.n_pairs(),
        total: interval(0),
        direct: interval(1),
        indirect: interval(2),
        proportion_mediated: interval(3),
        direct_control: arms(4),
        direct_treated: arms(5),
        indirect_control: arms(6),
        indirect_treated: arms(7),
        mediators,
        mean_paired_difference: data.mean_paired_difference(),
        interval: options.interval,
        interval_description: options.interval.describe(data.pairs.is_some()),
        confidence_level: options.confidence_level,
        simulations: options.simulations,
        failed_simulations: failed,
        seed: options.seed,
        interaction,
        rho_sensitivity: (k == 1 && !interaction)
            .then(|| rho_sensitivity(data).ok())
            .flatten(),
    })
}

/// The product-of-coefficients point estimates alone (no interval): `(total, direct,
/// indirect, per-mediator indirect)`, each averaged over the arms.
pub fn mediation_point(
    data: &MediationData,
    interaction: bool,
) -> Result<(f64, f64, f64, Vec<f64>)> {
    let fit0 = fit(data, None, interaction)?;
    let point = fitted_effects(&fit0, interaction);
    Ok((
        point.total(),
        point.direct_average(),
        point.indirect_average(),
        point
            .per_mediator
            .iter()
            .map(|arms| (arms[0] + arms[1]) / 2.0)
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, values: Vec<f64>) -> Column {
        Column::new(name, values)
    }

    fn small() -> (Column, Column, Column) {
        let t: Vec<f64> = (0..20).map(|i| f64::from(i % 2)).collect();
        let m: Vec<f64> = (0..20)
            .map(|i| f64::from(i % 2) * 2.0 + f64::from((i * 7) % 5))
            .collect();
        let y: Vec<f64> = (0..20)
            .map(|i| f64::from(i % 2) + 0.5 * m[i as usize] + f64::from((i * 3) % 4))
            .collect();
        (column("t", t), column("m", m), column("y", y))
    }

    #[test]
    fn a_mediator_equal_to_the_treatment_is_named() {
        let (t, _, y) = small();
        let copy = column("t_copy", t.values.iter().map(|v| 3.0 * v + 1.0).collect());
        let error = MediationData::new(t.clone(), vec![copy], y.clone(), vec![], None).unwrap_err();
        assert!(error.to_string().contains("`t_copy`"), "{error}");
        let same = column("t", t.values.clone());
        let error = MediationData::new(t, vec![same], y, vec![], None).unwrap_err();
        assert!(
            matches!(error, CausalError::MediatorIsTreatment { .. }),
            "{error}"
        );
    }

    #[test]
    fn a_constant_mediator_is_named() {
        let (t, _, y) = small();
        let error =
            MediationData::new(t, vec![column("m", vec![2.0; 20])], y, vec![], None).unwrap_err();
        assert!(
            matches!(&error, CausalError::ConstantColumn { column, role: "mediator", .. } if column == "m"),
            "{error}"
        );
    }

    #[test]
    fn unpaired_rows_and_varying_covariates_are_named() {
        let (t, m, y) = small();
        let mut labels: Vec<String> = (0..20).map(|i| format!("p{}", i / 2)).collect();
        labels[19] = "lonely".into();
        let error = MediationData::new(
            t.clone(),
            vec![m.clone()],
            y.clone(),
            vec![],
            Some(("pair".into(), labels)),
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("`pair`") && error.to_string().contains("p9"),
            "{error}"
        );
        let labels: Vec<String> = (0..20).map(|i| format!("p{}", i / 2)).collect();
        let varying = column("size", (0..20).map(f64::from).collect());
        let error = MediationData::new(t, vec![m], y, vec![varying], Some(("pair".into(), labels)))
            .unwrap_err();
        assert!(
            matches!(&error, CausalError::CovariateVariesWithinPair { column, .. } if column == "size"),
            "{error}"
        );
    }

    #[test]
    fn rho_sensitivity_is_the_product_of_coefficients_at_zero_and_vanishes_at_rho_tilde() {
        let (t, m, y) = small();
        let x = column("x", (0..20).map(|i| f64::from((i * 5) % 7)).collect());
        let data = MediationData::new(t, vec![m], y, vec![x], None).unwrap();
        let result = mediation(
            &data,
            &MediationOptions {
                simulations: 20,
                ..MediationOptions::default()
            },
        )
        .unwrap();
        let rho = result.rho_sensitivity.unwrap();
        assert!((rho.indirect_at(0.0) - result.indirect.estimate).abs() < 1e-10);
        assert!(rho.indirect_at(rho.rho_at_zero).abs() < 1e-10);
        assert_eq!(rho.curve.len(), 19);
    }

    #[test]
    fn without_interaction_total_is_direct_plus_indirect_and_the_regression_total() {
        let (t, m, y) = small();
        let data = MediationData::new(t.clone(), vec![m], y.clone(), vec![], None).unwrap();
        let (total, direct, indirect, _) = mediation_point(&data, false).unwrap();
        assert!((total - direct - indirect).abs() < 1e-12);
        let plain = ols(design(20, &[&t.values]), &y.values, &["const", "t"]).unwrap();
        assert!((total - plain.coefficients[1]).abs() < 1e-10);
    }
}
