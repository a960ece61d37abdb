//! Taxonomies: which node types form which AsC-Eval category, and which node types are scored
//! as one leaf. They are data (`data/taxonomies/<language>.yaml`), so users can edit them; this
//! module loads one file and checks every name against the grammar, reporting an unknown name
//! with file, line, column and the closest real node type.
//!
//! It knows nothing of tokens or trees.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use icodegen_artifacts::params;
use icodegen_lang::Language;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, de};

use crate::error::TagError;

/// One language's taxonomy, validated against its grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taxonomy {
    pub language: Language,
    /// Where it was loaded from (for messages and provenance).
    pub path: PathBuf,
    /// blake3 of the file's bytes, recorded in the outputs' metadata.
    pub hash: String,
    /// Node types whose subtree is scored as one leaf.
    pub atomic: BTreeSet<String>,
    /// Categories in file order, each with its node types.
    pub categories: Vec<(String, Vec<String>)>,
}

impl Taxonomy {
    /// Loads `path` as the taxonomy of `language`.
    pub fn load(language: Language, path: &Path) -> Result<Self, TagError> {
        let text = fs_err::read_to_string(path).map_err(|source| TagError::Taxonomy {
            path: path.to_path_buf(),
            message: source.to_string(),
        })?;
        Self::from_str(language, path, &text)
    }

    /// Parses `text` (the contents of `path`) as the taxonomy of `language`.
    pub fn from_str(language: Language, path: &Path, text: &str) -> Result<Self, TagError> {
        let names = language.node_type_names();
        let file: TaxonomyFile = with_grammar(language, &names, || {
            params::from_str::<TaxonomyFile>(path, text, "")
        })
        .map_err(TagError::TaxonomyParse)?;
        let declared = Language::from_name(&file.language).map_err(|error| TagError::Taxonomy {
            path: path.to_path_buf(),
            message: format!("key `language`: {error}"),
        })?;
        if declared != language {
            return Err(TagError::Taxonomy {
                path: path.to_path_buf(),
                message: format!(
                    "key `language`: the file is for `{declared}` but is used for `{language}`"
                ),
            });
        }
        Ok(Self {
            language,
            path: path.to_path_buf(),
            hash: blake3::hash(text.as_bytes()).to_hex().to_string(),
            atomic: file.atomic.into_iter().map(|name| name.0).collect(),
            categories: file
                .categories
                .0
                .into_iter()
                .map(|(category, types)| (category, types.into_iter().map(|t| t.0).collect()))
                .collect(),
        })
    }

    /// The category of each node type that has one.
    pub fn category_of(&self) -> BTreeMap<&str, &str> {
        let mut map = BTreeMap::new();
        for (category, types) in &self.categories {
            for node_type in types {
                map.insert(node_type.as_str(), category.as_str());
            }
        }
        map
    }
}

/// The file layout. Names are validated while they are deserialized, so serde_norway attaches
/// the line and column of the offending scalar to the error.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaxonomyFile {
    language: String,
    #[serde(default)]
    atomic: Vec<NodeTypeName>,
    categories: Categories,
}

struct Grammar {
    language: Language,
    names: BTreeSet<String>,
    /// node type -> the category that already lists it
    seen: BTreeMap<String, String>,
    /// the category whose list is being read; None while reading `atomic`
    category: Option<String>,
}

thread_local! {
    /// The grammar the current [`Taxonomy::from_str`] call validates against. Serde offers no
    /// other way to hand context to a nested `Deserialize` while keeping the YAML location.
    static GRAMMAR: RefCell<Option<Grammar>> = const { RefCell::new(None) };
}

fn with_grammar<T>(language: Language, names: &BTreeSet<String>, body: impl FnOnce() -> T) -> T {
    GRAMMAR.with(|cell| {
        *cell.borrow_mut() = Some(Grammar {
            language,
            names: names.clone(),
            seen: BTreeMap::new(),
            category: None,
        });
    });
    let result = body();
    GRAMMAR.with(|cell| *cell.borrow_mut() = None);
    result
}

#[derive(Debug)]
struct NodeTypeName(String);

