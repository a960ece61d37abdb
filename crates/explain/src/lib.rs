//! Local explanations: one row's AST with every node coloured by the mean probability of the
//! tokens it collects (confident blue, poor red), beside the row's code with every scored token
//! coloured the same way. The output is self-contained SVG/HTML (no script, no network, styles
//! scoped under the `icx` class), so the analyze report can embed several fragments in one page.
//!
//! Inputs are the rows tag writes for one (model, row): its `nodes.parquet` rows and its
//! `tags.parquet` rows, plus the row's code. This crate reads no files and knows nothing of the
//! pipeline; it only renders.
//!
//! ```no_run
//! # use icodegen_explain::{Explanation, RenderOptions, render_fragment};
//! # let (nodes, tags) = (Vec::new(), Vec::new());
//! let explanation = Explanation {
//!     model_id: "gru",
//!     row_id: "3f2a…",
//!     language: "python",
//!     code: "def f(x):\n    return x\n",
//!     nodes: &nodes, // Vec<nodes::Row> of that model and row
//!     tags: &tags,   // Vec<tags::Row> of that model and row
//! };
//! let html: String = render_fragment(&explanation, &RenderOptions::default())?;
//! # Ok::<(), icodegen_explain::ExplainError>(())
//! ```

use std::fmt::Write as _;

use icodegen_artifacts::schemas::{nodes, tags};

/// Why an explanation cannot be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("nothing to explain: no AST nodes for model `{model_id}`, row `{row_id}`")]
    NoNodes { model_id: String, row_id: String },
    #[error("cannot explain model `{model_id}`, row `{row_id}`: {message}")]
    Inconsistent {
        model_id: String,
        row_id: String,
        message: String,
    },
}

pub type Result<T, E = ExplainError> = std::result::Result<T, E>;

/// One (model, row) to explain.
#[derive(Debug, Clone, Copy)]
pub struct Explanation<'a> {
    pub model_id: &'a str,
    pub row_id: &'a str,
    pub language: &'a str,
    /// The row's code (byte offsets in `nodes` and `tags` index it).
    pub code: &'a str,
    /// The row's nodes.parquet rows (any order; node ids must be 0..n, parents before children).
    pub nodes: &'a [nodes::Row],
    /// The row's tags.parquet rows (any order).
    pub tags: &'a [tags::Row],
}

/// How to render.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderOptions {
    /// Above this many AST nodes, the deepest levels are folded into their ancestors (shown
    /// with a `+k` count) so the diagram stays readable.
    pub max_nodes: usize,
    /// Mean probability at or above which a concept counts as confident (blue).
    pub confident: f64,
    /// Mean probability below which a concept counts as erroneous (red).
    pub poor: f64,
    /// Heading; defaults to the model and row.
    pub title: Option<String>,
}

impl Default for RenderOptions {
    /// 400 nodes, the seed's thresholds (>= 0.6 confident, < 0.5 erroneous).
    fn default() -> Self {
        Self {
            max_nodes: 400,
            confident: 0.6,
            poor: 0.5,
            title: None,
        }
    }
}

const STYLE: &str = "\
.icx{font:13px/1.4 system-ui,sans-serif;color:#1a1a1a;margin:1em 0}\
.icx h3{font-size:15px;margin:0 0 .4em}\
.icx-head{display:flex;flex-wrap:wrap;gap:.3em 1.2em;align-items:center;margin-bottom:.6em}\
.icx-head code{font-size:12px}\
.icx-body{display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap}\
.icx-tree{flex:1 1 480px;overflow:auto;max-height:80vh;border:1px solid #ddd;border-radius:4px}\
.icx-tokens{flex:0 1 auto;max-width:100%;overflow:auto;max-height:80vh;border:1px solid #ddd;border-radius:4px}\
.icx-tokens pre{margin:0;padding:8px;font:12px/1.5 ui-monospace,monospace;tab-size:4}\
.icx-t{border-radius:2px;box-shadow:inset 0 0 0 1px rgba(0,0,0,.08)}\
.icx svg text{font:11px ui-monospace,monospace}\
.icx .icx-src{fill:#555}\
.icx .icx-edge{fill:none;stroke:#999;stroke-width:1}\
";

