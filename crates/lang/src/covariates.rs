//! The confounders of one piece of code (methodology §1), from one walk over its tree-sitter
//! tree. Definitions (what each class of node is per language) live in `crate::syntax`;
//! this module only counts.
//!
//! Cyclomatic complexity follows lizard 1.24.3 exactly, quirks included (lizard is a tokenizer,
//! not a parser; the reference the literature used). For JavaScript and Ruby, [`lizard_js`] and
//! [`lizard_ruby`] are ports of lizard's own readers (tokenizer and state machine) run on the
//! snippet's text. For the other languages it is 1 + the decision-point tokens of the snippet's
//! outermost function
//! (`Syntax::decision_tokens`), not counting functions nested in it that lizard reports
//! separately. Per language (`docs/artifacts.md` lists them):
//! - a keyword-spelled name counts like the keyword (PHP `$query->match(...)`): lizard sees the
//!   token, not its role;
//! - PHP counts every `?` token (nullable types `?int` too) except the `?:` shorthand, never
//!   `??`; closures and functions nested in a PHP function count in it;
//! - Go treats function literals as functions of their own;
//! - Java and Python count lambdas in the enclosing function.
//!
//! Code without a function counts every token.

use std::collections::HashSet;

use crate::ast::Visit;
use crate::{Class, Language, Snippet};
use icodegen_artifacts::Covariates;
use tree_sitter::Node;

use crate::bindings;

mod in_file;
pub mod lizard_js;
pub mod lizard_ruby;

pub use in_file::covariates_in_file;

/// Kinds whose subtrees lizard reports as functions of their own when nested in the
/// snippet's function (their decision points are not the snippet's).
fn separate_function_classes(language: Language) -> Class {
    match language {
        Language::Go => Class::FUNCTION.union(Class::LAMBDA),
        // Lizard's PHP reader counts closures and nested functions in the enclosing function.
        Language::Php => Class::default(),
        _ => Class::FUNCTION,
    }
}

fn saturate(value: usize) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// Counts lizard's decision points during a walk: those of the snippet's outermost function
/// outside functions nested in it, and (for code without a function) all of them.
struct Decisions<'a> {
    language: Language,
    /// The parsed text, for the spelling of names.
    source: &'a str,
    /// Kind id of `?` in the snippet grammar (0, the end symbol, when it has none).
    question_mark: u16,
    /// Decision words lizard also counts when they are spelled as a name (`.catch`).
    keyword_names: &'static [&'static str],
    separate: Class,
    /// Byte range of the outermost function, once found.
    main: Option<std::ops::Range<usize>>,
    /// Separate functions on the path (the main function excluded), by depth.
    functions_on_path: Vec<u32>,
    in_main: usize,
    everywhere: usize,
}

impl<'a> Decisions<'a> {
    /// `grammar` is the one the walked tree was parsed with (its kind ids).
    fn new(language: Language, grammar: &tree_sitter::Language, source: &'a str) -> Self {
        Decisions {
            language,
            source,
            question_mark: grammar.id_for_node_kind("?", false),
            keyword_names: keyword_names(language),
            separate: separate_function_classes(language),
            main: None,
            functions_on_path: Vec::with_capacity(64),
            in_main: 0,
            everywhere: 0,
        }
    }

    /// The root a standalone parse puts above a function cut from a file (never a function).
    fn visit_virtual_root(&mut self) {
        self.functions_on_path.clear();
        self.functions_on_path.push(0);
    }

    fn visit(&mut self, node: Node, class: Class, parent: Option<Node>, depth: usize) {
        if matches!(self.language, Language::JavaScript | Language::Ruby) {
            // Counted by the port of lizard's reader instead (`ported_cyclomatic`).
            return;
        }
        self.functions_on_path.truncate(depth);
        let above = self.functions_on_path.last().copied().unwrap_or(0);
        let is_main =
            self.main.is_none() && class.intersects(Class::FUNCTION) && node.is_named() && {
                self.main = Some(node.byte_range());
                true
            };
        self.functions_on_path
            .push(above + u32::from(!is_main && class.intersects(self.separate)));
        let count = if self.is_decision(node, class, parent) {
            1
        } else {
            self.text_read_as_code(node)
        };
        if count == 0 {
            return;
        }
        self.everywhere += count;
        let inside_main = self
            .main
            .as_ref()
            .is_some_and(|main| main.contains(&node.start_byte()));
        if inside_main && above == 0 {
            self.in_main += count;
        }
    }

