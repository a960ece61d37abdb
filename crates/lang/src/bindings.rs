//! Which identifiers a snippet binds (assignment targets, loop variables, parameters ...).
//! Used for the `n_variables` covariate and by the `rename` intervention, so "a variable"
//! means the same in both.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use crate::ast::{self, Visit};
use crate::{Language, Snippet};
use tree_sitter::Node;

/// Rules of one language.
struct Rules {
    /// The kind of a bindable name leaf.
    name_kind: &'static str,
    /// (node kind, field): the field is a binding pattern.
    targets: &'static [(&'static str, &'static str)],
    /// (node kind, field): the field is a parameter pattern.
    parameter_targets: &'static [(&'static str, &'static str)],
    /// Nodes whose direct name children (and those of `wrappers` among their children) are
    /// parameters.
    parameter_lists: &'static [&'static str],
    /// Wrappers of a parameter name inside a parameter list (`*args`, `x: int`).
    wrappers: &'static [&'static str],
    /// Patterns are not searched inside these (attribute, subscript ... targets bind nothing).
    opaque: &'static [&'static str],
    /// Statements whose names must never be renamed (`global x`).
    pinning: &'static [&'static str],
    /// (parent kind, field) positions where a name leaf is not a variable occurrence
    /// (`obj.attr`, `f(name=...)`, method names).
    not_variables: &'static [(&'static str, &'static str)],
    /// Parents under which name leaves are never variable occurrences (imports, labels).
    never_under: &'static [&'static str],
    /// For PHP: a name leaf is a variable only under this parent.
    only_under: Option<&'static str>,
}

const PYTHON: Rules = Rules {
    name_kind: "identifier",
    targets: &[
        ("assignment", "left"),
        ("augmented_assignment", "left"),
        ("for_statement", "left"),
        ("for_in_clause", "left"),
        ("named_expression", "name"),
        ("as_pattern", "alias"),
        ("except_clause", "alias"),
    ],
    parameter_targets: &[
        ("default_parameter", "name"),
        ("typed_default_parameter", "name"),
    ],
    parameter_lists: &["parameters", "lambda_parameters"],
    wrappers: &[
        "typed_parameter",
        "list_splat_pattern",
        "dictionary_splat_pattern",
    ],
    opaque: &["attribute", "subscript", "call"],
    pinning: &["global_statement", "nonlocal_statement"],
    not_variables: &[
        ("attribute", "attribute"),
        ("keyword_argument", "name"),
        ("function_definition", "name"),
        ("class_definition", "name"),
    ],
    never_under: &[
        "dotted_name",
        "aliased_import",
        "import_statement",
        "import_from_statement",
        "keyword_pattern",
    ],
    only_under: None,
};

const JAVA: Rules = Rules {
    name_kind: "identifier",
    targets: &[
        ("variable_declarator", "name"),
        ("catch_formal_parameter", "name"),
        ("enhanced_for_statement", "name"),
        ("resource", "name"),
        ("assignment_expression", "left"),
    ],
    parameter_targets: &[
        ("formal_parameter", "name"),
        ("lambda_expression", "parameters"),
    ],
    parameter_lists: &["inferred_parameters"],
    wrappers: &[],
    opaque: &["field_access", "array_access", "method_invocation"],
    pinning: &[],
    not_variables: &[
        ("method_invocation", "name"),
        ("field_access", "field"),
        ("method_declaration", "name"),
        ("constructor_declaration", "name"),
        ("class_declaration", "name"),
        ("method_reference", ""),
    ],
    never_under: &[
        "labeled_statement",
        "break_statement",
        "continue_statement",
        "scoped_identifier",
    ],
    only_under: None,
};

const JAVASCRIPT: Rules = Rules {
    name_kind: "identifier",
    targets: &[
        ("variable_declarator", "name"),
        ("assignment_expression", "left"),
        ("for_in_statement", "left"),
        ("catch_clause", "parameter"),
    ],
    parameter_targets: &[
        ("arrow_function", "parameter"),
        ("assignment_pattern", "left"),
    ],
    parameter_lists: &["formal_parameters"],
    wrappers: &["rest_pattern"],
    opaque: &[
        "member_expression",
        "subscript_expression",
        "call_expression",
        "object_pattern",
    ],
    pinning: &[],
    not_variables: &[
        ("function_declaration", "name"),
        ("function_expression", "name"),
        ("class_declaration", "name"),
    ],
    never_under: &[
        "import_specifier",
        "export_specifier",
        "namespace_import",
        "import_clause",
    ],
    only_under: None,
};

