//! `pipeline.yaml`: parsing, `foreach`/`matrix` expansion, `${...}` interpolation, path checks.
//!
//! The result is a flat list of [`Stage`]s with resolved commands, normalized paths and the
//! values of the params they declare. Everything a user can get wrong here is reported with the
//! file, line and key. This module reads params files but nothing else: it never looks at deps,
//! outs, the lock or the cache.
//!
//! The spec layer, the lowest above the base (`error`, `console`, `fault`, `signals`):
//! [`yaml`] (located errors), [`params`] (params files), [`interpolate`] (`${...}`), and this
//! module (pipeline.yaml). It imports nothing above it.

pub mod interpolate;
pub mod params;
mod raw;
pub mod yaml;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_norway::Value;

use crate::error::{PipelineError, Result};
use interpolate::Scope;
use params::ParamsFiles;
use raw::{OneOrList, Ordered, RawCache, RawCmd, RawParam, RawPipeline, RawResources, RawStage};
use yaml::Seg;

/// The stage fields users may write, for "did you mean" hints.
pub const STAGE_FIELDS: &[&str] = &[
    "cmd",
    "deps",
    "params",
    "outs",
    "metrics",
    "desc",
    "resources",
    "always_changed",
    "foreach",
    "do",
    "matrix",
];

/// A parsed and expanded pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// pipeline.yaml as the user named it (for messages).
    pub file: PathBuf,
    /// The folder holding pipeline.yaml: commands run here, paths are relative to it.
    pub root: PathBuf,
    /// The text of pipeline.yaml (to locate keys in error messages).
    pub text: String,
    /// Stages in declaration order, `foreach`/`matrix` stages expanded in item order.
    pub stages: Vec<Stage>,
    /// `cache: {type: ...}`: how outs share storage with the cache, in order of preference.
    pub link_types: Vec<LinkType>,
}

/// How an out in the workspace and its object in the cache share storage (as DVC's
/// `cache.type`). Each is tried in the order configured; the first the file system supports is
/// used, file by file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// A copy-on-write clone (`FICLONE`: btrfs, XFS, bcachefs, ...): no second copy of the
    /// bytes, and the two files stay independent.
    Reflink,
    /// One inode for both, made read-only: no second copy, but a forced write through the
    /// workspace changes the cached object too (detected by hash on every restore).
    Hardlink,
    /// A second copy of the bytes: works everywhere.
    Copy,
}

impl LinkType {
    pub const NAMES: &[&str] = &["reflink", "hardlink", "copy"];

    pub fn parse(name: &str) -> Option<LinkType> {
        match name {
            "reflink" => Some(LinkType::Reflink),
            "hardlink" => Some(LinkType::Hardlink),
            "copy" => Some(LinkType::Copy),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            LinkType::Reflink => "reflink",
            LinkType::Hardlink => "hardlink",
            LinkType::Copy => "copy",
        }
    }
}

/// Without `cache: {type: ...}`: a copy-on-write clone where the file system can make one, else
/// a copy. Never a hard link unless asked for, since a hard-linked out shares its bytes with
/// the cache (see ARCHITECTURE.md, "Link types").
pub const DEFAULT_LINK_TYPES: &[LinkType] = &[LinkType::Reflink, LinkType::Copy];

/// One runnable stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// `train` or, for generated stages, `train@gru`.
    pub name: String,
    /// For generated stages, the name in pipeline.yaml (`train`).
    pub group: Option<String>,
    /// The command, interpolated; run with `sh -c` in the pipeline's folder.
    pub cmd: String,
    /// Normalized relative paths (files or folders).
    pub deps: Vec<String>,
    pub params: Vec<Param>,
    /// Outs and metrics (metrics are outs too: hashed, cached, checked).
    pub outs: Vec<Out>,
    pub desc: Option<String>,
    /// For cluster execution only: never part of the stage key.
    pub resources: Resources,
    /// Run on every `repro`.
    pub always_changed: bool,
    /// Where the stage's fields are in pipeline.yaml (`stages.train.do` for `foreach`).
    pub origin: Vec<Seg>,
}

