//! Parsing one snippet (a function or method cut out of its file) so that it gets the same tree
//! it had in its file, and editing it on the tree.
//!
//! A method alone is not always a valid program: a JavaScript or PHP method needs its class
//! around it, and PHP code without `<?php` is read with the `php_only` grammar. [`Snippet`]
//! parses the code as it is and, when that leaves errors, inside a minimal class shell; it keeps
//! the variant with fewer ERROR nodes and remembers where the code sits in the parsed text.
//! Every byte offset this module hands out or accepts is relative to the snippet's code.

use std::ops::Range;

use tree_sitter::{InputEdit, Node, Parser, Tree};

use crate::ast::{self, Visit};
use crate::{LangError, Language};

/// The class shell (prefix, suffix) of JavaScript, PHP and Java methods.
pub(crate) const CLASS_SHELL: (&str, &str) = ("class _ {\n", "\n}\n");

/// Class shells tried, in order, when the bare code does not parse cleanly.
fn shells(language: Language) -> &'static [(&'static str, &'static str)] {
    match language {
        Language::JavaScript | Language::Php | Language::Java => &[CLASS_SHELL],
        _ => &[],
    }
}

/// A parsed snippet.
pub struct Snippet {
    pub language: Language,
    tree: Tree,
    /// The parsed text: `prefix + code + suffix`.
    text: String,
    /// Where the code sits in `text`.
    code: Range<usize>,
}

/// One replacement of a byte range of the snippet's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

impl Edit {
    pub fn replace(range: Range<usize>, text: impl Into<String>) -> Self {
        Edit {
            start: range.start,
            end: range.end,
            text: text.into(),
        }
    }

    pub fn delete(range: Range<usize>) -> Self {
        Edit::replace(range, "")
    }

    pub fn insert(at: usize, text: impl Into<String>) -> Self {
        Edit::replace(at..at, text)
    }
}

/// A reusable parser per language, for loops over many snippets (one per thread).
#[derive(Default)]
pub struct Parsers {
    parsers: Vec<(Language, Parser)>,
}

impl Parsers {
    pub fn new() -> Self {
        Self::default()
    }

    /// The snippet parser of `language` ([`Language::grammar`]).
    pub fn get(&mut self, language: Language) -> Result<&mut Parser, LangError> {
        let index = match self
            .parsers
            .iter()
            .position(|(known, _)| *known == language)
        {
            Some(index) => index,
            None => {
                self.parsers.push((language, language.snippet_parser()?));
                self.parsers.len() - 1
            }
        };
        Ok(&mut self.parsers[index].1)
    }
}

fn parse_text(parser: &mut Parser, language: Language, text: &str) -> Result<Tree, LangError> {
    parser.reset();
    parser.parse(text, None).ok_or(LangError::Parse {
        language: language.name(),
        bytes: text.len(),
    })
}

impl Snippet {
    /// Parses `code`, in a class shell when that gives fewer errors.
    pub fn parse(
        parsers: &mut Parsers,
        language: Language,
        code: &str,
    ) -> Result<Snippet, LangError> {
        let parser = parsers.get(language)?;
        let tree = parse_text(parser, language, code)?;
        let mut best = Snippet {
            language,
            tree,
            text: code.to_owned(),
            code: 0..code.len(),
        };
        if !best.tree.root_node().has_error() {
            return Ok(best);
        }
        let mut best_errors = ast::count_errors(best.tree.root_node());
        for (prefix, suffix) in shells(language) {
            let text = format!("{prefix}{code}{suffix}");
            let tree = parse_text(parser, language, &text)?;
            let errors = ast::count_errors(tree.root_node());
            if errors < best_errors {
                best_errors = errors;
                best = Snippet {
                    language,
                    tree,
                    text,
                    code: prefix.len()..prefix.len() + code.len(),
                };
            }
        }
        Ok(best)
    }

    /// The snippet's code.
    pub fn code(&self) -> &str {
        &self.text[self.code.clone()]
    }

    /// The parsed text (the code, possibly inside a shell).
    pub fn parsed_text(&self) -> &str {
        &self.text
    }

    /// Offset of the code in [`Snippet::parsed_text`] (0 without a shell).
    pub fn offset(&self) -> usize {
        self.code.start
    }

