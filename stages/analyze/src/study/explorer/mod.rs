//! The row explorer: `report/explorer.html`, a table of every testbed row x model that opens
//! each row's token view and each intervention pair's paired view, drawn in the browser by one
//! static script (`assets/explorer.js`) from compact data files.
//!
//! The report is opened from disk (`file://`), where the browser refuses `fetch`, so data comes
//! as `<script>` files that call global registration functions:
//!
//! ```text
//! report/explorer.html          the page (no data)
//! report/explorer/explorer.js   the renderer (static, embedded with include_str!)
//! report/explorer/tokens.js      the token data's decoder (static)
//! report/explorer/explorer.css  its styles (static)
//! report/explorer/index.js      ICX.index({...}): the row table (rows, testbed entries, per-model
//!                               loss/accuracy/tokens, dictionaries); all the page loads at first
//! report/explorer/c_K.js        ICX.c(K, {...}): code of rows in block K (on demand)
//! report/explorer/l_K.js        ICX.l(K, {...}): token layouts of rows in block K (all models)
//! report/explorer/t_M_K.js      ICX.t(M, K, {...}): tokens of model M for rows in block K
//! report/explorer/k_M_K.js      ICX.k(M, K, {...}): their top-k alternatives (vocabulary ids)
//! report/explorer/v_M.js        ICX.v(M, [...]): model M's vocabulary of top-k tokens
//! ```
//!
//! The token data is packed bytes in base 64 (see [`tokens`]); the report's size bound
//! (`report_max_mb`) drops top-k, then samples snippets, when the folder would exceed it (see
//! [`bound`]).
//!
//! Distinct code rows are ordered by `row_id`, and block K holds rows `K*CHUNK..(K+1)*CHUNK`, so
//! a model's `tags.parquet` (canonical order: by row_id, then position) is streamed one row group
//! at a time and each block written as soon as it is complete (see [`tokens`]).

pub mod bound;
mod tokens;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use icodegen_artifacts::Covariates;
use serde_json::{Value, json};

use super::Study;

/// Distinct code rows per data block (one code file and one token file per model and block).
pub const CHUNK: usize = 100;
/// Most likely alternatives kept per token (from `tokens.parquet`, when the model folder has it).
pub const TOP_K: usize = 3;

/// The renderer and its styles, copied into every report.
const SCRIPT: &str = include_str!("../../../assets/explorer.js");
/// The token data's decoder (loaded before the renderer).
const DECODER: &str = include_str!("../../../assets/tokens.js");
const STYLE: &str = include_str!("../../../assets/explorer.css");
const PAGE: &str = include_str!("../../../assets/explorer.html");

/// What was written, for `study.json` and the tests.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Written {
    pub files: usize,
    pub bytes: u64,
    pub table_rows: usize,
    pub token_rows: usize,
    pub warnings: Vec<String>,
    pub bound: bound::Bound,
}

/// The row order of the explorer: distinct rows sorted by `row_id`.
pub(crate) struct Order {
    /// explorer index -> testbed row index
    pub rows: Vec<usize>,
    /// testbed row index -> explorer index
    pub position: Vec<usize>,
}

impl Order {
    fn new(study: &Study) -> Self {
        let mut rows: Vec<usize> = (0..study.testbed.rows.len()).collect();
        rows.sort_by(|a, b| {
            study.testbed.rows[*a]
                .row_id
                .cmp(&study.testbed.rows[*b].row_id)
        });
        let mut position = vec![0; rows.len()];
        for (explorer, &row) in rows.iter().enumerate() {
            position[row] = explorer;
        }
        Self { rows, position }
    }
}

/// Interns strings in first-seen order.
#[derive(Default)]
pub(crate) struct Dictionary {
    pub names: Vec<String>,
    index: BTreeMap<String, usize>,
}

impl Dictionary {
    pub fn id(&mut self, name: &str) -> usize {
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), self.names.len() - 1);
        self.names.len() - 1
    }
}

fn rounded(value: Option<f64>, digits: i32) -> Value {
    match value {
        Some(value) if value.is_finite() => {
            let scale = 10f64.powi(digits);
            json!((value * scale).round() / scale)
        }
        _ => Value::Null,
    }
}

/// Writes `explorer.html` and `explorer/` into the report folder `dir`.
pub fn write(study: &Study, dir: &Path) -> Result<Written> {
    let data = dir.join("explorer");
    fs_err::create_dir_all(&data)?;
    let order = Order::new(study);
    let mut written = Written::default();
    let mut dictionaries = tokens::Dictionaries::default();
    let mut summaries = Vec::new();
    for (index, model) in study.models.iter().enumerate() {
        let summary = tokens::write_model(study, &order, index, model, &data, &mut dictionaries)?;
        written.warnings.extend(summary.warning.clone());
        summaries.push(summary);
    }
    tokens::write_layouts(&data, &dictionaries.layouts)?;
    write_code(study, &order, &data)?;
    // The row table's size does not depend on what the bound removes (a few bytes aside).
    let unbounded = index(
        study,
        &order,
        &summaries,
        &dictionaries,
        &written.warnings,
        &bound::Bound::default(),
    );
    let extra =
        (unbounded.len() + SCRIPT.len() + DECODER.len() + STYLE.len() + PAGE.len() + 1024) as u64;
    let bound = bound::apply(study, &order, dir, &data, extra, &mut summaries)?;
    written.warnings.extend(bound.warning());
    written.token_rows = summaries.iter().map(|summary| summary.rows).sum();
    let index = index(
        study,
        &order,
        &summaries,
        &dictionaries,
        &written.warnings,
        &bound,
    );
    fs_err::write(data.join("index.js"), format!("ICX.index({index});\n"))?;
    fs_err::write(data.join("explorer.js"), SCRIPT)?;
    fs_err::write(data.join("tokens.js"), DECODER)?;
    fs_err::write(data.join("explorer.css"), STYLE)?;
    fs_err::write(dir.join("explorer.html"), PAGE)?;
    written.bound = bound;
    written.table_rows = study.testbed.entries.len() * study.models.len();
    for entry in fs_err::read_dir(&data)? {
        written.files += 1;
        written.bytes += entry?.metadata()?.len();
    }
    written.files += 1;
    written.bytes += PAGE.len() as u64;
    Ok(written)
}