/// A declared param with its current value.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// The params file, relative to the pipeline's folder (`params.yaml`).
    pub file: String,
    /// The dotted key.
    pub key: String,
    pub value: serde_json::Value,
    /// Position in the stage's `params` list.
    pub index: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Out {
    pub path: String,
    /// Declared under `metrics` rather than `outs`.
    pub metric: bool,
    /// Position in the stage's `outs` (or `metrics`) list.
    pub index: usize,
}

/// Cluster resources (`sbatch` options); they never affect staleness.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Resources {
    pub cpus: Option<u32>,
    pub mem: Option<String>,
    pub gpus: Option<u32>,
    pub time: Option<String>,
    pub partition: Option<String>,
    pub account: Option<String>,
    pub extra: Vec<String>,
}

/// A field of a stage, to locate it in pipeline.yaml.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    Cmd,
    Dep(usize),
    Param(usize),
    Out(usize),
    Metric(usize),
}

impl Stage {
    /// The YAML path of `field` of this stage.
    pub fn path_of(&self, field: Field) -> Vec<Seg> {
        let mut path = self.origin.clone();
        match field {
            Field::Name => {
                path.truncate(2);
            }
            Field::Cmd => path.push(Seg::key("cmd")),
            Field::Dep(i) => path.extend([Seg::key("deps"), Seg::Index(i)]),
            Field::Param(i) => path.extend([Seg::key("params"), Seg::Index(i)]),
            Field::Out(i) => path.extend([Seg::key("outs"), Seg::Index(i)]),
            Field::Metric(i) => path.extend([Seg::key("metrics"), Seg::Index(i)]),
        }
        path
    }

    /// The field holding this out.
    pub fn out_field(out: &Out) -> Field {
        if out.metric {
            Field::Metric(out.index)
        } else {
            Field::Out(out.index)
        }
    }
}

impl Pipeline {
    /// Reads and expands `file`.
    pub fn load(file: &Path) -> Result<Pipeline> {
        let text = crate::spec::yaml::read_text(file, file)?
            .ok_or_else(|| PipelineError::io("read", file, std::io::ErrorKind::NotFound.into()))?;
        let display_root = file.parent().unwrap_or(Path::new("")).to_path_buf();
        let root = std::fs::canonicalize(if display_root.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &display_root
        })
        .map_err(|error| PipelineError::io("open", &display_root, error))?;
        Self::parse(file, &root, &display_root, text)
    }

    /// Parses `text` (the contents of `file`, whose folder is `root`).
    pub fn parse(file: &Path, root: &Path, display_root: &Path, text: String) -> Result<Pipeline> {
        let mut builder = Builder {
            file,
            text: &text,
            params: ParamsFiles::new(root, display_root),
        };
        let (stages, link_types) = builder.expand()?;
        Ok(Pipeline {
            file: file.to_path_buf(),
            root: root.to_path_buf(),
            text,
            stages,
            link_types,
        })
    }

    /// An error about `field` of stage `stage`, located in pipeline.yaml.
    pub fn error(&self, stage: usize, field: Field, message: impl Into<String>) -> PipelineError {
        let stage = &self.stages[stage];
        let path = stage.path_of(field);
        let at_key = field == Field::Name;
        spec_error(
            self.file.as_path(),
            &self.text,
            &path,
            at_key,
            message.into(),
        )
    }

    /// An error about pipeline.yaml as a whole.
    pub fn file_error(&self, message: impl Into<String>) -> PipelineError {
        PipelineError::Spec {
            file: self.file.clone(),
            location: None,
            key: String::new(),
            message: message.into(),
        }
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.stages.iter().position(|stage| stage.name == name)
    }
}

fn spec_error(
    file: &Path,
    text: &str,
    path: &[Seg],
    at_key: bool,
    message: String,
) -> PipelineError {
    PipelineError::Spec {
        file: file.to_path_buf(),
        location: yaml::locate(text, path, at_key),
        key: yaml::dotted(path),
        message,
    }
}

