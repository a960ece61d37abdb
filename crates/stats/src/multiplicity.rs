//! Multiple-comparison adjustment of a family of p-values.
//!
//! Both return adjusted p-values in the input order, as
//! `statsmodels.stats.multitest.multipletests(p, method="holm" | "fdr_bh")[1]` (and
//! `scipy.stats.false_discovery_control(p, method="bh")` for BH). Reject a hypothesis when its
//! adjusted p-value is at most the family-wise (Holm) or false-discovery (BH) level.

use serde::{Deserialize, Serialize};

use crate::error::{Result, StatsError};

/// Which adjustment to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Adjustment {
    /// Holm (1979) step-down: controls the family-wise error rate.
    Holm,
    /// Benjamini-Hochberg (1995) step-up: controls the false discovery rate.
    BenjaminiHochberg,
}

fn check_p_values(p_values: &[f64]) -> Result<()> {
    match p_values.iter().position(|p| !(0.0..=1.0).contains(p)) {
        Some(index) => Err(StatsError::InvalidParameter(format!(
            "p-value at index {index} is {}, not in [0, 1]",
            p_values[index]
        ))),
        None => Ok(()),
    }
}

/// Adjusts a family of p-values.
pub fn adjust(p_values: &[f64], adjustment: Adjustment) -> Result<Vec<f64>> {
    match adjustment {
        Adjustment::Holm => holm(p_values),
        Adjustment::BenjaminiHochberg => benjamini_hochberg(p_values),
    }
}

/// Holm step-down adjusted p-values: sorted ascending, `p̃₍ᵢ₎ = max_{j ≤ i} min(1, (m - j + 1) p₍ⱼ₎)`.
pub fn holm(p_values: &[f64]) -> Result<Vec<f64>> {
    check_p_values(p_values)?;
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0f64;
    for (position, &index) in order.iter().enumerate() {
        let value = ((m - position) as f64 * p_values[index]).min(1.0);
        running = running.max(value);
        adjusted[index] = running;
    }
    Ok(adjusted)
}

/// Benjamini-Hochberg step-up adjusted p-values: sorted ascending,
/// `p̃₍ᵢ₎ = min_{j ≥ i} min(1, m p₍ⱼ₎ / j)`.
pub fn benjamini_hochberg(p_values: &[f64]) -> Result<Vec<f64>> {
    check_p_values(p_values)?;
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut adjusted = vec![0.0; m];
    let mut running = 1.0f64;
    for (position, &index) in order.iter().enumerate().rev() {
        let value = (m as f64 * p_values[index] / (position + 1) as f64).min(1.0);
        running = running.min(value);
        adjusted[index] = running;
    }
    Ok(adjusted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holm_multiplies_the_smallest_by_m_and_stays_monotone() {
        let adjusted = holm(&[0.01, 0.04, 0.03]).unwrap();
        assert_eq!(adjusted, vec![0.03, 0.06, 0.06]);
    }

    #[test]
    fn bh_keeps_input_order() {
        let adjusted = benjamini_hochberg(&[0.04, 0.01, 0.03]).unwrap();
        assert!((adjusted[0] - 0.04).abs() < 1e-15);
        assert!((adjusted[1] - 0.03).abs() < 1e-15);
        assert!((adjusted[2] - 0.04).abs() < 1e-15);
    }

    #[test]
    fn p_values_outside_the_unit_interval_are_rejected() {
        assert!(holm(&[0.5, 1.5]).is_err());
        assert!(benjamini_hochberg(&[f64::NAN]).is_err());
    }
}