const GO: Rules = Rules {
    name_kind: "identifier",
    targets: &[
        ("short_var_declaration", "left"),
        ("var_spec", "name"),
        ("const_spec", "name"),
        ("range_clause", "left"),
        ("assignment_statement", "left"),
    ],
    parameter_targets: &[
        ("parameter_declaration", "name"),
        ("variadic_parameter_declaration", "name"),
    ],
    parameter_lists: &[],
    wrappers: &[],
    opaque: &["selector_expression", "index_expression", "call_expression"],
    pinning: &[],
    not_variables: &[("function_declaration", "name"), ("keyed_element", "")],
    never_under: &[
        "import_spec",
        "labeled_statement",
        "break_statement",
        "continue_statement",
    ],
    only_under: None,
};

const RUBY: Rules = Rules {
    name_kind: "identifier",
    targets: &[
        ("assignment", "left"),
        ("operator_assignment", "left"),
        ("for", "pattern"),
    ],
    parameter_targets: &[("optional_parameter", "name")],
    parameter_lists: &["method_parameters", "block_parameters", "lambda_parameters"],
    wrappers: &["splat_parameter", "hash_splat_parameter", "block_parameter"],
    opaque: &["call", "element_reference", "scope_resolution"],
    pinning: &[],
    not_variables: &[
        ("call", "method"),
        ("method", "name"),
        ("singleton_method", "name"),
        ("keyword_parameter", "name"),
        ("pair", "key"),
    ],
    never_under: &[],
    only_under: None,
};

const PHP: Rules = Rules {
    name_kind: "name",
    targets: &[
        ("assignment_expression", "left"),
        ("augmented_assignment_expression", "left"),
        ("reference_assignment_expression", "left"),
    ],
    parameter_targets: &[("simple_parameter", "name"), ("variadic_parameter", "name")],
    parameter_lists: &[],
    wrappers: &[],
    opaque: &[
        "member_access_expression",
        "subscript_expression",
        "scoped_property_access_expression",
        "function_call_expression",
    ],
    pinning: &["global_declaration"],
    not_variables: &[],
    never_under: &[],
    only_under: Some("variable_name"),
};

fn rules(language: Language) -> &'static Rules {
    match language {
        Language::Python => &PYTHON,
        Language::Java => &JAVA,
        Language::JavaScript => &JAVASCRIPT,
        Language::Go => &GO,
        Language::Ruby => &RUBY,
        Language::Php => &PHP,
    }
}

const TARGET: u8 = 1;
const PARAMETER_TARGET: u8 = 1 << 1;
const PARAMETER_LIST: u8 = 1 << 2;
const PINNING: u8 = 1 << 3;
const NAME: u8 = 1 << 4;
const OPAQUE: u8 = 1 << 5;
const NEVER_UNDER: u8 = 1 << 6;
const NOT_VARIABLE_PARENT: u8 = 1 << 7;

/// Rule flags by kind id of the language's snippet grammar, so the hot loop compares numbers,
/// not kind names.
fn flags(language: Language) -> &'static [u8] {
    flags_of_grammar(language, false)
}

/// The flags by kind id of [`Language::grammar`], or of [`Language::file_grammar`] when `file`
/// (they differ for PHP only).
fn flags_of_grammar(language: Language, file: bool) -> &'static [u8] {
    static TABLES: [OnceLock<Vec<u8>>; 12] = [const { OnceLock::new() }; 12];
    let index = Language::ALL
        .iter()
        .position(|known| *known == language)
        .expect("known language")
        + if file { 6 } else { 0 };
    TABLES[index].get_or_init(|| {
        let rules = rules(language);
        let grammar = if file {
            language.file_grammar()
        } else {
            language.grammar()
        };
        (0..grammar.node_kind_count())
            .map(|id| {
                let id = id as u16;
                let Some(name) = grammar.node_kind_for_id(id) else {
                    return 0;
                };
                if !grammar.node_kind_is_named(id) {
                    return 0;
                }
                let has = |list: &[(&str, &str)]| list.iter().any(|(kind, _)| *kind == name);
                let mut flag = 0;
                for (set, bit) in [
                    (has(rules.targets), TARGET),
                    (has(rules.parameter_targets), PARAMETER_TARGET),
                    (rules.parameter_lists.contains(&name), PARAMETER_LIST),
                    (rules.pinning.contains(&name), PINNING),
                    (rules.name_kind == name, NAME),
                    (rules.opaque.contains(&name), OPAQUE),
                    (rules.never_under.contains(&name), NEVER_UNDER),
                    (has(rules.not_variables), NOT_VARIABLE_PARENT),
                ] {
                    if set {
                        flag |= bit;
                    }
                }
                flag
            })
            .collect()
    })
}

