//! The stage graph: which stage produces each dep, edges, topological order, and the checks that
//! make a pipeline a DAG (no overlapping outs, no cycles).
//!
//! A dep depends on the stage whose out it is, or lies inside; a dep that is a folder holding
//! outs of several stages depends on all of them (so `analyze` can read `data/work/models/`
//! while each `infer@MODEL` writes one subfolder). Pure: nothing here touches the file system.
//!
//! The graph layer: this module (producers, edges, cycles), [`plan`] (target selection and
//! scheduling) and [`dag`] (rendering). It imports only the spec layer and the base.

pub mod dag;
pub mod plan;

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{PipelineError, Result};
use crate::spec::{Field, Pipeline, Stage};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    /// Stages each stage depends on (sorted).
    pub upstream: Vec<Vec<usize>>,
    /// Stages depending on each stage (sorted).
    pub downstream: Vec<Vec<usize>>,
    /// A topological order; among independent stages, declaration order.
    pub order: Vec<usize>,
    /// For each stage and each of its deps, the stages producing (part of) it.
    pub producers: Vec<Vec<Vec<usize>>>,
}

impl Graph {
    /// The graph of `pipeline`, or a located error for overlapping outs or a cycle.
    pub fn build(pipeline: &Pipeline) -> Result<Graph> {
        let outs = out_index(pipeline)?;
        let stages = &pipeline.stages;
        let mut producers = Vec::with_capacity(stages.len());
        let mut edges = Vec::new();
        for (index, stage) in stages.iter().enumerate() {
            let mut per_dep = Vec::with_capacity(stage.deps.len());
            for (dep_index, dep) in stage.deps.iter().enumerate() {
                let found = producers_of(&outs, dep);
                if found.contains(&index) {
                    return Err(pipeline.error(
                        index,
                        Field::Dep(dep_index),
                        format!(
                            "cycle in the DAG: stage `{}` depends on `{dep}`, which is (or holds) its own out",
                            stage.name
                        ),
                    ));
                }
                edges.extend(found.iter().map(|&producer| (producer, index)));
                per_dep.push(found);
            }
            producers.push(per_dep);
        }
        let mut graph = Graph::from_edges(stages.len(), &edges);
        graph.producers = producers;
        if graph.order.len() < stages.len() {
            return Err(cycle_error(pipeline, &graph));
        }
        Ok(graph)
    }

    /// A graph of `count` stages with `(from, to)` edges: `to` depends on `from`. If there is a
    /// cycle, `order` is shorter than `count`.
    pub fn from_edges(count: usize, edges: &[(usize, usize)]) -> Graph {
        let mut upstream = vec![BTreeSet::new(); count];
        let mut downstream = vec![BTreeSet::new(); count];
        for &(from, to) in edges {
            upstream[to].insert(from);
            downstream[from].insert(to);
        }
        let upstream: Vec<Vec<usize>> = upstream
            .into_iter()
            .map(|set| set.into_iter().collect())
            .collect();
        let downstream: Vec<Vec<usize>> = downstream
            .into_iter()
            .map(|set| set.into_iter().collect())
            .collect();
        // Kahn's algorithm, always taking the earliest declared ready stage.
        let mut waiting: Vec<usize> = upstream.iter().map(Vec::len).collect();
        let mut ready: BTreeSet<usize> = (0..count).filter(|&i| waiting[i] == 0).collect();
        let mut order = Vec::with_capacity(count);
        while let Some(next) = ready.pop_first() {
            order.push(next);
            for &after in &downstream[next] {
                waiting[after] -= 1;
                if waiting[after] == 0 {
                    ready.insert(after);
                }
            }
        }
        Graph {
            upstream,
            downstream,
            order,
            producers: vec![Vec::new(); count],
        }
    }

    /// `stages` and everything upstream of them.
    pub fn with_upstream(&self, stages: &[usize]) -> BTreeSet<usize> {
        self.closure(stages, &self.upstream)
    }

