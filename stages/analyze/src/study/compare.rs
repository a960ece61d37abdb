//! Between models on the same rows (paired comparisons), and the checks of the seed studies'
//! findings: blocks easier than identifiers and natural language; the effect of fixing a bug
//! shrinking once size is controlled.

use icodegen_artifacts::schemas::{study_comparisons, study_seed_checks};
use icodegen_artifacts::vocab::{ConceptKind, SeedCheck, Verdict};

use super::decomposition::Decomposition;
use super::inputs::{Model, Testbed};
use super::numbers::{adjust_family, compare_paired, derive_seed, mean_interval, seed_column};
use super::paired::{Outcome, outcomes};
use super::params::StudyParams;

/// Paired comparisons of every two models on cross-entropy, accuracy and the concepts of
/// `params.concept_kind` both have, over the original rows where both have a value.
pub fn comparisons(
    models: &[Model],
    testbed: &Testbed,
    params: &StudyParams,
) -> Vec<study_comparisons::Row> {
    let mut rows = Vec::new();
    for (position, a) in models.iter().enumerate() {
        for b in &models[position + 1..] {
            let concepts_b = outcomes(b, params);
            let measures = [Outcome::CrossEntropy, Outcome::Accuracy]
                .into_iter()
                .chain(outcomes(a, params).into_iter().filter(|outcome| {
                    matches!(outcome, Outcome::Concept { .. }) && concepts_b.contains(outcome)
                }));
            for measure in measures {
                let (first, second): (Vec<f64>, Vec<f64>) = testbed
                    .base
                    .iter()
                    .filter_map(|&row| Some((measure.value(a, row)?, measure.value(b, row)?)))
                    .unzip();
                if first.is_empty() {
                    continue;
                }
                let label = measure.label();
                let seed = derive_seed(params.seed, &["compare", &a.model_id, &b.model_id, &label]);
                let comparison =
                    compare_paired(&first, &second, &params.bootstrap, seed, params.min_rows);
                let mut notes: Vec<String> = comparison.difference.note.iter().cloned().collect();
                notes.extend(comparison.notes.iter().cloned());
                rows.push(study_comparisons::Row {
                    model_a: a.model_id.clone(),
                    model_b: b.model_id.clone(),
                    measure: label,
                    n_rows: first.len() as i64,
                    mean_a: comparison.mean_first,
                    mean_b: comparison.mean_second,
                    mean_difference: Some(comparison.difference.mean),
                    standard_error: comparison.difference.standard_error,
                    ci_low: comparison.difference.ci.map(|ci| ci.0),
                    ci_high: comparison.difference.ci.map(|ci| ci.1),
                    bootstrap_p_value: comparison.difference.p_value,
                    wilcoxon_statistic: comparison.wilcoxon.map(|test| test.statistic),
                    wilcoxon_p_value: comparison.wilcoxon.map(|test| test.p_value),
                    p_holm: None,
                    p_bh: None,
                    cohens_dz: comparison.cohens_dz.map(|effect| effect.estimate),
                    seed: seed_column(seed),
                    note: (!notes.is_empty()).then(|| notes.join("; ")),
                });
            }
        }
    }
    let p_values: Vec<Option<f64>> = rows.iter().map(|row| row.wilcoxon_p_value).collect();
    let (holm, bh) = adjust_family(&p_values);
    for ((row, holm), bh) in rows.iter_mut().zip(holm).zip(bh) {
        row.p_holm = holm;
        row.p_bh = bh;
    }
    rows
}

/// Per row, the token-weighted mean probability of the node types in `group` (absent = none).
fn pooled(model: &Model, group: &[String], row: usize) -> Option<f64> {
    let (mut weighted, mut tokens) = (0.0, 0.0);
    for node_type in group {
        if let Some((probability, count)) = model
            .concept(ConceptKind::NodeType.as_str(), node_type)
            .and_then(|values| values[row])
        {
            weighted += probability * f64::from(count);
            tokens += f64::from(count);
        }
    }
    (tokens > 0.0).then(|| weighted / tokens)
}

/// The adjustment set in words: the names when few, else how many.
pub fn adjustment_words(confounders: &str) -> String {
    let names: Vec<&str> = confounders
        .split(',')
        .filter(|name| !name.is_empty())
        .collect();
    match names.len() {
        0 => "no confounder".to_owned(),
        1..=4 => names
            .iter()
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", "),
        n => format!("{n} confounders"),
    }
}

