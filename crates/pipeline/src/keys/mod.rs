//! The keys layer: what a stage's outputs depend on, and the record of it. [`hash`] (blake3 of
//! files and folders), [`memo`] (the hash memo), [`code`] (stage binary fingerprints), [`key`]
//! (the stage and plan keys), [`lock`] (`pipeline.lock`: the record of each stage's last run)
//! and [`status`] (the reasons a stage is stale, as pure functions).
//!
//! It imports the spec layer and the base, never the store, the session or an executor.

pub mod code;
pub mod hash;
pub mod key;
pub mod lock;
pub mod memo;
pub mod status;
