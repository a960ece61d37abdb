//! icodegen-train driven as a user runs it: a tokenizer, then tiny models of each architecture
//! on a snippets artifact written here.
#![allow(clippy::disallowed_methods)] // test code may use std::fs (clippy.toml)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use icodegen_artifacts::schemas::snippets;
use icodegen_artifacts::{content_id, write_all};
use icodegen_lm::config::ModelConfig;
use icodegen_lm::model_dir;
use icodegen_lm::training::TrainMetrics;

const TRAIN_CODE: &[&str] = &[
    "def add(a, b):\n    return a + b\n",
    "def sub(a, b):\n    return a - b\n",
    "def mul(a, b):\n    return a * b\n",
    "def mean(values):\n    total = 0\n    for value in values:\n        total += value\n    return total / len(values)\n",
    "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n",
    "for i in range(10):\n    if i % 2 == 0:\n        print(i)\n",
    "def greet(name):\n    print(\"héllo \" + name)\n",
];
const VALID_CODE: &[&str] = &[
    "def div(a, b):\n    return a / b\n",
    "def neg(a):\n    return -a\n",
];

fn write_snippets(dir: &Path, train: &[&str], valid: &[&str]) -> PathBuf {
    let mut rows = Vec::new();
    for (split, codes) in [
        ("train", train),
        ("valid", valid),
        ("test", &["def t():\n    pass\n"][..]),
    ] {
        for (index, code) in codes.iter().enumerate() {
            // The training split repeats so a few epochs have several batches.
            for copy in 0..if split == "train" { 4 } else { 1 } {
                let code = if copy == 0 {
                    (*code).to_owned()
                } else {
                    format!("{code}# {copy}\n")
                };
                rows.push(snippets::Row {
                    snippet_id: content_id("python", &code),
                    language: "python".to_owned(),
                    n_bytes: code.len() as i64,
                    code,
                    source: "tree".to_owned(),
                    path: Some(format!("{split}/{index}.py")),
                    split: split.to_owned(),
                    ..Default::default()
                });
            }
        }
    }
    let path = dir.join("snippets.parquet");
    write_all(&path, "ingest", &rows).unwrap();
    path
}

const PARAMS: &str = r#"
tokenizer:
  vocab_size: 320
  min_frequency: 1
train:
  models:
    gru:
      model: {architecture: gru, embedding: 16, hidden: 32, layers: 2, dropout: 0.1}
      context_length: 24
      batch_size: 8
      epochs: 3
      learning_rate: 0.01
      warmup_steps: 2
      seed: 7
    lstm:
      model: {architecture: lstm, embedding: 16, hidden: 32, layers: 1}
      max_valid_snippets: 1
      context_length: 24
      batch_size: 8
      epochs: 2
      learning_rate: 0.01
      seed: 7
    gpt2:
      model: {architecture: gpt2, layers: 2, heads: 2, width: 32, dropout: 0.1}
      context_length: 24
      batch_size: 8
      epochs: 5
      max_steps: 6
      learning_rate: 0.003
      min_learning_rate: 0.0003
      warmup_steps: 2
      seed: 7
"#;

