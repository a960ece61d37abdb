//! The one error type of `icodegen-causal`.

/// What went wrong while estimating or refuting an effect. Variants about the data name the
/// column and the 0-based row, so a caller reading a file can point at the line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CausalError {
    /// Columns of different lengths.
    #[error("column `{column}` has {got} rows but `{reference}` has {expected}")]
    LengthMismatch {
        column: String,
        reference: String,
        expected: usize,
        got: usize,
    },
    /// A missing, NaN or infinite value.
    #[error("column `{column}` has a missing or non-finite value ({value}) at row {row}")]
    NonFinite {
        column: String,
        row: usize,
        value: f64,
    },
    /// The treatment takes a single value: no contrast to estimate.
    #[error("treatment `{column}` is constant ({value}): there is nothing to compare")]
    ConstantTreatment { column: String, value: f64 },
    /// A propensity-score method with a treatment that is not 0/1.
    #[error(
        "method `{method}` needs a binary 0/1 treatment, but `{column}` is {value} at row {row}"
    )]
    NonBinaryTreatment {
        method: &'static str,
        column: String,
        row: usize,
        value: f64,
    },
    /// The same name used twice, or a confounder that is the treatment or the outcome.
    #[error("column `{0}` appears more than once among treatment, outcome and confounders")]
    DuplicateColumn(String),
    /// Too few rows for the model.
    #[error("{what} needs at least {needed} rows, got {got}")]
    TooFewRows {
        what: &'static str,
        needed: usize,
        got: usize,
    },
    /// The design matrix is rank deficient (a constant or collinear confounder).
    #[error("the regression design is singular: {0}")]
    Singular(String),
    /// The logistic regression for the propensity score did not converge.
    #[error("the propensity model did not converge after {iterations} iterations ({reason})")]
    NoConvergence { iterations: usize, reason: String },
    /// The method cannot produce an estimate on this data (e.g. no stratum has both arms).
    #[error("{method}: {reason}")]
    NotEstimable {
        method: &'static str,
        reason: String,
    },
    /// A mediator that is the treatment (the same column, or an affine function of it).
    #[error(
        "mediator `{mediator}` is the treatment `{treatment}` (the same column or an affine function of it): a mediator must vary given the treatment"
    )]
    MediatorIsTreatment { mediator: String, treatment: String },
    /// A mediator, outcome or covariate that takes one value in every row.
    #[error("{role} `{column}` is constant ({value}) in every row: it cannot enter a regression")]
    ConstantColumn {
        role: &'static str,
        column: String,
        value: f64,
    },
    /// A pair that is not one control and one treated row.
    #[error("pair column `{column}`: pair `{pair}` (first at row {row}) {reason}")]
    Unpaired {
        column: String,
        pair: String,
        row: usize,
        reason: String,
    },
    /// A covariate that differs between the two rows of a pair: the intervention changes it.
    #[error(
        "covariate `{column}` differs between the two rows of pair `{pair}`: the intervention changes it, so it is a mediator, not a pre-treatment covariate (adjust only for pair-level covariates, or pass it as a mediator)"
    )]
    CovariateVariesWithinPair { column: String, pair: String },
    /// A bad option value.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// A DOT graph that cannot be parsed or used.
    #[error("graph {source_name}: {message}")]
    Graph {
        source_name: String,
        message: String,
    },
    /// A statistics routine failed.
    #[error(transparent)]
    Stats(#[from] icodegen_stats::StatsError),
}

/// `Result` with [`CausalError`].
pub type Result<T> = std::result::Result<T, CausalError>;
