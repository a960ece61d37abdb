//! One snippet per function or method of a parsed source file, with tree-sitter.
//!
//! What counts as a function is [`icodegen_lang::Class::FUNCTION`] (Python functions with their
//! decorators, Java methods and constructors, Go functions and methods, Ruby methods, PHP
//! functions and methods, JavaScript function declarations and methods) plus JavaScript arrow
//! functions and function expressions bound to a name (`const f = () => ...`, `a.f = function`,
//! `{ f: () => ... }`). Functions nested inside an extracted function stay part of it and are
//! not extracted again.

use icodegen_lang::ast::{self, Visit};
use icodegen_lang::{Class, Language, dedent};
use tree_sitter::{Node, Tree};

/// A function found in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Function<'tree> {
    /// The node whose text is the snippet, in the file's tree.
    pub node: Node<'tree>,
    /// Qualified by enclosing classes (`Class.method`) when there are any.
    pub name: Option<String>,
    /// The function's text, dedented by the column it started at.
    pub code: String,
    pub docstring: Option<String>,
    /// 1-based, inclusive.
    pub start_line: usize,
    pub end_line: usize,
    /// ERROR/MISSING nodes inside the function in the file's tree.
    pub errors: usize,
}

/// Every function of `source` (parsed into `tree`), in file order.
pub fn functions<'tree>(
    language: Language,
    tree: &'tree Tree,
    source: &str,
) -> Vec<Function<'tree>> {
    let mut found = Vec::new();
    ast::walk(tree.root_node(), |node, _| {
        let Some((outer, name)) = candidate(language, node, source) else {
            return Visit::Descend;
        };
        found.push(function(language, outer, node, name, source));
        Visit::Skip
    });
    found
}

/// When `node` is an extractable function: the node whose text is the snippet (decorated
/// definition, declaration statement ...) and the function's name.
fn candidate<'tree>(
    language: Language,
    node: Node<'tree>,
    source: &str,
) -> Option<(Node<'tree>, Option<String>)> {
    let syntax = language.syntax();
    if syntax.is(node, Class::FUNCTION) {
        // A declaration without a body (abstract or interface method, Go assembly stub) is
        // not a function with code.
        let has_body = match language {
            Language::Python | Language::Ruby => true,
            _ => node.child_by_field_name("body").is_some(),
        };
        if !has_body {
            return None;
        }
        let name = node
            .child_by_field_name("name")
            .map(|name| ast::text(name, source).to_owned());
        let outer = match node.parent() {
            Some(parent) if parent.kind() == "decorated_definition" => parent,
            _ => node,
        };
        return Some((outer, name));
    }
    if language != Language::JavaScript {
        return None;
    }
    let is_function_value =
        |value: Option<Node>| value.is_some_and(|value| syntax.is(value, Class::LAMBDA));
    match node.kind() {
        "variable_declarator" if is_function_value(node.child_by_field_name("value")) => {
            let name = node.child_by_field_name("name")?;
            let declaration = node
                .parent()
                .filter(|parent| parent.named_child_count() == 1)
                .unwrap_or(node);
            Some((declaration, Some(ast::text(name, source).to_owned())))
        }
        "assignment_expression" if is_function_value(node.child_by_field_name("right")) => {
            let left = node.child_by_field_name("left")?;
            let name = match left.kind() {
                "member_expression" => left.child_by_field_name("property")?,
                "identifier" => left,
                _ => return None,
            };
            let statement = node
                .parent()
                .filter(|parent| parent.kind() == "expression_statement")
                .unwrap_or(node);
            Some((statement, Some(ast::text(name, source).to_owned())))
        }
        "pair" if is_function_value(node.child_by_field_name("value")) => {
            let key = node.child_by_field_name("key")?;
            let name = ast::text(key, source).trim_matches(['"', '\'']).to_owned();
            Some((node, Some(name)))
        }
        _ => None,
    }
}

