//! The report's size bound (`report_max_mb`): when the report folder would exceed it, the
//! explorer's token data gives way, in this order:
//!
//! 1. every model's top-k alternatives (`k_M_K.js`, `v_M.js`) are removed;
//! 2. the token views of a deterministic sample of snippets are kept: rows joined by an
//!    intervention pair form one snippet, kept when the hash of its smallest `row_id` falls
//!    below the kept fraction, so a pair is kept or dropped whole and a row's fate does not
//!    depend on the models. The fraction shrinks until the folder fits.
//!
//! The row table (`index.js`) and the code (`c_K.js`) are never cut. The explorer states what was
//! dropped (the index's `bound` and a warning).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::Order;
use super::tokens::ModelTokens;
use crate::study::Study;

/// Bytes kept free for what the study writes after the explorer (`summary.md`, `study.json`).
pub const RESERVE: u64 = 2_000_000;

/// What the bound removed.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Bound {
    /// The bound in bytes.
    pub max_bytes: u64,
    /// The report's size before anything was removed (with `extra`).
    pub full_bytes: u64,
    /// Whether every model's top-k was removed.
    pub topk_dropped: bool,
    /// The fraction of snippets whose token views are kept, when sampled.
    pub sampled: Option<f64>,
    /// The testbed's snippets (rows joined by intervention pairs).
    pub snippets: usize,
    /// The snippets whose token views are kept (all of them unless sampled).
    pub kept_snippets: usize,
}

impl Bound {
    /// What the report says next to the explorer link: what the bound left out, if anything.
    pub fn note(&self) -> String {
        let mb = self.max_bytes as f64 / 1e6;
        match (self.topk_dropped, self.sampled) {
            (false, None) => "all token views kept".to_owned(),
            (true, None) => {
                format!("all token views kept; top-k dropped to stay under {mb:.0} MB")
            }
            (_, Some(_)) => format!(
                "token views kept for {} of {} snippets; top-k dropped to stay under {mb:.0} MB",
                self.kept_snippets, self.snippets
            ),
        }
    }

    /// The explorer's warning, when something was removed.
    pub fn warning(&self) -> Option<String> {
        let mb = |bytes: u64| bytes as f64 / 1e6;
        let what = match (self.topk_dropped, self.sampled) {
            (false, None) => return None,
            (true, None) => "the top-k alternatives of every model are left out".to_owned(),
            (_, Some(fraction)) => format!(
                "the top-k alternatives are left out, and token views are kept for a deterministic \
                 {:.0}% of snippets (pairs whole); the row table lists every row",
                100.0 * fraction
            ),
        };
        Some(format!(
            "the report would be {:.0} MB, over its bound of {:.0} MB (report_max_mb): {what}",
            mb(self.full_bytes),
            mb(self.max_bytes)
        ))
    }
}

fn folder_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let metadata = entry.metadata()?;
        total += if metadata.is_dir() {
            folder_bytes(&entry.path())?
        } else {
            metadata.len()
        };
    }
    Ok(total)
}

/// The files of `data` whose names start with `prefix`, with their sizes.
fn files(data: &Path, prefix: &str) -> Result<Vec<(PathBuf, u64)>> {
    let mut out = Vec::new();
    for entry in fs_err::read_dir(data)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(prefix) {
            out.push((entry.path(), entry.metadata()?.len()));
        }
    }
    out.sort();
    Ok(out)
}

/// The snippets of the explorer's rows (rows joined by intervention pairs).
struct Snippets {
    /// Per explorer row: its snippet's position in [0, 1), from the hash of the snippet's
    /// smallest `row_id`.
    positions: Vec<f64>,
    /// Per explorer row: its snippet (the testbed row index of that smallest `row_id`).
    roots: Vec<usize>,
}

