//! `icodegen repro`: what runs, what does not, and what gets recorded.

use crate::harness::Project;

/// prepare: input.txt -> upper.txt; count: upper.txt -> count.txt.
pub const CHAIN: &str = r#"
stages:
  prepare:
    cmd: echo prepare >> log.txt && tr a-z A-Z < input.txt > upper.txt
    deps: [input.txt]
    outs: [upper.txt]
  count:
    cmd: echo count >> log.txt && wc -c < upper.txt | tr -d ' ' > count.txt
    deps: [upper.txt]
    outs: [count.txt]
"#;

pub fn chain() -> Project {
    let project = Project::new();
    project.pipeline(CHAIN).write("input.txt", "hello\n");
    project
}

#[test]
fn first_repro_runs_every_stage_in_order_and_writes_the_lock() {
    let project = chain();
    project.run(&["repro"]).ok();
    assert_eq!(project.runs(), ["prepare", "count"]);
    assert_eq!(project.read("upper.txt"), "HELLO\n");
    assert_eq!(project.read("count.txt"), "6\n");
    let lock = project.lock();
    let upper = blake3::hash(b"HELLO\n").to_hex().to_string();
    assert!(lock.contains(&format!("hash: {upper}")), "{lock}");
    assert!(lock.contains("cmd: echo prepare >> log.txt"), "{lock}");
    assert_eq!(project.in_state("fresh"), ["count", "prepare"]);
}

#[test]
fn a_second_repro_runs_nothing() {
    let project = chain();
    project.run(&["repro"]).ok();
    let run = project.run(&["repro"]).ok();
    assert_eq!(project.runs().len(), 2);
    assert!(run.stderr.contains("Nothing to do"), "{}", run.stderr);
}

#[test]
fn a_dep_change_reruns_the_stage_and_its_downstream() {
    let project = chain();
    project.run(&["repro"]).ok();
    project.write("input.txt", "goodbye\n");
    assert_eq!(project.in_state("stale"), ["count", "prepare"]);
    project.run(&["repro"]).ok();
    assert_eq!(project.runs(), ["prepare", "count", "prepare", "count"]);
    assert_eq!(project.read("count.txt"), "8\n");
}

#[test]
fn an_identical_upstream_result_does_not_rerun_downstream() {
    let project = chain();
    project.run(&["repro"]).ok();
    // Same text, different case: upper.txt comes out identical.
    project.write("input.txt", "HELLO\n");
    project.run(&["repro"]).ok();
    assert_eq!(project.runs(), ["prepare", "count", "prepare"]);
}

#[test]
fn a_deleted_output_is_restored_from_the_cache_without_running() {
    let project = chain();
    project.run(&["repro"]).ok();
    project.remove("count.txt");
    assert_eq!(
        project.status_json()["stages"]["count"]["reasons"][0],
        "out `count.txt` is missing"
    );
    let run = project.run(&["repro"]).ok();
    assert!(run.stderr.contains("Restored `count`"), "{}", run.stderr);
    assert_eq!(project.read("count.txt"), "6\n");
    assert_eq!(project.runs().len(), 2);
}

#[test]
fn a_modified_output_is_detected_and_put_back() {
    let project = chain();
    project.run(&["repro"]).ok();
    project.write("upper.txt", "tampered\n");
    let json = project.status_json();
    assert_eq!(
        json["stages"]["prepare"]["reasons"][0],
        "out `upper.txt` was modified"
    );
    assert_eq!(
        json["stages"]["count"]["reasons"][0],
        "dep `upper.txt` changed"
    );
    project.run(&["repro"]).ok();
    assert_eq!(project.read("upper.txt"), "HELLO\n");
    assert_eq!(project.runs().len(), 2, "restored, not re-run");
}

pub const BRANCHES: &str = r#"
stages:
  source:
    cmd: echo source >> log.txt && cp input.txt source.txt
    deps: [input.txt]
    outs: [source.txt]
  left:
    cmd: echo left >> log.txt && echo "${left.factor}" | cat source.txt - > left.txt
    deps: [source.txt]
    params: [left.factor]
    outs: [left.txt]
  right:
    cmd: echo right >> log.txt && echo "${right.factor}" | cat source.txt - > right.txt
    deps: [source.txt]
    params: [right]
    outs: [right.txt]
  join:
    cmd: echo join >> log.txt && cat left.txt right.txt > join.txt
    deps: [left.txt, right.txt]
    outs: [join.txt]
