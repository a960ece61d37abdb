//! The `ingest` section of `params.yaml`. Unknown keys are errors (with "did you mean").
//! Paths are relative to the current directory (the runner runs stages from the pipeline's
//! folder).

use std::path::PathBuf;

use icodegen_artifacts::vocab::SnippetSource;
use icodegen_lang::Language;
use serde::Deserialize;

use crate::error::IngestError;

/// Everything `icodegen-ingest` reads from params.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// Where snippets come from, in order (order matters only for which of two near
    /// duplicates is kept).
    pub sources: Vec<SourceConfig>,
    /// Seeds the split assignment and the MinHash permutations.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Keep only these languages (default: all).
    #[serde(default)]
    pub languages: Option<Vec<String>>,
    #[serde(default)]
    pub splits: SplitRatios,
    #[serde(default)]
    pub filters: Filters,
    #[serde(default)]
    pub near_duplicates: NearDuplicates,
}

fn default_seed() -> u64 {
    42
}

/// A split name: artifacts' vocabulary (`train`, `valid`, `test`).
pub use icodegen_artifacts::vocab::Split;

/// The split of a CodeSearchNet `partition` value (`valid` is also spelled `validation`).
pub fn split_from_partition(partition: &str) -> Option<Split> {
    match partition.trim().to_ascii_lowercase().as_str() {
        "train" | "training" => Some(Split::Train),
        "valid" | "validation" | "val" | "dev" => Some(Split::Valid),
        "test" | "testing" => Some(Split::Test),
        _ => None,
    }
}

/// One input.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum SourceConfig {
    /// CodeSearchNet `.jsonl` / `.jsonl.gz` files as distributed (a file or a directory of
    /// them). Its `partition` becomes the split unless `split` is set.
    Codesearchnet {
        path: PathBuf,
        #[serde(default)]
        split: Option<Split>,
    },
    /// A directory of source files (one snippet per function or method).
    Tree {
        path: PathBuf,
        /// Recorded as `repo` (default: the directory's name).
        #[serde(default)]
        repo: Option<String>,
        #[serde(default)]
        split: Option<Split>,
    },
    /// A `.tar.gz`/`.tgz`/`.tar`/`.zip` archive, or a directory of them (sdists from
    /// `pip download --no-binary :all:`); `repo` is the archive's name.
    Archive {
        path: PathBuf,
        #[serde(default)]
        split: Option<Split>,
    },
    /// Two code columns per row, kept as a pair (`buggy`/`fixed`, `function_1`/`function_2`),
    /// from JSONL (optionally gzipped) or Parquet.
    Pairs {
        path: PathBuf,
        /// The two code columns; the first is the pair's control side (`buggy`).
        columns: [String; 2],
        /// A fixed language for every row ...
        #[serde(default)]
        language: Option<String>,
        /// ... or the column that names it.
        #[serde(default)]
        language_column: Option<String>,
        /// Column with the pair's id (default: a hash of both codes).
        #[serde(default)]
        pair_id_column: Option<String>,
        #[serde(default)]
        split: Option<Split>,
    },
    /// Parquet with a code column (the Hugging Face datasets layout); a file or a directory.
    Parquet {
        path: PathBuf,
        #[serde(default = "default_code_column")]
        code_column: String,
        #[serde(default)]
        language: Option<String>,
        #[serde(default)]
        language_column: Option<String>,
        #[serde(default)]
        name_column: Option<String>,
        #[serde(default)]
        path_column: Option<String>,
        #[serde(default)]
        repo_column: Option<String>,
        #[serde(default)]
        docstring_column: Option<String>,
        /// Column holding `train`/`valid`/`test` (else the split is drawn from the id).
        #[serde(default)]
        split_column: Option<String>,
        #[serde(default)]
        split: Option<Split>,
    },
}

fn default_code_column() -> String {
    "code".to_owned()
}

impl SourceConfig {
    pub fn path(&self) -> &PathBuf {
        match self {
            SourceConfig::Codesearchnet { path, .. }
            | SourceConfig::Tree { path, .. }
            | SourceConfig::Archive { path, .. }
            | SourceConfig::Pairs { path, .. }
            | SourceConfig::Parquet { path, .. } => path,
        }
    }

    /// The `source` column value.
    pub fn source(&self) -> SnippetSource {
        match self {
            SourceConfig::Codesearchnet { .. } => SnippetSource::Codesearchnet,
            SourceConfig::Tree { .. } => SnippetSource::Tree,
            SourceConfig::Archive { .. } => SnippetSource::Archive,
            SourceConfig::Pairs { .. } => SnippetSource::Pairs,
            SourceConfig::Parquet { .. } => SnippetSource::Parquet,
        }
    }

