//! Planning, as pure functions of the graph (like DVC's `plan_repro`): which stages a command
//! covers ([`resolve_targets`], [`select`]), and the order in which an executor may start them,
//! with `--keep-going` semantics ([`Schedule`]). Nothing here hashes, reads or runs anything.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{PipelineError, Result};
use crate::graph::Graph;
use crate::spec::{self, Pipeline};

/// Which stages besides the targets a command covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reach {
    /// The targets and everything they depend on (the default).
    #[default]
    Upstream,
    /// The targets and everything that depends on them (`--downstream`).
    Downstream,
    /// Only the targets (`--single`).
    Single,
}

/// Stage indexes for command-line targets: a stage name (`train@gru`), a `foreach`/`matrix`
/// name (`train`: all its stages), or the path of an out (its stage).
pub fn resolve_targets(pipeline: &Pipeline, targets: &[String]) -> Result<Vec<usize>> {
    let mut found = Vec::new();
    for target in targets {
        let by_name: Vec<usize> = pipeline
            .stages
            .iter()
            .enumerate()
            .filter(|(_, stage)| {
                stage.name == *target || stage.group.as_deref() == Some(target.as_str())
            })
            .map(|(index, _)| index)
            .collect();
        if !by_name.is_empty() {
            found.extend(by_name);
            continue;
        }
        let by_out = spec::normalize(target).ok().and_then(|path| {
            pipeline
                .stages
                .iter()
                .position(|stage| stage.outs.iter().any(|out| out.path == path))
        });
        if let Some(index) = by_out {
            found.push(index);
            continue;
        }
        let names: BTreeSet<&str> = pipeline
            .stages
            .iter()
            .flat_map(|stage| {
                std::iter::once(stage.name.as_str())
                    .chain(stage.group.as_deref())
                    .chain(stage.outs.iter().map(|out| out.path.as_str()))
            })
            .collect();
        return Err(PipelineError::UnknownTarget {
            target: target.clone(),
            file: pipeline.file.clone(),
            suggestion: icodegen_artifacts::params::closest(target, names.iter().copied())
                .map(str::to_owned),
        });
    }
    found.sort_unstable();
    found.dedup();
    Ok(found)
}

/// The stages a command covers, in topological order. No targets means every stage.
pub fn select(graph: &Graph, targets: &[usize], reach: Reach) -> Vec<usize> {
    if targets.is_empty() {
        return graph.order.clone();
    }
    let chosen = match reach {
        Reach::Upstream => graph.with_upstream(targets),
        Reach::Downstream => graph.with_downstream(targets),
        Reach::Single => targets.iter().copied().collect(),
    };
    graph.sorted(&chosen)
}

/// Where a planned stage is in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Waiting,
    Running,
    Succeeded,
    Failed,
    /// Not run because a stage it depends on failed.
    Skipped,
}

/// The order in which an executor starts planned stages: a stage may start once every planned
/// stage it depends on has succeeded (stages outside the plan count as done). After a failure,
/// the stages depending on it are skipped; without `keep_going` nothing new starts at all.
#[derive(Debug, Clone)]
pub struct Schedule {
    plan: Vec<usize>,
    upstream: BTreeMap<usize, Vec<usize>>,
    downstream: BTreeMap<usize, Vec<usize>>,
    steps: BTreeMap<usize, Step>,
    keep_going: bool,
    stopped: bool,
}

impl Schedule {
    /// `plan` in topological order (from [`select`]).
    pub fn new(graph: &Graph, plan: &[usize], keep_going: bool) -> Schedule {
        let planned: BTreeSet<usize> = plan.iter().copied().collect();
        let within = |edges: &Vec<usize>| {
            edges
                .iter()
                .copied()
                .filter(|s| planned.contains(s))
                .collect::<Vec<_>>()
        };
        Schedule {
            plan: plan.to_vec(),
            upstream: plan
                .iter()
                .map(|&s| (s, within(&graph.upstream[s])))
                .collect(),
            downstream: plan
                .iter()
                .map(|&s| (s, within(&graph.downstream[s])))
                .collect(),
            steps: plan.iter().map(|&s| (s, Step::Waiting)).collect(),
            keep_going,
            stopped: false,
        }
    }

    /// The next stage that may start (earliest in plan order), now marked running.
    pub fn start_next(&mut self) -> Option<usize> {
        if self.stopped {
            return None;
        }
        let ready = self.plan.iter().copied().find(|stage| {
            self.steps[stage] == Step::Waiting
                && self.upstream[stage]
                    .iter()
                    .all(|up| self.steps[up] == Step::Succeeded)
        })?;
        self.steps.insert(ready, Step::Running);
        Some(ready)
    }