    /// `stages` and everything downstream of them.
    pub fn with_downstream(&self, stages: &[usize]) -> BTreeSet<usize> {
        self.closure(stages, &self.downstream)
    }

    fn closure(&self, stages: &[usize], edges: &[Vec<usize>]) -> BTreeSet<usize> {
        let mut seen: BTreeSet<usize> = BTreeSet::new();
        let mut todo: Vec<usize> = stages.to_vec();
        while let Some(stage) = todo.pop() {
            if seen.insert(stage) {
                todo.extend(&edges[stage]);
            }
        }
        seen
    }

    /// `stages` sorted in topological order.
    pub fn sorted(&self, stages: &BTreeSet<usize>) -> Vec<usize> {
        self.order
            .iter()
            .copied()
            .filter(|stage| stages.contains(stage))
            .collect()
    }
}

/// Every out and metric by path; refuses two outs that are the same path or nest.
fn out_index(pipeline: &Pipeline) -> Result<BTreeMap<String, (usize, usize)>> {
    let mut outs: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (stage_index, stage) in pipeline.stages.iter().enumerate() {
        for (position, out) in stage.outs.iter().enumerate() {
            if let Some(&(other, other_out)) = outs.get(&out.path) {
                return Err(overlap(
                    pipeline,
                    (stage_index, position),
                    (other, other_out),
                    "the same out",
                ));
            }
            outs.insert(out.path.clone(), (stage_index, position));
        }
    }
    for (path, &(stage_index, position)) in &outs {
        for ancestor in ancestors(path) {
            if let Some(&other) = outs.get(ancestor) {
                return Err(overlap(
                    pipeline,
                    (stage_index, position),
                    other,
                    "an out inside another out",
                ));
            }
        }
    }
    Ok(outs)
}

fn overlap(
    pipeline: &Pipeline,
    (stage, out): (usize, usize),
    (other, other_out): (usize, usize),
    what: &str,
) -> PipelineError {
    let this = &pipeline.stages[stage];
    let that = &pipeline.stages[other];
    let whose = if stage == other {
        "the same stage".to_owned()
    } else {
        format!("stage `{}`", that.name)
    };
    pipeline.error(
        stage,
        Stage::out_field(&this.outs[out]),
        format!(
            "{what}: stage `{}` declares `{}`, which {whose} also declares as `{}`; outs must not overlap",
            this.name, this.outs[out].path, that.outs[other_out].path
        ),
    )
}

/// `a/b/c` -> `a/b`, `a`.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.char_indices()
        .rev()
        .filter(|&(_, c)| c == '/')
        .map(move |(at, _)| &path[..at])
}

/// The stages producing `dep`: the out it equals or lies in, or every out inside it.
fn producers_of(outs: &BTreeMap<String, (usize, usize)>, dep: &str) -> Vec<usize> {
    let mut found = BTreeSet::new();
    if let Some(&(stage, _)) = outs.get(dep) {
        found.insert(stage);
    }
    for ancestor in ancestors(dep) {
        if let Some(&(stage, _)) = outs.get(ancestor) {
            found.insert(stage);
        }
    }
    // Outs inside `dep/`: keys from "dep/" up to "dep0" ('0' follows '/').
    let start = format!("{dep}/");
    let end = format!("{dep}0");
    for (_, &(stage, _)) in outs.range(start..end) {
        found.insert(stage);
    }
    found.into_iter().collect()
}

