//! The one error type of `icodegen-stats`.

/// What went wrong in a statistical routine. Every variant says which input was at fault, so a
/// caller can wrap it with the file or table it came from.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    /// Fewer observations than the method needs.
    #[error("{what} needs at least {needed} observations, got {got}")]
    TooFewObservations {
        what: &'static str,
        needed: usize,
        got: usize,
    },
    /// Two inputs that must be paired (or aligned) have different lengths.
    #[error("{what}: the two samples must have the same length, got {left} and {right}")]
    LengthMismatch {
        what: &'static str,
        left: usize,
        right: usize,
    },
    /// A NaN or infinite value where a finite number is required.
    #[error("{what}: value at index {index} is not finite ({value})")]
    NonFinite {
        what: &'static str,
        index: usize,
        value: f64,
    },
    /// A parameter outside its domain (confidence level not in (0, 1), zero resamples, ...).
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// The statistic is undefined for this input (all values equal, every difference zero, ...).
    #[error("{what} is undefined: {reason}")]
    Undefined {
        what: &'static str,
        reason: &'static str,
    },
}

/// `Result` with [`StatsError`].
pub type Result<T> = std::result::Result<T, StatsError>;

/// Checks that every value is finite.
pub(crate) fn check_finite(what: &'static str, values: &[f64]) -> Result<()> {
    match values.iter().position(|value| !value.is_finite()) {
        Some(index) => Err(StatsError::NonFinite {
            what,
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

/// Checks a minimum sample size.
pub(crate) fn check_len(what: &'static str, values: &[f64], needed: usize) -> Result<()> {
    if values.len() < needed {
        return Err(StatsError::TooFewObservations {
            what,
            needed,
            got: values.len(),
        });
    }
    Ok(())
}

/// Checks that two samples are paired.
pub(crate) fn check_paired(what: &'static str, left: &[f64], right: &[f64]) -> Result<()> {
    if left.len() != right.len() {
        return Err(StatsError::LengthMismatch {
            what,
            left: left.len(),
            right: right.len(),
        });
    }
    Ok(())
}

/// Checks that a confidence level lies in (0, 1).
pub(crate) fn check_confidence(level: f64) -> Result<()> {
    if !(level > 0.0 && level < 1.0) {
        return Err(StatsError::InvalidParameter(format!(
            "confidence level must lie in (0, 1), got {level}"
        )));
    }
    Ok(())
}
