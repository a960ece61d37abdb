//! Plain result types shared by every routine, so callers (the study analysis, the report)
//! handle one shape: an estimate, its uncertainty and the sample size.

use serde::{Deserialize, Serialize};

/// The alternative hypothesis of a test, as scipy's `alternative=` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Alternative {
    /// The statistic differs from its null value in either direction (scipy's default).
    #[default]
    TwoSided,
    /// The first sample (or the differences) tends to be smaller.
    Less,
    /// The first sample (or the differences) tends to be larger.
    Greater,
}

/// A confidence interval at a stated level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConfidenceInterval {
    pub lower: f64,
    pub upper: f64,
    /// The confidence level, e.g. 0.95.
    pub level: f64,
}

impl ConfidenceInterval {
    /// Whether `value` lies inside the closed interval.
    pub fn contains(&self, value: f64) -> bool {
        self.lower <= value && value <= self.upper
    }

    /// `[lower, upper]`, the shape JSON outputs use.
    pub fn as_array(&self) -> [f64; 2] {
        [self.lower, self.upper]
    }
}

/// How a test's p-value was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PValueMethod {
    /// From the exact null distribution of the statistic.
    Exact,
    /// From the normal (or t) approximation.
    Asymptotic,
    /// From all sign flips (or permutations) enumerated exhaustively: exact, ties included.
    ExhaustivePermutation,
}

/// The outcome of a hypothesis test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// The test statistic, defined as scipy returns it (see each test's documentation).
    pub statistic: f64,
    pub p_value: f64,
    /// The standardized statistic when the normal approximation was used.
    pub z: Option<f64>,
    /// The observations the test used (e.g. non-zero differences for Wilcoxon).
    pub n: usize,
    pub method: PValueMethod,
    pub alternative: Alternative,
}

/// A correlation coefficient with its two-sided (or one-sided) p-value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Correlation {
    pub coefficient: f64,
    pub p_value: f64,
    pub n: usize,
    pub method: PValueMethod,
    /// Fisher-z interval where it is defined (Pearson); `None` otherwise.
    pub ci: Option<ConfidenceInterval>,
}

/// An effect size with an approximate standard error and confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EffectSize {
    pub estimate: f64,
    pub standard_error: f64,
    pub ci: ConfidenceInterval,
    /// Observations (pairs for paired variants, both groups together for unpaired ones).
    pub n: usize,
}
