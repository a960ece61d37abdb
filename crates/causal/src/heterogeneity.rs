//! Effect heterogeneity: a linear effect-modification model.
//!
//! For a paired design the within-pair difference `D = Y(treated) − Y(control)` is the unit's
//! effect; regressing it on centred pre-treatment modifiers, `D = τ + Σ_k θ_k (W_k − W̄_k) + ε`,
//! is the treatment × covariate interaction model of the pooled rows (`Y ~ T + T·W + pair`), with
//! τ the average effect and θ_k how the effect changes per unit of `W_k`. Classical OLS
//! standard errors, Student t intervals and p-values (statsmodels' defaults).

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::data::Column;
use crate::error::{CausalError, Result};
use crate::regression::{design, ols};

/// One coefficient of the effect-modification model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModifierTerm {
    /// `average_effect` for τ, else the modifier's name.
    pub name: String,
    pub estimate: f64,
    pub standard_error: f64,
    /// `[low, high]`.
    pub ci: [f64; 2],
    pub p_value: f64,
}

/// The fitted effect-modification model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectModification {
    pub n: usize,
    pub residual_df: usize,
    pub confidence_level: f64,
    /// τ first (the average effect, modifiers at their means), then one term per modifier.
    pub terms: Vec<ModifierTerm>,
}

/// Regresses the unit effects `differences` on the centred `modifiers`.
pub fn effect_modification(
    differences: &[f64],
    modifiers: &[Column],
    confidence_level: f64,
) -> Result<EffectModification> {
    let n = differences.len();
    if !(confidence_level > 0.0 && confidence_level < 1.0) {
        return Err(CausalError::InvalidOption(format!(
            "confidence level {confidence_level} is not in (0, 1)"
        )));
    }
    if let Some(row) = differences.iter().position(|v| !v.is_finite()) {
        return Err(CausalError::NonFinite {
            column: "difference".into(),
            row,
            value: differences[row],
        });
    }
    let mut centred = Vec::with_capacity(modifiers.len());
    for column in modifiers {
        if column.values.len() != n {
            return Err(CausalError::LengthMismatch {
                column: column.name.clone(),
                reference: "difference".into(),
                expected: n,
                got: column.values.len(),
            });
        }
        let mean = column.values.iter().sum::<f64>() / n as f64;
        centred.push(column.values.iter().map(|v| v - mean).collect::<Vec<_>>());
    }
    let columns: Vec<&[f64]> = centred.iter().map(Vec::as_slice).collect();
    let mut names = vec!["average_effect"];
    names.extend(modifiers.iter().map(|c| c.name.as_str()));
    let fit = ols(design(n, &columns), differences, &names)?;
    let t = StudentsT::new(0.0, 1.0, fit.residual_df as f64).expect("positive df");
    let critical = t.inverse_cdf(0.5 + confidence_level / 2.0);
    let terms = names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let (estimate, se) = (fit.coefficients[index], fit.standard_errors[index]);
            ModifierTerm {
                name: (*name).to_owned(),
                estimate,
                standard_error: se,
                ci: [estimate - critical * se, estimate + critical * se],
                p_value: 2.0 * (1.0 - t.cdf((estimate / se).abs())),
            }
        })
        .collect();
    Ok(EffectModification {
        n,
        residual_df: fit.residual_df,
        confidence_level,
        terms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_known_modification_and_the_average_effect() {
        let w: Vec<f64> = (0..200).map(|i| f64::from(i % 10)).collect();
        let noise = |i: usize| ((i * 37) % 11) as f64 / 11.0 - 0.5;
        let d: Vec<f64> = w
            .iter()
            .enumerate()
            .map(|(i, w)| 1.0 + 0.3 * w + 0.1 * noise(i))
            .collect();
        let mean_d = d.iter().sum::<f64>() / 200.0;
        let fit = effect_modification(&d, &[Column::new("size", w)], 0.95).unwrap();
        assert!((fit.terms[0].estimate - mean_d).abs() < 1e-10);
        let slope = &fit.terms[1];
        assert!(slope.ci[0] < 0.3 && 0.3 < slope.ci[1], "{slope:?}");
        assert!(slope.p_value < 1e-10);
    }
}