"#;

#[test]
fn a_param_change_invalidates_only_downstream() {
    let project = Project::new();
    project
        .pipeline(BRANCHES)
        .params("left:\n  factor: 1\nright:\n  factor: 2\n")
        .write("input.txt", "x\n");
    project.run(&["repro"]).ok();
    project.params("left:\n  factor: 3\nright:\n  factor: 2\n");
    assert_eq!(project.in_state("stale"), ["join", "left"]);
    let json = project.status_json();
    assert_eq!(
        json["stages"]["left"]["reasons"][0],
        "param `left.factor` changed (1 -> 3)"
    );
    project.run(&["repro"]).ok();
    assert_eq!(
        project.runs(),
        ["source", "left", "right", "join", "left", "join"]
    );
    assert_eq!(project.read("join.txt"), "x\n3\nx\n2\n");
}

#[test]
fn returning_to_old_params_restores_from_run_cache() {
    let project = Project::new();
    project
        .pipeline(BRANCHES)
        .params("left:\n  factor: 1\nright:\n  factor: 2\n")
        .write("input.txt", "x\n");
    project.run(&["repro"]).ok();
    project.params("left:\n  factor: 5\nright:\n  factor: 2\n");
    project.run(&["repro"]).ok();
    assert_eq!(project.read("join.txt"), "x\n5\nx\n2\n");
    let runs_before = project.runs().len();
    project.params("left:\n  factor: 1\nright:\n  factor: 2\n");
    let run = project.run(&["repro"]).ok();
    assert_eq!(project.runs().len(), runs_before, "nothing ran");
    assert!(
        run.stderr.contains("Restored `left`") && run.stderr.contains("Restored `join`"),
        "{}",
        run.stderr
    );
    assert_eq!(project.read("join.txt"), "x\n1\nx\n2\n");
    assert_eq!(project.in_state("fresh").len(), 4);
}

#[test]
fn a_target_runs_with_its_upstream_only() {
    let project = Project::new();
    project
        .pipeline(BRANCHES)
        .params("left: {factor: 1}\nright: {factor: 2}\n")
        .write("input.txt", "x\n");
    project.run(&["repro", "left"]).ok();
    assert_eq!(project.runs(), ["source", "left"]);
}

#[test]
fn single_runs_only_the_target_and_downstream_runs_its_dependents() {
    let project = Project::new();
    project
        .pipeline(BRANCHES)
        .params("left: {factor: 1}\nright: {factor: 2}\n")
        .write("input.txt", "x\n");
    project.run(&["repro", "source"]).ok();
    project.run(&["repro", "--single", "right"]).ok();
    assert_eq!(project.runs(), ["source", "right"]);
    project.write("input.txt", "y\n");
    project.run(&["repro", "--downstream", "left"]).ok();
    assert_eq!(
        project.runs(),
        ["source", "right", "left", "join"],
        "source is upstream of left: not run"
    );
    assert_eq!(project.read("join.txt"), "x\n1\nx\n2\n");
}

#[test]
fn an_out_path_is_a_target_too() {
    let project = chain();
    project.run(&["repro", "upper.txt"]).ok();
    assert_eq!(project.runs(), ["prepare"]);
}

#[test]
fn force_reruns_fresh_stages() {
    let project = chain();
    project.run(&["repro"]).ok();
    project.run(&["repro", "--force", "prepare"]).ok();
    assert_eq!(project.runs(), ["prepare", "count", "prepare"]);
}

#[test]
fn dry_run_lists_what_would_run_and_changes_nothing() {
    let project = chain();
    project.run(&["repro"]).ok();
    project.write("input.txt", "changed\n");
    let lock = project.lock();
    let run = project.run(&["repro", "--dry-run"]).ok();
    assert_eq!(
        run.stdout,
        "would run `prepare` (dep `input.txt` changed)\nwould run `count` (upstream stage `prepare` is stale)\n"
    );
    assert_eq!(project.lock(), lock);
    assert_eq!(project.runs().len(), 2);
}

