//! Control vs treated per (model, intervention, outcome): the paired bootstrap of the mean
//! difference, the Wilcoxon signed-rank test (adjusted over the whole table, Holm and BH),
//! Cliff's delta and Cohen's d_z. Also the outcomes every analysis shares.

use icodegen_artifacts::schemas::study_paired;
use icodegen_artifacts::vocab::Metric;

use super::inputs::{Model, Pair, Testbed};
use super::numbers::{adjust_family, compare_paired, derive_seed, seed_column};
use super::params::StudyParams;

/// What is measured on a row for one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    CrossEntropy,
    Accuracy,
    /// A concept's mean probability in the row (absent concept = no value).
    Concept {
        kind: String,
        concept: String,
    },
}

impl Outcome {
    /// `cross_entropy`, `accuracy` or `<kind>:<concept>`.
    pub fn label(&self) -> String {
        match self {
            Outcome::CrossEntropy => Metric::CrossEntropy.as_str().to_owned(),
            Outcome::Accuracy => Metric::Accuracy.as_str().to_owned(),
            Outcome::Concept { kind, concept } => format!("{kind}:{concept}"),
        }
    }

    pub fn value(&self, model: &Model, row: usize) -> Option<f64> {
        match self {
            Outcome::CrossEntropy => model.cross_entropy(row),
            Outcome::Accuracy => model.accuracy(row),
            Outcome::Concept { kind, concept } => model
                .concept(kind, concept)
                .and_then(|values| values[row])
                .map(|(probability, _)| probability),
        }
    }
}

/// Cross-entropy, then every concept of `params.concept_kind` the model has.
pub fn outcomes(model: &Model, params: &StudyParams) -> Vec<Outcome> {
    std::iter::once(Outcome::CrossEntropy)
        .chain(
            model
                .concepts
                .keys()
                .filter(|(kind, _)| *kind == params.concept_kind)
                .map(|(kind, concept)| Outcome::Concept {
                    kind: kind.clone(),
                    concept: concept.clone(),
                }),
        )
        .collect()
}

/// The (control, treated) values of the pairs where both rows have the outcome.
pub fn paired_values(model: &Model, pairs: &[Pair], outcome: &Outcome) -> (Vec<f64>, Vec<f64>) {
    pairs
        .iter()
        .filter_map(|pair| {
            Some((
                outcome.value(model, pair.control)?,
                outcome.value(model, pair.treated)?,
            ))
        })
        .unzip()
}

/// The control-vs-treated table over every model, intervention and outcome.
pub fn paired_tests(
    models: &[Model],
    testbed: &Testbed,
    params: &StudyParams,
) -> Vec<study_paired::Row> {
    let mut rows = Vec::new();
    for model in models {
        for (intervention, pairs) in &testbed.interventions {
            for outcome in outcomes(model, params) {
                let (control, treated) = paired_values(model, pairs, &outcome);
                if control.is_empty() {
                    continue;
                }
                let label = outcome.label();
                let seed = derive_seed(
                    params.seed,
                    &["paired", &model.model_id, intervention, &label],
                );
                let comparison =
                    compare_paired(&treated, &control, &params.bootstrap, seed, params.min_rows);
                let cliffs = (control.len() >= 2)
                    .then(|| {
                        icodegen_stats::cliffs_delta(
                            &treated,
                            &control,
                            params.bootstrap.confidence_level,
                        )
                        .ok()
                    })
                    .flatten();
                let mut notes: Vec<String> = comparison.difference.note.iter().cloned().collect();
                notes.extend(comparison.notes.iter().cloned());
                rows.push(study_paired::Row {
                    model_id: model.model_id.clone(),
                    intervention: intervention.clone(),
                    outcome: label,
                    n_pairs: control.len() as i64,
                    mean_control: comparison.mean_second,
                    mean_treated: comparison.mean_first,
                    mean_difference: Some(comparison.difference.mean),
                    standard_error: comparison.difference.standard_error,
                    ci_low: comparison.difference.ci.map(|ci| ci.0),
                    ci_high: comparison.difference.ci.map(|ci| ci.1),
                    bootstrap_p_value: comparison.difference.p_value,
                    wilcoxon_statistic: comparison.wilcoxon.map(|test| test.statistic),
                    wilcoxon_p_value: comparison.wilcoxon.map(|test| test.p_value),
                    p_holm: None,
                    p_bh: None,
                    cliffs_delta: cliffs.map(|effect| effect.estimate),
                    cliffs_delta_ci_low: cliffs.map(|effect| effect.ci.lower),
                    cliffs_delta_ci_high: cliffs.map(|effect| effect.ci.upper),
                    cohens_dz: comparison.cohens_dz.map(|effect| effect.estimate),
                    cohens_dz_ci_low: comparison.cohens_dz.map(|effect| effect.ci.lower),
                    cohens_dz_ci_high: comparison.cohens_dz.map(|effect| effect.ci.upper),
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