fn cycle_error(pipeline: &Pipeline, graph: &Graph) -> PipelineError {
    let placed: BTreeSet<usize> = graph.order.iter().copied().collect();
    // Walk upstream from an unplaced stage until a stage repeats: that closes a cycle.
    let start = (0..pipeline.stages.len())
        .find(|i| !placed.contains(i))
        .unwrap_or(0);
    let mut path = vec![start];
    let mut seen = BTreeMap::from([(start, 0usize)]);
    let mut current = start;
    let cycle = loop {
        let Some(&next) = graph.upstream[current]
            .iter()
            .find(|up| !placed.contains(up))
        else {
            break path.clone();
        };
        if let Some(&at) = seen.get(&next) {
            let mut cycle = path[at..].to_vec();
            cycle.push(next);
            break cycle;
        }
        seen.insert(next, path.len());
        path.push(next);
        current = next;
    };
    // `cycle` lists stages each depending on the next; print it in data-flow order.
    let names: Vec<String> = cycle
        .iter()
        .rev()
        .map(|&i| format!("`{}`", pipeline.stages[i].name))
        .collect();
    let first = cycle[0];
    let second = cycle.get(1).copied().unwrap_or(first);
    let dep = graph.producers[first]
        .iter()
        .position(|producers| producers.contains(&second))
        .unwrap_or(0);
    pipeline.error(
        first,
        Field::Dep(dep),
        format!(
            "cycle in the DAG: {} (each stage needs an out of the one before it)",
            names.join(" -> ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn pipeline(text: &str) -> Pipeline {
        Pipeline::parse(
            Path::new("pipeline.yaml"),
            Path::new("/nonexistent"),
            Path::new(""),
            text.to_owned(),
        )
        .unwrap()
    }

    #[test]
    fn a_folder_dep_depends_on_every_stage_writing_inside_it() {
        let pipeline = pipeline(
            "stages:\n  a:\n    cmd: x\n    outs: [models/a]\n  b:\n    cmd: x\n    outs: [models/b/]\n  c:\n    cmd: x\n    deps: [models, models/b/weights.bin, modelsx]\n",
        );
        let graph = Graph::build(&pipeline).unwrap();
        assert_eq!(graph.upstream[2], vec![0, 1]);
        assert_eq!(graph.producers[2], vec![vec![0, 1], vec![1], vec![]]);
        assert_eq!(graph.order, vec![0, 1, 2]);
    }

    #[test]
    fn order_is_topological_then_declaration_order() {
        let graph = Graph::from_edges(4, &[(3, 0), (2, 1)]);
        assert_eq!(graph.order, vec![2, 1, 3, 0]);
        assert_eq!(graph.with_upstream(&[0]), BTreeSet::from([0, 3]));
        assert_eq!(graph.with_downstream(&[2]), BTreeSet::from([1, 2]));
    }

    #[test]
    fn a_cycle_is_named_in_order() {
        let pipeline = pipeline(
            "stages:\n  a:\n    cmd: x\n    deps: [c.txt]\n    outs: [a.txt]\n  b:\n    cmd: x\n    deps: [a.txt]\n    outs: [b.txt]\n  c:\n    cmd: x\n    deps: [b.txt]\n    outs: [c.txt]\n",
        );
        let error = Graph::build(&pipeline).unwrap_err().to_string();
        assert!(
            error.contains("`c` -> `a` -> `b` -> `c`")
                || error.contains("`a` -> `b` -> `c` -> `a`"),
            "{error}"
        );
        assert!(error.starts_with("pipeline.yaml:4:"), "{error}");
    }

    #[test]
    fn nested_or_repeated_outs_are_refused() {
        let nested = pipeline(
            "stages:\n  a:\n    cmd: x\n    outs: [data]\n  b:\n    cmd: x\n    outs: [data/x]\n",
        );
        let error = Graph::build(&nested).unwrap_err().to_string();
        assert!(
            error.contains("must not overlap") && error.contains("`data/x`"),
            "{error}"
        );
        let same = pipeline(
            "stages:\n  a:\n    cmd: x\n    outs: [o]\n  b:\n    cmd: x\n    metrics: [o]\n",
        );
        let error = Graph::build(&same).unwrap_err().to_string();
        assert!(
            error.starts_with("pipeline.yaml:7:") && error.contains("the same out"),
            "{error}"
        );
    }
}