fn function<'tree>(
    language: Language,
    outer: Node<'tree>,
    inner: Node,
    name: Option<String>,
    source: &str,
) -> Function<'tree> {
    let start = outer.start_byte();
    let column_prefix = &source[ast::line_start(source, start)..start];
    let column = if column_prefix
        .bytes()
        .all(|byte| byte == b' ' || byte == b'\t')
    {
        column_prefix.len()
    } else {
        0
    };
    let code = dedent(ast::text(outer, source), column);
    let end = outer.end_position();
    let end_line = if end.column == 0 && end.row > outer.start_position().row {
        end.row
    } else {
        end.row + 1
    };
    let qualified = name.map(|name| {
        let classes = enclosing_classes(outer, source);
        if classes.is_empty() {
            name
        } else {
            format!("{}.{name}", classes.join("."))
        }
    });
    Function {
        node: outer,
        name: qualified,
        code,
        docstring: docstring(language, outer, inner, source),
        start_line: outer.start_position().row + 1,
        end_line,
        errors: ast::count_errors(outer),
    }
}

fn enclosing_classes(node: Node, source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut current = node.parent();
    while let Some(parent) = current {
        if matches!(
            parent.kind(),
            "class_definition"
                | "class_declaration"
                | "class"
                | "module"
                | "interface_declaration"
                | "enum_declaration"
                | "record_declaration"
                | "trait_declaration"
        ) && let Some(name) = parent.child_by_field_name("name")
        {
            names.push(ast::text(name, source).to_owned());
        }
        current = parent.parent();
    }
    names.reverse();
    names
}

/// Python: the first statement of the body when it is a string. Others: the doc comment
/// right above the function (`/** */` for Java, JavaScript and PHP; the `//` or `#` comment
/// block for Go and Ruby).
fn docstring(language: Language, outer: Node, inner: Node, source: &str) -> Option<String> {
    if language == Language::Python {
        let body = inner.child_by_field_name("body")?;
        let first = body.named_child(0)?;
        if first.kind() != "expression_statement" || first.named_child_count() != 1 {
            return None;
        }
        let string = first.named_child(0)?;
        if string.kind() != "string" {
            return None;
        }
        let mut content = String::new();
        let mut cursor = string.walk();
        for child in string.named_children(&mut cursor) {
            if child.kind() == "string_content" {
                content.push_str(ast::text(child, source));
            }
        }
        return non_empty(clean_docstring(&content));
    }
    let syntax = language.syntax();
    let mut comments = Vec::new();
    let mut next_start_row = outer.start_position().row;
    // A comment above the first member of a body can sit before the body node (Ruby).
    let mut anchor = outer;
    while anchor.prev_sibling().is_none() {
        match anchor.parent() {
            Some(parent) if parent.start_byte() == anchor.start_byte() => anchor = parent,
            _ => break,
        }
    }
    let mut sibling = anchor.prev_sibling();
    while let Some(comment) = sibling {
        if !syntax.is(comment, Class::COMMENT) || comment.end_position().row + 1 < next_start_row {
            break;
        }
        comments.push(ast::text(comment, source));
        next_start_row = comment.start_position().row;
        sibling = comment.prev_sibling();
        if matches!(
            language,
            Language::Java | Language::JavaScript | Language::Php
        ) {
            break;
        }
    }
    comments.reverse();
    let text: Vec<String> = match language {
        Language::Java | Language::JavaScript | Language::Php => {
            let comment = comments.first()?;
            if !comment.starts_with("/**") {
                return None;
            }
            comment
                .trim_start_matches("/**")
                .trim_end_matches("*/")
                .lines()
                .map(|line| line.trim().trim_start_matches('*').trim().to_owned())
                .collect()
        }
        _ => comments
            .iter()
            .flat_map(|comment| comment.lines())
            .map(|line| {
                line.trim()
                    .trim_start_matches("//")
                    .trim_start_matches('#')
                    .trim()
                    .to_owned()
            })
            .collect(),
    };
    non_empty(text.join("\n").trim().to_owned())
}

/// `inspect.cleandoc`: strip the first line, dedent the rest by their common indentation, drop
/// blank lines at both ends.
fn clean_docstring(raw: &str) -> String {
    let lines: Vec<&str> = raw.lines().collect();
    let indent = lines
        .iter()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut cleaned: Vec<&str> = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        if index == 0 {
            cleaned.push(line.trim());
        } else {
            cleaned.push(
                line.get(indent..)
                    .unwrap_or_else(|| line.trim_start())
                    .trim_end(),
            );
        }
    }
    while cleaned.first().is_some_and(|line| line.is_empty()) {
        cleaned.remove(0);
    }
    while cleaned.last().is_some_and(|line| line.is_empty()) {
        cleaned.pop();
    }
    cleaned.join("\n")
}