/// `0.62 [0.58, 0.66]`, or `0.62 (no interval)`.
pub fn with_ci(value: f64, ci: Option<(f64, f64)>) -> String {
    match ci {
        Some((low, high)) => format!("{value:.3} [{low:.3}, {high:.3}]"),
        None => format!("{value:.3} (no interval)"),
    }
}

fn concept_check(
    model: &Model,
    testbed: &Testbed,
    params: &StudyParams,
    check: &str,
    second_label: &str,
    second: &[String],
) -> study_seed_checks::Row {
    let blocks = &params.seed_checks.blocks;
    let (first_values, second_values): (Vec<f64>, Vec<f64>) = testbed
        .base
        .iter()
        .filter_map(|&row| Some((pooled(model, blocks, row)?, pooled(model, second, row)?)))
        .unzip();
    let seed = derive_seed(params.seed, &["seed_check", &model.model_id, check]);
    let n = first_values.len();
    let comparison = compare_paired(
        &first_values,
        &second_values,
        &params.bootstrap,
        seed,
        params.min_rows,
    );
    let first = mean_interval(
        &first_values,
        &params.bootstrap,
        seed,
        params.min_rows,
        "rows",
    );
    let second_interval = mean_interval(
        &second_values,
        &params.bootstrap,
        seed ^ 1,
        params.min_rows,
        "rows",
    );
    let difference = &comparison.difference;
    let (verdict, explanation) = match difference.ci {
        _ if n == 0 => (
            Verdict::NotTestable.as_str(),
            format!(
                "no original row has both block tokens and {second_label} for {}",
                model.model_id
            ),
        ),
        None => (
            Verdict::NotTestable.as_str(),
            format!(
                "{}: only {n} rows have both block tokens and {second_label}, too few (< {}) for an interval",
                model.model_id, params.min_rows
            ),
        ),
        Some((low, high)) => {
            let numbers = format!(
                "blocks {} vs {second_label} {}, difference {} over {n} rows",
                with_ci(first.mean, first.ci),
                with_ci(second_interval.mean, second_interval.ci),
                with_ci(difference.mean, difference.ci)
            );
            if low > 0.0 {
                (
                    Verdict::Holds.as_str(),
                    format!(
                        "{} predicts block tokens better than {second_label}: {numbers}",
                        model.model_id
                    ),
                )
            } else if high < 0.0 {
                (
                    Verdict::DoesNotHold.as_str(),
                    format!(
                        "{} predicts {second_label} better than block tokens: {numbers}",
                        model.model_id
                    ),
                )
            } else {
                (
                    Verdict::Inconclusive.as_str(),
                    format!(
                        "{}: no clear difference between block tokens and {second_label}: {numbers}",
                        model.model_id
                    ),
                )
            }
        }
    };
    study_seed_checks::Row {
        model_id: model.model_id.clone(),
        check: check.to_owned(),
        claim: format!("block tokens are predicted better than {second_label}"),
        first_label: "blocks".to_owned(),
        first_value: (n > 0).then_some(first.mean),
        first_ci_low: first.ci.map(|ci| ci.0),
        first_ci_high: first.ci.map(|ci| ci.1),
        second_label: second_label.to_owned(),
        second_value: (n > 0).then_some(second_interval.mean),
        second_ci_low: second_interval.ci.map(|ci| ci.0),
        second_ci_high: second_interval.ci.map(|ci| ci.1),
        n: n as i64,
        difference: (n > 0).then_some(difference.mean),
        difference_ci_low: difference.ci.map(|ci| ci.0),
        difference_ci_high: difference.ci.map(|ci| ci.1),
        p_value: comparison.wilcoxon.map(|test| test.p_value),
        verdict: verdict.to_owned(),
        explanation,
        seed: seed_column(seed),
    }
}

