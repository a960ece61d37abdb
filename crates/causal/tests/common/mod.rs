//! Helpers shared by the reference tests: the committed data set and the reference scripts.
#![allow(clippy::disallowed_methods)] // test code may use std::fs (clippy.toml)
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use icodegen_causal::Column;

/// Column `name` of `fixtures/causal_data.csv` (written by `scripts/reference/causal.py`).
pub fn fixture_column(name: &str) -> Column {
    let mut reader =
        csv::Reader::from_reader(include_str!("../fixtures/causal_data.csv").as_bytes());
    let index = reader
        .headers()
        .unwrap()
        .iter()
        .position(|header| header == name)
        .unwrap();
    let values = reader
        .records()
        .map(|record| record.unwrap()[index].parse::<f64>().unwrap())
        .collect();
    Column::new(name, values)
}

/// The Python of the reference tools (`ICODEGEN_REFERENCE_PYTHON`, else `.tools/bench-venv`),
/// when it can import every module of `imports` (comma-separated); `None`, saying the test is
/// skipped, otherwise.
pub fn reference_python(imports: &str) -> Option<PathBuf> {
    let python = reference_python_path();
    let probe = Command::new(&python)
        .args(["-c", &format!("import {imports}")])
        .output();
    if matches!(&probe, Ok(output) if output.status.success()) {
        Some(python)
    } else {
        eprintln!(
            "skipped: no Python with {imports} at {} (scripts/reference/setup.sh)",
            python.display()
        );
        None
    }
}

/// Runs `scripts/reference/SCRIPT` with `python` into a fresh temporary folder and returns it
/// (the caller removes it).
pub fn run_reference(python: &PathBuf, script: &str) -> PathBuf {
    let out = std::env::temp_dir().join(format!(
        "icodegen-{}-reference-{}",
        script.trim_end_matches(".py"),
        std::process::id()
    ));
    std::fs::create_dir_all(&out).unwrap();
    let run = Command::new(python)
        .arg(repository().join("scripts/reference").join(script))
        .env("ICODEGEN_REFERENCE_OUT", &out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    out
}

/// Where the reference tools' Python is: `ICODEGEN_REFERENCE_PYTHON`, else `.tools/bench-venv`.
pub fn reference_python_path() -> PathBuf {
    std::env::var_os("ICODEGEN_REFERENCE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repository().join(".tools/bench-venv/bin/python"))
}

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}
