//! `index.html`: self-contained (inline CSS and SVG, no script, no network), one module per
//! section, drawn from the report model ([`crate::study::report::Report`]) without computing.

mod concepts;
mod effects;
mod explanations;
mod heat;
mod method;
mod models;
mod summary;

use std::fmt::Write as _;

use anyhow::Result;
use icodegen_artifacts::vocab::Verdict;
use icodegen_explain::escape;

use crate::study::charts::{self, RowChart};
use crate::study::report::Report;
use crate::study::report::languages::LanguageView;

const CSS: &str = "\
:root{--ink:#1b1f24;--muted:#5b6470;--line:#e3e6ea;--soft:#f6f7f9;--accent:#0072b2}\
*{box-sizing:border-box}\
body{margin:0;font:15px/1.55 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--ink);background:#fff}\
header{background:#0f2537;color:#fff;padding:28px 40px 22px}\
header h1{margin:0 0 6px;font-size:26px;font-weight:650}\
header p{margin:0;color:#c9d6e2;max-width:1100px}\
nav{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid var(--line);padding:8px 40px;font-size:14px}\
nav a{color:var(--accent);text-decoration:none;margin-right:18px;white-space:nowrap}\
nav .bound{color:#666;font-size:12px;margin-left:-12px}\
main{padding:8px 40px 60px;max-width:1400px}\
section{margin:30px 0 10px}\
h2{font-size:21px;border-bottom:2px solid var(--line);padding-bottom:4px;margin:0 0 12px}\
h3{font-size:16px;margin:20px 0 8px}\
.lead{color:var(--muted);max-width:1000px;margin:0 0 12px}\
.findings li{margin:4px 0;max-width:1100px}\
.findings h3{margin:16px 0 4px}\
.grid{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}\
.card{border:1px solid var(--line);border-radius:6px;padding:10px;background:#fff;max-width:100%;overflow-x:auto}\
svg.chart{max-width:100%;height:auto;display:block}\
.why{max-width:360px}.why summary{color:#9b1c1c}\
table{border-collapse:collapse;font-size:13px;margin:6px 0 14px}\
th,td{border-bottom:1px solid var(--line);padding:4px 9px;text-align:left;vertical-align:top}\
th{background:var(--soft);font-weight:600}\
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
tr:nth-child(even) td{background:#fbfbfc}\
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600}\
.pass{background:#dff3e6;color:#126b35}.fail{background:#fbe0e0;color:#9b1c1c}.na{background:#eceef1;color:#555}\
.holds{background:#dff3e6;color:#126b35}.partly{background:#fff2cc;color:#7a5a00}.not{background:#fbe0e0;color:#9b1c1c}\
.muted{color:var(--muted)}\
details{margin:8px 0}summary{cursor:pointer;color:var(--accent)}\
code{font-size:12.5px;background:var(--soft);padding:0 3px;border-radius:3px}\
.scroll{overflow-x:auto}\
td{overflow-wrap:anywhere;max-width:28em}\
table.matrix td.lower{background:#d6e9f5;color:#00466e}table.matrix td.higher{background:#fbe3cf;color:#7a3300}table.matrix td.diag{color:#bbb}\
table.matrix th{white-space:nowrap}.rankspan{color:#7a3300}\
svg.heat{max-width:100%;height:auto;display:block}\
.finding{max-width:1000px;margin:6px 0 10px;padding:5px 10px;border-left:3px solid var(--accent);background:var(--soft)}\
.card .finding{max-width:560px}\
h4{font-size:14px;margin:12px 0 6px}\
.model-summary{flex:1 1 520px;max-width:700px;font-size:14px}.model-summary ul{padding-left:18px;margin:4px 0}.model-summary h4{margin:8px 0 2px}\
";

pub(super) struct Table {
    head: Vec<&'static str>,
    numeric: Vec<bool>,
    rows: Vec<Vec<String>>,
    /// With a column chooser: the columns hidden until the reader shows them.
    hidden: Option<Vec<bool>>,
}

/// The most columns a chooser handles (the CSS has one rule per column).
const CHOOSABLE: usize = 16;

/// The column chooser's CSS: a table inside `.choose` hides column i while its box `.ki` is
/// unchecked (`:has`, no script).
fn chooser_css() -> String {
    let mut css = String::from(
        ".choose>details.columns{margin:4px 0}.choose>details.columns label{margin-right:12px;white-space:nowrap;font-size:13px}",
    );
    for column in 1..=CHOOSABLE {
        let _ = write!(
            css,
            ".choose:has(.k{column}:not(:checked)) :is(th,td):nth-child({column}){{display:none}}"
        );
    }
    css
}

impl Table {
    pub(super) fn new(columns: &[(&'static str, bool)]) -> Self {
        Self {
            head: columns.iter().map(|(name, _)| *name).collect(),
            numeric: columns.iter().map(|(_, numeric)| *numeric).collect(),
            rows: Vec::new(),
            hidden: None,
        }
    }

    /// Adds a column chooser (for wide tables) with `hidden` columns off at first, so that the
    /// table fits the page; the reader shows them with a checkbox.
    pub(super) fn choosable(mut self, hidden: &[&str]) -> Self {
        if self.head.len() <= CHOOSABLE {
            self.hidden = Some(self.head.iter().map(|head| hidden.contains(head)).collect());
        }
        self
    }

    /// Cells are HTML (callers escape text).
    pub(super) fn push(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub(super) fn html(&self) -> String {
        let mut html = String::new();
        if let Some(hidden) = &self.hidden {
            html.push_str(
                "<div class=\"choose\"><details class=\"columns\"><summary>Columns</summary>",
            );
            for (column, (head, hidden)) in self.head.iter().zip(hidden).enumerate() {
                let _ = write!(
                    html,
                    "<label><input type=\"checkbox\" class=\"k{}\"{}> {head}</label>",
                    column + 1,
                    if *hidden { "" } else { " checked" }
                );
            }
            html.push_str("</details>");
        }
        html.push_str("<div class=\"scroll\"><table><thead><tr>");
        for head in &self.head {
            let _ = write!(html, "<th>{head}</th>");
        }
        html.push_str("</tr></thead><tbody>");
        for row in &self.rows {
            html.push_str("<tr>");
            for (cell, numeric) in row.iter().zip(&self.numeric) {
                let _ = write!(
                    html,
                    "<td{}>{cell}</td>",
                    if *numeric { " class=\"n\"" } else { "" }
                );
            }
            html.push_str("</tr>");
        }
        html.push_str("</tbody></table></div>");
        if self.hidden.is_some() {
            html.push_str("</div>");
        }
        html
    }
}

pub(super) fn badge(passed: Option<bool>) -> String {
    match passed {
        Some(true) => "<span class=\"badge pass\">pass</span>".to_owned(),
        Some(false) => "<span class=\"badge fail\">fail</span>".to_owned(),
        None => "<span class=\"badge na\">not run</span>".to_owned(),
    }
}

pub(super) fn verdict_badge(verdict: &str) -> String {
    let class = match verdict.parse() {
        Ok(Verdict::Holds) => "holds",
        Ok(Verdict::PartlyHolds) => "partly",
        Ok(Verdict::DoesNotHold) => "not",
        _ => "na",
    };
    format!("<span class=\"badge {class}\">{}</span>", escape(verdict))
}

/// Markdown-ish emphasis of the summary sentences (`**x**`, `*x*`, `` `x` ``) as HTML. A code
/// span runs to the next fence of the same length and its content is literal (no emphasis
/// inside), as in CommonMark; a fence without a match is kept as text.
pub(super) fn inline_markup(text: &str) -> String {
    let escaped = escape(text);
    let mut out = String::new();
    let mut rest = escaped.as_str();
    let mut open = [false; 2];
    while let Some(position) = rest.find(['*', '`']) {
        out.push_str(&rest[..position]);
        rest = &rest[position..];
        if rest.starts_with('`') {
            let fence = rest.len() - rest.trim_start_matches('`').len();
            let after = &rest[fence..];
            // The closing fence: a run of exactly `fence` backticks.
            let mut search = 0;
            let mut closing = None;
            while let Some(found) = after[search..].find('`') {
                let start = search + found;
                let run = after[start..].len() - after[start..].trim_start_matches('`').len();
                if run == fence {
                    closing = Some(start);
                    break;
                }
                search = start + run;
            }
            match closing {
                Some(end) => {
                    let content = &after[..end];
                    let content = match content.strip_prefix(' ').and_then(|c| c.strip_suffix(' '))
                    {
                        Some(inner) if !inner.trim().is_empty() => inner,
                        _ => content,
                    };
                    let _ = write!(out, "<code>{content}</code>");
                    rest = &after[end + fence..];
                }
                None => {
                    out.push_str(&rest[..fence]);
                    rest = after;
                }
            }
            continue;
        }
        let (marker, tag, index) = if rest.starts_with("**") {
            ("**", "b", 0)
        } else {
            ("*", "i", 1)
        };
        let _ = write!(out, "<{}{tag}>", if open[index] { "/" } else { "" });
        open[index] = !open[index];
        rest = &rest[marker.len()..];
    }
    out.push_str(rest);
    out
}

/// A finding sentence above a table or chart; nothing when empty.
pub(super) fn finding(sentence: &str) -> String {
    if sentence.is_empty() {
        String::new()
    } else {
        format!("<p class=\"finding\">{}</p>", inline_markup(sentence))
    }
}

/// Each language's charts of one view (`data-view`), one block per language (`data-language`)
/// in an open `<details>`; nothing with a single language.
pub(super) fn per_language(
    page: &mut String,
    report: &Report,
    view: &str,
    title: &str,
    charts: impl Fn(&LanguageView) -> Vec<&RowChart>,
) -> Result<()> {
    if report
        .language_views
        .iter()
        .all(|language| charts(language).is_empty())
    {
        return Ok(());
    }
    let _ = write!(
        page,
        "<details open><summary>{title} per language</summary>"
    );
    for language in &report.language_views {
        let _ = write!(
            page,
            "<div class=\"language-view\" data-view=\"{view}\" data-language=\"{0}\"><h4>{0}</h4><div class=\"grid\">",
            escape(&language.language)
        );
        for chart in charts(language) {
            page.push_str(&svg(Some(chart))?);
        }
        page.push_str("</div></div>");
    }
    page.push_str("</details>");
    Ok(())
}

/// A chart in a card; nothing without a chart.
pub(super) fn svg(chart: Option<&RowChart>) -> Result<String> {
    match chart {
        Some(chart) => Ok(format!(
            "<div class=\"card\">{}</div>",
            charts::render(chart)?
        )),
        None => Ok(String::new()),
    }
}

/// `index.html`.
pub fn page(report: &Report) -> Result<String> {
    let mut page = String::with_capacity(1 << 20);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>icodegen study report</title><style>{CSS}{}</style></head><body>\
         <header><h1>Where and why the models fail: an icodegen study</h1><p>{}</p></header>\
         <nav><a href=\"#summary\">Summary</a><a href=\"#models\">Models</a><a href=\"#concepts\">Concepts</a>\
         <a href=\"#categories\">Distributions</a><a href=\"#interventions\">Interventions</a>\
         <a href=\"#effects\">Causal effects</a><a href=\"#refutations\">Refutations</a>\
         <a href=\"#seed\">Seed findings</a><a href=\"#explanations\">Explanations</a><a href=\"#method\">Method &amp; tables</a><a href=\"explorer.html\">Row explorer</a>{}</nav><main>",
        chooser_css(),
        escape(&report.summary.overview),
        report
            .explorer_note
            .as_ref()
            .map_or(String::new(), |note| format!(
                "<span class=\"bound\">({})</span>",
                escape(note)
            ))
    );
    summary::section(&mut page, report);
    models::section(&mut page, report);
    concepts::section(&mut page, report)?;
    effects::interventions(&mut page, report)?;
    effects::effects(&mut page, report)?;
    effects::refutations(&mut page, report);
    effects::seed_checks(&mut page, report);
    explanations::section(&mut page, report);
    method::section(&mut page, report);
    page.push_str("</main></body></html>\n");
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::format::code_span;

    #[test]
    fn node_types_in_code_spans_never_become_emphasis() {
        let sentence = format!(
            "**gru**: best {} (0.9), {} (0.8); worst {} and {}.",
            code_span("*"),
            code_span("**"),
            code_span("a`b"),
            code_span("`")
        );
        assert_eq!(
            inline_markup(&sentence),
            "<b>gru</b>: best <code>*</code> (0.9), <code>**</code> (0.8); worst <code>a`b</code> and <code>`</code>."
        );
        // Emphasis outside code still works, and an unmatched fence stays text.
        assert_eq!(inline_markup("*holds*: a ` b"), "<i>holds</i>: a ` b");
        assert_eq!(inline_markup("x < `y`"), "x &lt; <code>y</code>");
    }
}
