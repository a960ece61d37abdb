//! The token files of the explorer, `explorer/t_M_K.js`: one model's `tags.parquet` streamed one
//! row group at a time (and, when the model folder has it, `tokens.parquet` beside it for each
//! token's rank, entropy and top-k), written block by block.
//!
//! One row of a block is compact columns, one value per scored token, decoded by
//! `assets/explorer.js`:
//!
//! ```text
//! g  bytes between the previous token's end and this token's start (null: no byte span)
//! l  the token's length in bytes (its text is the code's bytes there)
//! p  round(-100 ln p): the negative log-probability in centinats
//! n  node type (index into the index's node_types; -1: none)
//! c  category (index into categories; -1: none)
//! k  rank (1 = argmax), h  round(100 x entropy)        only with tokens.parquet
//! t  TOP_K alternatives per token, indices into the statement's string table `s` (-1: none)
//! x  {i: text} for tokens without a byte span
//! ```

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::Result;
use icodegen_artifacts::schemas::{tags, tokens};
use icodegen_artifacts::{Artifact, ArtifactReader};

use super::{CHUNK, Dictionary, Order, TOP_K};
use crate::study::Study;
use crate::study::inputs::Model;

/// Node types and categories over every model.
#[derive(Default)]
pub(crate) struct Dictionaries {
    pub node_types: Dictionary,
    pub categories: Dictionary,
}

/// What one model's token files hold.
pub(crate) struct ModelTokens {
    /// Rows with tokens.
    pub rows: usize,
    /// Whether ranks, entropies and top-k came with them.
    pub ranks: bool,
    /// The blocks that have a token file, ascending.
    pub blocks: Vec<usize>,
    pub warning: Option<String>,
}

/// An artifact read as consecutive groups of rows of one `row_id`.
struct Groups<A: Artifact> {
    reader: ArtifactReader<A>,
    batch: std::vec::IntoIter<A>,
    peeked: Option<A>,
    key: fn(&A) -> &str,
}

impl<A: Artifact> Groups<A> {
    fn open(path: &Path, key: fn(&A) -> &str) -> Result<Self> {
        Ok(Self {
            reader: ArtifactReader::open(path)?,
            batch: Vec::new().into_iter(),
            peeked: None,
            key,
        })
    }

    fn next_item(&mut self) -> Result<Option<A>> {
        if let Some(item) = self.peeked.take() {
            return Ok(Some(item));
        }
        loop {
            if let Some(item) = self.batch.next() {
                return Ok(Some(item));
            }
            match self.reader.next() {
                None => return Ok(None),
                Some(batch) => self.batch = batch?.into_iter(),
            }
        }
    }

    fn next_group(&mut self) -> Result<Option<Vec<A>>> {
        let Some(first) = self.next_item()? else {
            return Ok(None);
        };
        let mut group = vec![first];
        while let Some(item) = self.next_item()? {
            if (self.key)(&item) == (self.key)(&group[0]) {
                group.push(item);
            } else {
                self.peeked = Some(item);
                break;
            }
        }
        Ok(Some(group))
    }
}

/// Rank, entropy and top-k of one token.
struct Extra {
    rank: i32,
    entropy: f32,
    topk: Vec<i32>,
}

/// `tokens.parquet` read beside `tags.parquet`: both are in canonical order (row_id, then
/// position), so a merge needs one row group of each at a time.
struct Ranks {
    groups: Groups<tokens::Row>,
    current: Option<Vec<tokens::Row>>,
    /// token id -> its text, from every token the model scored
    vocabulary: HashMap<i32, String>,
    last: String,
}

impl Ranks {
    fn open(path: &Path) -> Result<Self> {
        // First pass: the text of every token id that occurs (top-k ids are ids).
        let mut vocabulary = HashMap::new();
        for batch in ArtifactReader::<tokens::Row>::open(path)? {
            for row in batch? {
                vocabulary.entry(row.token_id).or_insert(row.token);
            }
        }
        let mut groups = Groups::open(path, |row: &tokens::Row| row.row_id.as_str())?;
        let current = groups.next_group()?;
        Ok(Self {
            groups,
            current,
            vocabulary,
            last: String::new(),
        })
    }

