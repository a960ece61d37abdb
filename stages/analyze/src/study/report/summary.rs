//! The plain-language summary: the findings in sentences, every number from the results
//! tables; where a number has no interval (too few rows), the sentence says so.

use std::fmt::Write as _;

use icodegen_artifacts::schemas::{study_concepts, study_effects};
use icodegen_artifacts::vocab::{ConceptKind, Metric, Reading};

use crate::study::Study;
use crate::study::effects::CONCEPT;
use crate::study::format::{
    code_span, estimate_ci, excludes_zero, level, number, outcome_name, p_phrase, signed_ci,
};

/// The findings in sentences, grouped by topic; shared by `index.html` and `summary.md`.
pub struct Summary {
    pub overview: String,
    pub sections: Vec<(String, Vec<String>)>,
}

/// One model's findings, by topic, without the model's name in front.
pub struct ModelSummary {
    pub model_id: String,
    pub sections: Vec<(String, Vec<String>)>,
}

impl Summary {
    /// The findings split into those about one model (lines that start with `**model**`), per
    /// model, so that each model's summary fits a screen, and the rest, by topic.
    pub fn by_model(&self, models: &[&str]) -> (Vec<(String, Vec<String>)>, Vec<ModelSummary>) {
        let mut shared = Vec::new();
        let mut per_model: Vec<ModelSummary> = models
            .iter()
            .map(|model| ModelSummary {
                model_id: (*model).to_owned(),
                sections: Vec::new(),
            })
            .collect();
        for (title, lines) in &self.sections {
            let mut rest = Vec::new();
            for line in lines {
                let owner = models.iter().position(|model| {
                    line.strip_prefix(&format!("**{model}**"))
                        .is_some_and(|after| after.starts_with([':', ',', ' ']))
                });
                match owner {
                    Some(index) => {
                        let prefix = format!("**{}**", models[index]);
                        let text = line[prefix.len()..]
                            .trim_start_matches([':', ','])
                            .trim_start();
                        let sections = &mut per_model[index].sections;
                        if sections.last().is_none_or(|(last, _)| last != title) {
                            sections.push((title.clone(), Vec::new()));
                        }
                        if let Some((_, lines)) = sections.last_mut() {
                            lines.push(text.to_owned());
                        }
                    }
                    None => rest.push(line.clone()),
                }
            }
            if !rest.is_empty() {
                shared.push((title.clone(), rest));
            }
        }
        per_model.retain(|model| !model.sections.is_empty());
        (shared, per_model)
    }
}

fn concept_phrase(row: &study_concepts::Row) -> String {
    let name = if row.concept_kind == ConceptKind::NodeType {
        code_span(&row.concept)
    } else {
        row.concept.clone()
    };
    format!(
        "{} ({} [{}, {}], {} rows)",
        name,
        number(row.mean),
        row.ci_low.map_or("?".into(), number),
        row.ci_high.map_or("?".into(), number),
        row.n_rows
    )
}

