//! Back-door effects (methodology §2) per model:
//! - of each intervention (binary T: 0 control, 1 treated; the rows of its complete pairs) on
//!   cross-entropy with every configured method, and on each concept score with the primary
//!   method;
//! - of each concept as a continuous treatment (ASTrust: T = the concept's per-row mean
//!   probability over the original rows where it occurs) on cross-entropy.
//!
//! Each effect sits beside the unadjusted one (OLS of Y on T alone) and the plain correlations
//! of T and Y. Confounders are the row's covariates plus the model's token count (for an
//! intervention only those its edit leaves unchanged in every pair: the rest are mediators,
//! and the effect is then the total effect, see `decomposition`); constant
//! columns, columns collinear with the treatment or with confounders already kept, and columns
//! beyond what the rows can support are left out and reported. The primary-method effects on
//! cross-entropy are refuted. p-values are adjusted within (treatment kind, method).

use std::collections::HashMap;

use icodegen_artifacts::Covariates;
use icodegen_artifacts::schemas::{study_effects, study_refutations};
use icodegen_artifacts::vocab::{self, TreatmentKind};
use icodegen_causal::{
    CausalData, Column, Correlations, Estimate, EstimatorOptions, IntervalKind, Method,
    PropensityOptions, RefuterOptions,
};
use nalgebra::{Cholesky, DMatrix};

use super::inputs::{Model, Testbed};
use super::numbers::{adjust_family, derive_seed, seed_column, too_few};
use super::paired::{Outcome, outcomes, paired_values};
use super::params::{StudyParams, TOKEN_COUNT};

/// The `treatment_kind` values ([`TreatmentKind`]).
pub const INTERVENTION: &str = TreatmentKind::Intervention.as_str();
pub const CONCEPT: &str = TreatmentKind::Concept.as_str();

/// One effect to estimate: its labels and its columns.
struct Spec<'a> {
    model_id: &'a str,
    treatment_kind: &'static str,
    treatment: String,
    outcome: String,
    /// Row indices behind the values (for confounder lookup).
    rows: Vec<usize>,
    treatment_values: Vec<f64>,
    outcome_values: Vec<f64>,
    methods: Vec<Method>,
    refute: bool,
}

/// The study's effects and their refutations.
pub struct Effects {
    pub effects: Vec<study_effects::Row>,
    pub refutations: Vec<study_refutations::Row>,
}

/// The value of a confounder on a row for a model (`None` when the model did not score it).
pub(super) fn confounder_value(
    name: &str,
    model: &Model,
    testbed: &Testbed,
    row: usize,
) -> Option<f64> {
    if name == TOKEN_COUNT {
        return model.scores[row].map(|score| f64::from(score.n_tokens));
    }
    let position = Covariates::NAMES
        .iter()
        .position(|candidate| *candidate == name)?;
    Some(testbed.rows[row].covariates.values()[position])
}