/// A complete HTML document holding [`render_fragment`].
pub fn render_document(explanation: &Explanation, options: &RenderOptions) -> Result<String> {
    let fragment = render_fragment(explanation, options)?;
    let title = escape(&title_of(explanation, options));
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         </head><body>\n{fragment}\n</body></html>\n"
    ))
}

/// A self-contained `<section class="icx">` with its own scoped style: a heading with the
/// row's mean probability and the colour legend, the AST diagram and the coloured code.
pub fn render_fragment(explanation: &Explanation, options: &RenderOptions) -> Result<String> {
    let tree = tree_svg(explanation, options)?;
    let tokens = tokens_html(explanation, options)?;
    let probabilities: Vec<f64> = explanation
        .tags
        .iter()
        .map(|tag| f64::from(tag.logprob).exp())
        .collect();
    let mean = (!probabilities.is_empty())
        .then(|| probabilities.iter().sum::<f64>() / probabilities.len() as f64);
    let mut html = String::new();
    let _ = write!(
        html,
        "<section class=\"icx\"><style>{STYLE}</style><h3>{}</h3><div class=\"icx-head\">\
         <span>model <b>{}</b></span><span>row <code title=\"{}\">{}</code></span>\
         <span>{}</span><span>{} scored tokens</span><span>mean p = <b>{}</b></span>{}</div>\
         <div class=\"icx-body\"><div class=\"icx-tree\">{tree}</div>\
         <div class=\"icx-tokens\">{tokens}</div></div></section>",
        escape(&title_of(explanation, options)),
        escape(explanation.model_id),
        escape(explanation.row_id),
        escape(short_id(explanation.row_id)),
        escape(explanation.language),
        explanation.tags.len(),
        mean.map_or("n/a".to_owned(), |m| format!("{m:.3}")),
        legend_svg(options),
    );
    Ok(html)
}

fn title_of(explanation: &Explanation, options: &RenderOptions) -> String {
    options.title.clone().unwrap_or_else(|| {
        format!(
            "Local explanation: {} on row {}",
            explanation.model_id,
            short_id(explanation.row_id)
        )
    })
}

fn short_id(id: &str) -> &str {
    match id.char_indices().nth(12) {
        Some((at, _)) => &id[..at],
        None => id,
    }
}

/// The colour of a mean probability: red below `poor`, blue from `confident` up, near-white
/// between; grey when there is no probability (a node that collected no token).
pub fn probability_color(probability: Option<f64>, options: &RenderOptions) -> String {
    let Some(p) = probability.filter(|p| p.is_finite()) else {
        return "#e6e6e6".to_owned();
    };
    let p = p.clamp(0.0, 1.0);
    let middle = (options.poor + options.confident) / 2.0;
    // RdBu: dark red, light red at `poor`, near-white between thresholds, light blue at
    // `confident`, dark blue.
    let stops = [
        (0.0, (178, 24, 43)),
        (options.poor, (244, 165, 130)),
        (middle, (247, 247, 247)),
        (options.confident, (146, 197, 222)),
        (1.0, (33, 102, 172)),
    ];
    let mut color = stops[stops.len() - 1].1;
    for pair in stops.windows(2) {
        let ((x0, c0), (x1, c1)) = (pair[0], pair[1]);
        if p <= x1 {
            let t = if x1 > x0 { (p - x0) / (x1 - x0) } else { 1.0 };
            let mix =
                |a: i32, b: i32| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
            color = (
                i32::from(mix(c0.0, c1.0)),
                i32::from(mix(c0.1, c1.1)),
                i32::from(mix(c0.2, c1.2)),
            );
            break;
        }
    }
    format!("#{:02x}{:02x}{:02x}", color.0, color.1, color.2)
}

/// Black or white, whichever reads on `background` (`#rrggbb`).
fn text_color(background: &str) -> &'static str {
    let channel = |at: usize| {
        u8::from_str_radix(background.get(at..at + 2).unwrap_or("ff"), 16).unwrap_or(255)
    };
    let luminance = 0.2126 * f64::from(channel(1))
        + 0.7152 * f64::from(channel(3))
        + 0.0722 * f64::from(channel(5));
    if luminance < 128.0 {
        "#ffffff"
    } else {
        "#1a1a1a"
    }
}

