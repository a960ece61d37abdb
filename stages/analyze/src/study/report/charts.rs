//! The report's charts as plain chart models (rows of marks, labels and colours), built from
//! the results tables; `charts::render` draws them.

use std::collections::BTreeSet;

use icodegen_artifacts::schemas::{study_concepts, study_effects};
use icodegen_artifacts::vocab::{ConceptKind, Metric, Reading};

use crate::study::Study;
use crate::study::charts::{
    self, CONFIDENT, GREY, Mark, PALETTE, POOR, Reference, Row, RowChart, Side,
};
use crate::study::effects::INTERVENTION;
use crate::study::format::{level, number, outcome_name, p_phrase, signed_ci};
use crate::study::inputs::Model;
use crate::study::numbers::five_numbers;
use crate::study::paired::{Outcome, paired_values};
use crate::study::params::StudyParams;
use crate::study::report::languages::LanguageEffect;

pub fn model_color(study: &Study, model_id: &str) -> charts::Paint {
    let index = study
        .models
        .iter()
        .position(|model| model.model_id == model_id)
        .unwrap_or(0);
    PALETTE[index % PALETTE.len()]
}

fn reading_color(reading: &str) -> charts::Paint {
    match reading.parse() {
        Ok(Reading::Confident) => CONFIDENT,
        Ok(Reading::Erroneous) => POOR,
        _ => GREY,
    }
}

fn probability_references(params: &StudyParams) -> Vec<Reference> {
    vec![
        Reference {
            x: params.poor,
            color: POOR,
            label: format!("erroneous < {}", params.poor),
            side: Side::Left,
        },
        Reference {
            x: params.confident,
            color: CONFIDENT,
            label: format!("≥ {} confident", params.confident),
            side: Side::Right,
        },
    ]
}

/// `model` or `model (python)`.
fn scoped(name: &str, language: Option<&str>) -> String {
    language.map_or(name.to_owned(), |language| format!("{name} ({language})"))
}

/// One model's concept means from `concepts` (the pooled table, or one language's).
pub fn concept_chart(
    study: &Study,
    concepts: &[study_concepts::Row],
    model_id: &str,
    kind: &str,
    limit: usize,
    language: Option<&str>,
) -> Option<RowChart> {
    let params = &study.params;
    let mut rows: Vec<&study_concepts::Row> = concepts
        .iter()
        .filter(|row| row.model_id == model_id && row.concept_kind == kind)
        .collect();
    if rows.is_empty() {
        return None;
    }
    let total = rows.len();
    if rows.len() > limit {
        rows.sort_by_key(|row| std::cmp::Reverse(row.n_tokens));
        rows.truncate(limit);
    }
    rows.sort_by(|a, b| b.mean.total_cmp(&a.mean));
    let model_id = scoped(model_id, language);
    let title = if ConceptKind::Category == kind {
        format!(
            "{model_id}: mean probability per category ({} intervals)",
            level(params)
        )
    } else if total > limit {
        format!("{model_id}: the {limit} most frequent node types of {total}")
    } else {
        format!("{model_id}: mean probability per node type")
    };
    let mut chart = RowChart::new(
        title,
        "mean probability of the concept's tokens (per row, averaged over rows)",
    );
    chart.x_range = Some((0.0, 1.0));
    chart.references = probability_references(params);
    chart.right_title = Some("rows".to_owned());
    chart.rows = rows
        .iter()
        .map(|row| Row {
            label: row.concept.clone(),
            marks: vec![Mark::Point {
                value: row.mean,
                interval: row.ci_low.zip(row.ci_high),
                color: reading_color(&row.reading),
                hollow: row.ci_low.is_none(),
                offset: 0.0,
            }],
            right: Some(if row.ci_low.is_none() {
                format!("{} (too few)", row.n_rows)
            } else {
                row.n_rows.to_string()
            }),
        })
        .collect();
    chart.legend = vec![
        (Reading::Confident.to_string(), CONFIDENT, false),
        (Reading::Uncertain.to_string(), GREY, false),
        (Reading::Erroneous.to_string(), POOR, false),
        (
            format!("no interval (< {} rows)", params.min_rows),
            GREY,
            true,
        ),
    ];
    Some(chart)
}

fn spread(count: usize, index: usize) -> f64 {
    if count <= 1 {
        return 0.0;
    }
    let step = 0.7 / count as f64;
    0.35 - step / 2.0 - index as f64 * step
}

