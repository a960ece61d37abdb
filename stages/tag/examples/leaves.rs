//! The leaves tokens bind to, per original testbed row, as `icodegen-tag` builds them: for the
//! per-language reference suite (`scripts/reference/languages/suite.py`), which compares them
//! with py-tree-sitter's.
//!
//!     cargo run -p icodegen-tag --example leaves -- TESTBED TAXONOMY_DIR OUT.jsonl
//!
//! Writes one JSON line per row of intervention `none`: `{"row_id", "leaves": [[type, start,
//! end], ...]}`, byte offsets in the row's code. Exit code 2 on wrong arguments, 1 on failure.
#![allow(clippy::disallowed_methods)] // test code may use std::fs (clippy.toml)

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use icodegen_artifacts::ArtifactReader;
use icodegen_artifacts::schemas::testbed;
use icodegen_lang::{Language, Parsers, Snippet};
use icodegen_tag::taxonomy::{Taxonomy, default_path};
use icodegen_tag::tree::{FlatTree, LanguageTable};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [testbed_path, taxonomy_dir, out] = args.as_slice() else {
        eprintln!("usage: leaves TESTBED TAXONOMY_DIR OUT.jsonl");
        std::process::exit(2);
    };
    if let Err(error) = run(testbed_path, taxonomy_dir, out) {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

fn run(
    testbed_path: &str,
    taxonomy_dir: &str,
    out: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut tables: HashMap<Language, LanguageTable> = HashMap::new();
    let mut parsers = Parsers::new();
    let mut writer = std::io::BufWriter::new(std::fs::File::create(out)?);
    for batch in ArtifactReader::<testbed::Row>::open(Path::new(testbed_path))? {
        for row in batch? {
            if row.intervention != "none" {
                continue;
            }
            let language = Language::from_name(&row.language)?;
            let table = match tables.entry(language) {
                std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::hash_map::Entry::Vacant(entry) => {
                    let path = default_path(Path::new(taxonomy_dir), language);
                    entry.insert(LanguageTable::new(Taxonomy::load(language, &path)?))
                }
            };
            let snippet = Snippet::parse(&mut parsers, language, &row.code)?;
            let flat = FlatTree::build(&snippet, table)?;
            let leaves: Vec<String> = flat
                .leaves
                .iter()
                .map(|&leaf| {
                    let leaf = leaf as usize;
                    format!(
                        "[{},{},{}]",
                        json_string(&table.type_names[flat.node_type[leaf] as usize]),
                        flat.start[leaf],
                        flat.end[leaf]
                    )
                })
                .collect();
            let line = format!(
                "{{\"row_id\":{},\"leaves\":[{}]}}",
                json_string(&row.row_id),
                leaves.join(",")
            );
            writeln!(writer, "{line}")?;
        }
    }
    writer.flush()?;
    Ok(())
}

/// A JSON string literal (node type names and row ids are ASCII, but escape anyway).
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
