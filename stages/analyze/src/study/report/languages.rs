//! The per-language views, when the testbed has more than one language: each language's
//! metrics and AsC-Eval means (over that language's original rows; its categories are those its
//! taxonomy gave the rows), and the intervention effects per language, which the causal claims
//! estimate as the `language` subgroups (`decomposition.rs`).

use icodegen_artifacts::schemas::{study_concepts, study_metrics};

use crate::study::Study;
use crate::study::concepts::{concepts_on, metrics_on};

/// One language's tables.
pub struct LanguageTables {
    pub metrics: Vec<study_metrics::Row>,
    pub concepts: Vec<study_concepts::Row>,
}

/// Every language's tables; empty with a single language.
pub struct PerLanguage {
    pub languages: Vec<(String, LanguageTables)>,
}

impl PerLanguage {
    pub fn compute(study: &Study) -> Self {
        let testbed = &study.testbed;
        if testbed.languages.len() < 2 {
            return Self {
                languages: Vec::new(),
            };
        }
        let languages = testbed
            .languages
            .iter()
            .map(|language| {
                let base: Vec<usize> = testbed
                    .base
                    .iter()
                    .copied()
                    .filter(|&row| &testbed.rows[row].language == language)
                    .collect();
                let mut tables = LanguageTables {
                    metrics: Vec::new(),
                    concepts: Vec::new(),
                };
                for model in &study.models {
                    tables
                        .metrics
                        .extend(metrics_on(model, &base, &study.params, Some(language)));
                    tables.concepts.extend(concepts_on(
                        model,
                        &base,
                        &study.params,
                        Some(language),
                    ));
                }
                (language.clone(), tables)
            })
            .collect();
        Self { languages }
    }
}

/// An intervention's paired effect on cross-entropy in one language.
pub struct LanguageEffect {
    pub model_id: String,
    pub intervention: String,
    pub language: String,
    pub n_pairs: usize,
    pub difference: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub p_holm: Option<f64>,
    pub p_bh: Option<f64>,
}

/// The `language` subgroups of the causal claims.
pub fn language_effects(study: &Study) -> Vec<LanguageEffect> {
    study
        .claims
        .subgroups
        .iter()
        .filter(|group| group.grouping == "language")
        .map(|group| LanguageEffect {
            model_id: group.model_id.clone(),
            intervention: group.intervention.clone(),
            language: group.subgroup.clone(),
            n_pairs: group.n_pairs,
            difference: group.difference.mean,
            low: group.difference.ci.map(|ci| ci.0),
            high: group.difference.ci.map(|ci| ci.1),
            p_holm: group.p_holm,
            p_bh: group.p_bh,
        })
        .collect()
}