fn train(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_icodegen-train"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn ok(output: Output) -> Output {
    assert!(
        output.status.success(),
        "icodegen-train failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A directory with params.yaml, snippets.parquet and a trained tokenizer.json.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("params.yaml"), PARAMS).unwrap();
    write_snippets(dir.path(), TRAIN_CODE, VALID_CODE);
    ok(train(
        dir.path(),
        &[
            "tokenizer",
            "--snippets",
            "snippets.parquet",
            "--out",
            "tokenizer.json",
        ],
    ));
    dir
}

fn train_model(dir: &Path, name: &str, out: &str) -> Output {
    let key = format!("train.models.{name}");
    train(
        dir,
        &[
            "model",
            "--key",
            &key,
            "--snippets",
            "snippets.parquet",
            "--tokenizer",
            "tokenizer.json",
            "--out",
            out,
            "--device",
            "cpu",
            "--threads",
            "1",
        ],
    )
}

fn metrics(dir: &Path) -> TrainMetrics {
    serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap()
}

#[test]
fn each_architecture_trains_into_a_complete_model_directory() {
    let dir = workspace();
    for name in ["gru", "lstm", "gpt2"] {
        ok(train_model(dir.path(), name, name));
        let model = dir.path().join(name);
        for file in [
            "config.json",
            "tokenizer.json",
            "model.safetensors",
            "metrics.json",
        ] {
            assert!(model.join(file).is_file(), "{name} lacks {file}");
        }
        let config = ModelConfig::load(model.join("config.json")).unwrap();
        assert_eq!(config.model.as_ref().unwrap().name(), name);
        assert_eq!(config.vocab_size, 320);
        let metrics = metrics(&model);
        assert!(metrics.parameters > 1000);
        assert_eq!(
            metrics.valid_sequences,
            if name == "lstm" { 1 } else { VALID_CODE.len() }
        );
        assert!(metrics.tokens_per_second > 0.0);
        for epoch in &metrics.epochs {
            assert!(epoch.train_loss.is_finite() && epoch.valid_loss.unwrap().is_finite());
        }
        // The directory loads back as a model for infer.
        let loaded = model_dir::load(&model, tch::Device::Cpu).unwrap();
        assert_eq!(loaded.tokenizer.vocab_size(), 320);
    }
    let gru = metrics(&dir.path().join("gru"));
    assert_eq!(gru.epochs.len(), 3);
    assert_eq!(gru.stopped_by, "epochs");
    assert_eq!(gru.steps, 3 * gru.batches_per_epoch);
    let (first, last) = (&gru.epochs[0], gru.epochs.last().unwrap());
    assert!(
        last.train_loss < first.train_loss,
        "the GRU learns: {first:?} -> {last:?}"
    );
    assert!(
        last.valid_loss < first.valid_loss,
        "and generalises a little: {first:?} -> {last:?}"
    );
    let gpt2 = metrics(&dir.path().join("gpt2"));
    assert_eq!((gpt2.steps, gpt2.stopped_by.as_str()), (6, "max_steps"));
}

#[test]
fn training_is_deterministic_for_a_seed() {
    let dir = workspace();
    ok(train_model(dir.path(), "gpt2", "first"));
    ok(train_model(dir.path(), "gpt2", "second"));
    let weights =
        |name: &str| std::fs::read(dir.path().join(name).join("model.safetensors")).unwrap();
    assert_eq!(
        weights("first"),
        weights("second"),
        "same seed, same bytes (dropout included)"
    );
    let hash = |name: &str| model_dir::directory_hash(&dir.path().join(name)).unwrap();
    assert_eq!(
        hash("first"),
        hash("second"),
        "the model hash ignores timings in metrics.json"
    );
    assert_eq!(metrics(&dir.path().join("first")).epochs, {
        let mut second = metrics(&dir.path().join("second")).epochs;
        for (a, b) in second
            .iter_mut()
            .zip(&metrics(&dir.path().join("first")).epochs)
        {
            (a.seconds, a.tokens_per_second) = (b.seconds, b.tokens_per_second);
        }
        second
    });
    let params = std::fs::read_to_string(dir.path().join("params.yaml")).unwrap();
    std::fs::write(
        dir.path().join("params.yaml"),
        params.replace("seed: 7", "seed: 8"),
    )
    .unwrap();
    ok(train_model(dir.path(), "gpt2", "third"));
    assert_ne!(
        weights("first"),
        weights("third"),
        "another seed, other weights"
    );
}

#[test]
fn a_time_budget_stops_training_and_says_so() {
    let dir = workspace();
    let params = PARAMS.replace("epochs: 2\n", "epochs: 0\n      max_minutes: 0.0001\n");
    std::fs::write(dir.path().join("params.yaml"), params).unwrap();
    ok(train_model(dir.path(), "lstm", "lstm"));
    let metrics = metrics(&dir.path().join("lstm"));
    assert_eq!(metrics.stopped_by, "max_minutes");
    assert!(
        metrics.steps >= 1 && metrics.steps < 1000,
        "{} steps",
        metrics.steps
    );
}

fn assert_usage_error(output: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "stderr lacks {needle:?}: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_params_and_inputs_exit_2_and_write_nothing() {
    let dir = workspace();
    let typo = PARAMS.replace("hidden: 32, layers: 2", "hiden: 32, layers: 2");
    std::fs::write(dir.path().join("params.yaml"), typo).unwrap();
    assert_usage_error(
        &train_model(dir.path(), "gru", "gru"),
        &["hiden", "train.models.gru"],
    );
    let heads = PARAMS.replace("heads: 2, width: 32", "heads: 3, width: 32");
    std::fs::write(dir.path().join("params.yaml"), heads).unwrap();
    assert_usage_error(
        &train_model(dir.path(), "gpt2", "gpt2"),
        &["multiple of heads"],
    );
    std::fs::write(dir.path().join("params.yaml"), PARAMS).unwrap();
    assert_usage_error(
        &train_model(dir.path(), "transformer", "x"),
        &["train.models.transformer"],
    );
    if !tch::Cuda::is_available() {
        let output = train(
            dir.path(),
            &[
                "model",
                "--key",
                "train.models.gru",
                "--snippets",
                "snippets.parquet",
                "--tokenizer",
                "tokenizer.json",
                "--out",
                "cuda",
                "--device",
                "cuda",
            ],
        );
        assert_usage_error(&output, &["no CUDA device"]);
    }
    // No training split.
    let empty = tempfile::tempdir().unwrap();
    write_snippets(empty.path(), &[], VALID_CODE);
    let output = train(
        dir.path(),
        &[
            "tokenizer",
            "--snippets",
            &empty.path().join("snippets.parquet").to_string_lossy(),
            "--out",
            "t.json",
        ],
    );
    assert_usage_error(&output, &["split `train`"]);
    // A tokenizer without the pad token.
    std::fs::write(
        dir.path().join("params.yaml"),
        PARAMS.replace(
            "min_frequency: 1",
            "min_frequency: 1\n  pad_token: \"<|endoftext|>\"",
        ),
    )
    .unwrap();
    ok(train(
        dir.path(),
        &[
            "tokenizer",
            "--snippets",
            "snippets.parquet",
            "--out",
            "tokenizer.json",
        ],
    ));
    std::fs::write(dir.path().join("params.yaml"), PARAMS).unwrap();
    assert_usage_error(
        &train_model(dir.path(), "gru", "gru"),
        &["no pad token `<|pad|>`"],
    );
    for name in ["gru", "gpt2", "x", "cuda", "t.json"] {
        assert!(
            !dir.path().join(name).exists(),
            "{name} was written despite the error"
        );
    }
}