    /// True when the code was parsed inside a class shell.
    pub fn is_wrapped(&self) -> bool {
        self.code.start > 0
    }

    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The topmost nodes that lie within the code: the root without a shell, else the nodes
    /// the shell's body holds.
    pub fn roots(&self) -> Vec<Node<'_>> {
        if !self.is_wrapped() {
            return vec![self.tree.root_node()];
        }
        let mut roots = Vec::new();
        let range = self.code.clone();
        ast::walk(self.tree.root_node(), |node, _| {
            let inside = node.start_byte() >= range.start && node.end_byte() <= range.end;
            if inside && node.end_byte() > node.start_byte() {
                roots.push(node);
                Visit::Skip
            } else if node.end_byte() <= range.start || node.start_byte() >= range.end {
                Visit::Skip
            } else {
                Visit::Descend
            }
        });
        roots
    }

    /// Visits every node within the code in pre-order with its depth (the root, or a virtual
    /// root above a shell's nodes, is depth 0).
    pub fn walk<'a>(&'a self, mut visit: impl FnMut(Node<'a>, usize) -> Visit) {
        let wrapped = self.is_wrapped();
        for root in self.roots() {
            ast::walk(root, |node, depth| {
                visit(node, depth + usize::from(wrapped))
            });
        }
    }

    /// Like [`Snippet::walk`], with each node's ancestors within the code (outermost first).
    pub fn walk_with_path<'a>(&'a self, mut visit: impl FnMut(Node<'a>, &[Node<'a>]) -> Visit) {
        for root in self.roots() {
            ast::walk_with_path(root, &mut visit);
        }
    }

    /// The node's byte range relative to the code.
    pub fn range(&self, node: Node<'_>) -> Range<usize> {
        let range = node.byte_range();
        range.start.saturating_sub(self.code.start)..range.end.saturating_sub(self.code.start)
    }

    /// The node's text.
    pub fn text(&self, node: Node<'_>) -> &str {
        ast::text(node, &self.text)
    }

    /// ERROR and MISSING nodes within the code.
    pub fn error_count(&self) -> usize {
        self.roots().into_iter().map(ast::count_errors).sum()
    }

    /// Applies `edits` (byte ranges of the code, not overlapping) on the tree with
    /// [`Tree::edit`] and re-parses incrementally. Returns the edited snippet.
    pub fn edit(&self, parsers: &mut Parsers, edits: &[Edit]) -> Result<Snippet, EditError> {
        let mut edits = edits.to_vec();
        edits.sort_by_key(|edit| (edit.start, edit.end));
        let code = self.code();
        for pair in edits.windows(2) {
            if pair[1].start < pair[0].end {
                return Err(EditError::Overlap);
            }
        }
        for edit in &edits {
            if edit.start > edit.end
                || edit.end > code.len()
                || !code.is_char_boundary(edit.start)
                || !code.is_char_boundary(edit.end)
            {
                return Err(EditError::OutOfRange);
            }
        }
        let offset = self.code.start;
        let mut text = String::with_capacity(self.text.len() + 64);
        let mut cursor = 0;
        let absolute = |at: usize| at + offset;
        text.push_str(&self.text[..offset]);
        for edit in &edits {
            text.push_str(&code[cursor..edit.start]);
            text.push_str(&edit.text);
            cursor = edit.end;
        }
        text.push_str(&code[cursor..]);
        let new_code_end = text.len();
        text.push_str(&self.text[self.code.end..]);

        let mut tree = self.tree.clone();
        // Apply from the last edit backwards, so each edit's coordinates are those of the
        // document as it is at that moment.
        for edit in edits.iter().rev() {
            let start_byte = absolute(edit.start);
            let old_end_byte = absolute(edit.end);
            let start_position = ast::point_at(&self.text, start_byte);
            let old_end_position = ast::point_at(&self.text, old_end_byte);
            let new_end_position = advance(start_position, &edit.text);
            tree.edit(&InputEdit {
                start_byte,
                old_end_byte,
                new_end_byte: start_byte + edit.text.len(),
                start_position,
                old_end_position,
                new_end_position,
            });
        }
        let parser = parsers.get(self.language).map_err(EditError::Lang)?;
        parser.reset();
        let tree = parser
            .parse(&text, Some(&tree))
            .ok_or(EditError::Lang(LangError::Parse {
                language: self.language.name(),
                bytes: text.len(),
            }))?;
        Ok(Snippet {
            language: self.language,
            tree,
            code: offset..new_code_end,
            text,
        })
    }
}

fn advance(mut point: tree_sitter::Point, text: &str) -> tree_sitter::Point {
    match text.rfind('\n') {
        Some(last) => {
            point.row += text.bytes().filter(|byte| *byte == b'\n').count();
            point.column = text.len() - last - 1;
        }
        None => point.column += text.len(),
    }
    point
}

