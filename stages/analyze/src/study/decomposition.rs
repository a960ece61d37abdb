//! The study's causal claims stated as the estimands they are (docs/causal.md):
//!
//! - per model and intervention, on cross-entropy: the **total effect** (the mean paired
//!   difference: within a pair nothing but the edit differs) and its decomposition into the
//!   **natural direct effect** and the **natural indirect effect through size** (this model's
//!   token count, lines of code, AST nodes: the mediators the edit changes), with the
//!   proportion mediated. Linear mediator and outcome models with a bootstrap over pairs
//!   (`icodegen_causal::mediation`); adjusted only for pair-level pre-treatment covariates,
//!   the covariates the edit leaves unchanged in every pair. Identified under sequential
//!   ignorability;
//! - **heterogeneity**: the paired effect per pre-treatment subgroup (language; tertile of the
//!   original snippet's AST size; the mutation operator, when a pair records one) with Holm and
//!   Benjamini-Hochberg across the subgroups of one
//!   grouping, and a linear effect-modification model of the paired differences on the original
//!   snippet's size and complexity;
//! - for concepts as treatments (observational, back-door): the **sensitivity** to an
//!   unobserved confounder (E-value, Cinelli and Hazlett's robustness value, benchmarked
//!   against the strongest observed covariate).

use std::fmt::Write as _;

use icodegen_artifacts::Covariates;
use icodegen_artifacts::schemas::study_effects;
use icodegen_artifacts::vocab::Metric;
use icodegen_causal::{
    CausalData, Column, EffectModification, Mediation, MediationData, MediationInterval,
    MediationOptions, Sensitivity,
};

use super::Study;
use super::effects::{CONCEPT, confounder_value, select_confounders};
use super::format::{number, p_phrase, signed_ci};
use super::inputs::{Model, Pair, Testbed};
use super::numbers::{MeanInterval, adjust_family, compare_paired, derive_seed};
use super::paired::{Outcome, outcomes};
use super::params::{StudyParams, TOKEN_COUNT};

/// The outcome the decomposition is about.
const CROSS_ENTROPY: &str = Metric::CrossEntropy.as_str();

/// The size mediators, in order: the model's token count, lines of code, AST nodes.
pub const SIZE_MEDIATORS: [&str; 3] = [TOKEN_COUNT, "loc", "n_ast_nodes"];

/// Total effect of one intervention and its decomposition through size.
#[derive(Debug, Clone)]
pub struct Decomposition {
    pub model_id: String,
    pub intervention: String,
    pub n_pairs: usize,
    /// The size mediators the intervention changes (in at least one pair).
    pub mediators: Vec<String>,
    /// The pair-level pre-treatment covariates adjusted for.
    pub covariates: Vec<String>,
    /// Candidates not used, with the reason.
    pub left_out: Vec<String>,
    pub result: Result<Mediation, String>,
}

/// The paired effect in one pre-treatment subgroup.
#[derive(Debug, Clone)]
pub struct SubgroupEffect {
    pub model_id: String,
    pub intervention: String,
    /// `language`, `mutation` (the operator that made the pair, when there are several) or
    /// `size` (tertile of the original snippet's AST nodes).
    pub grouping: String,
    pub subgroup: String,
    pub n_pairs: usize,
    pub difference: MeanInterval,
    pub wilcoxon_p: Option<f64>,
    pub p_holm: Option<f64>,
    pub p_bh: Option<f64>,
}

/// The effect-modification model of one intervention's paired differences.
#[derive(Debug, Clone)]
pub struct Modification {
    pub model_id: String,
    pub intervention: String,
    pub result: Result<EffectModification, String>,
}

/// The sensitivity of one concept's back-door effect on cross-entropy.
#[derive(Debug, Clone)]
pub struct ConceptSensitivity {
    pub model_id: String,
    pub concept: String,
    pub method: String,
    pub result: Result<Sensitivity, String>,
}

/// Every causal claim beyond the results tables.
#[derive(Debug, Clone, Default)]
pub struct CausalClaims {
    pub decompositions: Vec<Decomposition>,
    pub subgroups: Vec<SubgroupEffect>,
    pub modifications: Vec<Modification>,
    pub sensitivities: Vec<ConceptSensitivity>,
}

/// The pairs of an intervention where both rows have a cross-entropy and a token count.
fn usable_pairs(model: &Model, pairs: &[Pair]) -> Vec<Pair> {
    pairs
        .iter()
        .filter(|pair| {
            model.cross_entropy(pair.control).is_some()
                && model.cross_entropy(pair.treated).is_some()
        })
        .cloned()
        .collect()
}

