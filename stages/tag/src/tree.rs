//! A row's tree-sitter AST flattened into arrays, in pre-order, with the leaves the tokens bind
//! to. Node types are interned per language ([`LanguageTable`]) so the hot loops compare
//! integers, not strings.
//!
//! Leaves are the nodes without children, except that an *atomic* node (a string literal, per
//! the taxonomy) is a leaf and its descendants are not listed at all. Zero-width leaves (MISSING
//! nodes inserted by error recovery) stay in the tree but bind no token. This module knows
//! nothing of tokens.

use std::collections::HashMap;

use icodegen_lang::{Language, Snippet};

use crate::error::{Result, TagError};
use crate::taxonomy::Taxonomy;

/// "No node": the root's parent, a leaf-less category.
pub const NONE: u32 = u32::MAX;

/// The node types of one language, interned, with its taxonomy applied.
#[derive(Debug, Clone)]
pub struct LanguageTable {
    pub language: Language,
    pub taxonomy: Taxonomy,
    /// Node type names; a node's type is an index into this.
    pub type_names: Vec<String>,
    /// Category names in taxonomy order.
    pub category_names: Vec<String>,
    /// tree-sitter kind id -> type index.
    by_kind: Vec<u32>,
    error_type: u32,
    /// By type index.
    atomic: Vec<bool>,
    /// By type index: the type's category, or [`NONE`].
    category_of_type: Vec<u32>,
    types_by_name: Vec<u32>,
    categories_by_name: Vec<u32>,
}

impl LanguageTable {
    pub fn new(taxonomy: Taxonomy) -> Self {
        let language = taxonomy.language;
        let grammar = language.grammar();
        let mut index: HashMap<String, u32> = HashMap::new();
        let mut type_names: Vec<String> = Vec::new();
        let mut intern = |name: &str| -> u32 {
            if let Some(&id) = index.get(name) {
                return id;
            }
            let id = type_names.len() as u32;
            type_names.push(name.to_owned());
            index.insert(name.to_owned(), id);
            id
        };
        let by_kind: Vec<u32> = (0..grammar.node_kind_count())
            .map(|kind| intern(grammar.node_kind_for_id(kind as u16).unwrap_or("ERROR")))
            .collect();
        let error_type = intern("ERROR");
        // Taxonomy names are validated against `node_type_names`, which also reads
        // node-types.json; intern them too so a lookup never misses.
        for name in taxonomy
            .atomic
            .iter()
            .chain(taxonomy.categories.iter().flat_map(|(_, t)| t))
        {
            intern(name);
        }
        let mut atomic = vec![false; type_names.len()];
        for name in &taxonomy.atomic {
            atomic[index[name] as usize] = true;
        }
        let mut category_of_type = vec![NONE; type_names.len()];
        let mut category_names = Vec::new();
        for (category, types) in &taxonomy.categories {
            let id = category_names.len() as u32;
            category_names.push(category.clone());
            for name in types {
                category_of_type[index[name] as usize] = id;
            }
        }
        let mut types_by_name: Vec<u32> = (0..type_names.len() as u32).collect();
        types_by_name.sort_by(|&a, &b| type_names[a as usize].cmp(&type_names[b as usize]));
        let mut categories_by_name: Vec<u32> = (0..category_names.len() as u32).collect();
        categories_by_name
            .sort_by(|&a, &b| category_names[a as usize].cmp(&category_names[b as usize]));
        Self {
            language,
            taxonomy,
            type_names,
            category_names,
            by_kind,
            error_type,
            atomic,
            category_of_type,
            types_by_name,
            categories_by_name,
        }
    }

    /// Type indices in name order.
    pub fn types_by_name(&self) -> &[u32] {
        &self.types_by_name
    }

    /// Category indices in name order.
    pub fn categories_by_name(&self) -> &[u32] {
        &self.categories_by_name
    }