/// Estimates every effect of every model.
pub fn effects(models: &[Model], testbed: &Testbed, params: &StudyParams) -> Effects {
    let mut specs: Vec<(&Model, Spec)> = Vec::new();
    for model in models {
        for (intervention, pairs) in &testbed.interventions {
            for outcome in outcomes(model, params) {
                let is_cross_entropy = outcome == Outcome::CrossEntropy;
                // Pairs where both rows have the outcome and a token count.
                let usable: Vec<_> = pairs
                    .iter()
                    .filter(|pair| {
                        model.scores[pair.control].is_some() && model.scores[pair.treated].is_some()
                    })
                    .cloned()
                    .collect();
                let (control, treated) = paired_values(model, &usable, &outcome);
                if control.is_empty() {
                    continue;
                }
                let mut rows = Vec::with_capacity(2 * control.len());
                for pair in &usable {
                    if outcome.value(model, pair.control).is_some()
                        && outcome.value(model, pair.treated).is_some()
                    {
                        rows.push(pair.control);
                        rows.push(pair.treated);
                    }
                }
                let mut treatment_values = Vec::with_capacity(rows.len());
                let mut outcome_values = Vec::with_capacity(rows.len());
                for (c, t) in control.iter().zip(&treated) {
                    treatment_values.extend([0.0, 1.0]);
                    outcome_values.extend([*c, *t]);
                }
                specs.push((
                    model,
                    Spec {
                        model_id: &model.model_id,
                        treatment_kind: INTERVENTION,
                        treatment: intervention.clone(),
                        outcome: outcome.label(),
                        rows,
                        treatment_values,
                        outcome_values,
                        methods: if is_cross_entropy {
                            params.methods.clone()
                        } else {
                            vec![params.primary_method]
                        },
                        refute: is_cross_entropy || params.refute_concept_outcomes,
                    },
                ));
            }
        }
        for outcome in outcomes(model, params) {
            let Outcome::Concept { kind, concept } = &outcome else {
                continue;
            };
            let values = model
                .concept(kind, concept)
                .expect("outcomes come from the model's concepts");
            let rows: Vec<usize> = testbed
                .base
                .iter()
                .copied()
                .filter(|&row| values[row].is_some() && model.cross_entropy(row).is_some())
                .collect();
            if rows.is_empty() {
                continue;
            }
            specs.push((
                model,
                Spec {
                    model_id: &model.model_id,
                    treatment_kind: CONCEPT,
                    treatment: outcome.label(),
                    outcome: Outcome::CrossEntropy.label(),
                    treatment_values: rows
                        .iter()
                        .map(|&row| values[row].expect("filtered").0)
                        .collect(),
                    outcome_values: rows
                        .iter()
                        .map(|&row| model.cross_entropy(row).expect("filtered"))
                        .collect(),
                    rows,
                    methods: vec![params.primary_method],
                    refute: true,
                },
            ));
        }
    }
    let progress = icodegen_artifacts::progress::bar(specs.len() as u64, "effects");
    let mut result = Effects {
        effects: Vec::new(),
        refutations: Vec::new(),
    };
    for (model, spec) in &specs {
        estimate_spec(model, testbed, spec, params, &mut result);
        progress.inc(1);
    }
    progress.finish_and_clear();
    adjust(&mut result.effects);
    result
}

/// Keeps, in order, the candidate confounders the rows can support: not constant, not
/// determined by the treatment, not collinear with those already kept, and at most `n - 5` of
/// them (so the outcome regression keeps residual degrees of freedom). Returns the kept columns
/// and the left-out names with their reasons.
pub fn select_confounders(
    treatment: &[f64],
    candidates: Vec<Column>,
) -> (Vec<Column>, Vec<String>) {
    const PIVOT: f64 = 1e-7;
    let n = treatment.len();
    let standardize = |values: &[f64]| -> Option<Vec<f64>> {
        let mean = values.iter().sum::<f64>() / n as f64;
        let centered: Vec<f64> = values.iter().map(|value| value - mean).collect();
        let norm = centered
            .iter()
            .map(|value| value * value)
            .sum::<f64>()
            .sqrt();
        (norm > 1e-12 * (1.0 + mean.abs()) * (n as f64).sqrt())
            .then(|| centered.iter().map(|value| value / norm).collect())
    };
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let (mut kept, mut dropped) = (Vec::new(), Vec::new());
    let Some(t) = standardize(treatment) else {
        return (
            Vec::new(),
            candidates
                .into_iter()
                .map(|c| format!("{} (constant treatment)", c.name))
                .collect(),
        );
    };
    let mut basis: Vec<Vec<f64>> = vec![t];
    let mut gram: Vec<Vec<f64>> = vec![vec![1.0]];
    let max_kept = n.saturating_sub(5);
    for column in candidates {
        if kept.len() >= max_kept {
            dropped.push(format!(
                "{} (too few rows for more confounders)",
                column.name
            ));
            continue;
        }
        let Some(standardized) = standardize(&column.values) else {
            dropped.push(format!("{} (constant)", column.name));
            continue;
        };
        let products: Vec<f64> = basis
            .iter()
            .map(|existing| dot(existing, &standardized))
            .collect();
        if 1.0 - products[0] * products[0] < PIVOT {
            dropped.push(format!("{} (determined by the treatment)", column.name));
            continue;
        }
        let k = basis.len() + 1;
        let matrix = DMatrix::from_fn(k, k, |i, j| match (i == k - 1, j == k - 1) {
            (true, true) => 1.0,
            (true, false) => products[j],
            (false, true) => products[i],
            (false, false) => gram[i][j],
        });
        let pivot = Cholesky::new(matrix).map(|cholesky| cholesky.l()[(k - 1, k - 1)].powi(2));
        match pivot {
            Some(pivot) if pivot >= PIVOT => {
                for (row, product) in gram.iter_mut().zip(&products) {
                    row.push(*product);
                }
                let mut last = products.clone();
                last.push(1.0);
                gram.push(last);
                basis.push(standardized);
                kept.push(column);
            }
            _ => dropped.push(format!(
                "{} (collinear with the treatment and kept confounders)",
                column.name
            )),
        }
    }
    (kept, dropped)
}