    /// [`SourceConfig::source`] as spelled.
    pub fn kind(&self) -> &'static str {
        self.source().as_str()
    }

    pub fn forced_split(&self) -> Option<Split> {
        match self {
            SourceConfig::Codesearchnet { split, .. }
            | SourceConfig::Tree { split, .. }
            | SourceConfig::Archive { split, .. }
            | SourceConfig::Pairs { split, .. }
            | SourceConfig::Parquet { split, .. } => *split,
        }
    }
}

/// Split ratios; they must sum to 1.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitRatios {
    pub train: f64,
    pub valid: f64,
    pub test: f64,
}

impl Default for SplitRatios {
    fn default() -> Self {
        SplitRatios {
            train: 0.8,
            valid: 0.1,
            test: 0.1,
        }
    }
}

/// Which snippets are kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Filters {
    /// Smallest and largest code, in bytes.
    pub min_bytes: usize,
    pub max_bytes: usize,
    pub min_lines: usize,
    pub max_lines: usize,
    /// Longest line (minified or generated code is skipped).
    pub max_line_bytes: usize,
    /// Most ERROR/MISSING nodes a snippet may have (0 = must parse cleanly).
    pub max_error_nodes: usize,
    /// Files larger than this are skipped without being read.
    pub max_file_bytes: u64,
}

impl Default for Filters {
    fn default() -> Self {
        Filters {
            min_bytes: 16,
            max_bytes: 100_000,
            min_lines: 1,
            max_lines: 2_000,
            max_line_bytes: 1_000,
            max_error_nodes: 0,
            max_file_bytes: 1 << 20,
        }
    }
}

/// Near-duplicate removal across splits (MinHash over token shingles, LSH).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NearDuplicates {
    pub enabled: bool,
    /// Estimated Jaccard similarity at or above which two snippets are near duplicates.
    pub threshold: f64,
    /// Tokens per shingle.
    pub shingle_size: usize,
    /// MinHash permutations (a multiple of `bands`).
    pub num_perm: usize,
    /// LSH bands (default: chosen from the threshold).
    pub bands: Option<usize>,
}

impl Default for NearDuplicates {
    fn default() -> Self {
        NearDuplicates {
            enabled: true,
            threshold: 0.8,
            shingle_size: 3,
            num_perm: 64,
            bands: None,
        }
    }
}

impl IngestConfig {
    /// Checks values serde cannot (ratios, thresholds, language names).
    pub fn validate(&self) -> Result<Option<Vec<Language>>, IngestError> {
        let SplitRatios { train, valid, test } = self.splits;
        if [train, valid, test]
            .iter()
            .any(|ratio| !(0.0..=1.0).contains(ratio))
            || ((train + valid + test) - 1.0).abs() > 1e-6
        {
            return Err(IngestError::config(
                "ingest.splits",
                format!(
                    " must be ratios in [0, 1] that sum to 1 (got train {train}, valid {valid}, test {test})"
                ),
            ));
        }
        if self.sources.is_empty() {
            return Err(IngestError::config(
                "ingest.sources",
                " is empty: name at least one source",
            ));
        }
        let near = &self.near_duplicates;
        if !(0.0..=1.0).contains(&near.threshold) {
            return Err(IngestError::config(
                "ingest.near_duplicates.threshold",
                format!(" must be in [0, 1] (got {})", near.threshold),
            ));
        }
        if near.shingle_size == 0 || near.num_perm == 0 {
            return Err(IngestError::config(
                "ingest.near_duplicates.shingle_size",
                " and num_perm must be positive",
            ));
        }
        if let Some(bands) = near.bands
            && (bands == 0 || !near.num_perm.is_multiple_of(bands))
        {
            return Err(IngestError::config(
                "ingest.near_duplicates.bands",
                format!(" ({bands}) must divide num_perm ({})", near.num_perm),
            ));
        }
        if self.filters.min_bytes > self.filters.max_bytes
            || self.filters.min_lines > self.filters.max_lines
        {
            return Err(IngestError::config(
                "ingest.filters",
                ": a minimum is larger than its maximum",
            ));
        }
        for source in &self.sources {
            let (language, language_column) = match source {
                SourceConfig::Pairs {
                    language,
                    language_column,
                    ..
                }
                | SourceConfig::Parquet {
                    language,
                    language_column,
                    ..
                } => (language, language_column),
                _ => continue,
            };
            match (language, language_column) {
                (Some(name), None) => {
                    Language::from_name(name).map_err(|error| {
                        IngestError::config(
                            "ingest.sources",
                            format!(" ({}): {error}", source.kind()),
                        )
                    })?;
                }
                (None, Some(_)) => {}
                _ => {
                    return Err(IngestError::config(
                        "ingest.sources",
                        format!(
                            " ({} `{}`): set exactly one of `language` and `language_column`",
                            source.kind(),
                            source.path().display()
                        ),
                    ));
                }
            }
        }
        let Some(names) = &self.languages else {
            return Ok(None);
        };
        let languages = names
            .iter()
            .map(|name| {
                Language::from_name(name)
                    .map_err(|error| IngestError::config("ingest.languages", format!(": {error}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(languages))
    }
}
