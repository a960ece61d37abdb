//! One (model, row): parse the code, bind every token to leaves, let every node collect the
//! tokens of its subtree, and score every concept (node type and category) present.
//!
//! A node collects a token when one of the token's leaves lies in its subtree (equivalently:
//! the token starts inside it, ends inside it or covers it, with whitespace belonging to the
//! leaf it precedes). A concept collects the union of the tokens of its nodes, each token once,
//! however many of its nodes (nested loops, `)` and `:` of one `):` token) contain it. That walk
//! costs the sum over tokens of the distinct ancestors of their leaves, the same order as the
//! concept lists it produces; the binding itself is linear ([`crate::align`]).

use std::path::Path;

pub use icodegen_artifacts::vocab::ConceptKind;
use icodegen_lang::{Parsers, Snippet};

use crate::align::{self, LeafRange};
use crate::bootstrap::{self, MeanBootstrap};
use crate::error::{Result, TagError};
use crate::tree::{FlatTree, LanguageTable, NONE};

/// One scored token as tag reads it from tokens.parquet.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenIn {
    pub position: i32,
    pub token_id: i32,
    pub token: String,
    pub byte_start: Option<i32>,
    pub byte_end: Option<i32>,
    pub logprob: f32,
    /// Row number in tokens.parquet, for messages.
    pub file_row: usize,
}

/// AsC-Eval of one concept in one row.
#[derive(Debug, Clone, PartialEq)]
pub struct ConceptScore {
    pub kind: ConceptKind,
    /// Index into the language table's type or category names.
    pub concept: u32,
    pub n_tokens: u32,
    pub mean: f64,
    pub median: f64,
    pub bootstrap: MeanBootstrap,
}

/// What one (model, row) produces.
#[derive(Debug, Clone, PartialEq)]
pub struct RowResult {
    pub tree: FlatTree,
    /// Per input token: the node index of its label leaf, [`NONE`] without a span.
    pub labels: Vec<u32>,
    /// Per node: tokens collected and the sum of their probabilities.
    pub node_tokens: Vec<u32>,
    pub node_probability_sum: Vec<f64>,
    /// Node types then categories, each sorted by name.
    pub concepts: Vec<ConceptScore>,
}

/// Everything [`process_row`] needs.
pub struct RowTask<'a> {
    pub model_id: &'a str,
    pub row_id: &'a str,
    pub code: &'a str,
    pub table: &'a LanguageTable,
    /// The row's tokens, in position order.
    pub tokens: &'a [TokenIn],
    /// tokens.parquet, for messages.
    pub tokens_path: &'a Path,
    pub bootstrap: usize,
    pub seed: u64,
}

/// The token's byte span if it has a usable one; `None` for tokens without offsets (BOS, EOS)
/// and for zero-width spans (special tokens some tokenizers place at (0, 0)).
pub fn span_of(
    token: &TokenIn,
    code_len: usize,
    row_id: &str,
    path: &Path,
) -> Result<Option<(u32, u32)>> {
    let bad = |message: String| TagError::Input {
        path: path.to_path_buf(),
        row: token.file_row,
        message,
    };
    match (token.byte_start, token.byte_end) {
        (None, None) => Ok(None),
        (Some(start), Some(end)) => {
            if start < 0 || end < start || end as usize > code_len {
                return Err(bad(format!(
                    "token {:?} (position {}) has byte span {start}..{end}, outside the {code_len} \
                     bytes of row `{row_id}`'s code\nhint: tokens and testbed must come from the \
                     same pipeline run; offsets are bytes of the UTF-8 code",
                    token.token, token.position
                )));
            }
            Ok((start < end).then_some((start as u32, end as u32)))
        }
        (start, end) => Err(bad(format!(
            "token {:?} (position {}) has byte_start {start:?} but byte_end {end:?}; both or \
             neither must be null",
            token.token, token.position
        ))),
    }
}

