//! Integration tests: drive the built binaries on tiny pipelines.
