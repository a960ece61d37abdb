//! Shared formatting of numbers, intervals, p-values and names, for the summary's sentences,
//! the HTML and the Markdown.

use super::params::StudyParams;

pub fn number(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".to_owned();
    }
    let magnitude = value.abs();
    if magnitude != 0.0 && !(0.001..10_000.0).contains(&magnitude) {
        format!("{value:.2e}")
    } else {
        format!("{value:.3}")
    }
}

pub fn signed(value: f64) -> String {
    if value > 0.0 {
        format!("+{}", number(value))
    } else {
        number(value)
    }
}

pub fn p_value(p: Option<f64>) -> String {
    match p {
        None => "–".to_owned(),
        Some(p) if p < 0.001 => "&lt;0.001".to_owned(),
        Some(p) => format!("{p:.3}"),
    }
}

/// `p < 0.001` or `p = 0.012`.
pub fn p_phrase(name: &str, p: Option<f64>) -> String {
    match p {
        None => format!("{name} n/a"),
        Some(p) if p < 0.001 => format!("{name} < 0.001"),
        Some(p) => format!("{name} = {p:.3}"),
    }
}

pub fn estimate_ci(value: Option<f64>, low: Option<f64>, high: Option<f64>) -> String {
    match (value, low, high) {
        (Some(value), Some(low), Some(high)) => {
            format!("{} [{}, {}]", number(value), number(low), number(high))
        }
        (Some(value), _, _) => format!("{} (no interval)", number(value)),
        _ => "–".to_owned(),
    }
}

pub fn signed_ci(value: f64, low: Option<f64>, high: Option<f64>) -> String {
    match (low, high) {
        (Some(low), Some(high)) => format!("{} [{}, {}]", signed(value), number(low), number(high)),
        _ => format!("{} (no interval)", signed(value)),
    }
}

pub fn excludes_zero(low: Option<f64>, high: Option<f64>) -> Option<bool> {
    Some(low? > 0.0 || high? < 0.0)
}

pub fn outcome_name(outcome: &str) -> String {
    match outcome.split_once(':') {
        Some((_, concept)) => format!("p({concept})"),
        None => outcome.replace('_', "-"),
    }
}

pub fn level(params: &StudyParams) -> String {
    format!("{:.0}%", params.bootstrap.confidence_level * 100.0)
}

/// `name` as a Markdown code span: node types such as `*`, `**` or `|` must not turn into
/// emphasis. The fence is longer than any run of backticks inside the name.
pub fn code_span(name: &str) -> String {
    let longest = name.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if name.starts_with('`') || name.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{name}{pad}{fence}")
}

/// `BCa` or `percentile`.
pub fn interval_method(params: &StudyParams) -> &'static str {
    if params.bootstrap.method == icodegen_stats::IntervalMethod::Bca {
        "BCa"
    } else {
        "percentile"
    }
}
