//! Many models at a glance: the leaderboard (cross-entropy and accuracy with intervals, rank
//! with its bootstrap interval), the concept x model heat map of AsC-Eval means in the
//! taxonomy's order, and the pairwise comparison of cross-entropy as a matrix.

use icodegen_artifacts::schemas::{study_comparisons, study_concepts, study_metrics};
use icodegen_artifacts::vocab::Metric;

use crate::study::Study;
use crate::study::format::{code_span, estimate_ci, level, number};
use crate::study::numbers::derive_seed;

/// The order of the categories in the taxonomies (`data/taxonomies/*.yaml`: the ASTrust
/// categories, then docode's Java categories); a category not listed follows, by name.
pub const TAXONOMY_ORDER: [&str; 20] = [
    "iterative",
    "scope",
    "decision",
    "operator",
    "functional",
    "natural_language",
    "data_structures",
    "concurrency",
    "exceptions",
    "oop",
    "declarations",
    "testing",
    "types",
    "blocks",
    "tests",
    "conditionals",
    "loops",
    "operators",
    "datatypes",
    "extra",
];

/// An estimate with its interval (none: too few rows).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub value: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

impl Estimate {
    fn of(row: &study_metrics::Row) -> Self {
        Self {
            value: row.mean,
            low: row.ci_low,
            high: row.ci_high,
        }
    }
}

/// One model on the leaderboard.
#[derive(Debug, Clone)]
pub struct Standing {
    pub model_id: String,
    pub n: i64,
    pub cross_entropy: Estimate,
    pub accuracy: Option<Estimate>,
    /// 1 = lowest mean cross-entropy.
    pub rank: usize,
    /// The central ranks of the bootstrap resamples at the confidence level.
    pub rank_low: usize,
    pub rank_high: usize,
}

/// The leaderboard of one scope (all languages, or one).
#[derive(Debug, Clone)]
pub struct Leaderboard {
    /// `None`: every language pooled.
    pub language: Option<String>,
    /// Best first.
    pub standings: Vec<Standing>,
    pub resamples: usize,
    /// The board in one sentence (who ranks first, and how certain that is); Markdown-ish
    /// emphasis (`**x**`).
    pub finding: String,
}

/// `In python, ` or nothing.
fn scope(language: Option<&str>) -> String {
    language.map_or(String::new(), |language| format!("In {language}, "))
}

/// `a`, `a and b`, `a, b and c`.
fn listing(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [head @ .., last] => format!("{} and {last}", head.join(", ")),
    }
}

/// The leaderboard's sentence: the first model, its cross-entropy, and whether its rank is
/// certain (its rank interval is [1, 1] and no other model's reaches 1).
fn leaderboard_finding(
    standings: &[Standing],
    resamples: usize,
    language: Option<&str>,
    level: &str,
) -> String {
    let Some(first) = standings.first() else {
        return String::new();
    };
    let scope = scope(language);
    let loss = estimate_ci(
        Some(first.cross_entropy.value),
        first.cross_entropy.low,
        first.cross_entropy.high,
    );
    if standings.len() == 1 {
        return format!(
            "{scope}**{}** is the only model ranked (cross-entropy {loss} nats).",
            first.model_id
        );
    }
    let lead = format!(
        "{scope}**{}** ranks first on cross-entropy ({loss} nats)",
        first.model_id
    );
    if resamples == 0 {
        return format!("{lead}; too few rows to resample, so its rank has no interval.");
    }
    let contenders: Vec<String> = standings[1..]
        .iter()
        .filter(|standing| standing.rank_low == 1)
        .map(|standing| format!("**{}**", standing.model_id))
        .collect();
    let certain = standings
        .iter()
        .filter(|standing| standing.rank_low == standing.rank_high)
        .count();
    let rest = format!(
        "{certain} of {} models have a certain rank",
        standings.len()
    );
    if first.rank_high == 1 && contenders.is_empty() {
        format!(
            "{lead}; its rank is certain (first in the central {level} of {resamples} resamples of the rows); {rest}."
        )
    } else {
        let others = if contenders.is_empty() {
            String::new()
        } else {
            format!(", and {} could also rank first", listing(&contenders))
        };
        format!(
            "{lead}, but its rank is uncertain: it ranks {} to {} in the central {level} of {resamples} resamples{others}; {rest}.",
            first.rank_low, first.rank_high
        )
    }
}

/// A small seeded generator (splitmix64) for the rank bootstrap's row indices.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }
}

