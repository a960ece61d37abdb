//! The `icodegen-tag` binary on hand-checked fixtures, the way the pipeline runs it.
//!
//! Each fixture is a piece of code plus its tokens as (text, byte span) pairs written out by
//! hand, and the expected label of every token and the token set of some concepts, checked by
//! reading the code byte by byte.
#![allow(clippy::disallowed_methods)] // test code may use std::fs (clippy.toml)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use icodegen_artifacts::schemas::{concepts, concepts_global, nodes, tags, testbed, tokens};
use icodegen_artifacts::{content_id, read_all, read_metadata, write_all};

struct Study {
    dir: tempfile::TempDir,
}

/// node type, parent type, category, depth of one token.
type Label<'a> = (
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<i32>,
);

/// One scored token of a fixture: text, span (None = no offsets), probability.
type Token<'a> = (&'a str, Option<(i32, i32)>, f64);

impl Study {
    fn new() -> Self {
        let study = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        study.params("tag:\n  bootstrap: 200\n  seed: 7\n");
        study
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn params(&self, tag_section: &str) {
        let taxonomies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/taxonomies");
        let text = format!(
            "{tag_section}  taxonomy_dir: {}\n",
            taxonomies.canonicalize().unwrap().display()
        );
        std::fs::write(self.path("params.yaml"), text).unwrap();
    }

    /// Writes testbed.parquet with `rows` (language, code).
    fn testbed(&self, rows: &[(&str, &str)]) -> Vec<String> {
        let rows: Vec<testbed::Row> = rows
            .iter()
            .map(|(language, code)| testbed::Row {
                row_id: content_id(language, code),
                pair_id: content_id(language, code),
                intervention: "none".into(),
                snippet_id: content_id(language, code),
                language: (*language).into(),
                code: (*code).into(),
                n_bytes: code.len() as i64,
                ..Default::default()
            })
            .collect();
        write_all(self.path("testbed.parquet"), "preprocess", &rows).unwrap();
        rows.into_iter().map(|row| row.row_id).collect()
    }

    /// Writes tokens.parquet: for each (model, row_id, tokens), positions 1.. in order.
    fn tokens(&self, groups: &[(&str, &str, &[Token])]) {
        let mut rows = Vec::new();
        for (model, row_id, tokens) in groups {
            for (index, (text, span, probability)) in tokens.iter().enumerate() {
                rows.push(tokens::Row {
                    model_id: (*model).into(),
                    row_id: (*row_id).into(),
                    position: index as i32 + 1,
                    token_id: index as i32,
                    token: (*text).into(),
                    byte_start: span.map(|s| s.0),
                    byte_end: span.map(|s| s.1),
                    logprob: probability.ln() as f32,
                    rank: 1,
                    entropy: 1.0,
                    topk_ids: vec![1, 2],
                    topk_logprobs: vec![-0.1, -2.0],
                });
            }
        }
        write_all(self.path("tokens.parquet"), "infer", &rows).unwrap();
    }

    fn run(&self) -> Output {
        Command::new(env!("CARGO_BIN_EXE_icodegen-tag"))
            .current_dir(self.dir.path())
            .env("ICODEGEN_PROGRESS", "0")
            .args([
                "--params",
                "params.yaml",
                "--testbed",
                "testbed.parquet",
                "--tokens",
                "tokens.parquet",
                "--tags",
                "out/tags.parquet",
                "--concepts",
                "out/concepts.parquet",
                "--nodes",
                "out/nodes.parquet",
                "--global",
                "out/global.parquet",
                "--threads",
                "2",
            ])
            .output()
            .unwrap()
    }

    fn run_ok(&self) {
        let output = self.run();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn tags(&self) -> Vec<tags::Row> {
        read_all(self.path("out/tags.parquet")).unwrap()
    }

    fn concepts(&self) -> Vec<concepts::Row> {
        read_all(self.path("out/concepts.parquet")).unwrap()
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `def café(x):` with a multi-byte identifier split by a byte-level tokenizer (two tokens
/// share the bytes of `é`), a token crossing `)` and `:`, an indentation token, a string with
/// a multi-byte character, a trailing newline and special tokens without offsets.
const PYTHON: &str = "def café(x):\n    return x + \"ü\"\n";

fn python_tokens() -> Vec<Token<'static>> {
    // byte offsets: def 0..3, café 4..9 (é = 7..9), ( 9, x 10, ) 11, : 12, \n 13,
    // indentation 14..18, return 18..24, x 25, + 27, "ü" 29..33 (ü = 30..32), \n 33
    vec![
        ("<s>", None, 0.50),              // 0: BOS scored without offsets
        ("def", Some((0, 3)), 0.90),      // 1
        (" caf", Some((3, 7)), 0.20),     // 2: starts in whitespace
        ("\u{fffd}", Some((7, 9)), 0.40), // 3: first byte of é
        ("\u{fffd}", Some((7, 9)), 0.60), // 4: second byte of é, same span
        ("(x", Some((9, 11)), 0.30),      // 5: `(` and `x`
        ("):", Some((11, 13)), 0.80),     // 6: `)` and `:`
        ("\n    ", Some((13, 18)), 0.70), // 7: newline + indentation
        ("return", Some((18, 24)), 0.95), // 8
        (" x", Some((24, 26)), 0.50),     // 9
        (" +", Some((26, 28)), 0.10),     // 10
        (" \"", Some((28, 30)), 0.25),    // 11: into the string
        ("ü\"", Some((30, 33)), 0.35),    // 12
        ("\n", Some((33, 34)), 0.65),     // 13: trailing newline
        ("</s>", None, 0.05),             // 14: EOS without offsets
    ]
}

#[test]
fn python_tokens_get_hand_checked_labels() {
    let study = Study::new();
    let ids = study.testbed(&[("python", PYTHON)]);
    let tokens = python_tokens();
    study.tokens(&[("gru", &ids[0], &tokens)]);
    study.run_ok();
    let tags = study.tags();
    assert_eq!(tags.len(), tokens.len());
    let labels: Vec<Label> = tags
        .iter()
        .map(|t| {
            (
                t.node_type.as_deref(),
                t.parent_type.as_deref(),
                t.category.as_deref(),
                t.depth,
            )
        })
        .collect();
    let nl = Some("natural_language");
    let expected = [
        (None, None, None, None),
        (Some("def"), Some("function_definition"), None, Some(2)),
        (Some("identifier"), Some("function_definition"), nl, Some(2)),
        (Some("identifier"), Some("function_definition"), nl, Some(2)),
        (Some("identifier"), Some("function_definition"), nl, Some(2)),
        (Some("("), Some("parameters"), None, Some(3)),
        (Some(")"), Some("parameters"), Some("scope"), Some(3)),
        (
            Some("return"),
            Some("return_statement"),
            Some("scope"),
            Some(4),
        ),
        (
            Some("return"),
            Some("return_statement"),
            Some("scope"),
            Some(4),
        ),
        (Some("identifier"), Some("binary_operator"), nl, Some(5)),
        (
            Some("+"),
            Some("binary_operator"),
            Some("operator"),
            Some(5),
        ),
        (Some("string"), Some("binary_operator"), nl, Some(5)),
        (Some("string"), Some("binary_operator"), nl, Some(5)),
        (Some("string"), Some("binary_operator"), nl, Some(5)),
        (None, None, None, None),
    ];
    for (position, (got, want)) in labels.iter().zip(expected).enumerate() {
        assert_eq!(*got, want, "token {position} {:?}", tokens[position].0);
    }
    // tags keep the token columns
    assert_eq!(tags[5].token, "(x");
    assert_eq!((tags[5].byte_start, tags[5].byte_end), (Some(9), Some(11)));
    assert_eq!(tags[5].logprob, (0.30f64).ln() as f32);
}

/// The tokens (by index into `python_tokens`) each concept must collect.
fn python_concepts() -> Vec<(&'static str, &'static str, Vec<usize>)> {
    let spanned: Vec<usize> = (1..=13).collect();
    vec![
        ("node_type", "identifier", vec![2, 3, 4, 5, 9]),
        ("node_type", "(", vec![5]),
        ("node_type", ")", vec![6]),
        ("node_type", ":", vec![6]),
        ("node_type", "parameters", vec![5, 6]),
        (
            "node_type",
            "return_statement",
            vec![7, 8, 9, 10, 11, 12, 13],
        ),
        ("node_type", "block", vec![7, 8, 9, 10, 11, 12, 13]),
        ("node_type", "string", vec![11, 12, 13]),
        ("node_type", "module", spanned.clone()),
        ("node_type", "function_definition", spanned),
        ("category", "scope", vec![6, 7, 8, 9, 10, 11, 12, 13]),
        (
            "category",
            "natural_language",
            vec![2, 3, 4, 5, 9, 11, 12, 13],
        ),
        ("category", "operator", vec![9, 10, 11, 12, 13]),
    ]
}

#[test]
fn python_concepts_collect_their_subtrees_and_absent_concepts_have_no_row() {
    let study = Study::new();
    let ids = study.testbed(&[("python", PYTHON)]);
    let tokens = python_tokens();
    study.tokens(&[("gru", &ids[0], &tokens)]);
    study.run_ok();
    let concepts = study.concepts();
    let by_name: BTreeMap<(&str, &str), &concepts::Row> = concepts
        .iter()
        .map(|c| ((c.concept_kind.as_str(), c.concept.as_str()), c))
        .collect();
    for (kind, name, members) in python_concepts() {
        let row = by_name
            .get(&(kind, name))
            .unwrap_or_else(|| panic!("no concept row for {kind} {name}"));
        let probabilities: Vec<f64> = members
            .iter()
            .map(|&i| f64::from((tokens[i].2.ln()) as f32).exp())
            .collect();
        let mean = probabilities.iter().sum::<f64>() / probabilities.len() as f64;
        assert_eq!(row.n_tokens as usize, members.len(), "{kind} {name}");
        assert!(
            (row.mean_prob - mean).abs() < 1e-12,
            "{kind} {name}: {} vs {mean}",
            row.mean_prob
        );
        assert!(row.boot_median > 0.0 && row.boot_median <= 1.0);
        if members.len() == 1 {
            assert_eq!(row.boot_se, 0.0);
        } else {
            assert!(row.boot_se > 0.0, "{kind} {name}");
        }
    }
    // the median of `identifier` (0.2, 0.4, 0.6, 0.3, 0.5) is 0.4
    assert!((by_name[&("node_type", "identifier")].median_prob - 0.4).abs() < 1e-6);
    // absent concepts have no row, and no row has zero tokens
    for absent in ["for_statement", "comment", "ERROR"] {
        assert!(!by_name.contains_key(&("node_type", absent)), "{absent}");
    }
    for absent in ["iterative", "decision", "types"] {
        assert!(!by_name.contains_key(&("category", absent)), "{absent}");
    }
    assert!(concepts.iter().all(|c| c.n_tokens > 0));
}

#[test]
fn nodes_list_the_ast_in_pre_order_with_collected_tokens() {
    let study = Study::new();
    let ids = study.testbed(&[("python", PYTHON)]);
    study.tokens(&[("gru", &ids[0], &python_tokens())]);
    study.run_ok();
    let nodes: Vec<nodes::Row> = read_all(study.path("out/nodes.parquet")).unwrap();
    assert_eq!(nodes[0].node_type, "module");
    assert_eq!(nodes[0].parent_id, None);
    assert_eq!(nodes[0].n_tokens, 13);
    for (index, node) in nodes.iter().enumerate() {
        assert_eq!(node.node_id as usize, index);
        if let Some(parent) = node.parent_id {
            assert!(parent < node.node_id);
            assert_eq!(nodes[parent as usize].depth + 1, node.depth);
        }
        assert_eq!(node.mean_prob.is_some(), node.n_tokens > 0);
    }
    // the string is one leaf: its parts are not listed
    assert!(nodes.iter().all(|n| n.node_type != "string_content"));
    let string = nodes.iter().find(|n| n.node_type == "string").unwrap();
    assert_eq!(
        (string.byte_start, string.byte_end, string.n_tokens),
        (29, 33, 3)
    );
}

/// A Java method outside a class, with an unfinished expression and a stray brace: tree-sitter
/// recovers with a zero-width MISSING identifier after `+` and an ERROR node around the last
/// `}`. Tokens inside the ERROR node still bind, and `ERROR` is a concept.
const JAVA: &str = "int größe(int n) { String s = \"ß\"; return n + ; } }";

fn java_tokens() -> Vec<Token<'static>> {
    // bytes: int 0..3, größe 4..11 (ö 6..8, ß 8..10), ( 11, int 12..15, n 16, ) 17, { 19,
    // String 21..27, s 28, = 30, "ß" 32..36, ; 36, return 38..44, n 45, + 47, ; 49, } 51
    vec![
        ("int", Some((0, 3)), 0.9),
        (" gr", Some((3, 6)), 0.2),
        ("öße", Some((6, 11)), 0.3),
        ("(", Some((11, 12)), 0.8),
        ("int", Some((12, 15)), 0.7),
        (" n", Some((15, 17)), 0.6),
        (")", Some((17, 18)), 0.85),
        (" {", Some((18, 20)), 0.9),
        (" String", Some((20, 27)), 0.4),
        (" s", Some((27, 29)), 0.3),
        (" =", Some((29, 31)), 0.75),
        (" \"ß\";", Some((31, 37)), 0.2),
        (" return", Some((37, 44)), 0.6),
        (" n", Some((44, 46)), 0.5),
        (" +", Some((46, 48)), 0.3),
        (" ;", Some((48, 50)), 0.1),
        (" }", Some((50, 52)), 0.9),
        (" }", Some((52, 54)), 0.05),
    ]
}

#[test]
fn java_code_with_error_nodes_still_binds_every_token() {
    let study = Study::new();
    let ids = study.testbed(&[("java", JAVA)]);
    let tokens = java_tokens();
    study.tokens(&[("gpt", &ids[0], &tokens)]);
    study.run_ok();
    let tags = study.tags();
    let labels: Vec<&str> = tags
        .iter()
        .map(|t| t.node_type.as_deref().unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "int",
            "identifier",
            "identifier",
            "(",
            "int",
            "identifier",
            ")",
            "{",
            "type_identifier",
            "identifier",
            "=",
            "string_literal",
            "return",
            "identifier",
            "+",
            ";",
            "}",
            "}"
        ]
    );
    assert_eq!(tags[17].parent_type.as_deref(), Some("ERROR"));
    let category = |i: usize| tags[i].category.as_deref();
    assert_eq!(category(0), Some("datatypes"));
    assert_eq!(category(3), Some("blocks"));
    assert_eq!(category(12), Some("blocks"));
    assert_eq!(category(14), Some("operators"));
    let concepts = study.concepts();
    let error = concepts
        .iter()
        .find(|c| c.concept_kind == "node_type" && c.concept == "ERROR")
        .expect("the stray brace makes an ERROR node");
    assert_eq!(error.n_tokens, 1);
    assert!((error.mean_prob - 0.05).abs() < 1e-6);
    // the MISSING identifier after `+` is a zero-width node that binds no token
    let nodes: Vec<nodes::Row> = read_all(study.path("out/nodes.parquet")).unwrap();
    let missing = nodes
        .iter()
        .find(|n| n.node_type == "identifier" && n.byte_start == n.byte_end)
        .expect("a MISSING identifier");
    assert_eq!(
        (missing.byte_start, missing.n_tokens, missing.mean_prob),
        (48, 0, None)
    );
    // `" \"ß\";"` crosses the string literal and `;`: labelled with the first, counted for both
    let semicolon = concepts
        .iter()
        .find(|c| c.concept_kind == "node_type" && c.concept == ";")
        .unwrap();
    assert_eq!(semicolon.n_tokens, 2, "{semicolon:?}");
}

#[test]
fn the_bootstrap_is_seeded_and_the_seed_is_recorded() {
    let study = Study::new();
    let ids = study.testbed(&[("python", PYTHON)]);
    study.tokens(&[("gru", &ids[0], &python_tokens())]);
    study.run_ok();
    let first = study.concepts();
    let global_first: Vec<concepts_global::Row> =
        read_all(study.path("out/global.parquet")).unwrap();
    study.run_ok();
    assert_eq!(study.concepts(), first);
    let metadata = read_metadata(study.path("out/concepts.parquet")).unwrap();
    let value = |key: &str| {
        metadata
            .key_values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(value("icodegen.tag.seed").as_deref(), Some("7"));
    assert_eq!(value("icodegen.tag.bootstrap").as_deref(), Some("200"));
    assert_eq!(
        value("icodegen.tag.taxonomy.python").map(|h| h.len()),
        Some(64)
    );
    study.params("tag:\n  bootstrap: 200\n  seed: 8\n");
    study.run_ok();
    let second = study.concepts();
    assert_ne!(second, first);
    assert!(
        second
            .iter()
            .zip(&first)
            .all(|(a, b)| a.mean_prob == b.mean_prob)
    );
    let global_second: Vec<concepts_global::Row> =
        read_all(study.path("out/global.parquet")).unwrap();
    assert_eq!(global_first.len(), global_second.len());
}

#[test]
fn global_scores_bootstrap_the_per_row_means_of_each_model() {
    let study = Study::new();
    let other = "def g():\n    return 1\n";
    let ids = study.testbed(&[("python", PYTHON), ("python", other)]);
    let other_tokens: Vec<Token> = vec![
        ("def", Some((0, 3)), 0.5),
        (" g", Some((3, 5)), 0.1),
        ("():", Some((5, 8)), 0.9),
        ("\n    return", Some((8, 19)), 0.6),
        (" 1", Some((19, 21)), 0.3),
        ("\n", Some((21, 22)), 0.7),
    ];
    let python = python_tokens();
    study.tokens(&[
        ("a", &ids[0], &python),
        ("a", &ids[1], &other_tokens),
        ("b", &ids[1], &other_tokens),
    ]);
    study.run_ok();
    let concepts = study.concepts();
    let global: Vec<concepts_global::Row> = read_all(study.path("out/global.parquet")).unwrap();
    for row in &global {
        let per_row: Vec<&concepts::Row> = concepts
            .iter()
            .filter(|c| {
                c.model_id == row.model_id
                    && c.concept_kind == row.concept_kind
                    && c.concept == row.concept
            })
            .collect();
        assert_eq!(row.n_rows as usize, per_row.len(), "{row:?}");
        assert_eq!(
            row.n_tokens,
            per_row.iter().map(|c| i64::from(c.n_tokens)).sum::<i64>()
        );
        let mean = per_row.iter().map(|c| c.mean_prob).sum::<f64>() / per_row.len() as f64;
        assert!((row.mean - mean).abs() < 1e-12);
        assert!(
            row.ci_low <= row.boot_median && row.boot_median <= row.ci_high,
            "{row:?}"
        );
    }
    let identifier_a = global
        .iter()
        .find(|g| g.model_id == "a" && g.concept == "identifier")
        .unwrap();
    assert_eq!(identifier_a.n_rows, 2);
    assert!(identifier_a.boot_se > 0.0);
    let identifier_b = global
        .iter()
        .find(|g| g.model_id == "b" && g.concept == "identifier")
        .unwrap();
    assert_eq!(identifier_b.n_rows, 1);
    // `integer` occurs only in the second row, with " 1" and the trailing newline after it
    let integer = global
        .iter()
        .find(|g| g.model_id == "a" && g.concept == "integer")
        .unwrap();
    assert_eq!((integer.n_rows, integer.n_tokens), (1, 2));
}

#[test]
fn groups_that_are_not_contiguous_fail_with_the_row_and_write_nothing() {
    let study = Study::new();
    let ids = study.testbed(&[("python", PYTHON), ("python", "x = 1\n")]);
    let python = python_tokens();
    let short: Vec<Token> = vec![(" =", Some((1, 3)), 0.5)];
    study.tokens(&[
        ("a", &ids[0], &python[..3]),
        ("a", &ids[1], &short),
        ("a", &ids[0], &python[3..]),
    ]);
    let output = study.run();
    assert_eq!(
        output.status.code(),
        Some(1),
        "a corrupt input is the work failing: {}",
        stderr(&output)
    );
    let message = stderr(&output);
    assert!(message.contains("tokens.parquet` row 4"), "{message}");
    assert!(message.contains("appear again"), "{message}");
    assert!(!study.path("out/tags.parquet").exists());
    let leftovers: Vec<_> = std::fs::read_dir(study.path("out"))
        .map(|entries| entries.collect())
        .unwrap_or_default();
    assert!(
        leftovers.is_empty(),
        "temporary files were left: {leftovers:?}"
    );
}

#[test]
fn a_span_outside_the_code_is_an_input_error_naming_file_and_row() {
    let study = Study::new();
    let ids = study.testbed(&[("python", "x = 1\n")]);
    let tokens: Vec<Token> = vec![("x", Some((0, 1)), 0.5), (" = 1", Some((1, 60)), 0.5)];
    study.tokens(&[("a", &ids[0], &tokens)]);
    let output = study.run();
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("tokens.parquet` row 1"), "{message}");
    assert!(
        message.contains("byte span 1..60, outside the 6 bytes"),
        "{message}"
    );
}

#[test]
fn a_row_missing_from_the_testbed_is_an_input_error() {
    let study = Study::new();
    study.testbed(&[("python", "x = 1\n")]);
    study.tokens(&[("a", "feedbeef", &[("x", Some((0, 1)), 0.5)])]);
    let output = study.run();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("row `feedbeef` (model `a`) is not in the testbed"));
}

#[test]
fn an_unknown_node_type_in_a_taxonomy_names_file_line_and_a_suggestion() {
    let study = Study::new();
    std::fs::write(
        study.path("python.yaml"),
        "language: python\ncategories:\n  loops: [for_statement,\n          whilestatement]\n",
    )
    .unwrap();
    study.params(&format!(
        "tag:\n  taxonomies:\n    python: {}\n",
        study.path("python.yaml").display()
    ));
    let ids = study.testbed(&[("python", "x = 1\n")]);
    study.tokens(&[("a", &ids[0], &[("x", Some((0, 1)), 0.5)])]);
    let output = study.run();
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("python.yaml:4:"), "{message}");
    assert!(
        message.contains("unknown node type `whilestatement`"),
        "{message}"
    );
    assert!(
        message.contains("did you mean `while_statement`?"),
        "{message}"
    );
}