fn flag_of(table: &[u8], node: Node) -> u8 {
    table.get(usize::from(node.kind_id())).copied().unwrap_or(0)
}

/// The names a snippet binds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Bindings {
    /// Assigned or declared names that are not parameters.
    pub variables: BTreeSet<String>,
    pub parameters: BTreeSet<String>,
    /// Names that must keep their spelling (`global x`, `self`, ...).
    pub pinned: BTreeSet<String>,
}

/// Collects bindings node by node, so a caller can fold it into its own walk.
pub struct Collector<'a> {
    rules: &'static Rules,
    table: &'static [u8],
    source: &'a str,
    found: Bindings,
}

impl<'a> Collector<'a> {
    pub fn new(snippet: &'a Snippet) -> Self {
        Collector {
            rules: rules(snippet.language),
            table: flags(snippet.language),
            source: snippet.parsed_text(),
            found: Bindings::default(),
        }
    }

    /// A collector for a function's subtree in the tree of its whole file (`source`, parsed
    /// with [`Language::file_grammar`]).
    pub(crate) fn in_file(language: Language, source: &'a str) -> Self {
        Collector {
            rules: rules(language),
            table: flags_of_grammar(language, true),
            source,
            found: Bindings::default(),
        }
    }

    fn is_name(&self, node: Node, parent: Option<Node>) -> bool {
        flag_of(self.table, node) & NAME != 0
            && self
                .rules
                .only_under
                .is_none_or(|kind| parent.is_some_and(|parent| parent.kind() == kind))
    }

    /// Names in a binding pattern (not inside attribute or subscript targets).
    fn pattern_names(&self, pattern: Node, parent: Node) -> Vec<String> {
        let mut names = Vec::new();
        ast::walk_with_path(pattern, |node, path| {
            if flag_of(self.table, node) & OPAQUE != 0 {
                return Visit::Skip;
            }
            if self.is_name(node, Some(path.last().copied().unwrap_or(parent))) {
                names.push(ast::text(node, self.source).to_owned());
            }
            Visit::Descend
        });
        names
    }

    /// Looks at one node of the walk.
    pub fn visit(&mut self, node: Node) {
        let flag = flag_of(self.table, node);
        if flag & (TARGET | PARAMETER_TARGET | PARAMETER_LIST | PINNING) == 0 {
            return;
        }
        let kind = node.kind();
        if flag & TARGET != 0 {
            for (target_kind, field) in self.rules.targets {
                if kind == *target_kind
                    && let Some(pattern) = node.child_by_field_name(field)
                {
                    let names = self.pattern_names(pattern, node);
                    self.found.variables.extend(names);
                }
            }
        }
        if flag & PARAMETER_TARGET != 0 {
            for (target_kind, field) in self.rules.parameter_targets {
                if kind == *target_kind
                    && let Some(pattern) = node.child_by_field_name(field)
                {
                    let names = self.pattern_names(pattern, node);
                    self.found.parameters.extend(names);
                }
            }
        }
        if flag & PARAMETER_LIST != 0 {
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                if self.is_name(child, Some(node)) {
                    self.found
                        .parameters
                        .insert(ast::text(child, self.source).to_owned());
                } else if self.rules.wrappers.contains(&child.kind()) {
                    let mut inner = child.walk();
                    for grandchild in child.named_children(&mut inner) {
                        if self.is_name(grandchild, Some(child)) {
                            self.found
                                .parameters
                                .insert(ast::text(grandchild, self.source).to_owned());
                        }
                    }
                }
            }
        }
        if flag & PINNING != 0 {
            let names = self.pattern_names(node, node);
            self.found.pinned.extend(names);
        }
    }

    pub fn finish(mut self) -> Bindings {
        let parameters = std::mem::take(&mut self.found.parameters);
        self.found
            .variables
            .retain(|name| !parameters.contains(name));
        self.found.parameters = parameters;
        self.found
    }
}

