//! The `analyze` section of `params.yaml` for the study (`icodegen-analyze study --key analyze`).
//!
//! Every field has a default, so `analyze: {}` runs the study as the methodology describes it;
//! unknown keys are errors with file, line and a "did you mean" hint.

use icodegen_artifacts::Covariates;
use icodegen_artifacts::vocab::{ConceptKind, Intervention};
use icodegen_causal::{Method, Refuter};
use icodegen_stats::IntervalMethod;
use serde::{Deserialize, Serialize};

/// The name of the per-model confounder taken from `scores.parquet`.
pub const TOKEN_COUNT: &str = "n_tokens";

/// Settings of the study analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StudyParams {
    /// The study seed; every random step derives its own seed from it and from the labels of
    /// what it computes (model, concept, ...), and each results row records that seed. Adding a
    /// model therefore does not change the numbers of the others.
    pub seed: u64,
    pub bootstrap: BootstrapParams,
    /// Below this many rows (or pairs), no interval is reported: the report says so instead.
    pub min_rows: usize,
    /// Concepts of this kind are the outcomes of interventions, the continuous treatments and
    /// the between-model measures: `category` (default) or `node_type`.
    pub concept_kind: ConceptKind,
    /// Confounders adjusted for: `n_tokens` (the model's token count) and covariate names.
    /// Empty = all of them.
    pub confounders: Vec<String>,
    /// Estimators run for the effect of each intervention on cross-entropy.
    pub methods: Vec<Method>,
    /// The estimator of the forest plot, of the concept-score outcomes, of the continuous
    /// concept treatments and of the refuters (it must accept a continuous treatment).
    pub primary_method: Method,
    /// Bootstrap resamples of the propensity-score methods' intervals.
    pub ci_resamples: usize,
    /// L2 penalty of the propensity model; 1 is DoWhy's default (scikit-learn's
    /// `LogisticRegression()`), which also keeps the fit finite when the confounders nearly
    /// separate the arms, as they can for interventions that change the code's size.
    pub propensity_l2: f64,
    pub refuters: Vec<Refuter>,
    /// Simulations per refuter.
    pub simulations: usize,
    /// Fraction of rows kept by the data-subset refuter.
    pub subset_fraction: f64,
    /// Also refute the effects on concept scores (by default only the effects on cross-entropy
    /// are refuted: they are the study's main question and refuters cost simulations).
    pub refute_concept_outcomes: bool,
    /// The seed's thresholds on a mean probability.
    pub confident: f64,
    pub poor: f64,
    /// Node types pooled into the groups of the seed checks (absent ones are ignored, so one
    /// list serves several languages).
    pub seed_checks: SeedCheckParams,
    pub explanations: ExplanationParams,
    /// Threads of the SQL engine (0 = all cores).
    pub threads: usize,
    /// The report folder's size bound in MB (10^6 bytes). The row explorer's token data gives
    /// way when the report would exceed it: first every model's top-k alternatives are
    /// dropped, then the token views of a deterministic sample of snippets are kept (pairs
    /// together); the explorer says which. Its row table is never cut.
    pub report_max_mb: f64,
}

impl Default for StudyParams {
    fn default() -> Self {
        Self {
            seed: 20_230_206,
            bootstrap: BootstrapParams::default(),
            min_rows: 10,
            concept_kind: ConceptKind::Category,
            confounders: Vec::new(),
            methods: Method::ALL.to_vec(),
            primary_method: Method::LinearRegression,
            ci_resamples: 200,
            propensity_l2: 1.0,
            refuters: vec![
                Refuter::Placebo,
                Refuter::RandomCommonCause,
                Refuter::DataSubset,
            ],
            simulations: 100,
            subset_fraction: 0.9,
            refute_concept_outcomes: false,
            confident: 0.6,
            poor: 0.5,
            seed_checks: SeedCheckParams::default(),
            explanations: ExplanationParams::default(),
            threads: 0,
            report_max_mb: 100.0,
        }
    }
}

/// Bootstrap intervals of means and mean differences.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BootstrapParams {
    /// B, the number of resamples.
    pub resamples: usize,
    pub confidence_level: f64,
    /// `bca` (default) or `percentile`.
    pub method: IntervalMethod,
}

impl Default for BootstrapParams {
    fn default() -> Self {
        Self {
            resamples: 1000,
            confidence_level: 0.95,
            method: IntervalMethod::Bca,
        }
    }
}

/// The node-type groups of the seed's finding "blocks are easier than identifiers and natural
/// language".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeedCheckParams {
    pub blocks: Vec<String>,
    pub identifiers: Vec<String>,
    pub natural_language: Vec<String>,
    /// The intervention whose effect should shrink once size is controlled.
    pub bug_intervention: String,
}

impl Default for SeedCheckParams {
    fn default() -> Self {
        let names = |list: &[&str]| list.iter().map(|name| (*name).to_owned()).collect();
        Self {
            blocks: names(&["(", ")", "[", "]", "{", "}", ":", ";"]),
            identifiers: names(&[
                "identifier",
                "type_identifier",
                "field_identifier",
                "property_identifier",
                "constant",
            ]),
            natural_language: names(&[
                "string",
                "string_literal",
                "interpreted_string_literal",
                "raw_string_literal",
                "encapsed_string",
                "template_string",
                "comment",
                "line_comment",
                "block_comment",
            ]),
            bug_intervention: Intervention::Bugfix.as_str().to_owned(),
        }
    }
}

