//! The parallel part of ingest: turning [`Work`] (a file's bytes, a row's code, a pair) into
//! candidate [`Unit`]s with their split and MinHash signatures, or into skips. Pure functions
//! of their input and the settings, so batches can run on any thread in any order and the
//! result is still deterministic.

use icodegen_artifacts::Covariates;
use icodegen_artifacts::schemas::snippets;
use icodegen_lang::{Language, Parsers, Snippet, covariates};

use crate::config::{Filters, Split, SplitRatios};
use crate::dedup::{MinHasher, id_key};
use crate::extract;
use crate::report::{Reason, Skip};
use icodegen_artifacts::vocab::SnippetSource;

/// Where a piece of work came from.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The `source` column.
    pub source: SnippetSource,
    pub repo: Option<String>,
    pub path: Option<String>,
    /// A split imposed by the source (its params, or CodeSearchNet's partition).
    pub forced_split: Option<Split>,
}

/// One snippet given as code (a JSONL or Parquet row, a pair member).
#[derive(Debug, Clone)]
pub struct RowInput {
    pub language: Language,
    pub code: String,
    pub name: Option<String>,
    pub docstring: Option<String>,
    /// `file:line` or `file:row N`.
    pub location: String,
    pub start_line: Option<usize>,
    pub end_line: Option<usize>,
}

/// A unit of parallel work.
#[derive(Debug)]
pub enum Work {
    /// A source file's bytes, to split into functions.
    File {
        origin: Origin,
        language: Language,
        /// The file as shown in the report (`tree/a.py`, `x.tar.gz!/pkg/a.py`).
        display: String,
        bytes: Vec<u8>,
    },
    Row {
        origin: Origin,
        row: RowInput,
    },
    Pair {
        origin: Origin,
        pair_id: Option<String>,
        /// (role, row): the roles are the column names.
        members: Box<[(String, RowInput); 2]>,
    },
}

impl Work {
    /// Bytes of code it carries (for batching).
    pub fn weight(&self) -> usize {
        match self {
            Work::File { bytes, .. } => bytes.len(),
            Work::Row { row, .. } => row.code.len(),
            Work::Pair { members, .. } => members.iter().map(|(_, row)| row.code.len()).sum(),
        }
    }
}

/// Where a unit's covariates come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CovariatesFrom {
    /// The parse of a row's code (JSONL, Parquet and pair rows have no file).
    RowParse,
    /// The function's subtree in the tree of its file: no second parse.
    FileTree,
    /// A function of a file parsed again alone, where the subtree was not known to give the
    /// same covariates ([`covariates::covariates_in_file`] declined).
    Reparse,
}

/// Snippets kept or dropped together (one snippet, or the two members of a pair).
#[derive(Debug)]
pub struct Unit {
    pub rows: Vec<snippets::Row>,
    pub covariates_from: CovariatesFrom,
    /// One MinHash signature per row (empty when near-duplicate removal is off).
    pub signatures: Vec<Vec<u32>>,
    pub split: Split,
    /// Key for exact-duplicate removal.
    pub key: u128,
    pub location: String,
}

/// What processing one piece of work produced.
#[derive(Debug)]
pub enum Outcome {
    Unit(Unit),
    Skip(Skip),
}

/// Settings every worker reads.
pub struct Context {
    pub filters: Filters,
    pub ratios: SplitRatios,
    pub seed: u64,
    pub hasher: Option<MinHasher>,
}

/// Parsers owned by one worker thread.
#[derive(Default)]
pub struct Workers {
    files: Vec<(Language, tree_sitter::Parser)>,
    snippets: Parsers,
}

impl Workers {
    fn file_parser(&mut self, language: Language) -> Option<&mut tree_sitter::Parser> {
        let index = match self.files.iter().position(|(known, _)| *known == language) {
            Some(index) => index,
            None => {
                self.files.push((language, language.file_parser().ok()?));
                self.files.len() - 1
            }
        };
        Some(&mut self.files[index].1)
    }
}

/// The split of `key`, drawn uniformly from the seed and the key.
pub fn split_of(key: &str, seed: u64, ratios: &SplitRatios) -> Split {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&seed.to_le_bytes());
    hasher.update(key.as_bytes());
    let hash = hasher.finalize();
    let bytes: [u8; 8] = hash.as_bytes()[..8].try_into().expect("8 bytes");
    let unit = (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64;
    if unit < ratios.train {
        Split::Train
    } else if unit < ratios.train + ratios.valid {
        Split::Valid
    } else {
        Split::Test
    }
}

