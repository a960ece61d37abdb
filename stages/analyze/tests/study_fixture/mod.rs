//! The study's test fixture, shared by `tests/study.rs` and `examples/study_fixture.rs` (which
//! writes a large one for `scripts/bench/study.sh`): Python snippets with two interventions and
//! one folder per model, written with the artifact writers.
//!
//! Known effects are injected: for model `gru`, removing a comment raises the cross-entropy by
//! 0.4 nats beyond what the token count explains; for both models the loss otherwise depends
//! on the token count only, so the synthetic bugs (which add statements) correlate with the
//! loss but have no direct effect (all of it runs through size). Concept `iterative` occurs only in
//! snippets with a loop (i % 3 != 0); only `gru` has tags.parquet and nodes.parquet.
#![allow(dead_code)]
#![allow(clippy::disallowed_methods)] // test code may use std::fs (clippy.toml)

use std::path::{Path, PathBuf};

use icodegen_artifacts::schemas::{concepts, covariates, nodes, scores, tags, testbed};
use icodegen_artifacts::{content_id, write_all};

struct Random(u64);

impl Random {
    /// Uniform in [0, 1).
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64) / ((1u64 << 53) as f64)
    }
}

/// The code of snippet `i`: with or without its comment, with `extra` no-op statements and
/// with the `+` flipped (the synthetic bug).
fn code(i: usize, comment: bool, buggy: bool) -> String {
    let mut text = format!("def f{i}(x, y):\n");
    if comment {
        text.push_str("    # add the offset, then multiply\n");
    }
    let operator = if buggy { "-" } else { "+" };
    text.push_str(&format!("    total = x {operator} {i}\n"));
    for _ in 0..(i % 5) {
        text.push_str(&format!("    total = total * {}\n", i + 1));
    }
    if buggy {
        for _ in 0..(i % 4) {
            text.push_str("    total = total + 0\n");
        }
    }
    if !i.is_multiple_of(3) {
        text.push_str("    for k in range(y):\n        total = total * k\n");
    }
    text.push_str("    return total\n");
    text
}

/// A crude token: its byte span and its leaf node type.
struct Token {
    start: usize,
    end: usize,
    node_type: &'static str,
}

fn tokens(code: &str) -> Vec<Token> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'#' {
            // One token per word of the comment.
            let end = code[i..].find('\n').map_or(code.len(), |n| i + n);
            while i < end {
                let start = i;
                while i < end && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                out.push(Token {
                    start,
                    end: i,
                    node_type: "comment",
                });
                while i < end && bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
            }
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let word = &code[start..i];
            let node_type = match word {
                "def" => "def",
                "for" => "for",
                "in" => "in",
                "return" => "return",
                _ if word.chars().all(|c| c.is_ascii_digit()) => "integer",
                _ => "identifier",
            };
            out.push(Token {
                start,
                end: i,
                node_type,
            });
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else {
            let node_type = match c {
                b'(' => "(",
                b')' => ")",
                b':' => ":",
                b',' => ",",
                b'=' => "=",
                b'+' => "+",
                b'-' => "-",
                _ => "*",
            };
            out.push(Token {
                start: i,
                end: i + 1,
                node_type,
            });
            i += 1;
        }
    }
    out
}

fn category(node_type: &str) -> Option<&'static str> {
    match node_type {
        "(" | ")" | ":" => Some("scope"),
        "identifier" | "comment" => Some("natural_language"),
        "+" | "-" | "*" => Some("operator"),
        _ => None,
    }
}

