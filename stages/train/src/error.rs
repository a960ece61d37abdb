//! The `train` stage's typed error: every variant names the params section or file it is
//! about, and knows its class (the user's to fix: exit 2; the work failing: exit 1) through
//! [`Classified`], which `icodegen_artifacts::cli` maps to the exit code.

use std::path::PathBuf;

use icodegen_artifacts::cli::Classified;
use icodegen_lm::LmError;

/// What stops the `train` stage besides the artifacts it reads and writes (whose
/// `ArtifactError`s `cli::main_for_stage` classifies on its own).
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The model's params section fails [`icodegen_lm::training::TrainConfig::validate`].
    #[error("train params: {0}")]
    Params(LmError),
    /// The snippets artifact has no non-blank code in the `train` split (the split settings
    /// upstream left nothing to train on).
    #[error("`{}` has no non-empty code in split `train`: nothing to train on", path.display())]
    NothingToTrain { path: PathBuf },
    /// The tokenizer, the model, the device or libtorch (classified by
    /// [`LmError::is_user_error`]: a missing tokenizer file or an unavailable device is the
    /// user's, a corrupt tokenizer or a diverging loss the work failing).
    #[error(transparent)]
    Lm(#[from] LmError),
}

impl Classified for TrainError {
    /// Params and an empty train split are the user's (exit 2); a model error has the class
    /// [`LmError::is_user_error`] gives it.
    fn is_user_error(&self) -> bool {
        match self {
            TrainError::Params(_) | TrainError::NothingToTrain { .. } => true,
            TrainError::Lm(error) => error.is_user_error(),
        }
    }
}
