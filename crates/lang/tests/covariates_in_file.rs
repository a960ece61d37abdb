//! `covariates_in_file` (a function's covariates from its subtree in its file's tree) equals
//! `covariates` of the standalone parse of the function's dedented text, field by field, in all
//! six languages; and it declines (so the caller parses) exactly where equality is not
//! established.

use icodegen_artifacts::Covariates;
use icodegen_lang::ast::{self, Visit};
use icodegen_lang::covariates::{covariates, covariates_in_file};
use icodegen_lang::{Class, Language, Parsers, Snippet, dedent};
use tree_sitter::Node;

/// The functions ingest cuts out of a file (the outermost function nodes, a decorated
/// definition whole, JavaScript functions bound by a one-name declaration or an assignment
/// statement, or in an object member), with their dedented text.
fn functions<'tree>(
    language: Language,
    root: Node<'tree>,
    source: &str,
) -> Vec<(Node<'tree>, String)> {
    let syntax = language.syntax();
    let mut found = Vec::new();
    ast::walk(root, |node, _| {
        let is_lambda_value = |field: &str| {
            node.child_by_field_name(field)
                .is_some_and(|value| syntax.is(value, Class::LAMBDA))
        };
        let outer = if syntax.is(node, Class::FUNCTION)
            && (matches!(language, Language::Python | Language::Ruby)
                || node.child_by_field_name("body").is_some())
        {
            match node.parent() {
                Some(parent) if parent.kind() == "decorated_definition" => parent,
                _ => node,
            }
        } else if language == Language::JavaScript
            && ((node.kind() == "variable_declarator" && is_lambda_value("value"))
                || (node.kind() == "assignment_expression" && is_lambda_value("right"))
                || (node.kind() == "pair" && is_lambda_value("value")))
        {
            match node.parent() {
                Some(parent)
                    if (parent.kind().ends_with("declaration")
                        && parent.named_child_count() == 1)
                        || parent.kind() == "expression_statement" =>
                {
                    parent
                }
                _ => node,
            }
        } else {
            return Visit::Descend;
        };
        let start = outer.start_byte();
        let prefix = &source[ast::line_start(source, start)..start];
        let column = if prefix.bytes().all(|byte| byte == b' ' || byte == b'\t') {
            prefix.len()
        } else {
            0
        };
        found.push((outer, dedent(ast::text(outer, source), column)));
        Visit::Skip
    });
    found
}

/// Every field that differs, by name.
fn differences(left: &Covariates, right: &Covariates) -> Vec<String> {
    let fields = |c: &Covariates| {
        [
            ("ast_depth", c.ast_depth),
            ("n_ast_nodes", c.n_ast_nodes),
            ("n_error_nodes", c.n_error_nodes),
            ("cyclomatic", c.cyclomatic),
            ("loc", c.loc),
            ("n_whitespace", c.n_whitespace),
            ("n_identifiers", c.n_identifiers),
            ("n_unique_words", c.n_unique_words),
            ("n_returns", c.n_returns),
            ("n_loops", c.n_loops),
            ("n_comparisons", c.n_comparisons),
            ("n_try_catch", c.n_try_catch),
            ("n_variables", c.n_variables),
            ("n_lambdas", c.n_lambdas),
            ("n_string_literals", c.n_string_literals),
            ("n_numbers", c.n_numbers),
            ("n_assignments", c.n_assignments),
            ("n_math_operations", c.n_math_operations),
            ("max_nested_blocks", c.max_nested_blocks),
            ("n_parenthesized", c.n_parenthesized),
            ("n_modifiers", c.n_modifiers),
        ]
    };
    fields(left)
        .into_iter()
        .zip(fields(right))
        .filter(|(a, b)| a.1 != b.1)
        .map(|(a, b)| format!("{}: in file {} vs alone {}", a.0, a.1, b.1))
        .collect()
}

/// Checks every function of `source`; returns the names (first line) of those computed in the
/// file, in order.
fn check(language: Language, source: &str) -> Vec<String> {
    let tree = language.parse_file(source).unwrap();
    let mut parsers = Parsers::new();
    let mut in_file = Vec::new();
    let mut failures = Vec::new();
    for (node, code) in functions(language, tree.root_node(), source) {
        let alone = covariates(&Snippet::parse(&mut parsers, language, &code).unwrap());
        let first_line = code.lines().next().unwrap_or("").trim().to_owned();
        // Whole fields: a new Covariates field must be added to `differences` too.
        let Some(found) = covariates_in_file(language, &tree, node, source, &code) else {
            continue;
        };
        let differ = differences(&found, &alone);
        if !differ.is_empty() || found != alone {
            failures.push(format!("{language} `{first_line}`: {differ:?}"));
        }
        in_file.push(first_line);
    }
    assert!(failures.is_empty(), "{failures:#?}");
    in_file
}