/// Ranks of `means` (ascending, 1 = lowest; NaN last, ties by position).
fn ranks(means: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..means.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (means[a], means[b]);
        match (x.is_nan(), y.is_nan()) {
            (false, false) => x.total_cmp(&y),
            (a_nan, b_nan) => a_nan.cmp(&b_nan),
        }
        .then(a.cmp(&b))
    });
    let mut rank = vec![0; means.len()];
    for (position, index) in order.into_iter().enumerate() {
        rank[index] = position + 1;
    }
    rank
}

/// The leaderboard over the original rows of `language` (all when `None`), from that scope's
/// metrics rows; ranks by mean cross-entropy, their interval from resampling the rows.
pub fn leaderboard(
    study: &Study,
    language: Option<&str>,
    metrics: &[study_metrics::Row],
) -> Leaderboard {
    let params = &study.params;
    let rows: Vec<usize> = study
        .testbed
        .base
        .iter()
        .copied()
        .filter(|&row| language.is_none_or(|language| study.testbed.rows[row].language == language))
        .collect();
    let models: Vec<_> = study
        .models
        .iter()
        .filter(|model| {
            metrics
                .iter()
                .any(|row| row.model_id == model.model_id && row.metric == Metric::CrossEntropy)
        })
        .collect();
    // values[m][i]: model m's cross-entropy on rows[i].
    let values: Vec<Vec<Option<f64>>> = models
        .iter()
        .map(|model| rows.iter().map(|&row| model.cross_entropy(row)).collect())
        .collect();
    let mean_over = |picks: &mut dyn Iterator<Item = usize>, model: usize| {
        let (mut sum, mut count) = (0.0, 0usize);
        for index in picks {
            if let Some(value) = values[model][index] {
                sum += value;
                count += 1;
            }
        }
        if count == 0 {
            f64::NAN
        } else {
            sum / count as f64
        }
    };
    let observed: Vec<f64> = (0..models.len())
        .map(|model| mean_over(&mut (0..rows.len()), model))
        .collect();
    let rank = ranks(&observed);
    let resamples = if models.len() > 1 && rows.len() >= params.min_rows {
        params.bootstrap.resamples
    } else {
        0
    };
    let mut seen: Vec<Vec<usize>> = vec![Vec::with_capacity(resamples); models.len()];
    let mut random = SplitMix(derive_seed(
        params.seed,
        &["leaderboard", language.unwrap_or("")],
    ));
    let mut picks = vec![0usize; rows.len()];
    for _ in 0..resamples {
        for pick in picks.iter_mut() {
            *pick = random.below(rows.len());
        }
        let means: Vec<f64> = (0..models.len())
            .map(|model| mean_over(&mut picks.iter().copied(), model))
            .collect();
        for (model, rank) in ranks(&means).into_iter().enumerate() {
            seen[model].push(rank);
        }
    }
    let alpha = 1.0 - params.bootstrap.confidence_level;
    let mut standings: Vec<Standing> = models
        .iter()
        .enumerate()
        .filter_map(|(index, model)| {
            let metric = |name: Metric| {
                metrics
                    .iter()
                    .find(|row| row.model_id == model.model_id && row.metric == name)
            };
            let cross_entropy = metric(Metric::CrossEntropy)?;
            let (rank_low, rank_high) = if seen[index].is_empty() {
                (rank[index], rank[index])
            } else {
                let mut sorted = seen[index].clone();
                sorted.sort_unstable();
                let at = |q: f64| {
                    let position = (q * (sorted.len() - 1) as f64).round() as usize;
                    sorted[position.min(sorted.len() - 1)]
                };
                (at(alpha / 2.0), at(1.0 - alpha / 2.0))
            };
            Some(Standing {
                model_id: model.model_id.clone(),
                n: cross_entropy.n,
                cross_entropy: Estimate::of(cross_entropy),
                accuracy: metric(Metric::Accuracy).map(Estimate::of),
                rank: rank[index],
                rank_low,
                rank_high,
            })
        })
        .collect();
    standings.sort_by_key(|standing| standing.rank);
    let finding = leaderboard_finding(&standings, resamples, language, &level(params));
    Leaderboard {
        language: language.map(str::to_owned),
        standings,
        resamples,
        finding,
    }
}

/// One cell of the heat map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeatCell {
    pub mean: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub n_rows: i64,
}

/// Concept x model AsC-Eval means of one scope.
#[derive(Debug, Clone)]
pub struct HeatMap {
    pub language: Option<String>,
    pub kind: String,
    /// In the taxonomy's order (node types: by name).
    pub concepts: Vec<String>,
    pub models: Vec<String>,
    /// `cells[concept][model]`; `None`: the concept never occurs in that model's rows.
    pub cells: Vec<Vec<Option<HeatCell>>>,
    /// The map in one sentence: the concept most models predict best, the one most predict
    /// worst, with the range of their means over the models.
    pub finding: String,
}

