//! The Java study (`studies/java/`) run end to end by the built binaries on the committed slice of
//! real Java (`studies/java/slice/`: Apache Cordova sources), the way a user runs it: from the top
//! of a copy of the repository, `icodegen --pipeline studies/java/pipeline.yaml repro`, with the
//! study's own pipeline, fetch script, taxonomy link and params (smaller numbers written over the
//! sizes). The network is the only stand-in: an `npm` first on PATH packs the slice's packages as
//! npm's tarballs are laid out, and the corpus lists name those packages with the sha256 of what
//! it packs, so the study's `fetch.sh` runs unchanged and checks every hash.
//!
//! Needs the stage binaries built beside the runner (`cargo build --workspace --bins`, which
//! `scripts/test.sh` does first).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_norway::Value;

use crate::harness::BIN;

const STUDY: &str = "studies/java";
const PIPELINE: &str = "studies/java/pipeline.yaml";
const STAGES: [&str; 6] = ["ingest", "preprocess", "train", "infer", "tag", "analyze"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies the folder `from` into `to`, symlinks as symlinks.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            let link = std::fs::read_link(entry.path()).unwrap();
            std::os::unix::fs::symlink(link, target).unwrap();
        } else if kind.is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The stand-in for `npm pack --silent --ignore-scripts PACKAGE@VERSION`: packs
