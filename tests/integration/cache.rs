//! The cache: checkout, gc, and `run-stage`, the per-stage entry point of cluster jobs.

use crate::harness::Project;
use crate::repro::chain;

#[test]
fn checkout_restores_deleted_and_modified_outs() {
    let project = chain();
    project.run(&["repro"]).ok();
    project.remove("upper.txt");
    project.write("count.txt", "999\n");
    // A hand edit whose contents are not in the cache is only overwritten with --force.
    project
        .run(&["checkout"])
        .code(2)
        .says(&["`count.txt`", "nothing was restored", "--force"]);
    assert!(!project.exists("upper.txt"));
    assert_eq!(project.read("count.txt"), "999\n");
    project
        .run(&["checkout", "--force"])
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

#[test]
fn checkout_refuses_to_overwrite_files_edited_inside_a_folder_out_without_force() {
    let project = Project::new();
    project.pipeline(
        "stages:\n  make:\n    cmd: mkdir -p out && echo a > out/a.txt && echo b > out/b.txt\n    outs: [out]\n",
    );
    project.run(&["repro"]).ok();
    project.write("out/a.txt", "my edit\n");
    project.write("out/new.txt", "my notes\n");
    project
        .run(&["checkout"])
        .code(2)
        .says(&["`out/a.txt`", "`out/new.txt`", "--force"]);
    assert_eq!(project.read("out/a.txt"), "my edit\n");
    // Contents the cache holds (an older recorded version) may be replaced freely.
    project.remove("out/new.txt");
    project.write("out/a.txt", "b\n");
    project.run(&["checkout"]).ok();
    assert_eq!(project.read("out/a.txt"), "a\n");
    project.write("out/a.txt", "my edit\n");
    project.run(&["checkout", "--force"]).ok();
    assert_eq!(project.read("out/a.txt"), "a\n");
}

#[test]
fn a_stages_outs_are_restored_all_or_none() {
    let project = Project::new();
    project.pipeline(
        "stages:\n  make:\n    cmd: cp input.txt first.txt && (cat input.txt; echo 2) > second.txt\n    deps: [input.txt]\n    outs: [first.txt, second.txt]\n",
    );
    project.write("input.txt", "old\n");
    project.run(&["repro"]).ok();
    project.write("input.txt", "new\n");
    project.run(&["repro"]).ok();
    // Back to old: the run-cache would restore both, but second.txt's object is gone.
    let old = blake3::hash(b"old\n2\n").to_hex().to_string();
    let object = project.path(&format!("cache/v1/objects/{}/{}", &old[..2], &old[2..]));
    std::fs::remove_file(&object).unwrap();
    project.write("input.txt", "old\n");
    project.run(&["repro"]).ok().says(&[
        "cannot restore stage `make` from the run-cache",
        "Running `make`",
    ]);
    assert_eq!(project.read("first.txt"), "old\n");
    assert_eq!(project.read("second.txt"), "old\n2\n");
    // checkout: a missing object for one out leaves the other untouched.
    project.run(&["repro"]).ok();
    std::fs::remove_file(&object).unwrap();
    project.write("first.txt", "new\n");
    project.remove("second.txt");
    project
        .run(&["checkout"])
        .code(1)
        .says(&["`first.txt`, `second.txt`", "none of its outs was replaced"]);
    assert_eq!(
        project.read("first.txt"),
        "new\n",
        "first.txt was replaced alone"
    );
}

#[test]
fn file_names_that_are_not_utf8_inside_folder_outs_are_restored_exactly() {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let project = Project::new();
    project.pipeline(
        "stages:\n  make:\n    cmd: mkdir -p out && printf one > out/a$(printf '\\377') && printf two > out/a$(printf '\\376') && printf three > out/plain\n    outs: [out]\n",
    );
    project.run(&["repro"]).ok();
    let listing = |project: &Project| {
        let mut files: Vec<(Vec<u8>, String)> = std::fs::read_dir(project.path("out"))
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                let contents = std::fs::read_to_string(entry.path()).unwrap();
                (entry.file_name().into_vec(), contents)
            })
            .collect();
        files.sort();
        files
    };
    let before = listing(&project);
    assert_eq!(before.len(), 3, "{before:?}");
    project.remove("out");
    project.run(&["checkout"]).ok();
    assert_eq!(listing(&project), before);
    assert_eq!(project.in_state("fresh"), ["make"]);
    // A UTF-8 name keeps its plain manifest entry (existing caches stay valid).
    let lock = project.lock();
    let hash = lock
        .lines()
        .skip_while(|line| !line.contains("path: out"))
        .find_map(|line| line.trim().strip_prefix("hash: "))
        .unwrap()
        .to_owned();
    let manifest =
        std::fs::read(project.path(&format!("cache/v1/objects/{}/{}", &hash[..2], &hash[2..])))
            .unwrap();
    let text = std::ffi::OsStr::from_bytes(&manifest).to_string_lossy();
    assert!(
        text.contains(r#"{"path":"plain","#) && text.matches("\"raw\":").count() == 2,
        "{text}"
    );
}