#[test]
fn a_taxonomy_override_changes_the_categories() {
    let study = Study::new();
    std::fs::write(
        study.path("python.yaml"),
        "language: python\natomic: [string]\ncategories:\n  keywords: [def, return]\n",
    )
    .unwrap();
    study.params(&format!(
        "tag:\n  bootstrap: 50\n  taxonomies:\n    python: {}\n",
        study.path("python.yaml").display()
    ));
    let ids = study.testbed(&[("python", PYTHON)]);
    study.tokens(&[("a", &ids[0], &python_tokens())]);
    study.run_ok();
    let categories: Vec<(String, i32)> = study
        .concepts()
        .into_iter()
        .filter(|c| c.concept_kind == "category")
        .map(|c| (c.concept, c.n_tokens))
        .collect();
    assert_eq!(categories, [("keywords".to_owned(), 3)]);
}

#[test]
fn explain_renders_one_row_as_self_contained_html() {
    let study = Study::new();
    let ids = study.testbed(&[("python", PYTHON)]);
    study.tokens(&[("gru", &ids[0], &python_tokens())]);
    study.run_ok();
    let explain = |model: &str| {
        Command::new(env!("CARGO_BIN_EXE_icodegen-tag"))
            .current_dir(study.dir.path())
            .args([
                "explain",
                "--testbed",
                "testbed.parquet",
                "--tags",
                "out/tags.parquet",
                "--nodes",
                "out/nodes.parquet",
                "--row",
                &ids[0],
                "--model-id",
                model,
                "--out",
                "explain/row.html",
            ])
            .output()
            .unwrap()
    };
    let output = explain("gru");
    assert!(output.status.success(), "{}", stderr(&output));
    let html = std::fs::read_to_string(study.path("explain/row.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg") && html.contains("function_definition"));
    assert!(html.contains("caf") && html.contains("&quot;ü&quot;"));
    assert!(!html.contains("<script"));
    let output = explain("lstm");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("model `lstm` is not in"),
        "{}",
        stderr(&output)
    );
}
