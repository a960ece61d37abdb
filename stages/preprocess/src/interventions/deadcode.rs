//! `deadcode`: inserts an unused statement (an assignment to a fresh variable, or a branch that
//! never runs) before a statement of the function's body, with that statement's indentation.

use icodegen_artifacts::vocab::Mutation;
use icodegen_lang::ast::{self, Visit};
use icodegen_lang::{Class, Edit, Language, Parsers, Snippet};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::{
    Candidate, Outcome, Settings, Tally, fresh_name, parses_cleanly, statements, try_candidates,
    words,
};

const DEAD_ASSIGNMENT: &str = Mutation::DeadAssignment.as_str();
const DEAD_BRANCH: &str = Mutation::DeadBranch.as_str();

/// (mutation, template): `{name}` is a fresh variable, `{value}` a small integer, `{indent}`
/// one extra level of indentation for templates that span lines.
fn templates(language: Language) -> &'static [(&'static str, &'static str)] {
    match language {
        Language::Python => &[
            (DEAD_ASSIGNMENT, "{name} = {value}"),
            (DEAD_BRANCH, "if False:\n{indent}    {name} = {value}"),
        ],
        Language::Java => &[
            (DEAD_ASSIGNMENT, "int {name} = {value};"),
            (DEAD_BRANCH, "if (false) { int {name} = {value}; }"),
        ],
        Language::JavaScript => &[
            (DEAD_ASSIGNMENT, "let {name} = {value};"),
            (DEAD_BRANCH, "if (false) { let {name} = {value}; }"),
        ],
        Language::Go => &[
            (DEAD_ASSIGNMENT, "_ = {value}"),
            (DEAD_BRANCH, "if false { _ = {value} }"),
        ],
        Language::Ruby => &[
            (DEAD_ASSIGNMENT, "{name} = {value}"),
            (DEAD_BRANCH, "if false then {name} = {value} end"),
        ],
        Language::Php => &[
            (DEAD_ASSIGNMENT, "${name} = {value};"),
            (DEAD_BRANCH, "if (false) { ${name} = {value}; }"),
        ],
    }
}

/// The statements of the snippet's main body: the first function's body, else the top level.
fn body_statements(snippet: &Snippet) -> Vec<tree_sitter::Node<'_>> {
    let syntax = snippet.language.syntax();
    let mut list = None;
    snippet.walk(|node, _| {
        if list.is_some() {
            return Visit::Skip;
        }
        if syntax.is(node, Class::FUNCTION) {
            let mut body = node.child_by_field_name("body");
            // Go and Ruby wrap statements once more.
            if let Some(inner) = body.and_then(|body| {
                let mut cursor = body.walk();
                body.named_children(&mut cursor)
                    .find(|child| matches!(child.kind(), "statement_list" | "body_statement"))
            }) {
                body = Some(inner);
            }
            list = body;
            return Visit::Skip;
        }
        Visit::Descend
    });
    let list = list.or_else(|| snippet.roots().into_iter().next());
    list.map_or_else(Vec::new, |list| statements(snippet, list))
}

pub(super) fn apply(
    parsers: &mut Parsers,
    snippet: &Snippet,
    rng: &mut ChaCha8Rng,
    settings: &Settings,
    tally: &mut Tally,
) -> Outcome {
    let code = snippet.code();
    let syntax = snippet.language.syntax();
    let statements = body_statements(snippet);
    let mut taken = words(snippet);
    let name = fresh_name(rng, &mut taken, syntax.reserved_names);
    let value = rng.random_range(0..100u32).to_string();
    let choices = templates(snippet.language);
    let (mutation, template) = choices[rng.random_range(0..choices.len())];
    let mut candidates = Vec::new();
    for (index, statement) in statements.iter().enumerate() {
        let start = snippet.range(*statement).start;
        let is_docstring = index == 0
            && snippet.language == Language::Python
            && statement.kind() == "expression_statement"
            && statement
                .named_child(0)
                .is_some_and(|child| child.kind() == "string");
        if is_docstring || !ast::starts_line(code, start) {
            continue;
        }
        let indent = ast::indentation_at(code, start);
        let text = template
            .replace("{name}", &name)
            .replace("{value}", &value)
            .replace("{indent}", indent);
        let line = ast::line_start(code, start);
        candidates.push(Candidate {
            mutation,
            edits: vec![Edit::insert(line, format!("{indent}{text}\n"))],
        });
    }
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
    use super::super::Intervention;
    use super::super::testing::variant;
    use icodegen_lang::Language;

    #[test]
    fn python_dead_code_is_inserted_after_the_docstring_with_its_indentation() {
        let code = "def f(x):\n    \"\"\"Doc.\"\"\"\n    y = x\n    return y\n";
        let (with_dead, mutation) =
            variant(Intervention::Deadcode, Language::Python, code, "a").unwrap();
        assert!(mutation == "dead_assignment" || mutation == "dead_branch");
        assert!(
            with_dead.starts_with("def f(x):\n    \"\"\"Doc.\"\"\"\n    "),
            "{with_dead}"
        );
        assert!(with_dead.lines().count() > code.lines().count());
        assert!(with_dead.ends_with("    return y\n"));
    }

    #[test]
    fn java_dead_code_parses() {
        let code = "int f(int x) {\n  int y = x;\n  return y;\n}";
        for id in ["a", "b", "c", "d"] {
            let (with_dead, _) = variant(Intervention::Deadcode, Language::Java, code, id).unwrap();
            assert!(with_dead.contains("= "), "{with_dead}");
        }
    }

    #[test]
    fn a_one_line_body_has_no_site() {
        assert!(
            variant(
                Intervention::Deadcode,
                Language::Java,
                "int f() { return 1; }",
                "a"
            )
            .is_none()
        );
    }
}
