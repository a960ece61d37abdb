//! Params files (`params.yaml` beside pipeline.yaml, or others a stage names): each read and
//! parsed once, then looked up by dotted key (`train.gru.hidden`, `models[0].name`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_norway::Value;

use crate::error::Result;

/// The default params file, beside pipeline.yaml.
pub const DEFAULT_FILE: &str = "params.yaml";

/// Params files read so far, by their path relative to the pipeline's folder.
pub struct ParamsFiles {
    root: PathBuf,
    display_root: PathBuf,
    files: BTreeMap<String, Option<Value>>,
}

impl ParamsFiles {
    /// `root` is the pipeline's folder; `display_root` the same folder as the user spelled it.
    pub fn new(root: &Path, display_root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            display_root: display_root.to_path_buf(),
            files: BTreeMap::new(),
        }
    }

    /// How `name` is shown in messages.
    pub fn display(&self, name: &str) -> PathBuf {
        self.display_root.join(name)
    }

    /// The parsed file `name`, `None` when it does not exist.
    pub fn get(&mut self, name: &str) -> Result<Option<&Value>> {
        self.load(name)?;
        Ok(self.value(name))
    }

    /// A file [`ParamsFiles::load`]ed before, `None` when it does not exist.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.files.get(name).and_then(Option::as_ref)
    }

    /// Reads and parses `name` unless done before.
    pub fn load(&mut self, name: &str) -> Result<()> {
        if !self.files.contains_key(name) {
            let path = self.root.join(name);
            let value = match crate::spec::yaml::read_text(&path, &self.display(name))? {
                Some(text) if text.trim().is_empty() => Some(Value::Null),
                Some(text) => Some(crate::spec::yaml::from_str::<Value>(
                    &self.display(name),
                    &text,
                )?),
                None => None,
            };
            self.files.insert(name.to_owned(), value);
        }
        Ok(())
    }
}

/// One step of a dotted key.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

fn steps(dotted: &str) -> Option<Vec<Step<'_>>> {
    let mut steps = Vec::new();
    for part in dotted.split('.') {
        let (name, mut indexes) = match part.find('[') {
            Some(at) => (&part[..at], &part[at..]),
            None => (part, ""),
        };
        if name.is_empty() && indexes.is_empty() {
            return None;
        }
        if !name.is_empty() {
            steps.push(Step::Key(name));
        }
        while !indexes.is_empty() {
            let close = indexes.find(']')?;
            steps.push(Step::Index(indexes[1..close].trim().parse().ok()?));
            indexes = &indexes[close + 1..];
            if !indexes.is_empty() && !indexes.starts_with('[') {
                return None;
            }
        }
    }
    Some(steps)
}

/// Why a dotted key was not found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// What went wrong, e.g. "no key `hiden` under `train.gru`".
    pub message: String,
    /// The closest existing key at the level where the lookup failed, spelled in full.
    pub suggestion: Option<String>,
}

/// The value at `dotted` in `root`.
pub fn lookup<'a>(root: &'a Value, dotted: &str) -> Result<&'a Value, Missing> {
    let Some(steps) = steps(dotted) else {
        return Err(Missing {
            message: format!(
                "`{dotted}` is not a dotted key (like `train.gru.hidden` or `models[0]`)"
            ),
            suggestion: None,
        });
    };
    let mut value = root;
    let mut walked = String::new();
    for step in steps {
        let next = match (step.clone(), value) {
            (Step::Key(key), Value::Mapping(mapping)) => mapping.get(key),
            (Step::Index(index), Value::Sequence(items)) => items.get(index),
            (Step::Key(key), Value::Sequence(items)) => {
                key.parse::<usize>().ok().and_then(|i| items.get(i))
            }
            _ => None,
        };
        let Some(next) = next else {
            let under = if walked.is_empty() {
                "at the top level".to_owned()
            } else {
                format!("under `{walked}`")
            };
            let (message, suggestion) = match (&step, value) {
                (Step::Key(key), Value::Mapping(mapping)) => {
                    let names: Vec<String> = mapping.keys().filter_map(key_name).collect();
                    let suggestion =
                        icodegen_artifacts::params::closest(key, names.iter().map(String::as_str))
                            .map(|name| join(&walked, name));
                    (format!("no key `{key}` {under}"), suggestion)
                }
                (Step::Index(index), Value::Sequence(items)) => (
                    format!(
                        "index {index} is out of range {under} (it has {} items)",
                        items.len()
                    ),
                    None,
                ),
                (step, _) => {
                    let wanted = match step {
                        Step::Key(key) => format!("key `{key}`"),
                        Step::Index(index) => format!("index {index}"),
                    };
                    (
                        format!("cannot look up {wanted} in a {} {under}", kind_of(value)),
                        None,
                    )
                }
            };
            return Err(Missing {
                message,
                suggestion,
            });
        };
        walked = match step {
            Step::Key(key) => join(&walked, key),
            Step::Index(index) => format!("{walked}[{index}]"),
        };
        value = next;
    }
    Ok(value)
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn key_name(key: &Value) -> Option<String> {
    match key {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// "mapping", "list", "string", ... for messages.
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Sequence(_) => "list",
        Value::Mapping(_) => "mapping",
        Value::Tagged(_) => "tagged value",
    }
}

/// A YAML value as JSON, for the lock file and stage keys.
pub fn to_json(value: &Value) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_else(|_| serde_json::Value::String(format!("{value:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> Value {
        serde_norway::from_str(text).unwrap()
    }

    #[test]
    fn finds_nested_keys_and_list_items() {
        let root = value("train:\n  gru: {hidden: 64}\nmodels:\n  - name: gru\n  - name: gpt2\n");
        assert_eq!(lookup(&root, "train.gru.hidden").unwrap(), &value("64"));
        assert_eq!(lookup(&root, "models[1].name").unwrap(), &value("gpt2"));
        assert_eq!(lookup(&root, "models.0.name").unwrap(), &value("gru"));
    }

    #[test]
    fn a_missing_key_names_its_parent_and_suggests_a_sibling() {
        let root = value("train:\n  gru: {hidden: 64, layers: 2}\n");
        let missing = lookup(&root, "train.gru.hiden").unwrap_err();
        assert_eq!(missing.message, "no key `hiden` under `train.gru`");
        assert_eq!(missing.suggestion.as_deref(), Some("train.gru.hidden"));
        let missing = lookup(&root, "tran").unwrap_err();
        assert_eq!(missing.suggestion.as_deref(), Some("train"));
        assert!(
            lookup(&root, "train.gru.hidden.x")
                .unwrap_err()
                .message
                .contains("number")
        );
    }
}
