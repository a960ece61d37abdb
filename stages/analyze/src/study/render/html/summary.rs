//! The summary section: the findings about several models (or none), one list per topic, then
//! one card per model with its own findings (its first two topics open, the others folded), so
//! that each model's summary fits a screen.

use std::fmt::Write as _;

use icodegen_explain::escape;

use super::inline_markup;
use crate::study::report::Report;

fn lists(page: &mut String, sections: &[(String, Vec<String>)], heading: &str) {
    for (title, lines) in sections {
        let _ = write!(page, "<{heading}>{}</{heading}><ul>", escape(title));
        for line in lines {
            let _ = write!(page, "<li>{}</li>", inline_markup(line));
        }
        page.push_str("</ul>");
    }
}

pub fn section(page: &mut String, report: &Report) {
    page.push_str("<section id=\"summary\" class=\"findings\"><h2>Summary</h2>");
    if report.summary_by_model.len() < 2 {
        lists(page, &report.summary.sections, "h3");
        page.push_str("</section>");
        return;
    }
    page.push_str("<h3>Per model</h3><div class=\"grid\">");
    for model in &report.summary_by_model {
        let _ = write!(
            page,
            "<div class=\"card model-summary\" data-model=\"{0}\"><b>{0}</b>",
            escape(&model.model_id)
        );
        // The first two topics (concepts, intervention effects) open, the rest folded, so
        // that the card fits a screen.
        let (open, folded) = model.sections.split_at(model.sections.len().min(2));
        lists(page, open, "h4");
        if !folded.is_empty() {
            let titles: Vec<String> = folded.iter().map(|(title, _)| escape(title)).collect();
            let _ = write!(page, "<details><summary>{}</summary>", titles.join(" · "));
            lists(page, folded, "h4");
            page.push_str("</details>");
        }
        page.push_str("</div>");
    }
    page.push_str("</div>");
    lists(page, &report.summary_shared, "h3");
    page.push_str("</section>");
}
