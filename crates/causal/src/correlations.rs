//! The plain associations of treatment and outcome, reported beside every effect.

use icodegen_stats::Correlation;
use serde::{Deserialize, Serialize};

use crate::data::CausalData;
use crate::error::Result;

/// Pearson, Spearman and Kendall tau-b of T and Y, each with its p-value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Correlations {
    pub pearson: Correlation,
    pub spearman: Correlation,
    pub kendall: Correlation,
}

/// Correlations of the treatment and the outcome of `data` (95 % Fisher interval for Pearson).
pub fn correlations(data: &CausalData) -> Result<Correlations> {
    let (t, y) = (data.treatment(), data.outcome());
    Ok(Correlations {
        pearson: icodegen_stats::pearson(t, y, 0.95)?,
        spearman: icodegen_stats::spearman(t, y)?,
        kendall: icodegen_stats::kendall(t, y)?,
    })
}
