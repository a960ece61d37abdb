//! The programming languages icodegen understands and their official tree-sitter grammars.
//!
//! Shared by `ingest` (function extraction and the covariates of every snippet it keeps),
//! `preprocess` (interventions, and the covariates of the rows they create) and `tag`
//! (token-to-AST alignment), so every stage parses a language the same way. Of the artifacts it
//! knows only the [`icodegen_artifacts::Covariates`] struct that [`covariates`] fills; it knows
//! nothing about models.

use std::collections::BTreeSet;
use std::path::Path;

pub mod ast;
pub mod bindings;
pub mod covariates;
pub mod snippet;
pub mod syntax;

pub use snippet::{Edit, Parsers, Snippet, dedent};
pub use syntax::{Class, Syntax};

/// A language with a tree-sitter grammar (the CodeSearchNet languages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    Python,
    Java,
    JavaScript,
    Go,
    Ruby,
    Php,
}

#[derive(Debug, thiserror::Error)]
pub enum LangError {
    #[error("unknown language `{name}` (known: python, java, javascript, go, ruby, php)")]
    Unknown { name: String },
    #[error("the {language} grammar could not be loaded: {message}")]
    Grammar {
        language: &'static str,
        message: String,
    },
    #[error("tree-sitter gave up parsing {language} code of {bytes} bytes")]
    Parse {
        language: &'static str,
        bytes: usize,
    },
}

impl Language {
    pub const ALL: [Language; 6] = [
        Language::Python,
        Language::Java,
        Language::JavaScript,
        Language::Go,
        Language::Ruby,
        Language::Php,
    ];

    /// The name used in artifacts and params (`python`, `java`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Java => "java",
            Language::JavaScript => "javascript",
            Language::Go => "go",
            Language::Ruby => "ruby",
            Language::Php => "php",
        }
    }

    /// Parses a language name; accepts common aliases (`py`, `js`).
    pub fn from_name(name: &str) -> Result<Self, LangError> {
        let lower = name.trim().to_ascii_lowercase();
        Ok(match lower.as_str() {
            "python" | "py" => Language::Python,
            "java" => Language::Java,
            "javascript" | "js" => Language::JavaScript,
            "go" | "golang" => Language::Go,
            "ruby" | "rb" => Language::Ruby,
            "php" => Language::Php,
            _ => {
                return Err(LangError::Unknown {
                    name: name.to_owned(),
                });
            }
        })
    }

    /// The language of a source file, from its extension.
    pub fn from_path(path: &Path) -> Option<Self> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match extension.as_str() {
            "py" => Language::Python,
            "java" => Language::Java,
            "js" | "mjs" | "cjs" | "jsx" => Language::JavaScript,
            "go" => Language::Go,
            "rb" => Language::Ruby,
            "php" => Language::Php,
            _ => return None,
        })
    }

    /// The grammar every snippet is parsed with, in every stage (through [`Snippet::parse`]):
    /// the official tree-sitter grammar, except for PHP, whose snippets (functions cut out of a
    /// file) have no `<?php` tag and are read with the `php_only` grammar. Node kind ids, node
    /// type names and syntax classes all come from this grammar.
    pub fn grammar(self) -> tree_sitter::Language {
        match self {
            Language::Php => tree_sitter_php::LANGUAGE_PHP_ONLY.into(),
            other => other.file_grammar(),
        }
    }

    /// The grammar of a whole source file: the same as [`Language::grammar`] except for PHP,
    /// whose files start with `<?php` (text before it is a `text` node). Only file-level
    /// extraction (ingest) uses it; a snippet never does.
    pub fn file_grammar(self) -> tree_sitter::Language {
        match self {
            Language::Python => tree_sitter_python::LANGUAGE.into(),
            Language::Java => tree_sitter_java::LANGUAGE.into(),
            Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Language::Go => tree_sitter_go::LANGUAGE.into(),
            Language::Ruby => tree_sitter_ruby::LANGUAGE.into(),
            Language::Php => tree_sitter_php::LANGUAGE_PHP.into(),
        }
    }

    /// A parser with [`Language::grammar`], for [`Parsers`]. Crate-private so that nothing
    /// outside parses a snippet any other way than [`Snippet::parse`].
    pub(crate) fn snippet_parser(self) -> Result<tree_sitter::Parser, LangError> {
        parser_for(self, &self.grammar())
    }

    /// The `node-types.json` of [`Language::grammar`].
    pub fn node_types_json(self) -> &'static str {
        match self {
            Language::Python => tree_sitter_python::NODE_TYPES,
            Language::Java => tree_sitter_java::NODE_TYPES,
            Language::JavaScript => tree_sitter_javascript::NODE_TYPES,
            Language::Go => tree_sitter_go::NODE_TYPES,
            Language::Ruby => tree_sitter_ruby::NODE_TYPES,
            Language::Php => tree_sitter_php::PHP_ONLY_NODE_TYPES,
        }
    }

    /// Every node type the grammar can produce (named types such as `for_statement` and anonymous
    /// tokens such as `)`), for validating taxonomies.
    pub fn node_type_names(self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        let grammar = self.grammar();
        for id in 0..grammar.node_kind_count() {
            let id = id as u16;
            if grammar.node_kind_is_visible(id)
                && let Some(name) = grammar.node_kind_for_id(id)
            {
                names.insert(name.to_owned());
            }
        }
        if let Ok(serde_json::Value::Array(entries)) = serde_json::from_str(self.node_types_json())
        {
            for entry in entries {
                if let Some(name) = entry.get("type").and_then(|t| t.as_str()) {
                    names.insert(name.to_owned());
                }
            }
        }
        names.insert("ERROR".to_owned());
        names
    }

    /// A parser for whole source files ([`Language::file_grammar`]); reuse it in loops.
    pub fn file_parser(self) -> Result<tree_sitter::Parser, LangError> {
        parser_for(self, &self.file_grammar())
    }

    /// Parses a whole source file with a fresh [`Language::file_parser`]. A snippet goes
    /// through [`Snippet::parse`] instead.
    pub fn parse_file(self, code: &str) -> Result<tree_sitter::Tree, LangError> {
        self.file_parser()?
            .parse(code, None)
            .ok_or(LangError::Parse {
                language: self.name(),
                bytes: code.len(),
            })
    }
}