    fn type_of(&self, node: &tree_sitter::Node) -> u32 {
        if node.is_error() {
            return self.error_type;
        }
        self.by_kind
            .get(node.kind_id() as usize)
            .copied()
            .unwrap_or(self.error_type)
    }

    /// The category of a node type, or [`NONE`].
    pub fn category_of_type(&self, node_type: u32) -> u32 {
        self.category_of_type[node_type as usize]
    }

    pub fn type_count(&self) -> usize {
        self.type_names.len()
    }
}

/// One row's AST, flattened in pre-order (index 0 is the root).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlatTree {
    pub node_type: Vec<u32>,
    /// Parent index, [`NONE`] for the root.
    pub parent: Vec<u32>,
    /// Root = 0.
    pub depth: Vec<u32>,
    pub start: Vec<u32>,
    pub end: Vec<u32>,
    /// The category of the node or of its nearest categorised ancestor, or [`NONE`].
    pub category: Vec<u32>,
    /// Leaves tokens bind to, in byte order: nodes without (listed) children and with a
    /// non-empty span. When the code has no such leaf, the root alone.
    pub leaves: Vec<u32>,
    /// True when two leaves overlap (no known grammar does this; binding then falls back to the
    /// definition, checking every leaf).
    pub leaves_overlap: bool,
}

impl FlatTree {
    /// Flattens a parsed snippet with the node types and atomic set of `table`. Offsets are
    /// bytes of the snippet's code. A snippet parsed inside a class shell gets a root of the
    /// grammar's root type spanning its code, above the nodes the shell holds, so a wrapped
    /// method has the shape it would have alone (and none of the shell's nodes).
    pub fn build(snippet: &Snippet, table: &LanguageTable) -> Result<Self> {
        let mut flat = FlatTree::default();
        if !snippet.is_wrapped() {
            flat.push_subtree(snippet.tree().root_node(), NONE, 0, 0, table)?;
        } else {
            let root = snippet.tree().root_node();
            let node_type = table.type_of(&root);
            flat.node_type.push(node_type);
            flat.parent.push(NONE);
            flat.depth.push(0);
            flat.start.push(0);
            flat.end.push(snippet.code().len() as u32);
            flat.category.push(table.category_of_type(node_type));
            let offset = snippet.offset() as u32;
            for node in snippet.roots() {
                flat.push_subtree(node, 0, 1, offset, table)?;
            }
        }
        flat.finish_leaves();
        Ok(flat)
    }

