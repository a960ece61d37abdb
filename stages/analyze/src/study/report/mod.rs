//! The report model: everything `index.html` and `summary.md` show, computed once from the
//! study as plain structs of numbers and labels (results-table rows, chart models, sentences,
//! the leaderboard, the heat maps, the per-language splits). `super::render` turns it into HTML
//! and Markdown without computing anything.
//!
//! Modules: [`summary`] (the findings in sentences), [`charts`] (chart models), [`many`] (the
//! leaderboard with rank intervals, the concept x model heat map, the comparison matrix),
//! [`languages`] (the per-language metrics, concepts and effects), [`explanations`] (the local
//! explanations, rendered by `icodegen-explain` while the study runs).

pub mod charts;
pub mod explanations;
pub mod languages;
pub mod many;
pub mod summary;

use icodegen_artifacts::schemas::{
    study_comparisons, study_concepts, study_effects, study_metrics, study_paired,
    study_refutations, study_seed_checks, study_tokens,
};
use icodegen_artifacts::vocab::{Metric, TokenConceptKind};

pub use explanations::{ExplanationBlock, explanations};
pub use summary::{ModelSummary, Summary};

use super::Study;
use super::charts::RowChart;
use super::effects::{CONCEPT, INTERVENTION};
use super::numbers::five_numbers;
use super::params::StudyParams;

/// One row of the effects tables, with its adjustment set counted.
pub struct EffectRow<'a> {
    pub row: &'a study_effects::Row,
    /// Confounders used.
    pub used: usize,
    /// Confounders left out (with their reasons), as listed in the table.
    pub dropped: Vec<&'a str>,
}

/// The distribution of one confounder over the testbed's snippets.
pub struct Spread {
    pub name: &'static str,
    /// Minimum, first quartile, median, third quartile, maximum.
    pub five: [f64; 5],
}

/// The testbed described in the method section (with `--covariates`).
pub struct TestbedDescription {
    pub testbed_rows: usize,
    pub distinct_rows: usize,
    pub original_rows: usize,
    pub snippets: usize,
    pub spreads: Vec<Spread>,
}

/// One model's concept table in `summary.md`, best first.
pub struct ConceptList<'a> {
    pub model_id: &'a str,
    pub rows: Vec<&'a study_concepts::Row>,
}

/// Everything the report shows.
pub struct Report<'a> {
    pub params: &'a StudyParams,
    pub summary: Summary,
    /// The summary's findings about several models or none, by topic (the HTML's first part).
    pub summary_shared: Vec<(String, Vec<String>)>,
    /// The summary's findings about one model, per model (the HTML's cards).
    pub summary_by_model: Vec<ModelSummary>,
    /// Model ids in the study's order.
    pub models: Vec<&'a str>,
    /// The testbed's languages (sorted); more than one: per-language views.
    pub languages: Vec<String>,
    // Models
    pub metrics: Vec<&'a study_metrics::Row>,
    pub leaderboards: Vec<many::Leaderboard>,
    pub comparison_matrix: Option<many::Matrix>,
    pub comparisons: Vec<&'a study_comparisons::Row>,
    // Concepts
    pub heat_maps: Vec<many::HeatMap>,
    pub concept_charts: Vec<RowChart>,
    pub node_charts: Vec<RowChart>,
    pub tokens: Vec<&'a study_tokens::Row>,
    /// The token-level table per language (several languages only), by language.
    pub language_tokens: Vec<(&'a str, Vec<&'a study_tokens::Row>)>,
    pub distributions: Option<RowChart>,
    // Interventions
    pub intervention_charts: Vec<RowChart>,
    pub paired_loss: Vec<&'a study_paired::Row>,
    pub paired_concepts: Vec<&'a study_paired::Row>,
    pub language_effects: Vec<languages::LanguageEffect>,
    /// The per-language effects as a forest (several languages only).
    pub language_forest: Option<RowChart>,
    /// Each language's concept, distribution and intervention charts (several languages only).
    pub language_views: Vec<languages::LanguageView>,
    // Effects
    pub confounders: String,
    pub intervention_forest: Option<RowChart>,
    pub concept_forest: Option<RowChart>,
    pub intervention_effects: Vec<EffectRow<'a>>,
    pub intervention_concept_effects: Vec<EffectRow<'a>>,
    pub concept_effects: Vec<EffectRow<'a>>,
    pub refutations: &'a [study_refutations::Row],
    pub seed_checks: &'a [study_seed_checks::Row],
    pub explanations: &'a [ExplanationBlock],
    // Method
    pub method: Vec<String>,
    pub testbed: Option<TestbedDescription>,
    // summary.md
    pub concept_lists: Vec<ConceptList<'a>>,
    /// What the explorer's size bound left out (`Bound::note`), shown next to the explorer
    /// link; set once the explorer is written.
    pub explorer_note: Option<String>,
}