/// Per-row distributions of each concept's mean, per model, from `table` (the pooled concepts
/// table, or one language's).
pub fn category_boxes(
    study: &Study,
    table: &[study_concepts::Row],
    language: Option<&str>,
) -> Option<RowChart> {
    let kind = study.params.concept_kind.as_str();
    let concepts: BTreeSet<&str> = table
        .iter()
        .filter(|row| row.concept_kind == kind)
        .map(|row| row.concept.as_str())
        .collect();
    if concepts.is_empty() {
        return None;
    }
    let mut chart = RowChart::new(
        scoped(
            &format!("Per-row mean probability by {}", kind.replace('_', " ")),
            language,
        ),
        "mean probability per row (box: quartiles, bar: median, dot: mean, whiskers: range)",
    );
    chart.x_range = Some((0.0, 1.0));
    chart.references = probability_references(&study.params);
    let count = study.models.len();
    chart.row_height = (14 * count as u32 + 10).max(24);
    chart.legend = study
        .models
        .iter()
        .map(|model| {
            (
                model.model_id.clone(),
                model_color(study, &model.model_id),
                false,
            )
        })
        .collect();
    for concept in concepts {
        let marks = study
            .models
            .iter()
            .enumerate()
            .filter_map(|(index, model)| {
                let row = table.iter().find(|row| {
                    row.model_id == model.model_id
                        && row.concept_kind == kind
                        && row.concept == concept
                })?;
                Some(Mark::Box {
                    five: [row.min, row.q1, row.median, row.q3, row.max],
                    mean: row.mean,
                    color: model_color(study, &model.model_id),
                    offset: spread(count, index),
                })
            })
            .collect();
        chart.rows.push(Row {
            label: concept.to_owned(),
            marks,
            right: None,
        });
    }
    Some(chart)
}

/// Control vs treated cross-entropy of one model, over every pair or over the pairs of one
/// language (the paired difference then comes from the causal claims' `language` subgroups).
pub fn intervention_boxes(
    study: &Study,
    model: &Model,
    language: Option<&str>,
) -> Option<RowChart> {
    if study.testbed.interventions.is_empty() {
        return None;
    }
    let mut chart = RowChart::new(
        format!(
            "{}: cross-entropy of control and treated rows",
            scoped(&model.model_id, language)
        ),
        "cross-entropy, nats per token (box: quartiles, bar: median, dot: mean)",
    );
    chart.row_height = 40;
    let treated_color = model_color(study, &model.model_id);
    chart.legend = vec![
        ("control".to_owned(), GREY, false),
        ("treated".to_owned(), treated_color, false),
    ];
    chart.right_title = Some("treated − control, paired".to_owned());
    for (intervention, pairs) in &study.testbed.interventions {
        let pairs: Vec<_> = pairs
            .iter()
            .filter(|pair| {
                language
                    .is_none_or(|language| study.testbed.rows[pair.control].language == language)
            })
            .cloned()
            .collect();
        let (control, treated) = paired_values(model, &pairs, &Outcome::CrossEntropy);
        if control.is_empty() {
            continue;
        }
        let right = match language {
            None => study
                .results
                .paired
                .iter()
                .find(|row| {
                    row.model_id == model.model_id
                        && &row.intervention == intervention
                        && row.outcome == Metric::CrossEntropy
                })
                .map(|row| {
                    format!(
                        "{} (n = {})",
                        signed_ci(
                            row.mean_difference.unwrap_or(f64::NAN),
                            row.ci_low,
                            row.ci_high
                        ),
                        row.n_pairs
                    )
                }),
            Some(language) => study
                .claims
                .subgroups
                .iter()
                .find(|group| {
                    group.grouping == "language"
                        && group.subgroup == language
                        && group.model_id == model.model_id
                        && &group.intervention == intervention
                })
                .map(|group| {
                    format!(
                        "{} (n = {})",
                        signed_ci(
                            group.difference.mean,
                            group.difference.ci.map(|ci| ci.0),
                            group.difference.ci.map(|ci| ci.1)
                        ),
                        group.n_pairs
                    )
                }),
        };
        let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len() as f64;
        chart.rows.push(Row {
            label: intervention.clone(),
            marks: vec![
                Mark::Box {
                    five: five_numbers(&control),
                    mean: mean(&control),
                    color: GREY,
                    offset: 0.17,
                },
                Mark::Box {
                    five: five_numbers(&treated),
                    mean: mean(&treated),
                    color: treated_color,
                    offset: -0.17,
                },
            ],
            right,
        });
    }
    (!chart.rows.is_empty()).then_some(chart)
}

