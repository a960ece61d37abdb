//! The token files of the explorer: one model's `tags.parquet` streamed one row group at a time
//! (and, when the model folder has it, `tokens.parquet` beside it for each token's rank, entropy
//! and top-k), written block by block.
//!
//! Each row is one line of its block's file, `"<explorer row>":DATA,`. A row's token layout
//! (spans, node types, categories) is the same for every model of one tokenizer, so it is
//! written once per distinct layout in `l_K.js`, and a model's row is `[layout index, values]`;
//! both are base-64 strings of bytes decoded by `assets/tokens.js` (varint: 7 bits a byte, low
//! first):
//!
//! ```text
//! l_K.js    ICX.l(K,{row: [layout, ...]}), a layout a string (or [string, {i: text}] when
//!           some tokens have no byte span); per token:
//!   span   varint: 0 = no byte span (text in the map), else gap + 1, then varint length
//!          (the gap is the bytes between the previous token's end and this token's start)
//!   n, c   varint node type + 1, varint category + 1 (ids into the index's dictionaries)
//! t_M_K.js  ICX.t(M,K,{row: [layout index, values]}), values: a header byte (1: ranks
//!           follow), then per token:
//!   p      byte: round(48 sqrt(-ln p)), 255 = none  (p within 5% down to p = 0.001)
//!   rank   varint (0 = none), entropy byte round(20 h) (255 = none)   only with tokens.parquet
//! k_M_K.js  ICX.k(M,K,{...}): TOP_K varints per token, vocabulary id + 1 (0 = none)
//! v_M.js    ICX.v(M,[...]): the model's vocabulary of top-k tokens, most frequent first
//! ```
//!
//! About 3 bytes a token and model (4 characters in base 64), 4 a token for each distinct layout
//! and 4 more a token for the top-k, against 30 for JSON lists; top-k lives in its own files so
//! that the size bound can drop it whole.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::Path;

use anyhow::Result;
use icodegen_artifacts::schemas::{tags, tokens};
use icodegen_artifacts::{Artifact, ArtifactReader};

use super::{CHUNK, Dictionary, Order, TOP_K};
use crate::study::Study;
use crate::study::inputs::Model;

/// Node types and categories over every model, and the rows' token layouts.
#[derive(Default)]
pub(crate) struct Dictionaries {
    pub node_types: Dictionary,
    pub categories: Dictionary,
    /// explorer row -> its distinct layouts (`l_K.js` entries), shared by the models
    pub layouts: BTreeMap<usize, Vec<String>>,
}

/// What one model's token files hold.
pub(crate) struct ModelTokens {
    /// Rows with tokens.
    pub rows: usize,
    /// Whether ranks and entropies came with them.
    pub ranks: bool,
    /// Whether its top-k files are there (`k_M_K.js`, `v_M.js`).
    pub topk: bool,
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
    /// token id -> its id in the model's top-k vocabulary (most frequent first)
    dense: HashMap<i32, usize>,
    /// the texts of the vocabulary, by dense id
    texts: Vec<String>,
    last: String,
}

