//! The report page (`index.html`, `summary.md`) of the explorer test's 10-model, 2-language
//! study: issue 16's parts 3, 4 and 6 (leaderboards, heat maps, comparison matrix, per-language
//! views, findings, column choosers, the summary per model).

use std::path::Path;

use super::MODELS;

/// Parts 3 and 4 of issue 16 on the 10-model, 2-language report: the leaderboard (pooled and per
/// language), the heat map with one cell per (category, model), the comparison matrix and the
/// per-language effects.
pub fn many_models_and_languages(report: &Path) {
    use icodegen_artifacts::schemas::study_concepts;
    let html = fs_err::read_to_string(report.join("index.html")).unwrap();
    let tables: Vec<&str> = html
        .split("<table class=\"leaderboard\">")
        .skip(1)
        .map(|rest| &rest[..rest.find("</table>").unwrap()])
        .collect();
    assert_eq!(
        tables.len(),
        3,
        "a pooled and a per-language leaderboard each"
    );
    for table in &tables {
        assert_eq!(table.matches("<tr>").count(), 11, "a header and 10 models");
    }
    assert!(html.contains("id=\"leaderboard\""));
    let concepts: Vec<study_concepts::Row> =
        icodegen_artifacts::read_all(report.join("tables/concepts.parquet")).unwrap();
    let categories: std::collections::BTreeSet<&str> = concepts
        .iter()
        .filter(|row| row.concept_kind == "category")
        .map(|row| row.concept.as_str())
        .collect();
    let heat: Vec<&str> = html
        .split("<svg class=\"heat\"")
        .skip(1)
        .map(|rest| &rest[..rest.find("</svg>").unwrap()])
        .collect();
    assert_eq!(heat.len(), 3, "a pooled and a per-language heat map each");
    assert_eq!(
        heat[0].matches("class=\"cell").count(),
        categories.len() * 10,
        "one cell per category and model"
    );
    // Values are printed in the cells, in the taxonomy's order (scope before natural_language).
    assert!(heat[0].find(">scope<").unwrap() < heat[0].find(">natural_language<").unwrap());
    let matrix = &html[html
        .find("<table class=\"matrix\">")
        .expect("comparison matrix")..];
    let matrix = &matrix[..matrix.find("</table>").unwrap()];
    assert_eq!(matrix.matches("<tr>").count(), 11);
    assert_eq!(matrix.matches("class=\"n diag\"").count(), 10);
    for language in ["java", "python"] {
        assert!(
            html.contains(&format!("data-language=\"{language}\"")),
            "{language} views"
        );
    }
    let by_language = &html[html
        .find("<table class=\"by-language\">")
        .expect("per-language effects")..];
    let by_language = &by_language[..by_language.find("</table>").unwrap()];
    assert!(by_language.contains("<td>java</td>") && by_language.contains("<td>python</td>"));
    let summary = fs_err::read_to_string(report.join("summary.md")).unwrap();
    assert!(summary.contains("## Leaderboard\n") && summary.contains("## Leaderboard (python)"));
    readable(&html, &summary);
    per_language_charts(&html);
    per_language_tokens(report, &html, &summary);
}

/// Part 4 of issue 16 for the token-level table: beside the pooled table, one per language
/// (the rows' language through the testbed), whose token counts add up to the pooled ones, in
/// `index.html` and (all tokens only) in `summary.md`.
fn per_language_tokens(report: &Path, html: &str, summary: &str) {
    use icodegen_artifacts::schemas::study_tokens;
    let pooled: Vec<study_tokens::Row> =
        icodegen_artifacts::read_all(report.join("tables/tokens.parquet")).unwrap();
    let start = html
        .find("<h4>All languages (pooled)</h4>")
        .expect("the pooled token table, labelled");
    let section = &html[start..];
    let section = &section[..section.find("</details>").unwrap()];
    // The number in the first numeric cell after `cells` (the tokens column).
    let tokens_after = |block: &str, cells: &str| -> Option<i64> {
        let rest = &block[block.find(cells)? + cells.len()..];
        let rest = rest.strip_prefix("<td class=\"n\">")?;
        rest[..rest.find('<')?].parse().ok()
    };
    let mut blocks = Vec::new();
    for language in ["java", "python"] {
        let marker = format!(
            "<div class=\"language-view\" data-view=\"tokens\" data-language=\"{language}\"><h4>{language}</h4>"
        );
        let at = section
            .find(&marker)
            .unwrap_or_else(|| panic!("no token table for {language}"));
        let block = &section[at..];
        blocks.push(&block[..block.find("</table>").unwrap()]);
    }
    let mut models = 0;
    for row in pooled.iter().filter(|row| row.concept_kind == "all") {
        let cells = format!("<td>{}</td><td>all</td><td>all</td>", row.model_id);
        assert_eq!(tokens_after(section, &cells), Some(row.n_tokens), "{cells}");
        let split: Vec<i64> = blocks
            .iter()
            .map(|block| tokens_after(block, &cells).expect("every model in every language"))
            .collect();
        assert!(split.iter().all(|&n| n > 0), "{split:?}");
        assert_eq!(split.iter().sum::<i64>(), row.n_tokens, "{}", row.model_id);
        for language in ["java", "python"] {
            assert!(
                summary.contains(&format!("| {} | {language} | ", row.model_id)),
                "summary.md: {} in {language}",
                row.model_id
            );
        }
        models += 1;
    }
    assert_eq!(models, MODELS, "every model has tags");
    assert!(summary.contains("## Token level per language (all tokens)"));
}