/// Local explanations of the best and worst rows of each model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExplanationParams {
    /// Rows explained at each end (best and worst cross-entropy) per model; 0 = none.
    pub per_model: usize,
    /// Only rows with at least this many scored tokens are candidates.
    pub min_tokens: usize,
    /// Only rows whose code has at most this many bytes are candidates (readable diagrams);
    /// when none qualifies, the shortest rows are used.
    pub max_bytes: usize,
    /// Above this many AST nodes the diagram folds its deepest levels.
    pub max_nodes: usize,
}

impl Default for ExplanationParams {
    fn default() -> Self {
        Self {
            per_model: 1,
            min_tokens: 10,
            max_bytes: 1200,
            max_nodes: 250,
        }
    }
}

impl StudyParams {
    /// Checks values serde cannot; errors are the user's to fix.
    pub fn validate(&self) -> Result<(), String> {
        let level = self.bootstrap.confidence_level;
        if !(level > 0.0 && level < 1.0) {
            return Err(format!(
                "bootstrap.confidence_level must lie in (0, 1), got {level}"
            ));
        }
        if self.bootstrap.resamples < 2 {
            return Err(format!(
                "bootstrap.resamples must be at least 2, got {}",
                self.bootstrap.resamples
            ));
        }
        if self.min_rows < 3 {
            return Err(format!(
                "min_rows must be at least 3, got {}",
                self.min_rows
            ));
        }
        if self.primary_method != Method::LinearRegression {
            return Err(format!(
                "primary_method must be `linear_regression`: it also estimates the effects of continuous \
                 concept treatments, which propensity-score methods cannot; got `{}`",
                self.primary_method.name()
            ));
        }
        if !(self.subset_fraction > 0.0 && self.subset_fraction <= 1.0) {
            return Err(format!(
                "subset_fraction must lie in (0, 1], got {}",
                self.subset_fraction
            ));
        }
        if !self.refuters.is_empty() && self.simulations == 0 {
            return Err("simulations must be at least 1 when refuters run".to_owned());
        }
        if !(0.0..=1.0).contains(&self.poor)
            || !(0.0..=1.0).contains(&self.confident)
            || self.poor > self.confident
        {
            return Err(format!(
                "thresholds must satisfy 0 <= poor <= confident <= 1, got poor {} and confident {}",
                self.poor, self.confident
            ));
        }
        if self.report_max_mb.is_nan() || self.report_max_mb <= 0.0 {
            return Err(format!(
                "report_max_mb must be positive, got {}",
                self.report_max_mb
            ));
        }
        for name in &self.confounders {
            if name != TOKEN_COUNT && !Covariates::NAMES.contains(&name.as_str()) {
                let candidates =
                    std::iter::once(TOKEN_COUNT).chain(Covariates::NAMES.iter().copied());
                let hint = icodegen_artifacts::params::closest(name, candidates)
                    .map(|best| format!("; did you mean `{best}`?"))
                    .unwrap_or_default();
                return Err(format!(
                    "unknown confounder `{name}` in `confounders`{hint} (valid: {TOKEN_COUNT}, {})",
                    Covariates::NAMES.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// The confounders to adjust for, in order of importance (the token count first).
    pub fn confounder_names(&self) -> Vec<String> {
        if self.confounders.is_empty() {
            std::iter::once(TOKEN_COUNT)
                .chain(Covariates::NAMES.iter().copied())
                .map(str::to_owned)
                .collect()
        } else {
            self.confounders.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_section_gives_the_defaults() {
        let params: StudyParams = icodegen_artifacts::params::from_str(
            std::path::Path::new("params.yaml"),
            "analyze: {}\n",
            "analyze",
        )
        .unwrap();
        assert_eq!(params, StudyParams::default());
        assert!(params.validate().is_ok());
    }

    #[test]
    fn a_mistyped_confounder_gets_a_suggestion() {
        let params = StudyParams {
            confounders: vec!["n_token".to_owned()],
            ..StudyParams::default()
        };
        let message = params.validate().unwrap_err();
        assert!(message.contains("did you mean `n_tokens`?"), "{message}");
    }

    #[test]
    fn a_concept_kind_outside_the_vocabulary_names_the_place_and_the_nearest_value() {
        let error = icodegen_artifacts::params::from_str::<StudyParams>(
            std::path::Path::new("params.yaml"),
            "analyze:\n  concept_kind: nodetype\n",
            "analyze",
        )
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("params.yaml:2:3: "), "{error}");
        assert!(
            error.contains("key `analyze.concept_kind`: unknown variant `nodetype`, expected `node_type` or `category`"),
            "{error}"
        );
        assert!(error.contains("did you mean `node_type`?"), "{error}");
    }

    #[test]
    fn a_mistyped_key_is_an_error_with_a_hint() {
        let error = icodegen_artifacts::params::from_str::<StudyParams>(
            std::path::Path::new("params.yaml"),
            "analyze:\n  simulation: 10\n",
            "analyze",
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("did you mean `simulations`?"),
            "{error}"
        );
    }
}
