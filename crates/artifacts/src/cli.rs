//! Conventions shared by every stage binary: exit codes, error printing and the
//! `--source-fingerprint` query the runner uses to notice that a stage's code changed.

use std::process::ExitCode;

use crate::error::ArtifactError;

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: the stage ran and failed.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code: bad arguments, params or input; the user can fix it.
pub const EXIT_USAGE: u8 = 2;

/// An error type that knows its class: the user's to fix (a bad argument, params value, config
/// or an argument naming the wrong file: exit code 2) or the work failing (a corrupt or
/// unreadable input, a failed write, an internal error: exit code 1). Each stage library's
/// typed error implements it; [`exit_code_for`] maps the class to the exit code.
pub trait Classified: std::error::Error + Send + Sync + 'static {
    /// True when the user can fix it by changing the invocation or the configuration.
    fn is_user_error(&self) -> bool;
}

/// The exit-code rule, defined once: a user error exits 2, every other failure 1.
pub const fn exit_code(is_user_error: bool) -> u8 {
    if is_user_error {
        EXIT_USAGE
    } else {
        EXIT_FAILURE
    }
}

/// An error the user can fix (bad argument, bad params, bad input file): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl Classified for UsageError {
    fn is_user_error(&self) -> bool {
        true
    }
}

impl Classified for ArtifactError {
    fn is_user_error(&self) -> bool {
        ArtifactError::is_user_error(self)
    }
}

/// Builds an [`anyhow::Error`] classified as a usage error.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(message.into()))
}

/// The exit code for an error: the class of the first classified error in its chain
/// ([`UsageError`], [`ArtifactError`]), else 1.
pub fn exit_code_for(error: &anyhow::Error) -> u8 {
    exit_code_for_stage::<UsageError>(error)
}

/// [`exit_code_for`] that also knows the stage's own error type `E`: the class of the first
/// error in the chain that is an `E`, a [`UsageError`] or an [`ArtifactError`] decides; an
/// error of no known class is the work failing (1).
pub fn exit_code_for_stage<E: Classified>(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        let class = if let Some(typed) = cause.downcast_ref::<E>() {
            Some(typed.is_user_error())
        } else if let Some(usage) = cause.downcast_ref::<UsageError>() {
            Some(usage.is_user_error())
        } else {
            cause
                .downcast_ref::<ArtifactError>()
                .map(ArtifactError::is_user_error)
        };
        if let Some(is_user_error) = class {
            return exit_code(is_user_error);
        }
    }
    EXIT_FAILURE
}

/// Prints `error: ...` with its causes (each on its own line) to stderr.
pub fn print_error(program: &str, error: &anyhow::Error) {
    eprintln!("{program}: error: {error}");
    for cause in error.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}

/// The body of every stage's `main`: answers `--source-fingerprint` (the blake3 of the stage's
/// sources, embedded at build time by `icodegen-fingerprint`), otherwise runs `body` and maps
/// its result to an exit code.
pub fn main(
    program: &str,
    fingerprint: &str,
    body: impl FnOnce() -> anyhow::Result<()>,
) -> ExitCode {
    main_for_stage::<UsageError>(program, fingerprint, body)
}

/// [`main`] for a stage whose library has its own [`Classified`] error type `E` (which its
/// functions may return inside an [`anyhow::Error`]): the exit code follows
/// [`exit_code_for_stage`].
pub fn main_for_stage<E: Classified>(
    program: &str,
    fingerprint: &str,
    body: impl FnOnce() -> anyhow::Result<()>,
) -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    if let (Some(first), None) = (args.next(), args.next())
        && first == "--source-fingerprint"
    {
        println!("{fingerprint}");
        return ExitCode::SUCCESS;
    }
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            print_error(program, &error);
            ExitCode::from(exit_code_for_stage::<E>(&error))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("stage error (user: {0})")]
    struct StageError(bool);

    impl Classified for StageError {
        fn is_user_error(&self) -> bool {
            self.0
        }
    }

    #[test]
    fn the_first_classified_error_in_the_chain_decides_the_exit_code() {
        let user = anyhow::Error::new(StageError(true)).context("running the stage");
        assert_eq!(exit_code_for_stage::<StageError>(&user), EXIT_USAGE);
        let failed = anyhow::Error::new(StageError(false));
        assert_eq!(exit_code_for_stage::<StageError>(&failed), EXIT_FAILURE);
        // Without the stage's type the rule still knows UsageError and ArtifactError.
        assert_eq!(exit_code_for(&user), EXIT_FAILURE);
        assert_eq!(exit_code_for(&usage("bad --flag")), EXIT_USAGE);
        let wrong_kind = anyhow::Error::new(ArtifactError::WrongKind {
            path: "x.parquet".into(),
            expected: "testbed",
            found: "tokens".into(),
        });
        assert_eq!(exit_code_for(&wrong_kind), EXIT_USAGE);
        assert_eq!(
            exit_code_for(&anyhow::anyhow!("unclassified")),
            EXIT_FAILURE
        );
    }
}
