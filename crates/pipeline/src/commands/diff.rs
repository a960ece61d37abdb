//! `icodegen params diff` and `icodegen metrics diff`: values at two git revisions of the
//! workspace (default: HEAD and the working tree), read through `git show REV:./path` (no
//! checkout). Metrics files are found through the lock of each revision and read by hash from
//! the local cache (the working tree's from the file itself).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::error::{PipelineError, Result};
use crate::keys::lock::LockFile;
use crate::session::Session;

/// How to print a diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffFormat {
    Table,
    Json,
    Markdown,
}

/// One changed (or, with `--all`, unchanged) value.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub file: String,
    pub key: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

impl Row {
    fn delta(&self) -> Option<f64> {
        match (&self.old, &self.new) {
            (Some(Value::Number(a)), Some(Value::Number(b))) => Some(b.as_f64()? - a.as_f64()?),
            _ => None,
        }
    }
}

/// A file at a revision (`None`: the working tree); `None` when it does not exist there.
fn read_at(root: &Path, rev: Option<&str>, path: &str) -> Result<Option<Vec<u8>>> {
    let Some(rev) = rev else {
        return match std::fs::read(root.join(path)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(PipelineError::io("read", root.join(path), error)),
        };
    };
    let output = std::process::Command::new("git")
        .arg("show")
        .arg(format!("{rev}:./{path}"))
        .current_dir(root)
        .output()
        .map_err(|error| PipelineError::io("run", "git", error))?;
    if output.status.success() {
        return Ok(Some(output.stdout));
    }
    // A missing path is fine; a bad revision is not.
    let verify = std::process::Command::new("git")
        .args(["rev-parse", "--verify", "--quiet"])
        .arg(format!("{rev}^{{commit}}"))
        .current_dir(root)
        .output()
        .map_err(|error| PipelineError::io("run", "git", error))?;
    if verify.status.success() {
        Ok(None)
    } else {
        Err(PipelineError::Refused(format!(
            "`{rev}` is not a revision of the git repository at `{}`: {}",
            root.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

fn parse(bytes: &[u8], path: &str) -> Result<Value> {
    let text = String::from_utf8_lossy(bytes);
    serde_norway::from_str::<Value>(&text).map_err(|error| PipelineError::Spec {
        file: path.into(),
        location: None,
        key: String::new(),
        message: format!("cannot read it as YAML or JSON: {error}"),
    })
}

/// Leaves of `value` by dotted key (lists by index).
fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
    let join = |key: &str| {
        if prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{prefix}.{key}")
        }
    };
    match value {
        Value::Object(map) => map
            .iter()
            .for_each(|(key, value)| flatten(&join(key), value, out)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(index, value)| flatten(&join(&index.to_string()), value, out)),
        other => {
            out.insert(prefix.to_owned(), other.clone());
        }
    }
}

fn lock_at(root: &Path, rev: Option<&str>) -> Result<LockFile> {
    match read_at(root, rev, crate::keys::lock::FILE_NAME)? {
        None => Ok(LockFile::default()),
        Some(bytes) => crate::spec::yaml::from_str(
            Path::new(crate::keys::lock::FILE_NAME),
            &String::from_utf8_lossy(&bytes),
        ),
    }
}

fn compare(
    old: &BTreeMap<String, BTreeMap<String, Value>>,
    new: &BTreeMap<String, BTreeMap<String, Value>>,
    all: bool,
) -> Vec<Row> {
    let files: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let empty = BTreeMap::new();
    let mut rows = Vec::new();
    for file in files {
        let (a, b) = (
            old.get(file).unwrap_or(&empty),
            new.get(file).unwrap_or(&empty),
        );
        let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        for key in keys {
            let row = Row {
                file: file.clone(),
                key: key.clone(),
                old: a.get(key).cloned(),
                new: b.get(key).cloned(),
            };
            if all || row.old != row.new {
                rows.push(row);
            }
        }
    }
    rows
}

fn revs<'a>(a: Option<&'a str>, b: Option<&'a str>) -> (Option<&'a str>, Option<&'a str>) {
    (
        Some(a.unwrap_or("HEAD")),
        b.filter(|b| !b.is_empty() && *b != "workspace"),
    )
}

/// `icodegen params diff [A [B]]`: params.yaml (and every params file a lock names).
pub fn params_diff(
    session: &Session,
    a: Option<&str>,
    b: Option<&str>,
    all: bool,
) -> Result<Vec<Row>> {
    let root = &session.pipeline.root;
    let (a, b) = revs(a, b);
    let mut files: BTreeSet<String> = BTreeSet::from(["params.yaml".to_owned()]);
    for rev in [a, b] {
        for record in lock_at(root, rev)?.stages.values() {
            files.extend(record.params.keys().cloned());
        }
    }
    let read = |rev: Option<&str>| -> Result<BTreeMap<String, BTreeMap<String, Value>>> {
        let mut values = BTreeMap::new();
        for file in &files {
            if let Some(bytes) = read_at(root, rev, file)? {
                let mut flat = BTreeMap::new();
                flatten("", &parse(&bytes, file)?, &mut flat);
                values.insert(file.clone(), flat);
            }
        }
        Ok(values)
    };
    Ok(compare(&read(a)?, &read(b)?, all))
}

/// `icodegen metrics diff [A [B]]`: the metrics files each revision's lock records.
pub fn metrics_diff(
    session: &Session,
    a: Option<&str>,
    b: Option<&str>,
    all: bool,
) -> Result<Vec<Row>> {
    let root = &session.pipeline.root;
    let (a, b) = revs(a, b);
    let read = |rev: Option<&str>| -> Result<BTreeMap<String, BTreeMap<String, Value>>> {
        let mut values = BTreeMap::new();
        for record in lock_at(root, rev)?.stages.values() {
            for metric in &record.metrics {
                let bytes = if rev.is_none() {
                    read_at(root, None, &metric.path)?
                } else {
                    std::fs::read(session.store.object_path(&metric.hash)).ok()
                };
                let Some(bytes) = bytes else {
                    session.console.warn(format!(
                        "metrics `{}` at {}: its object {} is not in the cache (`icodegen fetch` gets it)",
                        metric.path,
                        rev.unwrap_or("the workspace"),
                        crate::store::short(&metric.hash)
                    ));
                    continue;
                };
                let mut flat = BTreeMap::new();
                flatten("", &parse(&bytes, &metric.path)?, &mut flat);
                flat.retain(|_, value| {
                    value.is_number() || value.is_boolean() || value.is_string()
                });
                values.insert(metric.path.clone(), flat);
            }
        }
        Ok(values)
    };
    Ok(compare(&read(a)?, &read(b)?, all))
}

fn show(value: &Option<Value>) -> String {
    match value {
        None => "-".to_owned(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

/// Prints `rows`; `metrics` adds a numeric delta column.
pub fn render(rows: &[Row], format: DiffFormat, metrics: bool) -> String {
    match format {
        DiffFormat::Json => {
            let mut files = serde_json::Map::new();
            for row in rows {
                let entry = files
                    .entry(row.file.clone())
                    .or_insert_with(|| Value::Object(Default::default()));
                let mut value = serde_json::json!({"old": row.old, "new": row.new});
                if metrics && let Some(delta) = row.delta() {
                    value["diff"] = serde_json::json!(delta);
                }
                entry
                    .as_object_mut()
                    .expect("object")
                    .insert(row.key.clone(), value);
            }
            format!("{}\n", Value::Object(files))
        }
        DiffFormat::Table | DiffFormat::Markdown => {
            let mut header = vec!["Path", "Key", "Old", "New"];
            if metrics {
                header.push("Change");
            }
            let lines: Vec<Vec<String>> = rows
                .iter()
                .map(|row| {
                    let mut line = vec![
                        row.file.clone(),
                        row.key.clone(),
                        show(&row.old),
                        show(&row.new),
                    ];
                    if metrics {
                        line.push(
                            row.delta()
                                .map_or("-".to_owned(), |delta| format!("{delta:+}")),
                        );
                    }
                    line
                })
                .collect();
            if format == DiffFormat::Markdown {
                let mut out = format!(
                    "| {} |\n|{}\n",
                    header.join(" | "),
                    " --- |".repeat(header.len())
                );
                for line in lines {
                    out.push_str(&format!("| {} |\n", line.join(" | ")));
                }
                return out;
            }
            if lines.is_empty() {
                return String::new();
            }
            let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
            for line in &lines {
                for (width, cell) in widths.iter_mut().zip(line) {
                    *width = (*width).max(cell.chars().count());
                }
            }
            let mut out = String::new();
            let mut push = |cells: Vec<String>| {
                let padded: Vec<String> = cells
                    .iter()
                    .zip(&widths)
                    .map(|(cell, width)| format!("{cell:<width$}"))
                    .collect();
                out.push_str(padded.join("  ").trim_end());
                out.push('\n');
            };
            push(header.iter().map(|h| (*h).to_owned()).collect());
            for line in lines {
                push(line);
            }
            out
        }
    }
}