/// The filters a snippet's text must pass (parse errors are checked separately).
pub fn check_text(code: &str, filters: &Filters) -> Option<Reason> {
    if code.trim().is_empty() {
        return Some(Reason::EmptyCode);
    }
    if code.len() < filters.min_bytes {
        return Some(Reason::TooSmall);
    }
    if code.len() > filters.max_bytes {
        return Some(Reason::TooLarge);
    }
    let mut lines = 0usize;
    for line in code.lines() {
        lines += 1;
        if line.len() > filters.max_line_bytes {
            return Some(Reason::LineTooLong);
        }
    }
    if lines < filters.min_lines {
        return Some(Reason::TooFewLines);
    }
    if lines > filters.max_lines {
        return Some(Reason::TooManyLines);
    }
    None
}

fn to_i32(value: Option<usize>) -> Option<i32> {
    value.and_then(|value| i32::try_from(value).ok())
}

fn row(
    origin: &Origin,
    language: Language,
    code: String,
    name: Option<String>,
    docstring: Option<String>,
    lines: (Option<usize>, Option<usize>),
    covariates: &Covariates,
) -> snippets::Row {
    let language_name = language.name();
    let mut row = snippets::Row {
        snippet_id: icodegen_artifacts::content_id(language_name, &code),
        language: language_name.to_owned(),
        n_bytes: code.len() as i64,
        code,
        docstring,
        source: origin.source.as_str().to_owned(),
        repo: origin.repo.clone(),
        path: origin.path.clone(),
        name,
        start_line: to_i32(lines.0),
        end_line: to_i32(lines.1),
        split: String::new(),
        pair_id: None,
        pair_role: None,
        ..snippets::Row::default()
    };
    row.set_covariates(covariates);
    row
}

fn finish_unit(
    context: &Context,
    covariates_from: CovariatesFrom,
    mut rows: Vec<snippets::Row>,
    split_key: &str,
    forced: Option<Split>,
    key: u128,
    location: String,
) -> Unit {
    let split = forced.unwrap_or_else(|| split_of(split_key, context.seed, &context.ratios));
    for row in &mut rows {
        row.split = split.as_str().to_owned();
    }
    let signatures = match &context.hasher {
        Some(hasher) => rows.iter().map(|row| hasher.signature(&row.code)).collect(),
        None => Vec::new(),
    };
    Unit {
        rows,
        covariates_from,
        signatures,
        split,
        key,
        location,
    }
}

/// Filters and parses one row's code; its covariates come from that one parse. `Err` is the
/// reason it is skipped.
fn check_row(
    workers: &mut Workers,
    context: &Context,
    input: &RowInput,
) -> Result<Covariates, Reason> {
    if let Some(reason) = check_text(&input.code, &context.filters) {
        return Err(reason);
    }
    let snippet = Snippet::parse(&mut workers.snippets, input.language, &input.code)
        .map_err(|_| Reason::ParseError)?;
    if snippet.error_count() > context.filters.max_error_nodes {
        return Err(Reason::ParseError);
    }
    Ok(covariates::covariates(&snippet))
}

/// Processes one piece of work.
pub fn process(workers: &mut Workers, context: &Context, work: Work) -> Vec<Outcome> {
    match work {
        Work::File {
            origin,
            language,
            display,
            bytes,
        } => process_file(workers, context, origin, language, &display, bytes),
        Work::Row { origin, row: input } => {
            let covariates = match check_row(workers, context, &input) {
                Ok(covariates) => covariates,
                Err(reason) => return vec![Outcome::Skip(Skip::new(reason, input.location))],
            };
            let row = row(
                &origin,
                input.language,
                input.code,
                input.name,
                input.docstring,
                (input.start_line, input.end_line),
                &covariates,
            );
            let id = row.snippet_id.clone();
            vec![Outcome::Unit(finish_unit(
                context,
                CovariatesFrom::RowParse,
                vec![row],
                &id,
                origin.forced_split,
                id_key(&id),
                input.location,
            ))]
        }
        Work::Pair {
            origin,
            pair_id,
            members,
        } => {
            let location = members[0].1.location.clone();
            if members[0].1.code == members[1].1.code {
                return vec![Outcome::Skip(
                    Skip::new(Reason::IdenticalPair, location).rows(2),
                )];
            }
            let mut member_covariates = [Covariates::default(); 2];
            for ((_, input), covariates) in members.iter().zip(&mut member_covariates) {
                match check_row(workers, context, input) {
                    Ok(found) => *covariates = found,
                    Err(reason) => {
                        return vec![Outcome::Skip(Skip::new(reason, location).rows(2))];
                    }
                }
            }
            let [first, second] = *members;
            let rows: Vec<snippets::Row> = [first, second]
                .into_iter()
                .zip(&member_covariates)
                .map(|((role, input), covariates)| {
                    let mut row = row(
                        &origin,
                        input.language,
                        input.code,
                        input.name,
                        input.docstring,
                        (None, None),
                        covariates,
                    );
                    row.pair_role = Some(role);
                    row
                })
                .collect();
            let pair_key = icodegen_artifacts::content_id(
                &rows[0].language,
                &format!("{}\0{}", rows[0].snippet_id, rows[1].snippet_id),
            );
            let pair_id = pair_id.unwrap_or_else(|| pair_key.clone());
            let rows = rows
                .into_iter()
                .map(|mut row| {
                    row.pair_id = Some(pair_id.clone());
                    row
                })
                .collect();
            vec![Outcome::Unit(finish_unit(
                context,
                CovariatesFrom::RowParse,
                rows,
                &pair_id,
                origin.forced_split,
                id_key(&pair_key),
                location,
            ))]
        }
    }
}

