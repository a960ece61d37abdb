use std::path::PathBuf;

/// Everything that can go wrong with a tokenizer, a model or a model directory. Every variant
/// about a file names it.
#[derive(Debug, thiserror::Error)]
pub enum LmError {
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A tokenizer the user must fix or choose differently: a named file that does not exist,
    /// a checkpoint without tokenizer files, a special token or vocabulary size the params ask
    /// for that the tokenizer cannot have.
    #[error("tokenizer `{path}`: {message}")]
    Tokenizer { path: PathBuf, message: String },
    /// A tokenizer file that is corrupt (does not parse, cannot build a BPE), or a tokenizer
    /// operation that failed (training, encoding, decoding, serializing): the work failing.
    #[error("tokenizer `{path}`: {message}")]
    TokenizerFailed { path: PathBuf, message: String },
    /// A model's `config.json` (or a checkpoint's tokenizer config) that does not parse, lacks a
    /// key or contradicts the weights: a corrupt or inconsistent model, not the user's setting.
    #[error("model config `{path}`: {message}")]
    Config { path: PathBuf, message: String },
    #[error("model weights `{path}`: {message}")]
    Weights { path: PathBuf, message: String },
    #[error(
        "model directory `{dir}`: the tokenizer has {tokenizer} tokens but the model predicts {model}\nhint: the tokenizer.json does not belong to this model"
    )]
    VocabularyMismatch {
        dir: PathBuf,
        tokenizer: i64,
        model: i64,
    },
    /// A checkpoint or setting icodegen does not implement (another model type, remote code,
    /// pickled weights, a rope variant): the user must choose differently.
    #[error("`{path}`: {message}")]
    Unsupported { path: PathBuf, message: String },
    #[error("{0}")]
    Device(String),
    #[error("invalid setting: {0}")]
    Invalid(String),
    /// Training ran but failed (the loss diverged).
    #[error("{0}")]
    Training(String),
    /// libtorch failed while computing: a bug or an exhausted resource, not the user's input.
    #[error("libtorch: {0}")]
    Torch(String),
}

impl LmError {
    /// True when the invocation or configuration is wrong (a model folder or tokenizer file
    /// that does not exist, a checkpoint without tokenizer files, an unsupported model family,
    /// checkpoint or option, a bad setting, an unavailable device): stages exit with code 2.
    /// A corrupt, unreadable or inconsistent model (a config or tokenizer that does not parse, a
    /// truncated weights file, a missing shard or tensor, a wrong shape, a tokenizer that does
    /// not fit the model), libtorch failures, failed training and failed writes are the work
    /// failing: exit code 1. Stages map the class to the exit code with
    /// `icodegen_artifacts::cli::exit_code` through their own error type (this crate does not
    /// depend on `icodegen-artifacts`).
    pub fn is_user_error(&self) -> bool {
        match self {
            // A path that does not exist is the argument's fault; a file that exists but cannot
            // be read (permissions, I/O errors) and every failed write are the work failing.
            LmError::Io { action, source, .. } => {
                !matches!(*action, "write" | "create" | "rename")
                    && source.kind() == std::io::ErrorKind::NotFound
            }
            LmError::Tokenizer { .. }
            | LmError::Unsupported { .. }
            | LmError::Device(_)
            | LmError::Invalid(_) => true,
            LmError::TokenizerFailed { .. }
            | LmError::Config { .. }
            | LmError::Weights { .. }
            | LmError::VocabularyMismatch { .. }
            | LmError::Training(_)
            | LmError::Torch(_) => false,
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        LmError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// libtorch messages carry a C++ backtrace after the first line; users need the first line.
pub(crate) fn torch_message(error: &tch::TchError) -> String {
    let text = error.to_string();
    let first = text
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("unknown libtorch error");
    first.trim().to_owned()
}

impl From<tch::TchError> for LmError {
    fn from(error: tch::TchError) -> Self {
        LmError::Torch(torch_message(&error))
    }
}

pub type Result<T, E = LmError> = std::result::Result<T, E>;