pub fn forest(study: &Study, kind: &str) -> Option<RowChart> {
    let primary = study.params.primary_method.name();
    let rows: Vec<&study_effects::Row> = study
        .results
        .effects
        .iter()
        .filter(|row| {
            row.treatment_kind == kind
                && row.method == primary
                && row.outcome == Metric::CrossEntropy
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let (title, x_label) = if kind == INTERVENTION {
        (
            "Effect of each intervention on cross-entropy: adjusted (ATE) and unadjusted"
                .to_owned(),
            "treated − control, nats per token",
        )
    } else {
        (
            "Effect of each concept's mean probability on cross-entropy (ASTrust)".to_owned(),
            "nats per token per unit of mean probability",
        )
    };
    let mut chart = RowChart::new(title, x_label);
    chart.references = vec![Reference::zero()];
    chart.right_title = Some("correlation of T and Y (Pearson r, p)".to_owned());
    chart.legend = vec![
        (format!("adjusted ({primary})"), PALETTE[0], false),
        ("unadjusted".to_owned(), GREY, true),
    ];
    for row in rows {
        let label = if kind == INTERVENTION {
            format!("{} · {}", row.model_id, row.treatment)
        } else {
            format!("{} · {}", row.model_id, outcome_name(&row.treatment))
        };
        let color = model_color(study, &row.model_id);
        let mut marks = Vec::new();
        if let Some(effect) = row.effect {
            marks.push(Mark::Point {
                value: effect,
                interval: row.ci_low.zip(row.ci_high),
                color,
                hollow: row.ci_low.is_none(),
                offset: 0.15,
            });
        }
        if let Some(unadjusted) = row.unadjusted {
            marks.push(Mark::Point {
                value: unadjusted,
                interval: row.unadjusted_ci_low.zip(row.unadjusted_ci_high),
                color: GREY,
                hollow: true,
                offset: -0.15,
            });
        }
        let right = match (row.pearson, &row.error) {
            (_, Some(_)) => "not estimable (see table)".to_owned(),
            (Some(r), None) => format!("r = {} ({})", number(r), p_phrase("p", row.pearson_p)),
            (None, None) => "no correlation".to_owned(),
        };
        let right = match &row.note {
            Some(_) if row.ci_low.is_none() => format!("{right}; n = {}: too few", row.n),
            _ => right,
        };
        chart.rows.push(Row {
            label,
            marks,
            right: Some(right),
        });
    }
    chart.legend[0].1 = model_color(study, &study.models[0].model_id);
    Some(chart)
}

/// The intervention effects per language as a forest: one row per model and intervention, one
/// point per language (its colour), with the pooled effect's row label.
pub fn language_forest(study: &Study, effects: &[LanguageEffect]) -> Option<RowChart> {
    if effects.is_empty() {
        return None;
    }
    let languages = &study.testbed.languages;
    let mut chart = RowChart::new(
        "Effect of each intervention on cross-entropy, per language (paired, treated − control)",
        "treated − control, nats per token",
    );
    chart.references = vec![Reference::zero()];
    chart.right_title = Some("pairs per language".to_owned());
    chart.legend = languages
        .iter()
        .enumerate()
        .map(|(index, language)| (language.clone(), PALETTE[index % PALETTE.len()], false))
        .collect();
    let mut keys: Vec<(&str, &str)> = effects
        .iter()
        .map(|effect| (effect.model_id.as_str(), effect.intervention.as_str()))
        .collect();
    keys.dedup();
    for (model_id, intervention) in keys {
        let mut marks = Vec::new();
        let mut counts = Vec::new();
        for (index, language) in languages.iter().enumerate() {
            let Some(effect) = effects.iter().find(|effect| {
                effect.model_id == model_id
                    && effect.intervention == intervention
                    && &effect.language == language
            }) else {
                continue;
            };
            marks.push(Mark::Point {
                value: effect.difference,
                interval: effect.low.zip(effect.high),
                color: PALETTE[index % PALETTE.len()],
                hollow: effect.low.is_none(),
                offset: spread(languages.len(), index),
            });
            counts.push(format!("{language} {}", effect.n_pairs));
        }
        chart.rows.push(Row {
            label: format!("{model_id} · {intervention}"),
            marks,
            right: Some(counts.join(", ")),
        });
    }
    chart.row_height = (12 * languages.len() as u32 + 14).max(24);
    Some(chart)
}
