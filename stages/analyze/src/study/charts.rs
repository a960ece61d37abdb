//! The report's charts as inline SVG drawn with plotters: one chart shape, a stack of labelled
//! horizontal rows over a numeric x axis, carries every figure of the report (concept means
//! with intervals and the 0.5 / 0.6 reference lines, box plots, control-vs-treated
//! distributions, forest plots with text beside each row).

use anyhow::{Result, anyhow};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// A colour of the charts.
pub type Paint = RGBColor;

/// Colours of series (models, arms), colour-blind friendly (Okabe-Ito).
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
];
pub const GREY: RGBColor = RGBColor(120, 120, 120);
pub const POOR: RGBColor = RGBColor(200, 40, 40);
pub const CONFIDENT: RGBColor = RGBColor(30, 110, 200);

/// Something drawn on a row, at a vertical offset within it (-0.5 bottom .. 0.5 top).
#[derive(Debug, Clone)]
pub enum Mark {
    /// A point with an optional interval; hollow points mark estimates without one.
    Point {
        value: f64,
        interval: Option<(f64, f64)>,
        color: RGBColor,
        hollow: bool,
        offset: f64,
    },
    /// A box plot: minimum, first quartile, median, third quartile, maximum; and the mean.
    Box {
        five: [f64; 5],
        mean: f64,
        color: RGBColor,
        offset: f64,
    },
}

/// One labelled row.
#[derive(Debug, Clone)]
pub struct Row {
    pub label: String,
    pub marks: Vec<Mark>,
    /// Text right of the plot (correlations beside a forest plot, n, ...).
    pub right: Option<String>,
}

/// Where a reference line's label sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Left,
    Center,
    Right,
}

/// A vertical reference line.
#[derive(Debug, Clone)]
pub struct Reference {
    pub x: f64,
    pub color: RGBColor,
    pub label: String,
    /// The label's side of the line, so labels of close lines do not overlap.
    pub side: Side,
}

impl Reference {
    /// The black line at zero (no effect).
    pub fn zero() -> Reference {
        Reference {
            x: 0.0,
            color: BLACK,
            label: "0".to_owned(),
            side: Side::Center,
        }
    }
}

/// A chart of rows.
#[derive(Debug, Clone)]
pub struct RowChart {
    pub title: String,
    pub x_label: String,
    /// `None`: from the data, padded.
    pub x_range: Option<(f64, f64)>,
    pub rows: Vec<Row>,
    pub references: Vec<Reference>,
    /// Series names and colours; `true` = hollow marker.
    pub legend: Vec<(String, RGBColor, bool)>,
    /// Heading of the right-hand text column.
    pub right_title: Option<String>,
    pub row_height: u32,
}

impl RowChart {
    pub fn new(title: impl Into<String>, x_label: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            x_range: None,
            rows: Vec::new(),
            references: Vec::new(),
            legend: Vec::new(),
            right_title: None,
            row_height: 24,
        }
    }
}

fn data_range(chart: &RowChart) -> (f64, f64) {
    let mut low = f64::INFINITY;
    let mut high = f64::NEG_INFINITY;
    let mut see = |value: f64| {
        if value.is_finite() {
            low = low.min(value);
            high = high.max(value);
        }
    };
    for row in &chart.rows {
        for mark in &row.marks {
            match mark {
                Mark::Point {
                    value, interval, ..
                } => {
                    see(*value);
                    if let Some((a, b)) = interval {
                        see(*a);
                        see(*b);
                    }
                }
                Mark::Box { five, mean, .. } => {
                    five.iter().for_each(|v| see(*v));
                    see(*mean);
                }
            }
        }
    }
    for reference in &chart.references {
        see(reference.x);
    }
    if !low.is_finite() {
        return (0.0, 1.0);
    }
    if high - low < 1e-9 {
        return (low - 0.5, high + 0.5);
    }
    let pad = (high - low) * 0.06;
    (low - pad, high + pad)
}

fn text_width(text: &str, size: f64) -> u32 {
    (text.chars().count() as f64 * size * 0.6).ceil() as u32
}