/// The original snippet of a pair: the row that is also a testbed original, else the control.
fn original(testbed: &Testbed, pair: &Pair) -> usize {
    if testbed.base_from_original && testbed.base.binary_search(&pair.treated).is_ok() {
        pair.treated
    } else {
        pair.control
    }
}

fn covariate(testbed: &Testbed, row: usize, name: &str) -> f64 {
    let position = Covariates::NAMES
        .iter()
        .position(|candidate| *candidate == name)
        .expect("a covariate name");
    testbed.rows[row].covariates.values()[position]
}

/// Computes every claim of the study.
pub fn claims(
    models: &[Model],
    testbed: &Testbed,
    params: &StudyParams,
    effects: &[study_effects::Row],
) -> CausalClaims {
    let mut claims = CausalClaims::default();
    for model in models {
        for (intervention, pairs) in &testbed.interventions {
            let pairs = usable_pairs(model, pairs);
            if pairs.is_empty() {
                continue;
            }
            claims
                .decompositions
                .push(decompose(model, testbed, params, intervention, &pairs));
            claims
                .subgroups
                .extend(subgroups(model, testbed, params, intervention, &pairs));
            claims
                .modifications
                .push(modification(model, testbed, params, intervention, &pairs));
        }
        claims
            .sensitivities
            .extend(sensitivities(model, testbed, params, effects));
    }
    claims
}

fn decompose(
    model: &Model,
    testbed: &Testbed,
    params: &StudyParams,
    intervention: &str,
    pairs: &[Pair],
) -> Decomposition {
    let mut rows = Vec::with_capacity(2 * pairs.len());
    let mut labels = Vec::with_capacity(2 * pairs.len());
    for pair in pairs {
        rows.extend([pair.control, pair.treated]);
        labels.extend([pair.pair_id.clone(), pair.pair_id.clone()]);
    }
    let treatment: Vec<f64> = (0..rows.len()).map(|i| (i % 2) as f64).collect();
    let outcome: Vec<f64> = rows
        .iter()
        .map(|&row| model.cross_entropy(row).expect("usable pair"))
        .collect();
    let values = |name: &str| -> Vec<f64> {
        rows.iter()
            .map(|&row| confounder_value(name, model, testbed, row).unwrap_or(f64::NAN))
            .collect()
    };
    let varies_within_pairs =
        |values: &[f64]| values.chunks_exact(2).any(|pair| pair[0] != pair[1]);
    let mut left_out = Vec::new();
    let mut mediators = Vec::new();
    for name in SIZE_MEDIATORS {
        let column = values(name);
        if column.iter().any(|v| !v.is_finite()) {
            left_out.push(format!("{name} (missing)"));
        } else if varies_within_pairs(&column) {
            mediators.push(Column::new(name, column));
        } else {
            left_out.push(format!(
                "{name} (not changed by the intervention: not a mediator; a pair-level covariate)"
            ));
        }
    }
    let mut candidates = Vec::new();
    for name in params.confounder_names() {
        // A size variable the edit leaves unchanged is a pre-treatment covariate like any other.
        if mediators.iter().any(|column| column.name == name) {
            continue;
        }
        let column = values(&name);
        if column.iter().any(|v| !v.is_finite()) {
            continue;
        }
        if varies_within_pairs(&column) {
            left_out.push(format!(
                "{name} (changed by the intervention: neither a pre-treatment covariate nor a size mediator)"
            ));
        } else {
            candidates.push(Column::new(name, column));
        }
    }
    // Constant, treatment-determined or collinear columns cannot enter the models: the
    // mediators are kept first (in order), then the covariates that are not collinear with them.
    let mediator_count = mediators.len();
    let mediator_names_all: Vec<String> = mediators.iter().map(|c| c.name.clone()).collect();
    let mut all = mediators;
    all.extend(candidates);
    let (kept, dropped) = select_confounders(&treatment, all);
    left_out.extend(dropped);
    let (mut mediators, mut covariates): (Vec<Column>, Vec<Column>) = kept
        .into_iter()
        .partition(|column| mediator_names_all.contains(&column.name));
    debug_assert!(mediators.len() <= mediator_count);
    // The outcome model holds 2 + mediators + covariates columns; keep residual room.
    let room = pairs
        .len()
        .saturating_sub(mediators.len() + 5)
        .min(pairs.len() / 5);
    if covariates.len() > room {
        for column in covariates.drain(room..) {
            left_out.push(format!(
                "{} (too few pairs for more covariates)",
                column.name
            ));
        }
    }
    mediators.truncate(pairs.len().saturating_sub(5).max(1));
    let covariate_names: Vec<String> = covariates.iter().map(|c| c.name.clone()).collect();
    let mediator_names: Vec<String> = mediators.iter().map(|c| c.name.clone()).collect();
    let result = if mediators.is_empty() {
        Err("the intervention changes none of the size mediators".to_owned())
    } else {
        MediationData::new(
            Column::new("treatment", treatment),
            mediators,
            Column::new(CROSS_ENTROPY, outcome),
            covariates,
            Some(("pair_id".to_owned(), labels)),
        )
        .and_then(|data| {
            let options = MediationOptions {
                interaction: false,
                simulations: params.ci_resamples.max(2),
                seed: derive_seed(params.seed, &["mediation", &model.model_id, intervention]),
                confidence_level: params.bootstrap.confidence_level,
                interval: MediationInterval::Bootstrap,
            };
            icodegen_causal::mediation(&data, &options)
        })
        .map_err(|error| error.to_string())
    };
    Decomposition {
        model_id: model.model_id.clone(),
        intervention: intervention.to_owned(),
        n_pairs: pairs.len(),
        mediators: mediator_names,
        covariates: covariate_names,
        left_out,
        result,
    }
}

