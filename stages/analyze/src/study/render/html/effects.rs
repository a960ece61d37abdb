//! The sections on interventions (control vs treated, per language), causal effects,
//! refutations and the seed studies' checks.

use std::fmt::Write as _;

use anyhow::Result;
use icodegen_artifacts::schemas::study_paired;
use icodegen_explain::escape;

use super::{Table, badge, per_language, svg, verdict_badge};
use crate::study::format::{estimate_ci, level, number, outcome_name, p_value};
use crate::study::report::{EffectRow, Report};

/// The intervention effects per language (the causal claims' `language` subgroups).
fn language_effects(page: &mut String, report: &Report) -> Result<()> {
    if report.language_effects.is_empty() {
        return Ok(());
    }
    page.push_str("<h3 id=\"effects-by-language\">Effect on cross-entropy per language</h3><p class=\"lead\">The paired effect within each language's pairs (the original snippet's language), with its bootstrap interval; Holm and Benjamini-Hochberg adjusted across the languages of one model and intervention.</p>");
    let mut table = Table::new(&[
        ("model", false),
        ("intervention", false),
        ("language", false),
        ("pairs", true),
        ("treated − control [CI]", true),
        ("Holm", true),
        ("BH", true),
    ]);
    for effect in &report.language_effects {
        table.push(vec![
            escape(&effect.model_id),
            escape(&effect.intervention),
            escape(&effect.language),
            effect.n_pairs.to_string(),
            estimate_ci(Some(effect.difference), effect.low, effect.high),
            p_value(effect.p_holm),
            p_value(effect.p_bh),
        ]);
    }
    if let Some(forest) = &report.language_forest {
        let _ = write!(
            page,
            "<div id=\"forest-by-language\">{}</div>",
            svg(Some(forest))?
        );
    }
    page.push_str(
        &table
            .html()
            .replacen("<table>", "<table class=\"by-language\">", 1),
    );
    Ok(())
}

pub fn interventions(page: &mut String, report: &Report) -> Result<()> {
    page.push_str("<section id=\"interventions\"><h2>Interventions: control vs treated</h2><p class=\"lead\">Each pair shares a snippet: control and treated rows differ only by the intervention. The paired difference treated − control is bootstrapped over pairs; the Wilcoxon signed-rank p-values are adjusted over every row of the table (Holm, Benjamini-Hochberg); Cliff's delta and Cohen's d_z measure the size.</p><div class=\"grid\">");
    for chart in &report.intervention_charts {
        page.push_str(&svg(Some(chart))?);
    }
    page.push_str("</div>");
    per_language(
        page,
        report,
        "interventions",
        "Control vs treated",
        |view| view.intervention_charts.iter().collect(),
    )?;
    let paired_table = |rows: &[&study_paired::Row]| {
        let mut table = Table::new(&[
            ("model", false),
            ("intervention", false),
            ("outcome", false),
            ("pairs", true),
            ("control", true),
            ("treated", true),
            ("treated − control [CI]", true),
            ("Wilcoxon p", true),
            ("Holm", true),
            ("BH", true),
            ("Cliff's δ", true),
            ("d_z", true),
            ("note", false),
        ])
        .choosable(&["Wilcoxon p", "BH", "d_z"]);
        for row in rows {
            table.push(vec![
                escape(&row.model_id),
                escape(&row.intervention),
                escape(&outcome_name(&row.outcome)),
                row.n_pairs.to_string(),
                row.mean_control.map_or("–".into(), number),
                row.mean_treated.map_or("–".into(), number),
                estimate_ci(row.mean_difference, row.ci_low, row.ci_high),
                p_value(row.wilcoxon_p_value),
                p_value(row.p_holm),
                p_value(row.p_bh),
                row.cliffs_delta.map_or("–".into(), number),
                row.cohens_dz.map_or("–".into(), number),
                escape(row.note.as_deref().unwrap_or("")),
            ]);
        }
        table.html()
    };
    page.push_str(&paired_table(&report.paired_loss));
    language_effects(page, report)?;
    page.push_str("<details><summary>Concept scores, control vs treated</summary>");
    page.push_str(&paired_table(&report.paired_concepts));
    page.push_str("</details></section>");
    Ok(())
}

