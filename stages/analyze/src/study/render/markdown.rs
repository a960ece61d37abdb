//! `summary.md`: the findings in sentences, the leaderboard and each model's concepts.

use std::fmt::Write as _;

use icodegen_artifacts::vocab::TokenConceptKind;

use crate::study::compare::with_ci;
use crate::study::format::{estimate_ci, number};
use crate::study::report::Report;
use crate::study::report::many::Estimate;

fn estimate(value: &Estimate) -> String {
    estimate_ci(Some(value.value), value.low, value.high)
}

/// `summary.md`.
pub fn summary(report: &Report) -> String {
    let summary = &report.summary;
    let mut text = String::from("# icodegen study: summary\n\n");
    let _ = writeln!(text, "{}\n", summary.overview);
    if let Some(note) = &report.explorer_note {
        let _ = writeln!(text, "Row explorer (`explorer.html`): {note}.\n");
    }
    for (title, lines) in &summary.sections {
        let _ = writeln!(text, "## {title}\n");
        for line in lines {
            let _ = writeln!(text, "- {line}");
        }
        text.push('\n');
    }
    for board in &report.leaderboards {
        if board.standings.len() < 2 {
            continue;
        }
        let _ = writeln!(
            text,
            "## Leaderboard{}\n",
            board
                .language
                .as_ref()
                .map_or(String::new(), |language| format!(" ({language})"))
        );
        if !board.finding.is_empty() {
            let _ = writeln!(text, "{}\n", board.finding);
        }
        let _ = writeln!(
            text,
            "| rank [interval] | model | rows | cross-entropy [CI] | accuracy [CI] |"
        );
        let _ = writeln!(text, "| ---: | --- | ---: | ---: | ---: |");
        for standing in &board.standings {
            let _ = writeln!(
                text,
                "| {} [{}, {}] | {} | {} | {} | {} |",
                standing.rank,
                standing.rank_low,
                standing.rank_high,
                standing.model_id,
                standing.n,
                estimate(&standing.cross_entropy),
                standing.accuracy.as_ref().map_or("–".to_owned(), estimate)
            );
        }
        text.push('\n');
    }
    let heat: Vec<&str> = report
        .heat_maps
        .iter()
        .map(|map| map.finding.as_str())
        .filter(|finding| !finding.is_empty())
        .collect();
    if !heat.is_empty() {
        let _ = writeln!(text, "## Concepts at a glance\n");
        for finding in heat {
            let _ = writeln!(text, "- {finding}");
        }
        text.push('\n');
    }
    let _ = writeln!(text, "## Concepts per model\n");
    let _ = writeln!(
        text,
        "| model | {} | rows | mean [CI] | reading |",
        report.params.concept_kind
    );
    let _ = writeln!(text, "| --- | --- | ---: | ---: | --- |");
    for list in &report.concept_lists {
        for row in &list.rows {
            let _ = writeln!(
                text,
                "| {} | {} | {} | {} | {} |",
                row.model_id,
                row.concept.replace('|', "\\|"),
                row.n_rows,
                with_ci(row.mean, row.ci_low.zip(row.ci_high)),
                row.reading
            );
        }
    }
    if !report.language_tokens.is_empty() {
        // Every token of the rows, pooled then per language (the categories are in index.html).
        let _ = writeln!(
            text,
            "\n## Token level per language (all tokens)\n\n| model | language | tokens | rows | mean p | share ≥ confident | share < poor | cross-entropy |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        let all = TokenConceptKind::All.as_str();
        let pooled = report.tokens.iter().map(|row| ("all languages", *row));
        let languages = report
            .language_tokens
            .iter()
            .flat_map(|(language, rows)| rows.iter().map(|row| (*language, *row)));
        for (language, row) in pooled.chain(languages) {
            if row.concept_kind != all {
                continue;
            }
            let _ = writeln!(
                text,
                "| {} | {language} | {} | {} | {} | {} | {} | {} |",
                row.model_id,
                row.n_tokens,
                row.n_rows,
                number(row.mean_prob),
                number(row.share_confident),
                number(row.share_erroneous),
                number(row.cross_entropy)
            );
        }
    }
    if !report.language_effects.is_empty() {
        let _ = writeln!(
            text,
            "\n## Intervention effects per language\n\n| model | intervention | language | pairs | treated − control [CI] | Holm p |\n| --- | --- | --- | ---: | ---: | ---: |"
        );
        for effect in &report.language_effects {
            let _ = writeln!(
                text,
                "| {} | {} | {} | {} | {} | {} |",
                effect.model_id,
                effect.intervention,
                effect.language,
                effect.n_pairs,
                estimate_ci(Some(effect.difference), effect.low, effect.high),
                effect.p_holm.map_or("–".to_owned(), number)
            );
        }
    }
    let _ = writeln!(
        text,
        "\nEvery results table is under `tables/` as Parquet and CSV; `index.html` has the charts."
    );
    text
}