fn interval_kind_name(kind: IntervalKind) -> &'static str {
    match kind {
        IntervalKind::StudentT => vocab::IntervalKind::StudentT.as_str(),
        IntervalKind::InfluenceFunction => vocab::IntervalKind::InfluenceFunction.as_str(),
        IntervalKind::Bootstrap => vocab::IntervalKind::Bootstrap.as_str(),
    }
}

fn estimate_spec(
    model: &Model,
    testbed: &Testbed,
    spec: &Spec,
    params: &StudyParams,
    out: &mut Effects,
) {
    let n = spec.rows.len();
    let candidates: Vec<Column> = params
        .confounder_names()
        .iter()
        .map(|name| {
            let values = spec
                .rows
                .iter()
                .map(|&row| confounder_value(name, model, testbed, row).unwrap_or(f64::NAN))
                .collect();
            Column::new(name.clone(), values)
        })
        .collect();
    // An intervention's rows come in pairs (control, treated): a covariate that differs within
    // a pair is changed by the edit (a mediator, such as the size of the edited code), so
    // adjusting for it would estimate a direct effect, not the total effect. Only pair-level
    // (pre-treatment) covariates are adjusted for.
    let mut changed = Vec::new();
    let candidates: Vec<Column> = if spec.treatment_kind == INTERVENTION {
        candidates
            .into_iter()
            .filter(|column| {
                let varies = column.values.chunks_exact(2).any(|pair| pair[0] != pair[1]);
                if varies {
                    changed.push(format!(
                        "{} (changed by the intervention: a mediator, not a confounder)",
                        column.name
                    ));
                }
                !varies
            })
            .collect()
    } else {
        candidates
    };
    let (kept, mut dropped) = select_confounders(&spec.treatment_values, candidates);
    changed.append(&mut dropped);
    let dropped = changed;
    let confounders = kept
        .iter()
        .map(|column| column.name.clone())
        .collect::<Vec<_>>()
        .join(",");
    let column = |name: &str, values: &[f64]| Column::new(name, values.to_vec());
    let data = CausalData::new(
        column("treatment", &spec.treatment_values),
        column("outcome", &spec.outcome_values),
        kept,
    );
    let unadjusted = CausalData::new(
        column("treatment", &spec.treatment_values),
        column("outcome", &spec.outcome_values),
        Vec::new(),
    )
    .and_then(|plain| {
        icodegen_causal::estimate(
            &plain,
            Method::LinearRegression,
            &EstimatorOptions::default(),
        )
    })
    .ok();
    let correlations: Option<Correlations> = data
        .as_ref()
        .ok()
        .and_then(|data| icodegen_causal::correlations(data).ok());
    let small = n < params.min_rows;
    for &method in &spec.methods {
        let seed = derive_seed(
            params.seed,
            &[
                "effect",
                spec.model_id,
                spec.treatment_kind,
                &spec.treatment,
                &spec.outcome,
                method.name(),
            ],
        );
        let options = EstimatorOptions {
            seed,
            ci_resamples: params.ci_resamples,
            confidence_level: params.bootstrap.confidence_level,
            propensity: PropensityOptions {
                l2_penalty: params.propensity_l2,
                ..PropensityOptions::default()
            },
            ..EstimatorOptions::default()
        };
        let estimate: Result<Estimate, String> = match &data {
            Ok(data) => {
                icodegen_causal::estimate(data, method, &options).map_err(|error| error.to_string())
            }
            Err(error) => Err(error.to_string()),
        };
        let (ok, error) = match estimate {
            Ok(estimate) => (Some(estimate), None),
            Err(error) => (None, Some(error)),
        };
        let note = (small && ok.is_some()).then(|| too_few(n, params.min_rows, "rows"));
        let show_ci = ok.as_ref().filter(|_| !small);
        out.effects.push(study_effects::Row {
            model_id: spec.model_id.to_owned(),
            treatment_kind: spec.treatment_kind.to_owned(),
            treatment: spec.treatment.clone(),
            outcome: spec.outcome.clone(),
            method: method.name().to_owned(),
            n: n as i64,
            n_treated: ok.as_ref().and_then(|e| e.n_treated).map(|v| v as i64),
            n_control: ok.as_ref().and_then(|e| e.n_control).map(|v| v as i64),
            effect: ok.as_ref().map(|e| e.effect),
            standard_error: show_ci.map(|e| e.standard_error),
            ci_low: show_ci.map(|e| e.ci.lower),
            ci_high: show_ci.map(|e| e.ci.upper),
            p_value: show_ci.map(|e| e.p_value).filter(|p| p.is_finite()),
            p_holm: None,
            p_bh: None,
            interval_kind: show_ci.map(|e| interval_kind_name(e.interval_kind).to_owned()),
            unadjusted: unadjusted.as_ref().map(|e| e.effect),
            unadjusted_ci_low: unadjusted.as_ref().filter(|_| !small).map(|e| e.ci.lower),
            unadjusted_ci_high: unadjusted.as_ref().filter(|_| !small).map(|e| e.ci.upper),
            pearson: correlations.map(|c| c.pearson.coefficient),
            pearson_p: correlations.map(|c| c.pearson.p_value),
            pearson_p_holm: None,
            pearson_p_bh: None,
            spearman: correlations.map(|c| c.spearman.coefficient),
            spearman_p: correlations.map(|c| c.spearman.p_value),
            spearman_p_holm: None,
            spearman_p_bh: None,
            kendall: correlations.map(|c| c.kendall.coefficient),
            kendall_p: correlations.map(|c| c.kendall.p_value),
            kendall_p_holm: None,
            kendall_p_bh: None,
            confounders: confounders.clone(),
            dropped_confounders: dropped.join(", "),
            seed: seed_column(seed),
            error,
            note,
        });
        let Some(estimate) = &ok else { continue };
        if !spec.refute || method != params.primary_method || params.refuters.is_empty() || small {
            continue;
        }
        let data = data.as_ref().expect("an estimate implies valid data");
        let refuter_seed = derive_seed(
            params.seed,
            &[
                "refute",
                spec.model_id,
                spec.treatment_kind,
                &spec.treatment,
                &spec.outcome,
                method.name(),
            ],
        );
        let refuter_options = RefuterOptions {
            simulations: params.simulations,
            seed: refuter_seed,
            subset_fraction: params.subset_fraction,
            ..RefuterOptions::default()
        };
        for &refuter in &params.refuters {
            let base = study_refutations::Row {
                model_id: spec.model_id.to_owned(),
                treatment_kind: spec.treatment_kind.to_owned(),
                treatment: spec.treatment.clone(),
                outcome: spec.outcome.clone(),
                method: method.name().to_owned(),
                refuter: refuter.name().to_owned(),
                original_effect: estimate.effect,
                simulations: params.simulations as i64,
                seed: seed_column(refuter_seed),
                ..study_refutations::Row::default()
            };
            let row = match icodegen_causal::refute(
                data,
                method,
                &options,
                estimate.effect,
                refuter,
                &refuter_options,
            ) {
                Ok(refutation) => study_refutations::Row {
                    new_effect: Some(refutation.new_effect),
                    new_effect_sd: Some(refutation.new_effect_sd).filter(|sd| sd.is_finite()),
                    p_value: Some(refutation.p_value).filter(|p| p.is_finite()),
                    passed: Some(refutation.passed),
                    rule: Some(refutation.rule),
                    simulations: refutation.simulations as i64,
                    failed_simulations: refutation.failed_simulations as i64,
                    effect_vs_placebo_p_value: refutation.effect_vs_placebo_p_value,
                    ..base
                },
                Err(error) => study_refutations::Row {
                    error: Some(error.to_string()),
                    ..base
                },
            };
            out.refutations.push(row);
        }
    }
}