/// The probability a model gives tokens of this node type in this row.
fn probability(model: &str, node_type: &str, noise: f64) -> f64 {
    let base = match node_type {
        "(" | ")" | ":" => 0.9,
        "identifier" => 0.35,
        "comment" => 0.2,
        "+" | "-" | "*" => 0.55,
        _ => 0.7,
    };
    let shift = if model == "gpt" { 0.03 } else { 0.0 };
    (base + shift + 0.08 * (noise - 0.5)).clamp(0.01, 0.99)
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn testbed_row(
    code: &str,
    intervention: &str,
    pair: usize,
    treatment: i8,
    mutation: Option<&str>,
) -> testbed::Row {
    let tokens = tokens(code);
    let has_loop = code.contains("for ");
    let mut row = testbed::Row {
        row_id: content_id("python", code),
        pair_id: format!("{intervention}-{pair}"),
        intervention: intervention.to_owned(),
        treatment,
        snippet_id: content_id("python", &self::code(pair, true, false)),
        language: "python".to_owned(),
        code: code.to_owned(),
        mutation: mutation.map(str::to_owned),
        n_bytes: code.len() as i64,
        ..testbed::Row::default()
    };
    let mut covariates = row.covariates();
    covariates.loc = code
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .count() as i32;
    covariates.n_ast_nodes = 2 * tokens.len() as i32 + 3;
    covariates.ast_depth = if has_loop { 6 } else { 4 };
    covariates.n_loops = i32::from(has_loop);
    covariates.cyclomatic = 1 + i32::from(has_loop);
    covariates.n_whitespace = code.chars().filter(|c| c.is_whitespace()).count() as i32;
    covariates.n_identifiers = tokens
        .iter()
        .filter(|t| t.node_type == "identifier")
        .count() as i32;
    covariates.n_numbers = tokens.iter().filter(|t| t.node_type == "integer").count() as i32;
    row.set_covariates(&covariates);
    row
}

/// A fixture in a new temporary folder.
pub fn fixture(models: &[&str], snippets: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path(), models, snippets);
    Fixture { dir }
}

