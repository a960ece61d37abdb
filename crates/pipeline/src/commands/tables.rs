//! The Parquet artifacts of the current lock as SQL tables, for `icodegen query`:
//! - one table per Parquet out, named from the stage and the file stem
//!   (`infer@gru` writing `.../tokens.parquet` gives `infer_gru_tokens`), including Parquet files
//!   inside folder outs;
//! - one table per artifact kind (from the `icodegen.kind` metadata) over every file of that kind
//!   (`tokens` = all models' tokens.parquet), unless a per-file table already has that name.
//!
//! This module only finds files and names tables; the SQL engine lives in `icodegen-sql`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::Result;
use crate::keys::hash::is_temporary;
use crate::keys::lock::LockFile;
use crate::session::Session;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    pub files: Vec<PathBuf>,
    /// The artifact kind, when all files share one.
    pub kind: Option<String>,
    /// Where it comes from (`stage `x`, out `y``, or `every `tokens` artifact`).
    pub source: String,
}

/// A SQL identifier: lowercase letters, digits and `_`, not starting with a digit.
pub fn identifier(text: &str) -> String {
    let mut name = String::new();
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.ends_with('_') {
            name.push('_');
        }
    }
    let name = name.trim_matches('_').to_owned();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("t_{name}")
    } else {
        name
    }
}

fn stem(relative: &str) -> &str {
    let name = relative.rsplit('/').next().unwrap_or(relative);
    name.strip_suffix(".parquet").unwrap_or(name)
}

/// The tables over the Parquet outs recorded in `lock`. Outs missing from the workspace are
/// skipped with a warning.
pub fn artifact_tables(session: &Session, lock: &LockFile) -> Result<Vec<Table>> {
    // (stage, relative name inside the out, absolute path)
    let mut files: Vec<(String, String, PathBuf)> = Vec::new();
    for (stage, record) in &lock.stages {
        for out in record.all_outs() {
            let path = session.abs(&out.path);
            if out.files.is_some() {
                if !path.is_dir() {
                    session.console.warn(format!(
                        "out `{}` of `{stage}` is missing; run `icodegen checkout`",
                        out.path
                    ));
                    continue;
                }
                for entry in walkdir::WalkDir::new(&path)
                    .sort_by_file_name()
                    .into_iter()
                    .flatten()
                {
                    let name = entry.file_name().to_string_lossy();
                    if entry.file_type().is_file()
                        && name.ends_with(".parquet")
                        && !is_temporary(&name)
                    {
                        let relative = entry.path().strip_prefix(&path).unwrap_or(entry.path());
                        files.push((
                            stage.clone(),
                            relative.to_string_lossy().into_owned(),
                            entry.path().to_path_buf(),
                        ));
                    }
                }
            } else if out.path.ends_with(".parquet") {
                if !path.is_file() {
                    session.console.warn(format!(
                        "out `{}` of `{stage}` is missing; run `icodegen checkout`",
                        out.path
                    ));
                    continue;
                }
                files.push((stage.clone(), out.path.clone(), path));
            }
        }
    }
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    let mut by_kind: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for (stage, relative, path) in &files {
        let same_stem = files
            .iter()
            .filter(|(other_stage, other, _)| other_stage == stage && stem(other) == stem(relative))
            .count();
        let local = if same_stem > 1 {
            relative
                .strip_suffix(".parquet")
                .unwrap_or(relative)
                .to_owned()
        } else {
            stem(relative).to_owned()
        };
        let name = identifier(&format!("{stage}_{local}"));
        let kind = icodegen_artifacts::read_metadata(path)
            .ok()
            .and_then(|metadata| metadata.kind);
        if let Some(kind) = &kind {
            by_kind.entry(kind.clone()).or_default().push(path.clone());
        }
        tables.insert(
            name.clone(),
            Table {
                name,
                files: vec![path.clone()],
                kind,
                source: format!("stage `{stage}`, `{relative}`"),
            },
        );
    }
    for (kind, paths) in by_kind {
        let name = identifier(&kind);
        if tables.contains_key(&name) {
            continue;
        }
        let count = paths.len();
        tables.insert(
            name.clone(),
            Table {
                name,
                files: paths,
                kind: Some(kind.clone()),
                source: format!(
                    "every `{kind}` artifact ({count} file{})",
                    if count == 1 { "" } else { "s" }
                ),
            },
        );
    }
    Ok(tables.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_sql_identifiers() {
        assert_eq!(identifier("infer@gru_tokens"), "infer_gru_tokens");
        assert_eq!(identifier("Train@GPT-2/x.y"), "train_gpt_2_x_y");
        assert_eq!(identifier("2x"), "t_2x");
        assert_eq!(stem("a/b/tokens.parquet"), "tokens");
    }
}