    /// The extras of `row_id`'s tokens by position; `Err` when the file is not in row order.
    fn of(&mut self, row_id: &str) -> Result<HashMap<i32, Extra>, String> {
        loop {
            let Some(group) = &self.current else {
                return Ok(HashMap::new());
            };
            let id = group[0].row_id.as_str();
            if id < self.last.as_str() {
                return Err("tokens.parquet is not ordered by row_id".into());
            }
            if id > row_id {
                return Ok(HashMap::new());
            }
            let found = id == row_id;
            let group = self.current.take().unwrap_or_default();
            self.last = group[0].row_id.clone();
            self.current = self
                .groups
                .next_group()
                .map_err(|error| error.to_string())?;
            if found {
                return Ok(group
                    .into_iter()
                    .map(|row| {
                        (
                            row.position,
                            Extra {
                                rank: row.rank,
                                entropy: row.entropy,
                                topk: row.topk_ids,
                            },
                        )
                    })
                    .collect());
            }
        }
    }
}

/// One statement of a token file being assembled: the rows of one block.
#[derive(Default)]
struct Statement {
    block: Option<usize>,
    strings: Dictionary,
    rows: String,
}

fn list(out: &mut String, name: &str, values: impl IntoIterator<Item = String>) {
    let _ = write!(out, "\"{name}\":[");
    for (i, value) in values.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&value);
    }
    out.push(']');
}

impl Statement {
    /// Appends `ICX.t(M,K,{...});` to `t_M_K.js` and starts empty.
    fn flush(&mut self, data: &Path, model: usize) -> Result<()> {
        if let Some(block) = self.block.take() {
            let mut file = fs_err::OpenOptions::new()
                .create(true)
                .append(true)
                .open(data.join(format!("t_{model}_{block}.js")))?;
            let strings = serde_json::to_string(&self.strings.names)?;
            writeln!(
                file,
                "ICX.t({model},{block},{{\"s\":{strings},\"r\":{{{}}}}});",
                self.rows
            )?;
        }
        *self = Self::default();
        Ok(())
    }

    fn add_row(
        &mut self,
        explorer_row: usize,
        tags: &[tags::Row],
        extras: &HashMap<i32, Extra>,
        vocabulary: &HashMap<i32, String>,
        dictionaries: &mut Dictionaries,
    ) {
        let mut gaps = Vec::with_capacity(tags.len());
        let mut lengths = Vec::with_capacity(tags.len());
        let mut logprobs = Vec::with_capacity(tags.len());
        let mut node_types = Vec::with_capacity(tags.len());
        let mut categories = Vec::with_capacity(tags.len());
        let mut ranks = Vec::new();
        let mut entropies = Vec::new();
        let mut topk = Vec::new();
        let mut texts = Vec::new();
        let mut end = 0i64;
        for (i, tag) in tags.iter().enumerate() {
            match (tag.byte_start, tag.byte_end) {
                (Some(start), Some(stop)) => {
                    gaps.push((i64::from(start) - end).to_string());
                    lengths.push((i64::from(stop) - i64::from(start)).to_string());
                    end = i64::from(stop);
                }
                _ => {
                    gaps.push("null".into());
                    lengths.push("0".into());
                    texts.push(format!(
                        "\"{i}\":{}",
                        serde_json::to_string(&tag.token).unwrap_or_default()
                    ));
                }
            }
            let logprob = f64::from(tag.logprob);
            logprobs.push(if logprob.is_finite() {
                ((-logprob * 100.0).round().max(0.0) as i64).to_string()
            } else {
                "null".into()
            });
            node_types.push(tag.node_type.as_deref().map_or("-1".into(), |name| {
                dictionaries.node_types.id(name).to_string()
            }));
            categories.push(tag.category.as_deref().map_or("-1".into(), |name| {
                dictionaries.categories.id(name).to_string()
            }));
            if !extras.is_empty() {
                match extras.get(&tag.position) {
                    Some(extra) => {
                        ranks.push(extra.rank.to_string());
                        entropies.push(
                            (f64::from(extra.entropy) * 100.0)
                                .round()
                                .max(0.0)
                                .to_string(),
                        );
                        for k in 0..TOP_K {
                            let id = extra.topk.get(k).map_or(-1, |&id| {
                                let text = vocabulary
                                    .get(&id)
                                    .cloned()
                                    .unwrap_or_else(|| format!("#{id}"));
                                self.strings.id(&text) as i64
                            });
                            topk.push(id.to_string());
                        }
                    }
                    None => {
                        ranks.push("null".into());
                        entropies.push("null".into());
                        topk.extend(std::iter::repeat_n("-1".to_string(), TOP_K));
                    }
                }
            }
        }
        let out = &mut self.rows;
        if !out.is_empty() {
            out.push(',');
        }
        let _ = write!(out, "\"{explorer_row}\":{{");
        list(out, "g", gaps);
        out.push(',');
        list(out, "l", lengths);
        out.push(',');
        list(out, "p", logprobs);
        out.push(',');
        list(out, "n", node_types);
        out.push(',');
        list(out, "c", categories);
        if !extras.is_empty() {
            out.push(',');
            list(out, "k", ranks);
            out.push(',');
            list(out, "h", entropies);
            out.push(',');
            list(out, "t", topk);
        }
        if !texts.is_empty() {
            let _ = write!(out, ",\"x\":{{{}}}", texts.join(","));
        }
        out.push('}');
    }
}

