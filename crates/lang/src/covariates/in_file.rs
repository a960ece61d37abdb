//! The covariates of a function from its subtree in the tree of its whole file, without parsing
//! its text again: equal, field by field, to [`super::covariates`] of the standalone parse of
//! the function's (dedented) text, or `None` where that equality is not established.
//!
//! A standalone parse ([`Snippet::parse`](crate::Snippet::parse)) of a function cut out of a
//! clean file gives the same subtree under either a root (`module`, `program`, `source_file`: the
//! *bare* shape) or a class shell (the *wrapped* shape). [`covariates_in_file`] walks the file's subtree and stands in for
//! what differs: the root (one more node, one more level of depth), the byte offsets of comments
//! (the code is dedented) and, for the ported lizard readers, the text they read. It declines
//! (`None`, the caller parses the snippet instead) when:
//! - the file has a parse error anywhere (error recovery in context can shape a subtree
//!   differently from a standalone parse);
//! - dedenting would change more than a constant indentation (a non-blank line that does not
//!   start with the function's own indentation: text of a multi-line string, a comment further
//!   left), since indentation is syntax in Python and heredoc terminators are in Ruby and PHP;
//! - the function's kind has no known standalone shape: JavaScript object members
//!   (`key: function`, a labeled statement alone), a declarator of a multi-name declaration,
//!   a JavaScript method whose body starts on another line than its parameters end (semicolon
//!   insertion makes a bare parse succeed as a call followed by a block), a PHP method without
//!   modifiers (it parses alone as a function definition), PHP code with `?>` (template text
//!   in a file, an error for the `php_only` grammar of snippets), anything not listed in
//!   `standalone_shape`.
//!
//! `tests/covariates_in_file.rs` checks the equality on fixtures of all six languages, and
//! `icodegen-ingest`'s `verify_covariates` example on any corpus (0 differences on the
//! benchmark's 188,827 Python functions and on about 22,000 JavaScript, PHP, Java, Ruby and Go
//! functions of other code).

use std::ops::Range;

use tree_sitter::{Node, Tree};

use super::{Decisions, Walk, lizard_js, lizard_ruby};
use crate::ast::{self, Visit};
use crate::snippet::CLASS_SHELL;
use crate::{Language, bindings};
use icodegen_artifacts::Covariates;

/// Where a standalone parse of a function's text puts the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Under a root of this kind, as its only node.
    Bare(&'static str),
    /// Inside the language's class shell ([`CLASS_SHELL`]).
    Wrapped,
}

/// The shape of the standalone parse of `node`'s text, where it is known.
fn standalone_shape(language: Language, node: Node, source: &str) -> Option<Shape> {
    let kind = node.kind();
    match language {
        Language::Python => matches!(kind, "function_definition" | "decorated_definition")
            .then_some(Shape::Bare("module")),
        Language::Go => matches!(kind, "function_declaration" | "method_declaration")
            .then_some(Shape::Bare("source_file")),
        Language::Ruby => {
            matches!(kind, "method" | "singleton_method").then_some(Shape::Bare("program"))
        }
        Language::Java => match kind {
            // A method parses alone at the top of a program; a constructor (a call followed by
            // a block, Java has no semicolon insertion) does not, so it gets the shell.
            "method_declaration" => Some(Shape::Bare("program")),
            "constructor_declaration" | "compact_constructor_declaration" => Some(Shape::Wrapped),
            _ => None,
        },
        Language::JavaScript => match kind {
            "function_declaration" | "generator_function_declaration" => {
                Some(Shape::Bare("program"))
            }
            "lexical_declaration" | "variable_declaration" if node.named_child_count() == 1 => {
                Some(Shape::Bare("program"))
            }
            "expression_statement" => Some(Shape::Bare("program")),
            "method_definition" => body_on_the_header_line(node, source).then_some(Shape::Wrapped),
            _ => None,
        },
        // `?>` leaves PHP for text (a template) in a file; the snippet grammar (`php_only`) has
        // no such mode, so the standalone parse differs.
        Language::Php if ast::text(node, source).contains("?>") => None,
        Language::Php => match kind {
            "function_definition" => Some(Shape::Bare("program")),
            // A modifier (`public`, `static` ...) cannot start a statement, so the method gets
            // the shell; without one it parses alone as a function definition.
            "method_declaration" if has_modifier(node) => Some(Shape::Wrapped),
            _ => None,
        },
    }
}

/// True when a PHP method has a modifier child (`visibility_modifier`, `static_modifier` ...).
fn has_modifier(node: Node) -> bool {
    let mut cursor = node.walk();
    node.children(&mut cursor)
        .any(|child| child.kind().ends_with("_modifier"))
}

/// True when the body starts on the line where the parameters (or the name) end (`m(a) {`): a bare parse of
/// such a method fails, so [`Snippet::parse`](crate::Snippet::parse) keeps the class shell.
fn body_on_the_header_line(node: Node, source: &str) -> bool {
    let header = node
        .child_by_field_name("parameters")
        .or_else(|| node.child_by_field_name("name"));
    let (Some(header), Some(body)) = (header, node.child_by_field_name("body")) else {
        return false;
    };
    header.end_byte() <= body.start_byte()
        && !source[header.end_byte()..body.start_byte()].contains('\n')
}

