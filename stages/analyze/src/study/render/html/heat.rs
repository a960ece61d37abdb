//! The concept x model heat map as inline SVG: one cell per (concept, model) with its mean
//! printed in it, coloured on a colour-blind-safe sequential scale (cividis-like, dark blue at
//! 0 to yellow at 1); an absent concept is a hatched grey cell, never 0.

use std::fmt::Write as _;

use icodegen_explain::escape;

use crate::study::format::estimate_ci;
use crate::study::report::many::HeatMap;

/// Stops of the sequential scale (cividis at 0, 0.25, 0.5, 0.75, 1).
const SCALE: [(f64, [u8; 3]); 5] = [
    (0.0, [0, 34, 78]),
    (0.25, [61, 77, 110]),
    (0.5, [124, 123, 120]),
    (0.75, [188, 175, 111]),
    (1.0, [254, 232, 56]),
];

/// The scale's colour of a mean probability.
pub fn colour(value: f64) -> [u8; 3] {
    let value = value.clamp(0.0, 1.0);
    for pair in SCALE.windows(2) {
        let ((x0, c0), (x1, c1)) = (pair[0], pair[1]);
        if value <= x1 {
            let t = (value - x0) / (x1 - x0);
            let mix =
                |a: u8, b: u8| (f64::from(a) + t * (f64::from(b) - f64::from(a))).round() as u8;
            return [mix(c0[0], c1[0]), mix(c0[1], c1[1]), mix(c0[2], c1[2])];
        }
    }
    SCALE[SCALE.len() - 1].1
}

/// Dark text on light cells, white on dark ones.
fn ink(rgb: [u8; 3]) -> &'static str {
    let luminance =
        0.299 * f64::from(rgb[0]) + 0.587 * f64::from(rgb[1]) + 0.114 * f64::from(rgb[2]);
    if luminance > 140.0 { "#111" } else { "#fff" }
}

const CELL_W: usize = 62;
const CELL_H: usize = 24;
const LABEL_W: usize = 150;
const HEAD_H: usize = 90;

/// The heat map's SVG.
pub fn svg(map: &HeatMap) -> String {
    let width = LABEL_W + CELL_W * map.models.len() + 60;
    let height = HEAD_H + CELL_H * map.concepts.len() + 46;
    let mut svg = format!(
        "<svg class=\"heat\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" font-family=\"system-ui,sans-serif\" font-size=\"12\"><title>AsC-Eval mean per {} and model{}</title>",
        escape(&map.kind.replace('_', " ")),
        map.language
            .as_ref()
            .map_or(String::new(), |language| format!(" ({})", escape(language)))
    );
    svg.push_str("<defs><pattern id=\"absent\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#eee\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#bbb\" stroke-width=\"2\"/></pattern></defs>");
    for (column, model) in map.models.iter().enumerate() {
        let x = LABEL_W + column * CELL_W + CELL_W / 2;
        let _ = write!(
            svg,
            "<text transform=\"translate({x},{}) rotate(-40)\" text-anchor=\"start\">{}</text>",
            HEAD_H - 6,
            escape(model)
        );
    }
    for (line, (concept, cells)) in map.concepts.iter().zip(&map.cells).enumerate() {
        let y = HEAD_H + line * CELL_H;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            LABEL_W - 6,
            y + CELL_H / 2 + 4,
            escape(concept)
        );
        for (column, cell) in cells.iter().enumerate() {
            let x = LABEL_W + column * CELL_W;
            match cell {
                None => {
                    let _ = write!(
                        svg,
                        "<rect class=\"cell absent\" x=\"{x}\" y=\"{y}\" width=\"{}\" height=\"{}\" fill=\"url(#absent)\"><title>{}: absent</title></rect>",
                        CELL_W - 2,
                        CELL_H - 2,
                        escape(concept)
                    );
                }
                Some(cell) => {
                    let rgb = colour(cell.mean);
                    let _ = write!(
                        svg,
                        "<rect class=\"cell\" x=\"{x}\" y=\"{y}\" width=\"{}\" height=\"{}\" fill=\"rgb({},{},{})\"><title>{} · {}: {} ({} rows)</title></rect><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{}\"{}>{:.2}</text>",
                        CELL_W - 2,
                        CELL_H - 2,
                        rgb[0],
                        rgb[1],
                        rgb[2],
                        escape(concept),
                        escape(&map.models[column]),
                        estimate_ci(Some(cell.mean), cell.low, cell.high),
                        cell.n_rows,
                        x + CELL_W / 2 - 1,
                        y + CELL_H / 2 + 3,
                        ink(rgb),
                        if cell.low.is_none() {
                            " font-style=\"italic\""
                        } else {
                            ""
                        },
                        cell.mean
                    );
                }
            }
        }
    }
    // The legend: the scale from 0 to 1.
    let y = HEAD_H + CELL_H * map.concepts.len() + 12;
    for step in 0..=10 {
        let value = step as f64 / 10.0;
        let rgb = colour(value);
        let _ = write!(
            svg,
            "<rect x=\"{}\" y=\"{y}\" width=\"20\" height=\"12\" fill=\"rgb({},{},{})\"/>",
            LABEL_W + step * 20,
            rgb[0],
            rgb[1],
            rgb[2]
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">mean p: 0</text><text x=\"{}\" y=\"{}\">1 (italic: no interval; hatched: absent)</text></svg>",
        LABEL_W - 4,
        y + 10,
        LABEL_W + 11 * 20 + 4,
        y + 10
    );
    svg
}
