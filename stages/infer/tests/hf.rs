//! Hugging Face checkpoint folders scored natively, against references from `transformers`
//! (`scripts/reference/make_hf_fixtures.py`: 14 tiny random checkpoints of the nine families,
//! both config dialects, one sharded, one stored in bfloat16, and for fixed code inputs the
//! per-token log-probabilities of transformers' eager float32 model, one row at a time without
//! padding, plus transformers' own bfloat16 log-probabilities).
//!
//! icodegen-infer scores the same inputs batched with right padding, in sliding windows of the
//! fixture's context and stride, as a user runs it.
#![allow(clippy::disallowed_methods)] // test code may use std::fs (clippy.toml)

mod common;

use std::path::{Path, PathBuf};

use icodegen_artifacts::read_metadata;
use icodegen_lm::device::DtypeChoice;
use icodegen_lm::model_dir::{self, LoadOptions};
use serde_json::Value;
use tch::{Device, Kind, Tensor};

use common::*;

const FIXTURES: &[&str] = &[
    "gpt2",
    "gpt_neo",
    "gpt_neox_parallel",
    "gpt_neox_sequential",
    "gpt_bigcode_mqa",
    "gpt_bigcode_mha",
    "codegen",
    "llama_linear",
    "llama3_bias",
    "llama_mqa_sharded",
    "mistral",
    "qwen2",
    "qwen2_sliding",
    "starcoder2",
];

fn checkpoint(name: &str) -> PathBuf {
    fixtures().join("hf").join(name)
}

