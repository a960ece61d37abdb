//! A causal graph from a small DOT subset, and the back-door adjustment set it implies.
//!
//! Accepted DOT: `digraph [name] { ... }` with statements separated by `;` or newlines:
//! edges `a -> b`, chains `a -> b -> c`, node statements `a`, quoted names `"token count"`,
//! attribute lists `[...]` (ignored) and `graph/node/edge [...]` defaults (ignored); comments
//! `//`, `#` and `/* */`. Undirected graphs, `--` edges and subgraphs are rejected with a
//! message. Graphviz is not needed.
//!
//! Identification: Z satisfies the back-door criterion for (T, Y) when no member of Z is a
//! descendant of T and Z d-separates T from Y in the graph with T's outgoing edges removed.
//! Among the observed variables R = observed \ (De(T) ∪ {T, Y}), the set
//! `An(T ∪ Y) ∩ R` (ancestors in that edge-removed graph) is a back-door set whenever any
//! back-door set inside R exists (Tian, Paz & Pearl 1998), so checking it decides
//! identifiability. [`BackdoorSets::minimal`] removes members greedily while the criterion
//! still holds.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::error::{CausalError, Result};

/// A directed acyclic graph over named variables.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CausalGraph {
    nodes: BTreeSet<String>,
    /// parent -> children
    children: BTreeMap<String, BTreeSet<String>>,
    /// child -> parents
    parents: BTreeMap<String, BTreeSet<String>>,
}

/// Back-door adjustment sets found in a graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackdoorSets {
    /// `An(T ∪ Y)` restricted to observed non-descendants of T (the set estimators use).
    pub adjustment_set: Vec<String>,
    /// A minimal subset of it that still satisfies the criterion.
    pub minimal: Vec<String>,
}

fn graph_error(source_name: &str, message: impl Into<String>) -> CausalError {
    CausalError::Graph {
        source_name: source_name.to_string(),
        message: message.into(),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Identifier(String, usize),
    Arrow(usize),
    UndirectedEdge(usize),
    Symbol(char, usize),
}

fn tokenize(text: &str, source_name: &str) -> Result<Vec<Token>> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
                i += 2;
            }
            '-' if chars.get(i + 1) == Some(&'>') => {
                tokens.push(Token::Arrow(line));
                i += 2;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                tokens.push(Token::UndirectedEdge(line));
                i += 2;
            }
            '"' => {
                let start_line = line;
                let mut name = String::new();
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    name.push(chars[i]);
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(graph_error(
                        source_name,
                        format!("line {start_line}: unterminated quoted name"),
                    ));
                }
                i += 1;
                tokens.push(Token::Identifier(name, start_line));
            }
            c if c.is_alphanumeric() || c == '_' || c == '.' => {
                let mut name = String::new();
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
                {
                    name.push(chars[i]);
                    i += 1;
                }
                tokens.push(Token::Identifier(name, line));
            }
            '{' | '}' | ';' | ',' | '[' | ']' | '=' => {
                tokens.push(Token::Symbol(c, line));
                i += 1;
            }
            other => {
                return Err(graph_error(
                    source_name,
                    format!("line {line}: unexpected character `{other}`"),
                ));
            }
        }
    }
    Ok(tokens)
}