/// Draws the chart; returns the `<svg>` element (sized to its content, scaling down with the
/// page).
pub fn render(chart: &RowChart) -> Result<String> {
    let fail = |error: &dyn std::fmt::Display| anyhow!("drawing `{}`: {error}", chart.title);
    let label_width = chart
        .rows
        .iter()
        .map(|row| text_width(&row.label, 12.0))
        .max()
        .unwrap_or(40)
        .clamp(60, 300)
        + 14;
    let right_width = chart
        .rows
        .iter()
        .filter_map(|row| row.right.as_deref())
        .chain(chart.right_title.as_deref())
        .map(|text| text_width(text, 11.0))
        .max()
        .map_or(0, |width| width.clamp(60, 360) + 16);
    let plot_width = 560;
    let width = label_width + plot_width + right_width + 20;
    let legend_height = if chart.legend.is_empty() { 0 } else { 22 };
    let reference_height = if chart.references.is_empty() { 0 } else { 14 };
    let top = 34 + legend_height + reference_height;
    let rows = chart.rows.len().max(1);
    let height = top + chart.row_height * rows as u32 + 48;
    let (x0, x1) = chart.x_range.unwrap_or_else(|| data_range(chart));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let title_style = ("sans-serif", 16)
            .into_font()
            .style(FontStyle::Bold)
            .color(&BLACK);
        root.draw_text(&chart.title, &title_style, (10, 8))
            .map_err(|e| fail(&e))?;
        let mut legend_x = label_width as i32;
        for (name, color, hollow) in &chart.legend {
            let y = 34 + 8;
            let style = if *hollow {
                color.stroke_width(2)
            } else {
                color.filled()
            };
            root.draw(&Circle::new((legend_x + 5, y), 5, style))
                .map_err(|e| fail(&e))?;
            let text = ("sans-serif", 12)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center));
            root.draw_text(name, &text, (legend_x + 14, y))
                .map_err(|e| fail(&e))?;
            legend_x += 30 + text_width(name, 12.0) as i32;
        }
        let (plot, right) = root.split_horizontally(width - right_width);
        let mut context = ChartBuilder::on(&plot)
            .margin_top(top)
            .margin_right(10)
            .margin_left(4)
            .margin_bottom(4)
            .x_label_area_size(40)
            .y_label_area_size(label_width)
            .build_cartesian_2d(x0..x1, 0f64..rows as f64)
            .map_err(|e| fail(&e))?;
        let no_label = |_: &f64| String::new();
        context
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(1)
            .y_label_formatter(&no_label)
            .x_labels(8)
            .x_desc(chart.x_label.as_str())
            .label_style(("sans-serif", 12))
            .axis_desc_style(("sans-serif", 12))
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()
            .map_err(|e| fail(&e))?;
        let center = |index: usize| rows as f64 - index as f64 - 0.5;
        // Zebra stripes make long charts readable.
        context
            .draw_series(
                chart
                    .rows
                    .iter()
                    .enumerate()
                    .filter(|(index, _)| index % 2 == 1)
                    .map(|(index, _)| {
                        let y = center(index);
                        Rectangle::new(
                            [(x0, y - 0.5), (x1, y + 0.5)],
                            RGBColor(246, 246, 246).filled(),
                        )
                    }),
            )
            .map_err(|e| fail(&e))?;
        for reference in &chart.references {
            context
                .draw_series(std::iter::once(PathElement::new(
                    vec![(reference.x, 0.0), (reference.x, rows as f64)],
                    reference.color.stroke_width(1),
                )))
                .map_err(|e| fail(&e))?;
            let (px, py) = context.backend_coord(&(reference.x, rows as f64));
            let (anchor, shift) = match reference.side {
                Side::Left => (HPos::Right, -3),
                Side::Center => (HPos::Center, 0),
                Side::Right => (HPos::Left, 3),
            };
            let style = ("sans-serif", 11)
                .into_font()
                .color(&reference.color)
                .pos(Pos::new(anchor, VPos::Bottom));
            root.draw_text(&reference.label, &style, (px + shift, py - 2))
                .map_err(|e| fail(&e))?;
        }
        let label_style = ("sans-serif", 12)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Right, VPos::Center));
        let right_style = ("sans-serif", 11)
            .into_font()
            .color(&RGBColor(60, 60, 60))
            .pos(Pos::new(HPos::Left, VPos::Center));
        let half = |offset: f64, share: f64| offset + share;
        for (index, row) in chart.rows.iter().enumerate() {
            let y = center(index);
            let (left_px, row_px) = context.backend_coord(&(x0, y));
            root.draw_text(&row.label, &label_style, (left_px - 8, row_px))
                .map_err(|e| fail(&e))?;
            if let Some(text) = &row.right {
                right
                    .draw_text(text, &right_style, (8, row_px))
                    .map_err(|e| fail(&e))?;
            }
            for mark in &row.marks {
                match mark {
                    Mark::Point {
                        value,
                        interval,
                        color,
                        hollow,
                        offset,
                    } => {
                        let y = y + offset;
                        if let Some((low, high)) = interval {
                            let clip = |v: f64| v.clamp(x0, x1);
                            context
                                .draw_series([
                                    PathElement::new(
                                        vec![(clip(*low), y), (clip(*high), y)],
                                        color.stroke_width(2),
                                    ),
                                    PathElement::new(
                                        vec![(clip(*low), y - 0.15), (clip(*low), y + 0.15)],
                                        color.stroke_width(1),
                                    ),
                                    PathElement::new(
                                        vec![(clip(*high), y - 0.15), (clip(*high), y + 0.15)],
                                        color.stroke_width(1),
                                    ),
                                ])
                                .map_err(|e| fail(&e))?;
                        }
                        if value.is_finite() {
                            let style = if *hollow {
                                WHITE.filled()
                            } else {
                                color.filled()
                            };
                            context
                                .draw_series([
                                    Circle::new((*value, y), 4, style),
                                    Circle::new(
                                        (*value, y),
                                        4,
                                        color.stroke_width(if *hollow { 2 } else { 1 }),
                                    ),
                                ])
                                .map_err(|e| fail(&e))?;
                        }
                    }
                    Mark::Box {
                        five,
                        mean,
                        color,
                        offset,
                    } => {
                        let [min, q1, median, q3, max] = *five;
                        let y = y + offset;
                        let h = 0.16;
                        let light = RGBColor(
                            (255.0 - (255.0 - f64::from(color.0)) * 0.35) as u8,
                            (255.0 - (255.0 - f64::from(color.1)) * 0.35) as u8,
                            (255.0 - (255.0 - f64::from(color.2)) * 0.35) as u8,
                        );
                        context
                            .draw_series([
                                PathElement::new(vec![(min, y), (q1, y)], color.stroke_width(1)),
                                PathElement::new(vec![(q3, y), (max, y)], color.stroke_width(1)),
                                PathElement::new(
                                    vec![(min, half(y, -h * 0.6)), (min, half(y, h * 0.6))],
                                    color.stroke_width(1),
                                ),
                                PathElement::new(
                                    vec![(max, half(y, -h * 0.6)), (max, half(y, h * 0.6))],
                                    color.stroke_width(1),
                                ),
                            ])
                            .map_err(|e| fail(&e))?;
                        context
                            .draw_series([
                                Rectangle::new([(q1, y - h), (q3, y + h)], light.filled()),
                                Rectangle::new([(q1, y - h), (q3, y + h)], color.stroke_width(1)),
                            ])
                            .map_err(|e| fail(&e))?;
                        context
                            .draw_series([PathElement::new(
                                vec![(median, y - h), (median, y + h)],
                                color.stroke_width(3),
                            )])
                            .map_err(|e| fail(&e))?;
                        if mean.is_finite() {
                            context
                                .draw_series([
                                    Circle::new((*mean, y), 3, WHITE.filled()),
                                    Circle::new((*mean, y), 3, BLACK.stroke_width(1)),
                                ])
                                .map_err(|e| fail(&e))?;
                        }
                    }
                }
            }
        }
        if let Some(title) = &chart.right_title {
            let style = ("sans-serif", 11)
                .into_font()
                .style(FontStyle::Bold)
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Bottom));
            right
                .draw_text(title, &style, (8, top as i32 - 4))
                .map_err(|e| fail(&e))?;
        }
        root.present().map_err(|e| fail(&e))?;
    }
    Ok(responsive(&svg, &chart.title))
}

