//! `icodegen dag`: the stage graph as an ASCII tree, Graphviz dot or a Mermaid flowchart.
//! Pure functions of stage names and the graph.

use std::collections::BTreeSet;

use crate::graph::Graph;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ascii,
    Dot,
    Mermaid,
}

/// Renders the stages in `shown` (all when `None`).
pub fn render(
    names: &[String],
    graph: &Graph,
    shown: Option<&BTreeSet<usize>>,
    format: Format,
) -> String {
    let visible = |stage: usize| shown.is_none_or(|shown| shown.contains(&stage));
    let stages: Vec<usize> = graph
        .order
        .iter()
        .copied()
        .filter(|&s| visible(s))
        .collect();
    let edges: Vec<(usize, usize)> = stages
        .iter()
        .flat_map(|&from| {
            graph.downstream[from]
                .iter()
                .filter(|&&to| visible(to))
                .map(move |&to| (from, to))
        })
        .collect();
    match format {
        Format::Ascii => ascii(names, graph, &stages, &visible),
        Format::Dot => {
            let mut text = String::from("digraph pipeline {\n    node [shape=box];\n");
            for &stage in &stages {
                text.push_str(&format!("    {};\n", quote(&names[stage])));
            }
            for (from, to) in edges {
                text.push_str(&format!(
                    "    {} -> {};\n",
                    quote(&names[from]),
                    quote(&names[to])
                ));
            }
            text.push_str("}\n");
            text
        }
        Format::Mermaid => {
            let mut text = String::from("flowchart TD\n");
            for &stage in &stages {
                text.push_str(&format!(
                    "    s{stage}[\"{}\"]\n",
                    names[stage].replace('"', "#quot;")
                ));
            }
            for (from, to) in edges {
                text.push_str(&format!("    s{from} --> s{to}\n"));
            }
            text
        }
    }
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

fn ascii(
    names: &[String],
    graph: &Graph,
    stages: &[usize],
    visible: &dyn Fn(usize) -> bool,
) -> String {
    let mut text = String::new();
    let mut printed = BTreeSet::new();
    let roots = stages
        .iter()
        .copied()
        .filter(|&stage| !graph.upstream[stage].iter().any(|&up| visible(up)));
    for root in roots {
        tree(
            names,
            graph,
            visible,
            root,
            "",
            None,
            &mut printed,
            &mut text,
        );
    }
    text
}

#[allow(clippy::too_many_arguments)]
fn tree(
    names: &[String],
    graph: &Graph,
    visible: &dyn Fn(usize) -> bool,
    stage: usize,
    indent: &str,
    last: Option<bool>,
    printed: &mut BTreeSet<usize>,
    text: &mut String,
) {
    let (branch, child_indent) = match last {
        None => (String::new(), String::new()),
        Some(true) => (format!("{indent}└── "), format!("{indent}    ")),
        Some(false) => (format!("{indent}├── "), format!("{indent}│   ")),
    };
    let children: Vec<usize> = graph.downstream[stage]
        .iter()
        .copied()
        .filter(|&s| visible(s))
        .collect();
    if !printed.insert(stage) {
        let more = if children.is_empty() {
            ""
        } else {
            " (see above)"
        };
        text.push_str(&format!("{branch}{}{more}\n", names[stage]));
        return;
    }
    text.push_str(&format!("{branch}{}\n", names[stage]));
    for (position, &child) in children.iter().enumerate() {
        let is_last = position + 1 == children.len();
        tree(
            names,
            graph,
            visible,
            child,
            &child_indent,
            Some(is_last),
            printed,
            text,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Vec<String>, Graph) {
        let names = ["ingest", "train@a", "train@b", "analyze"]
            .map(String::from)
            .to_vec();
        (
            names,
            Graph::from_edges(4, &[(0, 1), (0, 2), (1, 3), (2, 3)]),
        )
    }

    #[test]
    fn ascii_tree_marks_repeated_stages() {
        let (names, graph) = sample();
        assert_eq!(
            render(&names, &graph, None, Format::Ascii),
            "ingest\n├── train@a\n│   └── analyze\n└── train@b\n    └── analyze\n"
        );
    }

    #[test]
    fn dot_and_mermaid_list_every_edge() {
        let (names, graph) = sample();
        let dot = render(&names, &graph, None, Format::Dot);
        assert!(dot.contains("\"train@b\" -> \"analyze\";"), "{dot}");
        let mermaid = render(&names, &graph, None, Format::Mermaid);
        assert!(
            mermaid.starts_with("flowchart TD\n") && mermaid.contains("s0 --> s1"),
            "{mermaid}"
        );
        let only = BTreeSet::from([0, 1]);
        assert_eq!(
            render(&names, &graph, Some(&only), Format::Ascii),
            "ingest\n└── train@a\n"
        );
    }
}
