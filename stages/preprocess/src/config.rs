//! The `preprocess` section of `params.yaml`. Unknown keys are errors (with "did you mean").

use icodegen_artifacts::vocab;
use icodegen_lang::Language;
use serde::Deserialize;

use crate::error::PreprocessError;
use crate::interventions::{Intervention, Operator};

/// Everything `icodegen-preprocess` reads from params.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreprocessConfig {
    /// Seeds every random choice of the interventions and the testbed sample.
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default)]
    pub testbed: TestbedConfig,
    /// Interventions to build, in this order (`none` is always built).
    #[serde(default = "default_interventions")]
    pub interventions: Vec<Intervention>,
    #[serde(default)]
    pub bugfix: BugfixConfig,
    /// Attempts per snippet and intervention before giving up (each rejected attempt is
    /// counted in the report).
    #[serde(default = "default_attempts")]
    pub max_attempts: usize,
    /// How pair roles from ingest's `pairs` sources map onto interventions.
    #[serde(default = "default_pairs")]
    pub pairs: Vec<PairMapping>,
}

fn default_seed() -> u64 {
    42
}

fn default_attempts() -> usize {
    3
}

fn default_interventions() -> Vec<Intervention> {
    Intervention::ALL.to_vec()
}

fn default_pairs() -> Vec<PairMapping> {
    vec![PairMapping {
        intervention: Intervention::Bugfix.name().to_owned(),
        control: "buggy".to_owned(),
        treated: "fixed".to_owned(),
    }]
}

/// Which snippets the testbed is built from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TestbedConfig {
    /// Splits whose snippets enter the testbed.
    pub splits: Vec<String>,
    /// Keep at most this many snippets (pairs count as one), chosen by a seeded hash.
    pub max_snippets: Option<usize>,
    /// Languages in the testbed (default: all).
    pub languages: Option<Vec<String>>,
}

impl Default for TestbedConfig {
    fn default() -> Self {
        TestbedConfig {
            splits: vec![vocab::Split::Test.as_str().to_owned()],
            max_snippets: None,
            languages: None,
        }
    }
}

/// Synthetic bugs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BugfixConfig {
    /// Mutation operators to draw from.
    pub operators: Vec<Operator>,
    /// Make synthetic bugs for snippets without a real pair.
    pub synthetic: bool,
}

impl Default for BugfixConfig {
    fn default() -> Self {
        BugfixConfig {
            operators: Operator::ALL.to_vec(),
            synthetic: true,
        }
    }
}

/// A pair role mapping: rows of a pair whose roles are `control` and `treated` become an
/// intervention's control (0) and treated (1) rows, with `mutation = real_pair`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairMapping {
    pub intervention: String,
    pub control: String,
    pub treated: String,
}

impl PreprocessConfig {
    /// Checks what serde cannot; returns the testbed languages.
    pub fn validate(&self) -> Result<Option<Vec<Language>>, PreprocessError> {
        for split in &self.testbed.splits {
            if split.parse::<vocab::Split>().is_err() {
                return Err(PreprocessError::config(
                    "preprocess.testbed.splits",
                    format!(": unknown split `{split}` (train, valid or test)"),
                ));
            }
        }
        if self.bugfix.operators.is_empty()
            && self.interventions.contains(&Intervention::Bugfix)
            && self.bugfix.synthetic
        {
            return Err(PreprocessError::config(
                "preprocess.bugfix.operators",
                " is empty but synthetic bugs are on",
            ));
        }
        if self.max_attempts == 0 {
            return Err(PreprocessError::config(
                "preprocess.max_attempts",
                " must be at least 1",
            ));
        }
        for mapping in &self.pairs {
            if mapping.intervention == vocab::Intervention::None
                || mapping.control == mapping.treated
            {
                return Err(PreprocessError::config(
                    "preprocess.pairs",
                    format!(
                        ": `{}` needs two different roles and a name other than `none`",
                        mapping.intervention
                    ),
                ));
            }
        }
        let Some(names) = &self.testbed.languages else {
            return Ok(None);
        };
        names
            .iter()
            .map(|name| {
                Language::from_name(name).map_err(|error| {
                    PreprocessError::config("preprocess.testbed.languages", format!(": {error}"))
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}