pub fn effects(page: &mut String, report: &Report) -> Result<()> {
    let params = report.params;
    let _ = write!(
        page,
        "<section id=\"effects\"><h2>Causal effects (back-door adjustment)</h2><p class=\"lead\">Graph Z → T, Z → Y, T → Y with confounders Z = {{{}}} (the token count is the model's own). For an intervention only the pair-level covariates, those its edit leaves unchanged in every pair, are adjusted for: the covariates the edit changes (the size of the code) are mediators, so an intervention's effect here is its total effect, decomposed into direct and indirect effects through size in the summary. Constant or collinear confounders are left out per estimate (see the table). Filled points: the adjusted effect ({}) with its {} interval; hollow grey points: the unadjusted difference; right: the plain correlation of T and Y. A strong correlation with an adjusted effect near 0 is a spurious association.</p>",
        escape(&report.confounders),
        params.primary_method.name(),
        level(params)
    );
    page.push_str(&svg(report.intervention_forest.as_ref())?);
    let effects_table = |rows: &[EffectRow]| {
        let mut table = Table::new(&[
            ("model", false),
            ("treatment", false),
            ("outcome", false),
            ("method", false),
            ("n", true),
            ("effect [CI]", true),
            ("p", true),
            ("Holm", true),
            ("BH", true),
            ("unadjusted [CI]", true),
            ("Pearson r (p)", true),
            ("Spearman ρ · Kendall τ", true),
            ("confounders", false),
            ("note", false),
        ])
        .choosable(&["p", "BH", "Pearson r (p)", "Spearman ρ · Kendall τ"]);
        for effect in rows {
            let row = effect.row;
            let dropped = if effect.dropped.is_empty() {
                String::new()
            } else {
                format!(
                    "<details><summary>{} left out</summary>{}</details>",
                    effect.dropped.len(),
                    escape(&effect.dropped.join(", "))
                )
            };
            table.push(vec![
                escape(&row.model_id),
                escape(&outcome_name(&row.treatment)),
                escape(&outcome_name(&row.outcome)),
                escape(&row.method),
                row.n.to_string(),
                if row.error.is_some() {
                    "not estimable".into()
                } else {
                    estimate_ci(row.effect, row.ci_low, row.ci_high)
                },
                p_value(row.p_value),
                p_value(row.p_holm),
                p_value(row.p_bh),
                estimate_ci(
                    row.unadjusted,
                    row.unadjusted_ci_low,
                    row.unadjusted_ci_high,
                ),
                row.pearson.map_or("–".into(), |r| {
                    format!("{} ({})", number(r), p_value(row.pearson_p))
                }),
                format!(
                    "{} · {}",
                    row.spearman.map_or("–".into(), number),
                    row.kendall.map_or("–".into(), number)
                ),
                format!("{} used{dropped}", effect.used),
                match (&row.error, &row.note) {
                    (Some(error), _) => format!(
                        "<details class=\"why\"><summary>why not</summary>{}</details>",
                        escape(error)
                    ),
                    (None, Some(note)) => escape(note),
                    (None, None) => String::new(),
                },
            ]);
        }
        table.html()
    };
    page.push_str("<h3>Every estimator on cross-entropy</h3>");
    page.push_str(&effects_table(&report.intervention_effects));
    page.push_str("<details><summary>Effects of the interventions on concept scores</summary>");
    page.push_str(&effects_table(&report.intervention_concept_effects));
    page.push_str("</details><h3>Concepts as continuous treatments (ASTrust)</h3><p class=\"lead\">T = a concept's per-row mean probability (rows where it occurs), Y = the row's cross-entropy. A negative effect: rows where the model predicts the concept better have a lower loss, beyond what size and structure explain.</p>");
    page.push_str(&svg(report.concept_forest.as_ref())?);
    page.push_str(&effects_table(&report.concept_effects));
    page.push_str("</section>");
    Ok(())
}

pub fn refutations(page: &mut String, report: &Report) {
    let params = report.params;
    let _ = write!(
        page,
        "<section id=\"refutations\"><h2>Refutations</h2><p class=\"lead\">Each {} effect on cross-entropy re-estimated on perturbed data ({} simulations each): a placebo (T permuted: the effect should vanish), a random common cause (an independent N(0,1) confounder: the effect should not move) and a data subset ({}% of rows: the effect should not move). A refuter passes when its p-value exceeds 0.05.</p>",
        params.primary_method.name(),
        params.simulations,
        params.subset_fraction * 100.0
    );
    let mut table = Table::new(&[
        ("model", false),
        ("treatment", false),
        ("refuter", false),
        ("effect", true),
        ("new effect (sd)", true),
        ("p", true),
        ("result", false),
        ("rule", false),
    ]);
    for row in report.refutations {
        table.push(vec![
            escape(&row.model_id),
            escape(&outcome_name(&row.treatment)),
            escape(&row.refuter),
            number(row.original_effect),
            row.new_effect.map_or("–".into(), |e| {
                format!(
                    "{} ({})",
                    number(e),
                    row.new_effect_sd.map_or("–".into(), number)
                )
            }),
            p_value(row.p_value),
            badge(row.passed),
            escape(row.error.as_deref().or(row.rule.as_deref()).unwrap_or("")),
        ]);
    }
    if report.refutations.is_empty() {
        page.push_str("<p class=\"muted\">No refutation ran (no effect had enough rows, or no refuter is configured).</p>");
    } else {
        page.push_str(&table.html());
    }
    page.push_str("</section>");
}

pub fn seed_checks(page: &mut String, report: &Report) {
    page.push_str("<section id=\"seed\"><h2>Do the seed studies' findings hold here?</h2><p class=\"lead\">The codegen/ASTrust studies found block tokens (brackets, colons, semicolons) easier than identifiers and natural language, and bug effects on the loss near zero once size is controlled. Block, identifier and natural-language scores pool the node types listed in the method section, weighted by tokens.</p>");
    let mut table = Table::new(&[
        ("model", false),
        ("check", false),
        ("first", true),
        ("second", true),
        ("difference [CI]", true),
        ("n", true),
        ("p", true),
        ("verdict", false),
        ("why", false),
    ]);
    for row in report.seed_checks {
        table.push(vec![
            escape(&row.model_id),
            escape(&row.claim),
            format!(
                "{}: {}",
                escape(&row.first_label),
                estimate_ci(row.first_value, row.first_ci_low, row.first_ci_high)
            ),
            format!(
                "{}: {}",
                escape(&row.second_label),
                estimate_ci(row.second_value, row.second_ci_low, row.second_ci_high)
            ),
            estimate_ci(
                row.difference,
                row.difference_ci_low,
                row.difference_ci_high,
            ),
            row.n.to_string(),
            p_value(row.p_value),
            verdict_badge(&row.verdict),
            escape(&row.explanation),
        ]);
    }
    page.push_str(&table.html());
    page.push_str("</section>");
}