/// A small horizontal colour bar with the thresholds marked.
pub fn legend_svg(options: &RenderOptions) -> String {
    let (width, height) = (220.0, 30.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         role=\"img\" aria-label=\"colour scale of mean probability\">"
    );
    let steps = 44;
    for step in 0..steps {
        let p = (f64::from(step) + 0.5) / f64::from(steps);
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"2\" width=\"{:.2}\" height=\"10\" fill=\"{}\"/>",
            10.0 + f64::from(step) * 200.0 / f64::from(steps),
            200.0 / f64::from(steps) + 0.3,
            probability_color(Some(p), options)
        );
    }
    for (p, label) in [
        (0.0, "0".to_owned()),
        (options.poor, format!("{}", options.poor)),
        (options.confident, format!("{}", options.confident)),
        (1.0, "1".to_owned()),
    ] {
        let x = 10.0 + p * 200.0;
        let _ = write!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"1\" x2=\"{x:.1}\" y2=\"14\" stroke=\"#333\"/>\
             <text x=\"{x:.1}\" y=\"26\" text-anchor=\"middle\">{label}</text>"
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Checked, indexed view of the nodes.
struct Tree<'a> {
    nodes: Vec<&'a nodes::Row>,
    children: Vec<Vec<usize>>,
}

fn inconsistent(explanation: &Explanation, message: String) -> ExplainError {
    ExplainError::Inconsistent {
        model_id: explanation.model_id.to_owned(),
        row_id: explanation.row_id.to_owned(),
        message,
    }
}

fn check_span(explanation: &Explanation, what: &str, start: i32, end: i32) -> Result<()> {
    if start < 0 || end < start || end as usize > explanation.code.len() {
        return Err(inconsistent(
            explanation,
            format!(
                "{what} has byte span {start}..{end}, outside the {} bytes of the code",
                explanation.code.len()
            ),
        ));
    }
    Ok(())
}

fn check_row(explanation: &Explanation, model_id: &str, row_id: &str, what: &str) -> Result<()> {
    if model_id != explanation.model_id || row_id != explanation.row_id {
        return Err(inconsistent(
            explanation,
            format!("{what} belongs to model `{model_id}`, row `{row_id}`"),
        ));
    }
    Ok(())
}

impl<'a> Tree<'a> {
    fn new(explanation: &Explanation<'a>) -> Result<Self> {
        if explanation.nodes.is_empty() {
            return Err(ExplainError::NoNodes {
                model_id: explanation.model_id.to_owned(),
                row_id: explanation.row_id.to_owned(),
            });
        }
        let mut nodes: Vec<&nodes::Row> = explanation.nodes.iter().collect();
        nodes.sort_by_key(|node| node.node_id);
        let mut children = vec![Vec::new(); nodes.len()];
        for (index, node) in nodes.iter().enumerate() {
            let what = format!("node {}", node.node_id);
            check_row(explanation, &node.model_id, &node.row_id, &what)?;
            if node.node_id != index as i32 {
                return Err(inconsistent(
                    explanation,
                    format!(
                        "node ids must be 0..{}, found {}",
                        nodes.len(),
                        node.node_id
                    ),
                ));
            }
            check_span(explanation, &what, node.byte_start, node.byte_end)?;
            match node.parent_id {
                None if index == 0 => {}
                Some(parent) if parent >= 0 && (parent as usize) < index => {
                    children[parent as usize].push(index);
                }
                parent => {
                    return Err(inconsistent(
                        explanation,
                        format!(
                            "{what} has parent {parent:?}; the root is node 0 and parents come first"
                        ),
                    ));
                }
            }
        }
        Ok(Self { nodes, children })
    }

