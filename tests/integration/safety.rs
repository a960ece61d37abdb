//! What the runner must never delete or write: its own state, the repository, tracked files,
//! anything outside the workspace (even through a symlink); and a workspace has one runner.

use std::time::Duration;

use crate::harness::{Project, wait_for};

fn outs_stage(out: &str) -> String {
    format!("stages:\n  s:\n    cmd: echo x > log.txt\n    outs: [{out}]\n")
}

#[test]
fn an_out_that_is_or_holds_the_runners_state_or_the_repository_is_refused_at_spec_time() {
    for out in [
        "cache",
        "cache/v1/objects",
        ".git",
        ".git/config",
        "pipeline.yaml",
        "pipeline.lock",
        "params.yaml",
        ".icodegen",
        "target",
        ".tools/bin",
        ".",
    ] {
        let project = Project::new();
        project
            .pipeline(&outs_stage(out))
            .params("a: 1\n")
            .write(".git/config", "keep\n")
            .write("pipeline.lock", "")
            .write("target/keep", "keep\n");
        for command in [&["status"][..], &["repro"], &["checkout"]] {
            let run = project.run(command).code(2);
            assert!(
                run.stderr.contains("pipeline.yaml:4:") && run.stderr.contains("stages.s.outs[0]"),
                "{out}: {}",
                run.stderr
            );
        }
        assert_eq!(project.read(".git/config"), "keep\n", "{out}");
        assert_eq!(project.read("target/keep"), "keep\n", "{out}");
        assert!(project.exists("pipeline.yaml") && project.exists("params.yaml"));
        assert!(!project.exists("log.txt"), "{out}: the stage ran");
    }
}

#[test]
fn an_out_inside_a_cache_given_with_dash_dash_cache_is_refused() {
    let project = Project::new();
    project.pipeline(
        "stages:\n  s:\n    cmd: mkdir -p store && echo x > store/v1\n    outs: [store/v1]\n",
    );
    project
        .run(&["--cache", "store", "status"])
        .code(2)
        .says(&["the cache", "stages.s.outs[0]"]);
    // Elsewhere, the same path is an ordinary out.
    project.run(&["repro"]).ok();
}

#[test]
fn an_out_holding_a_file_git_tracks_is_refused() {
    let project = Project::new();
    project
        .pipeline(&outs_stage("data"))
        .write("data/precious.txt", "tracked\n");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(project.root())
            .output()
            .unwrap()
    };
    git(&["init", "-q"]);
    git(&["add", "data/precious.txt"]);
    project
        .run(&["repro"])
        .code(2)
        .says(&["`data/precious.txt`, which git tracks", "stages.s.outs[0]"]);
    assert_eq!(project.read("data/precious.txt"), "tracked\n");
}

#[test]
fn an_out_resolving_outside_the_workspace_through_a_symlink_is_refused_and_nothing_outside_is_touched()
 {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("victim.txt"), "mine\n").unwrap();
    std::fs::create_dir(outside.path().join("folder")).unwrap();
    std::fs::write(outside.path().join("folder/inner.txt"), "mine\n").unwrap();
    for out in ["ext/victim.txt", "ext/folder", "ext", "ext/new/deep.txt"] {
        let project = Project::new();
        std::os::unix::fs::symlink(outside.path(), project.path("ext")).unwrap();
        project.pipeline(&outs_stage(out));
        project
            .run(&["status"])
            .code(2)
            .says(&["stages.s.outs[0]", "resolves outside the workspace"]);
        project.run(&["repro"]).code(2);
        project.run(&["checkout"]).code(2);
        assert!(!project.exists("log.txt"), "{out}: the stage ran");
    }
    // A dangling symlink in the path would make the runner create its target.
    let project = Project::new();
    std::os::unix::fs::symlink(outside.path().join("nowhere"), project.path("gone")).unwrap();
    project.pipeline(&outs_stage("gone/x.txt"));
    project.run(&["repro"]).code(2).says(&["points nowhere"]);
    assert!(!outside.path().join("nowhere").exists());
    assert_eq!(
        std::fs::read_to_string(outside.path().join("victim.txt")).unwrap(),
        "mine\n"
    );
    assert_eq!(
        std::fs::read_to_string(outside.path().join("folder/inner.txt")).unwrap(),
        "mine\n"
    );
}

#[test]
fn checkout_refuses_a_folder_out_redirected_outside_after_it_was_recorded() {
    let outside = tempfile::tempdir().unwrap();
    let project = Project::new();
    project.pipeline(
        "stages:\n  s:\n    cmd: mkdir -p ext/out && echo a > ext/out/a.txt\n    outs: [ext/out]\n",
    );
    project.run(&["repro"]).ok();
    // Swap the real folder for a symlink to somewhere else: checkout must not write there.
    project.remove("ext");
    std::os::unix::fs::symlink(outside.path(), project.path("ext")).unwrap();
    project
        .run(&["checkout"])
        .code(2)
        .says(&["resolves outside the workspace"]);
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[test]
fn a_symlink_inside_the_workspace_is_an_ordinary_path_and_deps_may_live_outside() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("model.bin"), "weights\n").unwrap();
    let project = Project::new();
    std::fs::create_dir(project.path("real")).unwrap();
    std::os::unix::fs::symlink("real", project.path("inside")).unwrap();
    std::os::unix::fs::symlink(outside.path(), project.path("models")).unwrap();
    project.pipeline(
        "stages:\n  s:\n    cmd: cat models/model.bin > inside/out.txt\n    deps: [models]\n    outs: [inside/out.txt]\n",
    );
    project.run(&["repro"]).ok();
    assert_eq!(project.read("real/out.txt"), "weights\n");
    assert_eq!(project.in_state("fresh"), ["s"]);
}

const HANGING: &str = "stages:\n  slow:\n    cmd: touch started && i=0; while [ -f hang ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; echo done > out.txt\n    outs: [out.txt]\n";

#[test]
fn two_runners_on_one_workspace_exclude_each_other_whatever_their_caches() {
    let project = Project::new();
    project.pipeline(HANGING).write("hang", "");
    let mut first = project
        .command(&["--cache", "cache-a", "repro"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_for(&project.path("started"), 10));
    project
        .run(&["--cache", "cache-b", "repro"])
        .code(2)
        .says(&["another icodegen runner", "icodegen repro"]);
    project.run(&["--cache", "cache-b", "gc"]).code(2);
    project.remove("hang");
    assert!(first.wait().unwrap().success());
    project.run(&["--cache", "cache-b", "repro"]).ok();
}

#[test]
fn run_stage_jobs_of_different_stages_still_run_side_by_side() {
    let project = Project::new();
    project.pipeline(
        r#"
stages:
  a:
    cmd: touch a.started && i=0; while [ ! -f b.started ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; test -f b.started && echo saw-b > a.txt
    outs: [a.txt]
  b:
    cmd: touch b.started && i=0; while [ ! -f a.started ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; test -f a.started && echo saw-a > b.txt
    outs: [b.txt]
"#,
    );
    let first = project.command(&["run-stage", "a"]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    project.run(&["run-stage", "b"]).ok();
    assert!(first.wait_with_output().unwrap().status.success());
    assert_eq!(project.read("a.txt"), "saw-b\n");
    assert_eq!(project.in_state("fresh"), ["a", "b"]);
}
