//! The concepts section (heat map, per-model charts, node types, token-level table) and the
//! distributions section.

use std::fmt::Write as _;

use anyhow::Result;
use icodegen_explain::escape;

use super::{Table, finding, heat, per_language, svg};
use icodegen_artifacts::schemas::study_tokens;

use crate::study::format::number;
use crate::study::report::Report;

pub fn section(page: &mut String, report: &Report) -> Result<()> {
    let params = report.params;
    let _ = write!(
        page,
        "<section id=\"concepts\"><h2>Concepts (AsC-Eval)</h2><p class=\"lead\">For each row and concept, the mean probability the model gave the tokens bound to that concept; then the mean over the rows where the concept occurs (a concept absent from a row is skipped, never counted as 0), with its interval. The seed's reading: ≥ {} confident, &lt; {} erroneous. Hollow points have fewer than {} rows and no interval.</p>",
        params.confident, params.poor, params.min_rows
    );
    if let Some((pooled, per_language)) = report.heat_maps.split_first() {
        page.push_str("<h3 id=\"heat-map\">Every model at a glance</h3><p class=\"lead\">AsC-Eval mean per concept (rows, in the taxonomy's order) and model (columns); the number in each cell is the mean, hover for its interval and rows.</p>");
        page.push_str(&finding(&pooled.finding));
        let _ = write!(page, "<div class=\"card\">{}</div>", heat::svg(pooled));
        if !per_language.is_empty() {
            page.push_str("<details open><summary>Per language (each language's categories come from its taxonomy)</summary><div class=\"grid\">");
            for map in per_language {
                let _ = write!(
                    page,
                    "<div class=\"card\" data-language=\"{0}\"><b>{0}</b>{1}{2}</div>",
                    escape(map.language.as_deref().unwrap_or("")),
                    finding(&map.finding),
                    heat::svg(map)
                );
            }
            page.push_str("</div></details>");
        }
    }
    page.push_str("<div class=\"grid\">");
    for chart in &report.concept_charts {
        page.push_str(&svg(Some(chart))?);
    }
    page.push_str("</div>");
    per_language(page, report, "concepts", "Concepts", |view| {
        view.concept_charts.iter().collect()
    })?;
    page.push_str("<details><summary>Node types</summary><div class=\"grid\">");
    for chart in &report.node_charts {
        page.push_str(&svg(Some(chart))?);
    }
    page.push_str("</div>");
    per_language(page, report, "node-types", "Node types", |view| {
        view.node_charts.iter().collect()
    })?;
    page.push_str("</details>");
    if !report.tokens.is_empty() {
        page.push_str("<details><summary>Token-level view (every token counted once, from tags.parquet with SQL)</summary>");
        if !report.language_tokens.is_empty() {
            page.push_str("<h4>All languages (pooled)</h4>");
        }
        page.push_str(&token_table(&report.tokens));
        for (language, rows) in &report.language_tokens {
            let _ = write!(
                page,
                "<div class=\"language-view\" data-view=\"tokens\" data-language=\"{0}\"><h4>{0}</h4>{1}</div>",
                escape(language),
                token_table(rows)
            );
        }
        page.push_str("</details>");
    }
    page.push_str("</section>");

    page.push_str("<section id=\"categories\"><h2>Distributions by concept</h2><p class=\"lead\">Per-row mean probabilities: how much a concept's score varies from snippet to snippet, per model.</p>");
    page.push_str(&svg(report.distributions.as_ref())?);
    per_language(page, report, "distributions", "Distributions", |view| {
        view.distributions.iter().collect()
    })?;
    page.push_str("</section>");
    Ok(())
}

/// The token-level table (pooled or one language's).
fn token_table(rows: &[&study_tokens::Row]) -> String {
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
    for row in rows {
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
    table.html()
}