    /// The deepest level shown so that at most `max_nodes` nodes are drawn (at least the root).
    fn depth_limit(&self, max_nodes: usize) -> i32 {
        let deepest = self.nodes.iter().map(|node| node.depth).max().unwrap_or(0);
        let mut per_depth = vec![0usize; deepest as usize + 1];
        for node in &self.nodes {
            per_depth[node.depth.max(0) as usize] += 1;
        }
        let mut total = 0;
        for (depth, count) in per_depth.iter().enumerate() {
            total += count;
            if total > max_nodes {
                return (depth as i32 - 1).max(0);
            }
        }
        deepest
    }

    /// Nodes in each subtree, the node included (parents come before children).
    fn subtree_sizes(&self) -> Vec<usize> {
        let mut sizes = vec![1; self.nodes.len()];
        for index in (1..self.nodes.len()).rev() {
            if let Some(parent) = self.nodes[index].parent_id {
                sizes[parent as usize] += sizes[index];
            }
        }
        sizes
    }
}

const ROW: f64 = 20.0;
const COLUMN: f64 = 138.0;
const BOX_WIDTH: f64 = 126.0;
const BOX_HEIGHT: f64 = 16.0;
const MARGIN: f64 = 8.0;
const SOURCE_WIDTH: f64 = 230.0;

/// The AST as an SVG tree, root on the left and leaves (in code order) on the right, each
/// leaf followed by its source text. Every box is coloured by the node's mean probability and
/// carries a tooltip (type, byte span, tokens, mean).
pub fn tree_svg(explanation: &Explanation, options: &RenderOptions) -> Result<String> {
    let tree = Tree::new(explanation)?;
    let limit = tree.depth_limit(options.max_nodes.max(1));
    // Rows: shown leaves get consecutive rows in pre-order; a parent sits between its first
    // and last child.
    let count = tree.nodes.len();
    let mut row = vec![0f64; count];
    let mut shown = vec![false; count];
    let mut next_row = 0f64;
    let mut deepest_shown = 0;
    // iterative post-order over shown nodes
    let mut stack: Vec<(usize, bool)> = vec![(0, false)];
    while let Some((index, visited)) = stack.pop() {
        let node = tree.nodes[index];
        let shown_children: Vec<usize> = if node.depth < limit {
            tree.children[index].clone()
        } else {
            Vec::new()
        };
        if !visited {
            shown[index] = true;
            deepest_shown = deepest_shown.max(node.depth);
            if shown_children.is_empty() {
                row[index] = next_row;
                next_row += 1.0;
            } else {
                stack.push((index, true));
                for &child in shown_children.iter().rev() {
                    stack.push((child, false));
                }
            }
        } else {
            let first = row[shown_children[0]];
            let last = row[*shown_children.last().expect("non-empty")];
            row[index] = (first + last) / 2.0;
        }
    }
    let width = MARGIN * 2.0 + f64::from(deepest_shown) * COLUMN + BOX_WIDTH + SOURCE_WIDTH;
    let height = MARGIN * 2.0 + next_row * ROW;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"AST of row {} coloured \
         by {}'s mean token probability\">",
        escape(short_id(explanation.row_id)),
        escape(explanation.model_id)
    );
    let x_of = |index: usize| MARGIN + f64::from(tree.nodes[index].depth) * COLUMN;
    let y_of = |index: usize| MARGIN + row[index] * ROW;
    let shown: Vec<usize> = (0..count).filter(|&index| shown[index]).collect();
    let sizes = tree.subtree_sizes();
    // Edges first, so boxes cover their ends.
    for &index in &shown {
        if tree.nodes[index].depth >= limit {
            continue;
        }
        for &child in &tree.children[index] {
            let (x1, y1) = (x_of(index) + BOX_WIDTH, y_of(index) + BOX_HEIGHT / 2.0);
            let (x2, y2) = (x_of(child), y_of(child) + BOX_HEIGHT / 2.0);
            let middle = (x1 + x2) / 2.0;
            let _ = write!(
                svg,
                "<path class=\"icx-edge\" d=\"M{x1:.1} {y1:.1}H{middle:.1}V{y2:.1}H{x2:.1}\"/>"
            );
        }
    }
    for &index in &shown {
        let node = tree.nodes[index];
        let (x, y) = (x_of(index), y_of(index));
        let fill = probability_color(node.mean_prob, options);
        let ink = text_color(&fill);
        let folded = if node.depth >= limit && !tree.children[index].is_empty() {
            sizes[index] - 1
        } else {
            0
        };
        let mean = node
            .mean_prob
            .map_or("no token".to_owned(), |p| format!("mean p {p:.3}"));
        let tooltip = format!(
            "{} · bytes {}..{} · {} token{} · {}{}",
            node.node_type,
            node.byte_start,
            node.byte_end,
            node.n_tokens,
            if node.n_tokens == 1 { "" } else { "s" },
            mean,
            if folded > 0 {
                format!(" · {folded} descendants folded")
            } else {
                String::new()
            }
        );
        let dash = if node.mean_prob.is_none() {
            " stroke-dasharray=\"3 2\""
        } else {
            ""
        };
        let _ = write!(
            svg,
            "<g><title>{}</title><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{BOX_WIDTH}\" \
             height=\"{BOX_HEIGHT}\" rx=\"3\" fill=\"{fill}\" stroke=\"#555\" \
             stroke-width=\"0.6\"{dash}/><text x=\"{:.1}\" y=\"{:.1}\" fill=\"{ink}\">{}</text>",
            escape(&tooltip),
            x + 4.0,
            y + 12.0,
            escape(&truncate(&node.node_type, 13)),
        );
        let badge = match (folded, node.mean_prob) {
            (0, Some(p)) => format!("{p:.2}"),
            (0, None) => String::new(),
            (folded, _) => format!("+{folded}"),
        };
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"{ink}\" text-anchor=\"end\">{}</text></g>",
            x + BOX_WIDTH - 4.0,
            y + 12.0,
            escape(&badge)
        );
        let is_shown_leaf = tree.children[index].is_empty() || node.depth >= limit;
        if is_shown_leaf {
            let source = source_text(explanation.code, node.byte_start, node.byte_end);
            let _ = write!(
                svg,
                "<text class=\"icx-src\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                x + BOX_WIDTH + 6.0,
                y + 12.0,
                escape(&truncate(&source, 32))
            );
        }
    }
    svg.push_str("</svg>");
    Ok(svg)
}

