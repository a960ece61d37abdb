//! Local explanations rendered as SVG/HTML.
