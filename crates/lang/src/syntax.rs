//! What each grammar's node kinds *mean*: which kinds are functions, comments, string literals,
//! loops, decision points and so on. Ingest (function extraction), preprocess (covariates and
//! interventions) and tag read the grammars through these tables, so "a loop" or "a string
//! literal" means the same thing in every stage.
//!
//! Node classes ([`Class::FUNCTION`], [`Class::LOOP`] ...) match *named* nodes; token classes
//! ([`Class::DECISION`], [`Class::COMPARISON`], [`Class::MATH`], [`Class::MODIFIER_TOKEN`]) match
//! *anonymous* tokens, so Ruby's `if` statement and its `if` keyword are told apart. Lookups go
//! through a per-language table indexed by the grammar's kind id, built once.
//!
//! This module holds data about grammars only; it does not walk trees (see [`crate::ast`]).

use std::sync::OnceLock;

use crate::Language;

/// A set of node-kind classes, as bit flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Class(u32);

impl Class {
    /// Definitions extracted as snippets (functions, methods, constructors).
    pub const FUNCTION: Class = Class(1 << 0);
    pub const COMMENT: Class = Class(1 << 1);
    /// String literals (one literal, however many fragments it has).
    pub const STRING: Class = Class(1 << 2);
    pub const NUMBER: Class = Class(1 << 3);
    /// Identifier-like leaves (identifiers, type and field identifiers, constants).
    pub const IDENTIFIER: Class = Class(1 << 4);
    pub const LOOP: Class = Class(1 << 5);
    pub const RETURN: Class = Class(1 << 6);
    pub const TRY: Class = Class(1 << 7);
    pub const LAMBDA: Class = Class(1 << 8);
    pub const ASSIGNMENT: Class = Class(1 << 9);
    /// Declarators that count as an assignment when they have a `value` (`int x = 1`).
    pub const DECLARATOR: Class = Class(1 << 10);
    /// Bodies whose nesting is "nested blocks".
    pub const BLOCK: Class = Class(1 << 11);
    pub const PARENTHESIZED: Class = Class(1 << 12);
    /// Nodes that are one modifier each (decorators, annotations, `visibility_modifier`).
    pub const MODIFIER: Class = Class(1 << 13);
    /// Nodes whose children are modifiers (Java's `modifiers`).
    pub const MODIFIER_LIST: Class = Class(1 << 14);
    /// Expressions whose operator tokens are classified as comparison or math.
    pub const BINARY: Class = Class(1 << 15);
    /// Nodes whose named children are statements (targets of statement insertion/deletion).
    pub const STATEMENT_LIST: Class = Class(1 << 16);
    /// Call argument lists.
    pub const ARGUMENTS: Class = Class(1 << 17);
    /// Statements with a `condition` field that can be negated.
    pub const CONDITIONAL: Class = Class(1 << 18);
    /// Decimal integer literals (off-by-one mutation).
    pub const INTEGER: Class = Class(1 << 19);
    /// Tokens lizard counts as decision points (`if`, `&&`, `case` ...).
    pub const DECISION: Class = Class(1 << 20);
    /// Comparison operator tokens (inside a [`Class::BINARY`] node).
    pub const COMPARISON: Class = Class(1 << 21);
    /// Arithmetic operator tokens (inside a [`Class::BINARY`] node).
    pub const MATH: Class = Class(1 << 22);
    /// Modifier keywords (`static`, `async`).
    pub const MODIFIER_TOKEN: Class = Class(1 << 23);
    /// Opening/closing brackets and block colons (syntax breakage).
    pub const CLOSER: Class = Class(1 << 24);

    pub const fn union(self, other: Class) -> Class {
        Class(self.0 | other.0)
    }

