//! The functions lizard lists for each file given (`.rb`: Ruby, anything else: JavaScript), as
//! the ports in `icodegen_preprocess::covariates::{lizard_js, lizard_ruby}` find them: one JSON
//! line per file, `{"path": ..., "failed": ..., "functions": [[name, start_line, end_line,
//! ccn], ...]}`. The reference suite compares them with lizard's own (`suite.py port`).
#![allow(clippy::disallowed_methods)] // test code may use std::fs (clippy.toml)

fn main() {
    use icodegen_preprocess::covariates::{lizard_js, lizard_ruby};
    for path in std::env::args().skip(1) {
        let Ok(source) = std::fs::read_to_string(&path) else {
            continue;
        };
        let functions = if path.ends_with(".rb") {
            lizard_ruby::functions(&source)
        } else {
            let analysis = lizard_js::analyze(&source);
            (!analysis.failed).then(|| {
                analysis
                    .functions
                    .into_iter()
                    .map(|f| (f.name, f.start_line, f.end_line, f.cyclomatic_complexity))
                    .collect()
            })
        };
        let listed: Vec<_> = functions
            .iter()
            .flatten()
            .map(|(name, start, end, ccn)| serde_json::json!([name, start, end, ccn]))
            .collect();
        println!(
            "{}",
            serde_json::json!({"path": path, "failed": functions.is_none(), "functions": listed})
        );
    }
}