/// `SLICE/<split>/PACKAGE-VERSION` as `package/...` into `PACKAGE-VERSION.tgz` in the current
/// folder, byte for byte the same on every call, and prints the file name as npm does.
fn fake_npm(slice: &Path) -> String {
    format!(
        r#"#!/usr/bin/env bash
set -euo pipefail
[ "$1" = pack ] || {{ echo "npm stand-in: only pack" >&2; exit 2; }}
spec=${{@: -1}}
package=${{spec%@*}}
version=${{spec##*@}}
dir=$(find '{slice}' -mindepth 2 -maxdepth 2 -type d -name "$package-$version" | head -n 1)
[ -n "$dir" ] || {{ echo "npm error 404 Not Found - GET $spec" >&2; exit 1; }}
staging=$(mktemp -d)
cp -r "$dir" "$staging/package"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$staging" -cf - package |
  gzip -n >"$package-$version.tgz"
rm -rf "$staging"
echo "$package-$version.tgz"
"#,
        slice = slice.display()
    )
}

/// A copy of the repository's Java study (and the taxonomies its link points at) in a temp
/// folder, with an `npm` stand-in in `bin/`.
struct Study {
    dir: tempfile::TempDir,
}

impl Study {
    fn new() -> Study {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let study = root.join(STUDY);
        std::fs::create_dir_all(&study).unwrap();
        for file in ["pipeline.yaml", "params.yaml", "fetch.sh", "taxonomies"] {
            let from = repo().join(STUDY).join(file);
            if from.is_symlink() {
                let link = std::fs::read_link(&from).unwrap();
                std::os::unix::fs::symlink(link, study.join(file)).unwrap();
            } else {
                std::fs::copy(&from, study.join(file)).unwrap();
            }
        }
        for folder in ["corpus", "slice"] {
            copy_tree(&repo().join(STUDY).join(folder), &study.join(folder));
        }
        copy_tree(
            &repo().join("data/taxonomies"),
            &root.join("data/taxonomies"),
        );
        let bin = root.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("npm"), fake_npm(&study.join("slice"))).unwrap();
        let status = Command::new("chmod")
            .arg("+x")
            .arg(bin.join("npm"))
            .status()
            .unwrap();
        assert!(status.success());
        Study { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn study(&self, relative: &str) -> PathBuf {
        self.root().join(STUDY).join(relative)
    }

    fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.study(relative))
            .unwrap_or_else(|error| panic!("read {STUDY}/{relative}: {error}"))
    }

    /// PATH with the `npm` stand-in first.
    fn path_env(&self) -> String {
        format!(
            "{}:{}",
            self.root().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// The sha256 of what the stand-in packs for `spec` (`PACKAGE@VERSION`).
    fn packed_sha256(&self, spec: &str) -> String {
        let scratch = tempfile::tempdir().unwrap();
        let packed = Command::new("npm")
            .args(["pack", "--silent", "--ignore-scripts", spec])
            .current_dir(scratch.path())
            .env("PATH", self.path_env())
            .output()
            .unwrap();
        assert!(packed.status.success(), "{packed:?}");
        let file = String::from_utf8(packed.stdout).unwrap();
        let sum = Command::new("sha256sum")
            .arg(scratch.path().join(file.trim()))
            .output()
            .unwrap();
        assert!(sum.status.success(), "{sum:?}");
        String::from_utf8(sum.stdout).unwrap()[..64].to_owned()
    }

    /// Rewrites the corpus lists to the slice's packages, pinned by the hash of their tarball.
    fn pin_slice(&self) {
        for (split, package, version) in [
            ("train", "cordova-android", "12.0.1"),
            ("test", "cordova-plugin-file", "8.0.1"),
        ] {
            let listed = self.read(&format!("corpus/{split}.txt"));
            assert!(
                listed
                    .lines()
                    .any(|line| line.split_whitespace().take(2).eq([package, version])),
                "corpus/{split}.txt no longer lists the slice's {package} {version}"
            );
            let sha256 = self.packed_sha256(&format!("{package}@{version}"));
            std::fs::write(
                self.study(&format!("corpus/{split}.txt")),
                format!("# The slice's package\n{package} {version} {sha256} Apache-2.0\n"),
            )
            .unwrap();
        }
    }

    fn icodegen(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("--pipeline")
            .arg(PIPELINE)
            .args(args)
            .current_dir(self.root())
            .env("PATH", self.path_env())
            .env("NO_COLOR", "1")
            .output()
            .expect("run icodegen")
    }

    /// Runs icodegen, fails the test unless it succeeds, returns (stdout, stdout + stderr).
    fn ok(&self, args: &[&str]) -> (String, String) {
        let output = self.icodegen(args);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "icodegen {args:?} failed ({:?})\nstdout:\n{stdout}\nstderr:\n{stderr}",
            output.status
        );
        (stdout.clone(), format!("{stdout}{stderr}"))
    }

    /// The rows of an SQL query over the study's artifacts (`icodegen query --format json`).
    fn query(&self, sql: &str) -> Vec<serde_json::Value> {
        let (stdout, _) = self.ok(&["query", "--format", "json", sql]);
        match serde_json::from_str(&stdout) {
            Ok(serde_json::Value::Array(rows)) => rows,
            other => panic!("query {sql}: {other:?}\n{stdout}"),
        }
    }

    /// The values of column `v` of a query's rows, as a set of strings.
    fn column(&self, sql: &str) -> BTreeSet<String> {
        self.query(sql)
            .into_iter()
            .map(|row| row["v"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

fn set(root: &mut Value, dotted: &str, value: Value) {
    let mut node = root;
    let keys: Vec<&str> = dotted.split('.').collect();
    for key in &keys[..keys.len() - 1] {
        node = node
            .get_mut(*key)
            .unwrap_or_else(|| panic!("studies/java/params.yaml has no `{dotted}`"));
    }
    let map = node.as_mapping_mut().expect("a mapping");
    map.insert(Value::from(*keys.last().unwrap()), value);
}

fn yaml(text: &str) -> Value {
    serde_norway::from_str(text).unwrap()
}

/// The study's params.yaml with tiny sizes (everything else, the language and the taxonomy
/// included, as committed).
fn tiny_params(study: &Study) -> String {
    let mut params: Value = serde_norway::from_str(&study.read("params.yaml")).unwrap();
    set(&mut params, "preprocess.testbed.max_snippets", yaml("40"));
    set(&mut params, "tokenizer.vocab_size", yaml("400"));
    set(&mut params, "tokenizer.min_frequency", yaml("1"));
    for model in ["gru", "gpt2"] {
        let key = format!("train.models.{model}");
        set(&mut params, &format!("{key}.context_length"), yaml("32"));
        set(&mut params, &format!("{key}.batch_size"), yaml("8"));
        set(&mut params, &format!("{key}.max_steps"), yaml("3"));
        set(&mut params, &format!("{key}.warmup_steps"), yaml("1"));
        set(&mut params, &format!("{key}.max_valid_snippets"), yaml("8"));
    }
    set(
        &mut params,
        "train.models.gru.model",
        yaml("{architecture: gru, embedding: 16, hidden: 16, layers: 1}"),
    );
    set(
        &mut params,
        "train.models.gpt2.model",
        yaml("{architecture: gpt2, layers: 1, heads: 2, width: 16}"),
    );
    set(&mut params, "infer.batch_size", yaml("32"));
    set(&mut params, "tag.bootstrap", yaml("50"));
    set(
        &mut params,
        "analyze.bootstrap",
        yaml("{resamples: 100, confidence_level: 0.95, method: percentile}"),
    );
    serde_norway::to_string(&params).unwrap()
}

fn stage_binaries_are_built() {
    let dir = Path::new(BIN).parent().unwrap();
    for stage in STAGES {
        let path = dir.join(format!("icodegen-{stage}"));
        assert!(
            path.exists(),
            "{} is missing: build every binary first (`cargo build --workspace --bins`, as scripts/test.sh does)",
            path.display()
        );
    }
}

#[test]
fn java_study_runs_end_to_end_on_real_java_with_the_astrust_taxonomy() {
    stage_binaries_are_built();
    let study = Study::new();
    study.pin_slice();
    std::fs::write(study.study("params.yaml"), tiny_params(&study)).unwrap();

    // Every stage runs, from the download to the report, in the study's own folder.
    let (_, output) = study.ok(&["repro"]);
    assert!(output.contains("Done: 12 ran"), "{output}");
    assert!(
        output.contains("fetch.sh: 1 tarballs in data/raw/train"),
        "{output}"
    );
    let (status, _) = study.ok(&["status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let stages = status["stages"].as_object().unwrap();
    assert_eq!(stages.len(), 12);
    assert!(
        stages.values().all(|stage| stage["state"] == "fresh"),
        "{status}"
    );
    let (_, again) = study.ok(&["repro"]);
    assert!(!again.contains("Running `"), "{again}");
    for generated in ["data/raw", "data/work", "report", "cache", "pipeline.lock"] {
        assert!(study.study(generated).exists(), "{generated}");
        assert!(
            !study.root().join(generated).exists(),
            "{generated} at the top"
        );
    }

    // Ingest read Java methods only, from both packages, into train, valid and test.
    let ingest: serde_json::Value =
        serde_json::from_str(&study.read("data/work/ingest.json")).unwrap();
    let kept = ingest["kept_by_language"].as_object().unwrap();
    assert_eq!(kept.keys().collect::<Vec<_>>(), ["java"], "{ingest}");
    for split in ["train", "valid", "test"] {
        assert!(
            ingest["kept_by_split"][split].as_u64().unwrap() > 0,
            "{split}: {ingest}"
        );
    }
    let repos = study.column("SELECT DISTINCT repo AS v FROM snippets");
    assert_eq!(repos.len(), 2, "{repos:?}");

    // Every intervention made Java pairs, each with a control and a treated row.
    for intervention in ["comments", "bugfix", "rename", "syntax"] {
        let rows = study.query(&format!(
            "SELECT treatment, count(*) AS n FROM testbed WHERE intervention = '{intervention}' \
             AND language = 'java' GROUP BY treatment ORDER BY treatment"
        ));
        assert_eq!(rows.len(), 2, "{intervention}: {rows:?}");
        assert_eq!(rows[0]["n"], rows[1]["n"], "{intervention}: {rows:?}");
    }

    // Tokens are bound to Java's own tree: its node types, never a `text` or ERROR leaf.
    let leaves =
        study.column("SELECT DISTINCT node_type AS v FROM tags WHERE node_type IS NOT NULL");
    for expected in ["identifier", "type_identifier", "{", ";", "return"] {
        assert!(leaves.contains(expected), "{expected}: {leaves:?}");
    }
    assert!(
        !leaves.contains("text") && !leaves.contains("ERROR"),
        "{leaves:?}"
    );
    let parents = study.column("SELECT DISTINCT parent_type AS v FROM tags");
    for expected in [
        "method_declaration",
        "method_invocation",
        "formal_parameter",
        "local_variable_declaration",
    ] {
        assert!(parents.contains(expected), "{expected}: {parents:?}");
    }
    let nodes = study.column("SELECT DISTINCT node_type AS v FROM nodes");
    assert!(
        nodes.contains("block") && nodes.contains("if_statement"),
        "{nodes:?}"
    );

    // Concept categories are the ASTrust-style taxonomy's (docode's java.yaml has `blocks`,
    // `conditionals`, `loops`), and they cover most tokens (docode's leave ~43% uncategorised).
    let categories =
        study.column("SELECT DISTINCT category AS v FROM tags WHERE category IS NOT NULL");
    for expected in [
        "scope",
        "decision",
        "natural_language",
        "oop",
        "declarations",
    ] {
        assert!(categories.contains(expected), "{expected}: {categories:?}");
    }
    for docode in ["blocks", "conditionals", "loops"] {
        assert!(!categories.contains(docode), "{docode}: {categories:?}");
    }
    let share = study.query(
        "SELECT avg(CASE WHEN category IS NULL THEN 1.0 ELSE 0.0 END) AS v FROM tags \
         WHERE node_type IS NOT NULL",
    );
    let uncategorised = share[0]["v"].as_f64().unwrap();
    assert!(uncategorised < 0.25, "uncategorised share {uncategorised}");

    // The report: both models, Java's categories, and an effect per intervention per model.
    let report = study.read("report/index.html");
    for expected in ["gru", "gpt2", "natural_language", "decision", "scope"] {
        assert!(report.contains(expected), "the report lacks {expected}");
    }
    assert!(study.study("report/summary.md").exists());
    let paired = study.read("report/tables/interventions.csv");
    let header: Vec<&str> = paired.lines().next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|c| *c == name).unwrap();
    let (model, intervention, outcome, pairs) = (
        column("model_id"),
        column("intervention"),
        column("outcome"),
        column("n_pairs"),
    );
    for model_id in ["gru", "gpt2"] {
        for name in ["comments", "bugfix", "rename", "syntax"] {
            let row = paired
                .lines()
                .skip(1)
                .map(|line| line.split(',').collect::<Vec<_>>())
                .find(|row| {
                    row[model] == model_id
                        && row[intervention] == name
                        && row[outcome] == "cross_entropy"
                })
                .unwrap_or_else(|| panic!("no {model_id} {name} cross_entropy row:\n{paired}"));
            assert!(
                row[pairs].parse::<u64>().unwrap() > 0,
                "{model_id} {name}: {row:?}"
            );
        }
    }

    // The taxonomy is a real dep through the study's `taxonomies` link: editing the repository's
    // file makes exactly the tag stages and analyze stale.
    let taxonomy = study.root().join("data/taxonomies/java-astrust.yaml");
    let mut text = std::fs::read_to_string(&taxonomy).unwrap();
    text.push_str("# edited\n");
    std::fs::write(&taxonomy, text).unwrap();
    let (status, _) = study.ok(&["status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let stale: BTreeSet<&str> = status["stages"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, stage)| stage["state"] != "fresh")
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        stale,
        BTreeSet::from(["tag@gru", "tag@gpt2", "analyze"]),
        "{status}"
    );
}

#[test]
fn java_study_fetch_refuses_a_tarball_whose_sha256_is_not_the_pinned_one() {
    let study = Study::new();
    let list = study.study("corpus/bad.txt");
    std::fs::write(
        &list,
        format!("cordova-android 12.0.1 {} Apache-2.0\n", "0".repeat(64)),
    )
    .unwrap();
    let output = Command::new("bash")
        .args(["fetch.sh", "corpus/bad.txt", "data/raw/train"])
        .current_dir(study.study(""))
        .env("PATH", study.path_env())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cordova-android 12.0.1: sha256") && stderr.contains("is not the pinned"),
        "{stderr}"
    );
    // Nothing is left: neither the out nor the temp folder beside it.
    let raw = study.study("data/raw");
    let left: Vec<_> = std::fs::read_dir(&raw)
        .map(|entries| entries.flatten().map(|entry| entry.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}