fn process_file(
    workers: &mut Workers,
    context: &Context,
    origin: Origin,
    language: Language,
    display: &str,
    mut bytes: Vec<u8>,
) -> Vec<Outcome> {
    let file_skip = |reason| vec![Outcome::Skip(Skip::new(reason, display.to_owned()))];
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return file_skip(Reason::EmptyFile);
    }
    if memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some() {
        return file_skip(Reason::BinaryFile);
    }
    let Ok(source) = String::from_utf8(bytes) else {
        return file_skip(Reason::InvalidUtf8File);
    };
    let Some(parser) = workers.file_parser(language) else {
        return file_skip(Reason::UnreadableFile);
    };
    parser.reset();
    let Some(tree) = parser.parse(&source, None) else {
        return file_skip(Reason::UnreadableFile);
    };
    let mut outcomes = Vec::new();
    for function in extract::functions(language, &tree, &source) {
        let location = format!("{display}:{}", function.start_line);
        if let Some(reason) = check_text(&function.code, &context.filters) {
            outcomes.push(Outcome::Skip(Skip::new(reason, location)));
            continue;
        }
        if function.errors > context.filters.max_error_nodes {
            outcomes.push(Outcome::Skip(Skip::new(Reason::ParseError, location)));
            continue;
        }
        // The covariates are those of the snippet alone (as it will be scored). They come from
        // the function's subtree in the file's tree where that is known to give the same
        // values, otherwise from one parse of the snippet; no later stage parses it again.
        let (covariates, covariates_from) = match covariates::covariates_in_file(
            language,
            &tree,
            function.node,
            &source,
            &function.code,
        ) {
            Some(covariates) => (covariates, CovariatesFrom::FileTree),
            None => {
                let Ok(snippet) = Snippet::parse(&mut workers.snippets, language, &function.code)
                else {
                    outcomes.push(Outcome::Skip(Skip::new(Reason::ParseError, location)));
                    continue;
                };
                (covariates::covariates(&snippet), CovariatesFrom::Reparse)
            }
        };
        let row = row(
            &origin,
            language,
            function.code,
            function.name,
            function.docstring,
            (Some(function.start_line), Some(function.end_line)),
            &covariates,
        );
        let id = row.snippet_id.clone();
        outcomes.push(Outcome::Unit(finish_unit(
            context,
            covariates_from,
            vec![row],
            &id,
            origin.forced_split,
            id_key(&id),
            location,
        )));
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_follow_the_ratios_and_the_seed() {
        let ratios = SplitRatios {
            train: 0.7,
            valid: 0.1,
            test: 0.2,
        };
        let mut counts = [0usize; 3];
        for index in 0..10_000 {
            match split_of(&index.to_string(), 3, &ratios) {
                Split::Train => counts[0] += 1,
                Split::Valid => counts[1] += 1,
                Split::Test => counts[2] += 1,
            }
        }
        assert!((6_700..7_300).contains(&counts[0]), "{counts:?}");
        assert!((800..1_200).contains(&counts[1]), "{counts:?}");
        assert!((1_800..2_200).contains(&counts[2]), "{counts:?}");
        assert_eq!(split_of("x", 3, &ratios), split_of("x", 3, &ratios));
        let moved = (0..200)
            .filter(|index| {
                split_of(&index.to_string(), 3, &ratios) != split_of(&index.to_string(), 4, &ratios)
            })
            .count();
        assert!(moved > 20, "another seed gives another split");
    }

    #[test]
    fn text_filters_name_their_reason() {
        let filters = Filters {
            max_line_bytes: 10,
            ..Filters::default()
        };
        assert_eq!(check_text("   \n", &filters), Some(Reason::EmptyCode));
        assert_eq!(check_text("x=1", &filters), Some(Reason::TooSmall));
        assert_eq!(
            check_text("def f(): return 12345", &filters),
            Some(Reason::LineTooLong)
        );
        assert_eq!(check_text("def f():\n  return 1\n", &filters), None);
    }
}
