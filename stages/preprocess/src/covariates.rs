//! The confounders of one piece of code (methodology §1), from one walk over its tree-sitter
//! tree. Definitions (what each class of node is per language) live in `icodegen_lang::syntax`;
//! this module only counts.
//!
//! Cyclomatic complexity follows lizard: 1 + the decision-point tokens of the snippet's
//! outermost function (lizard's condition tokens for the language: `if`, `elif`, `for`,
//! `while`, `except`, `finally`, `and`, `or`, `case` for Python), not counting functions nested
//! inside it (lizard reports those separately). Code without a function counts every token.

use std::collections::HashSet;

use icodegen_artifacts::Covariates;
use icodegen_lang::ast::Visit;
use icodegen_lang::{Class, Language, Snippet};
use tree_sitter::Node;

use crate::bindings;

/// Kinds whose subtrees lizard treats as separate functions when nested (besides
/// [`Class::FUNCTION`]).
fn nested_function_classes(language: Language) -> Class {
    match language {
        Language::JavaScript | Language::Go => Class::FUNCTION.union(Class::LAMBDA),
        _ => Class::FUNCTION,
    }
}

fn saturate(value: usize) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// Counts lizard's decision points during a walk: those of the snippet's outermost function
/// outside functions nested in it, and (for code without a function) all of them.
struct Decisions {
    /// Kind id of `?` in the snippet grammar (0, the end symbol, when it has none).
    question_mark: u16,
    nested: Class,
    /// Byte range of the outermost function, once found.
    main: Option<std::ops::Range<usize>>,
    /// Functions (of the `nested` classes) on the path, by depth.
    functions_on_path: Vec<u32>,
    in_main: usize,
    everywhere: usize,
}

impl Decisions {
    fn new(language: Language) -> Self {
        Decisions {
            question_mark: language.snippet_grammar().id_for_node_kind("?", false),
            nested: nested_function_classes(language),
            main: None,
            functions_on_path: Vec::with_capacity(64),
            in_main: 0,
            everywhere: 0,
        }
    }

    fn visit(&mut self, node: Node, class: Class, parent: Option<Node>, depth: usize) {
        self.functions_on_path.truncate(depth);
        let above = self.functions_on_path.last().copied().unwrap_or(0);
        self.functions_on_path
            .push(above + u32::from(class.intersects(self.nested)));
        if self.main.is_none() && class.intersects(Class::FUNCTION) && node.is_named() {
            self.main = Some(node.byte_range());
        }
        if node.is_named() || !class.intersects(Class::DECISION) {
            return;
        }
        // Lizard counts `?` only as the ternary operator, not in `List<?>` or PHP's `?int`.
        if self.question_mark != 0 && node.kind_id() == self.question_mark {
            let ternary = parent.is_some_and(|parent| {
                matches!(
                    parent.kind(),
                    "ternary_expression" | "conditional_expression" | "conditional"
                )
            });
            if !ternary {
                return;
            }
        }
        self.everywhere += 1;
        let inside_main = self
            .main
            .as_ref()
            .is_some_and(|main| main.contains(&node.start_byte()));
        if inside_main && above == 1 {
            self.in_main += 1;
        }
    }

    fn cyclomatic(&self) -> usize {
        1 + if self.main.is_some() {
            self.in_main
        } else {
            self.everywhere
        }
    }
}

/// Lizard-compatible cyclomatic complexity of the snippet.
pub fn cyclomatic(snippet: &Snippet) -> usize {
    let syntax = snippet.language.syntax();
    let mut decisions = Decisions::new(snippet.language);
    snippet.walk_with_path(|node, path| {
        decisions.visit(
            node,
            syntax.class_of(node),
            path.last().copied(),
            path.len(),
        );
        Visit::Descend
    });
    decisions.cyclomatic()
}

/// Lines with a non-blank character outside comments.
fn lines_of_code(code: &str, comments: &[std::ops::Range<usize>]) -> usize {
    let mut count = 0;
    let mut offset = 0;
    let mut comment = 0;
    for line in code.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let has_code = line.char_indices().any(|(index, character)| {
            if character.is_whitespace() {
                return false;
            }
            let at = start + index;
            while comment < comments.len() && comments[comment].end <= at {
                comment += 1;
            }
            !(comment < comments.len() && comments[comment].start <= at)
        });
        count += usize::from(has_code);
    }
    count
}