/// (treatment kind, model, treatment, outcome).
type Key = (String, String, String, String);
/// Three tests' (Holm, BH) adjusted p-values.
type Adjusted = [(Option<f64>, Option<f64>); 3];
/// Per treatment kind, the distinct keys and their three raw p-values.
type Families = HashMap<String, Vec<(Key, [Option<f64>; 3])>>;

/// Holm and BH within (treatment kind, method) for the effects; within the treatment kind over
/// distinct (model, treatment, outcome) for the correlations, which every method row repeats.
fn adjust(rows: &mut [study_effects::Row]) {
    let mut families: HashMap<(String, String), Vec<usize>> = HashMap::new();
    for (index, row) in rows.iter().enumerate() {
        families
            .entry((row.treatment_kind.clone(), row.method.clone()))
            .or_default()
            .push(index);
    }
    for members in families.values() {
        let p: Vec<Option<f64>> = members.iter().map(|&i| rows[i].p_value).collect();
        let (holm, bh) = adjust_family(&p);
        for (position, &index) in members.iter().enumerate() {
            rows[index].p_holm = holm[position];
            rows[index].p_bh = bh[position];
        }
    }

    let key = |row: &study_effects::Row| -> Key {
        (
            row.treatment_kind.clone(),
            row.model_id.clone(),
            row.treatment.clone(),
            row.outcome.clone(),
        )
    };
    let mut distinct = Families::new();
    let mut seen = std::collections::HashSet::new();
    for row in rows.iter() {
        if seen.insert(key(row)) {
            distinct
                .entry(row.treatment_kind.clone())
                .or_default()
                .push((key(row), [row.pearson_p, row.spearman_p, row.kendall_p]));
        }
    }
    let mut adjusted: HashMap<Key, Adjusted> = HashMap::new();
    for members in distinct.values() {
        let mut per_test = Vec::new();
        for test in 0..3 {
            let p: Vec<Option<f64>> = members.iter().map(|(_, p)| p[test]).collect();
            per_test.push(adjust_family(&p));
        }
        for (position, (key, _)) in members.iter().enumerate() {
            let pick = |test: usize| (per_test[test].0[position], per_test[test].1[position]);
            adjusted.insert(key.clone(), [pick(0), pick(1), pick(2)]);
        }
    }
    for row in rows.iter_mut() {
        let [pearson, spearman, kendall] = adjusted[&key(row)];
        (row.pearson_p_holm, row.pearson_p_bh) = pearson;
        (row.spearman_p_holm, row.spearman_p_bh) = spearman;
        (row.kendall_p_holm, row.kendall_p_bh) = kendall;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_causal_crates_method_and_refuter_names_are_the_artifact_vocabularies() {
        let methods: Vec<&str> = Method::ALL.iter().map(|method| method.name()).collect();
        assert_eq!(methods, vocab::EffectMethod::VALUES);
        let refuters: Vec<&str> = icodegen_causal::Refuter::ALL
            .iter()
            .map(|refuter| refuter.name())
            .collect();
        assert_eq!(refuters, vocab::Refuter::VALUES);
        for kind in [
            IntervalKind::StudentT,
            IntervalKind::InfluenceFunction,
            IntervalKind::Bootstrap,
        ] {
            assert!(vocab::IntervalKind::VALUES.contains(&interval_kind_name(kind)));
        }
    }

    #[test]
    fn constant_determined_and_collinear_confounders_are_left_out_with_a_reason() {
        let treatment = vec![0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0];
        let size: Vec<f64> = (0..10)
            .map(|i| (i * 7 % 5) as f64 + 0.5 * i as f64)
            .collect();
        let candidates = vec![
            Column::new("size", size.clone()),
            Column::new("lambdas", vec![0.0; 10]),
            Column::new("errors", treatment.iter().map(|t| 3.0 * t).collect()),
            Column::new("double_size", size.iter().map(|s| 2.0 * s + 1.0).collect()),
            Column::new("depth", (0..10).map(|i| ((i * i) % 7) as f64).collect()),
        ];
        let (kept, dropped) = select_confounders(&treatment, candidates);
        let names: Vec<&str> = kept.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["size", "depth"]);
        assert_eq!(
            dropped,
            [
                "lambdas (constant)",
                "errors (determined by the treatment)",
                "double_size (collinear with the treatment and kept confounders)"
            ]
        );
    }

    #[test]
    fn no_more_confounders_than_the_rows_support() {
        let treatment = vec![0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0];
        let candidates: Vec<Column> = (0..5)
            .map(|k| {
                Column::new(
                    format!("z{k}"),
                    (0..7)
                        .map(|i| ((i * (k + 2)) % 5) as f64 + (k * i) as f64 * 0.1)
                        .collect(),
                )
            })
            .collect();
        let (kept, dropped) = select_confounders(&treatment, candidates);
        assert_eq!(kept.len(), 2);
        assert!(
            dropped.iter().all(|reason| reason.contains("too few rows")),
            "{dropped:?}"
        );
    }
}