/// Aligns and aggregates one (model, row).
pub fn process_row(task: &RowTask, parsers: &mut Parsers) -> Result<RowResult> {
    let table = task.table;
    let spans = task
        .tokens
        .iter()
        .map(|token| span_of(token, task.code.len(), task.row_id, task.tokens_path))
        .collect::<Result<Vec<_>>>()?;
    // The one way every stage parses a snippet, so tag sees the tree preprocess saw.
    let snippet = Snippet::parse(parsers, table.language, task.code).map_err(|error| {
        TagError::Internal(format!(
            "cannot parse row `{}` ({} bytes of {}): {error}",
            task.row_id,
            task.code.len(),
            table.language
        ))
    })?;
    let flat = FlatTree::build(&snippet, table)?;
    let leaf_spans = flat.leaf_spans();
    let bound: Vec<Option<LeafRange>> = if flat.leaves_overlap {
        align::bind_naive(&leaf_spans, &spans)
    } else {
        align::bind(&leaf_spans, &spans)
    };

    let categories = table.category_names.len();
    let mut node_tokens = vec![0u32; flat.len()];
    let mut node_probability_sum = vec![0f64; flat.len()];
    let mut node_stamp = vec![0u32; flat.len()];
    let mut type_stamp = vec![0u32; table.type_count()];
    let mut category_stamp = vec![0u32; categories];
    let mut type_values: Vec<Vec<f64>> = vec![Vec::new(); table.type_count()];
    let mut category_values: Vec<Vec<f64>> = vec![Vec::new(); categories];
    let mut labels = vec![NONE; task.tokens.len()];
    for (index, (token, range)) in task.tokens.iter().zip(&bound).enumerate() {
        let Some(range) = range else { continue };
        labels[index] = flat.leaves[range.first as usize];
        let stamp = index as u32 + 1;
        let probability = f64::from(token.logprob).exp();
        for leaf in range.first..=range.last {
            let mut node = flat.leaves[leaf as usize];
            while node != NONE && node_stamp[node as usize] != stamp {
                let n = node as usize;
                node_stamp[n] = stamp;
                node_tokens[n] += 1;
                node_probability_sum[n] += probability;
                let node_type = flat.node_type[n] as usize;
                if type_stamp[node_type] != stamp {
                    type_stamp[node_type] = stamp;
                    type_values[node_type].push(probability);
                    let category = table.category_of_type(node_type as u32);
                    if category != NONE && category_stamp[category as usize] != stamp {
                        category_stamp[category as usize] = stamp;
                        category_values[category as usize].push(probability);
                    }
                }
                node = flat.parent[n];
            }
        }
    }

    let mut concepts = Vec::new();
    let mut scratch = Vec::new();
    let seed = task.seed.to_le_bytes();
    let mut score = |kind: ConceptKind, concept: u32, name: &str, values: &[f64]| {
        let mut rng = bootstrap::stream(&[
            b"concept",
            &seed,
            task.model_id.as_bytes(),
            task.row_id.as_bytes(),
            kind.as_str().as_bytes(),
            name.as_bytes(),
        ]);
        concepts.push(ConceptScore {
            kind,
            concept,
            n_tokens: values.len() as u32,
            mean: bootstrap::mean(values),
            median: bootstrap::median(values, &mut scratch),
            bootstrap: bootstrap::bootstrap_mean(values, task.bootstrap, &mut rng, &mut scratch),
        });
    };
    for &node_type in table.types_by_name() {
        let values = &type_values[node_type as usize];
        if !values.is_empty() {
            score(
                ConceptKind::NodeType,
                node_type,
                &table.type_names[node_type as usize],
                values,
            );
        }
    }
    for &category in table.categories_by_name() {
        let values = &category_values[category as usize];
        if !values.is_empty() {
            score(
                ConceptKind::Category,
                category,
                &table.category_names[category as usize],
                values,
            );
        }
    }
    Ok(RowResult {
        tree: flat,
        labels,
        node_tokens,
        node_probability_sum,
        concepts,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use icodegen_lang::Language;
    use proptest::prelude::*;

    use super::*;
    use crate::taxonomy::{Taxonomy, default_path};

    fn table(language: Language) -> LanguageTable {
        let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/taxonomies");
        LanguageTable::new(Taxonomy::load(language, &default_path(&directory, language)).unwrap())
    }

    fn tokens_at(cuts: &[usize], code_len: usize) -> Vec<TokenIn> {
        let mut bounds = vec![0];
        bounds.extend(cuts.iter().copied().filter(|&c| c > 0 && c < code_len));
        bounds.push(code_len);
        bounds.sort_unstable();
        bounds.dedup();
        bounds
            .windows(2)
            .enumerate()
            .map(|(i, w)| TokenIn {
                position: i as i32 + 1,
                token_id: 0,
                token: String::new(),
                byte_start: Some(w[0] as i32),
                byte_end: Some(w[1] as i32),
                logprob: -((i % 7) as f32) / 3.0,
                file_row: i,
            })
            .collect()
    }

    fn run(language: Language, code: &str, tokens: &[TokenIn]) -> (LanguageTable, RowResult) {
        let table = table(language);
        let task = RowTask {
            model_id: "m",
            row_id: "r",
            code,
            table: &table,
            tokens,
            tokens_path: Path::new("tokens.parquet"),
            bootstrap: 20,
            seed: 1,
        };
        let result = process_row(&task, &mut Parsers::new()).unwrap();
        (table, result)
    }

    const FRAGMENTS: &[&str] = &[
        "def ",
        "f",
        "(",
        ")",
        ":",
        "\n",
        "    ",
        "return ",
        "x",
        " + ",
        "\"é\"",
        "# ü\n",
        "[",
        "]",
        "1",
        "ß",
        "if ",
        "for i in x",
        "'",
        ",",
        "lambda: ",
        "{",
        "}",
        "\t",
        "→",
        " ",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Random Python-ish code (often broken, so with ERROR and MISSING nodes, multi-byte
        /// characters) cut into tokens at random byte offsets, even inside characters.
        #[test]
        fn every_token_inside_the_code_gets_exactly_one_leaf_and_nodes_collect_their_subtree(
            pieces in proptest::collection::vec(0..FRAGMENTS.len(), 1..30),
            cuts in proptest::collection::vec(0usize..200, 0..40),
        ) {
            let code: String = pieces.iter().map(|&i| FRAGMENTS[i]).collect();
            let tokens = tokens_at(&cuts, code.len());
            let (table, result) = run(Language::Python, &code, &tokens);
            let tree = &result.tree;
            let is_leaf = |node: u32| tree.leaves.contains(&node);
            for label in &result.labels {
                prop_assert!(*label != NONE && is_leaf(*label));
            }
            // naive: a node collects a token when one of the token's leaves is in its subtree
            let spans: Vec<Option<(u32, u32)>> = tokens
                .iter()
                .map(|t| Some((t.byte_start.unwrap() as u32, t.byte_end.unwrap() as u32)))
                .collect();
            let bound = crate::align::bind_naive(&tree.leaf_spans(), &spans);
            let ancestors = |mut node: u32| {
                let mut path = Vec::new();
                while node != NONE {
                    path.push(node);
                    node = tree.parent[node as usize];
                }
                path
            };
            let mut expected_nodes = vec![0u32; tree.len()];
            let mut expected_types: std::collections::BTreeMap<u32, u32> = Default::default();
            for range in bound.iter().flatten() {
                let mut collected = std::collections::BTreeSet::new();
                for leaf in range.first..=range.last {
                    collected.extend(ancestors(tree.leaves[leaf as usize]));
                }
                for &node in &collected {
                    expected_nodes[node as usize] += 1;
                }
                let types: std::collections::BTreeSet<u32> =
                    collected.iter().map(|&n| tree.node_type[n as usize]).collect();
                for node_type in types {
                    *expected_types.entry(node_type).or_default() += 1;
                }
            }
            prop_assert_eq!(&result.node_tokens, &expected_nodes);
            let got_types: std::collections::BTreeMap<u32, u32> = result
                .concepts
                .iter()
                .filter(|c| c.kind == ConceptKind::NodeType)
                .map(|c| (c.concept, c.n_tokens))
                .collect();
            prop_assert_eq!(got_types, expected_types);
            prop_assert_eq!(result.node_tokens[0] as usize, tokens.len(), "the root collects every token");
            let _ = table;
        }
    }

    #[test]
    fn a_label_is_the_first_leaf_and_a_crossing_token_counts_for_both() {
        let code = "f(x):\n";
        // "(x):" crosses `(`, `x`, `)` and `:`
        let tokens = tokens_at(&[1, 5], code.len());
        let (table, result) = run(Language::Python, code, &tokens);
        let name =
            |node: u32| table.type_names[result.tree.node_type[node as usize] as usize].as_str();
        assert_eq!(name(result.labels[1]), "(");
        let count = |concept: &str| {
            result
                .concepts
                .iter()
                .find(|c| {
                    c.kind == ConceptKind::NodeType
                        && table.type_names[c.concept as usize] == concept
                })
                .map(|c| c.n_tokens)
        };
        assert_eq!(count("("), Some(1));
        assert_eq!(count(")"), Some(1));
        assert_eq!(count("identifier"), Some(2));
        assert_eq!(count("for_statement"), None);
    }

    #[test]
    fn zero_width_and_missing_spans_bind_nothing_and_bad_spans_are_errors() {
        let code = "x = 1\n";
        let mut tokens = tokens_at(&[1], code.len());
        tokens[0].byte_end = tokens[0].byte_start; // zero width
        let (_, result) = run(Language::Python, code, &tokens);
        assert_eq!(result.labels[0], NONE);
        assert_ne!(result.labels[1], NONE);
        tokens[1].byte_end = None;
        let table = table(Language::Python);
        let task = RowTask {
            model_id: "m",
            row_id: "r",
            code,
            table: &table,
            tokens: &tokens,
            tokens_path: Path::new("tokens.parquet"),
            bootstrap: 20,
            seed: 1,
        };
        let error = process_row(&task, &mut Parsers::new()).unwrap_err();
        assert!(
            error.to_string().contains("both or neither must be null"),
            "{error}"
        );
    }

    /// One real function per language (`tests/fixtures/snippets/SOURCES.md`), the node types
    /// its tokens must reach, and the grammar's root type.
    const REAL_SNIPPETS: &[(Language, &str, &str, &[&str])] = &[
        (
            Language::Python,
            "python.py",
            "module",
            &["function_definition", "for_statement", "if_statement"],
        ),
        (
            Language::Java,
            "java.java",
            "program",
            &["method_declaration", "if_statement", "binary_expression"],
        ),
        (
            Language::JavaScript,
            "javascript.js",
            "program",
            &["function_expression", "switch_statement", "if_statement"],
        ),
        (
            Language::Go,
            "go.go",
            "source_file",
            &["method_declaration", "expression_switch_statement"],
        ),
        (
            Language::Ruby,
            "ruby.rb",
            "program",
            &["method", "unless_modifier", "do_block"],
        ),
        (
            Language::Php,
            "php.php",
            "program",
            &[
                "method_declaration",
                "if_statement",
                "function_call_expression",
                "variable_name",
                "optional_type",
            ],
        ),
    ];

    #[test]
    fn a_real_snippet_of_every_language_binds_to_its_grammar_node_types() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/snippets");
        for &(language, file, root, expected) in REAL_SNIPPETS {
            let code = fs_err::read_to_string(fixtures.join(file)).unwrap();
            // One token per whitespace-separated word, as a byte-level BPE roughly cuts.
            let cuts: Vec<usize> = code
                .char_indices()
                .filter(|&(i, c)| c.is_whitespace() && i > 0)
                .map(|(i, _)| i)
                .collect();
            let tokens = tokens_at(&cuts, code.len());
            let (table, result) = run(language, &code, &tokens);
            let grammar = language.node_type_names();
            let name = |node: u32| {
                table.type_names[result.tree.node_type[node as usize] as usize].as_str()
            };
            let types: std::collections::BTreeSet<&str> =
                (0..result.tree.len() as u32).map(name).collect();
            assert_eq!(name(0), root, "{language}: root");
            assert!(!types.contains("ERROR"), "{language}: {types:?}");
            assert!(
                !types.contains("text"),
                "{language}: PHP code read as text: {types:?}"
            );
            for node_type in &types {
                assert!(
                    grammar.contains(*node_type),
                    "{language}: `{node_type}` is not in the grammar"
                );
            }
            for node_type in expected {
                assert!(
                    types.contains(node_type),
                    "{language}: no `{node_type}` in {types:?}"
                );
            }
            // Every token binds, to a leaf under the root, and the leaves cover the code.
            assert!(
                result.labels.iter().all(|&label| label != NONE),
                "{language}"
            );
            assert_eq!(result.tree.end[0] as usize, code.len(), "{language}");
            let last_leaf = *result.tree.leaves.last().unwrap() as usize;
            assert_eq!(
                result.tree.end[last_leaf] as usize,
                code.trim_end().len(),
                "{language}"
            );
            let categorised = result
                .concepts
                .iter()
                .filter(|concept| concept.kind == ConceptKind::Category)
                .count();
            assert!(categorised > 0, "{language}: no taxonomy category scored");
        }
    }

    #[test]
    fn the_astrust_java_taxonomy_categorises_most_of_a_real_method() {
        let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/taxonomies");
        let astrust = LanguageTable::new(
            Taxonomy::load(Language::Java, &directory.join("java-astrust.yaml")).unwrap(),
        );
        let docode = table(Language::Java);
        let code = fs_err::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/snippets/java.java"),
        )
        .unwrap();
        let uncategorised = |table: &LanguageTable| {
            let task_tokens = tokens_at(&[], code.len());
            let task = RowTask {
                model_id: "m",
                row_id: "r",
                code: &code,
                table,
                tokens: &task_tokens,
                tokens_path: Path::new("tokens.parquet"),
                bootstrap: 2,
                seed: 1,
            };
            let result = process_row(&task, &mut Parsers::new()).unwrap();
            let leaves = &result.tree.leaves;
            leaves
                .iter()
                .filter(|&&leaf| result.tree.category[leaf as usize] == NONE)
                .count() as f64
                / leaves.len() as f64
        };
        // docode's categories are keywords and punctuation: identifiers and literals have none.
        assert!(uncategorised(&docode) > 0.3, "{}", uncategorised(&docode));
        assert!(uncategorised(&astrust) < 0.1, "{}", uncategorised(&astrust));
        for category in ["decision", "operator", "natural_language", "scope", "types"] {
            assert!(
                astrust.category_names.iter().any(|name| name == category),
                "{category}"
            );
        }
    }
}
