//! The local explanations: the best and worst original rows of each model, rendered by
//! `icodegen-explain` into fragments the report embeds.

use anyhow::Result;
use icodegen_explain::{Explanation, RenderOptions};

use crate::study::inputs::{Model, Testbed};
use crate::study::params::StudyParams;
use crate::study::tokens::TokenTables;

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