/// The heat map's sentence (see [`HeatMap::finding`]).
fn heat_finding(
    kind: &str,
    concepts: &[String],
    cells: &[Vec<Option<HeatCell>>],
    n_models: usize,
    language: Option<&str>,
) -> String {
    if concepts.len() < 2 || n_models == 0 {
        return String::new();
    }
    // For each model, its best and worst concept.
    let mut best = vec![0usize; concepts.len()];
    let mut worst = vec![0usize; concepts.len()];
    let mut models = 0;
    for model in 0..n_models {
        let means: Vec<(usize, f64)> = cells
            .iter()
            .enumerate()
            .filter_map(|(concept, row)| row[model].map(|cell| (concept, cell.mean)))
            .collect();
        let top = means.iter().max_by(|a, b| a.1.total_cmp(&b.1));
        let bottom = means.iter().min_by(|a, b| a.1.total_cmp(&b.1));
        if let (Some(top), Some(bottom)) = (top, bottom) {
            best[top.0] += 1;
            worst[bottom.0] += 1;
            models += 1;
        }
    }
    if models == 0 {
        return String::new();
    }
    let most = |counts: &[usize]| {
        counts
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))
            .map_or(0, |(concept, _)| concept)
    };
    let range = |concept: usize| {
        let means: Vec<f64> = cells[concept]
            .iter()
            .flatten()
            .map(|cell| cell.mean)
            .collect();
        let low = means.iter().copied().fold(f64::INFINITY, f64::min);
        let high = means.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if means.len() < 2 || number(low) == number(high) {
            format!("mean p {}", number(low))
        } else {
            format!("mean p {} to {}", number(low), number(high))
        }
    };
    let (top, bottom) = (most(&best), most(&worst));
    let of = |count: usize| {
        if count == models {
            format!("all {models} models")
        } else {
            format!("{count} of {models} models")
        }
    };
    format!(
        "{}{} is the best-predicted {} for {} ({}); {} the worst for {} ({}).",
        scope(language),
        code_span(&concepts[top]),
        kind.replace('_', " "),
        of(best[top]),
        range(top),
        code_span(&concepts[bottom]),
        of(worst[bottom]),
        range(bottom)
    )
}

/// The position of a concept in the taxonomy's order.
fn taxonomy_position(concept: &str) -> (usize, String) {
    let position = TAXONOMY_ORDER
        .iter()
        .position(|name| *name == concept)
        .unwrap_or(TAXONOMY_ORDER.len());
    (position, concept.to_owned())
}

/// The heat map of `kind` from concept rows (pooled or one language's); `None` without rows.
pub fn heat_map(
    models: &[&str],
    kind: &str,
    concepts: &[study_concepts::Row],
    language: Option<&str>,
) -> Option<HeatMap> {
    let mut names: Vec<String> = concepts
        .iter()
        .filter(|row| row.concept_kind == kind)
        .map(|row| row.concept.clone())
        .collect();
    names.sort_by_key(|name| taxonomy_position(name));
    names.dedup();
    if names.is_empty() {
        return None;
    }
    let cells: Vec<Vec<Option<HeatCell>>> = names
        .iter()
        .map(|concept| {
            models
                .iter()
                .map(|model| {
                    concepts
                        .iter()
                        .find(|row| {
                            row.model_id == *model
                                && row.concept_kind == kind
                                && &row.concept == concept
                        })
                        .map(|row| HeatCell {
                            mean: row.mean,
                            low: row.ci_low,
                            high: row.ci_high,
                            n_rows: row.n_rows,
                        })
                })
                .collect()
        })
        .collect();
    let finding = heat_finding(kind, &names, &cells, models.len(), language);
    Some(HeatMap {
        language: language.map(str::to_owned),
        kind: kind.to_owned(),
        concepts: names,
        models: models.iter().map(|model| (*model).to_owned()).collect(),
        cells,
        finding,
    })
}

/// How one model compares with another on cross-entropy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The row model has the lower loss (interval below 0).
    Lower,
    /// The row model has the higher loss.
    Higher,
    /// The interval holds 0.
    Unclear,
    /// Too few rows for an interval.
    NoInterval,
}

/// One cell of the comparison matrix: row model − column model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatrixCell {
    pub difference: f64,
    pub p_holm: Option<f64>,
    pub verdict: Verdict,
}