fn expected(name: &str) -> Value {
    let path = fixtures().join("hf").join(format!("{name}.expected.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn codes(expected: &Value) -> Vec<&str> {
    expected["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["code"].as_str().unwrap())
        .collect()
}

/// The fixture's windows, top-k, and batches of 3 windows (so rows of different lengths are
/// padded together).
fn params(expected: &Value, dtype: &str) -> String {
    format!(
        "  batch_size: 3\n  max_context: {}\n  stride: {}\n  top_k: {}\n  dtype: {dtype}\n",
        expected["context"], expected["stride"], expected["top_k"]
    )
}

/// Scores `name`'s inputs in `dtype`; returns (run, its temp dir).
fn score(name: &str, dtype: &str, model: &Path) -> (Run, tempfile::TempDir) {
    let expected = expected(name);
    let dir = tempfile::tempdir().unwrap();
    let testbed = write_testbed(dir.path(), &codes(&expected));
    let run = infer(
        dir.path(),
        model,
        &testbed,
        &params(&expected, dtype),
        &[
            "--metrics",
            dir.path().join("metrics.json").to_str().unwrap(),
        ],
    );
    (run, dir)
}

/// Compares one fixture's float32 scores with transformers'; returns the problems found.
fn float32_problems(name: &str) -> Vec<String> {
    let expected = expected(name);
    let (run, _dir) = score(name, "float32", &checkpoint(name));
    if !run.output.status.success() {
        return vec![format!("{name}: icodegen-infer failed: {}", run.stderr())];
    }
    let tokens = run.tokens();
    let scores = run.scores();
    let mut problems = Vec::new();
    let mut compared = 0;
    for row in expected["rows"].as_array().unwrap() {
        let code = row["code"].as_str().unwrap();
        let ids: Vec<i64> = row["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_i64().unwrap())
            .collect();
        let positions = row["positions"].as_array().unwrap();
        let ours = rows_of(&tokens, code);
        let score = scores
            .iter()
            .find(|s| s.row_id == icodegen_artifacts::content_id("python", code))
            .unwrap();
        if ours.len() != positions.len() {
            problems.push(format!(
                "{name} {code:?}: {} scored tokens, transformers {} (ids {ids:?}, skip {:?})",
                ours.len(),
                positions.len(),
                score.skip_reason
            ));
            continue;
        }
        for (at, (token, reference)) in ours.iter().zip(positions).enumerate() {
            let position = at + 1;
            let here = format!("{name} {code:?} position {position}");
            if token.position as usize != position || i64::from(token.token_id) != ids[position] {
                problems.push(format!(
                    "{here}: token {} at {}, transformers {}",
                    token.token_id, token.position, ids[position]
                ));
                continue;
            }
            let offsets = &row["byte_offsets"][position];
            let span = token.byte_start.zip(token.byte_end);
            let reference_span = offsets.as_array().map(|pair| {
                (
                    pair[0].as_i64().unwrap() as i32,
                    pair[1].as_i64().unwrap() as i32,
                )
            });
            if span != reference_span {
                problems.push(format!(
                    "{here}: span {span:?}, transformers {reference_span:?}"
                ));
            }
            let logprob = reference["logprob"].as_f64().unwrap();
            if (f64::from(token.logprob) - logprob).abs() > 1e-4 {
                problems.push(format!(
                    "{here}: logprob {} vs transformers {logprob}",
                    token.logprob
                ));
            }
            let entropy = reference["entropy"].as_f64().unwrap();
            if (f64::from(token.entropy) - entropy).abs() > 1e-4 {
                problems.push(format!(
                    "{here}: entropy {} vs transformers {entropy}",
                    token.entropy
                ));
            }
            let tie = reference["tie_gap"].as_f64().unwrap() < 1e-4;
            if !tie && i64::from(token.rank) != reference["rank"].as_i64().unwrap() {
                problems.push(format!(
                    "{here}: rank {} vs transformers {}",
                    token.rank, reference["rank"]
                ));
            }
            let top: Vec<i64> = reference["topk_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|id| id.as_i64().unwrap())
                .collect();
            let ours_top: Vec<i64> = token.topk_ids.iter().map(|&id| i64::from(id)).collect();
            if reference["topk_gap"].as_f64().unwrap() >= 1e-4 && ours_top != top {
                problems.push(format!(
                    "{here}: top-k {ours_top:?} vs transformers {top:?}"
                ));
            }
            compared += 1;
        }
    }
    if compared < 20 {
        problems.push(format!("{name}: only {compared} positions compared"));
    }
    problems
}

#[test]
fn every_family_matches_transformers_in_float32() {
    let problems: Vec<String> = FIXTURES
        .iter()
        .flat_map(|name| float32_problems(name))
        .collect();
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn bfloat16_error_is_within_a_quarter_more_than_transformers_own() {
    let mut problems = Vec::new();
    for name in FIXTURES {
        let expected = expected(name);
        let (run, dir) = score(name, "bfloat16", &checkpoint(name));
        if !run.output.status.success() {
            problems.push(format!("{name}: failed: {}", run.stderr()));
            continue;
        }
        let metrics: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("metrics.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(metrics["dtype"], "bfloat16", "{name}");
        let tokens = run.tokens();
        let (mut error, mut count) = (0.0, 0);
        for row in expected["rows"].as_array().unwrap() {
            let ours = rows_of(&tokens, row["code"].as_str().unwrap());
            for (token, reference) in ours.iter().zip(row["positions"].as_array().unwrap()) {
                error += (f64::from(token.logprob) - reference["logprob"].as_f64().unwrap()).abs();
                count += 1;
            }
        }
        let ours = error / count as f64;
        let theirs = expected["bf16_mae"].as_f64().unwrap();
        eprintln!("{name}: bfloat16 MAE {ours:.5} nats, transformers {theirs:.5}");
        if ours > 1.25 * theirs || ours > 0.05 {
            problems.push(format!(
                "{name}: bfloat16 MAE {ours:.5} nats, transformers' own {theirs:.5}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_tokenizer_that_adds_its_own_bos_gives_exactly_one() {
    let name = "llama_linear";
    let expected = expected(name);
    assert_eq!(expected["adds_bos"], true);
    let model = model_dir::load(checkpoint(name), Device::Cpu).unwrap();
    let bos = expected["bos_token_id"].as_i64().unwrap();
    assert_eq!(model.config.bos_id, Some(bos));
    for row in expected["rows"].as_array().unwrap() {
        let code = row["code"].as_str().unwrap();
        let prepared = icodegen_infer::prepare(&model, &[code]).unwrap();
        let ids = &prepared[0].ids;
        assert_eq!(
            ids.iter().filter(|&&id| id == bos).count(),
            1,
            "{code:?}: {ids:?}"
        );
        assert_eq!(ids[0], bos);
        let reference: Vec<i64> = row["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_i64().unwrap())
            .collect();
        assert_eq!(ids, &reference, "{code:?}");
    }
    // GPT-2's tokenizer adds none, and none is added.
    let gpt2 = model_dir::load(checkpoint("gpt2"), Device::Cpu).unwrap();
    assert_eq!(gpt2.config.bos_id, None);
}

#[test]
fn a_fully_padded_row_puts_nan_nowhere() {
    for name in ["mistral", "gpt_neo", "starcoder2", "codegen"] {
        let model = model_dir::load(checkpoint(name), Device::Cpu).unwrap();
        let time = 20;
        let ids = Tensor::from_slice(&(0..2 * time).map(|i| 5 + i % 40).collect::<Vec<i64>>())
            .view([2, time]);
        // Row 0: 12 real tokens (its padded queries past the window see no real key); row 1:
        // nothing but padding.
        let mask: Vec<i64> = (0..2 * time).map(|i| i64::from(i < 12)).collect();
        let mask = Tensor::from_slice(&mask).view([2, time]);
        let logits = tch::no_grad(|| model.model.logits(&ids, Some(&mask), false)).unwrap();
        let finite = logits.isfinite().all().int64_value(&[]);
        assert_eq!(finite, 1, "{name}: NaN or inf in the logits");
        // Real positions are what they are without the padded row.
        let alone = tch::no_grad(|| {
            model
                .model
                .logits(&ids.narrow(0, 0, 1).narrow(1, 0, 12), None, false)
        })
        .unwrap();
        let difference = (logits.narrow(0, 0, 1).narrow(1, 0, 12) - alone)
            .abs()
            .max()
            .double_value(&[]);
        assert!(
            difference < 1e-4,
            "{name}: padding changed real positions by {difference}"
        );
    }
}

#[test]
fn metrics_and_metadata_record_parameters_dtype_and_device() {
    let name = "llama_mqa_sharded";
    let (run, dir) = score(name, "auto", &checkpoint(name));
    run.ok();
    let metrics: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("metrics.json")).unwrap())
            .unwrap();
    assert_eq!(metrics["model_format"], "huggingface");
    assert_eq!(metrics["dtype"], "float32", "auto is float32 on the CPU");
    assert_eq!(metrics["device"], "cpu");
    assert_eq!(metrics["checkpoint"]["model_type"], "llama");
    assert_eq!(metrics["checkpoint"]["files"].as_array().unwrap().len(), 5);
    // Every scalar of the five shards is a parameter of the model.
    let index: Value = serde_json::from_str(
        &std::fs::read_to_string(checkpoint(name).join("model.safetensors.index.json")).unwrap(),
    )
    .unwrap();
    let total_bytes = index["metadata"]["total_size"].as_i64().unwrap();
    assert_eq!(metrics["parameters"].as_i64().unwrap() * 4, total_bytes);
    let metadata = read_metadata(&run.scores).unwrap();
    let get = |key: &str| {
        metadata
            .key_values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(get("icodegen.dtype"), "float32");
    assert_eq!(get("icodegen.device"), "cpu");
    assert_eq!(get("icodegen.model_format"), "huggingface");
    assert_eq!(
        get("icodegen.model_parameters"),
        metrics["parameters"].to_string()
    );
}

#[test]
fn a_hub_snapshot_of_symlinks_into_a_blob_store_scores_the_same() {
    let name = "gpt_bigcode_mqa";
    let store = tempfile::tempdir().unwrap();
    let blobs = store.path().join("blobs");
    let snapshot = store.path().join("snapshots/abc123");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::create_dir_all(&snapshot).unwrap();
    for entry in std::fs::read_dir(checkpoint(name)).unwrap() {
        let entry = entry.unwrap();
        let blob = blobs.join(format!("blob-{}", entry.file_name().to_string_lossy()));
        std::fs::copy(entry.path(), &blob).unwrap();
        std::os::unix::fs::symlink(&blob, snapshot.join(entry.file_name())).unwrap();
    }
    let (plain, _a) = score(name, "float32", &checkpoint(name));
    let (linked, _b) = score(name, "float32", &snapshot);
    let (plain, linked) = (plain.ok().tokens(), linked.ok().tokens());
    assert!(!plain.is_empty());
    assert_eq!(plain, linked);
}

#[test]
fn dtype_flag_and_param_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let testbed = write_testbed(dir.path(), &["x = 1\n"]);
    let run = infer(
        dir.path(),
        &checkpoint("gpt2"),
        &testbed,
        "  dtype: float8\n",
        &[],
    );
    assert_usage_error(&run, &["float8"]);
    let run = infer(
        dir.path(),
        &checkpoint("gpt2"),
        &testbed,
        "",
        &["--dtype", "int4"],
    );
    assert_usage_error(&run, &["int4"]);
    // The trained-model formats run in float32 only.
    let run = infer(
        dir.path(),
        &fixtures().join("tiny-gpt2"),
        &testbed,
        "",
        &["--dtype", "bfloat16"],
    );
    assert_usage_error(&run, &["bfloat16", "Hugging Face checkpoints"]);
    // float16 on a Hugging Face checkpoint works (slowly) on the CPU.
    let options = LoadOptions {
        device: Device::Cpu,
        dtype: DtypeChoice::Float16,
    };
    let model = model_dir::load_with(checkpoint("qwen2"), options).unwrap();
    assert_eq!(model.kind, Kind::Half);
}

// ----- bad input: a clear message naming the file, the right exit code, nothing written -----

/// A writable copy of a fixture.
fn broken(name: &str, dir: &Path) -> PathBuf {
    let copy = dir.join(format!("broken-{name}"));
    copy_dir(&checkpoint(name), &copy);
    copy
}

fn run_on(model: &Path, dir: &Path) -> Run {
    let testbed = write_testbed(dir, &["def f(x):\n    return x\n"]);
    infer(dir, model, &testbed, "  batch_size: 2\n", &[])
}

fn edit_config(model: &Path, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) {
    let path = model.join("config.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(config.as_object_mut().unwrap());
    std::fs::write(path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
}

#[test]
fn unsupported_checkpoints_are_refused_as_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let model = broken("llama_linear", dir.path());
    edit_config(&model, |config| {
        config.insert("model_type".into(), "mamba".into());
    });
    let run = run_on(&model, dir.path());
    assert_usage_error(
        &run,
        &[
            "config.json",
            "`mamba`",
            "starcoder2",
            "qwen2",
            "scripts/export_hf.py",
        ],
    );

    let model = broken("qwen2", dir.path());
    edit_config(&model, |config| {
        config.insert(
            "auto_map".into(),
            serde_json::json!({"AutoModelForCausalLM": "modeling_x.XForCausalLM"}),
        );
    });
    assert_usage_error(&run_on(&model, dir.path()), &["config.json", "remote code"]);

    let model = broken("llama3_bias", dir.path());
    edit_config(&model, |config| {
        config.insert(
            "rope_parameters".into(),
            serde_json::json!({"rope_type": "yarn", "factor": 4.0, "rope_theta": 10000.0}),
        );
    });
    assert_usage_error(
        &run_on(&model, dir.path()),
        &["config.json", "rope type `yarn` is not implemented"],
    );

    // Pickled weights only.
    let model = broken("gpt2", dir.path());
    std::fs::rename(
        model.join("model.safetensors"),
        model.join("pytorch_model.bin"),
    )
    .unwrap();
    assert_usage_error(
        &run_on(&model, dir.path()),
        &[
            "pytorch_model.bin",
            "safe_serialization=True",
            "broken-gpt2",
        ],
    );
}

#[test]
fn corrupt_or_inconsistent_checkpoints_fail_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    // A shard named in the index is missing.
    let model = broken("llama_mqa_sharded", dir.path());
    std::fs::remove_file(model.join("model-00003-of-00005.safetensors")).unwrap();
    assert_error(
        &run_on(&model, dir.path()),
        1,
        &[
            "model-00003-of-00005.safetensors",
            "no such file",
            "model.safetensors.index.json",
        ],
    );

    // A tensor whose shape disagrees with config.json: name it and both shapes.
    let model = broken("starcoder2", dir.path());
    edit_config(&model, |config| {
        let size = config["intermediate_size"].as_i64().unwrap();
        config.insert("intermediate_size".into(), (size + 8).into());
    });
    assert_error(
        &run_on(&model, dir.path()),
        1,
        &[
            "model.safetensors",
            "mlp.c_fc.weight",
            "has shape",
            "config.json implies",
        ],
    );

    // A missing tensor (an untied output layer the file lacks).
    let model = broken("gpt_bigcode_mqa", dir.path());
    edit_config(&model, |config| {
        config.insert("tie_word_embeddings".into(), false.into());
    });
    assert_error(
        &run_on(&model, dir.path()),
        1,
        &["model.safetensors", "has no tensor `lm_head.weight`"],
    );

    // A truncated safetensors file.
    let model = broken("gpt_neo", dir.path());
    let weights = model.join("model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() - 100]).unwrap();
    assert_error(
        &run_on(&model, dir.path()),
        1,
        &["model.safetensors", "truncated or corrupt"],
    );
    // Garbage.
    std::fs::write(&weights, b"\xff\xff\xff\xff\xff\xff\xff\x7fnot safetensors").unwrap();
    assert_error(
        &run_on(&model, dir.path()),
        1,
        &["model.safetensors", "truncated or corrupt"],
    );

    // No tokenizer files.
    let model = broken("gpt2", dir.path());
    std::fs::remove_file(model.join("vocab.json")).unwrap();
    std::fs::remove_file(model.join("merges.txt")).unwrap();
    assert_usage_error(
        &run_on(&model, dir.path()),
        &["broken-gpt2", "has no tokenizer", "tokenizer.json"],
    );

    // A tokenizer whose ids exceed the embedding rows.
    let model = broken("mistral", dir.path());
    edit_config(&model, |config| {
        config.insert("vocab_size".into(), 100.into());
    });
    assert_error(
        &run_on(&model, dir.path()),
        1,
        &[
            "broken-mistral",
            "the tokenizer has",
            "the model predicts 100",
        ],
    );
}

// ----- batches and shards -----

/// 40 rows of varied lengths, a few longer than the 32-token windows, and two skipped rows.
fn varied_codes() -> Vec<String> {
    let mut codes: Vec<String> = (0..38)
        .map(|i| {
            let body: String = (0..(i % 7) * (1 + i % 3))
                .map(|j| format!("    v{j} = x * {j} + {i}\n"))
                .collect();
            format!("def f{i}(x):\n{body}    return x\n")
        })
        .collect();
    codes.push("   \n".to_owned());
    codes.push("x".to_owned());
    codes
}

fn run_sharded(dir: &Path, model: &Path, testbed: &Path, params: &str, shards: usize) -> Run {
    let mut parts = Vec::new();
    for index in 0..shards {
        let part = dir.join(format!("part{index}.parquet"));
        let run = infer_with(
            dir,
            model,
            testbed,
            params,
            &["--shard", &format!("{index}/{shards}")],
            &part,
            None,
        );
        run.ok();
        parts.push(part);
    }
    let mut args: Vec<String> = vec!["--merge".to_owned()];
    args.extend(parts.iter().map(|part| part.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let merged = infer_with(
        dir,
        model,
        testbed,
        params,
        &args,
        &dir.join("merged/tokens.parquet"),
        Some(&dir.join("merged/scores.parquet")),
    );
    merged.ok();
    merged
}

#[test]
fn three_shards_merged_equal_one_run_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let codes = varied_codes();
    let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    let testbed = write_testbed(dir.path(), &codes);
    let model = checkpoint("starcoder2");
    let params = "  max_batch_tokens: 160\n  max_context: 32\n  stride: 12\n  top_k: 3\n";
    let single = infer(dir.path(), &model, &testbed, params, &[]);
    single.ok();
    let merged = run_sharded(dir.path(), &model, &testbed, params, 3);
    assert_eq!(single.tokens(), merged.tokens());
    assert_eq!(single.scores(), merged.scores());
    assert_eq!(
        std::fs::read(&single.tokens).unwrap(),
        std::fs::read(&merged.tokens).unwrap(),
        "tokens.parquet differs in bytes"
    );
    assert_eq!(
        std::fs::read(&single.scores).unwrap(),
        std::fs::read(&merged.scores).unwrap(),
        "scores.parquet differs in bytes"
    );
    // Canonical order: by row_id, then position.
    let tokens = single.tokens();
    assert!(
        tokens
            .windows(2)
            .all(|pair| (&pair[0].row_id, pair[0].position) < (&pair[1].row_id, pair[1].position))
    );
    // Fixed batches of 4 windows give the same values, up to float noise.
    let fixed = infer(
        dir.path(),
        &model,
        &testbed,
        "  batch_size: 4\n  max_context: 32\n  stride: 12\n  top_k: 3\n",
        &[],
    );
    let fixed = fixed.ok().tokens();
    assert_eq!(fixed.len(), tokens.len());
    for (a, b) in fixed.iter().zip(&tokens) {
        assert!((a.logprob - b.logprob).abs() < 1e-4);
    }
}

#[test]
fn a_missing_or_foreign_shard_part_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let codes = varied_codes();
    let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    let testbed = write_testbed(dir.path(), &codes);
    let model = checkpoint("gpt_neo");
    let params = "  max_batch_tokens: 160\n  max_context: 32\n  stride: 12\n";
    for index in 0..3 {
        infer_with(
            dir.path(),
            &model,
            &testbed,
            params,
            &["--shard", &format!("{index}/3")],
            &dir.path().join(format!("p{index}.parquet")),
            None,
        )
        .ok();
    }
    let merge = |parts: &[&str]| {
        let mut args = vec!["--merge"];
        args.extend_from_slice(parts);
        infer_with(
            dir.path(),
            &model,
            &testbed,
            params,
            &args,
            &dir.path().join("m/tokens.parquet"),
            Some(&dir.path().join("m/scores.parquet")),
        )
    };
    let p = |i: usize| {
        dir.path()
            .join(format!("p{i}.parquet"))
            .display()
            .to_string()
    };
    let (p0, p1, p2) = (p(0), p(1), p(2));
    assert_error(&merge(&[&p0, &p2]), 1, &["2 of 3 shard parts"]);
    assert_error(&merge(&[&p0, &p1, &p1]), 1, &["given twice"]);
    // A part of another split.
    infer_with(
        dir.path(),
        &model,
        &testbed,
        params,
        &["--shard", "1/2"],
        &dir.path().join("other.parquet"),
        None,
    )
    .ok();
    let other = dir.path().join("other.parquet").display().to_string();
    assert_error(&merge(&[&p0, &other, &p2]), 1, &["different splits"]);
    merge(&[&p0, &p1, &p2]).ok();
}

#[test]
fn shard_specs_out_of_range_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let testbed = write_testbed(dir.path(), &["x = 1\n"]);
    for spec in ["4/4", "0/0", "1", "a/b", "-1/3"] {
        let run = infer_with(
            dir.path(),
            &checkpoint("gpt2"),
            &testbed,
            "",
            &[&format!("--shard={spec}")],
            &dir.path().join("part.parquet"),
            None,
        );
        assert_usage_error(&run, &["I/N"]);
    }
    // A shard run writes no scores.
    let run = infer(
        dir.path(),
        &checkpoint("gpt2"),
        &testbed,
        "",
        &["--shard", "0/2"],
    );
    assert_usage_error(&run, &["drop --scores"]);
}

#[test]
fn an_out_of_memory_batch_is_split_and_retried() {
    let dir = tempfile::tempdir().unwrap();
    let codes = varied_codes();
    let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    let testbed = write_testbed(dir.path(), &codes);
    let model = checkpoint("qwen2");
    let params = "  batch_size: 8\n  max_context: 32\n  stride: 12\n  top_k: 3\n";
    let plain = infer(dir.path(), &model, &testbed, params, &[]);
    let plain = plain.ok().tokens();
    let output = infer_command(
        &dir.path().join("params.yaml"),
        &model,
        &testbed,
        &dir.path().join("oom/tokens.parquet"),
        Some(&dir.path().join("oom/scores.parquet")),
    )
    .args(["--device", "cpu"])
    .env("ICODEGEN_INFER_TEST_OOM_ABOVE", "3")
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("out of memory on a batch of 8 windows"),
        "{stderr}"
    );
    assert!(stderr.contains("splitting it in two"), "{stderr}");
    let split: Vec<icodegen_artifacts::schemas::tokens::Row> =
        icodegen_artifacts::read_all(dir.path().join("oom/tokens.parquet")).unwrap();
    assert_eq!(split.len(), plain.len());
    for (a, b) in split.iter().zip(&plain) {
        assert_eq!(
            (&a.row_id, a.position, a.rank),
            (&b.row_id, b.position, b.rank)
        );
        assert!((a.logprob - b.logprob).abs() < 1e-4);
    }
}

#[test]
fn a_killed_run_resumes_from_its_journal_and_writes_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let codes = varied_codes();
    let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    let testbed = write_testbed(dir.path(), &codes);
    let model = checkpoint("llama_linear");
    let params = "  batch_size: 1\n  max_context: 32\n  stride: 12\n  top_k: 3\n";
    let clean = infer(dir.path(), &model, &testbed, params, &[]);
    clean.ok();

    let journal = dir.path().join("journal");
    let out = dir.path().join("resumed");
    let command = |pause: Option<&str>| {
        let mut command = infer_command(
            &dir.path().join("params.yaml"),
            &model,
            &testbed,
            &out.join("tokens.parquet"),
            Some(&out.join("scores.parquet")),
        );
        command
            .args(["--device", "cpu", "--metrics"])
            .arg(out.join("metrics.json"))
            .arg("--journal")
            .arg(&journal);
        if let Some(ms) = pause {
            command.env("ICODEGEN_INFER_TEST_PAUSE_MS", ms);
        }
        command
    };
    let batch_files = || {
        std::fs::read_dir(&journal)
            .map(|entries| {
                entries
                    .filter(|entry| {
                        entry
                            .as_ref()
                            .unwrap()
                            .file_name()
                            .to_string_lossy()
                            .starts_with("batch-")
                    })
                    .count()
            })
            .unwrap_or(0)
    };
    // Starts a slowed-down run and kills it once `batches` batches are journaled.
    let kill_after = |batches: usize| {
        let mut child = command(Some("200")).spawn().unwrap();
        let started = std::time::Instant::now();
        while batch_files() < batches {
            assert!(started.elapsed().as_secs() < 120, "no batch journaled");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        child.kill().unwrap();
        child.wait().unwrap();
    };
    kill_after(4);
    let killed_after = batch_files();
    assert!(
        !out.join("tokens.parquet").exists(),
        "nothing partial at the output path"
    );

    let output = command(None).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metrics: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let (total, scored, resumed) = (
        metrics["batches"].as_u64().unwrap(),
        metrics["batches_scored"].as_u64().unwrap(),
        metrics["batches_resumed"].as_u64().unwrap(),
    );
    assert!(resumed >= killed_after as u64 && resumed >= 4, "{metrics}");
    assert_eq!(scored + resumed, total);
    assert_eq!(
        std::fs::read(&clean.tokens).unwrap(),
        std::fs::read(out.join("tokens.parquet")).unwrap()
    );
    assert_eq!(
        std::fs::read(&clean.scores).unwrap(),
        std::fs::read(out.join("scores.parquet")).unwrap()
    );
    assert!(
        !journal.exists(),
        "the journal goes once the outputs are complete"
    );

    // A journal of another run (other settings) is not resumed.
    std::fs::create_dir_all(&journal).unwrap();
    std::fs::write(journal.join("journal.json"), r#"{"key": "another run"}"#).unwrap();
    std::fs::copy(&clean.tokens, journal.join("batch-000000.parquet")).unwrap();
    let output = command(None).output().unwrap();
    assert!(output.status.success());
    let metrics: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["batches_resumed"], 0);
    assert_eq!(
        std::fs::read(&clean.tokens).unwrap(),
        std::fs::read(out.join("tokens.parquet")).unwrap()
    );

    // Under this run's key, a batch of rows this testbed lacks (a file copied in by hand) fails
    // the run (exit 1) with the journal named and how to start over; nothing is written.
    std::fs::remove_file(out.join("tokens.parquet")).unwrap();
    kill_after(1);
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let other_testbed = write_testbed(&other, &["def other(y):\n    return y * 2\n"]);
    let foreign = infer(&other, &model, &other_testbed, params, &[]);
    foreign.ok();
    std::fs::copy(&foreign.tokens, journal.join("batch-000000.parquet")).unwrap();
    let output = command(None).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the infer journal") && stderr.contains("remove the folder"),
        "{stderr}"
    );
    assert!(!out.join("tokens.parquet").exists());
}

#[test]
fn adding_ten_rows_to_the_testbed_scores_only_those_ten() {
    let dir = tempfile::tempdir().unwrap();
    let model = checkpoint("gpt_bigcode_mha");
    let codes = varied_codes();
    let params = "  batch_size: 4\n  max_context: 32\n  stride: 12\n  top_k: 3\n";
    let cache = dir.path().join("rows");
    let run = |codes: &[String], name: &str| -> (Run, Value) {
        let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
        let sub = dir.path().join(name);
        std::fs::create_dir_all(&sub).unwrap();
        let testbed = write_testbed(&sub, &codes);
        let metrics = sub.join("metrics.json");
        let run = infer(
            &sub,
            &model,
            &testbed,
            params,
            &[
                "--row-cache",
                cache.to_str().unwrap(),
                "--metrics",
                metrics.to_str().unwrap(),
            ],
        );
        run.ok();
        let metrics = serde_json::from_str(&std::fs::read_to_string(metrics).unwrap()).unwrap();
        (run, metrics)
    };
    // 38 scorable rows (two are skipped).
    let (first, metrics) = run(&codes[..], "first");
    assert_eq!(
        (
            metrics["rows_reused"].as_u64(),
            metrics["rows_scored"].as_u64()
        ),
        (Some(0), Some(38))
    );
    let mut grown = codes.clone();
    grown.extend((0..10).map(|i| format!("def added_{i}(y):\n    return y * {i}\n")));
    let (second, metrics) = run(&grown, "second");
    assert_eq!(
        (
            metrics["rows_reused"].as_u64(),
            metrics["rows_scored"].as_u64()
        ),
        (Some(38), Some(10))
    );
    // The reused rows are the first run's, exactly; the new ones agree with a fresh run.
    let (before, after) = (first.tokens(), second.tokens());
    for token in &before {
        assert!(
            after.contains(token),
            "row {} position {}",
            token.row_id,
            token.position
        );
    }
    let fresh_dir = dir.path().join("fresh");
    std::fs::create_dir_all(&fresh_dir).unwrap();
    let codes: Vec<&str> = grown.iter().map(String::as_str).collect();
    let fresh = infer(
        &fresh_dir,
        &model,
        &write_testbed(&fresh_dir, &codes),
        params,
        &[],
    );
    let fresh = fresh.ok().tokens();
    assert_eq!(fresh.len(), after.len());
    for (a, b) in fresh.iter().zip(&after) {
        assert_eq!(
            (&a.row_id, a.position, a.token_id),
            (&b.row_id, b.position, b.token_id)
        );
        assert!((a.logprob - b.logprob).abs() < 1e-4);
    }
    // Other settings: nothing reused.
    let other = infer(
        &fresh_dir,
        &model,
        &write_testbed(&fresh_dir, &codes),
        "  batch_size: 4\n  max_context: 24\n  stride: 12\n  top_k: 3\n",
        &[
            "--row-cache",
            cache.to_str().unwrap(),
            "--metrics",
            fresh_dir.join("m.json").to_str().unwrap(),
        ],
    );
    other.ok();
    let metrics: Value =
        serde_json::from_str(&std::fs::read_to_string(fresh_dir.join("m.json")).unwrap()).unwrap();
    assert_eq!(metrics["rows_reused"], 0);
}
