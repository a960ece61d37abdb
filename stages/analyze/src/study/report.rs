//! The report: `index.html` (self-contained: inline CSS and SVG, no script, no network) and
//! `summary.md`. Every sentence of the summary is built from the results tables; where a number
//! has no interval (too few rows), the text says so instead of printing it as a finding.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use anyhow::Result;
use icodegen_artifacts::schemas::{study_concepts, study_effects};
use icodegen_explain::{Explanation, RenderOptions, escape};

use super::charts::{self, CONFIDENT, GREY, Mark, PALETTE, POOR, Reference, Row, RowChart, Side};
use super::compare::with_ci;
use super::effects::{CONCEPT, INTERVENTION};
use super::inputs::{Model, Testbed};
use super::numbers::five_numbers;
use super::paired::{Outcome, paired_values};
use super::params::StudyParams;
use super::tokens::TokenTables;
use super::{Study, TABLES};

/// One local explanation (or why there is none).
pub struct ExplanationBlock {
    pub model_id: String,
    /// `best` or `worst`; `none` when the model cannot be explained at all.
    pub which: &'static str,
    pub row_id: String,
    pub cross_entropy: f64,
    pub html: Result<String, String>,
}

/// Renders the best and worst rows of each model by cross-entropy (crates/explain).
pub fn explanations(
    tables: &TokenTables,
    models: &[Model],
    testbed: &Testbed,
    params: &StudyParams,
) -> Result<Vec<ExplanationBlock>> {
    let settings = &params.explanations;
    let mut blocks = Vec::new();
    if settings.per_model == 0 {
        return Ok(blocks);
    }
    for (index, model) in models.iter().enumerate() {
        if model.tags.is_none() || model.nodes.is_none() {
            blocks.push(ExplanationBlock {
                model_id: model.model_id.clone(),
                which: "none",
                row_id: String::new(),
                cross_entropy: f64::NAN,
                html: Err("its folder has no tags.parquet and nodes.parquet".to_owned()),
            });
            continue;
        }
        let scored: Vec<(usize, f64)> = testbed
            .base
            .iter()
            .filter_map(|&row| {
                let score = model.scores[row]?;
                let cross_entropy = score.cross_entropy?;
                (score.n_scored as usize >= settings.min_tokens).then_some((row, cross_entropy))
            })
            .collect();
        let mut candidates: Vec<(usize, f64)> = scored
            .iter()
            .copied()
            .filter(|&(row, _)| testbed.rows[row].code.len() <= settings.max_bytes)
            .collect();
        if candidates.is_empty() {
            // Nothing short enough: the shortest rows still make a readable diagram.
            let mut by_size = scored.clone();
            by_size.sort_by_key(|&(row, _)| testbed.rows[row].code.len());
            candidates = by_size.into_iter().take(2 * settings.per_model).collect();
        }
        candidates.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        let count = settings
            .per_model
            .min(candidates.len() / 2)
            .max(usize::from(!candidates.is_empty()));
        let best: Vec<(usize, f64)> = candidates.iter().take(count).copied().collect();
        let worst: Vec<(usize, f64)> = candidates
            .iter()
            .rev()
            .take(count)
            .filter(|c| !best.iter().any(|b| b.0 == c.0))
            .copied()
            .collect();
        let chosen = best
            .into_iter()
            .map(|c| ("best", c))
            .chain(worst.into_iter().map(|c| ("worst", c)));
        for (which, (row, cross_entropy)) in chosen {
            let info = &testbed.rows[row];
            let html = match tables.explanation_rows(index, model, &info.row_id)? {
                None => Err(format!(
                    "model `{}` has no tags.parquet and nodes.parquet",
                    model.model_id
                )),
                Some((tags, nodes)) => {
                    let explanation = Explanation {
                        model_id: &model.model_id,
                        row_id: &info.row_id,
                        language: &info.language,
                        code: &info.code,
                        nodes: &nodes,
                        tags: &tags,
                    };
                    let options = RenderOptions {
                        max_nodes: settings.max_nodes,
                        confident: params.confident,
                        poor: params.poor,
                        title: Some(format!(
                            "{}: {which} row by cross-entropy ({cross_entropy:.3} nats/token)",
                            model.model_id
                        )),
                    };
                    icodegen_explain::render_fragment(&explanation, &options)
                        .map_err(|error| error.to_string())
                }
            };
            blocks.push(ExplanationBlock {
                model_id: model.model_id.clone(),
                which,
                row_id: info.row_id.clone(),
                cross_entropy,
                html,
            });
        }
    }
    Ok(blocks)
}

// ----------------------------------------------------------------------------------------------
// Formatting

