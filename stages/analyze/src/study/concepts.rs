//! Per model: cross-entropy and accuracy with intervals, and AsC-Eval per concept with
//! intervals, quartiles and the seed's reading, all over the original test rows. A concept
//! absent from a row contributes nothing (never 0).

use icodegen_artifacts::schemas::{study_concepts, study_metrics};
use icodegen_artifacts::vocab::{self, CiMethod, Reading};

use super::inputs::{Model, Testbed};
use super::numbers::{derive_seed, five_numbers, mean_interval, seed_column};
use super::params::StudyParams;

fn method_name(params: &StudyParams) -> String {
    match params.bootstrap.method {
        icodegen_stats::IntervalMethod::Bca => CiMethod::Bca.as_str().to_owned(),
        icodegen_stats::IntervalMethod::Percentile => CiMethod::Percentile.as_str().to_owned(),
    }
}

/// A per-row value of a model.
type Metric = fn(&Model, usize) -> Option<f64>;

/// Cross-entropy and accuracy of one model over the original rows.
pub fn metrics(model: &Model, testbed: &Testbed, params: &StudyParams) -> Vec<study_metrics::Row> {
    metrics_on(model, &testbed.base, params, None)
}

/// Cross-entropy and accuracy of one model over `base` (rows of one language: `scope` names it
/// and enters the seeds; `None`: the pooled original rows, as in the `metrics` table).
pub fn metrics_on(
    model: &Model,
    base: &[usize],
    params: &StudyParams,
    scope: Option<&str>,
) -> Vec<study_metrics::Row> {
    let metrics: [(&str, Metric); 2] = [
        (vocab::Metric::CrossEntropy.as_str(), Model::cross_entropy),
        (vocab::Metric::Accuracy.as_str(), Model::accuracy),
    ];
    metrics
        .into_iter()
        .filter_map(|(metric, value)| {
            let values: Vec<f64> = base.iter().filter_map(|&row| value(model, row)).collect();
            if values.is_empty() {
                return None;
            }
            let mut labels = vec!["metric", model.model_id.as_str(), metric];
            labels.extend(scope);
            let seed = derive_seed(params.seed, &labels);
            let interval = mean_interval(&values, &params.bootstrap, seed, params.min_rows, "rows");
            let [_, _, median, _, _] = five_numbers(&values);
            let mut note = interval.note.clone();
            if model.skipped > 0 {
                let skipped = format!(
                    "{} rows not scored ({})",
                    model.skipped,
                    model.skip_reason.as_deref().unwrap_or("no reason given")
                );
                note = Some(note.map_or(skipped.clone(), |note| format!("{note}; {skipped}")));
            }
            Some(study_metrics::Row {
                model_id: model.model_id.clone(),
                metric: metric.to_owned(),
                n: values.len() as i64,
                mean: interval.mean,
                median,
                std_dev: (values.len() > 1).then(|| icodegen_stats::descriptive::std_dev(&values)),
                standard_error: interval.standard_error,
                ci_low: interval.ci.map(|ci| ci.0),
                ci_high: interval.ci.map(|ci| ci.1),
                ci_method: method_name(params),
                resamples: params.bootstrap.resamples as i64,
                seed: seed_column(seed),
                note,
            })
        })
        .collect()
}

/// The seed's reading of a mean probability.
pub fn reading(mean: f64, params: &StudyParams) -> &'static str {
    if mean >= params.confident {
        Reading::Confident.as_str()
    } else if mean < params.poor {
        Reading::Erroneous.as_str()
    } else {
        Reading::Uncertain.as_str()
    }
}

/// AsC-Eval of every concept of one model over the original rows, ranked within each kind.
pub fn concepts(
    model: &Model,
    testbed: &Testbed,
    params: &StudyParams,
) -> Vec<study_concepts::Row> {
    concepts_on(model, &testbed.base, params, None)
}

/// AsC-Eval of every concept of one model over `base` (`scope` as in [`metrics_on`]).
pub fn concepts_on(
    model: &Model,
    base: &[usize],
    params: &StudyParams,
    scope: Option<&str>,
) -> Vec<study_concepts::Row> {
    let mut rows = Vec::new();
    for ((kind, concept), values) in &model.concepts {
        let present: Vec<(f64, i32)> = base.iter().filter_map(|&row| values[row]).collect();
        if present.is_empty() {
            continue;
        }
        let probabilities: Vec<f64> = present
            .iter()
            .map(|(probability, _)| *probability)
            .collect();
        let mut labels = vec!["concept", model.model_id.as_str(), kind, concept];
        labels.extend(scope);
        let seed = derive_seed(params.seed, &labels);
        let interval = mean_interval(
            &probabilities,
            &params.bootstrap,
            seed,
            params.min_rows,
            "rows",
        );
        let [min, q1, median, q3, max] = five_numbers(&probabilities);
        rows.push(study_concepts::Row {
            model_id: model.model_id.clone(),
            concept_kind: kind.clone(),
            concept: concept.clone(),
            n_rows: present.len() as i64,
            n_tokens: present.iter().map(|(_, tokens)| i64::from(*tokens)).sum(),
            mean: interval.mean,
            median,
            q1,
            q3,
            min,
            max,
            standard_error: interval.standard_error,
            ci_low: interval.ci.map(|ci| ci.0),
            ci_high: interval.ci.map(|ci| ci.1),
            ci_method: method_name(params),
            resamples: params.bootstrap.resamples as i64,
            seed: seed_column(seed),
            reading: reading(interval.mean, params).to_owned(),
            rank: None,
            note: interval.note,
        });
    }
    rank(&mut rows);
    rows
}

/// Ranks concepts with an interval by mean within (model, kind): 1 = best.
fn rank(rows: &mut [study_concepts::Row]) {
    let mut order: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].ci_low.is_some())
        .collect();
    order.sort_by(|&a, &b| {
        (rows[a].model_id.as_str(), rows[a].concept_kind.as_str())
            .cmp(&(rows[b].model_id.as_str(), rows[b].concept_kind.as_str()))
            .then(rows[b].mean.total_cmp(&rows[a].mean))
    });
    let mut previous: Option<(String, String)> = None;
    let mut position = 0;
    for index in order {
        let key = (
            rows[index].model_id.clone(),
            rows[index].concept_kind.clone(),
        );
        if previous.as_ref() != Some(&key) {
            position = 0;
            previous = Some(key);
        }
        position += 1;
        rows[index].rank = Some(position);
    }
}
