use std::path::PathBuf;

/// Everything that can go wrong reading or writing an artifact or a params file. Every variant
/// names the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is not a readable Parquet artifact: {source}")]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("`{path}`: {source}")]
    Arrow {
        path: PathBuf,
        #[source]
        source: arrow::error::ArrowError,
    },
    #[error("`{path}` is a `{found}` artifact, expected `{expected}`")]
    WrongKind {
        path: PathBuf,
        expected: &'static str,
        found: String,
    },
    #[error(
        "`{path}` holds `{kind}` schema version {found}, this build reads version {expected}\nhint: re-run the stage that produced it"
    )]
    WrongVersion {
        path: PathBuf,
        kind: &'static str,
        expected: u32,
        found: String,
    },
    #[error("`{path}` has no column `{column}`, which a `{kind}` artifact requires")]
    MissingColumn {
        path: PathBuf,
        kind: &'static str,
        column: &'static str,
    },
    #[error("`{path}` column `{column}` has type {found}, a `{kind}` artifact needs {expected}")]
    ColumnType {
        path: PathBuf,
        kind: &'static str,
        column: &'static str,
        expected: String,
        found: String,
    },
    #[error(
        "`{path}` row {row}: column `{column}` is null, which a `{kind}` artifact does not allow"
    )]
    NullValue {
        path: PathBuf,
        kind: &'static str,
        column: &'static str,
        row: usize,
    },
    #[error("{path}:{location}key `{key}`: {message}")]
    Params {
        path: PathBuf,
        /// `line:column: ` when known, else empty.
        location: String,
        key: String,
        message: String,
    },
}

impl ArtifactError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        ArtifactError::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// True when the invocation or the configuration is wrong (exit code 2): a params file that
    /// cannot be read or holds a bad value, or an argument naming an artifact of another kind.
    /// An input artifact that is unreadable, corrupt, of another schema version or with bad
    /// columns or rows, and every failure writing outputs, is the work failing (exit code 1).
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            ArtifactError::Params { .. } | ArtifactError::WrongKind { .. }
        )
    }
}

pub type Result<T, E = ArtifactError> = std::result::Result<T, E>;
