//! Stage `tag`: align scored tokens to the AST and aggregate AsC-Eval concept scores
//! (methodology §3).
//!
//! For every (model, row) group of tokens.parquet, [`row::process_row`] parses the row's code
//! with tree-sitter, binds each token's byte span to leaves by a merge over sorted spans
//! ([`align`]), lets every node collect the tokens of its subtree, and scores every node type
//! and taxonomy category present ([`taxonomy`]) with a mean, a median and a seeded bootstrap.
//! [`run`] streams the groups in chunks processed in parallel and writes four artifacts:
//! tags.parquet (the tokens with their leaf's type, parent type, category and depth),
//! concepts.parquet (per row and concept), nodes.parquet (per row and AST node, for local
//! explanations) and concepts_global.parquet (per model and concept, bootstrapped over rows).
//!
//! Memory holds the testbed's code, one chunk of groups and one value per (row, concept) for the
//! global bootstrap, never the token table. The library knows nothing of the runner, its cache,
//! the lock file or Slurm: it reads the inputs it is given and writes only the outputs it is
//! given.

pub mod align;
pub mod bootstrap;
pub mod config;
mod error;
pub mod explain;
pub mod input;
pub mod row;
pub mod taxonomy;
pub mod tree;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use icodegen_artifacts::ArtifactWriter;
use icodegen_artifacts::schemas::{concepts, concepts_global, nodes, tags};
use icodegen_lang::{Language, Parsers};
use rayon::prelude::*;

pub use config::TagParams;
pub use error::{Result, TagError};
use input::{CodeStore, TokenGroup, TokenGroups};
use row::{ConceptKind, RowResult, RowTask};
use tree::{LanguageTable, NONE};

/// The stage name recorded in the outputs' metadata.
pub const STAGE: &str = "tag";

/// Groups are processed in parallel in chunks of about this many tokens, which bounds memory.
const CHUNK_TOKENS: usize = 1 << 16;

/// Input and output paths of one run.
#[derive(Debug, Clone)]
pub struct Paths {
    pub testbed: PathBuf,
    pub tokens: PathBuf,
    pub tags: PathBuf,
    pub concepts: PathBuf,
    pub nodes: PathBuf,
    pub global: PathBuf,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// (model, row) groups.
    pub groups: u64,
    pub tokens: u64,
    /// Tokens without a usable span (BOS, EOS): in tags.parquet with null labels.
    pub tokens_without_span: u64,
    pub concept_rows: u64,
    pub node_rows: u64,
    pub global_rows: u64,
}

/// Runs the stage with `threads` worker threads (all cores when `None`).
pub fn run(params: &TagParams, paths: &Paths, threads: Option<usize>) -> Result<Summary> {
    params.validate()?;
    let code = CodeStore::load(&paths.testbed)?;
    let mut tables = HashMap::new();
    for language in code.languages() {
        tables.insert(
            language,
            LanguageTable::new(params.load_taxonomy(language)?),
        );
    }
    let mut metadata: Vec<(String, String)> = vec![
        ("icodegen.tag.seed".to_owned(), params.seed.to_string()),
        (
            "icodegen.tag.bootstrap".to_owned(),
            params.bootstrap.to_string(),
        ),
    ];
    for (language, table) in tables.iter().collect::<BTreeMap<_, _>>() {
        metadata.push((
            format!("icodegen.tag.taxonomy.{language}"),
            table.taxonomy.hash.clone(),
        ));
    }
    let metadata: Vec<(&str, &str)> = metadata
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .map_err(|error| TagError::Internal(format!("cannot start worker threads: {error}")))?;

    let mut writers = Writers {
        tags: ArtifactWriter::create_with_metadata(&paths.tags, STAGE, &metadata)?,
        concepts: ArtifactWriter::create_with_metadata(&paths.concepts, STAGE, &metadata)?,
        nodes: ArtifactWriter::create_with_metadata(&paths.nodes, STAGE, &metadata)?,
        tag_rows: tags::Builder::with_capacity(BATCH),
        node_rows: nodes::Builder::with_capacity(BATCH),
        global: Global::default(),
        summary: Summary::default(),
    };
    let reader = TokenGroups::open(&paths.tokens)?;
    let context = Context {
        params,
        code: &code,
        tables: &tables,
        tokens_path: &paths.tokens,
        testbed_path: &paths.testbed,
    };
    let progress = icodegen_artifacts::progress::spinner("tag");
    let mut chunk: Vec<TokenGroup> = Vec::new();
    let mut chunk_tokens = 0;
    for group in reader {
        let group = group?;
        chunk_tokens += group.tokens.len();
        chunk.push(group);
        if chunk_tokens >= CHUNK_TOKENS {
            writers.write_chunk(&context, &pool, &chunk)?;
            progress.inc(chunk.len() as u64);
            chunk.clear();
            chunk_tokens = 0;
        }
    }
    writers.write_chunk(&context, &pool, &chunk)?;
    progress.finish_and_clear();
    writers.finish(params, &pool, &paths.global, &metadata)
}