    pub const fn intersects(self, other: Class) -> bool {
        self.0 & other.0 != 0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// The grammar tables of one language: names of node kinds (named) and tokens (anonymous) per
/// class.
pub struct Syntax {
    pub language: Language,
    named: &'static [(Class, &'static [&'static str])],
    anonymous: &'static [(Class, &'static [&'static str])],
    /// Decision-point tokens as lizard counts them for this language (the cyclomatic
    /// complexity is 1 + their number, outside nested functions).
    pub decision_tokens: &'static [&'static str],
    /// Prefix that negates a condition (`not ` or `!`).
    pub negation: &'static str,
    /// Keywords that must never be chosen as a new identifier.
    pub reserved_names: &'static [&'static str],
    by_kind_id: OnceLock<Vec<Class>>,
}

macro_rules! classes {
    ($( $class:ident => [$($kind:literal),* $(,)?] ),* $(,)?) => {
        &[ $( (Class::$class, &[$($kind),*]) ),* ]
    };
}

static PYTHON: Syntax = Syntax {
    language: Language::Python,
    named: classes![
        FUNCTION => ["function_definition"],
        COMMENT => ["comment"],
        STRING => ["string"],
        NUMBER => ["integer", "float"],
        IDENTIFIER => ["identifier"],
        LOOP => ["for_statement", "while_statement"],
        RETURN => ["return_statement"],
        TRY => ["try_statement"],
        LAMBDA => ["lambda"],
        ASSIGNMENT => ["assignment", "augmented_assignment", "named_expression"],
        BLOCK => ["block"],
        PARENTHESIZED => ["parenthesized_expression"],
        MODIFIER => ["decorator"],
        BINARY => ["binary_operator", "comparison_operator", "boolean_operator"],
        STATEMENT_LIST => ["block", "module"],
        ARGUMENTS => ["argument_list"],
        CONDITIONAL => ["if_statement", "elif_clause", "while_statement"],
        INTEGER => ["integer"],
    ],
    anonymous: classes![
        DECISION => ["if", "elif", "for", "while", "except", "finally", "and", "or", "case"],
        COMPARISON => ["<", ">", "<=", ">=", "==", "!=", "<>", "in", "not in", "is", "is not"],
        MATH => ["+", "-", "*", "/", "//", "%", "**", "@"],
        MODIFIER_TOKEN => ["async"],
        CLOSER => [")", "]", "}", ":"],
    ],
    decision_tokens: &[
        "if", "elif", "for", "while", "except", "finally", "and", "or", "case",
    ],
    negation: "not ",
    reserved_names: &[
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
        "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
        "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return",
        "try", "while", "with", "yield", "match", "case", "type", "print", "exec", "self", "cls",
    ],
    by_kind_id: OnceLock::new(),
};

static JAVA: Syntax = Syntax {
    language: Language::Java,
    named: classes![
        FUNCTION => ["method_declaration", "constructor_declaration", "compact_constructor_declaration"],
        COMMENT => ["line_comment", "block_comment"],
        STRING => ["string_literal"],
        NUMBER => [
            "decimal_integer_literal", "hex_integer_literal", "octal_integer_literal",
            "binary_integer_literal", "decimal_floating_point_literal", "hex_floating_point_literal",
        ],
        IDENTIFIER => ["identifier", "type_identifier"],
        LOOP => ["for_statement", "enhanced_for_statement", "while_statement", "do_statement"],
        RETURN => ["return_statement"],
        TRY => ["try_statement", "try_with_resources_statement"],
        LAMBDA => ["lambda_expression"],
        ASSIGNMENT => ["assignment_expression"],
        DECLARATOR => ["variable_declarator"],
        BLOCK => ["block", "constructor_body", "switch_block"],
        PARENTHESIZED => ["parenthesized_expression"],
        MODIFIER => [],
        MODIFIER_LIST => ["modifiers"],
        BINARY => ["binary_expression"],
        STATEMENT_LIST => ["block", "constructor_body", "program"],
        ARGUMENTS => ["argument_list"],
        CONDITIONAL => ["if_statement", "while_statement", "do_statement"],
        INTEGER => ["decimal_integer_literal"],
    ],
    anonymous: classes![
        DECISION => ["if", "for", "while", "catch", "&&", "||", "case", "?"],
        COMPARISON => ["<", ">", "<=", ">=", "==", "!="],
        MATH => ["+", "-", "*", "/", "%"],
        CLOSER => [")", "]", "}"],
    ],
    decision_tokens: &["if", "for", "while", "catch", "&&", "||", "case", "?"],
    negation: "!",
    reserved_names: &[
        "abstract",
        "assert",
        "boolean",
        "break",
        "byte",
        "case",
        "catch",
        "char",
        "class",
        "const",
        "continue",
        "default",
        "do",
        "double",
        "else",
        "enum",
        "extends",
        "final",
        "finally",
        "float",
        "for",
        "goto",
        "if",
        "implements",
        "import",
        "instanceof",
        "int",
        "interface",
        "long",
        "native",
        "new",
        "package",
        "private",
        "protected",
        "public",
        "return",
        "short",
        "static",
        "strictfp",
        "super",
        "switch",
        "synchronized",
        "this",
        "throw",
        "throws",
        "transient",
        "try",
        "void",
        "volatile",
        "while",
        "var",
        "record",
        "yield",
        "true",
        "false",
        "null",
    ],
    by_kind_id: OnceLock::new(),
};

static JAVASCRIPT: Syntax = Syntax {
    language: Language::JavaScript,
    named: classes![
        FUNCTION => ["function_declaration", "generator_function_declaration", "method_definition"],
        COMMENT => ["comment"],
        STRING => ["string", "template_string"],
        NUMBER => ["number"],
        IDENTIFIER => [
            "identifier", "property_identifier", "shorthand_property_identifier",
            "shorthand_property_identifier_pattern", "private_property_identifier",
        ],
        LOOP => ["for_statement", "for_in_statement", "while_statement", "do_statement"],
        RETURN => ["return_statement"],
        TRY => ["try_statement"],
        LAMBDA => ["arrow_function", "function_expression", "generator_function"],
        ASSIGNMENT => ["assignment_expression", "augmented_assignment_expression"],
        DECLARATOR => ["variable_declarator"],
        BLOCK => ["statement_block", "switch_body"],
        PARENTHESIZED => ["parenthesized_expression"],
        MODIFIER => ["decorator"],
        BINARY => ["binary_expression"],
        STATEMENT_LIST => ["statement_block", "program"],
        ARGUMENTS => ["arguments"],
        CONDITIONAL => ["if_statement", "while_statement", "do_statement"],
        INTEGER => ["number"],
    ],
    anonymous: classes![
        DECISION => [
            "if", "for", "while", "catch", "&&", "||", "??", "case", "?", "||=", "&&=", "??=",
        ],
        COMPARISON => ["<", ">", "<=", ">=", "==", "!=", "===", "!=="],
        MATH => ["+", "-", "*", "/", "%", "**"],
        MODIFIER_TOKEN => ["static", "async"],
        CLOSER => [")", "]", "}"],
    ],
    decision_tokens: &[
        "if", "for", "while", "catch", "&&", "||", "??", "case", "?", "||=", "&&=", "??=",
    ],
    negation: "!",
    reserved_names: &[
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "default",
        "delete",
        "do",
        "else",
        "export",
        "extends",
        "finally",
        "for",
        "function",
        "if",
        "import",
        "in",
        "instanceof",
        "new",
        "return",
        "super",
        "switch",
        "this",
        "throw",
        "try",
        "typeof",
        "var",
        "void",
        "while",
        "with",
        "yield",
        "let",
        "static",
        "async",
        "await",
        "of",
        "true",
        "false",
        "null",
        "undefined",
        "arguments",
    ],
    by_kind_id: OnceLock::new(),
};

static GO: Syntax = Syntax {
    language: Language::Go,
    named: classes![
        FUNCTION => ["function_declaration", "method_declaration"],
        COMMENT => ["comment"],
        STRING => ["interpreted_string_literal", "raw_string_literal"],
        NUMBER => ["int_literal", "float_literal", "imaginary_literal"],
        IDENTIFIER => ["identifier", "field_identifier", "type_identifier", "package_identifier"],
        LOOP => ["for_statement"],
        RETURN => ["return_statement"],
        TRY => [],
        LAMBDA => ["func_literal"],
        ASSIGNMENT => ["assignment_statement", "short_var_declaration"],
        DECLARATOR => ["var_spec"],
        BLOCK => ["block"],
        PARENTHESIZED => ["parenthesized_expression"],
        BINARY => ["binary_expression"],
        STATEMENT_LIST => ["statement_list", "source_file"],
        ARGUMENTS => ["argument_list"],
        CONDITIONAL => ["if_statement"],
        INTEGER => ["int_literal"],
    ],
    anonymous: classes![
        DECISION => ["if", "for", "&&", "||", "case"],
        COMPARISON => ["<", ">", "<=", ">=", "==", "!="],
        MATH => ["+", "-", "*", "/", "%"],
        CLOSER => [")", "]", "}"],
    ],
    // lizard's Go reader also lists `while`, `catch` and `?`, which Go does not have.
    decision_tokens: &["if", "for", "&&", "||", "case"],
    negation: "!",
    reserved_names: &[
        "break",
        "case",
        "chan",
        "const",
        "continue",
        "default",
        "defer",
        "else",
        "fallthrough",
        "for",
        "func",
        "go",
        "goto",
        "if",
        "import",
        "interface",
        "map",
        "package",
        "range",
        "return",
        "select",
        "struct",
        "switch",
        "type",
        "var",
        "true",
        "false",
        "nil",
        "iota",
    ],
    by_kind_id: OnceLock::new(),
};

static RUBY: Syntax = Syntax {
    language: Language::Ruby,
    named: classes![
        FUNCTION => ["method", "singleton_method"],
        COMMENT => ["comment"],
        STRING => ["string"],
        NUMBER => ["integer", "float", "rational", "complex"],
        IDENTIFIER => ["identifier", "constant"],
        LOOP => ["for", "while", "until", "while_modifier", "until_modifier"],
        RETURN => ["return"],
        TRY => ["rescue", "rescue_modifier"],
        LAMBDA => ["lambda"],
        ASSIGNMENT => ["assignment", "operator_assignment"],
        BLOCK => ["then", "else", "do", "do_block", "block", "begin", "ensure"],
        PARENTHESIZED => ["parenthesized_statements"],
        BINARY => ["binary"],
        STATEMENT_LIST => ["body_statement", "then", "else", "do", "program", "block_body"],
        ARGUMENTS => ["argument_list"],
        CONDITIONAL => ["if", "unless", "while", "until"],
        INTEGER => ["integer"],
    ],
    anonymous: classes![
        DECISION => [
            "if", "elsif", "until", "for", "while", "rescue", "ensure", "when", "and", "or",
            "||", "&&", "?", "||=", "&&=",
        ],
        COMPARISON => ["<", ">", "<=", ">=", "==", "!=", "===", "<=>", "=~"],
        MATH => ["+", "-", "*", "/", "%", "**"],
        CLOSER => [")", "]", "}"],
    ],
    decision_tokens: &[
        "if", "elsif", "until", "for", "while", "rescue", "ensure", "when", "and", "or", "||",
        "&&", "?", "||=", "&&=",
    ],
    negation: "!",
    reserved_names: &[
        "BEGIN", "END", "alias", "and", "begin", "break", "case", "class", "def", "defined?", "do",
        "else", "elsif", "end", "ensure", "false", "for", "if", "in", "module", "next", "nil",
        "not", "or", "redo", "rescue", "retry", "return", "self", "super", "then", "true", "undef",
        "unless", "until", "when", "while", "yield",
    ],
    by_kind_id: OnceLock::new(),
};

static PHP: Syntax = Syntax {
    language: Language::Php,
    named: classes![
        FUNCTION => ["function_definition", "method_declaration"],
        COMMENT => ["comment"],
        STRING => ["string", "encapsed_string", "heredoc", "nowdoc"],
        NUMBER => ["integer", "float"],
        IDENTIFIER => ["name"],
        LOOP => ["for_statement", "foreach_statement", "while_statement", "do_statement"],
        RETURN => ["return_statement"],
        TRY => ["try_statement"],
        LAMBDA => ["anonymous_function", "arrow_function"],
        ASSIGNMENT => [
            "assignment_expression", "augmented_assignment_expression",
            "reference_assignment_expression",
        ],
        BLOCK => ["compound_statement", "switch_block", "colon_block"],
        PARENTHESIZED => ["parenthesized_expression"],
        MODIFIER => [
            "visibility_modifier", "static_modifier", "final_modifier", "abstract_modifier",
            "readonly_modifier", "var_modifier",
        ],
        BINARY => ["binary_expression"],
        STATEMENT_LIST => ["compound_statement", "program"],
        ARGUMENTS => ["arguments"],
        CONDITIONAL => ["if_statement", "while_statement", "do_statement"],
        INTEGER => ["integer"],
    ],
    anonymous: classes![
        DECISION => ["if", "elseif", "for", "foreach", "while", "catch", "match", "&&", "||", "case", "?"],
        COMPARISON => ["<", ">", "<=", ">=", "==", "!=", "===", "!==", "<>", "<=>"],
        MATH => ["+", "-", "*", "/", "%", "**"],
        CLOSER => [")", "]", "}"],
    ],
    decision_tokens: &[
        "if", "elseif", "for", "foreach", "while", "catch", "match", "&&", "||", "case", "?",
    ],
    negation: "!",
    reserved_names: &[
        "abstract",
        "and",
        "array",
        "as",
        "break",
        "callable",
        "case",
        "catch",
        "class",
        "clone",
        "const",
        "continue",
        "declare",
        "default",
        "do",
        "echo",
        "else",
        "elseif",
        "empty",
        "enddeclare",
        "endfor",
        "endforeach",
        "endif",
        "endswitch",
        "endwhile",
        "eval",
        "exit",
        "extends",
        "final",
        "finally",
        "fn",
        "for",
        "foreach",
        "function",
        "global",
        "goto",
        "if",
        "implements",
        "include",
        "instanceof",
        "insteadof",
        "interface",
        "isset",
        "list",
        "match",
        "namespace",
        "new",
        "or",
        "print",
        "private",
        "protected",
        "public",
        "readonly",
        "require",
        "return",
        "static",
        "switch",
        "this",
        "throw",
        "trait",
        "try",
        "unset",
        "use",
        "var",
        "while",
        "xor",
        "yield",
    ],
    by_kind_id: OnceLock::new(),
};

impl Syntax {
    /// The classes of every kind id of `grammar`, built from the name tables.
    fn build(&self, grammar: &tree_sitter::Language) -> Vec<Class> {
        let count = grammar.node_kind_count();
        let mut classes = vec![Class::default(); count];
        for (id, class) in classes.iter_mut().enumerate() {
            let id = id as u16;
            let Some(name) = grammar.node_kind_for_id(id) else {
                continue;
            };
            let table = if grammar.node_kind_is_named(id) {
                self.named
            } else {
                self.anonymous
            };
            for (flag, names) in table {
                if names.contains(&name) {
                    *class = class.union(*flag);
                }
            }
        }
        classes
    }

    fn table(&self) -> &[Class] {
        self.by_kind_id
            .get_or_init(|| self.build(&self.language.grammar()))
    }

    /// The classes of `node`'s kind.
    pub fn class_of(&self, node: tree_sitter::Node) -> Class {
        self.class_of_id(node.kind_id(), node.is_named(), node.kind())
    }

    fn class_of_id(&self, id: u16, named: bool, kind: &str) -> Class {
        if self.language == Language::Php {
            // The PHP grammars number kinds differently; classify PHP by name.
            let table = if named { self.named } else { self.anonymous };
            return table
                .iter()
                .filter(|(_, names)| names.contains(&kind))
                .fold(Class::default(), |all, (flag, _)| all.union(*flag));
        }
        self.table()
            .get(usize::from(id))
            .copied()
            .unwrap_or_default()
    }

    /// The classes of the named kind `kind` of [`Language::grammar`].
    pub(crate) fn class_of_named_kind(&self, kind: &str) -> Class {
        let id = self.language.grammar().id_for_node_kind(kind, true);
        self.class_of_id(id, true, kind)
    }

    /// True when `node` belongs to any class in `class`.
    pub fn is(&self, node: tree_sitter::Node, class: Class) -> bool {
        self.class_of(node).intersects(class)
    }

    /// The kind names of a node class (named kinds), for documentation and tests.
    pub fn named_kinds(&self, class: Class) -> Vec<&'static str> {
        self.named
            .iter()
            .filter(|(flag, _)| flag.intersects(class))
            .flat_map(|(_, names)| names.iter().copied())
            .collect()
    }

    /// The token names of a token class (anonymous kinds).
    pub fn token_kinds(&self, class: Class) -> Vec<&'static str> {
        self.anonymous
            .iter()
            .filter(|(flag, _)| flag.intersects(class))
            .flat_map(|(_, names)| names.iter().copied())
            .collect()
    }
}

