//! What the runner may delete and write: only outs, only inside the workspace.
//!
//! Before running, restoring or removing anything, every out is checked, at spec time (when a
//! session opens, so `status` refuses too) and again right before each write:
//!
//! - it must not be, contain or lie inside the runner's own state (the cache, `pipeline.lock`,
//!   pipeline.yaml, params files, `.icodegen/`), the repository (`.git`), build and tool folders
//!   (`target/`, `.tools/`), or a file git tracks (as DVC refuses outs tracked by git);
//! - its path must not resolve, through any existing component (a symlink), outside the
//!   workspace.
//!
//! Deps are not checked here: reading through a symlink or from a shared store outside the
//! workspace is allowed (model checkpoints live there); only writes are confined.

use std::path::{Component, Path, PathBuf};

use crate::error::{PipelineError, Result};
use crate::spec::{Pipeline, Stage};

/// The workspace's own state folder (runner locks, running stages), beside pipeline.yaml.
pub const STATE_DIR: &str = ".icodegen";

/// Folders no out may touch, wherever the cache is: the repository, build and tool folders.
const RESERVED: &[&str] = &[".git", "target", ".tools", STATE_DIR];

/// Whether workspace paths `a` and `b` are the same or one holds the other.
pub fn overlaps(a: &str, b: &str) -> bool {
    a == b || a.starts_with(&format!("{b}/")) || b.starts_with(&format!("{a}/"))
}

/// `path` relative to `root` when it lies inside it (lexically, after canonicalizing what
/// exists).
fn inside(root: &Path, path: &Path) -> Option<String> {
    let resolved = resolve(path);
    let relative = resolved.strip_prefix(root).ok()?;
    let text = relative
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    Some(text)
}