/// Every covariate of the snippet, from one walk over its tree.
pub fn covariates(snippet: &Snippet) -> Covariates {
    let syntax = snippet.language.syntax();
    let code = snippet.code();
    let offset = usize::from(snippet.is_wrapped());

    let mut ast_depth = 0usize;
    let mut nodes = 0usize;
    let mut errors = 0usize;
    let mut identifiers = 0usize;
    let mut words: HashSet<&str> = HashSet::new();
    let mut counts = Counts::default();
    let mut has_function = false;
    let mut comments: Vec<std::ops::Range<usize>> = Vec::new();
    // blocks_on_path[d] = block nodes on the path to the current node at depth d.
    let mut blocks_on_path: Vec<usize> = Vec::with_capacity(64);
    let mut max_blocks = 0usize;
    let mut decisions = Decisions::new(snippet.language);
    let mut bindings = bindings::Collector::new(snippet);

    snippet.walk_with_path(|node, path| {
        let depth = path.len();
        let parent = path.last().copied();
        nodes += 1;
        ast_depth = ast_depth.max(depth + offset + 1);
        if node.is_error() || node.is_missing() {
            errors += 1;
        }
        let class = syntax.class_of(node);
        blocks_on_path.truncate(depth);
        let above = blocks_on_path.last().copied().unwrap_or(0);
        let here = above + usize::from(class.intersects(Class::BLOCK));
        blocks_on_path.push(here);
        max_blocks = max_blocks.max(here);
        decisions.visit(node, class, parent, depth);

        if node.is_named() {
            if class.intersects(Class::FUNCTION) {
                has_function = true;
            }
            if class.intersects(Class::IDENTIFIER) {
                identifiers += 1;
                words.insert(snippet.text(node));
            }
            if class.intersects(Class::COMMENT) {
                comments.push(snippet.range(node));
            }
            counts.named(node, class, parent);
            bindings.visit(node);
        } else {
            let in_binary = || parent.is_some_and(|parent| syntax.is(parent, Class::BINARY));
            if class.intersects(Class::COMPARISON) && in_binary() {
                counts.comparisons += 1;
            }
            if class.intersects(Class::MATH) && in_binary() {
                counts.math += 1;
            }
            if class.intersects(Class::MODIFIER_TOKEN) {
                counts.modifiers += 1;
            }
            if node.child_count() == 0 {
                let text = snippet.text(node);
                if !text.is_empty()
                    && text
                        .bytes()
                        .all(|byte| byte.is_ascii_alphabetic() || byte == b'_')
                {
                    words.insert(text);
                }
            }
        }
        Visit::Descend
    });

    let bindings = bindings.finish();
    Covariates {
        ast_depth: saturate(ast_depth),
        n_ast_nodes: saturate(nodes),
        n_error_nodes: saturate(errors),
        cyclomatic: saturate(decisions.cyclomatic()),
        loc: saturate(lines_of_code(code, &comments)),
        n_whitespace: saturate(code.chars().filter(|c| c.is_whitespace()).count()),
        n_identifiers: saturate(identifiers),
        n_unique_words: saturate(words.len()),
        n_returns: saturate(counts.returns),
        n_loops: saturate(counts.loops),
        n_comparisons: saturate(counts.comparisons),
        n_try_catch: saturate(counts.try_catch),
        n_variables: saturate(bindings.variables.len()),
        n_lambdas: saturate(counts.lambdas),
        n_string_literals: saturate(counts.strings),
        n_numbers: saturate(counts.numbers),
        n_assignments: saturate(counts.assignments),
        n_math_operations: saturate(counts.math),
        max_nested_blocks: saturate(max_blocks.saturating_sub(usize::from(has_function))),
        n_parenthesized: saturate(counts.parenthesized),
        n_modifiers: saturate(counts.modifiers),
    }
}

#[derive(Default)]
struct Counts {
    returns: usize,
    loops: usize,
    comparisons: usize,
    try_catch: usize,
    lambdas: usize,
    strings: usize,
    numbers: usize,
    assignments: usize,
    math: usize,
    parenthesized: usize,
    modifiers: usize,
}

