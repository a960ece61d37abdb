//! The summary section: the findings, one list per topic.

use std::fmt::Write as _;

use icodegen_explain::escape;

use super::inline_markup;
use crate::study::report::Report;

pub fn section(page: &mut String, report: &Report) {
    page.push_str("<section id=\"summary\" class=\"findings\"><h2>Summary</h2>");
    for (title, lines) in &report.summary.sections {
        let _ = write!(page, "<h3>{}</h3><ul>", escape(title));
        for line in lines {
            let _ = write!(page, "<li>{}</li>", inline_markup(line));
        }
        page.push_str("</ul>");
    }
    page.push_str("</section>");
}