struct Context<'a> {
    params: &'a TagParams,
    code: &'a CodeStore,
    tables: &'a HashMap<Language, LanguageTable>,
    tokens_path: &'a Path,
    testbed_path: &'a Path,
}

thread_local! {
    /// Snippet parsers per worker thread (parsers are not `Sync`).
    static PARSERS: RefCell<Parsers> = RefCell::new(Parsers::new());
}

fn process_group(context: &Context, group: &TokenGroup) -> Result<RowResult> {
    let first_row = group.tokens.first().map_or(0, |token| token.file_row);
    let (language, code) = context
        .code
        .get(&group.row_id)
        .ok_or_else(|| TagError::Input {
            path: context.tokens_path.to_path_buf(),
            row: first_row,
            message: format!(
                "row `{}` (model `{}`) is not in the testbed `{}`\nhint: tokens and testbed must \
                 come from the same pipeline run",
                group.row_id,
                group.model_id,
                context.testbed_path.display()
            ),
        })?;
    let table = &context.tables[&language];
    let task = RowTask {
        model_id: &group.model_id,
        row_id: &group.row_id,
        code,
        table,
        tokens: &group.tokens,
        tokens_path: context.tokens_path,
        bootstrap: context.params.bootstrap,
        seed: context.params.seed,
    };
    PARSERS.with(|parsers| row::process_row(&task, &mut parsers.borrow_mut()))
}

const BATCH: usize = 8192;

struct Writers {
    tags: ArtifactWriter<tags::Row>,
    concepts: ArtifactWriter<concepts::Row>,
    nodes: ArtifactWriter<nodes::Row>,
    tag_rows: tags::Builder,
    node_rows: nodes::Builder,
    global: Global,
    summary: Summary,
}

impl Writers {
    fn write_chunk(
        &mut self,
        context: &Context,
        pool: &rayon::ThreadPool,
        chunk: &[TokenGroup],
    ) -> Result<()> {
        let results: Vec<Result<RowResult>> = pool.install(|| {
            chunk
                .par_iter()
                .map(|group| process_group(context, group))
                .collect()
        });
        for (group, result) in chunk.iter().zip(results) {
            let result = result?;
            let (language, _) = context.code.get(&group.row_id).expect("checked");
            self.write_group(&context.tables[&language], group, &result)?;
        }
        Ok(())
    }

    fn write_group(
        &mut self,
        table: &LanguageTable,
        group: &TokenGroup,
        result: &RowResult,
    ) -> Result<()> {
        let tree = &result.tree;
        let type_name =
            |node: u32| table.type_names[tree.node_type[node as usize] as usize].clone();
        let mut row = tags::Row {
            model_id: group.model_id.clone(),
            row_id: group.row_id.clone(),
            ..Default::default()
        };
        for (token, &label) in group.tokens.iter().zip(&result.labels) {
            row.position = token.position;
            row.token_id = token.token_id;
            row.token.clone_from(&token.token);
            row.byte_start = token.byte_start;
            row.byte_end = token.byte_end;
            row.logprob = token.logprob;
            if label == NONE {
                row.node_type = None;
                row.parent_type = None;
                row.category = None;
                row.depth = None;
                self.summary.tokens_without_span += 1;
            } else {
                let parent = tree.parent[label as usize];
                let category = tree.category[label as usize];
                row.node_type = Some(type_name(label));
                row.parent_type = (parent != NONE).then(|| type_name(parent));
                row.category =
                    (category != NONE).then(|| table.category_names[category as usize].clone());
                row.depth = Some(tree.depth[label as usize] as i32);
            }
            self.tag_rows.push(&row);
            if self.tag_rows.len() >= BATCH {
                self.tags.write_batch(&self.tag_rows.finish())?;
            }
        }
        self.summary.tokens += group.tokens.len() as u64;
        self.summary.groups += 1;

        let mut node = nodes::Row {
            model_id: group.model_id.clone(),
            row_id: group.row_id.clone(),
            ..Default::default()
        };
        for index in 0..tree.len() {
            let parent = tree.parent[index];
            let count = result.node_tokens[index];
            node.node_id = index as i32;
            node.parent_id = (parent != NONE).then_some(parent as i32);
            node.node_type = type_name(index as u32);
            node.byte_start = tree.start[index] as i32;
            node.byte_end = tree.end[index] as i32;
            node.depth = tree.depth[index] as i32;
            node.n_tokens = count as i32;
            node.mean_prob =
                (count > 0).then(|| result.node_probability_sum[index] / f64::from(count));
            self.node_rows.push(&node);
            if self.node_rows.len() >= BATCH {
                self.nodes.write_batch(&self.node_rows.finish())?;
            }
        }
        self.summary.node_rows += tree.len() as u64;

        for score in &result.concepts {
            let name = match score.kind {
                ConceptKind::NodeType => &table.type_names[score.concept as usize],
                ConceptKind::Category => &table.category_names[score.concept as usize],
            };
            self.concepts.push(concepts::Row {
                model_id: group.model_id.clone(),
                row_id: group.row_id.clone(),
                concept_kind: score.kind.as_str().to_owned(),
                concept: name.clone(),
                n_tokens: score.n_tokens as i32,
                mean_prob: score.mean,
                median_prob: score.median,
                boot_median: score.bootstrap.median,
                boot_se: score.bootstrap.standard_error,
            })?;
            self.global.add(
                &group.model_id,
                score.kind,
                name,
                score.mean,
                score.n_tokens,
            );
        }
        self.summary.concept_rows += result.concepts.len() as u64;
        Ok(())
    }