fn subgroups(
    model: &Model,
    testbed: &Testbed,
    params: &StudyParams,
    intervention: &str,
    pairs: &[Pair],
) -> Vec<SubgroupEffect> {
    let mut groupings: Vec<(&str, Vec<String>)> = Vec::new();
    if testbed.languages.len() > 1 {
        groupings.push((
            "language",
            pairs
                .iter()
                .map(|pair| testbed.rows[original(testbed, pair)].language.clone())
                .collect(),
        ));
    }
    // The mutation operator that made a pair (bugfix: `flip_comparison`, ...), when recorded.
    let mutations: std::collections::HashMap<&str, &str> = testbed
        .entries
        .iter()
        .filter(|entry| entry.intervention == intervention)
        .filter_map(|entry| Some((entry.pair_id.as_str(), entry.mutation.as_deref()?)))
        .collect();
    let operators: Vec<String> = pairs
        .iter()
        .map(|pair| {
            mutations
                .get(pair.pair_id.as_str())
                .map_or_else(|| "unrecorded".to_owned(), |m| (*m).to_owned())
        })
        .collect();
    if operators.iter().any(|operator| operator != &operators[0]) {
        groupings.push(("mutation", operators));
    }
    let sizes: Vec<f64> = pairs
        .iter()
        .map(|pair| covariate(testbed, original(testbed, pair), "n_ast_nodes"))
        .collect();
    let mut sorted = sizes.clone();
    sorted.sort_by(f64::total_cmp);
    if sorted.len() >= 3 && sorted[0] < sorted[sorted.len() - 1] {
        let cut = |q: f64| icodegen_stats::descriptive::quantile_sorted(&sorted, q);
        let (low, high) = (cut(1.0 / 3.0), cut(2.0 / 3.0));
        groupings.push((
            "size",
            sizes
                .iter()
                .map(|&size| {
                    if size <= low {
                        format!("small (≤ {low:.0} AST nodes)")
                    } else if size <= high {
                        format!("medium ({low:.0}-{high:.0} AST nodes)")
                    } else {
                        format!("large (> {high:.0} AST nodes)")
                    }
                })
                .collect(),
        ));
    }
    let mut out = Vec::new();
    for (grouping, labels) in groupings {
        let mut names: Vec<&String> = labels.iter().collect();
        names.sort();
        names.dedup();
        let start = out.len();
        for name in names {
            let members: Vec<&Pair> = pairs
                .iter()
                .zip(&labels)
                .filter(|(_, label)| *label == name)
                .map(|(pair, _)| pair)
                .collect();
            let control: Vec<f64> = members
                .iter()
                .map(|pair| model.cross_entropy(pair.control).expect("usable"))
                .collect();
            let treated: Vec<f64> = members
                .iter()
                .map(|pair| model.cross_entropy(pair.treated).expect("usable"))
                .collect();
            let seed = derive_seed(
                params.seed,
                &["subgroup", &model.model_id, intervention, grouping, name],
            );
            let comparison =
                compare_paired(&treated, &control, &params.bootstrap, seed, params.min_rows);
            out.push(SubgroupEffect {
                model_id: model.model_id.clone(),
                intervention: intervention.to_owned(),
                grouping: grouping.to_owned(),
                subgroup: name.clone(),
                n_pairs: members.len(),
                difference: comparison.difference,
                wilcoxon_p: comparison.wilcoxon.map(|test| test.p_value),
                p_holm: None,
                p_bh: None,
            });
        }
        let family = &mut out[start..];
        let p: Vec<Option<f64>> = family.iter().map(|row| row.wilcoxon_p).collect();
        let (holm, bh) = adjust_family(&p);
        for ((row, holm), bh) in family.iter_mut().zip(holm).zip(bh) {
            row.p_holm = holm;
            row.p_bh = bh;
        }
    }
    out
}