/// Why a set of edits could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("edits overlap")]
    Overlap,
    #[error("an edit is outside the code or splits a character")]
    OutOfRange,
    #[error(transparent)]
    Lang(#[from] LangError),
}

/// Removes up to `column` leading spaces/tabs from every line after the first (the first line
/// starts at the function's own column, which is not part of its text): how ingest cuts a
/// function out of its file.
pub fn dedent(code: &str, column: usize) -> String {
    if column == 0 {
        return code.to_owned();
    }
    let mut out = String::with_capacity(code.len());
    for (index, line) in code.split_inclusive('\n').enumerate() {
        if index == 0 {
            out.push_str(line);
            continue;
        }
        let strip = line
            .bytes()
            .take(column)
            .take_while(|byte| *byte == b' ' || *byte == b'\t')
            .count();
        out.push_str(&line[strip..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_python_function_parses_bare() {
        let mut parsers = Parsers::new();
        let snippet =
            Snippet::parse(&mut parsers, Language::Python, "def f(x):\n    return x\n").unwrap();
        assert!(!snippet.is_wrapped());
        assert_eq!(snippet.error_count(), 0);
        assert_eq!(snippet.roots()[0].kind(), "module");
    }

    #[test]
    fn a_javascript_method_parses_inside_a_class_shell() {
        let mut parsers = Parsers::new();
        let code = "get(key) {\n  return this.map[key];\n}";
        let snippet = Snippet::parse(&mut parsers, Language::JavaScript, code).unwrap();
        assert_eq!(snippet.error_count(), 0);
        assert!(snippet.is_wrapped());
        assert_eq!(snippet.code(), code);
        let roots = snippet.roots();
        assert_eq!(roots.len(), 1);
        assert_eq!(roots[0].kind(), "method_definition");
        assert_eq!(snippet.range(roots[0]), 0..code.len());
    }

    #[test]
    fn a_php_method_without_open_tag_parses() {
        let mut parsers = Parsers::new();
        let code = "public function get($key) {\n    return $this->items[$key];\n}";
        let snippet = Snippet::parse(&mut parsers, Language::Php, code).unwrap();
        assert_eq!(
            snippet.error_count(),
            0,
            "{}",
            snippet.tree().root_node().to_sexp()
        );
        let function = "function f($x) { return $x + 1; }";
        let snippet = Snippet::parse(&mut parsers, Language::Php, function).unwrap();
        assert!(!snippet.is_wrapped());
        assert_eq!(snippet.error_count(), 0);
    }

    #[test]
    fn edits_reparse_incrementally_and_match_a_fresh_parse() {
        let mut parsers = Parsers::new();
        let code = "def f(a, b):\n    if a < b:\n        return a - b\n    return 0\n";
        let snippet = Snippet::parse(&mut parsers, Language::Python, code).unwrap();
        let less = code.find('<').unwrap();
        let minus = code.find('-').unwrap();
        let edited = snippet
            .edit(
                &mut parsers,
                &[
                    Edit::replace(minus..minus + 1, "+"),
                    Edit::replace(less..less + 1, ">="),
                ],
            )
            .unwrap();
        let expected = "def f(a, b):\n    if a >= b:\n        return a + b\n    return 0\n";
        assert_eq!(edited.code(), expected);
        let fresh = Language::Python.parse_file(expected).unwrap();
        assert_eq!(
            edited.tree().root_node().to_sexp(),
            fresh.root_node().to_sexp()
        );
        assert_eq!(edited.error_count(), 0);
    }

    #[test]
    fn edits_inside_a_shell_keep_the_shell_out_of_the_code() {
        let mut parsers = Parsers::new();
        let code = "get(key) {\n  return key;\n}";
        let snippet = Snippet::parse(&mut parsers, Language::JavaScript, code).unwrap();
        let at = code.find("return").unwrap();
        let edited = snippet
            .edit(&mut parsers, &[Edit::insert(at, "key = 1;\n  ")])
            .unwrap();
        assert_eq!(edited.code(), "get(key) {\n  key = 1;\n  return key;\n}");
        assert_eq!(edited.error_count(), 0);
    }

    #[test]
    fn overlapping_edits_are_refused() {
        let mut parsers = Parsers::new();
        let snippet = Snippet::parse(&mut parsers, Language::Python, "x = 1\n").unwrap();
        let result = snippet.edit(&mut parsers, &[Edit::delete(0..3), Edit::delete(2..4)]);
        assert!(matches!(result, Err(EditError::Overlap)));
    }
}
