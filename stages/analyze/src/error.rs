//! The `analyze` stage's typed error, for its three subcommands (`causal`, `mediation`,
//! `study`). Every variant names the file, column, option or params key it is about, and knows
//! its class through [`Classified`], which `icodegen_artifacts::cli` maps to the exit code:
//! bad arguments, params and input values are the user's to fix (exit 2); a corrupt or
//! unreadable Parquet file and an estimator that cannot estimate on valid data are the work
//! failing (exit 1).

use std::path::PathBuf;

use icodegen_artifacts::ArtifactError;
use icodegen_artifacts::cli::Classified;
use icodegen_causal::CausalError;

/// Everything that stops `icodegen-analyze`.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// A bad command-line argument (a value out of range, an unknown name, an option that
    /// needs another). `argument` is the option or column at fault (`--simulations`,
    /// `` `loss` ``); the message names it in its sentence.
    #[error("{message}")]
    Argument { argument: String, message: String },
    /// An unknown method, refuter or interval name (the library's message lists the valid ones).
    #[error("{0}")]
    Name(CausalError),
    /// A file named by an argument does not exist (`what`: `--testbed`, `data file`).
    #[error("{what} `{path}` does not exist")]
    MissingFile { what: &'static str, path: PathBuf },
    /// A file named by an argument cannot be opened, listed or read (the `fs_err` message names
    /// it).
    #[error(transparent)]
    Open(std::io::Error),
    /// A data file that is neither Parquet nor CSV.
    #[error("`{path}`: unsupported data file; expected a `.parquet` or `.csv` file")]
    UnsupportedFile { path: PathBuf },
    /// A column the arguments name that the data file lacks, with the nearest one as a hint.
    #[error(
        "`{path}` has no column `{column}`{} (columns: {})",
        .suggestion.as_ref().map(|name| format!("; did you mean `{name}`?")).unwrap_or_default(),
        .available.join(", ")
    )]
    UnknownColumn {
        path: PathBuf,
        column: String,
        available: Vec<String>,
        suggestion: Option<String>,
    },
    /// A bad value in a data file (missing, not a number, non-finite, constant, not 0/1, an
    /// incomplete pair): the message names the column and the first bad row or line.
    #[error("`{path}`: {message}")]
    Data { path: PathBuf, message: String },
    /// What the causal library rejects about a data file's values.
    #[error("`{path}`: {error}")]
    Causal { path: PathBuf, error: CausalError },
    /// A causal graph that does not parse, or that the arguments contradict.
    #[error("{0}")]
    GraphParse(CausalError),
    /// The arguments contradict the causal graph (`path`: the DOT file).
    #[error("{}: {message}", .path.display())]
    Graph { path: PathBuf, message: String },
    /// A Parquet file that cannot be read (corrupt, truncated).
    #[error("`{path}` is not a readable Parquet file: {error}")]
    CorruptParquet {
        path: PathBuf,
        error: parquet::errors::ParquetError,
    },
    /// Reading the batches of a data file failed midway.
    #[error("reading `{path}`")]
    Read {
        path: PathBuf,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An estimator that cannot estimate on valid data (no convergence, not estimable).
    #[error("estimating on `{path}`")]
    Estimation { path: PathBuf, source: CausalError },
    /// A bad value in the study's params section.
    #[error("{} (key `{key}`): {message}", .path.display())]
    Params {
        path: PathBuf,
        key: String,
        message: String,
    },
    /// An `--out` folder whose replacement would destroy an input or the workspace.
    #[error("--out `{}` {message}", .out.display())]
    Out { out: PathBuf, message: String },
    /// A study input that does not fit the others (a row of another testbed or model, no
    /// model folder, a missing `concepts.parquet`); `row` is the 0-based row when known
    /// (`` `path` row 3: message ``), else the message continues the sentence (`` `path` is
    /// missing ``).
    #[error(
        "`{}`{} {message}",
        .path.display(),
        .row.map(|row| format!(" row {row}:")).unwrap_or_default()
    )]
    Input {
        path: PathBuf,
        row: Option<usize>,
        message: String,
    },
    /// Two model folders hold the same model.
    #[error("model `{model}` appears in both `{}` and `{}`", .first.display(), .second.display())]
    DuplicateModel {
        model: String,
        first: PathBuf,
        second: PathBuf,
    },
    /// Reading a study input artifact.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
}

impl AnalyzeError {
    /// A bad argument: `argument` is the option or column at fault, `message` the sentence.
    pub fn argument(argument: impl Into<String>, message: impl Into<String>) -> Self {
        AnalyzeError::Argument {
            argument: argument.into(),
            message: message.into(),
        }
    }

    /// A bad value in the data file `path`.
    pub fn data(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        AnalyzeError::Data {
            path: path.into(),
            message: message.into(),
        }
    }

    /// A study input that does not fit: `path`, the 0-based `row` when known, and what is wrong.
    pub fn input(path: impl Into<PathBuf>, row: Option<usize>, message: impl Into<String>) -> Self {
        AnalyzeError::Input {
            path: path.into(),
            row,
            message: message.into(),
        }
    }
}

impl Classified for AnalyzeError {
    fn is_user_error(&self) -> bool {
        match self {
            AnalyzeError::CorruptParquet { .. }
            | AnalyzeError::Read { .. }
            | AnalyzeError::Estimation { .. } => false,
            AnalyzeError::Artifact(error) => error.is_user_error(),
            AnalyzeError::Argument { .. }
            | AnalyzeError::Name(_)
            | AnalyzeError::MissingFile { .. }
            | AnalyzeError::Open(_)
            | AnalyzeError::UnsupportedFile { .. }
            | AnalyzeError::UnknownColumn { .. }
            | AnalyzeError::Data { .. }
            | AnalyzeError::Causal { .. }
            | AnalyzeError::GraphParse(_)
            | AnalyzeError::Graph { .. }
            | AnalyzeError::Params { .. }
            | AnalyzeError::Out { .. }
            | AnalyzeError::Input { .. }
            | AnalyzeError::DuplicateModel { .. } => true,
        }
    }
}