fn parser_for(
    language: Language,
    grammar: &tree_sitter::Language,
) -> Result<tree_sitter::Parser, LangError> {
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(grammar)
        .map_err(|error| LangError::Grammar {
            language: language.name(),
            message: error.to_string(),
        })?;
    Ok(parser)
}

impl std::fmt::Display for Language {
    fn fmt(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str(self.name())
    }
}

impl std::str::FromStr for Language {
    type Err = LangError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Language::from_name(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_grammar_loads_and_parses_a_function() {
        let samples = [
            (Language::Python, "def f(x):\n    return x + 1\n"),
            (Language::Java, "class A { int f(int x) { return x + 1; } }"),
            (Language::JavaScript, "function f(x) { return x + 1; }"),
            (
                Language::Go,
                "package p\nfunc f(x int) int { return x + 1 }\n",
            ),
            (Language::Ruby, "def f(x)\n  x + 1\nend\n"),
            (Language::Php, "<?php function f($x) { return $x + 1; }"),
        ];
        for (language, code) in samples {
            let tree = language.parse_file(code).unwrap();
            assert!(
                !tree.root_node().has_error(),
                "{language}: {}",
                tree.root_node().to_sexp()
            );
        }
    }

    #[test]
    fn node_types_include_named_and_anonymous_kinds() {
        let names = Language::Python.node_type_names();
        for kind in ["for_statement", "identifier", ")", ":", "comment", "string"] {
            assert!(names.contains(kind), "{kind}");
        }
        assert!(!names.contains("no_such_node"));
    }

    #[test]
    fn names_and_extensions_round_trip() {
        for language in Language::ALL {
            assert_eq!(Language::from_name(language.name()).unwrap(), language);
        }
        assert_eq!(
            Language::from_path(Path::new("a/b.PY")),
            Some(Language::Python)
        );
        assert_eq!(Language::from_path(Path::new("a/b.txt")), None);
        assert!(
            Language::from_name("cobol")
                .unwrap_err()
                .to_string()
                .contains("cobol")
        );
    }
}