    /// Text lizard does not know as a literal and reads as code (PHP nowdocs): the decision
    /// words and operators in it count.
    fn text_read_as_code(&self, node: Node) -> usize {
        let words: &[&str] = match (self.language, node.kind()) {
            (Language::Php, "nowdoc_string") => &[
                "if", "elseif", "for", "foreach", "while", "catch", "match", "case",
            ],
            _ => return 0,
        };
        let text = node.utf8_text(self.source.as_bytes()).unwrap_or("");
        let word_count = text
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|word| words.contains(word))
            .count();
        let operators = ["||", "&&"]
            .iter()
            .map(|op| text.matches(op).count())
            .sum::<usize>();
        word_count + operators + text.matches('?').count()
    }

    /// Whether lizard would count this node's token.
    fn is_decision(&self, node: Node, class: Class, parent: Option<Node>) -> bool {
        if node.child_count() > 0 {
            return false;
        }
        if node.is_named() {
            // A name spelled like a decision keyword (PHP `->match()`).
            return !self.keyword_names.is_empty()
                && matches!(
                    node.kind(),
                    "property_identifier" | "name" | "identifier" | "constant"
                )
                // A PHP variable (`$match`) is one token for lizard, `$` included.
                && parent.is_none_or(|parent| parent.kind() != "variable_name")
                && node
                    .utf8_text(self.source.as_bytes())
                    .is_ok_and(|text| self.keyword_names.contains(&text));
        }
        if !class.intersects(Class::DECISION) {
            return false;
        }
        if self.question_mark != 0 && node.kind_id() == self.question_mark {
            return self.counts_question_mark(node, parent);
        }
        true
    }

    /// Lizard's `?`: in PHP every `?` token except the `?:` shorthand (nullable types count);
    /// elsewhere only the ternary operator (not `List<?>`).
    fn counts_question_mark(&self, node: Node, parent: Option<Node>) -> bool {
        if self.language == Language::Php {
            let shorthand = node
                .next_sibling()
                .is_some_and(|next| next.kind() == ":" && next.start_byte() == node.end_byte());
            return !shorthand;
        }
        parent.is_some_and(|parent| {
            matches!(
                parent.kind(),
                "ternary_expression" | "conditional_expression" | "conditional"
            )
        })
    }

    fn cyclomatic(&self) -> usize {
        1 + if self.main.is_some() {
            self.in_main
        } else {
            self.everywhere
        }
    }
}

/// Decision words lizard counts even as names (lizard sees tokens, not roles). Python's and
/// Go's are reserved words; Java's cannot be names.
fn keyword_names(language: Language) -> &'static [&'static str] {
    match language {
        Language::Php => &[
            "if", "elseif", "for", "foreach", "while", "catch", "match", "case",
        ],
        _ => &[],
    }
}

/// Lizard's complexity of the snippet's function from the port of lizard's own reader, for the
/// languages that have one (JavaScript, Ruby).
fn ported_cyclomatic(snippet: &Snippet) -> Option<usize> {
    match snippet.language {
        Language::JavaScript => Some(lizard_js::cyclomatic(
            snippet.parsed_text(),
            snippet.code(),
            snippet.is_wrapped(),
        )),
        Language::Ruby => Some(lizard_ruby::cyclomatic(snippet.code())),
        _ => None,
    }
}

