//! The `preprocess` stage's typed error: every variant names the params key or the input file
//! and row it is about, and knows its class (the user's to fix: exit 2; the work failing:
//! exit 1) through [`Classified`], which `icodegen_artifacts::cli` maps to the exit code.

use std::path::PathBuf;

use icodegen_artifacts::ArtifactError;
use icodegen_artifacts::cli::Classified;

/// Everything that stops the `preprocess` stage.
#[derive(Debug, thiserror::Error)]
pub enum PreprocessError {
    /// A bad value in the stage's params section (`key` is the dotted key,
    /// `preprocess.max_attempts`; `message` the rest of the sentence).
    #[error("{key}{message}")]
    Config { key: String, message: String },
    /// A snippet this build cannot process: its language has no grammar here.
    #[error(
        "`{path}` row {row}: {message}\nhint: ingest only languages this build supports (`ingest.languages`)"
    )]
    UnsupportedLanguage {
        path: PathBuf,
        row: usize,
        message: String,
    },
    /// Reading the snippets or writing an output artifact.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
}

impl PreprocessError {
    /// A params error: `key` and the rest of the sentence (`" must be ..."`, `": ..."`).
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        PreprocessError::Config {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl Classified for PreprocessError {
    /// Params and snippets in a language this build lacks are the user's (exit 2); an input
    /// artifact that cannot be read and a failed write are the work failing (exit 1).
    fn is_user_error(&self) -> bool {
        match self {
            PreprocessError::Config { .. } | PreprocessError::UnsupportedLanguage { .. } => true,
            PreprocessError::Artifact(error) => error.is_user_error(),
        }
    }
}
