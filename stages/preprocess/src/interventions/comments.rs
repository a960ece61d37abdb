//! `comments`: strips comments and docstrings. A comment alone on its line takes its line with
//! it; a trailing comment takes the spaces before it; a Python docstring that is the only
//! statement of its body becomes `pass`.

use icodegen_artifacts::vocab::Mutation;
use icodegen_lang::ast;
use icodegen_lang::{Class, Edit, Language, Parsers, Snippet};
use tree_sitter::Node;

use super::{Outcome, Tally, Variant};

/// True when `node` is a Python docstring: a lone string statement first in a module, class
/// or function body.
fn is_docstring(node: Node) -> bool {
    if node.kind() != "expression_statement" || node.named_child_count() != 1 {
        return false;
    }
    if node
        .named_child(0)
        .is_none_or(|child| child.kind() != "string" && child.kind() != "concatenated_string")
    {
        return false;
    }
    let Some(parent) = node.parent() else {
        return false;
    };
    let first = parent
        .named_child(0)
        .is_some_and(|first| first.id() == node.id());
    let owner_ok = match parent.kind() {
        "module" => true,
        "block" => parent.parent().is_some_and(|owner| {
            matches!(owner.kind(), "function_definition" | "class_definition")
        }),
        _ => false,
    };
    first && owner_ok
}

/// The edit that removes `range` of `code`: whole lines when the range is alone on its lines,
/// else the range and the blanks before it.
fn removal(code: &str, start: usize, end: usize) -> Edit {
    if ast::starts_line(code, start) && ast::ends_line(code, end) {
        return Edit::delete(ast::line_start(code, start)..ast::line_end_inclusive(code, end));
    }
    let before = code[..start].trim_end_matches([' ', '\t']).len();
    let from =
        if before < start && ast::line_start(code, start) <= before && ast::ends_line(code, end) {
            before
        } else {
            start
        };
    Edit::delete(from..end)
}

pub(super) fn apply(parsers: &mut Parsers, snippet: &Snippet, tally: &mut Tally) -> Outcome {
    let syntax = snippet.language.syntax();
    let code = snippet.code();
    let mut edits: Vec<Edit> = Vec::new();
    snippet.walk(|node, _| {
        if syntax.is(node, Class::COMMENT) {
            let range = snippet.range(node);
            edits.push(removal(code, range.start, range.end));
            return icodegen_lang::ast::Visit::Skip;
        }
        if snippet.language == Language::Python && is_docstring(node) {
            let range = snippet.range(node);
            let alone = node.parent().is_some_and(|parent| {
                parent.kind() == "block"
                    && parent
                        .named_children(&mut parent.walk())
                        .filter(|child| !syntax.is(*child, Class::COMMENT))
                        .count()
                        == 1
            });
            if alone {
                edits.push(Edit::replace(range, "pass"));
            } else {
                edits.push(removal(code, range.start, range.end));
            }
            return icodegen_lang::ast::Visit::Skip;
        }
        icodegen_lang::ast::Visit::Descend
    });
    if edits.is_empty() {
        return Outcome::Unchanged;
    }
    // Whole-line removals of neighbouring comments can touch; merge them.
    edits.sort_by_key(|edit| (edit.start, edit.end));
    let mut merged: Vec<Edit> = Vec::with_capacity(edits.len());
    for edit in edits {
        match merged.last_mut() {
            Some(last)
                if edit.start < last.end
                    || (edit.start == last.end && last.text.is_empty() && edit.text.is_empty()) =>
            {
                last.end = last.end.max(edit.end);
            }
            _ => merged.push(edit),
        }
    }
    match snippet.edit(parsers, &merged) {
        Ok(stripped) if stripped.error_count() == 0 && stripped.code() != code => {
            Outcome::Made(Variant {
                snippet: stripped,
                mutation: Mutation::StripComments.as_str(),
            })
        }
        Ok(stripped) if stripped.code() == code => Outcome::Unchanged,
        _ => {
            tally
                .rejected
                .entry(Mutation::StripComments.as_str().to_owned())
                .and_modify(|count| *count += 1)
                .or_insert(1);
            Outcome::Failed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Intervention;
    use super::super::testing::variant;
    use icodegen_lang::Language;

    #[test]
    fn python_comments_and_docstrings_are_stripped() {
        let code = "def f(x):\n    \"\"\"Doc.\"\"\"\n    # alone\n    y = x + 1  # trailing\n    return y\n";
        let (stripped, mutation) =
            variant(Intervention::Comments, Language::Python, code, "a").unwrap();
        assert_eq!(stripped, "def f(x):\n    y = x + 1\n    return y\n");
        assert_eq!(mutation, "strip_comments");
    }

    #[test]
    fn a_docstring_alone_becomes_pass() {
        let code = "def f():\n    \"\"\"Only a doc.\"\"\"\n";
        let (stripped, _) = variant(Intervention::Comments, Language::Python, code, "a").unwrap();
        assert_eq!(stripped, "def f():\n    pass\n");
    }

    #[test]
    fn java_line_and_block_comments_are_stripped() {
        let code = "int f(int x) {\n  /* block\n     comment */\n  return x; // done\n}";
        let (stripped, _) = variant(Intervention::Comments, Language::Java, code, "a").unwrap();
        assert_eq!(stripped, "int f(int x) {\n  return x;\n}");
    }

    #[test]
    fn code_without_comments_is_unchanged() {
        assert!(
            variant(
                Intervention::Comments,
                Language::Python,
                "def f():\n    return 1\n",
                "a"
            )
            .is_none()
        );
    }
}