    pub fn succeeded(&mut self, stage: usize) {
        self.steps.insert(stage, Step::Succeeded);
    }

    /// Marks `stage` failed; returns the stages now skipped because of it.
    pub fn failed(&mut self, stage: usize) -> Vec<usize> {
        self.steps.insert(stage, Step::Failed);
        if !self.keep_going {
            self.stopped = true;
        }
        let mut skipped = Vec::new();
        let mut todo = self.downstream[&stage].clone();
        while let Some(next) = todo.pop() {
            if self.steps[&next] == Step::Waiting {
                self.steps.insert(next, Step::Skipped);
                skipped.push(next);
                todo.extend(self.downstream[&next].iter().copied());
            }
        }
        skipped.sort_by_key(|s| self.plan.iter().position(|p| p == s));
        skipped
    }

    /// Starts nothing more (an interrupt).
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    pub fn running(&self) -> usize {
        self.steps
            .values()
            .filter(|&&step| step == Step::Running)
            .count()
    }

    pub fn step(&self, stage: usize) -> Option<Step> {
        self.steps.get(&stage).copied()
    }

    /// Planned stages in `step`, in plan order.
    pub fn in_step(&self, step: Step) -> Vec<usize> {
        self.plan
            .iter()
            .copied()
            .filter(|s| self.steps[s] == step)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 0 -> 1 -> 3, 0 -> 2 -> 3, 4 alone.
    fn diamond() -> Graph {
        Graph::from_edges(5, &[(0, 1), (0, 2), (1, 3), (2, 3)])
    }

    #[test]
    fn selection_follows_reach() {
        let graph = diamond();
        assert_eq!(select(&graph, &[], Reach::Upstream), vec![0, 1, 2, 3, 4]);
        assert_eq!(select(&graph, &[1], Reach::Upstream), vec![0, 1]);
        assert_eq!(select(&graph, &[1], Reach::Downstream), vec![1, 3]);
        assert_eq!(select(&graph, &[3], Reach::Single), vec![3]);
        assert_eq!(
            select(&graph, &[3, 4], Reach::Upstream),
            vec![0, 1, 2, 3, 4]
        );
    }

    #[test]
    fn independent_stages_are_ready_together() {
        let graph = diamond();
        let mut schedule = Schedule::new(&graph, &graph.order, false);
        assert_eq!(schedule.start_next(), Some(0));
        assert_eq!(schedule.start_next(), Some(4));
        assert_eq!(schedule.start_next(), None);
        schedule.succeeded(0);
        assert_eq!(schedule.start_next(), Some(1));
        assert_eq!(schedule.start_next(), Some(2));
        assert_eq!(schedule.running(), 3);
        schedule.succeeded(1);
        assert_eq!(schedule.start_next(), None, "3 still waits for 2");
        schedule.succeeded(2);
        assert_eq!(schedule.start_next(), Some(3));
    }

    #[test]
    fn keep_going_skips_only_dependents_of_a_failure() {
        let graph = diamond();
        let mut schedule = Schedule::new(&graph, &graph.order, true);
        assert_eq!(schedule.start_next(), Some(0));
        schedule.succeeded(0);
        assert_eq!(schedule.start_next(), Some(1));
        assert_eq!(schedule.failed(1), vec![3]);
        assert_eq!(schedule.start_next(), Some(2));
        schedule.succeeded(2);
        assert_eq!(schedule.start_next(), Some(4));
        schedule.succeeded(4);
        assert_eq!(schedule.start_next(), None);
        assert_eq!(schedule.in_step(Step::Skipped), vec![3]);
    }

    #[test]
    fn without_keep_going_a_failure_stops_new_starts() {
        let graph = diamond();
        let mut schedule = Schedule::new(&graph, &graph.order, false);
        assert_eq!(schedule.start_next(), Some(0));
        schedule.failed(0);
        assert_eq!(schedule.start_next(), None);
        assert_eq!(schedule.in_step(Step::Skipped), vec![1, 2, 3]);
        assert_eq!(schedule.in_step(Step::Waiting), vec![4]);
    }

    #[test]
    fn stages_outside_a_single_plan_count_as_done() {
        let graph = diamond();
        let plan = select(&graph, &[3], Reach::Single);
        let mut schedule = Schedule::new(&graph, &plan, false);
        assert_eq!(schedule.start_next(), Some(3));
    }
}
