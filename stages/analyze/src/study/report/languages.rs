//! The per-language views, when the testbed has more than one language: each language's
//! metrics and AsC-Eval means (over that language's original rows; its categories are those its
//! taxonomy gave the rows), and the intervention effects per language, which the causal claims
//! estimate as the `language` subgroups (`decomposition.rs`).

use icodegen_artifacts::schemas::{study_concepts, study_metrics};

use super::charts;
use crate::study::Study;
use crate::study::charts::RowChart;
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

/// One language's charts, beside the pooled ones.
pub struct LanguageView {
    pub language: String,
    /// Each model's concept means (the study's concept kind), then node types.
    pub concept_charts: Vec<RowChart>,
    pub node_charts: Vec<RowChart>,
    /// The per-row distributions of the concepts, per model.
    pub distributions: Option<RowChart>,
    /// Each model's control vs treated cross-entropy over this language's pairs.
    pub intervention_charts: Vec<RowChart>,
}

/// The per-language charts (none with a single language).
pub fn views(study: &Study, per_language: &PerLanguage) -> Vec<LanguageView> {
    let kind = study.params.concept_kind.as_str();
    per_language
        .languages
        .iter()
        .map(|(language, tables)| {
            let language = language.as_str();
            let concept = |kind: &str, limit: usize| -> Vec<RowChart> {
                study
                    .models
                    .iter()
                    .filter_map(|model| {
                        charts::concept_chart(
                            study,
                            &tables.concepts,
                            &model.model_id,
                            kind,
                            limit,
                            Some(language),
                        )
                    })
                    .collect()
            };
            LanguageView {
                language: language.to_owned(),
                concept_charts: concept(kind, 40),
                node_charts: concept(study.params.concept_kind.other().as_str(), 30),
                distributions: charts::category_boxes(study, &tables.concepts, Some(language)),
                intervention_charts: study
                    .models
                    .iter()
                    .filter_map(|model| charts::intervention_boxes(study, model, Some(language)))
                    .collect(),
            }
        })
        .collect()
}