impl Counts {
    fn named(&mut self, node: Node, class: Class, parent: Option<Node>) {
        if class.is_empty() {
            return;
        }
        let add = |flag: Class| usize::from(class.intersects(flag));
        self.returns += add(Class::RETURN);
        self.loops += add(Class::LOOP);
        self.try_catch += add(Class::TRY);
        self.lambdas += add(Class::LAMBDA);
        self.strings += add(Class::STRING);
        self.numbers += add(Class::NUMBER);
        self.assignments += add(Class::ASSIGNMENT);
        if class.intersects(Class::DECLARATOR) && node.child_by_field_name("value").is_some() {
            self.assignments += 1;
        }
        if class.intersects(Class::PARENTHESIZED) {
            // `if (x)` in C-like languages: the parentheses belong to the statement.
            let is_condition = parent.is_some_and(|parent| {
                let statement = parent.kind().ends_with("_statement")
                    || parent.kind().starts_with("switch")
                    || parent.kind() == "else_if_clause";
                statement
                    && parent
                        .child_by_field_name("condition")
                        .is_some_and(|condition| condition.id() == node.id())
            });
            self.parenthesized += usize::from(!is_condition);
        }
        self.modifiers += add(Class::MODIFIER);
        if class.intersects(Class::MODIFIER_LIST) {
            self.modifiers += node.child_count() as usize;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use icodegen_lang::Parsers;

    fn of(language: Language, code: &str) -> Covariates {
        let mut parsers = Parsers::new();
        covariates(&Snippet::parse(&mut parsers, language, code).unwrap())
    }

    #[test]
    fn python_counts() {
        let code = "@cache\ndef f(a, b):\n    \"\"\"Doc.\"\"\"\n    # a comment\n\n    total = 0\n    for i in range(a):\n        if i > b and i % 2 == 0:\n            total += i * 2\n    try:\n        x = (a + b)\n    except ValueError:\n        pass\n    g = lambda v: v if v else 0\n    return total\n";
        let covariates = of(Language::Python, code);
        // for, if, and, except, if (ternary)
        assert_eq!(covariates.cyclomatic, 6);
        assert_eq!(covariates.loc, 13);
        assert_eq!(covariates.n_returns, 1);
        assert_eq!(covariates.n_loops, 1);
        assert_eq!(covariates.n_comparisons, 2);
        assert_eq!(covariates.n_try_catch, 1);
        assert_eq!(covariates.n_lambdas, 1);
        assert_eq!(covariates.n_string_literals, 1);
        assert_eq!(covariates.n_numbers, 5);
        assert_eq!(covariates.n_assignments, 4);
        assert_eq!(covariates.n_math_operations, 3);
        assert_eq!(covariates.n_parenthesized, 1);
        assert_eq!(covariates.n_modifiers, 1);
        assert_eq!(covariates.max_nested_blocks, 2);
        assert_eq!(covariates.n_variables, 4, "total, i, x, g");
        assert_eq!(covariates.n_error_nodes, 0);
        assert_eq!(
            covariates.n_whitespace,
            code.chars().filter(|c| c.is_whitespace()).count() as i32
        );
    }

    #[test]
    fn nested_functions_do_not_add_to_the_outer_complexity() {
        let code = "def outer(x):\n    def inner(y):\n        if y:\n            return 1\n        return 2\n    if x or not x:\n        return inner\n";
        let covariates = of(Language::Python, code);
        assert_eq!(covariates.cyclomatic, 3);
    }

    #[test]
    fn java_counts() {
        let code = "public static int f(int a, int b) {\n  int s = 0;\n  for (int i = 0; i < a; i++) {\n    s += (i > b) ? i : b;\n  }\n  if (a == b && s != 0) { return -1; }\n  switch (a) { case 1: s = 2; break; default: break; }\n  return s;\n}";
        let covariates = of(Language::Java, code);
        // for, ?, if, &&, case
        assert_eq!(covariates.cyclomatic, 6);
        assert_eq!(covariates.n_modifiers, 2);
        assert_eq!(covariates.n_loops, 1);
        assert_eq!(covariates.n_returns, 2);
        assert_eq!(covariates.n_comparisons, 4);
        assert_eq!(covariates.n_parenthesized, 1);
        assert_eq!(covariates.loc, 9);
        assert!(covariates.n_assignments >= 3);
    }

    #[test]
    fn broken_code_counts_its_errors() {
        let covariates = of(Language::Python, "def f(:\n    return (1\n");
        assert!(covariates.n_error_nodes > 0);
    }
}