impl CausalGraph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a node (no-op if present).
    pub fn add_node(&mut self, name: &str) {
        self.nodes.insert(name.to_string());
    }

    /// Adds the edge `from -> to`.
    pub fn add_edge(&mut self, from: &str, to: &str) {
        self.add_node(from);
        self.add_node(to);
        self.children
            .entry(from.to_string())
            .or_default()
            .insert(to.to_string());
        self.parents
            .entry(to.to_string())
            .or_default()
            .insert(from.to_string());
    }

    /// Parses the DOT subset described in the module documentation. `source_name` (a path)
    /// appears in errors. Cycles are rejected.
    pub fn from_dot(text: &str, source_name: &str) -> Result<Self> {
        let tokens = tokenize(text, source_name)?;
        let mut position = 0;
        // Header: [strict] digraph [name] {
        let mut saw_digraph = false;
        while position < tokens.len() {
            match &tokens[position] {
                Token::Identifier(word, _) if word == "strict" => position += 1,
                Token::Identifier(word, _) if word == "digraph" => {
                    saw_digraph = true;
                    position += 1;
                }
                Token::Identifier(word, line) if word == "graph" && !saw_digraph => {
                    return Err(graph_error(
                        source_name,
                        format!(
                            "line {line}: an undirected `graph` has no causal direction; use `digraph`"
                        ),
                    ));
                }
                Token::Identifier(_, _) if saw_digraph => position += 1,
                Token::Symbol(';', _) => position += 1,
                Token::Symbol('{', _) if saw_digraph => {
                    position += 1;
                    break;
                }
                _ => return Err(graph_error(source_name, "expected `digraph { ... }`")),
            }
        }
        if !saw_digraph {
            return Err(graph_error(source_name, "expected `digraph { ... }`"));
        }
        let mut graph = CausalGraph::new();
        let mut closed = false;
        let mut statement: Vec<(String, usize)> = Vec::new();
        let mut expect_node = true;
        let flush = |statement: &mut Vec<(String, usize)>, graph: &mut CausalGraph| {
            if statement.len() == 1 {
                let name = &statement[0].0;
                if !matches!(name.as_str(), "graph" | "node" | "edge") {
                    graph.add_node(name);
                }
            }
            for pair in statement.windows(2) {
                graph.add_edge(&pair[0].0, &pair[1].0);
            }
            statement.clear();
        };
        while position < tokens.len() {
            match &tokens[position] {
                Token::Identifier(name, line) => {
                    if name == "subgraph" {
                        return Err(graph_error(
                            source_name,
                            format!("line {line}: subgraphs are not supported"),
                        ));
                    }
                    if !expect_node {
                        // A new statement without a separator: `a -> b c -> d` or `a b`.
                        flush(&mut statement, &mut graph);
                    }
                    statement.push((name.clone(), *line));
                    expect_node = false;
                    position += 1;
                }
                Token::Arrow(line) => {
                    if expect_node || statement.is_empty() {
                        return Err(graph_error(
                            source_name,
                            format!("line {line}: `->` needs a node on its left"),
                        ));
                    }
                    expect_node = true;
                    position += 1;
                }
                Token::UndirectedEdge(line) => {
                    return Err(graph_error(
                        source_name,
                        format!("line {line}: undirected edge `--`; causal graphs need `->`"),
                    ));
                }
                Token::Symbol('[', line) => {
                    // Skip an attribute list.
                    let line = *line;
                    while position < tokens.len()
                        && !matches!(tokens[position], Token::Symbol(']', _))
                    {
                        position += 1;
                    }
                    if position >= tokens.len() {
                        return Err(graph_error(
                            source_name,
                            format!("line {line}: unterminated attribute list `[`"),
                        ));
                    }
                    position += 1;
                }
                Token::Symbol('=', _) => {
                    // `rankdir = LR` style graph attribute: drop the statement.
                    statement.clear();
                    position += 2;
                    expect_node = true;
                }
                Token::Symbol(';', line) | Token::Symbol(',', line) => {
                    if expect_node && !statement.is_empty() {
                        return Err(graph_error(
                            source_name,
                            format!("line {line}: edge without a target node"),
                        ));
                    }
                    flush(&mut statement, &mut graph);
                    expect_node = true;
                    position += 1;
                }
                Token::Symbol('}', line) => {
                    if expect_node && !statement.is_empty() {
                        return Err(graph_error(
                            source_name,
                            format!("line {line}: edge without a target node"),
                        ));
                    }
                    flush(&mut statement, &mut graph);
                    closed = true;
                    position += 1;
                    break;
                }
                Token::Symbol(symbol, line) => {
                    return Err(graph_error(
                        source_name,
                        format!("line {line}: unexpected `{symbol}`"),
                    ));
                }
            }
        }
        if !closed {
            return Err(graph_error(source_name, "missing closing `}`"));
        }
        if tokens[position..]
            .iter()
            .any(|token| !matches!(token, Token::Symbol(';', _)))
        {
            return Err(graph_error(
                source_name,
                "unexpected content after the closing `}` (one digraph per file)",
            ));
        }
        if let Some(node) = graph.find_cycle_node() {
            return Err(graph_error(
                source_name,
                format!("the graph has a cycle through `{node}`; a causal graph must be acyclic"),
            ));
        }
        Ok(graph)
    }

    /// All node names, sorted.
    pub fn nodes(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().map(String::as_str)
    }

    pub fn contains(&self, node: &str) -> bool {
        self.nodes.contains(node)
    }

    /// Direct parents of `node`.
    pub fn parents_of(&self, node: &str) -> Vec<&str> {
        self.parents
            .get(node)
            .map(|set| set.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    fn find_cycle_node(&self) -> Option<String> {
        // Kahn's algorithm: nodes left over lie on (or behind) a cycle.
        let mut indegree: BTreeMap<&str, usize> =
            self.nodes.iter().map(|node| (node.as_str(), 0)).collect();
        for children in self.children.values() {
            for child in children {
                *indegree
                    .get_mut(child.as_str())
                    .expect("edge nodes are nodes") += 1;
            }
        }
        let mut queue: VecDeque<&str> = indegree
            .iter()
            .filter(|entry| *entry.1 == 0)
            .map(|entry| *entry.0)
            .collect();
        let mut visited = 0;
        while let Some(node) = queue.pop_front() {
            visited += 1;
            for child in self.children.get(node).into_iter().flatten() {
                let degree = indegree
                    .get_mut(child.as_str())
                    .expect("edge nodes are nodes");
                *degree -= 1;
                if *degree == 0 {
                    queue.push_back(child);
                }
            }
        }
        (visited < self.nodes.len()).then(|| {
            indegree
                .into_iter()
                .find(|(_, d)| *d > 0)
                .map(|(n, _)| n.to_string())
                .unwrap_or_default()
        })
    }

    /// Descendants of `node` (excluding itself).
    pub fn descendants(&self, node: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![node.to_string()];
        while let Some(current) = stack.pop() {
            for child in self.children.get(&current).into_iter().flatten() {
                if seen.insert(child.clone()) {
                    stack.push(child.clone());
                }
            }
        }
        seen
    }

    /// Ancestors of `nodes` (including them) in the graph without `removed_from`'s outgoing edges.
    fn ancestors(&self, nodes: &BTreeSet<String>, removed_from: &str) -> BTreeSet<String> {
        let mut seen = nodes.clone();
        let mut stack: Vec<String> = nodes.iter().cloned().collect();
        while let Some(current) = stack.pop() {
            for parent in self.parents.get(&current).into_iter().flatten() {
                if parent == removed_from {
                    // The edge removed_from -> current is cut.
                    continue;
                }
                if seen.insert(parent.clone()) {
                    stack.push(parent.clone());
                }
            }
        }
        seen
    }

    /// Whether `set` d-separates `treatment` and `outcome` once the treatment's outgoing edges
    /// are removed (the back-door part of the criterion), by moralizing the ancestral graph.
    fn blocks_backdoor_paths(
        &self,
        treatment: &str,
        outcome: &str,
        set: &BTreeSet<String>,
    ) -> bool {
        let mut relevant: BTreeSet<String> = set.clone();
        relevant.insert(treatment.to_string());
        relevant.insert(outcome.to_string());
        let ancestral = self.ancestors(&relevant, treatment);
        // Moral graph over the ancestral set (edges out of the treatment removed).
        let mut neighbours: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for node in &ancestral {
            let parents: Vec<&str> = self
                .parents
                .get(node)
                .into_iter()
                .flatten()
                .filter(|parent| parent.as_str() != treatment && ancestral.contains(*parent))
                .map(String::as_str)
                .collect();
            for &parent in &parents {
                neighbours.entry(parent).or_default().insert(node);
                neighbours.entry(node).or_default().insert(parent);
            }
            for (i, &a) in parents.iter().enumerate() {
                for &b in &parents[i + 1..] {
                    neighbours.entry(a).or_default().insert(b);
                    neighbours.entry(b).or_default().insert(a);
                }
            }
        }
        // Reachability from the treatment avoiding the conditioning set.
        let mut seen: BTreeSet<&str> = BTreeSet::from([treatment]);
        let mut stack = vec![treatment];
        while let Some(current) = stack.pop() {
            if current == outcome {
                return false;
            }
            for &next in neighbours.get(current).into_iter().flatten() {
                if !set.contains(next) && seen.insert(next) {
                    stack.push(next);
                }
            }
        }
        true
    }

    /// Whether `set` satisfies the back-door criterion for (treatment, outcome).
    pub fn is_backdoor_set(&self, treatment: &str, outcome: &str, set: &[String]) -> bool {
        let descendants = self.descendants(treatment);
        if set
            .iter()
            .any(|node| descendants.contains(node) || node == treatment || node == outcome)
        {
            return false;
        }
        self.blocks_backdoor_paths(treatment, outcome, &set.iter().cloned().collect())
    }

    /// Finds a back-door adjustment set among `observed` variables (graph nodes that are
    /// columns of the data); errors when the effect is not identifiable by back-door adjustment.
    pub fn backdoor_sets(
        &self,
        treatment: &str,
        outcome: &str,
        observed: &[&str],
        source_name: &str,
    ) -> Result<BackdoorSets> {
        for (role, node) in [("treatment", treatment), ("outcome", outcome)] {
            if !self.contains(node) {
                return Err(graph_error(
                    source_name,
                    format!("the {role} `{node}` is not a node of the graph"),
                ));
            }
        }
        if !self.descendants(treatment).contains(outcome) {
            return Err(graph_error(
                source_name,
                format!(
                    "`{outcome}` is not a descendant of `{treatment}`: the graph says the treatment has no effect on it"
                ),
            ));
        }
        let forbidden = self.descendants(treatment);
        let allowed: BTreeSet<String> = observed
            .iter()
            .filter(|node| {
                self.contains(node)
                    && !forbidden.contains(**node)
                    && **node != treatment
                    && **node != outcome
            })
            .map(|node| node.to_string())
            .collect();
        let ends = BTreeSet::from([treatment.to_string(), outcome.to_string()]);
        let candidate: BTreeSet<String> = self
            .ancestors(&ends, treatment)
            .intersection(&allowed)
            .cloned()
            .collect();
        if !self.blocks_backdoor_paths(treatment, outcome, &candidate) {
            let unobserved: Vec<&str> = self
                .nodes()
                .filter(|node| !observed.contains(node))
                .collect();
            return Err(graph_error(
                source_name,
                format!(
                    "no set of observed variables blocks every back-door path from `{treatment}` to `{outcome}` (unobserved: {}); the effect is not identifiable by back-door adjustment",
                    if unobserved.is_empty() {
                        "none".to_string()
                    } else {
                        unobserved.join(", ")
                    }
                ),
            ));
        }
        let mut minimal = candidate.clone();
        for node in &candidate {
            let mut smaller = minimal.clone();
            smaller.remove(node);
            if self.blocks_backdoor_paths(treatment, outcome, &smaller) {
                minimal = smaller;
            }
        }
        Ok(BackdoorSets {
            adjustment_set: candidate.into_iter().collect(),
            minimal: minimal.into_iter().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_chains_quotes_comments_and_attributes() {
        let graph = CausalGraph::from_dot(
            "digraph study {\n  // size drives everything\n  rankdir = LR;\n  \"token count\" -> T -> Y [color=red];\n  \"token count\" -> Y; depth -> T\n  /* isolated */ lonely;\n}",
            "g.dot",
        )
        .unwrap();
        assert_eq!(
            graph.nodes().collect::<Vec<_>>(),
            vec!["T", "Y", "depth", "lonely", "token count"]
        );
        assert_eq!(graph.parents_of("Y"), vec!["T", "token count"]);
    }

    #[test]
    fn undirected_graphs_cycles_and_dangling_edges_are_errors() {
        assert!(CausalGraph::from_dot("graph { a -- b }", "g").is_err());
        assert!(CausalGraph::from_dot("digraph { a -- b }", "g").is_err());
        let cycle = CausalGraph::from_dot("digraph { a -> b; b -> a }", "g").unwrap_err();
        assert!(cycle.to_string().contains("cycle"), "{cycle}");
        assert!(CausalGraph::from_dot("digraph { a -> ; }", "g").is_err());
        assert!(CausalGraph::from_dot("digraph { a -> b", "g").is_err());
    }

    #[test]
    fn confounders_are_adjusted_and_mediators_and_colliders_are_not() {
        // Z confounds; M mediates; C is a collider (T -> C <- Y); I is an instrument; W causes Y only.
        let graph = CausalGraph::from_dot(
            "digraph { Z -> T; Z -> Y; T -> M -> Y; T -> C; Y -> C; I -> T; W -> Y }",
            "g",
        )
        .unwrap();
        let sets = graph
            .backdoor_sets("T", "Y", &["T", "Y", "Z", "M", "C", "I", "W"], "g")
            .unwrap();
        assert_eq!(sets.adjustment_set, names(&["I", "W", "Z"]));
        assert_eq!(sets.minimal, names(&["Z"]));
        assert!(!graph.is_backdoor_set("T", "Y", &names(&["M"])));
        assert!(!graph.is_backdoor_set("T", "Y", &names(&[])));
    }

    #[test]
    fn an_unobserved_confounder_without_a_proxy_is_not_identifiable() {
        let graph = CausalGraph::from_dot("digraph { U -> T; U -> Y; T -> Y }", "g").unwrap();
        let error = graph.backdoor_sets("T", "Y", &["T", "Y"], "g").unwrap_err();
        assert!(error.to_string().contains("not identifiable"), "{error}");
    }

    #[test]
    fn an_observed_proxy_on_the_backdoor_path_suffices() {
        // U -> A -> T, U -> Y: adjusting for A blocks T <- A <- U -> Y.
        let graph = CausalGraph::from_dot("digraph { U -> A -> T; U -> Y; T -> Y }", "g").unwrap();
        let sets = graph
            .backdoor_sets("T", "Y", &["T", "Y", "A"], "g")
            .unwrap();
        assert_eq!(sets.adjustment_set, names(&["A"]));
    }

    #[test]
    fn m_bias_collider_is_left_out_of_the_minimal_set() {
        // T <- A -> M <- B -> Y: M is a collider; adjusting for M alone opens the path.
        let graph =
            CausalGraph::from_dot("digraph { A -> T; A -> M; B -> M; B -> Y; T -> Y }", "g")
                .unwrap();
        assert!(graph.is_backdoor_set("T", "Y", &names(&[])));
        assert!(!graph.is_backdoor_set("T", "Y", &names(&["M"])));
        assert!(graph.is_backdoor_set("T", "Y", &names(&["M", "A"])));
        let sets = graph
            .backdoor_sets("T", "Y", &["T", "Y", "A", "B", "M"], "g")
            .unwrap();
        assert!(graph.is_backdoor_set("T", "Y", &sets.adjustment_set));
        assert_eq!(sets.minimal, names(&[]));
    }
}
