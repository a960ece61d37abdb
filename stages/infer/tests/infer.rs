//! icodegen-infer driven as a user runs it, on models made here: the committed tiny
//! TorchScript GPT-2 (scripts/reference/make_infer_fixture.py) and tiny models trained inside
//! the tests.
#![allow(clippy::disallowed_methods)] // test code may use std::fs (clippy.toml)

mod common;

use std::path::{Path, PathBuf};

use icodegen_artifacts::{content_id, read_metadata};
use icodegen_lm::config::{Architecture, Gpt2Config, RecurrentConfig};
use icodegen_lm::model_dir;
use icodegen_lm::tokenizer::{CodeTokenizer, TokenizerSpec};
use icodegen_lm::training::{self, TrainConfig};
use serde_json::Value;

use common::*;

fn tiny_gpt2() -> PathBuf {
    fixtures().join("tiny-gpt2")
}

fn expected() -> Value {
    let text = std::fs::read_to_string(fixtures().join("tiny-gpt2-expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn torchscript_log_probs_agree_with_pytorch_to_1e_5() {
    let expected = expected();
    let dir = tempfile::tempdir().unwrap();
    let codes: Vec<&str> = expected["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["code"].as_str().unwrap())
        .collect();
    let testbed = write_testbed(dir.path(), &codes);
    let params = format!(
        "  batch_size: 3\n  stride: {}\n  top_k: {}\n",
        expected["stride"], expected["top_k"]
    );
    let run = infer(dir.path(), &tiny_gpt2(), &testbed, &params, &[]);
    run.ok();
    let tokens = run.tokens();
    let scores = run.scores();
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
        let actual = rows_of(&tokens, code);
        assert_eq!(
            actual.len(),
            ids.len() - 1,
            "every token after the BOS is scored once: {code:?}"
        );
        for (at, (token, reference)) in actual.iter().zip(positions).enumerate() {
            let position = at + 1;
            assert_eq!(token.position as usize, position);
            assert_eq!(i64::from(token.token_id), ids[position]);
            assert_eq!(token.token, row["tokens"][position].as_str().unwrap());
            let offsets = &row["byte_offsets"][position];
            assert_eq!(
                i64::from(token.byte_start.unwrap()),
                offsets[0].as_i64().unwrap(),
                "{code:?} position {position}"
            );
            assert_eq!(
                i64::from(token.byte_end.unwrap()),
                offsets[1].as_i64().unwrap()
            );
            let logprob = reference["logprob"].as_f64().unwrap();
            assert!(
                (f64::from(token.logprob) - logprob).abs() < 1e-5,
                "{code:?} position {position}: {} vs PyTorch {logprob}",
                token.logprob
            );
            assert!(
                (f64::from(token.entropy) - reference["entropy"].as_f64().unwrap()).abs() < 1e-5
            );
            assert_eq!(i64::from(token.rank), reference["rank"].as_i64().unwrap());
            let top: Vec<i64> = reference["topk_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|id| id.as_i64().unwrap())
                .collect();
            assert_eq!(
                token
                    .topk_ids
                    .iter()
                    .map(|&id| i64::from(id))
                    .collect::<Vec<_>>(),
                top
            );
            compared += 1;
        }
        let score = scores
            .iter()
            .find(|score| score.row_id == content_id("python", code))
            .unwrap();
        assert_eq!(score.n_tokens as usize, ids.len() - 1);
        assert_eq!(score.n_scored as usize, ids.len() - 1);
        let mean: f64 = -positions
            .iter()
            .map(|p| p["logprob"].as_f64().unwrap())
            .sum::<f64>()
            / positions.len() as f64;
        assert!((score.cross_entropy.unwrap() - mean).abs() < 1e-5);
        assert!((score.perplexity.unwrap() - mean.exp()).abs() < 1e-4);
    }
    assert!(compared > 300, "compared {compared} tokens");
}

#[test]
fn a_snippet_longer_than_the_context_is_scored_once_per_token_through_windows() {
    let expected = expected();
    let long = expected["rows"].as_array().unwrap().last().unwrap();
    let code = long["code"].as_str().unwrap();
    let n = long["ids"].as_array().unwrap().len();
    let context = expected["context"].as_u64().unwrap() as usize;
    assert!(
        n > 3 * context,
        "the fixture's long code spans several windows"
    );
    let dir = tempfile::tempdir().unwrap();
    let testbed = write_testbed(dir.path(), &[code]);
    let wide = infer(dir.path(), &tiny_gpt2(), &testbed, "  stride: 20\n", &[]);
    let wide = wide.ok().tokens();
    let narrow = infer(dir.path(), &tiny_gpt2(), &testbed, "  stride: 4\n", &[]);
    let narrow = narrow.ok().tokens();
    for tokens in [&wide, &narrow] {
        let positions: Vec<i32> = rows_of(tokens, code)
            .iter()
            .map(|row| row.position)
            .collect();
        assert_eq!(positions, (1..n as i32).collect::<Vec<_>>());
    }
    // The first window is the same whatever the stride; later tokens see other contexts.
    for position in 1..context {
        assert!((wide[position - 1].logprob - narrow[position - 1].logprob).abs() < 1e-5);
    }
    let differ = (context..n)
        .filter(|&p| (wide[p - 1].logprob - narrow[p - 1].logprob).abs() > 1e-4)
        .count();
    assert!(
        differ > 0,
        "strides 20 and 4 give later tokens different contexts"
    );
    // Stride must leave context: equal to the context is refused.
    let refused = infer(
        dir.path(),
        &tiny_gpt2(),
        &testbed,
        &format!("  stride: {context}\n"),
        &[],
    );
    assert_eq!(
        refused.output.status.code(),
        Some(2),
        "{}",
        refused.stderr()
    );
    assert!(refused.stderr().contains("stride"), "{}", refused.stderr());
}

#[test]
fn padding_is_never_scored_and_batching_does_not_change_results() {
    let expected = expected();
    let codes: Vec<&str> = expected["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["code"].as_str().unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let testbed = write_testbed(dir.path(), &codes);
    let alone = infer(dir.path(), &tiny_gpt2(), &testbed, "  batch_size: 1\n", &[]);
    let alone = alone.ok().tokens();
    let together = infer(dir.path(), &tiny_gpt2(), &testbed, "  batch_size: 8\n", &[]);
    let together_scores = together.ok().scores();
    let together = together.tokens();
    assert_eq!(alone.len(), together.len());
    let scored: i32 = together_scores.iter().map(|score| score.n_scored).sum();
    assert_eq!(
        together.len() as i32,
        scored,
        "one token row per scored token, none for padding"
    );
    for (a, b) in alone.iter().zip(&together) {
        assert_eq!(
            (&a.row_id, a.position, a.token_id),
            (&b.row_id, b.position, b.token_id)
        );
        assert!(
            (a.logprob - b.logprob).abs() < 1e-5,
            "position {}: {} vs {}",
            a.position,
            a.logprob,
            b.logprob
        );
    }
    // The pad id never appears as a scored token, and position 0 (BOS) is never scored.
    assert!(together.iter().all(|row| row.position >= 1));
    let pad = CodeTokenizer::load(tiny_gpt2().join("tokenizer.json"))
        .unwrap()
        .token_id("<|pad|>")
        .unwrap();
    assert!(together.iter().all(|row| i64::from(row.token_id) != pad));
}

#[test]
fn empty_and_whitespace_only_code_is_skipped_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let codes = ["", "  \n\t\n", "def f():\n    return 1\n"];
    let testbed = write_testbed(dir.path(), &codes);
    let run = infer(dir.path(), &tiny_gpt2(), &testbed, "  top_k: 2\n", &[]);
    run.ok();
    let scores = run.scores();
    assert_eq!(scores.len(), 3);
    for code in &codes[..2] {
        let score = scores
            .iter()
            .find(|s| s.row_id == content_id("python", code))
            .unwrap();
        assert_eq!(
            score.skip_reason.as_deref(),
            Some(icodegen_infer::SKIP_EMPTY)
        );
        assert_eq!(
            (score.cross_entropy, score.perplexity, score.accuracy),
            (None, None, None)
        );
        assert_eq!(score.n_scored, 0);
        assert!(rows_of(&run.tokens(), code).is_empty());
    }
    let scored = scores
        .iter()
        .find(|s| s.row_id == content_id("python", codes[2]))
        .unwrap();
    assert!(scored.skip_reason.is_none() && scored.cross_entropy.is_some());
    assert!(
        run.tokens()
            .iter()
            .all(|row| row.topk_ids.len() == 2 && row.topk_logprobs.len() == 2)
    );
}

#[test]
fn each_distinct_row_is_scored_once_and_metadata_names_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let code = "def f(x):\n    return x\n";
    let testbed = write_testbed(dir.path(), &[code, code, "y = 2\n"]);
    let run = infer(dir.path(), &tiny_gpt2(), &testbed, "  batch_size: 4\n", &[]);
    run.ok();
    assert_eq!(run.scores().len(), 2);
    let metadata = read_metadata(&run.tokens).unwrap();
    let get = |key: &str| {
        metadata
            .key_values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("icodegen.model_id").as_deref(), Some("tiny"));
    assert_eq!(
        get("icodegen.model_blake3"),
        Some(model_dir::directory_hash(&tiny_gpt2()).unwrap())
    );
    let params: Value = serde_json::from_str(&get("icodegen.infer_params").unwrap()).unwrap();
    assert_eq!(params["batch_size"], 4);
    assert_eq!(params["context"], 32);
    assert_eq!(
        read_metadata(&run.scores).unwrap().kind.as_deref(),
        Some("scores")
    );
}

#[test]
fn a_tokenizer_that_does_not_fit_the_model_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    copy_dir(&tiny_gpt2(), &model);
    let spec = TokenizerSpec {
        vocab_size: 400,
        min_frequency: 1,
        bos_token: "<|endoftext|>".to_owned(),
        pad_token: "<|pad|>".to_owned(),
    };
    let corpus: Vec<String> = (0..300)
        .map(|i| {
            format!(
                "def function_{i}(argument, other_{i}):\n    return argument * {i} + other_{i}\n"
            )
        })
        .collect();
    let bigger = CodeTokenizer::train(&spec, corpus.iter(), Path::new("corpus")).unwrap();
    assert!(bigger.vocab_size() > 300);
    std::fs::write(model.join("tokenizer.json"), bigger.to_json().unwrap()).unwrap();
    let testbed = write_testbed(dir.path(), &["x = 1\n"]);
    let run = infer(dir.path(), &model, &testbed, "  batch_size: 2\n", &[]);
    // The folder is inconsistent (corrupt input): the work fails, exit 1.
    assert_error(
        &run,
        1,
        &["tokenizer has", "but the model predicts 300", "model"],
    );
}

/// A tiny GRU model directory trained here for `steps` steps on `corpus`.
fn trained_model(
    dir: &Path,
    corpus: &[String],
    architecture: Architecture,
    steps: usize,
) -> PathBuf {
    let spec = TokenizerSpec {
        vocab_size: 280,
        min_frequency: 1,
        bos_token: "<|endoftext|>".to_owned(),
        pad_token: "<|pad|>".to_owned(),
    };
    let tokenizer = CodeTokenizer::train(&spec, corpus.iter(), Path::new("corpus")).unwrap();
    let config = TrainConfig {
        model: architecture,
        context_length: 32,
        batch_size: 8,
        epochs: 0,
        max_steps: Some(steps),
        max_minutes: None,
        learning_rate: 1e-2,
        min_learning_rate: 1e-3,
        warmup_steps: 5,
        weight_decay: 0.0,
        clip_norm: 1.0,
        seed: 3,
        threads: None,
        max_valid_snippets: None,
        bos_token: "<|endoftext|>".to_owned(),
        pad_token: "<|pad|>".to_owned(),
    };
    let trained = training::train(
        &config,
        &tokenizer,
        corpus,
        &[],
        tch::Device::Cpu,
        &mut |_, _, _| {},
    )
    .unwrap();
    let out = dir.join("trained");
    std::fs::create_dir_all(&out).unwrap();
    trained.save(&out, &tokenizer).unwrap();
    out
}

#[test]
fn a_model_trained_in_the_test_predicts_the_next_token_not_the_current_one() {
    // Code so regular that a model trained for a few steps predicts it almost perfectly, but
    // only when position t is scored with the prediction made after w[..t]. Scoring the
    // prediction at t against token t itself (no shift) would almost never rank it first,
    // because in this code a token never follows itself.
    let snippet = "a = b\nc = d\n".repeat(4);
    let corpus: Vec<String> = vec![snippet.clone(); 64];
    let dir = tempfile::tempdir().unwrap();
    let gru = Architecture::Gru(RecurrentConfig {
        embedding: 16,
        hidden: 32,
        layers: 1,
        dropout: 0.0,
    });
    let model = trained_model(dir.path(), &corpus, gru, 120);
    let testbed = write_testbed(dir.path(), &[&snippet]);
    let run = infer(dir.path(), &model, &testbed, "  batch_size: 2\n", &[]);
    run.ok();
    let score = &run.scores()[0];
    assert!(
        score.accuracy.unwrap() > 0.8,
        "accuracy {:?}",
        score.accuracy
    );
    let tokens = run.tokens();
    let repeated = tokens
        .windows(2)
        .filter(|pair| pair[0].token_id == pair[1].token_id)
        .count();
    assert_eq!(repeated, 0, "the fixture code never repeats a token");
    // Every code token is scored (BOS prepended), with a span into the code.
    assert_eq!(tokens.len() as i32, score.n_tokens);
    assert!(tokens.iter().all(|row| row.byte_start.is_some()));
    assert_eq!(
        tokens.last().unwrap().byte_end.unwrap() as usize,
        snippet.len()
    );
}

#[test]
fn missing_or_corrupt_weights_exit_1_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let testbed = write_testbed(dir.path(), &["x = 1\n"]);
    // TorchScript.
    let torchscript = dir.path().join("ts");
    copy_dir(&tiny_gpt2(), &torchscript);
    std::fs::remove_file(torchscript.join("model.pt")).unwrap();
    let run = infer(dir.path(), &torchscript, &testbed, "  batch_size: 2\n", &[]);
    assert_error(&run, 1, &["model.pt", "no such file"]);
    std::fs::write(
        torchscript.join("model.pt"),
        b"PK\x03\x04 definitely not a zip",
    )
    .unwrap();
    let run = infer(dir.path(), &torchscript, &testbed, "  batch_size: 2\n", &[]);
    assert_error(&run, 1, &["model.pt", "not a loadable TorchScript module"]);
    // Our own safetensors weights.
    let corpus: Vec<String> = vec!["x = 1\ny = 2\n".to_owned(); 8];
    let gpt2 = Architecture::Gpt2(Gpt2Config {
        layers: 1,
        heads: 2,
        width: 16,
        dropout: 0.0,
    });
    let model = trained_model(dir.path(), &corpus, gpt2, 2);
    let weights = model.join("model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let run = infer(dir.path(), &model, &testbed, "  batch_size: 2\n", &[]);
    assert_error(
        &run,
        1,
        &["model.safetensors", "not a valid safetensors file"],
    );
    std::fs::remove_file(&weights).unwrap();
    let run = infer(dir.path(), &model, &testbed, "  batch_size: 2\n", &[]);
    assert_error(&run, 1, &["model.safetensors", "no such file"]);
    let run = infer(
        dir.path(),
        &dir.path().join("nowhere"),
        &testbed,
        "  batch_size: 2\n",
        &[],
    );
    assert_usage_error(&run, &["nowhere", "not a model directory"]);
}

#[test]
fn a_corrupt_config_or_tokenizer_exits_1_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let testbed = write_testbed(dir.path(), &["x = 1\n"]);
    let model = dir.path().join("corrupt-config");
    copy_dir(&tiny_gpt2(), &model);
    std::fs::write(model.join("config.json"), "{ not json").unwrap();
    let run = infer(dir.path(), &model, &testbed, "  batch_size: 2\n", &[]);
    assert_error(&run, 1, &["model config", "config.json"]);
    let model = dir.path().join("corrupt-tokenizer");
    copy_dir(&tiny_gpt2(), &model);
    std::fs::write(model.join("tokenizer.json"), "{ not json").unwrap();
    let run = infer(dir.path(), &model, &testbed, "  batch_size: 2\n", &[]);
    assert_error(&run, 1, &["tokenizer.json", "not a valid tokenizer.json"]);
}

#[test]
fn bad_params_and_unavailable_devices_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let testbed = write_testbed(dir.path(), &["x = 1\n"]);
    let run = infer(dir.path(), &tiny_gpt2(), &testbed, "  batch_sise: 2\n", &[]);
    assert_usage_error(&run, &["batch_sise", "did you mean `batch_size`?"]);
    if !tch::Cuda::is_available() {
        let run = infer(
            dir.path(),
            &tiny_gpt2(),
            &testbed,
            "  batch_size: 2\n",
            &["--device", "cuda"],
        );
        assert_usage_error(&run, &["no CUDA device"]);
    }
}
