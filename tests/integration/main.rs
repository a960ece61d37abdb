//! Integration tests of the `icodegen` runner: each drives the built binary on a tiny pipeline of
//! shell commands in a temporary folder, as a user would. Test names say what must hold.
#![allow(clippy::disallowed_methods)] // test code may use std::fs (clippy.toml)

mod bad_input;
mod cache;
mod cache_scale;
mod code;
mod failures;
mod faults;
mod harness;
mod query;
mod remote;
mod repro;
mod safety;
mod slurm;
mod status;
mod study_java;