/// Lizard-compatible cyclomatic complexity of the snippet.
pub fn cyclomatic(snippet: &Snippet) -> usize {
    if let Some(ported) = ported_cyclomatic(snippet) {
        return ported;
    }
    let syntax = snippet.language.syntax();
    let mut decisions = Decisions::new(
        snippet.language,
        &snippet.language.grammar(),
        snippet.parsed_text(),
    );
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

/// The state of one covariates walk. The same walk serves a parsed [`Snippet`] ([`covariates`])
/// and a function's subtree in the tree of its file ([`covariates_in_file`]).
struct Walk<'s> {
    syntax: &'static crate::Syntax,
    /// 1 when the snippet was parsed inside a shell (a virtual root sits above its nodes).
    offset: usize,
    ast_depth: usize,
    nodes: usize,
    errors: usize,
    identifiers: usize,
    words: HashSet<&'s str>,
    counts: Counts,
    has_function: bool,
    /// Comments' byte ranges in the snippet's code.
    comments: Vec<std::ops::Range<usize>>,
    /// blocks_on_path[d] = block nodes on the path to the current node at depth d.
    blocks_on_path: Vec<usize>,
    max_blocks: usize,
    decisions: Decisions<'s>,
    bindings: bindings::Collector<'s>,
}

impl<'s> Walk<'s> {
    fn new(
        language: Language,
        offset: usize,
        decisions: Decisions<'s>,
        bindings: bindings::Collector<'s>,
    ) -> Self {
        Walk {
            syntax: language.syntax(),
            offset,
            ast_depth: 0,
            nodes: 0,
            errors: 0,
            identifiers: 0,
            words: HashSet::new(),
            counts: Counts::default(),
            has_function: false,
            comments: Vec::new(),
            blocks_on_path: Vec::with_capacity(64),
            max_blocks: 0,
            decisions,
            bindings,
        }
    }

