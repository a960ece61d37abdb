//! The safety layer: what keeps the runner from destroying what it does not own, and what it
//! leaves when stopped. [`guard`] (what outs may be: never the runner's state, the repository or
//! tracked files, never outside the workspace), [`running`] (every process of a stage, found and
//! ended, even after the runner is killed) and [`runner_lock`] (one runner per workspace and
//! cache).
//!
//! It imports the spec and keys layers and the base, never the store, the session or an
//! executor.

pub mod guard;
pub mod runner_lock;
pub mod running;
