//! The cache: checkout, gc, and `run-stage`, the per-stage entry point of cluster jobs.

use crate::harness::Project;
use crate::repro::chain;

#[test]
fn checkout_restores_deleted_and_modified_outs() {
    let project = chain();
    project.run(&["repro"]).ok();
    project.remove("upper.txt");
    project.write("count.txt", "999\n");
    project
        .run(&["checkout"])
        .ok()
        .says(&["2 out(s) restored, 0 already in place."]);
    assert_eq!(project.read("upper.txt"), "HELLO\n");
    assert_eq!(project.read("count.txt"), "6\n");
    assert_eq!(project.runs().len(), 2);
    project
        .run(&["checkout", "count"])
        .ok()
        .says(&["0 out(s) restored, 1 already in place."]);
}

#[test]
fn gc_removes_only_objects_nothing_refers_to() {
    let project = Project::new();
    project.pipeline(
        "stages:\n  make:\n    cmd: echo $(cat input.txt) > a.txt && if [ \"$(cat input.txt)\" = bad ]; then exit 0; fi; echo b > b.txt\n    deps: [input.txt]\n    outs: [a.txt, b.txt]\n",
    );
    project.write("input.txt", "good\n");
    project.run(&["repro"]).ok();
    // A run that stores a.txt, then fails because b.txt is missing: a.txt's object is orphaned.
    project.remove("b.txt");
    project.write("input.txt", "bad\n");
    project.run(&["repro"]).code(1);
    let before = project.objects().len();
    project
        .run(&["gc", "--dry-run"])
        .ok()
        .says(&["Would remove 1 object(s)"]);
    assert_eq!(project.objects().len(), before);
    project.run(&["gc"]).ok().says(&["Removed 1 object(s)"]);
    assert_eq!(project.objects().len(), before - 1);
    // What the lock refers to is still there.
    project.write("input.txt", "good\n");
    project.remove("a.txt");
    project.run(&["checkout"]).ok();
    assert_eq!(project.read("a.txt"), "good\n");
}

#[test]
fn gc_keeps_what_the_run_cache_refers_to() {
    let project = chain();
    project.run(&["repro"]).ok();
    project.write("input.txt", "other\n");
    project.run(&["repro"]).ok();
    project.run(&["gc"]).ok().says(&["Removed 0 object(s)"]);
    project.write("input.txt", "hello\n");
    project.run(&["repro"]).ok().says(&["Restored `prepare`"]);
}

#[test]
fn a_custom_cache_folder_is_used_and_versioned() {
    let project = chain();
    project.run(&["--cache", "elsewhere", "repro"]).ok();
    assert!(project.path("elsewhere/v1/objects").is_dir());
    assert!(project.path("elsewhere/v1/runs").is_dir());
    assert!(!project.path("cache").exists());
}

#[test]
fn a_pipeline_in_another_folder_runs_there() {
    let project = Project::new();
    project
        .write("sub/pipeline.yaml", crate::repro::CHAIN)
        .write("sub/input.txt", "hi\n");
    project
        .run(&["--pipeline", "sub/pipeline.yaml", "repro"])
        .ok();
    assert_eq!(project.read("sub/upper.txt"), "HI\n");
    assert!(project.path("sub/cache/v1").is_dir() && project.exists("sub/pipeline.lock"));
}

#[test]
fn run_stage_runs_one_stage_when_its_inputs_match_the_plan() {
    let project = chain();
    let key = project
        .run(&["run-stage", "prepare", "--print-key"])
        .ok()
        .stdout
        .trim()
        .to_owned();
    assert_eq!(key.len(), 64);
    project.write("input.txt", "edited after planning\n");
    project
        .run(&["run-stage", "prepare", "--expect", &key])
        .code(1)
        .says(&["inputs changed since it was planned"]);
    assert!(project.runs().is_empty());
    project.write("input.txt", "hello\n");
    project
        .run(&["run-stage", "prepare", "--expect", &key])
        .ok();
    assert_eq!(project.runs(), ["prepare"]);
    assert!(project.lock().contains("prepare:"));
    // Downstream keys do not depend on upstream results: computed before they exist.
    let count_key = project
        .run(&["run-stage", "count", "--print-key"])
        .ok()
        .stdout;
    project
        .run(&["run-stage", "count", "--expect", count_key.trim()])
        .ok();
    assert_eq!(project.in_state("fresh"), ["count", "prepare"]);
    project
        .run(&["run-stage", "count"])
        .ok()
        .says(&["`count` is fresh"]);
}

#[test]
fn run_stage_refuses_upstream_results_that_were_not_recorded() {
    let project = chain();
    project
        .run(&["run-stage", "count"])
        .code(1)
        .says(&["dep `upper.txt` comes from stage `prepare`, which has not run"]);
    project.run(&["repro"]).ok();
    project.write("upper.txt", "forged\n");
    project
        .run(&["run-stage", "count", "--force"])
        .code(1)
        .says(&["does not match what that stage recorded"]);
}

#[test]
fn run_stage_exits_with_the_commands_status() {
    let project = Project::new();
    project.pipeline("stages:\n  fail:\n    cmd: exit 7\n");
    project
        .run(&["run-stage", "fail"])
        .code(7)
        .says(&["exited with status 7"]);
    project
        .run(&["run-stage", "fial"])
        .code(2)
        .says(&["did you mean `fail`?"]);
}