/// `path` with its longest existing prefix canonicalized and the rest appended.
fn resolve(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(canonical) = existing.canonicalize() {
            let mut resolved = canonical;
            for part in rest.iter().rev() {
                resolved.push(part);
            }
            return resolved;
        }
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// The runner's own paths inside the workspace, each with why it is protected.
fn protected(pipeline: &Pipeline, cache_dir: &Path) -> Vec<(String, String)> {
    let root = &pipeline.root;
    let mut paths: Vec<(String, String)> = RESERVED
        .iter()
        .map(|name| {
            let why = match *name {
                ".git" => "the git repository",
                STATE_DIR => "the runner's state",
                _ => "a build or tool folder",
            };
            ((*name).to_owned(), why.to_owned())
        })
        .collect();
    paths.push((
        crate::keys::lock::FILE_NAME.to_owned(),
        "the lock file".to_owned(),
    ));
    if let Some(name) = pipeline.file.file_name() {
        paths.push((
            name.to_string_lossy().into_owned(),
            "the pipeline file".to_owned(),
        ));
    }
    paths.push((
        crate::spec::params::DEFAULT_FILE.to_owned(),
        "a params file".to_owned(),
    ));
    for stage in &pipeline.stages {
        for param in &stage.params {
            paths.push((param.file.clone(), "a params file".to_owned()));
        }
    }
    let cache = if cache_dir.is_absolute() {
        cache_dir.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(cache_dir)
    };
    match inside(root, &cache) {
        Some(relative) if relative.is_empty() => {}
        Some(relative) => paths.push((relative, "the cache".to_owned())),
        None => {}
    }
    paths
}

/// Refuses outs that would destroy the runner's state, the repository or tracked files, or
/// write outside the workspace. Located at the out's key in pipeline.yaml.
pub fn check_outs(pipeline: &Pipeline, cache_dir: &Path) -> Result<()> {
    let protected = protected(pipeline, cache_dir);
    for (index, stage) in pipeline.stages.iter().enumerate() {
        for out in &stage.outs {
            let field = Stage::out_field(out);
            // Textually, and as it resolves (`ext/.git` with `ext -> .` is `.git`).
            let real = inside(&pipeline.root, &pipeline.root.join(&out.path))
                .filter(|real| !real.is_empty())
                .unwrap_or_else(|| out.path.clone());
            if let Some((path, why)) = protected
                .iter()
                .find(|(path, _)| overlaps(&out.path, path) || overlaps(&real, path))
            {
                let relation = if &out.path == path || &real == path {
                    "is"
                } else if path.starts_with(&format!("{}/", out.path))
                    || path.starts_with(&format!("{real}/"))
                {
                    "contains"
                } else {
                    "lies inside"
                };
                return Err(pipeline.error(
                    index,
                    field,
                    format!(
                        "out `{}` {relation} `{path}`, {why}: the runner deletes an out before running its stage, so it may not be one of its own files\nhint: write the stage's results somewhere else (for example under data/work/)",
                        out.path
                    ),
                ));
            }
            if let Err(message) = confined(&pipeline.root, &out.path) {
                return Err(pipeline.error(index, field, message));
            }
        }
    }
    let tracked = git_tracked(
        &pipeline.root,
        pipeline.stages.iter().flat_map(|stage| &stage.outs),
    );
    for (index, stage) in pipeline.stages.iter().enumerate() {
        for out in &stage.outs {
            if let Some(file) = tracked.iter().find(|file| overlaps(file, &out.path)) {
                return Err(pipeline.error(
                    index,
                    Stage::out_field(out),
                    format!(
                        "out `{}` holds `{file}`, which git tracks: the runner would delete and overwrite it\nhint: make it a dep instead, or stop tracking it (`git rm -r --cached {}`)",
                        out.path, out.path
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The files git tracks under any of `outs` (paths relative to `root`); empty when `root` is
/// not in a git repository or git is not installed.
fn git_tracked<'a>(root: &Path, outs: impl Iterator<Item = &'a crate::spec::Out>) -> Vec<String> {
    let specs: Vec<String> = outs.map(|out| format!(":(literal){}", out.path)).collect();
    if specs.is_empty() || !maybe_in_git(root) {
        return Vec::new();
    }
    let output = std::process::Command::new("git")
        .args(["ls-files", "-z", "--"])
        .args(&specs)
        .current_dir(root)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    match output {
        Ok(output) if output.status.success() => output
            .stdout
            .split(|&byte| byte == 0)
            .filter(|name| !name.is_empty())
            .map(|name| String::from_utf8_lossy(name).into_owned())
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether git could see a repository at `root`: a `.git` (folder or file) in it or a folder
/// above, or git told where one is (`GIT_DIR`, `GIT_WORK_TREE`). When not, asking git is a
/// process spawned for nothing on every command (a no-op `status` outside a repository).
fn maybe_in_git(root: &Path) -> bool {
    std::env::var_os("GIT_DIR").is_some()
        || std::env::var_os("GIT_WORK_TREE").is_some()
        || root
            .ancestors()
            .any(|folder| std::fs::symlink_metadata(folder.join(".git")).is_ok())
}

/// Checks that writing workspace path `relative` cannot land outside `root` (canonical):
/// every existing component, followed through symlinks, must stay inside, and no component
/// may be a symlink that points nowhere (a write would create its target).
pub fn confined(root: &Path, relative: &str) -> Result<(), String> {
    let mut current = root.to_path_buf();
    for part in Path::new(relative).components() {
        let Component::Normal(name) = part else {
            return Err(format!("out `{relative}` is not a plain relative path"));
        };
        current.push(name);
        match std::fs::symlink_metadata(&current) {
            Err(_) => return Ok(()),
            Ok(metadata) if metadata.file_type().is_symlink() => match current.canonicalize() {
                Ok(target) if target.starts_with(root) && target != root => {}
                Ok(target) => {
                    return Err(format!(
                        "out `{relative}` resolves outside the workspace: `{}` is a symlink to `{}`; the runner only deletes and writes inside the workspace\nhint: declare the real location inside the workspace, or make the outside file a dep",
                        current.strip_prefix(root).unwrap_or(&current).display(),
                        target.display()
                    ));
                }
                Err(_) => {
                    return Err(format!(
                        "out `{relative}` goes through `{}`, a symlink that points nowhere; writing it would create its target",
                        current.strip_prefix(root).unwrap_or(&current).display()
                    ));
                }
            },
            Ok(_) => {}
        }
    }
    Ok(())
}

/// [`confined`] as a runner error, for the checks right before a write.
pub fn check_write(root: &Path, relative: &str) -> Result<()> {
    confined(root, relative).map_err(|message| PipelineError::Cache {
        path: root.join(relative),
        message,
    })
}

/// Checks where `icodegen query --output` may write: inside the workspace, never over the
/// runner's own files or an out of a stage (an artifact). `path` is relative to the current
/// folder, as the user typed it.
pub fn check_query_output(
    pipeline: &Pipeline,
    cache_dir: &Path,
    path: &Path,
) -> Result<(), String> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let Some(relative) = inside(&pipeline.root, &absolute).filter(|r| !r.is_empty()) else {
        return Err(format!(
            "`{}` is outside the workspace (`{}`); query results are written inside it",
            path.display(),
            pipeline.root.display()
        ));
    };
    if let Some((protected, why)) = protected(pipeline, cache_dir)
        .into_iter()
        .find(|(protected, _)| overlaps(&relative, protected))
    {
        return Err(format!(
            "`{}` would overwrite `{protected}`, {why}; choose another file",
            path.display()
        ));
    }
    if let Some(stage) = pipeline
        .stages
        .iter()
        .find(|stage| stage.outs.iter().any(|out| overlaps(&relative, &out.path)))
    {
        return Err(format!(
            "`{}` is an out of stage `{}`, written only by that stage; choose another file",
            path.display(),
            stage.name
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_means_equal_holding_or_inside() {
        assert!(overlaps("cache", "cache"));
        assert!(overlaps("cache", "cache/v1"));
        assert!(overlaps("cache/v1", "cache"));
        assert!(!overlaps("cache2", "cache"));
        assert!(!overlaps("data/cache", "cache"));
    }

    #[test]
    fn a_write_path_may_not_leave_the_workspace_through_any_symlink() {
        let outside = tempfile::tempdir().unwrap();
        let workspace = tempfile::tempdir().unwrap();
        let root = workspace.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("real")).unwrap();
        std::os::unix::fs::symlink("real", root.join("inside")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("ext")).unwrap();
        std::os::unix::fs::symlink(".", root.join("self")).unwrap();
        assert!(confined(&root, "inside/new/file.txt").is_ok());
        assert!(confined(&root, "not/yet/there").is_ok());
        assert!(confined(&root, "ext/file.txt").is_err());
        assert!(confined(&root, "ext").is_err());
        assert!(confined(&root, "self").is_err(), "the workspace itself");
        assert!(confined(&root, "../escape").is_err());
    }
}
