//! `bugfix` by synthetic bugs: AST mutation operators. Each operator lists its sites in the
//! tree; one operator is drawn among those with sites, then one site.

use icodegen_artifacts::vocab::Mutation;
use icodegen_lang::ast;
use icodegen_lang::{Class, Edit, Parsers, Snippet};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tree_sitter::Node;

use super::{
    Candidate, Outcome, Settings, Tally, parses_cleanly, statements, try_candidates, walk_code,
};

/// The mutation operators (params and `mutation` column names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    FlipComparison,
    SwapArithmetic,
    OffByOne,
    NegateCondition,
    SwapArguments,
    DeleteStatement,
}

impl Operator {
    pub const ALL: [Operator; 6] = [
        Operator::FlipComparison,
        Operator::SwapArithmetic,
        Operator::OffByOne,
        Operator::NegateCondition,
        Operator::SwapArguments,
        Operator::DeleteStatement,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Operator::FlipComparison => Mutation::FlipComparison,
            Operator::SwapArithmetic => Mutation::SwapArithmetic,
            Operator::OffByOne => Mutation::OffByOne,
            Operator::NegateCondition => Mutation::NegateCondition,
            Operator::SwapArguments => Mutation::SwapArguments,
            Operator::DeleteStatement => Mutation::DeleteStatement,
        }
        .as_str()
    }
}

fn flipped(operator: &str) -> Option<&'static str> {
    Some(match operator {
        "<" => ">=",
        ">=" => "<",
        ">" => "<=",
        "<=" => ">",
        "==" => "!=",
        "!=" => "==",
        "===" => "!==",
        "!==" => "===",
        "<>" => "==",
        "in" => "not in",
        "not in" => "in",
        "is" => "is not",
        "is not" => "is",
        _ => return None,
    })
}

fn swapped(operator: &str) -> Option<&'static str> {
    Some(match operator {
        "+" => "-",
        "-" => "+",
        "*" => "/",
        "/" => "*",
        _ => return None,
    })
}

/// Arguments that can trade places (not keyword arguments, splats or blocks).
fn is_positional(node: Node) -> bool {
    match node.kind() {
        "keyword_argument"
        | "list_splat"
        | "dictionary_splat"
        | "spread_element"
        | "pair"
        | "block_argument"
        | "splat_argument"
        | "hash_splat_argument"
        | "variadic_argument"
        | "comment"
        | "line_comment"
        | "block_comment" => false,
        // PHP named arguments (`f(name: $x)`)
        "argument" => node.child_by_field_name("name").is_none(),
        _ => true,
    }
}