/// `c_K.js`: the code of each block's rows.
fn write_code(study: &Study, order: &Order, data: &Path) -> Result<()> {
    for (block, rows) in order.rows.chunks(CHUNK).enumerate() {
        let codes: Vec<&str> = rows
            .iter()
            .map(|&row| study.testbed.rows[row].code.as_str())
            .collect();
        fs_err::write(
            data.join(format!("c_{block}.js")),
            format!("ICX.c({block},{});\n", serde_json::to_string(&codes)?),
        )?;
    }
    Ok(())
}

/// The row table: everything the page needs before a row is opened.
fn index(
    study: &Study,
    order: &Order,
    summaries: &[tokens::ModelTokens],
    dictionaries: &tokens::Dictionaries,
    warnings: &[String],
    bound: &bound::Bound,
) -> String {
    let models: Vec<Value> = study
        .models
        .iter()
        .zip(summaries)
        .map(|(model, summary)| {
            json!({
                "id": model.model_id,
                "tokens": summary.rows > 0,
                "rank": summary.ranks,
                "topk": summary.topk,
                "blocks": summary.blocks,
            })
        })
        .collect();
    let testbed = &study.testbed;
    let kind = study.params.concept_kind.as_str();
    // Concepts present in a row (of the study's concept kind), over every model.
    let mut concept_names: Vec<String> = study
        .models
        .iter()
        .flat_map(|model| model.concepts.keys())
        .filter(|(k, _)| k == kind)
        .map(|(_, concept)| concept.clone())
        .collect();
    concept_names.sort();
    concept_names.dedup();
    let mut present: Vec<Vec<usize>> = vec![Vec::new(); testbed.rows.len()];
    for (id, concept) in concept_names.iter().enumerate() {
        for model in &study.models {
            if let Some(values) = model.concept(kind, concept) {
                for (row, value) in values.iter().enumerate() {
                    let list = &mut present[order.position[row]];
                    if value.is_some() && list.last() != Some(&id) {
                        list.push(id);
                    }
                }
            }
        }
    }
    let mut languages = Dictionary::default();
    let mut interventions = Dictionary::default();
    let mut mutations = Dictionary::default();
    for language in &testbed.languages {
        languages.id(language);
    }
    let covariate_names: Vec<&str> = std::iter::once("n_bytes")
        .chain(Covariates::NAMES.iter().copied())
        .collect();
    let mut ids = Vec::new();
    let mut language = Vec::new();
    let mut covariates: Vec<Vec<i64>> = vec![Vec::new(); covariate_names.len()];
    for &row in &order.rows {
        let info = &testbed.rows[row];
        ids.push(info.row_id.as_str());
        language.push(languages.id(&info.language));
        let values = std::iter::once(info.code.len() as f64).chain(info.covariates.values());
        for (column, value) in covariates.iter_mut().zip(values) {
            column.push(value as i64);
        }
    }
    let mut entry_row = Vec::new();
    let mut entry_intervention = Vec::new();
    let mut entry_pair = Vec::new();
    let mut entry_treatment = Vec::new();
    let mut entry_mutation = Vec::new();
    for entry in &testbed.entries {
        entry_row.push(order.position[entry.row]);
        entry_intervention.push(interventions.id(&entry.intervention));
        entry_pair.push(entry.pair_id.as_str());
        entry_treatment.push(entry.treatment);
        entry_mutation.push(
            entry
                .mutation
                .as_deref()
                .map_or(-1, |mutation| mutations.id(mutation) as i64),
        );
    }
    let per_model = |value: &dyn Fn(&super::inputs::Model, usize) -> Value| -> Vec<Vec<Value>> {
        study
            .models
            .iter()
            .map(|model| order.rows.iter().map(|&row| value(model, row)).collect())
            .collect()
    };
    let loss = per_model(&|model, row| rounded(model.cross_entropy(row), 4));
    let accuracy = per_model(&|model, row| rounded(model.accuracy(row), 4));
    let n_tokens = per_model(&|model, row| {
        model.scores[row].map_or(Value::Null, |score| json!(score.n_tokens))
    });
    let index = json!({
        "version": 2,
        "chunk": CHUNK,
        "top_k": TOP_K,
        "models": models,
        "languages": languages.names,
        "interventions": interventions.names,
        "mutations": mutations.names,
        "concept_kind": kind,
        "concepts": concept_names,
        "node_types": dictionaries.node_types.names,
        "categories": dictionaries.categories.names,
        "covariates": covariate_names,
        "rows": {
            "id": ids,
            "lang": language,
            "cov": covariates,
            "con": present,
        },
        "entries": {
            "row": entry_row,
            "iv": entry_intervention,
            "pair": entry_pair,
            "tr": entry_treatment,
            "mut": entry_mutation,
        },
        "loss": loss,
        "acc": accuracy,
        "ntok": n_tokens,
        "warnings": warnings,
        "bound": {
            "max_mb": bound.max_bytes as f64 / 1e6,
            "topk_dropped": bound.topk_dropped,
            "sampled": bound.sampled,
        },
    });
    let mut text = String::new();
    let _ = write!(text, "{index}");
    text
}
