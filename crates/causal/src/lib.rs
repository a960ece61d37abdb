//! Back-door causal effect estimation with refutation, following DoWhy's `backdoor.*` semantics.
//!
//! The loop of the methodology (§2): given treatment T, outcome Y and confounders Z
//! ([`CausalData`]), or a causal graph from which the adjustment set is derived
//! ([`CausalGraph::backdoor_sets`]), [`estimate`] computes the effect with one of five
//! [`Method`]s, [`refute`] / [`refute_all`] stress it with [`Refuter`]s, and [`correlations`]
//! gives the plain associations to report beside it (a strong correlation with an effect near
//! zero is a spurious association).
//!
//! ```no_run
//! use icodegen_causal::{CausalData, Column, EstimatorOptions, Method, Refuter, RefuterOptions};
//! # fn main() -> icodegen_causal::Result<()> {
//! # let (t, y, size) = (vec![0.0, 1.0], vec![1.0, 2.0], vec![3.0, 4.0]);
//! let data = CausalData::new(Column::new("bug", t), Column::new("loss", y), vec![Column::new("tokens", size)])?;
//! let options = EstimatorOptions { seed: 7, ..EstimatorOptions::default() };
//! let estimate = icodegen_causal::estimate(&data, Method::PsWeighting, &options)?;
//! let refutations = icodegen_causal::refute_all(
//!     &data, Method::PsWeighting, &options, estimate.effect,
//!     &[Refuter::Placebo, Refuter::RandomCommonCause, Refuter::DataSubset],
//!     &RefuterOptions { seed: 7, ..RefuterOptions::default() },
//! )?;
//! # Ok(()) }
//! ```
//!
//! Beyond the back-door loop: [`mediation`] splits a treatment's total effect into natural
//! direct and indirect effects through mediators (product of coefficients, with Imai, Keele and
//! Tingley's simulation or a pair bootstrap for the intervals), and [`sensitivity`] gives the
//! E-value and Cinelli and Hazlett's robustness value of a back-door estimate.
//!
//! Matrices are nalgebra's; parallel simulations are rayon's; every random step is seeded. This
//! crate reads no files (the `icodegen-analyze causal` subcommand does).

mod correlations;
mod data;
mod error;
mod estimators;
mod graph;
mod heterogeneity;
mod mediation;
mod refit;
mod refute;
mod regression;
mod seed;
mod sensitivity;

pub use correlations::{Correlations, correlations};
pub use data::{CausalData, Column};
pub use error::{CausalError, Result};
pub use estimators::{
    Coefficient, Estimate, EstimateDetails, EstimatorOptions, IntervalKind, Method, TargetUnits,
    WeightingScheme, estimate, point_estimate,
};
pub use graph::{BackdoorSets, CausalGraph};
pub use heterogeneity::{EffectModification, ModifierTerm, effect_modification};
pub use mediation::{
    EffectInterval, Mediation, MediationData, MediationInterval, MediationOptions, MediatorPath,
    RhoSensitivity, mediation, mediation_point,
};
pub use refute::{
    Refutation, Refuter, RefuterOptions, SignificanceTest, StrengthEffect, refutation_p_value,
    refute, refute_all,
};
pub use regression::{PropensityModel, PropensityOptions, fit_propensity, fit_propensity_from};
pub use seed::child_seed;
pub use sensitivity::{
    CovariateStrength, EValue, Sensitivity, e_value_continuous, robustness_value, sensitivity,
};