fn modification(
    model: &Model,
    testbed: &Testbed,
    params: &StudyParams,
    intervention: &str,
    pairs: &[Pair],
) -> Modification {
    let differences: Vec<f64> = pairs
        .iter()
        .map(|pair| {
            model.cross_entropy(pair.treated).expect("usable")
                - model.cross_entropy(pair.control).expect("usable")
        })
        .collect();
    let modifiers: Vec<Column> = ["n_ast_nodes", "cyclomatic"]
        .iter()
        .map(|name| {
            Column::new(
                format!("original_{name}"),
                pairs
                    .iter()
                    .map(|pair| covariate(testbed, original(testbed, pair), name))
                    .collect(),
            )
        })
        .filter(|column| column.values.iter().any(|v| *v != column.values[0]))
        .collect();
    let result = if differences.len() < modifiers.len() + 3 {
        Err(format!("too few pairs ({})", differences.len()))
    } else {
        icodegen_causal::effect_modification(
            &differences,
            &modifiers,
            params.bootstrap.confidence_level,
        )
        .map_err(|error| error.to_string())
    };
    Modification {
        model_id: model.model_id.clone(),
        intervention: intervention.to_owned(),
        result,
    }
}

fn sensitivities(
    model: &Model,
    testbed: &Testbed,
    params: &StudyParams,
    effects: &[study_effects::Row],
) -> Vec<ConceptSensitivity> {
    let mut out = Vec::new();
    for outcome in outcomes(model, params) {
        let Outcome::Concept { kind, concept } = &outcome else {
            continue;
        };
        let label = outcome.label();
        let values = model
            .concept(kind, concept)
            .expect("outcomes come from the model's concepts");
        let rows: Vec<usize> = testbed
            .base
            .iter()
            .copied()
            .filter(|&row| values[row].is_some() && model.cross_entropy(row).is_some())
            .collect();
        if rows.len() < params.min_rows.max(5) {
            continue;
        }
        let treatment: Vec<f64> = rows
            .iter()
            .map(|&row| values[row].expect("filtered").0)
            .collect();
        let outcome_values: Vec<f64> = rows
            .iter()
            .map(|&row| model.cross_entropy(row).expect("filtered"))
            .collect();
        let candidates: Vec<Column> = params
            .confounder_names()
            .iter()
            .map(|name| {
                Column::new(
                    name.clone(),
                    rows.iter()
                        .map(|&row| confounder_value(name, model, testbed, row).unwrap_or(f64::NAN))
                        .collect(),
                )
            })
            .collect();
        let (kept, _) = select_confounders(&treatment, candidates);
        let primary = effects.iter().find(|row| {
            row.model_id == model.model_id
                && row.treatment_kind == CONCEPT
                && row.treatment == label
                && row.outcome == CROSS_ENTROPY
                && row.method == params.primary_method.name()
        });
        let given = primary.and_then(|row| Some((row.effect?, row.standard_error?)));
        let result = CausalData::new(
            Column::new("treatment", treatment),
            Column::new(CROSS_ENTROPY, outcome_values),
            kept,
        )
        .and_then(|data| {
            icodegen_causal::sensitivity(&data, 1.0 - params.bootstrap.confidence_level, given)
        })
        .map_err(|error| error.to_string());
        out.push(ConceptSensitivity {
            model_id: model.model_id.clone(),
            concept: label,
            method: params.primary_method.name().to_owned(),
            result,
        });
    }
    out
}

/// `+0.123 [0.100, 0.150]`.
fn interval(effect: &icodegen_causal::EffectInterval) -> String {
    signed_ci(effect.estimate, Some(effect.ci[0]), Some(effect.ci[1]))
}