impl Ranks {
    fn open(path: &Path) -> Result<Self> {
        // First pass: the text of every token id that occurs and how often each is a top-k id.
        let mut text_of = HashMap::new();
        let mut counts: HashMap<i32, u64> = HashMap::new();
        for batch in ArtifactReader::<tokens::Row>::open(path)? {
            for row in batch? {
                for &id in row.topk_ids.iter().take(TOP_K) {
                    *counts.entry(id).or_default() += 1;
                }
                text_of.entry(row.token_id).or_insert(row.token);
            }
        }
        let mut order: Vec<(i32, u64)> = counts.into_iter().collect();
        order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let dense = order
            .iter()
            .enumerate()
            .map(|(dense, &(id, _))| (id, dense))
            .collect();
        let texts = order
            .iter()
            .map(|(id, _)| text_of.get(id).cloned().unwrap_or_else(|| format!("#{id}")))
            .collect();
        let mut groups = Groups::open(path, |row: &tokens::Row| row.row_id.as_str())?;
        let current = groups.next_group()?;
        Ok(Self {
            groups,
            current,
            dense,
            texts,
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

/// Appends `value` as a varint (7 bits a byte, low first).
pub(crate) fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A probability's byte: round(48 sqrt(-ln p)), 254 at most; 255 = none.
pub(crate) fn probability_byte(logprob: f64) -> u8 {
    if logprob.is_finite() {
        ((-logprob).max(0.0).sqrt() * 48.0).round().min(254.0) as u8
    } else {
        255
    }
}

/// An entropy's byte: round(20 h), 254 at most; 255 = none.
fn entropy_byte(entropy: f64) -> u8 {
    if entropy.is_finite() {
        (entropy.max(0.0) * 20.0).round().min(254.0) as u8
    } else {
        255
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base 64 with padding (what the browser's `atob` reads).
pub(crate) fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The lines of one block's files being assembled.
#[derive(Default)]
struct Statement {
    block: Option<usize>,
    rows: Vec<String>,
    topk: Vec<String>,
}

/// Appends `ICX.CALL(ARGS,{` + one line per row (each ending with a comma) + `});` to `path`.
fn write_lines(path: &Path, call: &str, args: &str, lines: &[String]) -> Result<()> {
    let mut text = format!("ICX.{call}({args},{{\n");
    for line in lines {
        text.push_str(line);
        text.push_str(",\n");
    }
    text.push_str("});\n");
    let mut file = fs_err::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

impl Statement {
    /// Writes the block's `t_M_K.js` (and `k_M_K.js`) and starts empty.
    fn flush(&mut self, data: &Path, model: usize) -> Result<()> {
        if let Some(block) = self.block.take() {
            let path = data.join(format!("t_{model}_{block}.js"));
            write_lines(&path, "t", &format!("{model},{block}"), &self.rows)?;
            if !self.topk.is_empty() {
                let path = data.join(format!("k_{model}_{block}.js"));
                write_lines(&path, "k", &format!("{model},{block}"), &self.topk)?;
            }
        }
        *self = Self::default();
        Ok(())
    }

    fn add_row(
        &mut self,
        explorer_row: usize,
        tags: &[tags::Row],
        extras: &HashMap<i32, Extra>,
        dense: &HashMap<i32, usize>,
        dictionaries: &mut Dictionaries,
    ) {
        // The layout (spans, node types, categories, texts without a span), shared by the
        // models that tokenize the row alike; the values, a header byte (1: rank and entropy
        // follow each token's probability) then per token.
        let mut layout = Vec::with_capacity(tags.len() * 4);
        let mut bytes = Vec::with_capacity(tags.len() * 3 + 1);
        bytes.push(u8::from(!extras.is_empty()));
        let mut topk = Vec::new();
        let mut texts = serde_json::Map::new();
        let mut end = 0i64;
        for (i, tag) in tags.iter().enumerate() {
            match (tag.byte_start, tag.byte_end) {
                (Some(start), Some(stop)) if i64::from(start) >= end && stop >= start => {
                    varint(&mut layout, (i64::from(start) - end) as u64 + 1);
                    varint(&mut layout, (stop - start) as u64);
                    end = i64::from(stop);
                }
                _ => {
                    varint(&mut layout, 0);
                    texts.insert(i.to_string(), tag.token.clone().into());
                }
            }
            let node_type = tag
                .node_type
                .as_deref()
                .map_or(0, |name| dictionaries.node_types.id(name) + 1);
            varint(&mut layout, node_type as u64);
            let category = tag
                .category
                .as_deref()
                .map_or(0, |name| dictionaries.categories.id(name) + 1);
            varint(&mut layout, category as u64);
            bytes.push(probability_byte(f64::from(tag.logprob)));
            if !extras.is_empty() {
                match extras.get(&tag.position) {
                    Some(extra) => {
                        varint(&mut bytes, extra.rank.max(0) as u64);
                        bytes.push(entropy_byte(f64::from(extra.entropy)));
                        for k in 0..TOP_K {
                            let id = extra
                                .topk
                                .get(k)
                                .and_then(|id| dense.get(id))
                                .map_or(0, |&dense| dense as u64 + 1);
                            varint(&mut topk, id);
                        }
                    }
                    None => {
                        bytes.extend([0, 255]);
                        topk.extend([0; TOP_K]);
                    }
                }
            }
        }
        let encoded = base64(&layout);
        let layout = if texts.is_empty() {
            format!("\"{encoded}\"")
        } else {
            format!("[\"{encoded}\",{}]", serde_json::Value::Object(texts))
        };
        let layouts = dictionaries.layouts.entry(explorer_row).or_default();
        let id = layouts
            .iter()
            .position(|known| *known == layout)
            .unwrap_or_else(|| {
                layouts.push(layout);
                layouts.len() - 1
            });
        self.rows
            .push(format!("\"{explorer_row}\":[{id},\"{}\"]", base64(&bytes)));
        if !extras.is_empty() {
            self.topk
                .push(format!("\"{explorer_row}\":\"{}\"", base64(&topk)));
        }
    }
}

/// Writes `l_K.js`: each row's distinct layouts, which the models' token rows refer to.
pub(crate) fn write_layouts(data: &Path, layouts: &BTreeMap<usize, Vec<String>>) -> Result<()> {
    let flush = |block: usize, lines: &[String]| {
        write_lines(
            &data.join(format!("l_{block}.js")),
            "l",
            &block.to_string(),
            lines,
        )
    };
    let mut block = None;
    let mut lines = Vec::new();
    for (&row, entries) in layouts {
        if block != Some(row / CHUNK) {
            if let Some(block) = block {
                flush(block, &lines)?;
            }
            block = Some(row / CHUNK);
            lines.clear();
        }
        lines.push(format!("\"{row}\":[{}]", entries.join(",")));
    }
    if let Some(block) = block {
        flush(block, &lines)?;
    }
    Ok(())
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
        topk: false,
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
        let empty = HashMap::new();
        let dense = ranks.as_ref().map_or(&empty, |ranks| &ranks.dense);
        statement.add_row(explorer_row, &group, &extras, dense, dictionaries);
        written.rows += 1;
    }
    statement.flush(data, index)?;
    written.blocks.sort_unstable();
    written.topk = written.ranks;
    if let Some(ranks) = &ranks {
        fs_err::write(
            data.join(format!("v_{index}.js")),
            format!("ICX.v({index},{});\n", serde_json::to_string(&ranks.texts)?),
        )?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_the_standard_alphabet_with_padding() {
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
        assert_eq!(base64(b""), "");
    }

    #[test]
    fn varints_are_seven_bits_a_byte_low_first() {
        let mut out = Vec::new();
        varint(&mut out, 0);
        varint(&mut out, 127);
        varint(&mut out, 300);
        assert_eq!(out, [0, 127, 0xac, 0x02]);
    }

    #[test]
    fn a_probability_byte_keeps_p_within_five_percent_down_to_a_thousandth() {
        for p in [0.999, 0.9, 0.5, 0.1, 0.01, 0.001, 1e-6] {
            let byte = probability_byte(f64::ln(p));
            let back = (-(f64::from(byte) / 48.0).powi(2)).exp();
            let error = (back / p - 1.0).abs();
            assert!(error < if p >= 0.001 { 0.05 } else { 0.09 }, "{p}: {back}");
        }
        assert_eq!(probability_byte(f64::NEG_INFINITY), 255);
        assert_eq!(probability_byte(f64::ln(1e-30)), 254);
    }
}