    fn finish(
        mut self,
        params: &TagParams,
        pool: &rayon::ThreadPool,
        global_path: &Path,
        metadata: &[(&str, &str)],
    ) -> Result<Summary> {
        if !self.tag_rows.is_empty() {
            self.tags.write_batch(&self.tag_rows.finish())?;
        }
        if !self.node_rows.is_empty() {
            self.nodes.write_batch(&self.node_rows.finish())?;
        }
        let mut global = ArtifactWriter::create_with_metadata(global_path, STAGE, metadata)?;
        for row in self.global.rows(params, pool) {
            global.push(row)?;
            self.summary.global_rows += 1;
        }
        self.tags.finish()?;
        self.concepts.finish()?;
        self.nodes.finish()?;
        global.finish()?;
        Ok(self.summary)
    }
}

/// One concept's per-row means within a model, gathered for the global bootstrap.
#[derive(Debug, Default)]
struct ConceptValues {
    per_row_means: Vec<f64>,
    tokens: i64,
}

/// (kind, concept name).
type ConceptKey = (ConceptKind, String);

/// Per-row concept means of every model.
#[derive(Debug, Default)]
struct Global {
    by_model: BTreeMap<String, BTreeMap<ConceptKey, ConceptValues>>,
}

impl Global {
    fn add(&mut self, model_id: &str, kind: ConceptKind, concept: &str, mean: f64, tokens: u32) {
        if !self.by_model.contains_key(model_id) {
            self.by_model.insert(model_id.to_owned(), BTreeMap::new());
        }
        let concepts = self.by_model.get_mut(model_id).expect("inserted");
        let values = concepts.entry((kind, concept.to_owned())).or_default();
        values.per_row_means.push(mean);
        values.tokens += i64::from(tokens);
    }

    /// One row per (model, concept): node types, then categories, each by name.
    fn rows(&self, params: &TagParams, pool: &rayon::ThreadPool) -> Vec<concepts_global::Row> {
        let seed = params.seed.to_le_bytes();
        let work: Vec<(&str, &ConceptKey, &ConceptValues)> = self
            .by_model
            .iter()
            .flat_map(|(model, concepts)| {
                concepts
                    .iter()
                    .map(move |(key, values)| (model.as_str(), key, values))
            })
            .collect();
        let row = |(model, (kind, concept), values): &(&str, &ConceptKey, &ConceptValues)| {
            let mut rng = bootstrap::stream(&[
                b"global",
                &seed,
                model.as_bytes(),
                kind.as_str().as_bytes(),
                concept.as_bytes(),
            ]);
            let means = &values.per_row_means;
            let estimate =
                bootstrap::bootstrap_mean(means, params.bootstrap, &mut rng, &mut Vec::new());
            concepts_global::Row {
                model_id: (*model).to_owned(),
                concept_kind: kind.as_str().to_owned(),
                concept: concept.clone(),
                n_rows: means.len() as i64,
                n_tokens: values.tokens,
                mean: bootstrap::mean(means),
                boot_median: estimate.median,
                boot_se: estimate.standard_error,
                ci_low: estimate.ci_low,
                ci_high: estimate.ci_high,
            }
        };
        pool.install(|| work.par_iter().map(row).collect())
    }
}