const PYTHON: &str = r#"import os

@cache
@other(1)
def top(x, *args, **kw):
    """Doc string."""
    # a comment
    def inner(y):
        return y if y else -1
    total = 0
    for i in range(x):
        if i > 2 and i % 2 == 0 or not (i < 0):
            total += i * 2
    return [inner(j) for j in args]

class A:
	def tabbed(self):
		return self.x  # tab-indented

class B(Base):
    name = "é ü"  # unicode
    @property
    def value(self) -> int:
        '''Docstring
        more'''
        try:
            return self._v  # trailing
        except (KeyError, ValueError) as error:
            raise RuntimeError("ü") from error
        finally:
            pass

    async def run(self, a, b=1):
        async with lock:
            await x
        g = lambda q: q
        while a:
            match a:
                case 1:
                    a -= 1
        # comment at the end of the body

    class Nested:
        def deep(self, x=[1, 2]):
            return {k: v for k, v in x}

    def ragged(self):
        s = """
text at column 0
"""
        return s
"#;

const JAVA: &str = r#"package p;
import java.util.*;

/** Doc. */
public class A<T> extends B implements C {
    private int x = 1;
    // comment
    @Override
    public static <U> List<U> f(int a, String... rest) throws IOException {
        int s = 0; /* block
                      comment */
        for (int i = 0; i < a; i++) { s += (i > 1) ? i : -i; }
        if (a == 1 && s != 0 || rest == null) { return null; }
        switch (a) { case 1: s = 2; break; default: break; }
        try { g(); } catch (Exception e) { } finally { }
        Runnable r = () -> { if (a > 0) {} };
        List<?> w = new ArrayList<>();
        return new ArrayList<>();
    }
    A(int x) { this.x = x; }
    A()
    {
        this(1);
    }
    void allman()
    {
        x++;
    }
    class Inner { int g() { return "ü".length(); } }
    enum E { X; int h() { return 1; } }
    record R(int a) { R { if (a < 0) throw new IllegalArgumentException(); } }
    interface I { default int d() { return 2; } int abstractOne(); }
}
"#;

const JAVASCRIPT: &str = r#"'use strict';
function a(x, y = 2) { return x ? y : 0; }
const b = (x) => x * 2;
module.exports.c = function (p) { if (p) { return 1; } return p || 2; };
class K {
  constructor(a) { this.a = a; }
  static s() { return 1; }
  get g() { return this.a; }
  async *gen() { yield 1; }
  allman()
  {
    return 1;
  }
  // comment
  m(a) {
    /* block
       comment */
    for (const x of a) { if (x && y) { continue; } }
    return `t ${a ? 1 : 2}`;
  }
}
const o = { e: () => 5, f: function () { return 6; } };
let p = 1, q = () => 2;
var r = function named() { return "é"; };
export default function d() { return /x||y/.test(1); }
async function* agen() { for await (const v of s) yield v; }
"#;

const GO: &str = r#"package p

import "fmt"

// Add adds.
func Add(a, b int) int {
	// comment
	if a > b && b > 0 {
		return a - b
	}
	for i := 0; i < a; i++ {
		fmt.Println("é", i)
	}
	g := func() int { if a > 0 { return 1 }; return 0 }
	return g()
}

func (s *S) M(x ...int) (err error) {
	switch x[0] {
	case 1:
		return nil
	default:
	}
	r := `raw
string`
	return fmt.Errorf("%s", r)
}

func Generic[T any](v T) T { return v }
"#;

const RUBY: &str = r#"# frozen_string_literal: true
module M
  class A < B
    # Says hi.
    def hi(a, b = 1, *rest, &blk)
      puts "é #{a}" if a && b
      [1, 2].each do |x|
        next unless x
      end
      case a
      when 1 then b
      end
      x = a ? 1 : 2
      y ||= 3
      return x
    rescue StandardError => e
      raise e
    end

    def self.make; new; end

    def squiggly
      <<~EOS
        text
      EOS
    end

    def plain
      <<EOS
at column 0
EOS
    end
  end
end

