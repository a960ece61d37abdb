//! The binding alone, as the Python reference does it: read the testbed and the tokens, parse
//! each row, bind every token to its leaf and build its label (node type, parent type,
//! category, depth), on one thread, without aggregation, bootstrap or output files.
//! `scripts/bench/tag.sh` runs it next to the full stage and the reference.
//!
//!     cargo bench -p icodegen-tag --bench align -- TESTBED TOKENS TAXONOMY_DIR

use std::path::PathBuf;
use std::time::Instant;

use icodegen_tag::TagParams;
use icodegen_tag::align;
use icodegen_tag::input::{CodeStore, TokenGroups};
use icodegen_tag::row::span_of;
use icodegen_tag::tree::{FlatTree, LanguageTable, NONE};

/// node type, parent type, category, depth: what the Python reference builds per token.
type Label = (String, Option<String>, Option<String>, u32);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    let [testbed, tokens, taxonomy_dir] = args.as_slice() else {
        eprintln!("usage: align TESTBED TOKENS TAXONOMY_DIR");
        std::process::exit(2);
    };
    let began = Instant::now();
    let params = TagParams {
        taxonomy_dir: PathBuf::from(taxonomy_dir),
        ..TagParams::default()
    };
    let code = CodeStore::load(testbed.as_ref())?;
    let mut tables = std::collections::HashMap::new();
    let mut parsers = icodegen_lang::Parsers::new();
    for language in code.languages() {
        tables.insert(
            language,
            LanguageTable::new(params.load_taxonomy(language)?),
        );
    }
    let mut token_count = 0usize;
    let mut labelled = 0usize;
    let mut parse_seconds = 0f64;
    for group in TokenGroups::open(tokens.as_ref())? {
        let group = group?;
        let (language, source) = code.get(&group.row_id).ok_or("row not in testbed")?;
        let table = &tables[&language];
        let spans = group
            .tokens
            .iter()
            .map(|token| span_of(token, source.len(), &group.row_id, tokens.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let parse_began = Instant::now();
        let snippet = icodegen_lang::Snippet::parse(&mut parsers, language, source)?;
        parse_seconds += parse_began.elapsed().as_secs_f64();
        let flat = FlatTree::build(&snippet, table)?;
        let bound = align::bind(&flat.leaf_spans(), &spans);
        let mut labels: Vec<Option<Label>> = Vec::with_capacity(bound.len());
        for range in bound {
            labels.push(range.map(|range| {
                let leaf = flat.leaves[range.first as usize] as usize;
                let name = |node: usize| table.type_names[flat.node_type[node] as usize].clone();
                let parent = flat.parent[leaf];
                let category = flat.category[leaf];
                (
                    name(leaf),
                    (parent != NONE).then(|| name(parent as usize)),
                    (category != NONE).then(|| table.category_names[category as usize].clone()),
                    flat.depth[leaf],
                )
            }));
        }
        token_count += labels.len();
        labelled += labels.iter().flatten().count();
    }
    let seconds = began.elapsed().as_secs_f64();
    println!(
        "{{\"tokens\": {token_count}, \"labelled\": {labelled}, \"seconds\": {seconds:.4}, \
         \"parse_seconds\": {parse_seconds:.4}, \"tokens_per_second\": {:.1}}}",
        token_count as f64 / seconds
    );
    Ok(())
}
