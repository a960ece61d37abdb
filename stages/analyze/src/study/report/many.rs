//! Many models at a glance: the leaderboard (cross-entropy and accuracy with intervals, rank
//! with its bootstrap interval), the concept x model heat map of AsC-Eval means in the
//! taxonomy's order, and the pairwise comparison of cross-entropy as a matrix.

use icodegen_artifacts::schemas::{study_comparisons, study_concepts, study_metrics};

use crate::study::Study;
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
                .any(|row| row.model_id == model.model_id && row.metric == "cross_entropy")
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
            let metric = |name: &str| {
                metrics
                    .iter()
                    .find(|row| row.model_id == model.model_id && row.metric == name)
            };
            let cross_entropy = metric("cross_entropy")?;
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
                accuracy: metric("accuracy").map(Estimate::of),
                rank: rank[index],
                rank_low,
                rank_high,
            })
        })
        .collect();
    standings.sort_by_key(|standing| standing.rank);
    Leaderboard {
        language: language.map(str::to_owned),
        standings,
        resamples,
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
    let cells = names
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
    Some(HeatMap {
        language: language.map(str::to_owned),
        kind: kind.to_owned(),
        concepts: names,
        models: models.iter().map(|model| (*model).to_owned()).collect(),
        cells,
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
        .filter(|row| row.measure == "cross_entropy")
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

    #[test]
    fn ranks_are_ascending_with_nan_last() {
        assert_eq!(ranks(&[0.5, 0.2, f64::NAN, 0.3]), vec![3, 1, 4, 2]);
    }
}
