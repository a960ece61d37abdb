//! Walking tree-sitter trees: pre-order traversal with depth and subtree skipping, error
//! counting, and byte/line arithmetic on the source. Every stage walks trees through these
//! helpers instead of hand-rolling cursor loops.

use tree_sitter::{Node, TreeCursor};

/// What a [`walk`] visitor wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visit {
    /// Visit the node's children.
    Descend,
    /// Do not visit the node's children.
    Skip,
}

/// Visits `root` and its descendants in pre-order, with their depth (`root` = 0). The visitor
/// can skip a subtree. Uses one cursor, so it is fast and needs no recursion.
pub fn walk<'tree>(root: Node<'tree>, mut visit: impl FnMut(Node<'tree>, usize) -> Visit) {
    let mut cursor: TreeCursor<'tree> = root.walk();
    let mut depth = 0usize;
    loop {
        let descend = visit(cursor.node(), depth) == Visit::Descend;
        if descend && cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        loop {
            if depth == 0 {
                return;
            }
            if cursor.goto_next_sibling() {
                break;
            }
            cursor.goto_parent();
            depth -= 1;
        }
    }
}

/// Like [`walk`], and hands the visitor the node's ancestors (root first, the parent last), so
/// it never needs [`Node::parent`], which tree-sitter answers by descending from the root.
pub fn walk_with_path<'tree>(
    root: Node<'tree>,
    mut visit: impl FnMut(Node<'tree>, &[Node<'tree>]) -> Visit,
) {
    let mut cursor: TreeCursor<'tree> = root.walk();
    let mut path: Vec<Node<'tree>> = Vec::with_capacity(64);
    loop {
        let node = cursor.node();
        let descend = visit(node, &path) == Visit::Descend;
        if descend && cursor.goto_first_child() {
            path.push(node);
            continue;
        }
        loop {
            if path.is_empty() {
                return;
            }
            if cursor.goto_next_sibling() {
                break;
            }
            cursor.goto_parent();
            path.pop();
        }
    }
}

/// Every node under `root` (inclusive) in pre-order, with its depth (`root` = 0).
pub fn preorder(root: Node<'_>) -> Vec<(Node<'_>, usize)> {
    let mut nodes = Vec::with_capacity(root.descendant_count());
    walk(root, |node, depth| {
        nodes.push((node, depth));
        Visit::Descend
    });
    nodes
}

/// Number of ERROR and MISSING nodes under `root` (inclusive).
pub fn count_errors(root: Node<'_>) -> usize {
    if !root.has_error() {
        return 0;
    }
    let mut errors = 0;
    walk(root, |node, _| {
        if node.is_error() || node.is_missing() {
            errors += 1;
        }
        if node.has_error() {
            Visit::Descend
        } else {
            Visit::Skip
        }
    });
    errors
}

/// The text of `node` in `source` (empty when the range is not valid UTF-8 boundaries).
pub fn text<'a>(node: Node<'_>, source: &'a str) -> &'a str {
    source.get(node.byte_range()).unwrap_or("")
}

/// Byte offset of the start of the line containing `offset`.
pub fn line_start(source: &str, offset: usize) -> usize {
    source[..offset]
        .rfind('\n')
        .map_or(0, |newline| newline + 1)
}

/// Byte offset just past the end of the line containing `offset` (after its `\n`, or the end
/// of the source).
pub fn line_end_inclusive(source: &str, offset: usize) -> usize {
    source[offset..]
        .find('\n')
        .map_or(source.len(), |newline| offset + newline + 1)
}

/// True when only spaces and tabs precede `offset` on its line.
pub fn starts_line(source: &str, offset: usize) -> bool {
    source[line_start(source, offset)..offset]
        .bytes()
        .all(|byte| byte == b' ' || byte == b'\t')
}

/// True when only spaces, tabs (and an optional `\r`) follow `offset` up to the end of its line.
pub fn ends_line(source: &str, offset: usize) -> bool {
    let end = source[offset..]
        .find('\n')
        .map_or(source.len(), |n| offset + n);
    source[offset..end]
        .bytes()
        .all(|byte| byte == b' ' || byte == b'\t' || byte == b'\r')
}

