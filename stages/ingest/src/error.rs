//! The `ingest` stage's typed error: every variant names the params key, source or file it is
//! about, and knows its class (the user's to fix: exit 2; the work failing: exit 1) through
//! [`Classified`], which `icodegen_artifacts::cli` maps to the exit code.

use std::path::PathBuf;

use icodegen_artifacts::ArtifactError;
use icodegen_artifacts::cli::Classified;

use crate::table::TableError;

/// Everything that stops the `ingest` stage.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// A bad value in the stage's params section (`key` is the dotted key, `ingest.splits`).
    #[error("{key}{message}")]
    Config { key: String, message: String },
    /// A source named in params does not exist.
    #[error(
        "ingest source `{path}` ({kind}) does not exist\nhint: check the source's `path` in params"
    )]
    MissingSource { path: PathBuf, kind: &'static str },
    /// A table source lacks a column params name (a params mistake), or cannot be read.
    #[error(transparent)]
    Table(#[from] TableError),
    /// Every file of a source was unreadable: an empty result must not flow on.
    #[error(
        "ingest source `{path}` ({kind}) has nothing readable: {unreadable} unreadable file(s), e.g. {example}"
    )]
    NothingReadable {
        path: PathBuf,
        kind: &'static str,
        unreadable: u64,
        example: String,
    },
    /// Writing `snippets.parquet` (or reading an artifact).
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
}

impl IngestError {
    /// A params error: `key` and the rest of the sentence (`" must be ..."`, `": ..."`).
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        IngestError::Config {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl Classified for IngestError {
    /// Params, missing sources and missing columns are the user's (exit 2); a source with
    /// nothing readable and a failed write are the work failing (exit 1).
    fn is_user_error(&self) -> bool {
        match self {
            IngestError::Config { .. } | IngestError::MissingSource { .. } => true,
            IngestError::Table(error) => matches!(error, TableError::MissingColumn { .. }),
            IngestError::NothingReadable { .. } => false,
            IngestError::Artifact(error) => error.is_user_error(),
        }
    }
}