fn non_empty(text: String) -> Option<String> {
    if text.trim().is_empty() {
        None
    } else {
        Some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The functions without their nodes (the tree does not outlive the call).
    struct Found {
        name: Option<String>,
        code: String,
        docstring: Option<String>,
        start_line: usize,
        end_line: usize,
        errors: usize,
    }

    fn extract(language: Language, source: &str) -> Vec<Found> {
        let tree = language.parse_file(source).unwrap();
        functions(language, &tree, source)
            .into_iter()
            .map(|function| Found {
                name: function.name,
                code: function.code,
                docstring: function.docstring,
                start_line: function.start_line,
                end_line: function.end_line,
                errors: function.errors,
            })
            .collect()
    }

    #[test]
    fn python_functions_methods_and_decorators_are_extracted_without_nested_ones() {
        let source = "import os\n\n@cache\ndef top(x):\n    \"\"\"Adds one.\n\n    More.\n    \"\"\"\n    def inner():\n        return 2\n    return x + 1\n\nclass A:\n    def method(self):\n        if self:\n            return 1\n";
        let found = extract(Language::Python, source);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].name.as_deref(), Some("top"));
        assert!(found[0].code.starts_with("@cache\ndef top(x):"));
        assert_eq!(found[0].docstring.as_deref(), Some("Adds one.\n\nMore."));
        assert_eq!((found[0].start_line, found[0].end_line), (3, 11));
        assert_eq!(found[1].name.as_deref(), Some("A.method"));
        assert_eq!(
            found[1].code,
            "def method(self):\n    if self:\n        return 1"
        );
        assert_eq!((found[1].start_line, found[1].end_line), (14, 16));
        assert_eq!(found[1].errors, 0);
    }

    #[test]
    fn java_methods_and_constructors_with_javadoc() {
        let source = "class A {\n  /** Makes one. */\n  A() { x = 1; }\n  abstract void f();\n  int g(int y) {\n    return new Runnable() { public void run() {} }.hashCode() + y;\n  }\n}\n";
        let found = extract(Language::Java, source);
        let names: Vec<_> = found.iter().map(|f| f.name.clone().unwrap()).collect();
        assert_eq!(names, ["A.A", "A.g"]);
        assert_eq!(found[0].docstring.as_deref(), Some("Makes one."));
        assert_eq!(found[1].docstring, None);
    }

    #[test]
    fn javascript_declarations_methods_and_bound_arrows() {
        let source = "function a() { return 1; }\nconst b = (x) => x * 2;\nmodule.exports.c = function () { return 3; };\nclass K { d() { return 4; } }\nconst o = { e: () => 5 };\n[1].map((x) => x);\n";
        let names: Vec<_> = extract(Language::JavaScript, source)
            .into_iter()
            .map(|f| f.name.unwrap())
            .collect();
        assert_eq!(names, ["a", "b", "c", "K.d", "e"]);
    }

    #[test]
    fn go_ruby_and_php_functions() {
        let go = "package p\n// Add adds.\nfunc Add(a, b int) int { return a + b }\nfunc (s *S) M() {}\n";
        let found = extract(Language::Go, go);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].docstring.as_deref(), Some("Add adds."));
        let ruby =
            "class A\n  # Says hi.\n  def hi\n    puts 1\n  end\n  def self.make; end\nend\n";
        let found = extract(Language::Ruby, ruby);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].name.as_deref(), Some("A.hi"));
        assert_eq!(found[0].docstring.as_deref(), Some("Says hi."));
        let php = "<?php\nfunction f($x) { return $x; }\nclass C { public function m() { return 1; } abstract function n(); }\n";
        let names: Vec<_> = extract(Language::Php, php)
            .into_iter()
            .map(|f| f.name.unwrap())
            .collect();
        assert_eq!(names, ["f", "C.m"]);
    }

    #[test]
    fn dedent_only_strips_whitespace_up_to_the_column() {
        assert_eq!(
            dedent("def f():\n        x = '''\nraw'''\n", 4),
            "def f():\n    x = '''\nraw'''\n"
        );
    }
}