impl<'de> Deserialize<'de> for NodeTypeName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl Visitor<'_> for NameVisitor {
            type Value = NodeTypeName;

            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a node type name")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<NodeTypeName, E> {
                check_name(name).map_err(E::custom)?;
                Ok(NodeTypeName(name.to_owned()))
            }

            // Unquoted `true`, `false` and `null` are YAML booleans and null; accept their
            // spelling as node type names (`true` is a node type in several grammars).
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<NodeTypeName, E> {
                self.visit_str(if value { "true" } else { "false" })
            }

            fn visit_unit<E: de::Error>(self) -> Result<NodeTypeName, E> {
                self.visit_str("null")
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

fn check_name(name: &str) -> Result<(), String> {
    GRAMMAR.with(|cell| {
        let mut guard = cell.borrow_mut();
        let Some(grammar) = guard.as_mut() else {
            return Ok(());
        };
        if !grammar.names.contains(name) {
            let hint = params::closest(name, grammar.names.iter().map(String::as_str))
                .map(|best| format!("\nhint: did you mean `{best}`?"))
                .unwrap_or_default();
            return Err(format!(
                "unknown node type `{name}`: the {} grammar has no such node{hint}",
                grammar.language
            ));
        }
        if let Some(category) = grammar.category.clone() {
            if let Some(previous) = grammar.seen.get(name) {
                return Err(format!(
                    "node type `{name}` is listed in category `{previous}` and again in \
                     `{category}`; a node type belongs to at most one category"
                ));
            }
            grammar.seen.insert(name.to_owned(), category);
        }
        Ok(())
    })
}

/// Categories in file order; a repeated category name is an error.
#[derive(Debug)]
struct Categories(Vec<(String, Vec<NodeTypeName>)>);

impl<'de> Deserialize<'de> for Categories {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CategoriesVisitor;
        impl<'de> Visitor<'de> for CategoriesVisitor {
            type Value = Categories;

            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a mapping from category names to lists of node types")
            }

            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Categories, M::Error> {
                let mut categories: Vec<(String, Vec<NodeTypeName>)> = Vec::new();
                while let Some(category) = map.next_key::<String>()? {
                    if categories.iter().any(|(name, _)| *name == category) {
                        return Err(de::Error::custom(format!(
                            "category `{category}` appears twice"
                        )));
                    }
                    GRAMMAR.with(|cell| {
                        if let Some(grammar) = cell.borrow_mut().as_mut() {
                            grammar.category = Some(category.clone());
                        }
                    });
                    let types = map.next_value::<NodeTypeList>()?.0;
                    categories.push((category, types));
                }
                Ok(Categories(categories))
            }
        }
        deserializer.deserialize_map(CategoriesVisitor)
    }
}

struct NodeTypeList(Vec<NodeTypeName>);

impl<'de> Deserialize<'de> for NodeTypeList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = NodeTypeList;

            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a list of node types")
            }

            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<NodeTypeList, S::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<NodeTypeName>()? {
                    names.push(name);
                }
                Ok(NodeTypeList(names))
            }
        }
        deserializer.deserialize_seq(ListVisitor)
    }
}

/// The taxonomy file for `language` in `directory`: `<directory>/<language>.yaml`.
pub fn default_path(directory: &Path, language: Language) -> PathBuf {
    directory.join(format!("{}.yaml", language.name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(language: Language, text: &str) -> Result<Taxonomy, TagError> {
        Taxonomy::from_str(language, Path::new("tax.yaml"), text)
    }

    #[test]
    fn every_shipped_taxonomy_validates_against_its_grammar() {
        let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/taxonomies");
        for language in Language::ALL {
            let taxonomy = Taxonomy::load(language, &default_path(&directory, language))
                .unwrap_or_else(|error| panic!("{error}"));
            assert!(!taxonomy.categories.is_empty(), "{language}");
        }
    }

    #[test]
    fn python_taxonomy_has_the_ten_astrust_categories() {
        let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/taxonomies");
        let taxonomy = Taxonomy::load(
            Language::Python,
            &default_path(&directory, Language::Python),
        )
        .unwrap();
        let names: Vec<&str> = taxonomy
            .categories
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "iterative",
                "scope",
                "decision",
                "operator",
                "functional",
                "natural_language",
                "data_structures",
                "exceptions",
                "testing",
                "types"
            ]
        );
        assert_eq!(taxonomy.category_of()[")"], "scope");
        assert!(taxonomy.atomic.contains("string"));
    }

    #[test]
    fn an_unknown_node_type_is_reported_with_line_and_suggestion() {
        let text =
            "language: python\ncategories:\n  iterative: [for_statement,\n    whille_statement]\n";
        let message = parse(Language::Python, text).unwrap_err().to_string();
        assert!(message.contains("tax.yaml:4:"), "{message}");
        assert!(message.contains("`whille_statement`"), "{message}");
        assert!(
            message.contains("did you mean `while_statement`?"),
            "{message}"
        );
    }

    #[test]
    fn a_node_type_in_two_categories_is_an_error() {
        let text = "language: python\ncategories:\n  a: [identifier]\n  b: [string, identifier]\n";
        let message = parse(Language::Python, text).unwrap_err().to_string();
        assert!(message.contains("tax.yaml:4:"), "{message}");
        assert!(
            message.contains("category `a` and again in `b`"),
            "{message}"
        );
    }

    #[test]
    fn a_misspelled_key_and_a_wrong_language_are_errors() {
        let message = parse(Language::Python, "language: python\ncategory: {}\n")
            .unwrap_err()
            .to_string();
        assert!(message.contains("did you mean `categories`?"), "{message}");
        let message = parse(Language::Java, "language: python\ncategories: {}\n")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("for `python` but is used for `java`"),
            "{message}"
        );
    }

    #[test]
    fn unquoted_yaml_booleans_and_null_are_node_type_names() {
        let taxonomy = parse(
            Language::JavaScript,
            "language: javascript\ncategories:\n  types: [true, false, null]\n",
        )
        .unwrap();
        assert_eq!(taxonomy.categories[0].1, ["true", "false", "null"]);
    }
}
