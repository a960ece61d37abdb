//! The models section: the leaderboard (pooled, then per language), the comparison matrix, the
//! metrics and the paired comparisons.

use std::fmt::Write as _;

use icodegen_explain::escape;

use super::{Table, finding};
use crate::study::format::{estimate_ci, interval_method, level, number, outcome_name, p_value};
use crate::study::report::Report;
use crate::study::report::many::{Estimate, Leaderboard, Matrix, Verdict};

fn estimate(value: &Estimate) -> String {
    estimate_ci(Some(value.value), value.low, value.high)
}

fn leaderboard(board: &Leaderboard) -> String {
    let mut table = Table::new(&[
        ("rank [interval]", true),
        ("model", false),
        ("rows", true),
        ("cross-entropy [CI]", true),
        ("accuracy [CI]", true),
    ]);
    for standing in &board.standings {
        let certain = standing.rank_low == standing.rank_high;
        table.push(vec![
            format!(
                "<b>{}</b> <span class=\"{}\">[{}, {}]</span>",
                standing.rank,
                if certain { "muted" } else { "rankspan" },
                standing.rank_low,
                standing.rank_high
            ),
            escape(&standing.model_id),
            standing.n.to_string(),
            estimate(&standing.cross_entropy),
            standing.accuracy.as_ref().map_or("–".to_owned(), estimate),
        ]);
    }
    let mut html = table.html();
    html = html.replacen("<table>", "<table class=\"leaderboard\">", 1);
    html
}

fn matrix(matrix: &Matrix) -> String {
    let mut html = String::from(
        "<div class=\"scroll\"><table class=\"matrix\"><thead><tr><th>row − column</th>",
    );
    for (index, model) in matrix.models.iter().enumerate() {
        let _ = write!(
            html,
            "<th class=\"n\" title=\"{}\">{}</th>",
            escape(model),
            index + 1
        );
    }
    html.push_str("</tr></thead><tbody>");
    for (index, (model, cells)) in matrix.models.iter().zip(&matrix.cells).enumerate() {
        let _ = write!(html, "<tr><th>{} {}</th>", index + 1, escape(model));
        for cell in cells {
            match cell {
                None => html.push_str("<td class=\"n diag\">·</td>"),
                Some(cell) => {
                    let (class, mark) = match cell.verdict {
                        Verdict::Lower => ("lower", "▼"),
                        Verdict::Higher => ("higher", "▲"),
                        Verdict::Unclear => ("unclear", ""),
                        Verdict::NoInterval => ("unclear", "?"),
                    };
                    let _ = write!(
                        html,
                        "<td class=\"n {class}\" title=\"Holm p {}\">{}{mark}</td>",
                        p_value(cell.p_holm),
                        number(cell.difference)
                    );
                }
            }
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table></div>");
    html
}

pub fn section(page: &mut String, report: &Report) {
    let params = report.params;
    page.push_str("<section id=\"models\"><h2>Models</h2>");
    let _ = write!(
        page,
        "<p class=\"lead\">Mean over the original test rows with {} {} bootstrap intervals (B = {}). Cross-entropy is the mean next-token loss in nats; accuracy the share of tokens that are the model's top-1 prediction.</p>",
        level(params),
        interval_method(params),
        params.bootstrap.resamples
    );
    if let Some(pooled) = report
        .leaderboards
        .first()
        .filter(|board| board.standings.len() > 1)
    {
        let _ = write!(
            page,
            "<h3 id=\"leaderboard\">Leaderboard</h3><p class=\"lead\">Ranked by mean cross-entropy (1 = lowest loss). The rank interval holds the central {} of the ranks on {} bootstrap resamples of the rows: a wide interval means the order is uncertain.</p>",
            level(params),
            pooled.resamples
        );
        page.push_str(&finding(&pooled.finding));
        page.push_str(&leaderboard(pooled));
        let per_language: Vec<&Leaderboard> = report.leaderboards.iter().skip(1).collect();
        if !per_language.is_empty() {
            page.push_str("<h3>Leaderboard per language</h3><div class=\"grid\">");
            for board in per_language {
                let _ = write!(
                    page,
                    "<div class=\"card\" data-language=\"{0}\"><b>{0}</b>{1}{2}</div>",
                    escape(board.language.as_deref().unwrap_or("")),
                    finding(&board.finding),
                    leaderboard(board)
                );
            }
            page.push_str("</div>");
        }
    }
    let mut table = Table::new(&[
        ("model", false),
        ("metric", false),
        ("n", true),
        ("mean [CI]", true),
        ("median", true),
        ("note", false),
    ]);
    for row in &report.metrics {
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
    if let Some(comparisons) = &report.comparison_matrix {
        page.push_str("<h3 id=\"comparison-matrix\">Cross-entropy, model against model</h3><p class=\"lead\">Each cell: mean cross-entropy of the row model minus the column model's on the rows both scored (nats per token). ▼ (blue): the row model's loss is lower, its interval below 0; ▲ (orange): higher; no mark: the interval holds 0. Hover a cell for its Holm-adjusted Wilcoxon p-value.</p>");
        page.push_str(&matrix(comparisons));
    }
    if !report.comparisons.is_empty() {
        page.push_str("<details><summary>Paired comparisons between models on the same rows (every measure)</summary><p class=\"lead\">Difference a − b averaged over rows both models scored; Wilcoxon signed-rank p-values adjusted over the whole table (Holm, Benjamini-Hochberg).</p>");
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
        ])
        .choosable(&["Wilcoxon p", "BH", "d_z"]);
        for row in &report.comparisons {
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
        page.push_str("</details>");
    }
    page.push_str("</section>");
}