/// The leading spaces and tabs of the line containing `offset`.
pub fn indentation_at(source: &str, offset: usize) -> &str {
    let start = line_start(source, offset);
    let rest = &source[start..];
    let width = rest
        .bytes()
        .take_while(|byte| *byte == b' ' || *byte == b'\t')
        .count();
    &rest[..width]
}

/// The tree-sitter point (row, byte column) of `offset` in `source`.
pub fn point_at(source: &str, offset: usize) -> tree_sitter::Point {
    let before = &source.as_bytes()[..offset];
    let row = memchr_count(before);
    let column = offset - line_start(source, offset);
    tree_sitter::Point { row, column }
}

fn memchr_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|byte| **byte == b'\n').count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Language;

    #[test]
    fn walk_visits_in_preorder_and_skips_subtrees() {
        let code = "def f(x):\n    return g(x)\n";
        let tree = Language::Python.parse_file(code).unwrap();
        let all = preorder(tree.root_node());
        assert_eq!(all.len(), tree.root_node().descendant_count());
        assert_eq!(all[0].0.kind(), "module");
        assert_eq!(all[0].1, 0);
        assert_eq!(all[1].0.kind(), "function_definition");
        assert_eq!(all[1].1, 1);
        let mut kinds = Vec::new();
        walk(tree.root_node(), |node, _| {
            kinds.push(node.kind());
            if node.kind() == "return_statement" {
                Visit::Skip
            } else {
                Visit::Descend
            }
        });
        assert!(kinds.contains(&"return_statement"));
        assert!(!kinds.contains(&"call"));
    }

    #[test]
    fn walk_with_path_hands_out_the_ancestors() {
        let code = "def f(x):\n    return g(x)\n";
        let tree = Language::Python.parse_file(code).unwrap();
        let mut checked = 0;
        walk_with_path(tree.root_node(), |node, path| {
            assert_eq!(
                path.last().map(|parent| parent.id()),
                node.parent().map(|parent| parent.id())
            );
            let mut ancestor = node.parent();
            for expected in path.iter().rev() {
                assert_eq!(ancestor.map(|a| a.id()), Some(expected.id()));
                ancestor = ancestor.and_then(|a| a.parent());
            }
            checked += 1;
            Visit::Descend
        });
        assert_eq!(checked, tree.root_node().descendant_count());
    }

    #[test]
    fn walk_stays_inside_the_given_subtree() {
        let code = "def f():\n    pass\n\ndef g():\n    return 1\n";
        let tree = Language::Python.parse_file(code).unwrap();
        let first = tree.root_node().named_child(0).unwrap();
        let mut kinds = Vec::new();
        walk(first, |node, _| {
            kinds.push(node.kind());
            Visit::Descend
        });
        assert!(kinds.contains(&"pass_statement"));
        assert!(!kinds.contains(&"return_statement"));
    }

    #[test]
    fn errors_are_counted_and_clean_code_has_none() {
        let clean = Language::Python.parse_file("x = (1 + 2)\n").unwrap();
        assert_eq!(count_errors(clean.root_node()), 0);
        let broken = Language::Python.parse_file("x = (1 + \ny = 2\n").unwrap();
        assert!(count_errors(broken.root_node()) > 0);
    }

    #[test]
    fn line_helpers_use_bytes() {
        let source = "ab\n  é = 1\nz";
        let offset = source.find('é').unwrap();
        assert_eq!(line_start(source, offset), 3);
        assert!(starts_line(source, offset));
        assert_eq!(indentation_at(source, offset), "  ");
        assert_eq!(
            line_end_inclusive(source, offset),
            source.find('z').unwrap()
        );
        let point = point_at(source, source.find('=').unwrap());
        assert_eq!((point.row, point.column), (1, 5));
        assert!(ends_line(source, source.find('1').unwrap() + 1));
    }
}
