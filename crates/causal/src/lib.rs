//! Causal effect estimation.