/// The code as `<pre>`, each scored token highlighted with its probability's colour and a
/// tooltip (token, probability, leaf type, category). Text no token covers (the first token,
/// which is never scored) stays plain; tokens without a span are counted in a note.
pub fn tokens_html(explanation: &Explanation, options: &RenderOptions) -> Result<String> {
    let code = explanation.code;
    let mut spans: Vec<&tags::Row> = Vec::new();
    let mut without_span = 0;
    for tag in explanation.tags {
        check_row(
            explanation,
            &tag.model_id,
            &tag.row_id,
            &format!("token {}", tag.position),
        )?;
        match (tag.byte_start, tag.byte_end) {
            (Some(start), Some(end)) if start < end => {
                check_span(explanation, &format!("token {}", tag.position), start, end)?;
                spans.push(tag);
            }
            _ => without_span += 1,
        }
    }
    spans.sort_by_key(|tag| (tag.byte_start, tag.position));
    let mut html = String::from("<pre>");
    let mut cursor = 0usize;
    for tag in spans {
        // Snap to character boundaries: byte-level tokenizers may split a character.
        let start = floor_boundary(code, tag.byte_start.unwrap_or(0) as usize).max(cursor);
        let end = ceil_boundary(code, tag.byte_end.unwrap_or(0) as usize);
        if end <= start {
            continue; // already drawn as part of an earlier token sharing these bytes
        }
        html.push_str(&escape(&code[cursor..start]));
        let probability = f64::from(tag.logprob).exp();
        let fill = probability_color(Some(probability), options);
        let tooltip = format!(
            "{:?} · p {:.3} · {}{}",
            tag.token,
            probability,
            tag.node_type.as_deref().unwrap_or("no leaf"),
            tag.category
                .as_deref()
                .map_or(String::new(), |category| format!(" · {category}"))
        );
        let _ = write!(
            html,
            "<span class=\"icx-t\" style=\"background:{fill};color:{}\" title=\"{}\">{}</span>",
            text_color(&fill),
            escape(&tooltip),
            escape(&code[start..end])
        );
        cursor = end;
    }
    html.push_str(&escape(&code[cursor..]));
    html.push_str("</pre>");
    if without_span > 0 {
        let _ = write!(
            html,
            "<p style=\"margin:4px 8px;color:#555\">{without_span} scored token{} without a \
             span (special tokens) not shown.</p>",
            if without_span == 1 { "" } else { "s" }
        );
    }
    Ok(html)
}