pub(super) fn number(value: f64) -> String {
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

fn signed(value: f64) -> String {
    if value > 0.0 {
        format!("+{}", number(value))
    } else {
        number(value)
    }
}

fn p_value(p: Option<f64>) -> String {
    match p {
        None => "–".to_owned(),
        Some(p) if p < 0.001 => "&lt;0.001".to_owned(),
        Some(p) => format!("{p:.3}"),
    }
}

/// `p < 0.001` or `p = 0.012`.
pub(super) fn p_phrase(name: &str, p: Option<f64>) -> String {
    match p {
        None => format!("{name} n/a"),
        Some(p) if p < 0.001 => format!("{name} < 0.001"),
        Some(p) => format!("{name} = {p:.3}"),
    }
}

fn estimate_ci(value: Option<f64>, low: Option<f64>, high: Option<f64>) -> String {
    match (value, low, high) {
        (Some(value), Some(low), Some(high)) => {
            format!("{} [{}, {}]", number(value), number(low), number(high))
        }
        (Some(value), _, _) => format!("{} (no interval)", number(value)),
        _ => "–".to_owned(),
    }
}

pub(super) fn signed_ci(value: f64, low: Option<f64>, high: Option<f64>) -> String {
    match (low, high) {
        (Some(low), Some(high)) => format!("{} [{}, {}]", signed(value), number(low), number(high)),
        _ => format!("{} (no interval)", signed(value)),
    }
}

fn excludes_zero(low: Option<f64>, high: Option<f64>) -> Option<bool> {
    Some(low? > 0.0 || high? < 0.0)
}

fn outcome_name(outcome: &str) -> String {
    match outcome.split_once(':') {
        Some((_, concept)) => format!("p({concept})"),
        None => outcome.replace('_', "-"),
    }
}

fn level(params: &StudyParams) -> String {
    format!("{:.0}%", params.bootstrap.confidence_level * 100.0)
}

// ----------------------------------------------------------------------------------------------
// The plain-language summary

/// The findings in sentences, grouped by topic; shared by `index.html` and `summary.md`.
pub struct Summary {
    pub overview: String,
    pub sections: Vec<(String, Vec<String>)>,
}

/// `name` as a Markdown code span: node types such as `*`, `**` or `|` must not turn into
/// emphasis. The fence is longer than any run of backticks inside the name.
fn code_span(name: &str) -> String {
    let longest = name.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if name.starts_with('`') || name.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{name}{pad}{fence}")
}

fn concept_phrase(row: &study_concepts::Row) -> String {
    let name = if row.concept_kind == "node_type" {
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
            let metric = |name: &str| {
                results
                    .metrics
                    .iter()
                    .find(|row| row.model_id == model.model_id && row.metric == name)
            };
            let mut line = format!("**{}**", model.model_id);
            if let Some(row) = metric("cross_entropy") {
                let _ = write!(
                    line,
                    ": cross-entropy {} nats/token",
                    estimate_ci(Some(row.mean), row.ci_low, row.ci_high)
                );
            }
            if let Some(row) = metric("accuracy") {
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
                    if params.concept_kind == "category" {
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
                    .filter(|row| row.reading == "confident")
                    .count();
                let erroneous = ranked
                    .iter()
                    .filter(|row| row.reading == "erroneous")
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
            let other_kind = if params.concept_kind == "category" {
                "node_type"
            } else {
                "category"
            };
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
                    if other_kind == "node_type" {
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
        let mut intervention_lines = super::decomposition::intervention_lines(study);
        if intervention_lines.is_empty() {
            intervention_lines.push("The testbed has no intervention pairs.".to_owned());
        }
        sections.push((
            "Effect of each intervention on cross-entropy".to_owned(),
            intervention_lines,
        ));
        let subgroup_lines = super::decomposition::subgroup_lines(study);
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
        let sensitivity_lines = super::decomposition::sensitivity_lines(study);
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
            .filter(|row| row.measure == "cross_entropy")
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
            "Covariates are measured on each row's own code, so an intervention can change some of them (e.g. the token count when comments are added): the adjusted effect is then the effect not carried by those covariates.".to_owned(),
        );
        sections.push(("Caveats".to_owned(), caveats));
        Self { overview, sections }
    }
}

// ----------------------------------------------------------------------------------------------
// Charts

fn model_color(study: &Study, model_id: &str) -> charts::Paint {
    let index = study
        .models
        .iter()
        .position(|model| model.model_id == model_id)
        .unwrap_or(0);
    PALETTE[index % PALETTE.len()]
}

fn reading_color(reading: &str) -> charts::Paint {
    match reading {
        "confident" => CONFIDENT,
        "erroneous" => POOR,
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

fn concept_chart(study: &Study, model_id: &str, kind: &str, limit: usize) -> Option<RowChart> {
    let params = &study.params;
    let mut rows: Vec<&study_concepts::Row> = study
        .results
        .concepts
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
    let title = if kind == "category" {
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
        ("confident".to_owned(), CONFIDENT, false),
        ("uncertain".to_owned(), GREY, false),
        ("erroneous".to_owned(), POOR, false),
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

fn category_boxes(study: &Study) -> Option<RowChart> {
    let kind = &study.params.concept_kind;
    let concepts: BTreeSet<&str> = study
        .results
        .concepts
        .iter()
        .filter(|row| &row.concept_kind == kind)
        .map(|row| row.concept.as_str())
        .collect();
    if concepts.is_empty() {
        return None;
    }
    let mut chart = RowChart::new(
        format!("Per-row mean probability by {}", kind.replace('_', " ")),
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
                let row = study.results.concepts.iter().find(|row| {
                    row.model_id == model.model_id
                        && &row.concept_kind == kind
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

fn intervention_boxes(study: &Study, model: &Model) -> Option<RowChart> {
    if study.testbed.interventions.is_empty() {
        return None;
    }
    let mut chart = RowChart::new(
        format!(
            "{}: cross-entropy of control and treated rows",
            model.model_id
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
        let (control, treated) = paired_values(model, pairs, &Outcome::CrossEntropy);
        if control.is_empty() {
            continue;
        }
        let paired = study.results.paired.iter().find(|row| {
            row.model_id == model.model_id
                && &row.intervention == intervention
                && row.outcome == "cross_entropy"
        });
        let right = paired.map(|row| {
            format!(
                "{} (n = {})",
                signed_ci(
                    row.mean_difference.unwrap_or(f64::NAN),
                    row.ci_low,
                    row.ci_high
                ),
                row.n_pairs
            )
        });
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

fn forest(study: &Study, kind: &str) -> Option<RowChart> {
    let primary = study.params.primary_method.name();
    let rows: Vec<&study_effects::Row> = study
        .results
        .effects
        .iter()
        .filter(|row| {
            row.treatment_kind == kind && row.method == primary && row.outcome == "cross_entropy"
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
    chart.references = vec![Reference {
        x: 0.0,
        color: RGB_BLACK,
        label: "0".to_owned(),
        side: Side::Center,
    }];
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

const RGB_BLACK: charts::Paint = plotters::style::RGBColor(0, 0, 0);

// ----------------------------------------------------------------------------------------------
// HTML

const CSS: &str = "\
:root{--ink:#1b1f24;--muted:#5b6470;--line:#e3e6ea;--soft:#f6f7f9;--accent:#0072b2}\
*{box-sizing:border-box}\
body{margin:0;font:15px/1.55 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--ink);background:#fff}\
header{background:#0f2537;color:#fff;padding:28px 40px 22px}\
header h1{margin:0 0 6px;font-size:26px;font-weight:650}\
header p{margin:0;color:#c9d6e2;max-width:1100px}\
nav{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid var(--line);padding:8px 40px;font-size:14px}\
nav a{color:var(--accent);text-decoration:none;margin-right:18px;white-space:nowrap}\
main{padding:8px 40px 60px;max-width:1400px}\
section{margin:30px 0 10px}\
h2{font-size:21px;border-bottom:2px solid var(--line);padding-bottom:4px;margin:0 0 12px}\
h3{font-size:16px;margin:20px 0 8px}\
.lead{color:var(--muted);max-width:1000px;margin:0 0 12px}\
.findings li{margin:4px 0;max-width:1100px}\
.findings h3{margin:16px 0 4px}\
.grid{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}\
.card{border:1px solid var(--line);border-radius:6px;padding:10px;background:#fff;max-width:100%;overflow-x:auto}\
svg.chart{max-width:100%;height:auto;display:block}\
.why{max-width:360px}.why summary{color:#9b1c1c}\
table{border-collapse:collapse;font-size:13px;margin:6px 0 14px}\
th,td{border-bottom:1px solid var(--line);padding:4px 9px;text-align:left;vertical-align:top}\
th{background:var(--soft);font-weight:600}\
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
tr:nth-child(even) td{background:#fbfbfc}\
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600}\
.pass{background:#dff3e6;color:#126b35}.fail{background:#fbe0e0;color:#9b1c1c}.na{background:#eceef1;color:#555}\
.holds{background:#dff3e6;color:#126b35}.partly{background:#fff2cc;color:#7a5a00}.not{background:#fbe0e0;color:#9b1c1c}\
.muted{color:var(--muted)}\
details{margin:8px 0}summary{cursor:pointer;color:var(--accent)}\
code{font-size:12.5px;background:var(--soft);padding:0 3px;border-radius:3px}\
.scroll{overflow-x:auto}\
";

struct Table {
    head: Vec<&'static str>,
    numeric: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(columns: &[(&'static str, bool)]) -> Self {
        Self {
            head: columns.iter().map(|(name, _)| *name).collect(),
            numeric: columns.iter().map(|(_, numeric)| *numeric).collect(),
            rows: Vec::new(),
        }
    }

    /// Cells are HTML (callers escape text).
    fn push(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn html(&self) -> String {
        let mut html = String::from("<div class=\"scroll\"><table><thead><tr>");
        for head in &self.head {
            let _ = write!(html, "<th>{head}</th>");
        }
        html.push_str("</tr></thead><tbody>");
        for row in &self.rows {
            html.push_str("<tr>");
            for (cell, numeric) in row.iter().zip(&self.numeric) {
                let _ = write!(
                    html,
                    "<td{}>{cell}</td>",
                    if *numeric { " class=\"n\"" } else { "" }
                );
            }
            html.push_str("</tr>");
        }
        html.push_str("</tbody></table></div>");
        html
    }
}

fn badge(passed: Option<bool>) -> String {
    match passed {
        Some(true) => "<span class=\"badge pass\">pass</span>".to_owned(),
        Some(false) => "<span class=\"badge fail\">fail</span>".to_owned(),
        None => "<span class=\"badge na\">not run</span>".to_owned(),
    }
}

fn verdict_badge(verdict: &str) -> String {
    let class = match verdict {
        "holds" => "holds",
        "partly holds" => "partly",
        "does not hold" => "not",
        _ => "na",
    };
    format!("<span class=\"badge {class}\">{}</span>", escape(verdict))
}

/// Markdown-ish emphasis of the summary sentences (`**x**`, `*x*`, `` `x` ``) as HTML. A code
/// span runs to the next fence of the same length and its content is literal (no emphasis
/// inside), as in CommonMark; a fence without a match is kept as text.
fn inline_markup(text: &str) -> String {
    let escaped = escape(text);
    let mut out = String::new();
    let mut rest = escaped.as_str();
    let mut open = [false; 2];
    while let Some(position) = rest.find(['*', '`']) {
        out.push_str(&rest[..position]);
        rest = &rest[position..];
        if rest.starts_with('`') {
            let fence = rest.len() - rest.trim_start_matches('`').len();
            let after = &rest[fence..];
            // The closing fence: a run of exactly `fence` backticks.
            let mut search = 0;
            let mut closing = None;
            while let Some(found) = after[search..].find('`') {
                let start = search + found;
                let run = after[start..].len() - after[start..].trim_start_matches('`').len();
                if run == fence {
                    closing = Some(start);
                    break;
                }
                search = start + run;
            }
            match closing {
                Some(end) => {
                    let content = &after[..end];
                    let content = match content.strip_prefix(' ').and_then(|c| c.strip_suffix(' '))
                    {
                        Some(inner) if !inner.trim().is_empty() => inner,
                        _ => content,
                    };
                    let _ = write!(out, "<code>{content}</code>");
                    rest = &after[end + fence..];
                }
                None => {
                    out.push_str(&rest[..fence]);
                    rest = after;
                }
            }
            continue;
        }
        let (marker, tag, index) = if rest.starts_with("**") {
            ("**", "b", 0)
        } else {
            ("*", "i", 1)
        };
        let _ = write!(out, "<{}{tag}>", if open[index] { "/" } else { "" });
        open[index] = !open[index];
        rest = &rest[marker.len()..];
    }
    out.push_str(rest);
    out
}

fn svg(chart: Option<RowChart>) -> Result<String> {
    match chart {
        Some(chart) => Ok(format!(
            "<div class=\"card\">{}</div>",
            charts::render(&chart)?
        )),
        None => Ok(String::new()),
    }
}

/// `index.html`.
pub fn html(study: &Study, summary: &Summary) -> Result<String> {
    let params = &study.params;
    let results = &study.results;
    let mut page = String::with_capacity(1 << 20);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>icodegen study report</title><style>{CSS}</style></head><body>\
         <header><h1>Where and why the models fail: an icodegen study</h1><p>{}</p></header>\
         <nav><a href=\"#summary\">Summary</a><a href=\"#models\">Models</a><a href=\"#concepts\">Concepts</a>\
         <a href=\"#categories\">Distributions</a><a href=\"#interventions\">Interventions</a>\
         <a href=\"#effects\">Causal effects</a><a href=\"#refutations\">Refutations</a>\
         <a href=\"#seed\">Seed findings</a><a href=\"#explanations\">Explanations</a><a href=\"#method\">Method &amp; tables</a><a href=\"explorer.html\">Row explorer</a></nav><main>",
        escape(&summary.overview)
    );

    // Summary
    page.push_str("<section id=\"summary\" class=\"findings\"><h2>Summary</h2>");
    for (title, lines) in &summary.sections {
        let _ = write!(page, "<h3>{}</h3><ul>", escape(title));
        for line in lines {
            let _ = write!(page, "<li>{}</li>", inline_markup(line));
        }
        page.push_str("</ul>");
    }
    page.push_str("</section>");

    // Models
    page.push_str("<section id=\"models\"><h2>Models</h2>");
    let _ = write!(
        page,
        "<p class=\"lead\">Mean over the original test rows with {} {} bootstrap intervals (B = {}). Cross-entropy is the mean next-token loss in nats; accuracy the share of tokens that are the model's top-1 prediction.</p>",
        level(params),
        if params.bootstrap.method == icodegen_stats::IntervalMethod::Bca {
            "BCa"
        } else {
            "percentile"
        },
        params.bootstrap.resamples
    );
    let mut table = Table::new(&[
        ("model", false),
        ("metric", false),
        ("n", true),
        ("mean [CI]", true),
        ("median", true),
        ("note", false),
    ]);
    for row in &results.metrics {
        table.push(vec![
            escape(&row.model_id),
            escape(&row.metric),
            row.n.to_string(),
            estimate_ci(Some(row.mean), row.ci_low, row.ci_high),
            number(row.median),
            escape(row.note.as_deref().unwrap_or("")),
        ]);
    }
    page.push_str(&table.html());
    if !results.comparisons.is_empty() {
        page.push_str("<h3>Paired comparisons between models on the same rows</h3><p class=\"lead\">Difference a − b averaged over rows both models scored; Wilcoxon signed-rank p-values adjusted over the whole table (Holm, Benjamini-Hochberg).</p>");
        let mut table = Table::new(&[
            ("a", false),
            ("b", false),
            ("measure", false),
            ("rows", true),
            ("mean a", true),
            ("mean b", true),
            ("a − b [CI]", true),
            ("Wilcoxon p", true),
            ("Holm", true),
            ("BH", true),
            ("d_z", true),
        ]);
        for row in &results.comparisons {
            table.push(vec![
                escape(&row.model_a),
                escape(&row.model_b),
                escape(&outcome_name(&row.measure)),
                row.n_rows.to_string(),
                row.mean_a.map_or("–".into(), number),
                row.mean_b.map_or("–".into(), number),
                estimate_ci(row.mean_difference, row.ci_low, row.ci_high),
                p_value(row.wilcoxon_p_value),
                p_value(row.p_holm),
                p_value(row.p_bh),
                row.cohens_dz.map_or("–".into(), number),
            ]);
        }
        page.push_str(&table.html());
    }
    page.push_str("</section>");

    // Concepts
    let _ = write!(
        page,
        "<section id=\"concepts\"><h2>Concepts (AsC-Eval)</h2><p class=\"lead\">For each row and concept, the mean probability the model gave the tokens bound to that concept; then the mean over the rows where the concept occurs (a concept absent from a row is skipped, never counted as 0), with its interval. The seed's reading: ≥ {} confident, &lt; {} erroneous. Hollow points have fewer than {} rows and no interval.</p><div class=\"grid\">",
        params.confident, params.poor, params.min_rows
    );
    for model in &study.models {
        page.push_str(&svg(concept_chart(
            study,
            &model.model_id,
            &params.concept_kind,
            40,
        ))?);
    }
    page.push_str("</div><details><summary>Node types</summary><div class=\"grid\">");
    let other_kind = if params.concept_kind == "category" {
        "node_type"
    } else {
        "category"
    };
    for model in &study.models {
        page.push_str(&svg(concept_chart(study, &model.model_id, other_kind, 30))?);
    }
    page.push_str("</div></details>");
    if !results.tokens.is_empty() {
        page.push_str("<details><summary>Token-level view (every token counted once, from tags.parquet with SQL)</summary>");
        let mut table = Table::new(&[
            ("model", false),
            ("kind", false),
            ("concept", false),
            ("tokens", true),
            ("rows", true),
            ("mean p", true),
            ("median p", true),
            ("share ≥ confident", true),
            ("share &lt; poor", true),
            ("cross-entropy", true),
        ]);
        for row in results
            .tokens
            .iter()
            .filter(|row| row.concept_kind != "node_type")
        {
            table.push(vec![
                escape(&row.model_id),
                escape(&row.concept_kind),
                escape(&row.concept),
                row.n_tokens.to_string(),
                row.n_rows.to_string(),
                number(row.mean_prob),
                number(row.median_prob),
                number(row.share_confident),
                number(row.share_erroneous),
                number(row.cross_entropy),
            ]);
        }
        page.push_str(&table.html());
        page.push_str("</details>");
    }
    page.push_str("</section>");

    // Distributions
    page.push_str("<section id=\"categories\"><h2>Distributions by concept</h2><p class=\"lead\">Per-row mean probabilities: how much a concept's score varies from snippet to snippet, per model.</p>");
    page.push_str(&svg(category_boxes(study))?);
    page.push_str("</section>");

    // Interventions
    page.push_str("<section id=\"interventions\"><h2>Interventions: control vs treated</h2><p class=\"lead\">Each pair shares a snippet: control and treated rows differ only by the intervention. The paired difference treated − control is bootstrapped over pairs; the Wilcoxon signed-rank p-values are adjusted over every row of the table (Holm, Benjamini-Hochberg); Cliff's delta and Cohen's d_z measure the size.</p><div class=\"grid\">");
    for model in &study.models {
        page.push_str(&svg(intervention_boxes(study, model))?);
    }
    page.push_str("</div>");
    let paired_table = |filter: &dyn Fn(&str) -> bool| {
        let mut table = Table::new(&[
            ("model", false),
            ("intervention", false),
            ("outcome", false),
            ("pairs", true),
            ("control", true),
            ("treated", true),
            ("treated − control [CI]", true),
            ("Wilcoxon p", true),
            ("Holm", true),
            ("BH", true),
            ("Cliff's δ", true),
            ("d_z", true),
            ("note", false),
        ]);
        for row in results.paired.iter().filter(|row| filter(&row.outcome)) {
            table.push(vec![
                escape(&row.model_id),
                escape(&row.intervention),
                escape(&outcome_name(&row.outcome)),
                row.n_pairs.to_string(),
                row.mean_control.map_or("–".into(), number),
                row.mean_treated.map_or("–".into(), number),
                estimate_ci(row.mean_difference, row.ci_low, row.ci_high),
                p_value(row.wilcoxon_p_value),
                p_value(row.p_holm),
                p_value(row.p_bh),
                row.cliffs_delta.map_or("–".into(), number),
                row.cohens_dz.map_or("–".into(), number),
                escape(row.note.as_deref().unwrap_or("")),
            ]);
        }
        table.html()
    };
    page.push_str(&paired_table(&|outcome| outcome == "cross_entropy"));
    page.push_str("<details><summary>Concept scores, control vs treated</summary>");
    page.push_str(&paired_table(&|outcome| outcome != "cross_entropy"));
    page.push_str("</details></section>");

    // Effects
    let confounder_list = params.confounder_names().join(", ");
    let _ = write!(
        page,
        "<section id=\"effects\"><h2>Causal effects (back-door adjustment)</h2><p class=\"lead\">Graph Z → T, Z → Y, T → Y with confounders Z = {{{}}} (the token count is the model's own). For an intervention only the pair-level covariates, those its edit leaves unchanged in every pair, are adjusted for: the covariates the edit changes (the size of the code) are mediators, so an intervention's effect here is its total effect, decomposed into direct and indirect effects through size in the summary. Constant or collinear confounders are left out per estimate (see the table). Filled points: the adjusted effect ({}) with its {} interval; hollow grey points: the unadjusted difference; right: the plain correlation of T and Y. A strong correlation with an adjusted effect near 0 is a spurious association.</p>",
        escape(&confounder_list),
        params.primary_method.name(),
        level(params)
    );
    page.push_str(&svg(forest(study, INTERVENTION))?);
    let effects_table = |filter: &dyn Fn(&study_effects::Row) -> bool| {
        let mut table = Table::new(&[
            ("model", false),
            ("treatment", false),
            ("outcome", false),
            ("method", false),
            ("n", true),
            ("effect [CI]", true),
            ("p", true),
            ("Holm", true),
            ("BH", true),
            ("unadjusted [CI]", true),
            ("Pearson r (p)", true),
            ("Spearman ρ · Kendall τ", true),
            ("confounders", false),
            ("note", false),
        ]);
        for row in results.effects.iter().filter(|row| filter(row)) {
            let used = if row.confounders.is_empty() {
                0
            } else {
                row.confounders.split(',').count()
            };
            let dropped = if row.dropped_confounders.is_empty() {
                String::new()
            } else {
                format!(
                    "<details><summary>{} left out</summary>{}</details>",
                    row.dropped_confounders.split(", ").count(),
                    escape(&row.dropped_confounders)
                )
            };
            table.push(vec![
                escape(&row.model_id),
                escape(&outcome_name(&row.treatment)),
                escape(&outcome_name(&row.outcome)),
                escape(&row.method),
                row.n.to_string(),
                if row.error.is_some() {
                    "not estimable".into()
                } else {
                    estimate_ci(row.effect, row.ci_low, row.ci_high)
                },
                p_value(row.p_value),
                p_value(row.p_holm),
                p_value(row.p_bh),
                estimate_ci(
                    row.unadjusted,
                    row.unadjusted_ci_low,
                    row.unadjusted_ci_high,
                ),
                row.pearson.map_or("–".into(), |r| {
                    format!("{} ({})", number(r), p_value(row.pearson_p))
                }),
                format!(
                    "{} · {}",
                    row.spearman.map_or("–".into(), number),
                    row.kendall.map_or("–".into(), number)
                ),
                format!("{used} used{dropped}"),
                match (&row.error, &row.note) {
                    (Some(error), _) => format!(
                        "<details class=\"why\"><summary>why not</summary>{}</details>",
                        escape(error)
                    ),
                    (None, Some(note)) => escape(note),
                    (None, None) => String::new(),
                },
            ]);
        }
        table.html()
    };
    page.push_str("<h3>Every estimator on cross-entropy</h3>");
    page.push_str(&effects_table(&|row| {
        row.treatment_kind == INTERVENTION && row.outcome == "cross_entropy"
    }));
    page.push_str("<details><summary>Effects of the interventions on concept scores</summary>");
    page.push_str(&effects_table(&|row| {
        row.treatment_kind == INTERVENTION && row.outcome != "cross_entropy"
    }));
    page.push_str("</details><h3>Concepts as continuous treatments (ASTrust)</h3><p class=\"lead\">T = a concept's per-row mean probability (rows where it occurs), Y = the row's cross-entropy. A negative effect: rows where the model predicts the concept better have a lower loss, beyond what size and structure explain.</p>");
    page.push_str(&svg(forest(study, CONCEPT))?);
    page.push_str(&effects_table(&|row| row.treatment_kind == CONCEPT));
    page.push_str("</section>");

    // Refutations
    let _ = write!(
        page,
        "<section id=\"refutations\"><h2>Refutations</h2><p class=\"lead\">Each {} effect on cross-entropy re-estimated on perturbed data ({} simulations each): a placebo (T permuted: the effect should vanish), a random common cause (an independent N(0,1) confounder: the effect should not move) and a data subset ({}% of rows: the effect should not move). A refuter passes when its p-value exceeds 0.05.</p>",
        params.primary_method.name(),
        params.simulations,
        params.subset_fraction * 100.0
    );
    let mut table = Table::new(&[
        ("model", false),
        ("treatment", false),
        ("refuter", false),
        ("effect", true),
        ("new effect (sd)", true),
        ("p", true),
        ("result", false),
        ("rule", false),
    ]);
    for row in &results.refutations {
        table.push(vec![
            escape(&row.model_id),
            escape(&outcome_name(&row.treatment)),
            escape(&row.refuter),
            number(row.original_effect),
            row.new_effect.map_or("–".into(), |e| {
                format!(
                    "{} ({})",
                    number(e),
                    row.new_effect_sd.map_or("–".into(), number)
                )
            }),
            p_value(row.p_value),
            badge(row.passed),
            escape(row.error.as_deref().or(row.rule.as_deref()).unwrap_or("")),
        ]);
    }
    if results.refutations.is_empty() {
        page.push_str("<p class=\"muted\">No refutation ran (no effect had enough rows, or no refuter is configured).</p>");
    } else {
        page.push_str(&table.html());
    }
    page.push_str("</section>");

    // Seed checks
    page.push_str("<section id=\"seed\"><h2>Do the seed studies' findings hold here?</h2><p class=\"lead\">The codegen/ASTrust studies found block tokens (brackets, colons, semicolons) easier than identifiers and natural language, and bug effects on the loss near zero once size is controlled. Block, identifier and natural-language scores pool the node types listed in the method section, weighted by tokens.</p>");
    let mut table = Table::new(&[
        ("model", false),
        ("check", false),
        ("first", true),
        ("second", true),
        ("difference [CI]", true),
        ("n", true),
        ("p", true),
        ("verdict", false),
        ("why", false),
    ]);
    for row in &results.seed_checks {
        table.push(vec![
            escape(&row.model_id),
            escape(&row.claim),
            format!(
                "{}: {}",
                escape(&row.first_label),
                estimate_ci(row.first_value, row.first_ci_low, row.first_ci_high)
            ),
            format!(
                "{}: {}",
                escape(&row.second_label),
                estimate_ci(row.second_value, row.second_ci_low, row.second_ci_high)
            ),
            estimate_ci(
                row.difference,
                row.difference_ci_low,
                row.difference_ci_high,
            ),
            row.n.to_string(),
            p_value(row.p_value),
            verdict_badge(&row.verdict),
            escape(&row.explanation),
        ]);
    }
    page.push_str(&table.html());
    page.push_str("</section>");

    // Explanations
    page.push_str("<section id=\"explanations\"><h2>Local explanations</h2><p class=\"lead\">The best and worst original rows of each model by cross-entropy: the AST with each node coloured by the mean probability of the tokens it collects, and the code with each scored token coloured the same way (hover for numbers).</p>");
    if study.explanations.is_empty() {
        page.push_str("<p class=\"muted\">No row qualified (see <code>explanations</code> in the params).</p>");
    }
    for block in &study.explanations {
        match &block.html {
            Ok(fragment) => page.push_str(fragment),
            Err(reason) if block.which == "none" => {
                let _ = write!(
                    page,
                    "<p class=\"muted\">{}: no local explanation: {}.</p>",
                    escape(&block.model_id),
                    escape(reason)
                );
            }
            Err(reason) => {
                let _ = write!(
                    page,
                    "<p class=\"muted\">{} {} row <code>{}</code> ({} nats/token): no explanation: {}</p>",
                    escape(&block.model_id),
                    block.which,
                    escape(&block.row_id[..block.row_id.len().min(12)]),
                    number(block.cross_entropy),
                    escape(reason)
                );
            }
        }
    }
    page.push_str("</section>");

    // Method
    page.push_str(
        "<section id=\"method\"><h2>Method, seeds and tables</h2><ul class=\"findings\">",
    );
    let bullets = [
        format!("Study seed {}; every bootstrap, estimator and refuter derives its own seed from it and from the labels of what it computes; each table row records its seed.", params.seed),
        format!("Intervals: {} {} bootstrap with B = {}; none below {} rows or pairs.", level(params), if params.bootstrap.method == icodegen_stats::IntervalMethod::Bca { "BCa" } else { "percentile" }, params.bootstrap.resamples, params.min_rows),
        format!("Estimators on cross-entropy: {}; on concept scores and for concept treatments: {}. Propensity-score intervals: {} bootstrap resamples; propensity L2 penalty {}.", params.methods.iter().map(|m| m.name()).collect::<Vec<_>>().join(", "), params.primary_method.name(), params.ci_resamples, params.propensity_l2),
        "Multiplicity: Holm and Benjamini-Hochberg within each family: the intervention table's Wilcoxon tests; the model comparisons; the effects per (treatment kind, method); the correlations per treatment kind. Refuter p-values are not adjusted: adjusting them would make passing easier.".to_owned(),
        format!("Seed-check groups: blocks = {{{}}}; identifiers = {{{}}}; natural language = {{{}}}.", params.seed_checks.blocks.join(" "), params.seed_checks.identifiers.join(" "), params.seed_checks.natural_language.join(" ")),
    ];
    for bullet in bullets {
        let _ = write!(page, "<li>{}</li>", escape(&bullet));
    }
    page.push_str("</ul><h3>Results tables</h3><ul>");
    for name in TABLES {
        let _ = write!(
            page,
            "<li><code>{name}</code>: <a href=\"tables/{name}.csv\">CSV</a> · <a href=\"tables/{name}.parquet\">Parquet</a></li>"
        );
    }
    page.push_str("</ul>");
    if let Some(covariates) = &study.covariates {
        page.push_str(&testbed_description(study, covariates));
    }
    page.push_str("</section></main></body></html>\n");
    Ok(page)
}

fn testbed_description(
    study: &Study,
    covariates: &[icodegen_artifacts::schemas::covariates::Row],
) -> String {
    let snippets: BTreeSet<&str> = covariates
        .iter()
        .map(|row| row.snippet_id.as_str())
        .collect();
    let mut html = format!(
        "<h3>Testbed</h3><p class=\"lead\">{} testbed rows, {} distinct code texts, {} original rows; covariates of {} snippets. Distribution of the main confounders over the snippets:</p>",
        study.testbed.n_testbed_rows,
        study.testbed.rows.len(),
        study.testbed.base.len(),
        snippets.len()
    );
    let mut table = Table::new(&[
        ("confounder", false),
        ("min", true),
        ("q1", true),
        ("median", true),
        ("q3", true),
        ("max", true),
    ]);
    let names = icodegen_artifacts::Covariates::NAMES;
    for name in [
        "loc",
        "n_ast_nodes",
        "ast_depth",
        "cyclomatic",
        "n_identifiers",
    ] {
        let Some(position) = names.iter().position(|n| *n == name) else {
            continue;
        };
        let values: Vec<f64> = covariates
            .iter()
            .map(|row| row.covariates().values()[position])
            .collect();
        if values.is_empty() {
            continue;
        }
        let [min, q1, median, q3, max] = five_numbers(&values);
        table.push(vec![
            name.to_owned(),
            number(min),
            number(q1),
            number(median),
            number(q3),
            number(max),
        ]);
    }
    html.push_str(&table.html());
    html
}

/// `summary.md`.
pub fn markdown(study: &Study, summary: &Summary) -> String {
    let mut text = String::from("# icodegen study: summary\n\n");
    let _ = writeln!(text, "{}\n", summary.overview);
    for (title, lines) in &summary.sections {
        let _ = writeln!(text, "## {title}\n");
        for line in lines {
            let _ = writeln!(text, "- {line}");
        }
        text.push('\n');
    }
    let _ = writeln!(text, "## Concepts per model\n");
    let _ = writeln!(
        text,
        "| model | {} | rows | mean [CI] | reading |",
        study.params.concept_kind
    );
    let _ = writeln!(text, "| --- | --- | ---: | ---: | --- |");
    let mut by_model: BTreeMap<&str, Vec<&study_concepts::Row>> = BTreeMap::new();
    for row in study
        .results
        .concepts
        .iter()
        .filter(|row| row.concept_kind == study.params.concept_kind)
    {
        by_model.entry(row.model_id.as_str()).or_default().push(row);
    }
    for rows in by_model.values_mut() {
        rows.sort_by(|a, b| b.mean.total_cmp(&a.mean));
        for row in rows.iter() {
            let _ = writeln!(
                text,
                "| {} | {} | {} | {} | {} |",
                row.model_id,
                row.concept.replace('|', "\\|"),
                row.n_rows,
                with_ci(row.mean, row.ci_low.zip(row.ci_high)),
                row.reading
            );
        }
    }
    let _ = writeln!(
        text,
        "\nEvery results table is under `tables/` as Parquet and CSV; `index.html` has the charts."
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_types_in_code_spans_never_become_emphasis() {
        let sentence = format!(
            "**gru**: best {} (0.9), {} (0.8); worst {} and {}.",
            code_span("*"),
            code_span("**"),
            code_span("a`b"),
            code_span("`")
        );
        assert_eq!(
            inline_markup(&sentence),
            "<b>gru</b>: best <code>*</code> (0.9), <code>**</code> (0.8); worst <code>a`b</code> and <code>`</code>."
        );
        // Emphasis outside code still works, and an unmatched fence stays text.
        assert_eq!(inline_markup("*holds*: a ` b"), "<i>holds</i>: a ` b");
        assert_eq!(inline_markup("x < `y`"), "x &lt; <code>y</code>");
    }
}
