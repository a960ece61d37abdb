//! Named fault points for the fault-injection tests (`tests/integration/faults.rs`): with
//! `ICODEGEN_FAULT=NAME` in its environment, the runner kills itself (SIGKILL, as `kill -9`
//! would) when it reaches point `NAME`. Unset, a point costs one environment lookup.
//!
//! Points: `hashing-deps` (deps hashed, memo not saved), `storing-outs` (an out's object
//! half-written into `cache/v1/tmp`), `restoring-folder` (a folder out staged beside its place,
//! not yet moved in), `writing-lock` (the new lock written beside `pipeline.lock`, not yet
//! renamed), `recording` (the run-cache entry written, the lock not yet updated),
//! `pushing-objects` (`push`: one object uploaded, the rest and the run-cache entries not),
//! `pushing-parts` (`push`: a large object partly uploaded; cloud: one part sent, the upload not
//! completed; folder: staged, not linked).

/// The environment variable naming the point to die at.
pub const VAR: &str = "ICODEGEN_FAULT";

/// Dies here if `ICODEGEN_FAULT` names this point.
pub fn point(name: &str) {
    if std::env::var_os(VAR).is_some_and(|value| value == name) {
        // SAFETY: kill(2) on ourselves.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}