/// Lets the SVG scale down with the page and names it for screen readers.
fn responsive(svg: &str, title: &str) -> String {
    let Some(end) = svg.find('>') else {
        return svg.to_owned();
    };
    let head = &svg[..end];
    let width = attribute(head, "width");
    let height = attribute(head, "height");
    let mut out = String::with_capacity(svg.len() + 200);
    match (width, height) {
        (Some(width), Some(height)) => {
            out.push_str(&format!(
                "<svg class=\"chart\" role=\"img\" aria-label=\"{}\" width=\"{width}\" height=\"{height}\" \
                 viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\"",
                icodegen_explain::escape(title)
            ));
        }
        _ => out.push_str(head),
    }
    out.push_str(&svg[end..]);
    out
}

fn attribute<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    let start = head.find(&format!(" {name}=\""))? + name.len() + 3;
    let rest = &head[start..];
    Some(&rest[..rest.find('"')?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_one_svg_with_every_label_escaped() {
        let mut chart = RowChart::new("concepts of <gru>", "mean probability");
        chart.x_range = Some((0.0, 1.0));
        chart.references.push(Reference {
            x: 0.5,
            color: POOR,
            label: "0.5".into(),
            side: Side::Left,
        });
        chart.rows.push(Row {
            label: "a && b".into(),
            marks: vec![Mark::Point {
                value: 0.4,
                interval: Some((0.3, 0.5)),
                color: PALETTE[0],
                hollow: false,
                offset: 0.0,
            }],
            right: Some("r = 0.1".into()),
        });
        chart.rows.push(Row {
            label: "box".into(),
            marks: vec![Mark::Box {
                five: [0.1, 0.2, 0.3, 0.4, 0.9],
                mean: 0.35,
                color: PALETTE[1],
                offset: 0.0,
            }],
            right: None,
        });
        let svg = render(&chart).unwrap();
        assert!(svg.starts_with("<svg class=\"chart\""), "{}", &svg[..200]);
        assert_eq!(svg.matches("<svg").count(), 1);
        assert!(svg.contains("a &amp;&amp; b"));
        assert!(svg.contains("concepts of &lt;gru&gt;"));
        assert!(svg.contains("viewBox"));
    }
}