pub(super) fn apply(
    parsers: &mut Parsers,
    snippet: &Snippet,
    rng: &mut ChaCha8Rng,
    settings: &Settings,
    tally: &mut Tally,
) -> Outcome {
    let syntax = snippet.language.syntax();
    let code = snippet.code();
    let enabled = |operator: Operator| settings.operators.contains(&operator);
    let mut candidates = Vec::new();
    walk_code(snippet, |node, parent| {
        let class = syntax.class_of(node);
        let in_binary = || parent.is_some_and(|parent| syntax.is(parent, Class::BINARY));
        if !node.is_named() {
            let text = snippet.text(node);
            if enabled(Operator::FlipComparison)
                && class.intersects(Class::COMPARISON)
                && in_binary()
                && let Some(replacement) = flipped(text)
            {
                candidates.push(Candidate {
                    mutation: Operator::FlipComparison.name(),
                    edits: vec![Edit::replace(snippet.range(node), replacement)],
                });
            }
            if enabled(Operator::SwapArithmetic)
                && class.intersects(Class::MATH)
                && in_binary()
                && let Some(replacement) = swapped(text)
            {
                candidates.push(Candidate {
                    mutation: Operator::SwapArithmetic.name(),
                    edits: vec![Edit::replace(snippet.range(node), replacement)],
                });
            }
            return;
        }
        if enabled(Operator::OffByOne) && class.intersects(Class::INTEGER) {
            let text = snippet.text(node);
            let plain = !text.is_empty()
                && text.bytes().all(|byte| byte.is_ascii_digit())
                && !(text.len() > 1 && text.starts_with('0'));
            if plain && let Ok(value) = text.parse::<u64>() {
                let replacement = if value > 0 && rng.random_range(0..2) == 0 {
                    value - 1
                } else {
                    value.saturating_add(1)
                };
                candidates.push(Candidate {
                    mutation: Operator::OffByOne.name(),
                    edits: vec![Edit::replace(snippet.range(node), replacement.to_string())],
                });
            }
        }
        if enabled(Operator::NegateCondition)
            && class.intersects(Class::CONDITIONAL)
            && let Some(condition) = node.child_by_field_name("condition")
        {
            let negation = syntax.negation;
            let target = if condition.kind() == "parenthesized_expression"
                && condition.named_child_count() == 1
            {
                condition.named_child(0).unwrap_or(condition)
            } else {
                condition
            };
            let range = snippet.range(target);
            let text = &code[range.clone()];
            candidates.push(Candidate {
                mutation: Operator::NegateCondition.name(),
                edits: vec![Edit::replace(range, format!("{negation}({text})"))],
            });
        }
        if enabled(Operator::SwapArguments) && class.intersects(Class::ARGUMENTS) {
            let mut cursor = node.walk();
            let arguments: Vec<Node> = node.named_children(&mut cursor).collect();
            let positional: Vec<Node> = arguments
                .iter()
                .copied()
                .take_while(|argument| is_positional(*argument))
                .collect();
            for pair in positional.windows(2) {
                let (first, second) = (snippet.range(pair[0]), snippet.range(pair[1]));
                if code[first.clone()] == code[second.clone()] {
                    continue;
                }
                candidates.push(Candidate {
                    mutation: Operator::SwapArguments.name(),
                    edits: vec![
                        Edit::replace(first.clone(), &code[second.clone()]),
                        Edit::replace(second, &code[first]),
                    ],
                });
            }
        }
        if enabled(Operator::DeleteStatement) && class.intersects(Class::STATEMENT_LIST) {
            let children = statements(snippet, node);
            if children.len() >= 2 {
                for statement in children {
                    let range = snippet.range(statement);
                    if ast::starts_line(code, range.start) && ast::ends_line(code, range.end) {
                        candidates.push(Candidate {
                            mutation: Operator::DeleteStatement.name(),
                            edits: vec![Edit::delete(
                                ast::line_start(code, range.start)
                                    ..ast::line_end_inclusive(code, range.end),
                            )],
                        });
                    }
                }
            }
        }
    });
    try_candidates(
        parsers,
        snippet,
        candidates,
        rng,
        settings.max_attempts,
        tally,
        parses_cleanly,
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::settings;
    use super::super::{Intervention, Outcome, Tally, apply as apply_intervention};
    use super::*;
    use icodegen_lang::Language;

    fn mutate(language: Language, code: &str, operator: Operator) -> Option<String> {
        let mut parsers = Parsers::new();
        let snippet = Snippet::parse(&mut parsers, language, code).unwrap();
        let mut only = settings();
        only.operators = vec![operator];
        let mut tally = Tally::default();
        match apply_intervention(
            Intervention::Bugfix,
            &mut parsers,
            &snippet,
            "id",
            &only,
            &mut tally,
        ) {
            Outcome::Made(variant) => {
                assert_eq!(variant.mutation, operator.name());
                assert_eq!(variant.snippet.error_count(), 0);
                Some(variant.snippet.code().to_owned())
            }
            _ => None,
        }
    }

    const PYTHON: &str =
        "def f(a, b):\n    if a < b:\n        a = a + 1\n    g(a, b)\n    return a\n";

    #[test]
    fn each_operator_makes_its_python_bug() {
        assert_eq!(
            mutate(Language::Python, PYTHON, Operator::FlipComparison).unwrap(),
            PYTHON.replace("a < b", "a >= b")
        );
        assert_eq!(
            mutate(Language::Python, PYTHON, Operator::SwapArithmetic).unwrap(),
            PYTHON.replace("a + 1", "a - 1")
        );
        let off = mutate(Language::Python, PYTHON, Operator::OffByOne).unwrap();
        assert!(
            off == PYTHON.replace("a + 1", "a + 0") || off == PYTHON.replace("a + 1", "a + 2"),
            "{off}"
        );
        assert_eq!(
            mutate(Language::Python, PYTHON, Operator::NegateCondition).unwrap(),
            PYTHON.replace("if a < b", "if not (a < b)")
        );
        assert_eq!(
            mutate(Language::Python, PYTHON, Operator::SwapArguments).unwrap(),
            PYTHON.replace("g(a, b)", "g(b, a)")
        );
        let deleted = mutate(Language::Python, PYTHON, Operator::DeleteStatement).unwrap();
        assert!(
            deleted.lines().count() < PYTHON.lines().count(),
            "{deleted}"
        );
        assert!(deleted.starts_with("def f(a, b):\n"), "{deleted}");
    }

    #[test]
    fn java_negation_goes_inside_the_parentheses() {
        let code = "int f(int a) {\n  if (a > 0) {\n    return a;\n  }\n  return 0;\n}";
        let negated = mutate(Language::Java, code, Operator::NegateCondition).unwrap();
        assert_eq!(negated, code.replace("(a > 0)", "(!(a > 0))"));
    }

    #[test]
    fn no_site_means_no_pair() {
        assert_eq!(
            mutate(
                Language::Python,
                "def f():\n    return g\n",
                Operator::FlipComparison
            ),
            None
        );
    }

    #[test]
    fn keyword_arguments_are_not_swapped() {
        assert_eq!(
            mutate(
                Language::Python,
                "def f():\n    return g(x=1, y=2)\n",
                Operator::SwapArguments
            ),
            None
        );
    }
}