impl Summary {
    pub fn from_study(study: &Study) -> Self {
        let params = &study.params;
        let results = &study.results;
        let model_names: Vec<&str> = study
            .models
            .iter()
            .map(|model| model.model_id.as_str())
            .collect();
        let interventions: Vec<String> = study
            .testbed
            .interventions
            .iter()
            .map(|(name, pairs)| format!("{name} ({} pairs)", pairs.len()))
            .collect();
        let overview = format!(
            "{} model{} ({}) on {} original test snippets{}; {} intervals, B = {}, seed {}.",
            model_names.len(),
            if model_names.len() == 1 { "" } else { "s" },
            model_names.join(", "),
            study.testbed.base.len(),
            if interventions.is_empty() {
                " and no interventions".to_owned()
            } else {
                format!(
                    " and {} interventions: {}",
                    interventions.len(),
                    interventions.join(", ")
                )
            },
            level(params),
            params.bootstrap.resamples,
            params.seed
        );
        let mut sections = Vec::new();

        // Concepts, best and worst, per model.
        let mut concept_lines = Vec::new();
        for model in &study.models {
            let mut ranked: Vec<&study_concepts::Row> = results
                .concepts
                .iter()
                .filter(|row| {
                    row.model_id == model.model_id
                        && row.concept_kind == params.concept_kind
                        && row.rank.is_some()
                })
                .collect();
            ranked.sort_by_key(|row| row.rank);
            let metric = |name: Metric| {
                results
                    .metrics
                    .iter()
                    .find(|row| row.model_id == model.model_id && row.metric == name)
            };
            let mut line = format!("**{}**", model.model_id);
            if let Some(row) = metric(Metric::CrossEntropy) {
                let _ = write!(
                    line,
                    ": cross-entropy {} nats/token",
                    estimate_ci(Some(row.mean), row.ci_low, row.ci_high)
                );
            }
            if let Some(row) = metric(Metric::Accuracy) {
                let _ = write!(
                    line,
                    ", top-1 accuracy {}",
                    estimate_ci(Some(row.mean), row.ci_low, row.ci_high)
                );
            }
            line.push_str(". ");
            if ranked.len() >= 2 {
                let take = 2.min(ranked.len() / 2).max(1);
                let best: Vec<String> = ranked
                    .iter()
                    .take(take)
                    .map(|row| concept_phrase(row))
                    .collect();
                let worst: Vec<String> = ranked
                    .iter()
                    .rev()
                    .take(take)
                    .map(|row| concept_phrase(row))
                    .collect();
                let _ = write!(
                    line,
                    "Best predicted {}: {}; worst: {}.",
                    if params.concept_kind == ConceptKind::Category {
                        "categories"
                    } else {
                        "node types"
                    },
                    best.join(", "),
                    worst.join(", ")
                );
                let (best_row, worst_row) = (ranked[0], ranked[ranked.len() - 1]);
                if let (Some(best_low), Some(worst_high)) = (best_row.ci_low, worst_row.ci_high) {
                    if best_low > worst_high {
                        line.push_str(" Their intervals do not overlap.");
                    } else {
                        line.push_str(" Their intervals overlap, so the ranking at the extremes is uncertain.");
                    }
                }
                let confident = ranked
                    .iter()
                    .filter(|row| row.reading == Reading::Confident)
                    .count();
                let erroneous = ranked
                    .iter()
                    .filter(|row| row.reading == Reading::Erroneous)
                    .count();
                let _ = write!(
                    line,
                    " By the seed's reading, {confident} of {} are confident (mean ≥ {}) and {erroneous} erroneous (< {}).",
                    ranked.len(),
                    params.confident,
                    params.poor
                );
            } else {
                let _ = write!(
                    line,
                    "Fewer than two {} have enough rows (≥ {}) for an interval, so no ranking is reported.",
                    params.concept_kind, params.min_rows
                );
            }
            let other_kind = params.concept_kind.other();
            let mut others: Vec<&study_concepts::Row> = results
                .concepts
                .iter()
                .filter(|row| {
                    row.model_id == model.model_id
                        && row.concept_kind == other_kind
                        && row.rank.is_some()
                })
                .collect();
            others.sort_by_key(|row| row.rank);
            if others.len() >= 4 {
                let take = 3.min(others.len() / 2);
                let names = |rows: &mut dyn Iterator<Item = &&study_concepts::Row>| {
                    rows.take(take)
                        .map(|row| concept_phrase(row))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let _ = write!(
                    line,
                    " Among {}: best {}; worst {}.",
                    if other_kind == ConceptKind::NodeType {
                        "node types"
                    } else {
                        "categories"
                    },
                    names(&mut others.iter()),
                    names(&mut others.iter().rev())
                );
            }
            concept_lines.push(line);
        }
        sections.push((
            "Concepts each model predicts best and worst".to_owned(),
            concept_lines,
        ));

        // Interventions: the total effect, then its decomposition through size.
        let mut intervention_lines = crate::study::decomposition::intervention_lines(study);
        if intervention_lines.is_empty() {
            intervention_lines.push("The testbed has no intervention pairs.".to_owned());
        }
        sections.push((
            "Effect of each intervention on cross-entropy".to_owned(),
            intervention_lines,
        ));
        let subgroup_lines = crate::study::decomposition::subgroup_lines(study);
        if !subgroup_lines.is_empty() {
            sections.push((
                "Intervention effects by pre-treatment subgroup".to_owned(),
                subgroup_lines,
            ));
        }

        // Concepts as treatments.
        let mut concept_effects = Vec::new();
        for model in &study.models {
            let mut rows: Vec<&study_effects::Row> = results
                .effects
                .iter()
                .filter(|row| {
                    row.model_id == model.model_id
                        && row.treatment_kind == CONCEPT
                        && row.p_bh.is_some()
                })
                .collect();
            if rows.is_empty() {
                continue;
            }
            let significant = rows
                .iter()
                .filter(|row| row.p_bh.is_some_and(|p| p <= 0.05))
                .count();
            rows.sort_by(|a, b| {
                b.effect
                    .unwrap_or(0.0)
                    .abs()
                    .total_cmp(&a.effect.unwrap_or(0.0).abs())
            });
            let strongest = rows[0];
            concept_effects.push(format!(
                "**{}**: {} of {} concepts have a back-door adjusted effect (observational: identified only if the adjustment set holds every common cause) on cross-entropy with BH-adjusted p ≤ 0.05; the largest is {} ({} nats per unit of mean probability; correlation r = {}).",
                model.model_id,
                significant,
                rows.len(),
                outcome_name(&strongest.treatment),
                signed_ci(strongest.effect.unwrap_or(f64::NAN), strongest.ci_low, strongest.ci_high),
                strongest.pearson.map_or("n/a".to_owned(), number)
            ));
        }
        if !concept_effects.is_empty() {
            sections.push((
                "Concepts as treatments (ASTrust)".to_owned(),
                concept_effects,
            ));
        }
        let sensitivity_lines = crate::study::decomposition::sensitivity_lines(study);
        if !sensitivity_lines.is_empty() {
            sections.push((
                "Sensitivity of the concept effects to unobserved confounding".to_owned(),
                sensitivity_lines,
            ));
        }

        // Between models.
        let mut comparison_lines = Vec::new();
        for row in results
            .comparisons
            .iter()
            .filter(|row| row.measure == Metric::CrossEntropy)
        {
            let difference = row.mean_difference.unwrap_or(f64::NAN);
            let verdict = match excludes_zero(row.ci_low, row.ci_high) {
                None => "too few rows for an interval".to_owned(),
                Some(false) => "no clear difference".to_owned(),
                Some(true) if difference < 0.0 => format!("{} has the lower loss", row.model_a),
                Some(true) => format!("{} has the lower loss", row.model_b),
            };
            comparison_lines.push(format!(
                "{} − {} cross-entropy on the same {} rows: {} nats (Wilcoxon {}, Holm-adjusted {}): {verdict}.",
                row.model_a,
                row.model_b,
                row.n_rows,
                signed_ci(difference, row.ci_low, row.ci_high),
                p_phrase("p", row.wilcoxon_p_value),
                p_phrase("p", row.p_holm)
            ));
        }
        if !comparison_lines.is_empty() {
            sections.push(("Between models".to_owned(), comparison_lines));
        }

        // Seed checks.
        let seed_lines: Vec<String> = results
            .seed_checks
            .iter()
            .map(|row| format!("*{}*: {}.", row.verdict, row.explanation))
            .collect();
        sections.push((
            "Do the seed studies' findings hold here?".to_owned(),
            seed_lines,
        ));

        // Refuters.
        let passed = results
            .refutations
            .iter()
            .filter(|row| row.passed == Some(true))
            .count();
        let failed: Vec<String> = results
            .refutations
            .iter()
            .filter(|row| row.passed == Some(false))
            .map(|row| {
                format!(
                    "{} {} → {} ({})",
                    row.model_id,
                    outcome_name(&row.treatment),
                    outcome_name(&row.outcome),
                    row.refuter
                )
            })
            .collect();
        let errors = results
            .refutations
            .iter()
            .filter(|row| row.error.is_some())
            .count();
        let mut refuter_line = format!(
            "{passed} of {} refutations passed",
            results.refutations.len()
        );
        if !failed.is_empty() {
            let _ = write!(refuter_line, "; failed: {}", failed.join("; "));
        }
        if errors > 0 {
            let _ = write!(refuter_line, "; {errors} could not run");
        }
        refuter_line.push('.');
        sections.push(("Refutations".to_owned(), vec![refuter_line]));

        // Caveats.
        let mut caveats: Vec<String> = study.warnings.clone();
        let small = results
            .concepts
            .iter()
            .filter(|row| row.ci_low.is_none())
            .count();
        if small > 0 {
            caveats.push(format!(
                "{small} concept scores rest on fewer than {} rows and are shown without an interval.",
                params.min_rows
            ));
        }
        let failed_effects = results
            .effects
            .iter()
            .filter(|row| row.error.is_some())
            .count();
        if failed_effects > 0 {
            caveats.push(format!(
                "{failed_effects} effect estimates could not be computed (see the effects table's `error` column)."
            ));
        }
        caveats.push(
            "Covariates are measured on each row's own code, so an intervention can change some of them (e.g. the token count when comments are added): those are mediators, never adjusted for; intervention effects adjust only for pair-level covariates, and their direct and indirect effects assume sequential ignorability (docs/causal.md). Concept effects are observational: identified only if the adjustment set holds every common cause (see their sensitivity).".to_owned(),
        );
        sections.push(("Caveats".to_owned(), caveats));
        Self { overview, sections }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_about_one_model_move_to_its_summary() {
        let summary = Summary {
            overview: String::new(),
            sections: vec![
                (
                    "Concepts".to_owned(),
                    vec![
                        "**gru**: best scope.".to_owned(),
                        "**gru2**, `comments`: +0.1.".to_owned(),
                        "Every model finds scope easy.".to_owned(),
                    ],
                ),
                ("Caveats".to_owned(), vec!["**Note** this.".to_owned()]),
            ],
        };
        let (shared, per_model) = summary.by_model(&["gru", "gru2", "lstm"]);
        assert_eq!(
            shared,
            vec![
                (
                    "Concepts".to_owned(),
                    vec!["Every model finds scope easy.".to_owned()]
                ),
                ("Caveats".to_owned(), vec!["**Note** this.".to_owned()]),
            ]
        );
        assert_eq!(per_model.len(), 2, "lstm has no line");
        assert_eq!(per_model[0].model_id, "gru");
        assert_eq!(
            per_model[0].sections,
            vec![("Concepts".to_owned(), vec!["best scope.".to_owned()])]
        );
        assert_eq!(
            per_model[1].sections,
            vec![("Concepts".to_owned(), vec!["`comments`: +0.1.".to_owned()])]
        );
    }
}