    /// Visits one node at `depth` (relative to its root); `text` is the node's text (the
    /// same in the file and in the snippet for every node whose text is read: names and
    /// keyword-like leaves never span lines), `range` its byte range in the snippet's code.
    fn visit(
        &mut self,
        node: Node<'s>,
        parent: Option<Node<'s>>,
        depth: usize,
        text: impl Fn(Node<'s>) -> &'s str,
        range: impl Fn(Node<'s>) -> std::ops::Range<usize>,
    ) {
        let syntax = self.syntax;
        self.nodes += 1;
        self.ast_depth = self.ast_depth.max(depth + self.offset + 1);
        if node.is_error() || node.is_missing() {
            self.errors += 1;
        }
        let class = syntax.class_of(node);
        self.blocks_on_path.truncate(depth);
        let above = self.blocks_on_path.last().copied().unwrap_or(0);
        let here = above + usize::from(class.intersects(Class::BLOCK));
        self.blocks_on_path.push(here);
        self.max_blocks = self.max_blocks.max(here);
        self.decisions.visit(node, class, parent, depth);

        if node.is_named() {
            if class.intersects(Class::FUNCTION) {
                self.has_function = true;
            }
            if class.intersects(Class::IDENTIFIER) {
                self.identifiers += 1;
                self.words.insert(text(node));
            }
            if class.intersects(Class::COMMENT) {
                self.comments.push(range(node));
            }
            self.counts.named(node, class, parent);
            self.bindings.visit(node);
        } else {
            let in_binary = || parent.is_some_and(|parent| syntax.is(parent, Class::BINARY));
            if class.intersects(Class::COMPARISON) && in_binary() {
                self.counts.comparisons += 1;
            }
            if class.intersects(Class::MATH) && in_binary() {
                self.counts.math += 1;
            }
            if class.intersects(Class::MODIFIER_TOKEN) {
                self.counts.modifiers += 1;
            }
            if node.child_count() == 0 {
                let text = text(node);
                if !text.is_empty()
                    && text
                        .bytes()
                        .all(|byte| byte.is_ascii_alphabetic() || byte == b'_')
                {
                    self.words.insert(text);
                }
            }
        }
    }

    /// Visits the root a standalone parse would put above the function (`module`, `program`
    /// ...), which the file's tree does not have there: a named node of `class` with children,
    /// at depth 0.
    fn visit_virtual_root(&mut self, class: Class) {
        self.nodes += 1;
        self.ast_depth = self.ast_depth.max(self.offset + 1);
        self.blocks_on_path.clear();
        let here = usize::from(class.intersects(Class::BLOCK));
        self.blocks_on_path.push(here);
        self.max_blocks = self.max_blocks.max(here);
        self.decisions.visit_virtual_root();
    }

    fn finish(self, code: &str, ported: Option<usize>) -> Covariates {
        let bindings = self.bindings.finish();
        let counts = &self.counts;
        Covariates {
            ast_depth: saturate(self.ast_depth),
            n_ast_nodes: saturate(self.nodes),
            n_error_nodes: saturate(self.errors),
            cyclomatic: saturate(ported.unwrap_or_else(|| self.decisions.cyclomatic())),
            loc: saturate(lines_of_code(code, &self.comments)),
            n_whitespace: saturate(code.chars().filter(|c| c.is_whitespace()).count()),
            n_identifiers: saturate(self.identifiers),
            n_unique_words: saturate(self.words.len()),
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
            max_nested_blocks: saturate(
                self.max_blocks
                    .saturating_sub(usize::from(self.has_function)),
            ),
            n_parenthesized: saturate(counts.parenthesized),
            n_modifiers: saturate(counts.modifiers),
        }
    }
}

/// Every covariate of the snippet, from one walk over its tree.
pub fn covariates(snippet: &Snippet) -> Covariates {
    let language = snippet.language;
    let mut walk = Walk::new(
        language,
        usize::from(snippet.is_wrapped()),
        Decisions::new(language, &language.grammar(), snippet.parsed_text()),
        bindings::Collector::new(snippet),
    );
    snippet.walk_with_path(|node, path| {
        walk.visit(
            node,
            path.last().copied(),
            path.len(),
            |node| snippet.text(node),
            |node| snippet.range(node),
        );
        Visit::Descend
    });
    walk.finish(snippet.code(), ported_cyclomatic(snippet))
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
    use crate::Parsers;

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

    /// Snippets as ingest cuts them and lizard 1.24.3's complexity of the same function in a
    /// file (`scripts/reference/languages/README.md` says how these were measured).
    const LIZARD_QUIRKS: &[(Language, &str, usize)] = &[
        (
            Language::Php,
            "function f(?int $a): ?string { return $a ?? null; }",
            3,
        ),
        (Language::Php, "function f($a) { return $a?->b; }", 1),
        (Language::Php, "function f($a) { return $a ?: 1; }", 1),
        (Language::Php, "function f($a) { return $a ? 1 : 2; }", 2),
        (
            Language::Php,
            "function f($a) { $x = fn($y) => $y ? 1 : 2; return $x; }",
            2,
        ),
        (
            Language::Php,
            "function f($a) { $x = function($y) { if ($y) return 1; }; return $x; }",
            2,
        ),
        (
            Language::Php,
            "function f($a) { if ($a and $b or $c) {} }",
            2,
        ),
        (
            Language::Php,
            "function f($a) { $x = $a->catch(); $y = $a->if; }",
            3,
        ),
        (Language::Php, "function f($a) { $x = \"$a ?\"; }", 1),
        (
            Language::Php,
            "public function f(?A $a = null) { if ($a) {} }",
            3,
        ),
        (
            Language::Php,
            "function f($a) { return match($a) { 1 => 2, default => 3 }; }",
            2,
        ),
        (Language::Ruby, "def f(a)\n  a ||= 1\n  b &&= 2\nend\n", 3),
        (
            Language::Ruby,
            "def f(a)\n  return 1 if a && b || c and d or e\nend\n",
            6,
        ),
        (
            Language::Ruby,
            "def f(a)\n  x = a ? 1 : 2\n  y = a.nil?\n  z = a.empty? ? 1 : 2\nend\n",
            3,
        ),
        // Lizard's own `end` matching: `case` pushes nothing, so its `end` ends the function.
        (
            Language::Ruby,
            "def f(a)\n  case a\n  when 1 then b\n  end\n  c if d\nend\n",
            2,
        ),
        (
            Language::Ruby,
            "def f(a)\n  x = \"#{a ? 1 : 2} and #{b || c}\"\nend\n",
            3,
        ),
        (
            Language::JavaScript,
            "function f(a) { return a ? b ? 1 : 2 : 3; }",
            3,
        ),
        (
            Language::JavaScript,
            "function f(a) { a.forEach(function (x) { if (x) {} }); return a && b; }",
            2,
        ),
        (
            Language::JavaScript,
            "function f(a) { a.then(function () { return 1; }).catch(function (e) { if (e) {} }); if (a) {} }",
            3,
        ),
        (
            Language::JavaScript,
            "function f(a) { x ||= 1; y &&= 2; z ??= 3; }",
            4,
        ),
        (
            Language::JavaScript,
            "function f(a) { return `${a ? 1 : 2}`; }",
            1,
        ),
        (
            Language::JavaScript,
            "function f(a) { return {catch: 1, if: 2}; }",
            3,
        ),
        (
            Language::JavaScript,
            "function f(a) { return a.b.if?.c; }",
            2,
        ),
        (
            Language::JavaScript,
            "exports.f = function (a) { a.map(x => x ? 1 : 2); if (b) {} };",
            2,
        ),
        (
            Language::JavaScript,
            "const f = (a) => { a.map(x => x ? 1 : 2); return a || b; };",
            2,
        ),
        (Language::JavaScript, "m(a) { if (a) {} }", 2),
        (
            Language::JavaScript,
            "function allow(x = 1, y = 2) { this.a = x; }",
            3,
        ),
        (
            Language::JavaScript,
            "function m(o) { var x = (a && b) || 0; if (c) {} }",
            2,
        ),
        (
            Language::JavaScript,
            "function m(o) { x = (a && b) ? 1 : 2; }",
            1,
        ),
        (
            Language::JavaScript,
            "function m(o) { x = (a && b(c)) + 1 || d; }",
            2,
        ),
        (Language::JavaScript, "function m(o) { x.y = (a && b); }", 2),
        (
            Language::JavaScript,
            "function m(o) { return (x && y(z)); }",
            2,
        ),
        // A `?` glued to a name is one token (`a?`), not a decision.
        (
            Language::JavaScript,
            "function f(a) { return a? 1 : 2; }",
            1,
        ),
        // After `return` a slash is division: the `||` in the regex literal counts.
        (
            Language::JavaScript,
            "function f(a) { return /x||y/.test(a) ? 1 : 2; }",
            3,
        ),
        // `type` as a name: lizard reads a TypeScript type alias up to the next `=`.
        (
            Language::JavaScript,
            "function f(a) {\n  var type = a;\n  if (type in b) { g(); }\n  return c || d;\n}",
            3,
        ),
        // After `case 1:` lizard reads a type annotation up to `(`: the arrow function in the
        // call is not a function of its own, its `if` counts in `f`.
        (
            Language::JavaScript,
            "function f(a) {\n  switch (a) {\n    case 1: g(() => { if (b) {} });\n  }\n  if (c) {}\n}",
            4,
        ),
        (
            Language::JavaScript,
            "function f({a = 1, b} = {}) { return a; }",
            3,
        ),
        // An object member alone: lizard finds its function in the class shell.
        (Language::JavaScript, "get: function () {\n if (a) {}\n}", 2),
        (
            Language::Go,
            "func f(a int) { g := func() { if a > 0 {} }; g() }",
            1,
        ),
        (
            Language::Java,
            "void f(List<?> a) { Runnable r = () -> { if (a) {} }; new Object() { void g() { if (b) {} } }; }",
            2,
        ),
    ];

    #[test]
    fn cyclomatic_complexity_has_lizards_quirks_in_every_language() {
        for &(language, code, expected) in LIZARD_QUIRKS {
            assert_eq!(
                of(language, code).cyclomatic,
                expected as i32,
                "{language}: {code}"
            );
        }
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
