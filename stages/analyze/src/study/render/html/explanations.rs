//! The local explanations section: fragments rendered by `icodegen-explain`.

use std::fmt::Write as _;

use icodegen_explain::escape;

use crate::study::format::number;
use crate::study::report::Report;

pub fn section(page: &mut String, report: &Report) {
    page.push_str("<section id=\"explanations\"><h2>Local explanations</h2><p class=\"lead\">The best and worst original rows of each model by cross-entropy: the AST with each node coloured by the mean probability of the tokens it collects, and the code with each scored token coloured the same way (hover for numbers).</p>");
    if report.explanations.is_empty() {
        page.push_str("<p class=\"muted\">No row qualified (see <code>explanations</code> in the params).</p>");
    }
    for block in report.explanations {
        match &block.html {
            Ok(fragment) => page.push_str(fragment),
            Err(reason) if block.which == "none" => {
                let _ = write!(
                    page,
                    "<p class=\"muted\">{}: no local explanation: {}.</p>",
                    escape(&block.model_id),
                    escape(reason)
                );
            }
            Err(reason) => {
                let _ = write!(
                    page,
                    "<p class=\"muted\">{} {} row <code>{}</code> ({} nats/token): no explanation: {}</p>",
                    escape(&block.model_id),
                    block.which,
                    escape(&block.row_id[..block.row_id.len().min(12)]),
                    number(block.cross_entropy),
                    escape(reason)
                );
            }
        }
    }
    page.push_str("</section>");
}