fn effect_rows<'a>(
    study: &'a Study,
    keep: impl Fn(&study_effects::Row) -> bool,
) -> Vec<EffectRow<'a>> {
    study
        .results
        .effects
        .iter()
        .filter(|row| keep(row))
        .map(|row| EffectRow {
            row,
            used: if row.confounders.is_empty() {
                0
            } else {
                row.confounders.split(',').count()
            },
            dropped: if row.dropped_confounders.is_empty() {
                Vec::new()
            } else {
                row.dropped_confounders.split(", ").collect()
            },
        })
        .collect()
}

/// `study.tokens_by_language` grouped by language, without node types (as the pooled table).
fn language_tokens(study: &Study) -> Vec<(&str, Vec<&study_tokens::Row>)> {
    let mut out: Vec<(&str, Vec<&study_tokens::Row>)> = Vec::new();
    for (language, row) in &study.tokens_by_language {
        if row.concept_kind == TokenConceptKind::NodeType {
            continue;
        }
        match out.last_mut() {
            Some((last, rows)) if *last == language.as_str() => rows.push(row),
            _ => out.push((language, vec![row])),
        }
    }
    out
}

fn method_bullets(params: &StudyParams) -> Vec<String> {
    vec![
        format!(
            "Study seed {}; every bootstrap, estimator and refuter derives its own seed from it and from the labels of what it computes; each table row records its seed.",
            params.seed
        ),
        format!(
            "Intervals: {} {} bootstrap with B = {}; none below {} rows or pairs.",
            super::format::level(params),
            super::format::interval_method(params),
            params.bootstrap.resamples,
            params.min_rows
        ),
        format!(
            "Estimators on cross-entropy: {}; on concept scores and for concept treatments: {}. Propensity-score intervals: {} bootstrap resamples; propensity L2 penalty {}.",
            params
                .methods
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join(", "),
            params.primary_method.name(),
            params.ci_resamples,
            params.propensity_l2
        ),
        "Multiplicity: Holm and Benjamini-Hochberg within each family: the intervention table's Wilcoxon tests; the model comparisons; the effects per (treatment kind, method); the correlations per treatment kind. Refuter p-values are not adjusted: adjusting them would make passing easier.".to_owned(),
        format!(
            "Seed-check groups: blocks = {{{}}}; identifiers = {{{}}}; natural language = {{{}}}.",
            params.seed_checks.blocks.join(" "),
            params.seed_checks.identifiers.join(" "),
            params.seed_checks.natural_language.join(" ")
        ),
        "Leaderboard ranks: the models' mean cross-entropy recomputed on the same bootstrap resamples of the rows (B as above, seeded); the rank interval holds the central ranks of the resamples at the confidence level.".to_owned(),
    ]
}

fn testbed_description(
    study: &Study,
    covariates: &[icodegen_artifacts::schemas::covariates::Row],
) -> TestbedDescription {
    let snippets: std::collections::BTreeSet<&str> = covariates
        .iter()
        .map(|row| row.snippet_id.as_str())
        .collect();
    let names = icodegen_artifacts::Covariates::NAMES;
    let spreads = [
        "loc",
        "n_ast_nodes",
        "ast_depth",
        "cyclomatic",
        "n_identifiers",
    ]
    .into_iter()
    .filter_map(|name| {
        let position = names.iter().position(|n| *n == name)?;
        let values: Vec<f64> = covariates
            .iter()
            .map(|row| row.covariates().values()[position])
            .collect();
        (!values.is_empty()).then(|| Spread {
            name,
            five: five_numbers(&values),
        })
    })
    .collect();
    TestbedDescription {
        testbed_rows: study.testbed.n_testbed_rows,
        distinct_rows: study.testbed.rows.len(),
        original_rows: study.testbed.base.len(),
        snippets: snippets.len(),
        spreads,
    }
}

