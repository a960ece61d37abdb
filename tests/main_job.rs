//! The default study (the repository's own `pipeline.yaml` and `params.yaml`) run end to end by
//! the built binaries on a tiny corpus: every stage really runs (tree-sitter, libtorch training
//! and scoring, tagging, the study report), and the incremental behaviour the main job promises
//! holds: a model's hyper-parameter re-runs only that model's stages and analyze, returning to
//! it restores from the run-cache, a third model runs only its own stages and analyze, and a
//! Hugging Face checkpoint folder dropped into pipeline.yaml runs through infer, tag and analyze.
//!
//! Only two things differ from the real study: sizes (params.yaml is the real one with smaller
//! numbers written over it) and `scripts/fetch_corpus.sh`, which here copies sdists made by the
//! test instead of downloading from PyPI (tests do not use the network).
//!
//! Needs the stage binaries built beside the runner (`cargo build --workspace --bins`, which
//! `scripts/test.sh` does first).
#![allow(clippy::disallowed_methods)] // test code may use std::fs (clippy.toml)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_norway::Value;

const RUNNER: &str = env!("CARGO_BIN_EXE_icodegen");
const STAGES: [&str; 6] = ["ingest", "preprocess", "train", "infer", "tag", "analyze"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Python functions with the constructs the interventions and taxonomies look for (comments,
/// docstrings, conditions, loops, exceptions, comparisons and arithmetic as bug sites), drawn
/// from a seeded generator so that no two are near duplicates of each other.
fn module(package: &str, count: usize) -> String {
    const WORDS: [&str; 16] = [
        "total", "item", "value", "count", "name", "path", "limit", "index", "result", "size",
        "buffer", "entry", "offset", "key", "score", "label",
    ];
    let mut state = blake3::hash(package.as_bytes()).as_bytes()[0] as u64 + 1;
    let mut next = |n: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % n
    };
    let mut text = String::from("\"\"\"A module of the test corpus.\"\"\"\nimport os\n\n");
    for i in 0..count {
        let mut word = || WORDS[next(WORDS.len())];
        let (a, b, c, d) = (word(), word(), word(), word());
        text.push_str(&format!(
            "def {package}_{a}_{b}_{i}({a}s, {c}={i}):\n    \"\"\"Compute the {b} of the {a}s ({i}).\"\"\"\n"
        ));
        text.push_str(&format!("    {d} = []\n"));
        let mut statements = Vec::new();
        for _ in 0..(3 + next(4)) {
            let k = next(1000);
            let (x, y) = (WORDS[next(16)], WORDS[next(16)]);
            statements.push(match next(8) {
                0 => format!("    # keep the {x} below {k}\n    if {c} < {k} and {x}_{k} != {c}:\n        {d}.append({c} * {})\n", next(9) + 2),
                1 => format!("    for {x} in {a}s:\n        if {x} is not None:\n            {d}.append(str({x}) + '{y}')\n"),
                2 => format!("    try:\n        with open(os.path.join('{x}', '{y}')) as handle:\n            {d}.append(handle.read())\n    except OSError as error:\n        print('cannot read {x}', error)\n"),
                3 => format!("    {x}_{k} = {c} + {k} - len({a}s)\n    while {x}_{k} > 0:\n        {x}_{k} -= {}\n", next(5) + 1),
                4 => format!("    {y}_map = {{'{x}': {k}, '{y}': {c}}}\n    {d}.extend(sorted({y}_map.values()))\n"),
                5 => format!("    if not {a}s:\n        raise ValueError('no {a}s for {y}')\n"),
                6 => format!("    {d} = [{x} for {x} in {d} if {x} != {k}]  # drop {y}\n"),
                _ => format!("    {c} = max({c}, {k}) // {}\n", next(7) + 1),
            });
        }
        text.push_str(&statements.concat());
        text.push_str(&format!("    return {d}\n\n"));
    }
    text
}

/// `dir/<name>-1.0.tar.gz`, an sdist-like archive of two modules.
fn sdist(dir: &Path, name: &str, functions: usize) {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join(format!("{name}-1.0"));
    std::fs::create_dir_all(root.join(name)).unwrap();
    std::fs::write(root.join(name).join("core.py"), module(name, functions)).unwrap();
    std::fs::write(
        root.join(name).join("util.py"),
        module(&format!("{name}_util"), functions / 2),
    )
    .unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let status = Command::new("tar")
        .arg("czf")
        .arg(dir.join(format!("{name}-1.0.tar.gz")))
        .arg("-C")
        .arg(work.path())
        .arg(format!("{name}-1.0"))
        .status()
        .expect("tar");
    assert!(status.success());
}

fn set(root: &mut Value, dotted: &str, value: Value) {
    let mut node = root;
    let keys: Vec<&str> = dotted.split('.').collect();
    for key in &keys[..keys.len() - 1] {
        node = node
            .get_mut(*key)
            .unwrap_or_else(|| panic!("params.yaml has no `{dotted}`"));
    }
    let map = node.as_mapping_mut().expect("a mapping");
    map.insert(Value::from(*keys.last().unwrap()), value);
}

fn yaml(text: &str) -> Value {
    serde_norway::from_str(text).unwrap()
}

/// The repository's params.yaml with tiny sizes.
fn tiny_params() -> Value {
    let text = std::fs::read_to_string(repo().join("params.yaml")).unwrap();
    let mut params: Value = serde_norway::from_str(&text).unwrap();
    set(&mut params, "preprocess.testbed.max_snippets", yaml("40"));
    set(&mut params, "tokenizer.vocab_size", yaml("300"));
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
    params
}

struct Study {
    dir: tempfile::TempDir,
}

impl Study {
    /// A copy of the default study's definition with a tiny corpus and tiny params.
    fn new() -> Study {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for file in [
            "pipeline.yaml",
            "data/corpus/train.txt",
            "data/corpus/test.txt",
        ] {
            std::fs::create_dir_all(root.join(file).parent().unwrap()).unwrap();
            std::fs::copy(repo().join(file), root.join(file)).unwrap();
        }
        let taxonomies = root.join("data/taxonomies");
        std::fs::create_dir_all(&taxonomies).unwrap();
        for entry in std::fs::read_dir(repo().join("data/taxonomies")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), taxonomies.join(entry.file_name())).unwrap();
        }
        for (name, functions) in [("alpha", 40), ("beta", 40), ("gamma", 36)] {
            sdist(&root.join("sdists/train"), name, functions);
        }
        sdist(&root.join("sdists/test"), "delta", 24);
        std::fs::create_dir_all(root.join("scripts")).unwrap();
        std::fs::write(
            root.join("scripts/fetch_corpus.sh"),
            "#!/usr/bin/env bash\n# Test stand-in for the download: copies the sdists the test made.\nset -euo pipefail\nrm -rf \"$2\"\nmkdir -p \"$(dirname \"$2\")\"\ncp -r \"sdists/$(basename \"$1\" .txt)\" \"$2\"\n",
        )
        .unwrap();
        let study = Study { dir };
        study.write_params(&tiny_params());
        study
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn write_params(&self, params: &Value) {
        std::fs::write(
            self.root().join("params.yaml"),
            serde_norway::to_string(params).unwrap(),
        )
        .unwrap();
    }

    fn params(&self) -> Value {
        serde_norway::from_str(&std::fs::read_to_string(self.root().join("params.yaml")).unwrap())
            .unwrap()
    }

    fn icodegen(&self, args: &[&str]) -> Output {
        Command::new(RUNNER)
            .args(args)
            .current_dir(self.root())
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
        let both = format!("{stdout}{stderr}");
        (stdout, both)
    }

    /// What `repro` printed (stdout and stderr).
    fn repro(&self) -> String {
        self.ok(&["repro"]).1
    }

    /// Stage names in `state` according to `status --json`.
    fn in_state(&self, state: &str) -> BTreeSet<String> {
        let (stdout, _) = self.ok(&["status", "--json"]);
        let json: serde_json::Value =
            serde_json::from_str(&stdout).expect("status --json prints JSON");
        json["stages"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, stage)| stage["state"] == state)
            .map(|(name, _)| name.clone())
            .collect()
    }
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|name| (*name).to_owned()).collect()
}