impl Language {
    /// The grammar tables of this language.
    pub fn syntax(self) -> &'static Syntax {
        match self {
            Language::Python => &PYTHON,
            Language::Java => &JAVA,
            Language::JavaScript => &JAVASCRIPT,
            Language::Go => &GO,
            Language::Ruby => &RUBY,
            Language::Php => &PHP,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_named_in_a_table_exists_in_its_grammar() {
        let mut missing = Vec::new();
        for language in Language::ALL {
            let names = language.node_type_names();
            let syntax = language.syntax();
            for (_, kinds) in syntax.named.iter().chain(syntax.anonymous) {
                for kind in *kinds {
                    if !names.contains(*kind) {
                        missing.push(format!("{language}: `{kind}`"));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "unknown node kinds: {missing:?}");
    }

    #[test]
    fn named_and_anonymous_kinds_of_the_same_name_are_told_apart() {
        let syntax = Language::Ruby.syntax();
        let tree = Language::Ruby.parse_file("if a\n  b\nend\n").unwrap();
        let statement = tree.root_node().named_child(0).unwrap();
        assert_eq!(statement.kind(), "if");
        assert!(syntax.is(statement, Class::CONDITIONAL));
        assert!(!syntax.is(statement, Class::DECISION));
        let keyword = statement.child(0).unwrap();
        assert_eq!(keyword.kind(), "if");
        assert!(syntax.is(keyword, Class::DECISION));
        assert!(!syntax.is(keyword, Class::CONDITIONAL));
    }
}