def top(x)
  x.map { |y| y * 2 }
end
"#;

const PHP: &str = r#"<?php
namespace N;

function f(?int $a, $b = null): ?string {
    // comment
    if ($a and $b or $c) { return $a ?? null; }
    $x = fn($y) => $y ? 1 : 2;
    foreach ($b as $k => $v) { $x .= "é $v"; }
    return $a?->b;
}

class C extends D {
    public function m($key) {
        return $this->items[$key] ?: match($key) { 1 => 2, default => 3 };
    }
    abstract function n();
    protected function allman()
    {
        return 1;
    }
    private static function s() { $q = <<<'EOT'
nowdoc if ?
EOT;
        return $q; }
    public function q($a) { $x = $a->catch(); return $x ? 1 : 2; }
    function plain() { return 1; }
}

function page($items) {
    foreach ($items as $item) { ?>
        <li><?= $item ?></li>
    <?php }
    return count($items);
}
"#;

#[test]
fn python_functions_in_their_file_have_the_covariates_of_their_standalone_parse() {
    let in_file = check(Language::Python, PYTHON);
    // `ragged` has text left of its indentation: parsed alone.
    assert_eq!(
        in_file,
        [
            "@cache",
            "def tabbed(self):",
            "@property",
            "async def run(self, a, b=1):",
            "def deep(self, x=[1, 2]):",
        ]
    );
}

#[test]
fn java_methods_in_their_file_have_the_covariates_of_their_standalone_parse() {
    let in_file = check(Language::Java, JAVA);
    assert_eq!(
        in_file,
        [
            "@Override",
            "A(int x) { this.x = x; }",
            "A()",
            "void allman()",
            "int g() { return \"ü\".length(); }",
            "int h() { return 1; }",
            "R { if (a < 0) throw new IllegalArgumentException(); }",
            "default int d() { return 2; }",
        ]
    );
}

#[test]
fn javascript_functions_in_their_file_have_the_covariates_of_their_standalone_parse() {
    let in_file = check(Language::JavaScript, JAVASCRIPT);
    // Object members, a declarator among several and `allman` are parsed alone.
    assert_eq!(
        in_file,
        [
            "function a(x, y = 2) { return x ? y : 0; }",
            "const b = (x) => x * 2;",
            "module.exports.c = function (p) { if (p) { return 1; } return p || 2; };",
            "constructor(a) { this.a = a; }",
            "static s() { return 1; }",
            "get g() { return this.a; }",
            "async *gen() { yield 1; }",
            "m(a) {",
            "var r = function named() { return \"é\"; };",
            "function d() { return /x||y/.test(1); }",
            "async function* agen() { for await (const v of s) yield v; }",
        ]
    );
}

#[test]
fn go_functions_in_their_file_have_the_covariates_of_their_standalone_parse() {
    let in_file = check(Language::Go, GO);
    assert_eq!(in_file.len(), 3, "{in_file:?}");
}

#[test]
fn ruby_methods_in_their_file_have_the_covariates_of_their_standalone_parse() {
    let in_file = check(Language::Ruby, RUBY);
    // `plain`'s heredoc ends at column 0: parsed alone.
    assert_eq!(
        in_file,
        [
            "def hi(a, b = 1, *rest, &blk)",
            "def self.make; new; end",
            "def squiggly",
            "def top(x)",
        ]
    );
}

#[test]
fn php_functions_in_their_file_have_the_covariates_of_their_standalone_parse() {
    let in_file = check(Language::Php, PHP);
    // `s` (a nowdoc at column 0), `plain` (no modifier) and `page` (template text) are parsed
    // alone.
    assert_eq!(
        in_file,
        [
            "function f(?int $a, $b = null): ?string {",
            "public function m($key) {",
            "protected function allman()",
            "public function q($a) { $x = $a->catch(); return $x ? 1 : 2; }",
        ]
    );
}

#[test]
fn a_file_with_a_parse_error_is_never_used() {
    let source = "def ok(x):\n    return x + 1\n\ndef broken(:\n    pass\n";
    let tree = Language::Python.parse_file(source).unwrap();
    assert!(tree.root_node().has_error());
    let (node, code) = functions(Language::Python, tree.root_node(), source)
        .into_iter()
        .next()
        .unwrap();
    assert_eq!(code, "def ok(x):\n    return x + 1");
    assert_eq!(
        covariates_in_file(Language::Python, &tree, node, source, &code),
        None
    );
}
