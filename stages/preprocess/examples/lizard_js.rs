//! Lizard's JavaScript functions in each file given, as the port in
//! `icodegen_preprocess::covariates::lizard_js` finds them: one JSON line per file,
//! `{"path": ..., "failed": ..., "functions": [[name, start_line, end_line, ccn], ...]}`.
//! The reference suite compares them with lizard's own (`suite.py port`).

fn main() {
    for path in std::env::args().skip(1) {
        let Ok(source) = std::fs::read_to_string(&path) else {
            continue;
        };
        let analysis = icodegen_preprocess::covariates::lizard_js::analyze(&source);
        let functions: Vec<_> = analysis
            .functions
            .iter()
            .map(|f| serde_json::json!([f.name, f.start_line, f.end_line, f.cyclomatic_complexity]))
            .collect();
        println!(
            "{}",
            serde_json::json!({"path": path, "failed": analysis.failed, "functions": functions})
        );
    }
}