/// Part 6 of issue 16: a one-sentence finding above each leaderboard and heat map (in the HTML
/// and in summary.md), and column choosers that keep the wide tables within the page.
fn readable(html: &str, summary: &str) {
    let findings: Vec<&str> = html
        .split("<p class=\"finding\">")
        .skip(1)
        .map(|rest| &rest[..rest.find("</p>").unwrap()])
        .collect();
    assert_eq!(
        findings.len(),
        6,
        "3 leaderboards and 3 heat maps: {findings:?}"
    );
    // The fixture's models get worse with their number (p falls by 0.02 per model).
    assert!(
        findings[0].starts_with("<b>model00</b> ranks first on cross-entropy ("),
        "{}",
        findings[0]
    );
    assert!(findings[0].contains("rank is"), "{}", findings[0]);
    assert!(
        findings[1].starts_with("In java, <b>model00</b> ranks first"),
        "{}",
        findings[1]
    );
    let heat = findings
        .iter()
        .find(|finding| finding.contains("best-predicted category"))
        .unwrap_or_else(|| panic!("no heat map finding: {findings:?}"));
    // Punctuation (scope) has the highest probabilities in the fixture, comments the lowest.
    assert!(heat.starts_with("<code>"), "{heat}");
    assert!(
        summary.contains("ranks first on cross-entropy"),
        "{summary}"
    );
    assert!(summary.contains("## Concepts at a glance\n"), "{summary}");
    // The summary: one card per model with its own findings, short enough for a screen.
    let summary_html = &html[html.find("<section id=\"summary\"").unwrap()..];
    let summary_html = &summary_html[..summary_html.find("</section>").unwrap()];
    let cards: Vec<&str> = summary_html
        .split("<div class=\"card model-summary\"")
        .skip(1)
        .map(|card| &card[..card.find("</div>").unwrap()])
        .collect();
    assert_eq!(cards.len(), MODELS, "one summary card per model");
    for (m, card) in cards.iter().enumerate() {
        assert!(
            card.starts_with(&format!(" data-model=\"model{m:02}\">")),
            "{card}"
        );
        assert!(card.contains("cross-entropy"), "{card}");
        // Its text (tags removed) fits a screen: a 700-pixel card at 14 px holds about 100
        // characters a line, and a 1400 x 900 screen about 30 lines below the headings; the
        // topics after the first two are folded.
        let card = &card[..card.find("<details").unwrap_or(card.len())];
        let mut text = String::new();
        let mut in_tag = false;
        for c in card.chars() {
            match c {
                '<' => in_tag = true,
                '>' => {
                    in_tag = false;
                    text.push(' ');
                }
                _ if !in_tag => text.push(c),
                _ => {}
            }
        }
        let characters = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .count();
        assert!(
            characters <= 3000,
            "model{m:02}'s summary has {characters} characters: {text}"
        );
    }
    // Wide tables: a chooser whose hidden columns are unchecked, and a CSS rule hiding them.
    let choosers = html.matches("<div class=\"choose\">").count();
    assert!(choosers >= 3, "{choosers} column choosers");
    assert!(html.contains("<input type=\"checkbox\" class=\"k8\"> Wilcoxon p</label>"));
    assert!(html.contains("<input type=\"checkbox\" class=\"k1\" checked> model</label>"));
    assert!(html.contains(".choose:has(.k8:not(:checked)) :is(th,td):nth-child(8){display:none}"));
}

/// Part 4 of issue 16: every chart has a per-language version beside the pooled one: each
/// model's concept charts, the distributions, the control vs treated box plots, and the
/// per-language effects as a forest (node-type charts too, but the fixture has no node-type
/// concepts, so neither the pooled nor the per-language ones are drawn).
fn per_language_charts(html: &str) {
    for (view, charts) in [
        ("concepts", MODELS),
        ("distributions", 1),
        ("interventions", MODELS),
    ] {
        for language in ["java", "python"] {
            let marker = format!(
                "<div class=\"language-view\" data-view=\"{view}\" data-language=\"{language}\">"
            );
            let start = html
                .find(&marker)
                .unwrap_or_else(|| panic!("no {view} charts for {language}"));
            let block = &html[start + marker.len()..];
            let end = [
                block.find("<div class=\"language-view\""),
                block.find("</details>"),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap();
            let block = &block[..end];
            assert_eq!(
                block.matches("<svg").count(),
                charts,
                "{view} charts for {language}"
            );
            assert!(
                block.contains(&format!("({language})")),
                "{view} titles name {language}"
            );
        }
    }
    assert!(
        !html.contains("data-view=\"node-types\""),
        "no empty blocks"
    );
    let forest = &html[html
        .find("<div id=\"forest-by-language\">")
        .expect("the per-language forest")..];
    let forest = &forest[..forest.find("</svg>").unwrap()];
    for language in ["java", "python"] {
        assert!(
            forest.contains(language),
            "the forest's legend names {language}"
        );
    }
}