impl Snippets {
    fn new(study: &Study, order: &Order) -> Self {
        let rows = &study.testbed.rows;
        let mut parent: Vec<usize> = (0..rows.len()).collect();
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        let mut first: HashMap<(&str, &str), usize> = HashMap::new();
        for entry in &study.testbed.entries {
            let key = (entry.intervention.as_str(), entry.pair_id.as_str());
            let other = *first.entry(key).or_insert(entry.row);
            let (a, b) = (root(&mut parent, other), root(&mut parent, entry.row));
            // The root is the smallest row_id of the snippet.
            if rows[a].row_id <= rows[b].row_id {
                parent[b] = a;
            } else {
                parent[a] = b;
            }
        }
        let roots: Vec<usize> = order
            .rows
            .iter()
            .map(|&row| root(&mut parent, row))
            .collect();
        let positions = roots
            .iter()
            .map(|&smallest| {
                let hash = blake3::hash(rows[smallest].row_id.as_bytes());
                let bytes: [u8; 8] = hash.as_bytes()[..8].try_into().unwrap_or([0; 8]);
                u64::from_le_bytes(bytes) as f64 / 2f64.powi(64)
            })
            .collect();
        Self { positions, roots }
    }

    /// The number of snippets whose position falls below `fraction`.
    fn below(&self, fraction: f64) -> usize {
        self.roots
            .iter()
            .zip(&self.positions)
            .filter(|(_, at)| **at < fraction)
            .map(|(root, _)| root)
            .collect::<std::collections::HashSet<_>>()
            .len()
    }
}

/// Keeps the row lines of `path` whose explorer row is kept; returns the new size.
fn filter(path: &Path, keep: &dyn Fn(usize) -> bool) -> Result<u64> {
    let text = fs_err::read_to_string(path)?;
    let mut out = String::with_capacity(text.len());
    let mut rows = 0;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix('"') {
            let row = rest[..rest.find('"').unwrap_or(0)].parse().unwrap_or(0);
            if !keep(row) {
                continue;
            }
            rows += 1;
        }
        out.push_str(line);
        out.push('\n');
    }
    if rows == 0 {
        fs_err::remove_file(path)?;
        return Ok(0);
    }
    fs_err::write(path, &out)?;
    Ok(out.len() as u64)
}

/// Applies the bound to the report folder `dir` (explorer data in `data`), where `extra` bytes
/// are still to be written besides [`RESERVE`]; updates the models' blocks and rows.
pub(crate) fn apply(
    study: &Study,
    order: &Order,
    dir: &Path,
    data: &Path,
    extra: u64,
    models: &mut [ModelTokens],
) -> Result<Bound> {
    let max_bytes = (study.params.report_max_mb * 1e6) as u64;
    let size = || -> Result<u64> { Ok(folder_bytes(dir)? + extra + RESERVE) };
    let mut bound = Bound {
        max_bytes,
        full_bytes: size()?,
        ..Bound::default()
    };
    let snippets = Snippets::new(study, order);
    bound.snippets = snippets.below(f64::INFINITY);
    bound.kept_snippets = bound.snippets;
    if bound.full_bytes <= max_bytes {
        return Ok(bound);
    }
    for prefix in ["k_", "v_"] {
        for (path, _) in files(data, prefix)? {
            fs_err::remove_file(path)?;
        }
    }
    bound.topk_dropped = true;
    for model in models.iter_mut() {
        model.topk = false;
    }
    let total = size()?;
    if total <= max_bytes {
        return Ok(bound);
    }
    let mut token_files = files(data, "t_")?;
    token_files.extend(files(data, "l_")?);
    let tokens: u64 = token_files.iter().map(|(_, bytes)| bytes).sum();
    let others = total - tokens;
    let positions = &snippets.positions;
    let mut fraction = 1.0;
    let mut tokens = tokens;
    for _ in 0..10 {
        if others + tokens <= max_bytes {
            break;
        }
        fraction = if others >= max_bytes || tokens == 0 {
            0.0
        } else {
            fraction * 0.97 * (max_bytes - others) as f64 / tokens as f64
        };
        let keep = |row: usize| positions.get(row).is_some_and(|&at| at < fraction);
        tokens = 0;
        for (path, bytes) in &mut token_files {
            if *bytes > 0 {
                *bytes = filter(path, &keep)?;
                tokens += *bytes;
            }
        }
    }
    bound.sampled = Some(fraction);
    bound.kept_snippets = snippets.below(fraction);
    for (m, model) in models.iter_mut().enumerate() {
        model.blocks.retain(|block| {
            token_files
                .iter()
                .any(|(path, bytes)| *bytes > 0 && path.ends_with(format!("t_{m}_{block}.js")))
        });
        if model.blocks.is_empty() {
            model.rows = 0;
        }
    }
    Ok(bound)
}