fn stage_binaries_are_built() {
    let dir = Path::new(RUNNER).parent().unwrap();
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
fn default_study_runs_end_to_end_and_reruns_only_what_a_param_change_touches() {
    stage_binaries_are_built();
    let study = Study::new();

    // From nothing: every stage runs and the report appears.
    let first = study.repro();
    assert!(first.contains("Done: 12 ran"), "{first}");
    let report = std::fs::read_to_string(study.root().join("report/index.html")).unwrap();
    assert!(report.contains("gru") && report.contains("gpt2"));
    assert!(study.root().join("report/summary.md").exists());
    assert_eq!(study.in_state("fresh").len(), 12);

    // A transformer hyper-parameter: only that model's train, infer and tag, and analyze.
    let original = study.params();
    let mut changed = original.clone();
    set(
        &mut changed,
        "train.models.gpt2.learning_rate",
        yaml("0.002"),
    );
    study.write_params(&changed);
    let gpt2_and_analyze = names(&["train@gpt2", "infer@gpt2", "tag@gpt2", "analyze"]);
    let stale: BTreeSet<String> = study
        .in_state("stale")
        .union(&study.in_state("never-run"))
        .cloned()
        .collect();
    assert_eq!(stale, gpt2_and_analyze);
    let rerun = study.repro();
    assert!(rerun.contains("Done: 4 ran, 0 restored"), "{rerun}");
    assert!(!rerun.contains("Running `train@gru`"), "{rerun}");

    // Back to the previous value: the same four stages, restored from the run-cache.
    study.write_params(&original);
    assert_eq!(study.in_state("stale"), gpt2_and_analyze);
    let back = study.repro();
    assert!(back.contains("Done: 0 ran, 4 restored"), "{back}");
    assert_eq!(study.in_state("fresh").len(), 12);

    // A third model: its own stages and analyze, nothing else.
    let mut three = original.clone();
    set(&mut three, "models", yaml("[gru, gpt2, lstm]"));
    set(
        &mut three,
        "train.models.lstm",
        yaml(
            "{model: {architecture: lstm, embedding: 16, hidden: 16, layers: 1}, context_length: 32, batch_size: 8, epochs: 1, max_steps: 3, learning_rate: 0.003, seed: 1}",
        ),
    );
    study.write_params(&three);
    assert_eq!(
        study.in_state("never-run"),
        names(&["train@lstm", "infer@lstm", "tag@lstm"])
    );
    assert_eq!(study.in_state("stale"), names(&["analyze"]));
    let third = study.repro();
    assert!(third.contains("Done: 4 ran, 0 restored"), "{third}");
    let report = std::fs::read_to_string(study.root().join("report/index.html")).unwrap();
    assert!(report.contains("lstm"));

    // A Hugging Face checkpoint folder dropped into pipeline.yaml beside the trained models,
    // reached through a symlink that leaves the workspace (as a hub snapshot is): its infer and
    // tag, and analyze, which compares it with the others.
    let checkpoint = repo().join("stages/infer/tests/fixtures/hf/llama_linear");
    std::fs::create_dir_all(study.root().join("models")).unwrap();
    std::os::unix::fs::symlink(&checkpoint, study.root().join("models/tiny-llama")).unwrap();
    let mut pipeline = std::fs::read_to_string(study.root().join("pipeline.yaml")).unwrap();
    pipeline.push_str(HF_STAGES);
    std::fs::write(study.root().join("pipeline.yaml"), pipeline).unwrap();
    assert_eq!(
        study.in_state("never-run"),
        names(&["infer-llama", "tag-llama"])
    );
    let fourth = study.repro();
    assert!(fourth.contains("Done: 3 ran, 0 restored"), "{fourth}");
    let metrics: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(study.root().join("data/work/infer/llama.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(metrics["model_format"], "huggingface");
    assert!(metrics["scored_tokens"].as_u64().unwrap() > 100);
    let report = std::fs::read_to_string(study.root().join("report/index.html")).unwrap();
    assert!(report.contains("llama"));
    // The checkpoint was only read.
    assert!(!checkpoint.join(".icodegen").exists());

    // The same checkpoint scored in 3 shards (a models x shards matrix, as the Slurm executor
    // submits as a job array) and merged: the same bytes as the unsharded run.
    let mut pipeline = std::fs::read_to_string(study.root().join("pipeline.yaml")).unwrap();
    pipeline.push_str(SHARDED_STAGES);
    std::fs::write(study.root().join("pipeline.yaml"), pipeline).unwrap();
    let sharded = study.repro();
    assert!(sharded.contains("Done: 4 ran, 0 restored"), "{sharded}");
    for file in ["tokens.parquet", "scores.parquet"] {
        assert_eq!(
            std::fs::read(study.root().join("data/work/results/llama").join(file)).unwrap(),
            std::fs::read(study.root().join("data/work/sharded/llama").join(file)).unwrap(),
            "{file}"
        );
    }
}

/// The README's sharded audit (Slurm section): `infer@MODEL-SHARD` parts, then a merge.
const SHARDED_STAGES: &str = r#"
  infer-shard:
    matrix:
      model: [llama]
      shard: [0, 1, 2]
    cmd: >-
      icodegen-infer --params params.yaml --model models/tiny-${item.model} --model-id ${item.model}
      --testbed data/work/testbed.parquet --shard ${item.shard}/3
      --tokens data/work/parts/${item.model}/tokens-${item.shard}.parquet
    deps: ["models/tiny-${item.model}", data/work/testbed.parquet]
    params: [infer]
    outs: ["data/work/parts/${item.model}/tokens-${item.shard}.parquet"]
  merge-llama:
    cmd: >-
      icodegen-infer --merge data/work/parts/llama/tokens-0.parquet data/work/parts/llama/tokens-1.parquet
      data/work/parts/llama/tokens-2.parquet --model models/tiny-llama --testbed data/work/testbed.parquet
      --tokens data/work/sharded/llama/tokens.parquet --scores data/work/sharded/llama/scores.parquet
    deps: [models/tiny-llama, data/work/testbed.parquet, data/work/parts/llama]
    outs: [data/work/sharded/llama/tokens.parquet, data/work/sharded/llama/scores.parquet]
"#;

/// The README's "Bring your own model" stages, for a checkpoint folder under models/.
const HF_STAGES: &str = r#"
  infer-llama:
    cmd: >-
      icodegen-infer --params params.yaml --model models/tiny-llama --model-id llama
      --testbed data/work/testbed.parquet --tokens data/work/results/llama/tokens.parquet
      --scores data/work/results/llama/scores.parquet --metrics data/work/infer/llama.json
    deps: [models/tiny-llama, data/work/testbed.parquet]
    params: [infer]
    outs: [data/work/results/llama/tokens.parquet, data/work/results/llama/scores.parquet]
    metrics: [data/work/infer/llama.json]
  tag-llama:
    cmd: >-
      icodegen-tag --params params.yaml --testbed data/work/testbed.parquet
      --tokens data/work/results/llama/tokens.parquet --tags data/work/results/llama/tags.parquet
      --concepts data/work/results/llama/concepts.parquet --nodes data/work/results/llama/nodes.parquet
      --global data/work/results/llama/concepts_global.parquet
    deps: [data/work/testbed.parquet, data/work/results/llama/tokens.parquet, data/taxonomies]
    params: [tag]
    outs: [data/work/results/llama/tags.parquet, data/work/results/llama/concepts.parquet,
           data/work/results/llama/nodes.parquet, data/work/results/llama/concepts_global.parquet]
"#;
