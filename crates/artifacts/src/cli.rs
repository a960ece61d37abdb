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

/// An error the user can fix (bad argument, bad params, bad input file): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Builds an [`anyhow::Error`] classified as a usage error.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(message.into()))
}

/// The exit code for an error: 2 if any error in the chain is the user's to fix, else 1.
pub fn exit_code_for(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if cause.is::<UsageError>() {
            return EXIT_USAGE;
        }
        if let Some(artifact) = cause.downcast_ref::<ArtifactError>() {
            return if artifact.is_user_error() {
                EXIT_USAGE
            } else {
                EXIT_FAILURE
            };
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
            ExitCode::from(exit_code_for(&error))
        }
    }
}