impl<'a> Report<'a> {
    /// Computes the whole report model.
    pub fn build(study: &'a Study) -> Self {
        let params = &study.params;
        let results = &study.results;
        let kind = params.concept_kind.as_str();
        let models: Vec<&str> = study.models.iter().map(|m| m.model_id.as_str()).collect();
        let mut concept_lists: Vec<ConceptList> = Vec::new();
        for model in &models {
            let mut rows: Vec<&study_concepts::Row> = results
                .concepts
                .iter()
                .filter(|row| row.model_id == *model && row.concept_kind == kind)
                .collect();
            if rows.is_empty() {
                continue;
            }
            rows.sort_by(|a, b| b.mean.total_cmp(&a.mean));
            concept_lists.push(ConceptList {
                model_id: model,
                rows,
            });
        }
        concept_lists.sort_by_key(|list| list.model_id);
        let per_language = languages::PerLanguage::compute(study);
        let mut leaderboards = vec![many::leaderboard(study, None, &results.metrics)];
        let mut heat_maps: Vec<many::HeatMap> =
            many::heat_map(&models, kind, &results.concepts, None)
                .into_iter()
                .collect();
        let language_effects = languages::language_effects(study);
        let language_forest = charts::language_forest(study, &language_effects);
        let language_views = languages::views(study, &per_language);
        for (language, tables) in &per_language.languages {
            leaderboards.push(many::leaderboard(study, Some(language), &tables.metrics));
            heat_maps.extend(many::heat_map(
                &models,
                kind,
                &tables.concepts,
                Some(language),
            ));
        }
        let summary = Summary::from_study(study);
        let (summary_shared, summary_by_model) = summary.by_model(&models);
        Report {
            params,
            summary,
            summary_shared,
            summary_by_model,
            models: models.clone(),
            languages: study.testbed.languages.clone(),
            metrics: results.metrics.iter().collect(),
            leaderboards,
            comparison_matrix: many::comparison_matrix(&models, &results.comparisons),
            comparisons: results.comparisons.iter().collect(),
            heat_maps,
            concept_charts: study
                .models
                .iter()
                .filter_map(|model| {
                    charts::concept_chart(study, &results.concepts, &model.model_id, kind, 40, None)
                })
                .collect(),
            node_charts: study
                .models
                .iter()
                .filter_map(|model| {
                    charts::concept_chart(
                        study,
                        &results.concepts,
                        &model.model_id,
                        params.concept_kind.other().as_str(),
                        30,
                        None,
                    )
                })
                .collect(),
            tokens: results
                .tokens
                .iter()
                .filter(|row| row.concept_kind != TokenConceptKind::NodeType)
                .collect(),
            language_tokens: language_tokens(study),
            distributions: charts::category_boxes(study, &results.concepts, None),
            intervention_charts: study
                .models
                .iter()
                .filter_map(|model| charts::intervention_boxes(study, model, None))
                .collect(),
            paired_loss: results
                .paired
                .iter()
                .filter(|row| row.outcome == Metric::CrossEntropy)
                .collect(),
            paired_concepts: results
                .paired
                .iter()
                .filter(|row| row.outcome != Metric::CrossEntropy)
                .collect(),
            language_effects,
            language_forest,
            language_views,
            confounders: params.confounder_names().join(", "),
            intervention_forest: charts::forest(study, INTERVENTION),
            concept_forest: charts::forest(study, CONCEPT),
            intervention_effects: effect_rows(study, |row| {
                row.treatment_kind == INTERVENTION && row.outcome == Metric::CrossEntropy
            }),
            intervention_concept_effects: effect_rows(study, |row| {
                row.treatment_kind == INTERVENTION && row.outcome != Metric::CrossEntropy
            }),
            concept_effects: effect_rows(study, |row| row.treatment_kind == CONCEPT),
            refutations: &results.refutations,
            seed_checks: &results.seed_checks,
            explanations: &study.explanations,
            method: method_bullets(params),
            testbed: study
                .covariates
                .as_deref()
                .map(|covariates| testbed_description(study, covariates)),
            concept_lists,
            explorer_note: None,
        }
    }
}