/// Normalizes a dep or out path: relative to the pipeline's folder, `/`-separated, no `.`,
/// `..` or trailing `/`. Refuses absolute paths and paths leaving the workspace.
pub fn normalize(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("the path is empty".to_owned());
    }
    if trimmed.starts_with('/') || trimmed.starts_with('~') || Path::new(trimmed).is_absolute() {
        return Err(format!(
            "`{trimmed}` is an absolute path; paths must be relative to the folder of pipeline.yaml (the workspace)"
        ));
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in trimmed.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!(
                        "`{trimmed}` is outside the workspace (the folder of pipeline.yaml)"
                    ));
                }
            }
            part => parts.push(part),
        }
    }
    if parts.is_empty() {
        return Err(format!(
            "`{trimmed}` is the workspace itself; name a file or folder inside it"
        ));
    }
    Ok(parts.join("/"))
}

/// Letters, digits, `_`, `-` and `.`: safe in file names, job names and shell words.
fn valid_name_part(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

struct Builder<'a> {
    file: &'a Path,
    text: &'a str,
    params: ParamsFiles,
}

/// What a generated stage is made from.
struct Instance {
    suffix: String,
    item: Value,
}

impl Builder<'_> {
    fn error(&self, path: &[Seg], at_key: bool, message: impl Into<String>) -> PipelineError {
        spec_error(self.file, self.text, path, at_key, message.into())
    }

    /// `cache: {type: ...}`: known names, at least one; an unknown one is located.
    fn link_types(&self, cache: Option<&RawCache>) -> Result<Vec<LinkType>> {
        let Some(kind) = cache.and_then(|cache| cache.kind.as_ref()) else {
            return Ok(DEFAULT_LINK_TYPES.to_vec());
        };
        let path = vec![Seg::key("cache"), Seg::key("type")];
        let named: Vec<(Vec<Seg>, &String)> = match kind {
            OneOrList::One(name) => vec![(path.clone(), name)],
            OneOrList::List(names) => names
                .iter()
                .enumerate()
                .map(|(index, name)| ([path.clone(), vec![Seg::Index(index)]].concat(), name))
                .collect(),
        };
        if named.is_empty() {
            return Err(self.error(
                &path,
                false,
                "name at least one link type: reflink, hardlink or copy",
            ));
        }
        let mut types = Vec::new();
        for (at, name) in named {
            let Some(link) = LinkType::parse(name) else {
                let hint =
                    icodegen_artifacts::params::closest(name, LinkType::NAMES.iter().copied())
                        .map(|close| format!("\nhint: did you mean `{close}`?"))
                        .unwrap_or_default();
                return Err(self.error(
                    &at,
                    false,
                    format!(
                        "unknown link type `{name}`; the types are reflink, hardlink and copy{hint}"
                    ),
                ));
            };
            if !types.contains(&link) {
                types.push(link);
            }
        }
        Ok(types)
    }

    fn expand(&mut self) -> Result<(Vec<Stage>, Vec<LinkType>)> {
        if self.text.trim().is_empty() {
            return Err(PipelineError::Spec {
                file: self.file.to_path_buf(),
                location: None,
                key: String::new(),
                message: "the file is empty; it needs a `stages:` mapping".to_owned(),
            });
        }
        let raw: RawPipeline = yaml::from_str(self.file, self.text)?;
        let link_types = self.link_types(raw.cache.as_ref())?;
        let params_root = self.params.get(params::DEFAULT_FILE)?.cloned();
        let mut stages = Vec::new();
        for (name, raw_stage) in &raw.stages.0 {
            let stage_path = vec![Seg::key("stages"), Seg::key(name)];
            if !valid_name_part(name) {
                return Err(self.error(
                    &stage_path,
                    true,
                    format!("stage name `{name}` may only use letters, digits, `_`, `-` and `.`"),
                ));
            }
            let base_scope = Scope {
                params: params_root.as_ref(),
                item: None,
                key: None,
            };
            if let Some(foreach) = &raw_stage.foreach {
                let Some(body) = &raw_stage.body else {
                    return Err(self.error(
                        &stage_path,
                        true,
                        format!("stage `{name}` has `foreach` but no `do`"),
                    ));
                };
                if !raw_stage.is_only_foreach() {
                    return Err(self.error(
                        &stage_path,
                        true,
                        "with `foreach`, put the stage's fields (cmd, deps, ...) under `do`",
                    ));
                }
                if body.foreach.is_some() || body.matrix.is_some() || body.body.is_some() {
                    return Err(self.error(
                        &[stage_path.clone(), vec![Seg::key("do")]].concat(),
                        true,
                        "`foreach`, `matrix` and `do` cannot be nested",
                    ));
                }
                let foreach_path = [stage_path.clone(), vec![Seg::key("foreach")]].concat();
                let instances = self.foreach_instances(foreach, &base_scope, &foreach_path)?;
                let origin = [stage_path.clone(), vec![Seg::key("do")]].concat();
                for instance in instances {
                    let scope = Scope {
                        item: Some(&instance.item),
                        key: Some(&instance.suffix),
                        ..base_scope
                    };
                    let full_name = format!("{name}@{}", instance.suffix);
                    stages.push(self.build(
                        full_name,
                        Some(name.clone()),
                        body,
                        &scope,
                        origin.clone(),
                    )?);
                }
            } else if let Some(matrix) = &raw_stage.matrix {
                if raw_stage.body.is_some() {
                    return Err(self.error(
                        &stage_path,
                        true,
                        "`do` belongs with `foreach`; with `matrix` put the fields beside it",
                    ));
                }
                let matrix_path = [stage_path.clone(), vec![Seg::key("matrix")]].concat();
                for instance in self.matrix_instances(matrix, &base_scope, &matrix_path)? {
                    let scope = Scope {
                        item: Some(&instance.item),
                        key: Some(&instance.suffix),
                        ..base_scope
                    };
                    let full_name = format!("{name}@{}", instance.suffix);
                    stages.push(self.build(
                        full_name,
                        Some(name.clone()),
                        raw_stage,
                        &scope,
                        stage_path.clone(),
                    )?);
                }
            } else {
                if raw_stage.body.is_some() {
                    return Err(self.error(
                        &stage_path,
                        true,
                        "`do` is only allowed with `foreach`",
                    ));
                }
                stages.push(self.build(
                    name.clone(),
                    None,
                    raw_stage,
                    &base_scope,
                    stage_path.clone(),
                )?);
            }
        }
        let mut seen = BTreeSet::new();
        for stage in &stages {
            if !seen.insert(stage.name.as_str()) {
                return Err(self.error(
                    &stage.path_of(Field::Name),
                    true,
                    format!(
                        "two stages are named `{}` (foreach or matrix items must differ)",
                        stage.name
                    ),
                ));
            }
        }
        Ok((stages, link_types))
    }

    fn resolve_list(
        &self,
        value: &Value,
        scope: &Scope,
        path: &[Seg],
        what: &str,
    ) -> Result<Value> {
        match value {
            Value::String(text) => match interpolate::whole(text) {
                Some(expr) => {
                    let value = interpolate::resolve(expr, scope)
                        .map_err(|message| self.error(path, false, message))?;
                    match value {
                        Value::Sequence(_) | Value::Mapping(_) => Ok(value),
                        other => Err(self.error(
                            path,
                            false,
                            format!(
                                "`{text}` is a {}; `{what}` needs a list or a mapping",
                                params::kind_of(&other)
                            ),
                        )),
                    }
                }
                None => Err(self.error(
                    path,
                    false,
                    format!("`{what}` needs a list, a mapping or `${{...}}` naming one"),
                )),
            },
            Value::Sequence(_) | Value::Mapping(_) => Ok(value.clone()),
            other => Err(self.error(
                path,
                false,
                format!(
                    "`{what}` needs a list or a mapping, not a {}",
                    params::kind_of(other)
                ),
            )),
        }
    }

    fn suffix_of(&self, value: &Value, fallback: String, path: &[Seg]) -> Result<String> {
        let text = match value {
            Value::Mapping(mapping) => match mapping.get("name").map(interpolate::scalar_text) {
                Some(Ok(name)) => name,
                _ => fallback,
            },
            Value::Sequence(_) => fallback,
            scalar => interpolate::scalar_text(scalar).unwrap_or(fallback),
        };
        if !valid_name_part(&text) {
            return Err(self.error(
                path,
                false,
                format!("item `{text}` cannot be part of a stage name (use letters, digits, `_`, `-` and `.`)"),
            ));
        }
        Ok(text)
    }

    fn foreach_instances(
        &self,
        foreach: &Value,
        scope: &Scope,
        path: &[Seg],
    ) -> Result<Vec<Instance>> {
        let mut instances = Vec::new();
        match self.resolve_list(foreach, scope, path, "foreach")? {
            Value::Sequence(items) => {
                for (index, item) in items.into_iter().enumerate() {
                    let suffix = self.suffix_of(&item, index.to_string(), path)?;
                    instances.push(Instance { suffix, item });
                }
            }
            Value::Mapping(mapping) => {
                for (key, item) in mapping {
                    let key = interpolate::scalar_text(&key)
                        .map_err(|why| self.error(path, false, format!("a key {why}")))?;
                    let suffix = self.suffix_of(&Value::String(key), String::new(), path)?;
                    instances.push(Instance { suffix, item });
                }
            }
            _ => unreachable!("resolve_list returns lists and mappings"),
        }
        if instances.is_empty() {
            return Err(self.error(
                path,
                false,
                "`foreach` is empty: the stage would not run at all",
            ));
        }
        Ok(instances)
    }

    fn matrix_instances(
        &self,
        matrix: &Ordered<Value>,
        scope: &Scope,
        path: &[Seg],
    ) -> Result<Vec<Instance>> {
        // Each instance: (suffix parts, item mapping).
        let mut instances: Vec<(Vec<String>, serde_norway::Mapping)> =
            vec![(Vec::new(), serde_norway::Mapping::new())];
        for (name, values) in &matrix.0 {
            let entry_path = [path.to_vec(), vec![Seg::key(name)]].concat();
            let values = match self.resolve_list(values, scope, &entry_path, "matrix")? {
                Value::Sequence(values) if !values.is_empty() => values,
                _ => {
                    return Err(self.error(
                        &entry_path,
                        false,
                        format!("matrix entry `{name}` needs a non-empty list"),
                    ));
                }
            };
            let mut next = Vec::new();
            for (parts, item) in &instances {
                for (index, value) in values.iter().enumerate() {
                    let part = self.suffix_of(value, format!("{name}{index}"), &entry_path)?;
                    let mut parts = parts.clone();
                    parts.push(part);
                    let mut item = item.clone();
                    item.insert(Value::String(name.clone()), value.clone());
                    next.push((parts, item));
                }
            }
            instances = next;
        }
        if matrix.0.is_empty() {
            return Err(self.error(path, false, "`matrix` is empty"));
        }
        Ok(instances
            .into_iter()
            .map(|(parts, item)| Instance {
                suffix: parts.join("-"),
                item: Value::Mapping(item),
            })
            .collect())
    }

    fn text(&self, raw: &str, scope: &Scope, path: &[Seg]) -> Result<String> {
        interpolate::interpolate(raw, scope).map_err(|message| self.error(path, false, message))
    }

    fn path(&self, raw: &str, scope: &Scope, path: &[Seg]) -> Result<String> {
        let text = self.text(raw, scope, path)?;
        normalize(&text).map_err(|message| self.error(path, false, message))
    }

    fn build(
        &mut self,
        name: String,
        group: Option<String>,
        raw: &RawStage,
        scope: &Scope,
        origin: Vec<Seg>,
    ) -> Result<Stage> {
        let at = |field: &str| [origin.clone(), vec![Seg::key(field)]].concat();
        let at_index = |field: &str, index: usize| {
            [origin.clone(), vec![Seg::key(field), Seg::Index(index)]].concat()
        };
        let cmd = match &raw.cmd {
            Some(RawCmd(lines))
                if !lines.is_empty() && lines.iter().any(|line| !line.trim().is_empty()) =>
            {
                let lines = lines
                    .iter()
                    .map(|line| self.text(line, scope, &at("cmd")))
                    .collect::<Result<Vec<_>>>()?;
                lines.join(" && ")
            }
            _ => return Err(self.error(&origin, true, format!("stage `{name}` has no `cmd`"))),
        };
        let deps = raw
            .deps
            .iter()
            .enumerate()
            .map(|(i, dep)| self.path(dep, scope, &at_index("deps", i)))
            .collect::<Result<Vec<_>>>()?;
        let mut outs = Vec::new();
        for (i, out) in raw.outs.iter().enumerate() {
            outs.push(Out {
                path: self.path(out, scope, &at_index("outs", i))?,
                metric: false,
                index: i,
            });
        }
        for (i, metric) in raw.metrics.iter().enumerate() {
            outs.push(Out {
                path: self.path(metric, scope, &at_index("metrics", i))?,
                metric: true,
                index: i,
            });
        }
        let mut stage_params = Vec::new();
        for (i, entry) in raw.params.iter().enumerate() {
            let path = at_index("params", i);
            let (file, keys) = match entry {
                RawParam::Key(key) => (params::DEFAULT_FILE.to_owned(), vec![key.clone()]),
                RawParam::File(file, keys) => (self.path(file, scope, &path)?, keys.clone()),
            };
            for key in keys {
                let key = self.text(&key, scope, &path)?;
                let display = self.params.display(&file);
                self.params.load(&file)?;
                let Some(root) = self.params.value(&file) else {
                    return Err(self.error(
                        &path,
                        false,
                        format!("param `{key}`: `{}` does not exist", display.display()),
                    ));
                };
                let value = params::lookup(root, &key).map_err(|missing| {
                    let hint = missing
                        .suggestion
                        .map(|name| format!("\nhint: did you mean `{name}`?"))
                        .unwrap_or_default();
                    self.error(
                        &path,
                        false,
                        format!(
                            "param `{key}` is missing from `{}`: {}{hint}",
                            display.display(),
                            missing.message
                        ),
                    )
                })?;
                stage_params.push(Param {
                    file: file.clone(),
                    key,
                    value: params::to_json(value),
                    index: i,
                });
            }
        }
        let resources = match &raw.resources {
            Some(resources) => self.resources(resources, scope, &at("resources"))?,
            None => Resources::default(),
        };
        Ok(Stage {
            name,
            group,
            cmd,
            deps,
            params: stage_params,
            outs,
            desc: raw.desc.clone(),
            resources,
            always_changed: raw.always_changed,
            origin,
        })
    }

    fn resources(&self, raw: &RawResources, scope: &Scope, path: &[Seg]) -> Result<Resources> {
        let field = |name: &str| [path.to_vec(), vec![Seg::key(name)]].concat();
        let text = |value: &Option<Value>, name: &str| -> Result<Option<String>> {
            let Some(value) = value else { return Ok(None) };
            let raw = interpolate::scalar_text(value)
                .map_err(|why| self.error(&field(name), false, format!("`{name}` {why}")))?;
            Ok(Some(self.text(&raw, scope, &field(name))?))
        };
        let count = |value: &Option<Value>, name: &str| -> Result<Option<u32>> {
            match text(value, name)? {
                None => Ok(None),
                Some(text) => text.trim().parse::<u32>().map(Some).map_err(|_| {
                    self.error(
                        &field(name),
                        false,
                        format!("`{name}` must be a whole number, not `{text}`"),
                    )
                }),
            }
        };
        let extra = raw
            .extra
            .iter()
            .map(|option| self.text(option, scope, &field("extra")))
            .collect::<Result<Vec<_>>>()?;
        Ok(Resources {
            cpus: count(&raw.cpus, "cpus")?,
            mem: text(&raw.mem, "mem")?,
            gpus: count(&raw.gpus, "gpus")?,
            time: text(&raw.time, "time")?,
            partition: text(&raw.partition, "partition")?,
            account: text(&raw.account, "account")?,
            extra,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pipeline: &str, params: Option<&str>) -> Result<Pipeline> {
        let dir = tempfile::tempdir().unwrap();
        if let Some(params) = params {
            std::fs::write(dir.path().join("params.yaml"), params).unwrap();
        }
        Pipeline::parse(
            Path::new("pipeline.yaml"),
            dir.path(),
            Path::new(""),
            pipeline.to_owned(),
        )
    }

    #[test]
    fn expands_foreach_over_a_params_list_with_names() {
        let pipeline = parse(
            "stages:\n  train:\n    foreach: ${models}\n    do:\n      cmd: train ${item.name} --hidden ${item.hidden}\n      outs: [\"models/${item.name}/\"]\n",
            Some("models:\n  - {name: gru, hidden: 8}\n  - {name: gpt2, hidden: 16}\n"),
        )
        .unwrap();
        let names: Vec<&str> = pipeline.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["train@gru", "train@gpt2"]);
        assert_eq!(pipeline.stages[1].cmd, "train gpt2 --hidden 16");
        assert_eq!(pipeline.stages[1].outs[0].path, "models/gpt2");
        assert_eq!(pipeline.stages[1].group.as_deref(), Some("train"));
    }

    #[test]
    fn expands_foreach_over_a_mapping_and_matrix_in_order() {
        let pipeline = parse(
            "stages:\n  a:\n    foreach: {x: 1, y: 2}\n    do:\n      cmd: echo ${key} ${item}\n  b:\n    matrix:\n      model: [gru, gpt2]\n      split: [test, val]\n    cmd: echo ${item.model} ${item.split}\n",
            None,
        )
        .unwrap();
        let names: Vec<&str> = pipeline.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "a@x",
                "a@y",
                "b@gru-test",
                "b@gru-val",
                "b@gpt2-test",
                "b@gpt2-val"
            ]
        );
        assert_eq!(pipeline.stages[1].cmd, "echo y 2");
        assert_eq!(pipeline.stages[4].cmd, "echo gpt2 test");
    }

    #[test]
    fn params_are_resolved_with_their_values() {
        let pipeline = parse(
            "stages:\n  train:\n    cmd: run\n    params: [train.lr, {other.yaml: [seed]}]\n",
            Some("train: {lr: 0.1}\n"),
        );
        let error = pipeline.unwrap_err().to_string();
        assert!(
            error.contains("pipeline.yaml:4:") && error.contains("other.yaml"),
            "{error}"
        );
        let pipeline = parse(
            "stages:\n  train:\n    cmd: run\n    params: [train.lr]\n",
            Some("train: {lr: 0.1}\n"),
        )
        .unwrap();
        assert_eq!(pipeline.stages[0].params[0].value, serde_json::json!(0.1));
    }

    #[test]
    fn an_unknown_key_is_located_with_a_suggestion() {
        let error = parse("stages:\n  a:\n    cmd: x\n    dpes: [y]\n", None)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("pipeline.yaml:4:5: key `stages.a.dpes`"),
            "{error}"
        );
        assert!(error.contains("did you mean `deps`?"), "{error}");
    }

    #[test]
    fn paths_stay_inside_the_workspace() {
        assert_eq!(normalize("./data//raw/").unwrap(), "data/raw");
        assert_eq!(normalize("a/../b").unwrap(), "b");
        assert!(
            normalize("../x")
                .unwrap_err()
                .contains("outside the workspace")
        );
        assert!(normalize("/etc/passwd").unwrap_err().contains("absolute"));
        assert!(normalize(".").is_err());
    }

    #[test]
    fn duplicate_stage_names_are_refused_at_their_line() {
        let error = parse("stages:\n  a:\n    cmd: x\n  a:\n    cmd: y\n", None)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(":4:3") && error.contains("defined twice"),
            "{error}"
        );
    }
}