/// The bindings of a parsed snippet.
pub fn bindings(snippet: &Snippet) -> Bindings {
    let mut collector = Collector::new(snippet);
    snippet.walk(|node, _| {
        collector.visit(node);
        Visit::Descend
    });
    collector.finish()
}

/// True when the name leaf `node` (whose ancestors are `path`, parent last) is an occurrence of
/// a variable (not an attribute, a keyword argument's name, a method name ...).
pub fn is_variable_occurrence(language: Language, node: Node, path: &[Node]) -> bool {
    let rules = rules(language);
    let table = flags(language);
    let parent = path.last().copied();
    let name_here = flag_of(table, node) & NAME != 0
        && rules
            .only_under
            .is_none_or(|kind| parent.is_some_and(|parent| parent.kind() == kind));
    if !name_here {
        return false;
    }
    let Some(parent) = parent else {
        return true;
    };
    if path
        .iter()
        .any(|ancestor| flag_of(table, *ancestor) & NEVER_UNDER != 0)
    {
        return false;
    }
    if flag_of(table, parent) & NOT_VARIABLE_PARENT == 0 {
        return true;
    }
    for (parent_kind, field) in rules.not_variables {
        if parent.kind() != *parent_kind {
            continue;
        }
        if field.is_empty() {
            return false;
        }
        if parent
            .child_by_field_name(field)
            .is_some_and(|child| child.id() == node.id())
        {
            return false;
        }
    }
    true
}

/// Every variable occurrence of a name leaf in the snippet, as (byte range relative to the
/// code, name).
pub fn occurrences(snippet: &Snippet) -> Vec<(std::ops::Range<usize>, String)> {
    let mut found = Vec::new();
    snippet.walk_with_path(|node, path| {
        if node.child_count() == 0 && is_variable_occurrence(snippet.language, node, path) {
            found.push((snippet.range(node), snippet.text(node).to_owned()));
        }
        Visit::Descend
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Parsers;

    fn of(language: Language, code: &str) -> Bindings {
        let mut parsers = Parsers::new();
        bindings(&Snippet::parse(&mut parsers, language, code).unwrap())
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn python_targets_and_parameters() {
        let code = "def f(a, b=1, *args, c: int = 2, **kw):\n    global g\n    x, (y, *z) = a\n    self.attr = 1\n    d[0] = 2\n    for i in range(3):\n        total += i\n    with open(p) as h:\n        pass\n    try:\n        pass\n    except E as error:\n        pass\n    return [k for k in kw if (n := k)]\n";
        let found = of(Language::Python, code);
        assert_eq!(found.parameters, set(&["a", "args", "b", "c", "kw"]));
        assert_eq!(
            found.variables,
            set(&["error", "h", "i", "k", "n", "total", "x", "y", "z"])
        );
        assert_eq!(found.pinned, set(&["g"]));
    }

    #[test]
    fn java_declarations_and_lambda_parameters() {
        let code = "int f(int a, String... rest) {\n  int x = 1, y;\n  for (String s : rest) { x += s.length(); }\n  this.z = 2;\n  try { } catch (Exception e) { }\n  Runnable r = () -> {};\n  java.util.function.Function<Integer,Integer> g = v -> v + 1;\n  return x;\n}";
        let found = of(Language::Java, code);
        assert!(found.parameters.contains("a"));
        assert!(found.parameters.contains("v"));
        for name in ["x", "y", "s", "e", "r", "g"] {
            assert!(found.variables.contains(name), "{name}: {found:?}");
        }
        assert!(!found.variables.contains("z"));
    }

    #[test]
    fn attributes_and_keyword_arguments_are_not_occurrences() {
        let mut parsers = Parsers::new();
        let code = "def f(x):\n    y = x.x + g(x=x)\n    return y\n";
        let snippet = Snippet::parse(&mut parsers, Language::Python, code).unwrap();
        let names: Vec<String> = occurrences(&snippet)
            .into_iter()
            .map(|(_, name)| name)
            .collect();
        assert_eq!(names, ["x", "y", "x", "g", "x", "y"]);
    }
}