#[test]
fn the_lock_is_deterministic_and_has_no_timestamps() {
    let first = chain();
    let second = chain();
    first.run(&["repro"]).ok();
    second.run(&["repro", "-j", "2"]).ok();
    assert_eq!(first.lock(), second.lock());
    let lock = first.lock();
    assert!(
        lock.find("\n  count:").unwrap() < lock.find("\n  prepare:").unwrap(),
        "sorted by name:\n{lock}"
    );
    for word in ["time", "date", "2025", "2026"] {
        assert!(!lock.contains(word), "{word} in\n{lock}");
    }
    for key in [
        "schema: 1",
        "key: ",
        "deps:",
        "outs:",
        "size: 6",
        "path: upper.txt",
    ] {
        assert!(lock.contains(key), "{key} missing in\n{lock}");
    }
}

#[test]
fn resources_never_affect_staleness() {
    let project = chain();
    project.run(&["repro"]).ok();
    let with_resources = CHAIN.replace(
        "    outs: [count.txt]\n",
        "    outs: [count.txt]\n    resources: {cpus: 4, mem: 8G, gpus: 1, time: '1:00:00', partition: gpu}\n",
    );
    project.pipeline(&with_resources);
    assert_eq!(project.in_state("fresh").len(), 2);
    project.run(&["repro"]).ok();
    assert_eq!(project.runs().len(), 2);
}

#[test]
fn an_always_changed_stage_runs_every_time() {
    let project = Project::new();
    project.pipeline("stages:\n  tick:\n    cmd: echo tick >> log.txt\n    always_changed: true\n");
    project.run(&["repro"]).ok();
    assert_eq!(project.in_state("stale"), ["tick"]);
    project.run(&["repro"]).ok();
    assert_eq!(project.runs(), ["tick", "tick"]);
}

#[test]
fn a_command_change_reruns_the_stage() {
    let project = chain();
    project.run(&["repro"]).ok();
    project.pipeline(&CHAIN.replace("tr a-z A-Z < input.txt", "tr a-z A-Z < input.txt | tr H J"));
    assert_eq!(
        project.status_json()["stages"]["prepare"]["reasons"][0],
        "command changed"
    );
    project.run(&["repro"]).ok();
    assert_eq!(project.read("upper.txt"), "JELLO\n");
}

#[test]
fn folder_outs_are_cached_and_restored_whole() {
    let project = Project::new();
    project.pipeline(
        "stages:\n  make:\n    cmd: echo make >> log.txt && mkdir -p out/sub && echo a > out/a.txt && echo b > out/sub/b.txt\n    outs: [out/]\n  use:\n    cmd: echo use >> log.txt && cat out/a.txt out/sub/b.txt > used.txt\n    deps: [out/sub]\n    outs: [used.txt]\n",
    );
    project.run(&["repro"]).ok();
    assert!(project.lock().contains("files: 2"), "{}", project.lock());
    project.remove("out");
    project.run(&["repro"]).ok();
    assert_eq!(project.read("out/sub/b.txt"), "b\n");
    assert_eq!(project.runs(), ["make", "use"]);
}

#[test]
fn stage_output_streams_through_and_stages_run_in_the_pipeline_folder() {
    let project = Project::new();
    project.pipeline("stages:\n  where:\n    cmd: pwd -P > where.txt && echo \"$ICODEGEN_STAGE says hi\"\n    outs: [where.txt]\n");
    let run = project.run(&["repro"]).ok();
    assert!(run.stdout.contains("where says hi"), "{}", run.stdout);
    let root = project.root().canonicalize().unwrap();
    assert_eq!(project.read("where.txt").trim(), root.to_string_lossy());
}

#[test]
fn the_runners_folder_comes_first_on_the_stage_path() {
    let project = Project::new();
    project
        .pipeline("stages:\n  path:\n    cmd: echo \"$PATH\" > path.txt\n    outs: [path.txt]\n");
    project.run(&["repro"]).ok();
    let first = project
        .read("path.txt")
        .split(':')
        .next()
        .unwrap()
        .to_owned();
    let runner_dir = std::path::Path::new(crate::harness::BIN)
        .canonicalize()
        .unwrap();
    assert_eq!(std::path::Path::new(&first), runner_dir.parent().unwrap());
}
