//! `ingest_report.json`: what was read, kept and skipped (by reason, with the first few
//! examples as `file:line`). Invariant: `rows.read = rows.kept + rows.skipped`, and the
//! per-reason row counts add up to `rows.skipped`.

use std::collections::BTreeMap;

use serde::Serialize;

/// How many examples are kept per reason.
pub const EXAMPLES_PER_REASON: usize = 5;

/// Whether a skip concerns a whole file or one row (snippet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    File,
    Row,
}

/// Why something was skipped. The names are stable: they are the report's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    // files
    EmptyFile,
    BinaryFile,
    InvalidUtf8File,
    FileTooLarge,
    UnsafeArchivePath,
    SymlinkLoop,
    UnreadableFile,
    // rows
    MalformedJson,
    InvalidUtf8,
    MissingCode,
    UnknownLanguage,
    LanguageNotSelected,
    EmptyCode,
    TooSmall,
    TooLarge,
    TooFewLines,
    TooManyLines,
    LineTooLong,
    ParseError,
    IdenticalPair,
    ExactDuplicate,
    NearDuplicate,
}

impl Reason {
    pub fn name(self) -> &'static str {
        match self {
            Reason::EmptyFile => "empty_file",
            Reason::BinaryFile => "binary_file",
            Reason::InvalidUtf8File => "invalid_utf8_file",
            Reason::FileTooLarge => "file_too_large",
            Reason::UnsafeArchivePath => "unsafe_archive_path",
            Reason::SymlinkLoop => "symlink_loop",
            Reason::UnreadableFile => "unreadable_file",
            Reason::MalformedJson => "malformed_json",
            Reason::InvalidUtf8 => "invalid_utf8",
            Reason::MissingCode => "missing_code",
            Reason::UnknownLanguage => "unknown_language",
            Reason::LanguageNotSelected => "language_not_selected",
            Reason::EmptyCode => "empty_code",
            Reason::TooSmall => "too_small",
            Reason::TooLarge => "too_large",
            Reason::TooFewLines => "too_few_lines",
            Reason::TooManyLines => "too_many_lines",
            Reason::LineTooLong => "line_too_long",
            Reason::ParseError => "parse_error",
            Reason::IdenticalPair => "identical_pair",
            Reason::ExactDuplicate => "exact_duplicate",
            Reason::NearDuplicate => "near_duplicate",
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Reason::EmptyFile
            | Reason::BinaryFile
            | Reason::InvalidUtf8File
            | Reason::FileTooLarge
            | Reason::UnsafeArchivePath
            | Reason::SymlinkLoop
            | Reason::UnreadableFile => Unit::File,
            _ => Unit::Row,
        }
    }
}

/// One skip: the reason, where (`file:line` or `file`), and how many rows it covers (2 for
/// a pair).
#[derive(Debug, Clone)]
pub struct Skip {
    pub reason: Reason,
    pub location: String,
    pub rows: u64,
}

impl Skip {
    pub fn new(reason: Reason, location: impl Into<String>) -> Self {
        Skip {
            reason,
            location: location.into(),
            rows: u64::from(reason.unit() == Unit::Row),
        }
    }

    pub fn rows(mut self, rows: u64) -> Self {
        self.rows = rows;
        self
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub read: u64,
    pub kept: u64,
    pub skipped: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReasonEntry {
    pub unit: Unit,
    pub count: u64,
    pub examples: Vec<String>,
}

/// The report, built while ingesting.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub seed: u64,
    /// Files opened (tree and archive members with a known extension, JSONL and Parquet files).
    pub files: FileCounts,
    /// Candidate snippets (functions found, JSONL rows, Parquet rows, pair members).
    pub rows: Counts,
    pub kept_by_split: BTreeMap<String, u64>,
    pub kept_by_language: BTreeMap<String, u64>,
    pub kept_by_source: BTreeMap<String, u64>,
    pub skipped: BTreeMap<&'static str, ReasonEntry>,
    /// Kept functions of source files, by language: how many had their covariates computed
    /// from their subtree in the file's tree, and how many were parsed again alone because
    /// equality with that parse was not established (rows of JSONL and Parquet are not
    /// counted: they have no file).
    pub covariates_of_file_functions: BTreeMap<String, CovariatesOrigin>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CovariatesOrigin {
    pub from_file_tree: u64,
    pub reparsed: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FileCounts {
    pub read: u64,
    pub skipped: u64,
    /// Files in trees and archives whose extension is not a selected language.
    pub ignored: u64,
}

impl Report {
    pub fn skip(&mut self, skip: Skip) {
        let unit = skip.reason.unit();
        match unit {
            Unit::File => self.files.skipped += 1,
            Unit::Row => self.rows.skipped += skip.rows,
        }
        if unit == Unit::Row {
            self.rows.read += skip.rows;
        }
        let entry = self
            .skipped
            .entry(skip.reason.name())
            .or_insert(ReasonEntry {
                unit,
                count: 0,
                examples: Vec::new(),
            });
        entry.count += if unit == Unit::Row { skip.rows } else { 1 };
        if entry.examples.len() < EXAMPLES_PER_REASON {
            entry.examples.push(skip.location);
        }
    }

    pub fn keep(&mut self, split: &str, language: &str, source: &str) {
        self.rows.read += 1;
        self.rows.kept += 1;
        *self.kept_by_split.entry(split.to_owned()).or_default() += 1;
        *self
            .kept_by_language
            .entry(language.to_owned())
            .or_default() += 1;
        *self.kept_by_source.entry(source.to_owned()).or_default() += 1;
    }

    /// Files that could not be read (corrupt, truncated, not what their kind says).
    pub fn unreadable_files(&self) -> u64 {
        self.skipped
            .get(Reason::UnreadableFile.name())
            .map_or(0, |entry| entry.count)
    }

    /// Count of rows skipped for `reason` (0 when none).
    pub fn skipped_rows(&self, reason: Reason) -> u64 {
        self.skipped
            .get(reason.name())
            .map_or(0, |entry| entry.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_and_examples_are_capped() {
        let mut report = Report::default();
        for line in 0..8 {
            report.skip(Skip::new(Reason::MalformedJson, format!("a.jsonl:{line}")));
        }
        report.skip(Skip::new(Reason::ParseError, "p.jsonl:1").rows(2));
        report.skip(Skip::new(Reason::EmptyFile, "e.py"));
        report.keep("train", "python", "tree");
        assert_eq!(report.rows.read, 11);
        assert_eq!(report.rows.skipped, 10);
        assert_eq!(report.rows.kept, 1);
        assert_eq!(report.files.skipped, 1);
        assert_eq!(
            report.skipped["malformed_json"].examples.len(),
            EXAMPLES_PER_REASON
        );
        assert_eq!(report.skipped["malformed_json"].count, 8);
        assert_eq!(report.skipped_rows(Reason::ParseError), 2);
    }
}