fn floor_boundary(code: &str, mut at: usize) -> usize {
    at = at.min(code.len());
    while !code.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_boundary(code: &str, mut at: usize) -> usize {
    at = at.min(code.len());
    while !code.is_char_boundary(at) {
        at += 1;
    }
    at
}

/// A node's source on one line: newlines and tabs shown as `⏎` and `⇥`.
fn source_text(code: &str, start: i32, end: i32) -> String {
    let start = floor_boundary(code, start.max(0) as usize);
    let end = ceil_boundary(code, end.max(0) as usize).max(start);
    code[start..end]
        .chars()
        .map(|c| match c {
            '\n' => '⏎',
            '\t' => '⇥',
            '\r' => ' ',
            c => c,
        })
        .collect()
}

fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Escapes text for HTML/SVG content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = "if a<b:\n    ß = 1\n";

    fn node(
        id: i32,
        parent: Option<i32>,
        node_type: &str,
        span: (i32, i32),
        depth: i32,
        mean: Option<f64>,
    ) -> nodes::Row {
        nodes::Row {
            model_id: "m".into(),
            row_id: "r".into(),
            node_id: id,
            parent_id: parent,
            node_type: node_type.into(),
            byte_start: span.0,
            byte_end: span.1,
            depth,
            n_tokens: i32::from(mean.is_some()),
            mean_prob: mean,
        }
    }

    fn tag(position: i32, token: &str, span: Option<(i32, i32)>, probability: f64) -> tags::Row {
        tags::Row {
            model_id: "m".into(),
            row_id: "r".into(),
            position,
            token: token.into(),
            byte_start: span.map(|s| s.0),
            byte_end: span.map(|s| s.1),
            logprob: probability.ln() as f32,
            node_type: span.map(|_| "identifier".to_owned()),
            ..Default::default()
        }
    }

    fn sample() -> (Vec<nodes::Row>, Vec<tags::Row>) {
        let nodes = vec![
            node(0, None, "module", (0, 19), 0, Some(0.5)),
            node(1, Some(0), "if_statement", (0, 18), 1, Some(0.5)),
            node(2, Some(1), "if", (0, 2), 2, None),
            node(3, Some(1), "comparison_operator", (3, 6), 2, Some(0.9)),
            node(4, Some(3), "identifier", (3, 4), 3, Some(0.95)),
            node(5, Some(3), "<", (4, 5), 3, Some(0.05)),
            node(6, Some(3), "identifier", (5, 6), 3, Some(0.9)),
            node(7, Some(1), ":", (6, 7), 2, Some(0.7)),
            node(8, Some(1), "block", (12, 18), 2, Some(0.3)),
            node(9, Some(8), "identifier", (12, 14), 3, Some(0.3)),
        ];
        let tags = vec![
            tag(0, "<bos>", None, 0.5),
            tag(1, " a", Some((2, 4)), 0.95),
            tag(2, "<", Some((4, 5)), 0.05),
            tag(3, "b", Some((5, 6)), 0.9),
            tag(4, "ß", Some((12, 14)), 0.3),
        ];
        (nodes, tags)
    }

    fn explanation<'a>(nodes: &'a [nodes::Row], tags: &'a [tags::Row]) -> Explanation<'a> {
        Explanation {
            model_id: "m",
            row_id: "r",
            language: "python",
            code: CODE,
            nodes,
            tags,
        }
    }

    #[test]
    fn colours_are_red_below_poor_blue_from_confident_and_grey_without_tokens() {
        let options = RenderOptions::default();
        assert_eq!(probability_color(Some(0.0), &options), "#b2182b");
        assert_eq!(probability_color(Some(1.0), &options), "#2166ac");
        assert_eq!(probability_color(Some(0.5), &options), "#f4a582");
        assert_eq!(probability_color(Some(0.6), &options), "#92c5de");
        assert_eq!(probability_color(None, &options), "#e6e6e6");
        let red = probability_color(Some(0.2), &options);
        assert!(
            u8::from_str_radix(&red[1..3], 16).unwrap()
                > u8::from_str_radix(&red[5..7], 16).unwrap()
        );
    }

    #[test]
    fn the_tree_shows_every_node_with_its_colour_and_escaped_source() {
        let (nodes, tags) = sample();
        let svg = tree_svg(&explanation(&nodes, &tags), &RenderOptions::default()).unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<rect").count(), nodes.len());
        assert!(svg.contains(">comparison_o…<"), "long types are truncated");
        assert!(svg.contains("&lt;"), "`<` in types and code is escaped");
        assert!(!svg.contains("a<b"));
        assert!(svg.contains(&probability_color(Some(0.05), &RenderOptions::default())));
        assert!(
            svg.contains("stroke-dasharray"),
            "a node without tokens is dashed"
        );
        assert!(svg.contains(">ß<"), "non-ASCII source is kept");
    }

    #[test]
    fn large_trees_fold_their_deepest_levels() {
        let (nodes, tags) = sample();
        let options = RenderOptions {
            max_nodes: 5,
            ..Default::default()
        };
        let svg = tree_svg(&explanation(&nodes, &tags), &options).unwrap();
        // depth 0..=1 (2 nodes) fits, depth 2 would make 6 > 5
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains(">+8<"), "{svg}");
    }

    #[test]
    fn tokens_are_coloured_in_place_and_special_tokens_are_counted() {
        let (nodes, tags) = sample();
        let html = tokens_html(&explanation(&nodes, &tags), &RenderOptions::default()).unwrap();
        assert!(html.starts_with("<pre>if"), "{html}");
        assert_eq!(html.matches("class=\"icx-t\"").count(), 4);
        assert!(html.contains(">&lt;</span>"));
        assert!(html.contains(">ß</span>"));
        assert!(html.contains("1 scored token without a span"));
        // the text after the last token is kept
        assert!(html.contains(" = 1\n</pre>"), "{html}");
    }

    #[test]
    fn a_fragment_is_self_contained_and_a_document_wraps_it() {
        let (nodes, tags) = sample();
        let explanation = explanation(&nodes, &tags);
        let fragment = render_fragment(&explanation, &RenderOptions::default()).unwrap();
        assert!(fragment.starts_with("<section class=\"icx\"><style>"));
        assert!(!fragment.contains("<script"));
        assert!(
            !fragment.contains("http://")
                || fragment.matches("http://").count()
                    == fragment
                        .matches("xmlns=\"http://www.w3.org/2000/svg\"")
                        .count()
        );
        assert!(fragment.contains("mean p = <b>0.540</b>"), "{fragment}");
        let document = render_document(&explanation, &RenderOptions::default()).unwrap();
        assert!(document.starts_with("<!DOCTYPE html>") && document.contains(&fragment));
    }

    #[test]
    fn inconsistent_inputs_are_errors_not_panics() {
        let (mut nodes, tags) = sample();
        nodes[3].byte_end = 99;
        let error = tree_svg(&explanation(&nodes, &tags), &RenderOptions::default()).unwrap_err();
        assert!(
            error.to_string().contains("outside the 19 bytes"),
            "{error}"
        );
        let (mut nodes, mut tags) = sample();
        nodes[2].parent_id = Some(7);
        assert!(tree_svg(&explanation(&nodes, &tags), &RenderOptions::default()).is_err());
        tags[1].row_id = "other".into();
        let error =
            tokens_html(&explanation(&nodes, &tags), &RenderOptions::default()).unwrap_err();
        assert!(error.to_string().contains("row `other`"), "{error}");
        assert!(matches!(
            tree_svg(&explanation(&[], &tags), &RenderOptions::default()),
            Err(ExplainError::NoNodes { .. })
        ));
    }
}
