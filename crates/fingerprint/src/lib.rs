//! Source fingerprints for stage binaries.
//!
//! The runner re-runs a stage when the *code* of its binary changed. Hashing the binary would
//! invalidate on every rebuild (debug vs release, a new compiler, a touched file), so instead a
//! stage's `build.rs` calls [`emit`], which hashes the sources of the stage's package and of every
//! workspace crate it depends on (followed through `path` and `workspace = true` dependencies)
//! and embeds the result as `ICODEGEN_SOURCE_FINGERPRINT`. A rebuild from identical sources gives
//! the same fingerprint; any change to those sources gives another. Registry dependencies are not
//! part of it (their versions are pinned by `Cargo.lock`).
//!
//! This crate runs inside build scripts only: it must not depend on any other workspace crate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Folders of a package that do not change what its binary does.
const SKIPPED: &[&str] = &["target", "tests", "benches", "examples"];

/// Computes the fingerprint of the package being built and tells Cargo to embed it and to
/// re-run the build script when any hashed file changes. Call from `build.rs`.
pub fn emit() {
    let manifest_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run from build.rs"));
    let packages = packages_of(&manifest_dir);
    for package in &packages {
        println!("cargo:rerun-if-changed={}", package.display());
    }
    println!(
        "cargo:rustc-env=ICODEGEN_SOURCE_FINGERPRINT={}",
        fingerprint(&packages)
    );
}

/// The fingerprint of the given package directories.
pub fn fingerprint(packages: &BTreeSet<PathBuf>) -> String {
    let root = packages
        .iter()
        .next()
        .and_then(|first| workspace_root(first))
        .unwrap_or_default();
    let mut files = BTreeMap::new();
    for package in packages {
        for entry in walkdir::WalkDir::new(package)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|entry| {
                let name = entry.file_name().to_string_lossy();
                entry.depth() == 0
                    || !(name.starts_with('.')
                        || (entry.depth() == 1 && SKIPPED.contains(&name.as_ref())))
            })
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_file())
        {
            let relative = entry
                .path()
                .strip_prefix(&root)
                .unwrap_or(entry.path())
                .to_path_buf();
            files.insert(relative, entry.path().to_path_buf());
        }
    }
    let mut hasher = blake3::Hasher::new();
    for (relative, path) in files {
        #[expect(
            clippy::disallowed_methods,
            reason = "an unreadable file hashes as empty: no error reaches a user"
        )]
        let contents = std::fs::read(&path).unwrap_or_default();
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update(&[0]);
        hasher.update(&(contents.len() as u64).to_le_bytes());
        hasher.update(&contents);
    }
    hasher.finalize().to_hex().to_string()
}

/// The package at `manifest_dir` and every workspace package it depends on, transitively.
pub fn packages_of(manifest_dir: &Path) -> BTreeSet<PathBuf> {
    let root = workspace_root(manifest_dir);
    let workspace_paths = root
        .as_deref()
        .map(workspace_dependency_paths)
        .unwrap_or_default();
    let mut seen = BTreeSet::new();
    let mut todo = vec![canonical(manifest_dir)];
    while let Some(dir) = todo.pop() {
        if !seen.insert(dir.clone()) {
            continue;
        }
        let Some(manifest) = read_toml(&dir.join("Cargo.toml")) else {
            continue;
        };
        for table in ["dependencies", "build-dependencies"] {
            let Some(dependencies) = manifest.get(table).and_then(|t| t.as_table()) else {
                continue;
            };
            for (name, spec) in dependencies {
                if let Some(path) = spec.get("path").and_then(|p| p.as_str()) {
                    todo.push(canonical(&dir.join(path)));
                } else if spec.get("workspace").and_then(|w| w.as_bool()) == Some(true)
                    && let Some(path) = workspace_paths.get(name)
                {
                    todo.push(path.clone());
                }
            }
        }
    }
    seen
}

#[expect(
    clippy::disallowed_methods,
    reason = "a path that cannot be resolved is used as given: no error reaches a user"
)]
fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

#[expect(
    clippy::disallowed_methods,
    reason = "a missing or unreadable manifest is `None`: no error reaches a user"
)]
fn read_toml(path: &Path) -> Option<toml::Table> {
    std::fs::read_to_string(path).ok()?.parse().ok()
}

fn workspace_root(start: &Path) -> Option<PathBuf> {
    let start = canonical(start);
    start
        .ancestors()
        .find(|dir| read_toml(&dir.join("Cargo.toml")).is_some_and(|t| t.contains_key("workspace")))
        .map(Path::to_path_buf)
}

fn workspace_dependency_paths(root: &Path) -> BTreeMap<String, PathBuf> {
    let Some(manifest) = read_toml(&root.join("Cargo.toml")) else {
        return BTreeMap::new();
    };
    manifest
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(|d| d.as_table())
        .map(|dependencies| {
            dependencies
                .iter()
                .filter_map(|(name, spec)| {
                    let path = spec.get("path")?.as_str()?;
                    Some((name.clone(), canonical(&root.join(path))))
                })
                .collect()
        })
        .unwrap_or_default()
}
