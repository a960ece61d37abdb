//! The runner library's one error type. Variants are grouped by who must act: the user (a bad
//! pipeline, params or lock file, an unknown target, a busy runner: exit code 2), a stage (it
//! failed: exit code 1), or us (an internal error to report). Every message names the file it is
//! about, and carries `hint:` lines where there is something obvious to do.

use std::fmt;
use std::path::PathBuf;

/// The workspace's exit-code rule, defined once in `icodegen_artifacts::cli` and shared by the
/// runner and every stage: 1 the work failed (a stage failed, an input is corrupt or
/// unreadable), 2 the invocation or configuration is wrong (pipeline.yaml, params, arguments,
/// a held lock).
pub use icodegen_artifacts::cli::{EXIT_FAILURE, EXIT_USAGE};

/// A position in a YAML file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Something wrong in a YAML file the user edits (pipeline.yaml, params.yaml) or in the lock.
    #[error("{}", located(file, location, key, message))]
    Spec {
        file: PathBuf,
        location: Option<Location>,
        /// The dotted key the problem is about (`stages.train.deps[0]`), empty when none.
        key: String,
        message: String,
    },
    /// Command-line arguments that do not go together (exit 2, like a spec error, but about no
    /// file).
    #[error("{0}")]
    Usage(String),
    #[error("unknown stage or out `{target}` in `{file}`{}", hint(suggestion))]
    UnknownTarget {
        target: String,
        file: PathBuf,
        suggestion: Option<String>,
    },
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "another icodegen runner is using `{path}`: {holder}\nhint: wait for it to finish, or stop it; the lock is released when that process exits"
    )]
    Locked { path: PathBuf, holder: String },
    /// A cache object or record that cannot be used (missing, corrupted, unreadable).
    #[error("cache `{path}`: {message}")]
    Cache { path: PathBuf, message: String },
    #[error("stage `{stage}` failed: {message}")]
    StageFailed { stage: String, message: String },
    /// Several stages failed (the list names them) or were skipped.
    #[error("{0}")]
    RunFailed(String),
    #[error("interrupted")]
    Interrupted,
    /// A Slurm client command failed or could not run.
    #[error("slurm: {0}")]
    Cluster(String),
    /// The command would destroy work that is nowhere else (a hand-edited out): refused
    /// without `--force`.
    #[error("{0}")]
    Refused(String),
    /// Jobs of this pipeline are still queued: submitting more is refused without `--force`.
    #[error("{0}")]
    JobsQueued(String),
    /// A remote could not be reached or refused an operation (or the credentials).
    #[error("remote `{remote}`: {message}")]
    Remote {
        remote: String,
        message: String,
        credentials: bool,
    },
    #[error("internal error, please report it: {0}")]
    Internal(String),
}

fn located(
    file: &std::path::Path,
    location: &Option<Location>,
    key: &str,
    message: &str,
) -> String {
    let mut text = file.display().to_string();
    if let Some(location) = location {
        text.push_str(&format!(":{location}"));
    }
    text.push_str(": ");
    if !key.is_empty() {
        text.push_str(&format!("key `{key}`: "));
    }
    text.push_str(message);
    text
}

fn hint(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(name) => format!("\nhint: did you mean `{name}`?"),
        None => String::new(),
    }
}

impl PipelineError {
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        PipelineError::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// The process exit code this error maps to.
    pub fn exit_code(&self) -> u8 {
        match self {
            PipelineError::Spec { .. }
            | PipelineError::Usage(_)
            | PipelineError::UnknownTarget { .. }
            | PipelineError::Locked { .. }
            | PipelineError::Refused(_)
            | PipelineError::JobsQueued(_) => EXIT_USAGE,
            PipelineError::Io { .. }
            | PipelineError::Cache { .. }
            | PipelineError::StageFailed { .. }
            | PipelineError::RunFailed(_)
            | PipelineError::Cluster(_)
            | PipelineError::Remote { .. }
            | PipelineError::Internal(_) => EXIT_FAILURE,
            PipelineError::Interrupted => crate::signals::interrupt_exit_code(),
        }
    }
}

/// Errors of the workspace's atomic writes (`icodegen_artifacts::atomic`, the one implementation
/// of temporary-sibling-then-rename): an I/O error stays one, naming its file.
impl From<icodegen_artifacts::ArtifactError> for PipelineError {
    fn from(error: icodegen_artifacts::ArtifactError) -> Self {
        match error {
            icodegen_artifacts::ArtifactError::Io {
                action,
                path,
                source,
            } => PipelineError::Io {
                action,
                path,
                source,
            },
            other => PipelineError::Internal(other.to_string()),
        }
    }
}

/// Maps an `io::Error` into [`PipelineError::Io`] with the path it is about.
pub(crate) trait IoContext<T> {
    fn at(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| PipelineError::io(action, path, source))
    }
}

pub type Result<T, E = PipelineError> = std::result::Result<T, E>;