/// The pairwise comparisons of cross-entropy, as a matrix (row − column).
#[derive(Debug, Clone)]
pub struct Matrix {
    pub models: Vec<String>,
    pub cells: Vec<Vec<Option<MatrixCell>>>,
}

/// The matrix of the `comparisons` table's cross-entropy rows; `None` below two models.
pub fn comparison_matrix(
    models: &[&str],
    comparisons: &[study_comparisons::Row],
) -> Option<Matrix> {
    let rows: Vec<&study_comparisons::Row> = comparisons
        .iter()
        .filter(|row| row.measure == Metric::CrossEntropy)
        .collect();
    if models.len() < 2 || rows.is_empty() {
        return None;
    }
    let cell = |a: &str, b: &str| -> Option<MatrixCell> {
        let (row, sign) = rows.iter().find_map(|row| {
            if row.model_a == a && row.model_b == b {
                Some((*row, 1.0))
            } else if row.model_a == b && row.model_b == a {
                Some((*row, -1.0))
            } else {
                None
            }
        })?;
        let difference = sign * row.mean_difference?;
        let interval = row.ci_low.zip(row.ci_high).map(|(low, high)| {
            if sign > 0.0 {
                (low, high)
            } else {
                (-high, -low)
            }
        });
        let verdict = match interval {
            None => Verdict::NoInterval,
            Some((_, high)) if high < 0.0 => Verdict::Lower,
            Some((low, _)) if low > 0.0 => Verdict::Higher,
            Some(_) => Verdict::Unclear,
        };
        Some(MatrixCell {
            difference,
            p_holm: row.p_holm,
            verdict,
        })
    };
    Some(Matrix {
        models: models.iter().map(|model| (*model).to_owned()).collect(),
        cells: models
            .iter()
            .map(|a| {
                models
                    .iter()
                    .map(|b| if a == b { None } else { cell(a, b) })
                    .collect()
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use icodegen_artifacts::vocab::ConceptKind;

    #[test]
    fn ranks_are_ascending_with_nan_last() {
        assert_eq!(ranks(&[0.5, 0.2, f64::NAN, 0.3]), vec![3, 1, 4, 2]);
    }

    fn standing(model: &str, rank: usize, low: usize, high: usize) -> Standing {
        Standing {
            model_id: model.to_owned(),
            n: 100,
            cross_entropy: Estimate {
                value: rank as f64,
                low: Some(rank as f64 - 0.1),
                high: Some(rank as f64 + 0.1),
            },
            accuracy: None,
            rank,
            rank_low: low,
            rank_high: high,
        }
    }

    #[test]
    fn the_leaderboard_sentence_says_whether_the_first_rank_is_certain() {
        let certain = [
            standing("gpt", 1, 1, 1),
            standing("gru", 2, 2, 3),
            standing("lstm", 3, 2, 3),
        ];
        assert_eq!(
            leaderboard_finding(&certain, 200, None, "95%"),
            "**gpt** ranks first on cross-entropy (1.000 [0.900, 1.100] nats); its rank is certain (first in the central 95% of 200 resamples of the rows); 1 of 3 models have a certain rank."
        );
        let uncertain = [
            standing("gpt", 1, 1, 2),
            standing("gru", 2, 1, 2),
            standing("lstm", 3, 3, 3),
        ];
        assert_eq!(
            leaderboard_finding(&uncertain, 200, Some("java"), "95%"),
            "In java, **gpt** ranks first on cross-entropy (1.000 [0.900, 1.100] nats), but its rank is uncertain: it ranks 1 to 2 in the central 95% of 200 resamples, and **gru** could also rank first; 1 of 3 models have a certain rank."
        );
    }

    #[test]
    fn the_heat_map_sentence_names_the_best_and_worst_concepts_of_most_models() {
        let cell = |mean: f64| {
            Some(HeatCell {
                mean,
                low: None,
                high: None,
                n_rows: 10,
            })
        };
        let concepts = vec!["scope".to_owned(), "*".to_owned(), "loops".to_owned()];
        // Models in columns: scope is best for both, `*` worst for the first, loops for the second.
        let cells = vec![
            vec![cell(0.9), cell(0.8)],
            vec![cell(0.1), cell(0.5)],
            vec![cell(0.2), cell(0.3)],
        ];
        assert_eq!(
            heat_finding(ConceptKind::NodeType.as_str(), &concepts, &cells, 2, None),
            "`scope` is the best-predicted node type for all 2 models (mean p 0.800 to 0.900); `*` the worst for 1 of 2 models (mean p 0.100 to 0.500)."
        );
    }
}