/// The summary's line per model and intervention: the total effect, then its decomposition,
/// each named as the estimand it is.
pub fn intervention_lines(study: &Study) -> Vec<String> {
    let mut lines = Vec::new();
    for model in &study.models {
        for intervention in study.testbed.interventions.keys() {
            let total = study.results.paired.iter().find(|row| {
                row.model_id == model.model_id
                    && row.intervention == *intervention
                    && row.outcome == CROSS_ENTROPY
            });
            let Some(total) = total else { continue };
            let mut line = format!(
                "**{}**, `{intervention}` ({} pairs): total effect (mean paired difference, treated − control) {} nats",
                model.model_id,
                total.n_pairs,
                signed_ci(
                    total.mean_difference.unwrap_or(f64::NAN),
                    total.ci_low,
                    total.ci_high
                )
            );
            match (total.ci_low, total.ci_high) {
                (Some(low), Some(high)) if low > 0.0 || high < 0.0 => {
                    let direction = if low > 0.0 { "raises" } else { "lowers" };
                    let _ = write!(
                        line,
                        ": the intervention {direction} the loss ({}, {}).",
                        p_phrase("Wilcoxon p", total.wilcoxon_p_value),
                        p_phrase("Holm-adjusted p", total.p_holm)
                    );
                }
                (Some(_), Some(_)) => line.push_str(": indistinguishable from 0."),
                _ => line.push('.'),
            }
            let decomposition =
                study.claims.decompositions.iter().find(|row| {
                    row.model_id == model.model_id && row.intervention == *intervention
                });
            match decomposition.map(|row| (row, &row.result)) {
                Some((row, Ok(mediation))) => {
                    let _ = write!(
                        line,
                        " Natural direct effect {}, natural indirect effect through size ({}) {}, proportion mediated {} ({}; adjusted for {}; assumes sequential ignorability).",
                        interval(&mediation.direct),
                        row.mediators.join(", "),
                        interval(&mediation.indirect),
                        interval(&mediation.proportion_mediated),
                        mediation.interval_description,
                        if row.covariates.is_empty() {
                            "no pair-level covariate".to_owned()
                        } else {
                            format!("the pair-level covariates {}", row.covariates.join(", "))
                        }
                    );
                    if let Some(rho) = &mediation.rho_sensitivity {
                        let _ = write!(
                            line,
                            " The indirect effect would vanish if the errors of the mediator and outcome models correlated at ρ = {} (Imai's sensitivity).",
                            number(rho.rho_at_zero)
                        );
                    }
                }
                Some((_, Err(error))) => {
                    let _ = write!(line, " No decomposition through size: {error}.");
                }
                None => {}
            }
            lines.push(line);
        }
    }
    lines
}

/// The summary's lines on effect heterogeneity: per model and intervention, the subgroups
/// whose paired effect is clear after Holm, and the effect-modification slopes.
pub fn subgroup_lines(study: &Study) -> Vec<String> {
    let mut lines = Vec::new();
    for modification in &study.claims.modifications {
        let subgroups: Vec<&SubgroupEffect> = study
            .claims
            .subgroups
            .iter()
            .filter(|row| {
                row.model_id == modification.model_id
                    && row.intervention == modification.intervention
            })
            .collect();
        let mut line = format!(
            "**{}**, `{}`: ",
            modification.model_id, modification.intervention
        );
        let parts: Vec<String> = subgroups
            .iter()
            .map(|row| {
                format!(
                    "{} {} {} ({} pairs, {})",
                    row.grouping,
                    row.subgroup,
                    signed_ci(
                        row.difference.mean,
                        row.difference.ci.map(|ci| ci.0),
                        row.difference.ci.map(|ci| ci.1)
                    ),
                    row.n_pairs,
                    p_phrase("Holm p", row.p_holm)
                )
            })
            .collect();
        if parts.is_empty() {
            line.push_str("no subgroups");
        } else {
            line.push_str(&parts.join("; "));
        }
        match &modification.result {
            Ok(model) => {
                let slopes: Vec<String> = model
                    .terms
                    .iter()
                    .skip(1)
                    .map(|term| {
                        format!(
                            "{} {} per unit",
                            term.name,
                            signed_ci(term.estimate, Some(term.ci[0]), Some(term.ci[1]))
                        )
                    })
                    .collect();
                if !slopes.is_empty() {
                    let _ = write!(
                        line,
                        ". Effect modification (paired difference on the original snippet's centred size and complexity): {}",
                        slopes.join(", ")
                    );
                }
            }
            Err(error) => {
                let _ = write!(line, ". No effect-modification model: {error}");
            }
        }
        line.push('.');
        lines.push(line);
    }
    lines
}

