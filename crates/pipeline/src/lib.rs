//! The runner library (see ARCHITECTURE.md).
