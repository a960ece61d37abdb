//! The method section: settings, seeds, the tables' files and the testbed.

use std::fmt::Write as _;

use icodegen_explain::escape;

use super::Table;
use crate::study::TABLES;
use crate::study::format::number;
use crate::study::report::Report;

pub fn section(page: &mut String, report: &Report) {
    page.push_str(
        "<section id=\"method\"><h2>Method, seeds and tables</h2><ul class=\"findings\">",
    );
    for bullet in &report.method {
        let _ = write!(page, "<li>{}</li>", escape(bullet));
    }
    page.push_str("</ul><h3>Results tables</h3><ul>");
    for name in TABLES {
        let _ = write!(
            page,
            "<li><code>{name}</code>: <a href=\"tables/{name}.csv\">CSV</a> · <a href=\"tables/{name}.parquet\">Parquet</a></li>"
        );
    }
    page.push_str("</ul>");
    if let Some(testbed) = &report.testbed {
        let _ = write!(
            page,
            "<h3>Testbed</h3><p class=\"lead\">{} testbed rows, {} distinct code texts, {} original rows; covariates of {} snippets. Distribution of the main confounders over the snippets:</p>",
            testbed.testbed_rows, testbed.distinct_rows, testbed.original_rows, testbed.snippets
        );
        let mut table = Table::new(&[
            ("confounder", false),
            ("min", true),
            ("q1", true),
            ("median", true),
            ("q3", true),
            ("max", true),
        ]);
        for spread in &testbed.spreads {
            let mut cells = vec![spread.name.to_owned()];
            cells.extend(spread.five.iter().map(|value| number(*value)));
            table.push(cells);
        }
        page.push_str(&table.html());
    }
    page.push_str("</section>");
}