/// The seed's claim "bugs correlate with the loss but their effect is near zero once size is
/// controlled", stated as the estimands it is about: the total effect of fixing the bug (the
/// mean paired difference) against its natural direct effect, the part that does not run
/// through size (the size mediators the fix changes; `decomposition`).
fn bug_check(
    model: &Model,
    params: &StudyParams,
    decompositions: &[Decomposition],
) -> study_seed_checks::Row {
    let intervention = &params.seed_checks.bug_intervention;
    let found = decompositions
        .iter()
        .find(|row| row.model_id == model.model_id && row.intervention == *intervention);
    let mut row = study_seed_checks::Row {
        model_id: model.model_id.clone(),
        check: SeedCheck::BugfixSizeAdjustment.as_str().to_owned(),
        claim: "bugs correlate with the loss but their direct effect (the part not running through size) is near zero"
            .to_owned(),
        first_label: "total effect".to_owned(),
        second_label: "natural direct effect".to_owned(),
        ..study_seed_checks::Row::default()
    };
    let Some(decomposition) = found else {
        row.verdict = Verdict::NotTestable.as_str().to_owned();
        row.explanation = format!(
            "the testbed has no `{intervention}` pairs scored by {}",
            model.model_id
        );
        return row;
    };
    row.n = decomposition.n_pairs as i64;
    let mediation = match &decomposition.result {
        Ok(mediation) => mediation,
        Err(error) => {
            row.verdict = Verdict::NotTestable.as_str().to_owned();
            row.explanation = format!(
                "{}: the decomposition through size could not be estimated ({error})",
                model.model_id
            );
            return row;
        }
    };
    row.seed = seed_column(mediation.seed);
    let (total, direct) = (mediation.total, mediation.direct);
    row.first_value = Some(total.estimate);
    row.first_ci_low = Some(total.ci[0]);
    row.first_ci_high = Some(total.ci[1]);
    row.second_value = Some(direct.estimate);
    row.second_ci_low = Some(direct.ci[0]);
    row.second_ci_high = Some(direct.ci[1]);
    row.p_value = Some(direct.p_value);
    row.difference = Some(mediation.indirect.estimate);
    row.difference_ci_low = Some(mediation.indirect.ci[0]);
    row.difference_ci_high = Some(mediation.indirect.ci[1]);
    if decomposition.n_pairs < params.min_rows {
        row.verdict = Verdict::NotTestable.as_str().to_owned();
        row.explanation = format!(
            "{}: {}",
            model.model_id,
            super::numbers::too_few(decomposition.n_pairs, params.min_rows, "pairs")
        );
        return row;
    }
    let shrinks = direct.estimate.abs() < total.estimate.abs();
    let vanishes = direct.ci[0] <= 0.0 && 0.0 <= direct.ci[1];
    let total_clear = total.ci[0] > 0.0 || total.ci[1] < 0.0;
    let numbers = format!(
        "fixing the bug changes cross-entropy by {} nats in total (mean paired difference) and by {} not through size ({}; natural direct effect, adjusted for {}; {} pairs)",
        with_ci(total.estimate, Some((total.ci[0], total.ci[1]))),
        with_ci(direct.estimate, Some((direct.ci[0], direct.ci[1]))),
        decomposition.mediators.join(", "),
        if decomposition.covariates.is_empty() {
            "no pair-level covariate".to_owned()
        } else {
            adjustment_words(&decomposition.covariates.join(","))
        },
        decomposition.n_pairs
    );
    let (verdict, reading) = match (shrinks, vanishes) {
        (true, true) if total_clear => (
            Verdict::Holds.as_str(),
            "the clear total effect runs through size: the direct effect is indistinguishable from 0",
        ),
        (true, true) => (
            Verdict::Holds.as_str(),
            "the direct effect is smaller and indistinguishable from 0 (the total effect was not clear either)",
        ),
        (true, false) => (
            Verdict::PartlyHolds.as_str(),
            "part of the effect runs through size, but the direct effect stays distinguishable from 0",
        ),
        (false, true) => (
            Verdict::Inconclusive.as_str(),
            "the direct effect is not smaller than the total, but neither is distinguishable from 0",
        ),
        (false, false) => (
            Verdict::DoesNotHold.as_str(),
            "the direct effect is not smaller than the total and is distinguishable from 0",
        ),
    };
    row.verdict = verdict.to_owned();
    row.explanation = format!("{}: {numbers}; {reading}", model.model_id);
    row
}

/// The seed checks of every model.
pub fn seed_checks(
    models: &[Model],
    testbed: &Testbed,
    params: &StudyParams,
    decompositions: &[Decomposition],
) -> Vec<study_seed_checks::Row> {
    let mut rows = Vec::new();
    for model in models {
        rows.push(concept_check(
            model,
            testbed,
            params,
            SeedCheck::BlocksVsIdentifiers.as_str(),
            "identifiers",
            &params.seed_checks.identifiers,
        ));
        rows.push(concept_check(
            model,
            testbed,
            params,
            SeedCheck::BlocksVsNaturalLanguage.as_str(),
            "natural language",
            &params.seed_checks.natural_language,
        ));
        rows.push(bug_check(model, params, decompositions));
    }
    rows
}
