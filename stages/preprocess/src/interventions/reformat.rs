//! `reformat`: layout only. Indentation is re-based (halved when every indented line uses an
//! even width, doubled otherwise) and brackets get inner spaces (`f(x)` -> `f( x )`). Lines
//! inside multi-line strings and comments are not touched. A variant is accepted only when its
//! tree has the same shape and the same leaf texts as the original (whitespace changed, nothing
//! else).

use icodegen_artifacts::vocab::Mutation;
use icodegen_lang::ast::Visit;
use icodegen_lang::{Class, Edit, Parsers, Snippet};

use super::{Outcome, Tally, Variant, walk_code};

/// Line starts (byte offsets in the code) that lie inside a multi-line leaf (string, comment).
fn protected_line_starts(snippet: &Snippet) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let syntax = snippet.language.syntax();
    snippet.walk(|node, _| {
        let multi_line = node.start_position().row != node.end_position().row;
        if multi_line
            && (node.child_count() == 0
                || syntax.is(node, Class::STRING)
                || syntax.is(node, Class::COMMENT))
        {
            let range = snippet.range(node);
            ranges.push(range.start + 1..range.end);
            return Visit::Skip;
        }
        Visit::Descend
    });
    ranges
}

fn indentation_edits(snippet: &Snippet) -> Vec<Edit> {
    let code = snippet.code();
    let protected = protected_line_starts(snippet);
    let mut lines = Vec::new();
    let mut offset = 0;
    for line in code.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        if start == 0 || protected.iter().any(|range| range.contains(&start)) {
            continue;
        }
        let width = line.bytes().take_while(|byte| *byte == b' ').count();
        let rest = &line[width..];
        if width == 0 || rest.starts_with('\t') || rest.trim().is_empty() {
            continue;
        }
        lines.push((start, width));
    }
    let halve = lines.iter().all(|(_, width)| width % 2 == 0);
    lines
        .into_iter()
        .map(|(start, width)| {
            let new = if halve { width / 2 } else { width * 2 };
            Edit::replace(start..start + width, " ".repeat(new))
        })
        .collect()
}

fn bracket_edits(snippet: &Snippet) -> Vec<Edit> {
    let code = snippet.code();
    let mut edits = Vec::new();
    walk_code(snippet, |node, _| {
        if node.is_named() || node.child_count() != 0 {
            return;
        }
        let range = snippet.range(node);
        match snippet.text(node) {
            "(" | "[" | "{" => {
                let next = code[range.end..].chars().next();
                if next.is_some_and(|c| !c.is_whitespace() && !matches!(c, ')' | ']' | '}')) {
                    edits.push(Edit::insert(range.end, " "));
                }
            }
            ")" | "]" | "}" => {
                let previous = code[..range.start].chars().next_back();
                if previous.is_some_and(|c| !c.is_whitespace() && !matches!(c, '(' | '[' | '{')) {
                    edits.push(Edit::insert(range.start, " "));
                }
            }
            _ => {}
        }
    });
    edits
}

/// Leaf texts and tree shape: equal for two layouts of the same code.
fn shape(snippet: &Snippet) -> (Vec<String>, Vec<String>) {
    let mut leaves = Vec::new();
    let mut kinds = Vec::new();
    snippet.walk(|node, depth| {
        kinds.push(format!("{depth}{}", node.kind()));
        if node.child_count() == 0 {
            leaves.push(snippet.text(node).split_whitespace().collect::<String>());
        }
        Visit::Descend
    });
    (leaves, kinds)
}

pub(super) fn apply(parsers: &mut Parsers, snippet: &Snippet, tally: &mut Tally) -> Outcome {
    let mut edits = indentation_edits(snippet);
    let brackets = bracket_edits(snippet);
    // An indentation edit and a bracket insertion never share a position: indentation ends at
    // the first non-blank of a line, a bracket insertion sits next to a bracket.
    edits.extend(brackets);
    edits.sort_by_key(|edit| (edit.start, edit.end));
    edits.dedup_by(|later, earlier| {
        later.start < earlier.end || (later.start == earlier.start && later.end == earlier.end)
    });
    if edits.is_empty() {
        return Outcome::NoSite;
    }
    let accepted = snippet
        .edit(parsers, &edits)
        .ok()
        .filter(|edited| edited.error_count() == 0 && shape(edited) == shape(snippet));
    match accepted {
        Some(edited) if edited.code() != snippet.code() => Outcome::Made(Variant {
            snippet: edited,
            mutation: Mutation::Reformat.as_str(),
        }),
        _ => {
            *tally
                .rejected
                .entry(Mutation::Reformat.as_str().to_owned())
                .or_default() += 1;
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
    fn python_is_reindented_and_brackets_are_padded_but_strings_are_kept() {
        let code = "def f(x):\n    s = \"\"\"\n    keep(me)\n    \"\"\"\n    if x:\n        return g(x)[0]\n    return s\n";
        let (reformatted, mutation) =
            variant(Intervention::Reformat, Language::Python, code, "a").unwrap();
        assert_eq!(mutation, "reformat");
        assert_eq!(
            reformatted,
            "def f( x ):\n  s = \"\"\"\n    keep(me)\n    \"\"\"\n  if x:\n    return g( x )[ 0 ]\n  return s\n"
        );
    }

    #[test]
    fn java_layout_changes_keep_the_tokens() {
        let code = "int f(int[] a) {\n   return a[0];\n}";
        let (reformatted, _) = variant(Intervention::Reformat, Language::Java, code, "a").unwrap();
        assert_eq!(reformatted, "int f( int[] a ) {\n      return a[ 0 ];\n}");
    }
}