    /// Appends `top` and its subtree in pre-order, `top` as a child of `parent` at `depth`,
    /// with byte offsets shifted down by `offset`.
    fn push_subtree(
        &mut self,
        top: tree_sitter::Node,
        parent: u32,
        depth: u32,
        offset: u32,
        table: &LanguageTable,
    ) -> Result<()> {
        let mut cursor = top.walk();
        let mut ancestors: Vec<u32> = Vec::new();
        loop {
            let node = cursor.node();
            let index = u32::try_from(self.node_type.len())
                .map_err(|_| TagError::Internal("more than 2^32 AST nodes".to_owned()))?;
            let node_type = table.type_of(&node);
            let node_parent = ancestors.last().copied().unwrap_or(parent);
            let own_category = table.category_of_type(node_type);
            let category = if own_category != NONE || node_parent == NONE {
                own_category
            } else {
                self.category[node_parent as usize]
            };
            let start = (node.start_byte() as u32).saturating_sub(offset);
            let end = (node.end_byte() as u32).saturating_sub(offset);
            self.node_type.push(node_type);
            self.parent.push(node_parent);
            self.depth.push(depth + ancestors.len() as u32);
            self.start.push(start);
            self.end.push(end);
            self.category.push(category);
            if !table.atomic[node_type as usize] && cursor.goto_first_child() {
                ancestors.push(index);
                continue;
            }
            if start < end {
                self.leaves.push(index);
            }
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    return Ok(());
                }
                ancestors.pop();
            }
        }
    }

    fn finish_leaves(&mut self) {
        if self.leaves.is_empty() {
            self.leaves.push(0);
            return;
        }
        let sorted = self
            .leaves
            .windows(2)
            .all(|pair| self.start[pair[0] as usize] <= self.start[pair[1] as usize]);
        if !sorted {
            let (start, end) = (&self.start, &self.end);
            self.leaves
                .sort_by_key(|&leaf| (start[leaf as usize], end[leaf as usize]));
        }
        self.leaves_overlap = self
            .leaves
            .windows(2)
            .any(|pair| self.end[pair[0] as usize] > self.start[pair[1] as usize]);
    }

    pub fn len(&self) -> usize {
        self.node_type.len()
    }

    pub fn is_empty(&self) -> bool {
        self.node_type.is_empty()
    }

    /// Byte spans of the leaves, in leaf order.
    pub fn leaf_spans(&self) -> Vec<(u32, u32)> {
        self.leaves
            .iter()
            .map(|&leaf| (self.start[leaf as usize], self.end[leaf as usize]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    pub(crate) fn table(language: Language) -> LanguageTable {
        let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/taxonomies");
        let taxonomy = Taxonomy::load(
            language,
            &crate::taxonomy::default_path(&directory, language),
        )
        .unwrap();
        LanguageTable::new(taxonomy)
    }

    pub(crate) fn parse(language: Language, code: &str) -> Snippet {
        Snippet::parse(&mut icodegen_lang::Parsers::new(), language, code).unwrap()
    }

    fn leaf_texts(code: &str, flat: &FlatTree, table: &LanguageTable) -> Vec<(String, String)> {
        flat.leaves
            .iter()
            .map(|&leaf| {
                let leaf = leaf as usize;
                (
                    table.type_names[flat.node_type[leaf] as usize].clone(),
                    code[flat.start[leaf] as usize..flat.end[leaf] as usize].to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn a_string_literal_is_one_leaf_and_its_parts_are_not_listed() {
        let table = table(Language::Python);
        let code = "x = f\"a{b}c\"\n";
        let flat = FlatTree::build(&parse(Language::Python, code), &table).unwrap();
        let leaves = leaf_texts(code, &flat, &table);
        assert_eq!(
            leaves,
            [
                ("identifier".to_owned(), "x".to_owned()),
                ("=".to_owned(), "=".to_owned()),
                ("string".to_owned(), "f\"a{b}c\"".to_owned()),
            ]
        );
        let types: Vec<&str> = flat
            .node_type
            .iter()
            .map(|&t| table.type_names[t as usize].as_str())
            .collect();
        assert_eq!(
            types,
            [
                "module",
                "expression_statement",
                "assignment",
                "identifier",
                "=",
                "string"
            ]
        );
        assert_eq!(flat.parent, [NONE, 0, 1, 2, 2, 2]);
        assert_eq!(flat.depth, [0, 1, 2, 3, 3, 3]);
    }

    #[test]
    fn categories_are_inherited_from_the_nearest_categorised_ancestor() {
        let table = table(Language::Python);
        let code = "for i in x:\n    pass\n";
        let flat = FlatTree::build(&parse(Language::Python, code), &table).unwrap();
        let iterative = table
            .category_names
            .iter()
            .position(|c| c == "iterative")
            .unwrap() as u32;
        let natural = table
            .category_names
            .iter()
            .position(|c| c == "natural_language")
            .unwrap() as u32;
        let pass = flat
            .node_type
            .iter()
            .position(|&t| table.type_names[t as usize] == "pass")
            .unwrap();
        assert_eq!(flat.category[pass], iterative);
        let identifier = flat
            .node_type
            .iter()
            .position(|&t| table.type_names[t as usize] == "identifier")
            .unwrap();
        assert_eq!(flat.category[identifier], natural);
        assert_eq!(flat.category[0], NONE);
    }

    #[test]
    fn code_without_leaves_binds_to_the_root() {
        let table = table(Language::Python);
        let flat = FlatTree::build(&parse(Language::Python, "   \n"), &table).unwrap();
        assert_eq!(flat.leaves, [0]);
    }

    #[test]
    fn error_nodes_are_typed_error_and_missing_nodes_bind_nothing() {
        let table = table(Language::Java);
        let code = "class A { void f() { int x = (1 + ; } }";
        let flat = FlatTree::build(&parse(Language::Java, code), &table).unwrap();
        let names: Vec<&str> = flat
            .node_type
            .iter()
            .map(|&t| table.type_names[t as usize].as_str())
            .collect();
        assert!(names.contains(&"ERROR"), "{names:?}");
        for &leaf in &flat.leaves {
            assert!(flat.start[leaf as usize] < flat.end[leaf as usize]);
        }
        assert!(!flat.leaves_overlap);
    }

    #[test]
    fn leaves_match_py_tree_sitter_on_real_code_of_every_language() {
        // crates/lang/tests/fixtures/reference/LANGUAGE.json: functions of real packages with
        // the leaves py-tree-sitter gives them (same grammar versions, same class shell, string
        // literals whole); made by scripts/reference/languages/suite.py fixtures.
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../crates/lang/tests/fixtures/reference");
        for language in Language::ALL {
            let table = table(language);
            let text =
                fs_err::read_to_string(fixtures.join(format!("{}.json", language.name()))).unwrap();
            let entries = fixture_entries(&text);
            assert!(entries.len() >= 20, "{language}");
            for (code, expected) in entries {
                let flat = FlatTree::build(&parse(language, &code), &table).unwrap();
                let ours: Vec<Leaf> = flat
                    .leaves
                    .iter()
                    .map(|&leaf| {
                        let leaf = leaf as usize;
                        (
                            table.type_names[flat.node_type[leaf] as usize].clone(),
                            flat.start[leaf],
                            flat.end[leaf],
                        )
                    })
                    .collect();
                assert_eq!(ours, expected, "{language}:\n{code}");
            }
        }
    }

    /// A leaf as the fixtures list it: type, start byte, end byte.
    type Leaf = (String, u32, u32);

    /// (code, leaves) of every snippet of a reference fixture. A tiny reader for this one
    /// layout, so tag needs no JSON dependency: one `"code": "..."` line per snippet, then its
    /// leaves one `"START END TYPE"` per line, as `json.dump(..., indent=1)` writes them.
    fn fixture_entries(text: &str) -> Vec<(String, Vec<Leaf>)> {
        let mut entries = Vec::new();
        let mut code: Option<String> = None;
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("\"code\": ") {
                code = Some(unquote(rest.trim_end_matches(',')));
            } else if line.starts_with("\"leaves\": [") {
                let mut leaves = Vec::new();
                for leaf_line in lines.by_ref() {
                    let leaf_line = leaf_line.trim();
                    if leaf_line.starts_with(']') {
                        break;
                    }
                    let leaf = unquote(leaf_line.trim_end_matches(','));
                    let mut parts = leaf.splitn(3, ' ');
                    let start = parts.next().unwrap().parse().unwrap();
                    let end = parts.next().unwrap().parse().unwrap();
                    leaves.push((parts.next().unwrap().to_owned(), start, end));
                }
                entries.push((code.take().unwrap(), leaves));
            }
        }
        entries
    }

    /// The value of a JSON string literal (the escapes `json.dump` writes).
    fn unquote(literal: &str) -> String {
        let inner = &literal[1..literal.len() - 1];
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next().unwrap() {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let unit = u32::from_str_radix(&hex, 16).unwrap();
                    out.push(char::from_u32(unit).unwrap_or('\u{fffd}'));
                }
                other => out.push(other),
            }
        }
        out
    }
}
