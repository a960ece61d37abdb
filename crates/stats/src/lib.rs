//! Statistics for icodegen, on statrs: seeded bootstrap intervals (percentile and BCa),
//! rank tests (Wilcoxon signed-rank, Mann-Whitney U), effect sizes (Cliff's delta, Cohen's d),
//! correlations with p-values (Pearson, Spearman, Kendall tau-b) and multiple-comparison
//! adjustment (Holm, Benjamini-Hochberg).
//!
//! Every routine takes plain slices and returns a plain struct (estimate, uncertainty, n), so
//! callers need no knowledge of how a number was computed to report it. Every random step takes
//! a seed. Each routine documents the scipy function and arguments it reproduces;
//! `tests/scipy_reference.rs` checks them against numbers that `scripts/reference/stats.py`
//! computed with scipy on the fixtures in `tests/fixtures/`.
//!
//! This crate must not read files or know about artifacts: it is arithmetic on slices.

mod bootstrap;
mod correlation;
pub mod descriptive;
mod effect_size;
mod error;
mod multiplicity;
mod rank_tests;
mod types;

pub use bootstrap::{
    BootstrapConfig, BootstrapEstimate, IntervalMethod, PairedDifference, bca_interval,
    bca_interval_from_jackknife, bootstrap, bootstrap_mean, bootstrap_paired, bootstrap_replicates,
    paired_bootstrap_difference, percentile_interval, replicates_by_index,
};
pub use correlation::{kendall, pearson, spearman};
pub use effect_size::{cliffs_delta, cohens_d, cohens_d_paired};
pub use error::{Result, StatsError};
pub use multiplicity::{Adjustment, adjust, benjamini_hochberg, holm};
pub use rank_tests::{
    TestMethod, WilcoxonOptions, ZeroMethod, mann_whitney_u, mann_whitney_u_with, wilcoxon,
    wilcoxon_differences, wilcoxon_with,
};
pub use types::{
    Alternative, ConfidenceInterval, Correlation, EffectSize, PValueMethod, TestResult,
};
