//! Helpers shared by the infer tests: testbeds, running icodegen-infer as a user does, and
//! checking its errors.
#![allow(clippy::disallowed_methods)] // test code may use std::fs (clippy.toml)
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use icodegen_artifacts::schemas::{scores, testbed, tokens};
use icodegen_artifacts::{content_id, read_all, write_all};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn write_testbed(dir: &Path, codes: &[&str]) -> PathBuf {
    let rows: Vec<testbed::Row> = codes
        .iter()
        .enumerate()
        .map(|(index, code)| testbed::Row {
            row_id: content_id("python", code),
            pair_id: format!("pair{index}"),
            intervention: "none".to_owned(),
            treatment: 0,
            snippet_id: content_id("python", code),
            language: "python".to_owned(),
            code: (*code).to_owned(),
            n_bytes: code.len() as i64,
            ..Default::default()
        })
        .collect();
    let path = dir.join("testbed.parquet");
    write_all(&path, "preprocess", &rows).unwrap();
    path
}

pub struct Run {
    pub output: Output,
    pub tokens: PathBuf,
    pub scores: PathBuf,
}

impl Run {
    pub fn ok(&self) -> &Self {
        assert!(
            self.output.status.success(),
            "icodegen-infer failed: {}",
            String::from_utf8_lossy(&self.output.stderr)
        );
        self
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    pub fn tokens(&self) -> Vec<tokens::Row> {
        read_all(&self.tokens).unwrap()
    }

    pub fn scores(&self) -> Vec<scores::Row> {
        read_all(&self.scores).unwrap()
    }
}

/// Runs icodegen-infer in `dir` with the `infer` params `params` (YAML body lines).
pub fn infer(dir: &Path, model: &Path, testbed: &Path, params: &str, extra: &[&str]) -> Run {
    infer_with(
        dir,
        model,
        testbed,
        params,
        extra,
        &dir.join("out/tokens.parquet"),
        Some(&dir.join("out/scores.parquet")),
    )
}

/// The icodegen-infer command line of the tests (model id `tiny`, one thread), without
/// `--device`.
pub fn infer_command(
    params: &Path,
    model: &Path,
    testbed: &Path,
    tokens: &Path,
    scores: Option<&Path>,
) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_icodegen-infer"));
    command
        .arg("--params")
        .arg(params)
        .arg("--model")
        .arg(model)
        .args(["--model-id", "tiny", "--threads", "1"])
        .arg("--testbed")
        .arg(testbed)
        .arg("--tokens")
        .arg(tokens);
    if let Some(scores) = scores {
        command.arg("--scores").arg(scores);
    }
    command
}

/// Like [`infer`], writing to the given paths (no `--scores` when `scores` is `None`).
pub fn infer_with(
    dir: &Path,
    model: &Path,
    testbed: &Path,
    params: &str,
    extra: &[&str],
    tokens: &Path,
    scores: Option<&Path>,
) -> Run {
    let params_path = dir.join("params.yaml");
    std::fs::write(&params_path, format!("infer:\n{params}")).unwrap();
    let mut command = infer_command(&params_path, model, testbed, tokens, scores);
    if !extra.contains(&"--device") {
        command.args(["--device", "cpu"]);
    }
    let output = command.args(extra).output().unwrap();
    Run {
        output,
        tokens: tokens.to_path_buf(),
        scores: scores.map_or_else(|| dir.join("no-scores.parquet"), Path::to_path_buf),
    }
}

pub fn rows_of<'a>(tokens: &'a [tokens::Row], code: &str) -> Vec<&'a tokens::Row> {
    let id = content_id("python", code);
    let mut rows: Vec<&tokens::Row> = tokens.iter().filter(|row| row.row_id == id).collect();
    rows.sort_by_key(|row| row.position);
    rows
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

pub fn assert_usage_error(run: &Run, needles: &[&str]) {
    assert_error(run, 2, needles);
}

/// The run failed with exit `code`, its message has every needle, and nothing was written.
pub fn assert_error(run: &Run, code: i32, needles: &[&str]) {
    assert_eq!(run.output.status.code(), Some(code), "{}", run.stderr());
    for needle in needles {
        assert!(
            run.stderr().contains(needle),
            "stderr lacks {needle:?}: {}",
            run.stderr()
        );
    }
    assert!(
        !run.tokens.exists() && !run.scores.exists(),
        "no output after an error"
    );
    assert!(!run.stderr().contains("panicked"), "{}", run.stderr());
}
