//! The `tag` stage's typed error: every variant names the file, row, taxonomy or setting it is
//! about, and knows its class (the user's to fix: exit 2; the work failing: exit 1) through
//! [`Classified`], which `icodegen_artifacts::cli` maps to the exit code.

use std::path::PathBuf;

use icodegen_artifacts::ArtifactError;
use icodegen_artifacts::cli::Classified;

/// Everything that can go wrong in the `tag` stage. Messages name the file and, for input rows,
/// the row number within it (0-based, as Parquet readers count).
#[derive(Debug, thiserror::Error)]
pub enum TagError {
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// A taxonomy file that does not parse or names node types the grammar lacks (the message
    /// carries file, line, column and key).
    #[error(transparent)]
    TaxonomyParse(ArtifactError),
    #[error("taxonomy `{path}`: {message}")]
    Taxonomy { path: PathBuf, message: String },
    #[error(
        "no taxonomy for `{language}`: `{path}` does not exist\nhint: add one (copy a file from `data/taxonomies/`) or point `taxonomy_dir` / `taxonomies.{language}` in params at it"
    )]
    MissingTaxonomy { language: String, path: PathBuf },
    /// A bad row in an input artifact.
    #[error("`{path}` row {row}: {message}")]
    Input {
        path: PathBuf,
        row: usize,
        message: String,
    },
    /// A bad setting.
    #[error("{0}")]
    Config(String),
    /// Nothing to explain, or the explanation's inputs disagree.
    #[error(transparent)]
    Explain(#[from] icodegen_explain::ExplainError),
    #[error("internal error, please report: {0}")]
    Internal(String),
}

impl TagError {
    /// True when the invocation or configuration is wrong (exit code 2): settings, taxonomy
    /// files, explain's arguments. A bad input artifact or row is the work failing (exit 1).
    pub fn is_user_error(&self) -> bool {
        match self {
            TagError::Artifact(error) => error.is_user_error(),
            TagError::Input { .. } | TagError::Internal(_) => false,
            TagError::TaxonomyParse(_)
            | TagError::Taxonomy { .. }
            | TagError::MissingTaxonomy { .. }
            | TagError::Config(_)
            | TagError::Explain(_) => true,
        }
    }
}

impl Classified for TagError {
    /// [`TagError::is_user_error`]: `icodegen-tag` runs through `cli::main_for_stage::<TagError>`.
    fn is_user_error(&self) -> bool {
        TagError::is_user_error(self)
    }
}

pub type Result<T, E = TagError> = std::result::Result<T, E>;