/// Writes `testbed.parquet` and `models/<model>/...` under `root`; `models` picks which of
/// `gru` and `gpt` exist and `snippets` how many snippets there are.
pub fn write_fixture(root: &Path, models: &[&str], snippets: usize) {
    let mut rows = Vec::new();
    for i in 0..snippets {
        let original = code(i, true, false);
        rows.push(testbed_row(&original, "none", i, 0, None));
        rows.push(testbed_row(
            &code(i, false, false),
            "comments",
            i,
            0,
            Some("strip_comments"),
        ));
        rows.push(testbed_row(&original, "comments", i, 1, None));
        rows.push(testbed_row(
            &code(i, true, true),
            "bugfix",
            i,
            0,
            Some("swap_arithmetic"),
        ));
        rows.push(testbed_row(&original, "bugfix", i, 1, None));
    }
    write_all(root.join("testbed.parquet"), "preprocess", &rows).unwrap();
    let snippet_rows: Vec<covariates::Row> = rows
        .iter()
        .filter(|row| row.intervention == "none")
        .map(|row| {
            let mut snippet = covariates::Row {
                snippet_id: row.snippet_id.clone(),
                language: row.language.clone(),
                n_bytes: row.n_bytes,
                ..covariates::Row::default()
            };
            snippet.set_covariates(&row.covariates());
            snippet
        })
        .collect();
    write_all(root.join("covariates.parquet"), "preprocess", &snippet_rows).unwrap();
    // Distinct code texts.
    let mut seen = std::collections::BTreeMap::new();
    for row in &rows {
        seen.entry(row.row_id.clone())
            .or_insert_with(|| row.code.clone());
    }
    for model in models {
        let folder = root.join("models").join(model);
        std::fs::create_dir_all(&folder).unwrap();
        let mut random = Random(if *model == "gru" { 7 } else { 11 });
        let (mut score_rows, mut concept_rows, mut tag_rows, mut node_rows) =
            (vec![], vec![], vec![], vec![]);
        for (row_id, code) in &seen {
            let tokens = tokens(code);
            let n_tokens = tokens.len() as i32 + if *model == "gpt" { 2 } else { 0 };
            let stripped = !code.contains('#');
            let (base, slope) = if *model == "gru" {
                (0.8, 0.03)
            } else {
                (1.0, 0.02)
            };
            let comment_effect = if *model == "gru" && stripped {
                0.4
            } else {
                0.0
            };
            let cross_entropy =
                base + slope * f64::from(n_tokens) + comment_effect + 0.1 * (random.next() - 0.5);
            score_rows.push(scores::Row {
                model_id: model.to_string(),
                row_id: row_id.clone(),
                n_tokens,
                n_scored: tokens.len() as i32 - 1,
                cross_entropy: Some(cross_entropy),
                perplexity: Some(cross_entropy.exp()),
                accuracy: Some((0.9 - cross_entropy / 5.0).clamp(0.0, 1.0)),
                skip_reason: None,
            });
            let noise = random.next();
            let probabilities: Vec<f64> = tokens
                .iter()
                .map(|t| probability(model, t.node_type, noise))
                .collect();
            // Per node type and per category, the mean probability of their tokens.
            let mut groups: std::collections::BTreeMap<(&str, &str), Vec<f64>> = Default::default();
            for (token, p) in tokens.iter().zip(&probabilities) {
                groups
                    .entry(("node_type", token.node_type))
                    .or_default()
                    .push(*p);
                if let Some(category) = category(token.node_type) {
                    groups.entry(("category", category)).or_default().push(*p);
                }
            }
            if code.contains("for ") {
                let p = 0.9 + 0.05 * (random.next() - 0.5);
                groups.insert(("category", "iterative"), vec![p; 6]);
            }
            for ((kind, concept), values) in groups {
                let mean = values.iter().sum::<f64>() / values.len() as f64;
                concept_rows.push(concepts::Row {
                    model_id: model.to_string(),
                    row_id: row_id.clone(),
                    concept_kind: kind.to_owned(),
                    concept: concept.to_owned(),
                    n_tokens: values.len() as i32,
                    mean_prob: mean,
                    median_prob: mean,
                    boot_median: mean,
                    boot_se: 0.01,
                });
            }
            if *model == "gru" {
                node_rows.push(node(
                    model,
                    row_id,
                    0,
                    None,
                    "module",
                    0,
                    code.len(),
                    0,
                    &probabilities,
                ));
                node_rows.push(node(
                    model,
                    row_id,
                    1,
                    Some(0),
                    "function_definition",
                    0,
                    code.len(),
                    1,
                    &probabilities,
                ));
                for (position, (token, p)) in tokens.iter().zip(&probabilities).enumerate() {
                    node_rows.push(node(
                        model,
                        row_id,
                        position as i32 + 2,
                        Some(1),
                        token.node_type,
                        token.start,
                        token.end,
                        2,
                        &[*p],
                    ));
                    if position == 0 {
                        continue; // the first token is never scored
                    }
                    tag_rows.push(tags::Row {
                        model_id: model.to_string(),
                        row_id: row_id.clone(),
                        position: position as i32,
                        token_id: position as i32,
                        token: code[token.start..token.end].to_owned(),
                        byte_start: Some(token.start as i32),
                        byte_end: Some(token.end as i32),
                        logprob: p.ln() as f32,
                        node_type: Some(token.node_type.to_owned()),
                        parent_type: Some("function_definition".to_owned()),
                        category: category(token.node_type).map(str::to_owned),
                        depth: Some(2),
                    });
                }
            }
        }
        write_all(folder.join("scores.parquet"), "infer", &score_rows).unwrap();
        write_all(folder.join("concepts.parquet"), "tag", &concept_rows).unwrap();
        if *model == "gru" {
            write_all(folder.join("tags.parquet"), "tag", &tag_rows).unwrap();
            write_all(folder.join("nodes.parquet"), "tag", &node_rows).unwrap();
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn node(
    model: &str,
    row_id: &str,
    node_id: i32,
    parent_id: Option<i32>,
    node_type: &str,
    start: usize,
    end: usize,
    depth: i32,
    probabilities: &[f64],
) -> nodes::Row {
    nodes::Row {
        model_id: model.to_owned(),
        row_id: row_id.to_owned(),
        node_id,
        parent_id,
        node_type: node_type.to_owned(),
        byte_start: start as i32,
        byte_end: end as i32,
        depth,
        n_tokens: probabilities.len() as i32,
        mean_prob: Some(probabilities.iter().sum::<f64>() / probabilities.len() as f64),
    }
}