/// Streams model `index`'s tags (and tokens) into `t_<index>_K.js` files.
pub(crate) fn write_model(
    study: &Study,
    order: &Order,
    index: usize,
    model: &Model,
    data: &Path,
    dictionaries: &mut Dictionaries,
) -> Result<ModelTokens> {
    let mut written = ModelTokens {
        rows: 0,
        ranks: false,
        blocks: Vec::new(),
        warning: None,
    };
    let Some(tags_path) = &model.tags else {
        return Ok(written);
    };
    let tokens_path = model.dir.join("tokens.parquet");
    let mut ranks = if tokens_path.is_file() {
        Some(Ranks::open(&tokens_path)?)
    } else {
        None
    };
    written.ranks = ranks.is_some();
    let mut groups = Groups::open(tags_path, |row: &tags::Row| row.row_id.as_str())?;
    let mut statement = Statement::default();
    let mut last = String::new();
    while let Some(mut group) = groups.next_group()? {
        let row_id = group[0].row_id.clone();
        let Some(&row) = study.testbed.index.get(&row_id) else {
            continue; // read_model checked scores and concepts; tags of another row are ignored
        };
        group.sort_by_key(|tag| tag.position);
        let mut extras = HashMap::new();
        if let Some(source) = &mut ranks {
            let result = if row_id < last {
                Err("tags.parquet is not ordered by row_id".to_owned())
            } else {
                source.of(&row_id)
            };
            match result {
                Ok(found) => extras = found,
                Err(problem) => {
                    written.warning = Some(format!(
                        "model `{}`: {problem}; the explorer shows no rank, entropy or top-k for it",
                        model.model_id
                    ));
                    written.ranks = false;
                    ranks = None;
                }
            }
        }
        last = row_id;
        let explorer_row = order.position[row];
        let block = explorer_row / CHUNK;
        if statement.block != Some(block) {
            statement.flush(data, index)?;
            statement.block = Some(block);
            if !written.blocks.contains(&block) {
                written.blocks.push(block);
            }
        }
        let vocabulary = ranks.as_ref().map(|ranks| &ranks.vocabulary);
        let empty = HashMap::new();
        statement.add_row(
            explorer_row,
            &group,
            &extras,
            vocabulary.unwrap_or(&empty),
            dictionaries,
        );
        written.rows += 1;
    }
    statement.flush(data, index)?;
    written.blocks.sort_unstable();
    Ok(written)
}