/// Byte offsets of a function's text in its file mapped to offsets in its dedented code.
struct Dedent {
    start: usize,
    /// (file offset of a line start, bytes removed before it, bytes removed from it), for the
    /// lines dedenting shortens, in order.
    lines: Vec<(usize, usize, usize)>,
}

impl Dedent {
    /// The mapping of `range` of `source` dedented to `code_len` bytes; `None` when the dedent
    /// is not a constant indentation (see the module's documentation).
    fn new(source: &str, range: Range<usize>, code_len: usize) -> Option<Self> {
        let start = range.start;
        let prefix = &source[ast::line_start(source, start)..start];
        let is_space = |byte: u8| byte == b' ' || byte == b'\t';
        let column = if prefix.bytes().all(is_space) {
            prefix.len()
        } else {
            0
        };
        let mut lines = Vec::new();
        if column > 0 {
            let text = &source[range.clone()];
            let mut removed = 0;
            let mut at = start;
            for (index, line) in text.split_inclusive('\n').enumerate() {
                let line_start = at;
                at += line.len();
                if index == 0 {
                    continue;
                }
                let strip = if line.bytes().all(|byte| byte.is_ascii_whitespace()) {
                    line.bytes()
                        .take(column)
                        .take_while(|byte| is_space(*byte))
                        .count()
                } else if line.starts_with(prefix) {
                    column
                } else {
                    return None;
                };
                if strip > 0 {
                    lines.push((line_start, removed, strip));
                    removed += strip;
                }
            }
            if range.len() - removed != code_len {
                return None;
            }
        } else if range.len() != code_len {
            return None;
        }
        Some(Dedent { start, lines })
    }

    fn map(&self, offset: usize) -> usize {
        let index = self.lines.partition_point(|(line, _, _)| *line <= offset);
        let removed = match index.checked_sub(1).map(|index| self.lines[index]) {
            Some((line, before, strip)) => before + (offset - line).min(strip),
            None => 0,
        };
        offset - self.start - removed
    }

    fn range(&self, node: Node) -> Range<usize> {
        self.map(node.start_byte())..self.map(node.end_byte())
    }
}

/// The covariates of the function `node` of a file (`source`, parsed with
/// [`Language::file_grammar`] into `tree`) whose dedented text is `code`, equal to those of
/// [`Snippet::parse`](crate::Snippet::parse) of `code`; `None` where that is not established (the caller then parses
/// `code`).
pub fn covariates_in_file(
    language: Language,
    tree: &Tree,
    node: Node<'_>,
    source: &str,
    code: &str,
) -> Option<Covariates> {
    if tree.root_node().has_error() {
        return None;
    }
    let shape = standalone_shape(language, node, source)?;
    let dedent = Dedent::new(source, node.byte_range(), code.len())?;
    let syntax = language.syntax();
    let (offset, base) = match shape {
        Shape::Bare(_) => (0, 1),
        Shape::Wrapped => (1, 0),
    };
    let mut walk = Walk::new(
        language,
        offset,
        Decisions::new(language, &language.file_grammar(), source),
        bindings::Collector::in_file(language, source),
    );
    if let Shape::Bare(root) = shape {
        walk.visit_virtual_root(syntax.class_of_named_kind(root));
    }
    ast::walk_with_path(node, |child, path| {
        walk.visit(
            child,
            path.last().copied(),
            path.len() + base,
            |node| ast::text(node, source),
            |node| dedent.range(node),
        );
        Visit::Descend
    });
    let ported = match language {
        Language::JavaScript => Some(match shape {
            Shape::Bare(_) => lizard_js::cyclomatic(code, code, false),
            Shape::Wrapped => {
                let (prefix, suffix) = CLASS_SHELL;
                let text = format!("{prefix}{code}{suffix}");
                lizard_js::cyclomatic(&text, code, true)
            }
        }),
        Language::Ruby => Some(lizard_ruby::cyclomatic(code)),
        _ => None,
    };
    Some(walk.finish(code, ported))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedent_maps_offsets_past_the_removed_indentation() {
        let source = "class A:\n    def f(self):\n        # c\n\n        return 1\n";
        let start = source.find("def").unwrap();
        let end = source.find("1\n").unwrap() + 1;
        let code = "def f(self):\n    # c\n\n    return 1";
        let dedent = Dedent::new(source, start..end, code.len()).unwrap();
        let comment = source.find('#').unwrap();
        assert_eq!(dedent.map(comment), code.find('#').unwrap());
        assert_eq!(dedent.map(end), code.len());
        assert_eq!(dedent.map(start), 0);
        let ragged = "class A:\n    def f(self):\n        x = '''\nraw'''\n";
        let start = ragged.find("def").unwrap();
        assert!(Dedent::new(ragged, start..ragged.len() - 1, 0).is_none());
    }
}
