//! The `infer` stage's typed error: every variant names the option, params key or model file it
//! is about, and knows its class (the user's to fix: exit 2; the work failing: exit 1) through
//! [`Classified`], which `icodegen_artifacts::cli` maps to the exit code.

use std::path::PathBuf;

use icodegen_artifacts::cli::Classified;
use icodegen_lm::LmError;

/// What stops the `infer` stage besides the artifacts it reads and writes (whose
/// `ArtifactError`s `cli::main_for_stage` classifies on its own).
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    /// A bad value in the `infer` params section (`key` is the setting, `stride`); the
    /// message says which and why.
    #[error("infer params: {message}")]
    Params { key: &'static str, message: String },
    /// A command-line option that is missing, empty or does not go with the others.
    #[error("{message}")]
    Option {
        option: &'static str,
        message: String,
    },
    /// The shard parts given to `--merge` do not make one run (a part given twice or missing,
    /// parts of other models, settings, splits or testbeds): the shard runs that made them
    /// failed or their inputs changed, so the work failed (exit 1). `part` is the part named,
    /// when one is.
    #[error("{message}")]
    Parts {
        part: Option<PathBuf>,
        message: String,
    },
    /// A `--journal` folder whose batches do not belong to this run although its key does (a
    /// batch edited or copied in by hand): the work failed (exit 1); removing the folder starts
    /// the run over.
    #[error("the infer journal `{}`: {message}\nhint: remove the folder to score from the start", dir.display())]
    Journal { dir: PathBuf, message: String },
    /// The model folder, its tokenizer, the device or libtorch (classified by
    /// [`LmError::is_user_error`]: an unsupported model or option is the user's, a corrupt or
    /// unreadable model the work failing).
    #[error(transparent)]
    Lm(#[from] LmError),
}

impl InferError {
    /// A params error about `key`.
    pub fn params(key: &'static str, message: impl Into<String>) -> Self {
        InferError::Params {
            key,
            message: message.into(),
        }
    }

    /// Shard parts that do not fit together, about `part` when one is to blame.
    pub fn parts(part: Option<&std::path::Path>, message: impl Into<String>) -> Self {
        InferError::Parts {
            part: part.map(std::path::Path::to_path_buf),
            message: message.into(),
        }
    }

    /// An error in the use of the command-line option `option`.
    pub fn option(option: &'static str, message: impl Into<String>) -> Self {
        InferError::Option {
            option,
            message: message.into(),
        }
    }
}

impl Classified for InferError {
    /// Params and options are the user's (exit 2); shard parts that do not fit together are
    /// the work failing (exit 1); a model error has the class [`LmError::is_user_error`] gives
    /// it.
    fn is_user_error(&self) -> bool {
        match self {
            InferError::Params { .. } | InferError::Option { .. } => true,
            InferError::Parts { .. } | InferError::Journal { .. } => false,
            InferError::Lm(error) => error.is_user_error(),
        }
    }
}