/// The summary's lines on the sensitivity of the concept (observational) effects: per model,
/// the concept with the largest robustness value and the one with the smallest.
pub fn sensitivity_lines(study: &Study) -> Vec<String> {
    let mut lines = Vec::new();
    for model in &study.models {
        let mut rows: Vec<(&ConceptSensitivity, &Sensitivity)> = study
            .claims
            .sensitivities
            .iter()
            .filter(|row| row.model_id == model.model_id)
            .filter_map(|row| row.result.as_ref().ok().map(|result| (row, result)))
            .collect();
        if rows.is_empty() {
            continue;
        }
        rows.sort_by(|a, b| b.1.robustness_value.total_cmp(&a.1.robustness_value));
        let describe = |(row, result): &(&ConceptSensitivity, &Sensitivity)| {
            let benchmark = result
                .strongest
                .as_ref()
                .map(|strongest| {
                    format!(
                        "; the strongest observed covariate, {}, explains {:.1}% of the treatment's and {:.1}% of the outcome's residual variance",
                        strongest.name,
                        strongest.partial_r2_treatment * 100.0,
                        strongest.partial_r2_outcome * 100.0
                    )
                })
                .unwrap_or_default();
            let interval = if result.robustness_value_alpha > 0.0 {
                format!(
                    "{:.1}% to make its interval include 0",
                    result.robustness_value_alpha * 100.0
                )
            } else {
                "its interval already includes 0".to_owned()
            };
            format!(
                "{}: an unobserved confounder explaining {:.1}% of the residual variance of both the concept and the loss would explain the estimate away ({interval}){benchmark}; E-value {} for the change of the concept's probability from 0 to 1 (interval's limit nearer the null: {})",
                row.concept,
                result.robustness_value * 100.0,
                number(result.e_value.e_value),
                number(result.e_value.e_value_ci)
            )
        };
        let mut line = format!(
            "**{}** ({} concepts; back-door estimates, {}): most robust {}",
            model.model_id,
            rows.len(),
            rows[0].0.method,
            describe(&rows[0])
        );
        if rows.len() > 1 {
            let _ = write!(line, "; least robust {}", describe(&rows[rows.len() - 1]));
        }
        line.push('.');
        lines.push(line);
    }
    lines
}

impl CausalClaims {
    /// The claims as JSON, for `study.json`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        let error = |result: Result<serde_json::Value, &String>| match result {
            Ok(value) => value,
            Err(error) => json!({ "error": error }),
        };
        json!({
            "decompositions": self.decompositions.iter().map(|row| json!({
                "model_id": row.model_id,
                "intervention": row.intervention,
                "outcome": CROSS_ENTROPY,
                "n_pairs": row.n_pairs,
                "mediators": row.mediators,
                "covariates": row.covariates,
                "left_out": row.left_out,
                "result": error(row.result.as_ref().map(|m| serde_json::to_value(m).unwrap_or_default())),
            })).collect::<Vec<_>>(),
            "subgroups": self.subgroups.iter().map(|row| json!({
                "model_id": row.model_id,
                "intervention": row.intervention,
                "grouping": row.grouping,
                "subgroup": row.subgroup,
                "n_pairs": row.n_pairs,
                "mean_difference": row.difference.mean,
                "ci": row.difference.ci.map(|ci| [ci.0, ci.1]),
                "wilcoxon_p": row.wilcoxon_p,
                "p_holm": row.p_holm,
                "p_bh": row.p_bh,
            })).collect::<Vec<_>>(),
            "effect_modification": self.modifications.iter().map(|row| json!({
                "model_id": row.model_id,
                "intervention": row.intervention,
                "result": error(row.result.as_ref().map(|m| serde_json::to_value(m).unwrap_or_default())),
            })).collect::<Vec<_>>(),
            "sensitivity": self.sensitivities.iter().map(|row| json!({
                "model_id": row.model_id,
                "concept": row.concept,
                "method": row.method,
                "result": error(row.result.as_ref().map(|s| serde_json::to_value(s).unwrap_or_default())),
            })).collect::<Vec<_>>(),
        })
    }
}
