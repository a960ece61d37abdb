//! Statistics for icodegen.
