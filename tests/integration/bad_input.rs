//! Bad input: a clear error naming file, line and key; exit code 2; nothing run, nothing changed.

use crate::harness::Project;
use crate::repro::chain;

/// Runs `repro` and `status` on a bad workspace: both exit 2 with `parts` in the message, and
/// nothing ran or was written.
#[track_caller]
fn refused(project: &Project, parts: &[&str]) {
    let lock = project.lock();
    for command in [&["repro"][..], &["status"][..]] {
        project.run(command).code(2).says(parts);
    }
    assert!(
        project.runs().is_empty(),
        "a stage ran: {:?}",
        project.runs()
    );
    assert_eq!(project.lock(), lock, "the lock changed");
}

#[test]
fn a_cycle_is_named_with_its_stages_and_located() {
    let project = Project::new();
    project.pipeline(
        "stages:\n  a:\n    cmd: echo a >> log.txt\n    deps: [c.txt]\n    outs: [a.txt]\n  b:\n    cmd: echo b >> log.txt\n    deps: [a.txt]\n    outs: [b.txt]\n  c:\n    cmd: echo c >> log.txt\n    deps: [b.txt]\n    outs: [c.txt]\n",
    );
    refused(
        &project,
        &[
            "pipeline.yaml:4:12",
            "key `stages.a.deps[0]`",
            "cycle in the DAG: `a` -> `b` -> `c` -> `a`",
        ],
    );
}

#[test]
fn a_stage_depending_on_its_own_out_is_a_cycle() {
    let project = Project::new();
    project
        .pipeline("stages:\n  a:\n    cmd: echo a >> log.txt\n    deps: [out]\n    outs: [out/]\n");
    refused(&project, &["pipeline.yaml:4:12", "cycle"]);
}

#[test]
fn two_stages_declaring_the_same_out_are_refused() {
    let project = Project::new();
    project.pipeline(
        "stages:\n  a:\n    cmd: echo a >> log.txt\n    outs: [data/x.txt]\n  b:\n    cmd: echo b >> log.txt\n    outs:\n      - data/x.txt\n",
    );
    refused(
        &project,
        &[
            "pipeline.yaml:8:9",
            "key `stages.b.outs[0]`",
            "the same out",
            "stage `a`",
        ],
    );
}

#[test]
fn an_out_inside_another_out_is_refused() {
    let project = Project::new();
    project.pipeline("stages:\n  a:\n    cmd: echo a >> log.txt\n    outs: [data]\n  b:\n    cmd: echo b >> log.txt\n    outs: [data/x.txt]\n");
    refused(&project, &["pipeline.yaml:7:12", "must not overlap"]);
}

#[test]
fn an_out_outside_the_workspace_is_refused() {
    let project = Project::new();
    project.pipeline("stages:\n  a:\n    cmd: echo a >> log.txt\n    outs: [../escape.txt]\n");
    refused(
        &project,
        &[
            "pipeline.yaml:4:12",
            "key `stages.a.outs[0]`",
            "outside the workspace",
        ],
    );
}

#[test]
fn an_absolute_dep_is_refused() {
    let project = Project::new();
    project
        .pipeline("stages:\n  a:\n    cmd: echo a >> log.txt\n    deps:\n      - /etc/hostname\n");
    refused(
        &project,
        &[
            "pipeline.yaml:5:9",
            "key `stages.a.deps[0]`",
            "absolute path",
        ],
    );
}

#[test]
fn a_dep_that_nothing_produces_and_does_not_exist_is_refused_by_repro() {
    let project = Project::new();
    project.pipeline("stages:\n  a:\n    cmd: echo a >> log.txt\n    deps: [missing.txt]\n");
    project.run(&["repro"]).code(2).says(&[
        "pipeline.yaml:4:12",
        "`missing.txt`",
        "does not exist, and no stage produces it",
    ]);
    assert!(project.runs().is_empty());
    // status still works and says why
    project.run(&["repro", "--dry-run"]).code(2);
}

#[test]
fn an_unknown_key_suggests_the_closest() {
    let project = Project::new();
    project.pipeline("stages:\n  a:\n    cmd: echo a >> log.txt\n    dpes: [x]\n");
    refused(
        &project,
        &[
            "pipeline.yaml:4:5",
            "key `stages.a.dpes`",
            "unknown field `dpes`",
            "did you mean `deps`?",
        ],
    );
}

#[test]
fn an_unknown_top_level_key_suggests_stages() {
    let project = Project::new();
    project.pipeline("stage:\n  a:\n    cmd: echo a\n");
    refused(&project, &["pipeline.yaml:1:1", "did you mean `stages`?"]);
}

#[test]
fn an_unknown_stage_target_suggests_the_closest() {
    let project = chain();
    project.run(&["repro", "prepre"]).code(2).says(&[
        "unknown stage or out `prepre`",
        "pipeline.yaml",
        "did you mean `prepare`?",
    ]);
    project
        .run(&["status", "cuont"])
        .code(2)
        .says(&["did you mean `count`?"]);
    assert!(project.runs().is_empty());
}

#[test]
fn malformed_yaml_is_located() {
    let project = Project::new();
    project.pipeline("stages:\n  a:\n    cmd: [echo a\n    deps: x\n");
    refused(&project, &["pipeline.yaml:"]);
    let run = project.run(&["status"]);
    assert!(
        run.stderr.contains("pipeline.yaml:4:") || run.stderr.contains("pipeline.yaml:5:"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_param_key_missing_from_params_yaml_is_named() {
    let project = Project::new();
    project
        .pipeline("stages:\n  train:\n    cmd: echo train >> log.txt\n    params:\n      - train.lr\n      - train.epcohs\n")
        .params("train:\n  lr: 0.1\n  epochs: 3\n");
    refused(
        &project,
        &[
            "pipeline.yaml:6:9",
            "key `stages.train.params[1]`",
            "param `train.epcohs` is missing from `params.yaml`",
            "did you mean `train.epochs`?",
        ],
    );
}

#[test]
fn a_missing_params_file_is_named() {
    let project = Project::new();
    project.pipeline("stages:\n  train:\n    cmd: echo train >> log.txt\n    params: [train.lr]\n");
    refused(
        &project,
        &["pipeline.yaml:4:14", "`params.yaml` does not exist"],
    );
}

#[test]
fn interpolating_a_missing_param_is_located() {
    let project = Project::new();
    project
        .pipeline("stages:\n  train:\n    cmd: echo ${train.rate} >> log.txt\n")
        .params("train:\n  lr: 0.1\n");
    refused(
        &project,
        &[
            "pipeline.yaml:3:10",
            "key `stages.train.cmd`",
            "${train.rate}",
            "no key `rate` under `train`",
        ],
    );
}

#[test]
fn a_foreach_over_a_missing_list_is_located() {
    let project = Project::new();
    project
        .pipeline("stages:\n  train:\n    foreach: ${modles}\n    do:\n      cmd: echo ${item} >> log.txt\n")
        .params("models: [gru, gpt2]\n");
    refused(&project, &["pipeline.yaml:3:14", "did you mean `models`?"]);
}

#[test]
fn a_stage_without_a_command_is_refused() {
    let project = Project::new();
    project.pipeline("stages:\n  a:\n    deps: [x]\n");
    refused(&project, &["pipeline.yaml:2:3", "stage `a` has no `cmd`"]);
}

#[test]
fn a_missing_pipeline_file_is_a_usage_error() {
    let project = Project::new();
    project
        .run(&["status"])
        .code(2)
        .says(&["pipeline.yaml", "--pipeline"]);
    project
        .run(&["--pipeline", "nope.yaml", "status"])
        .code(2)
        .says(&["nope.yaml", "no such file"]);
}

#[test]
fn a_bad_command_line_is_a_usage_error() {
    let project = chain();
    project.run(&["repro", "--jobs", "0"]).code(2);
    project.run(&["repro", "--no-such-flag"]).code(2);
    project.run(&["frobnicate"]).code(2);
}

#[test]
fn a_hand_edited_broken_lock_is_located() {
    let project = chain();
    project.run(&["repro"]).ok();
    let lock = project
        .lock()
        .replace("    cmd: echo prepare", "    cmnd: echo prepare");
    project.write("pipeline.lock", &lock);
    project
        .run(&["status"])
        .code(2)
        .says(&["pipeline.lock:", "cmnd", "delete it"]);
}

#[test]
fn a_non_utf8_params_lock_or_pipeline_file_is_a_located_usage_error() {
    let project = Project::new();
    project.pipeline("stages:\n  s:\n    cmd: echo ${a} > out.txt\n    outs: [out.txt]\n");
    std::fs::write(project.path("params.yaml"), b"a: 1\nb: caf\xe9\n").unwrap();
    project
        .run(&["status"])
        .code(2)
        .says(&["params.yaml:2:7", "not UTF-8"]);
    project.params("a: 1\n");
    project.run(&["repro"]).ok();
    let mut lock = std::fs::read(project.path("pipeline.lock")).unwrap();
    lock.extend_from_slice(b"# \xff\n");
    std::fs::write(project.path("pipeline.lock"), lock).unwrap();
    project
        .run(&["status"])
        .code(2)
        .says(&["pipeline.lock:", "not UTF-8"]);
    std::fs::write(project.path("pipeline.yaml"), b"stages:\n  \xff: {}\n").unwrap();
    project
        .run(&["status"])
        .code(2)
        .says(&["pipeline.yaml:2:3", "not UTF-8"]);
}

#[test]
fn a_mistyped_out_target_gets_a_did_you_mean() {
    let project = Project::new();
    project.pipeline("stages:\n  s:\n    cmd: echo x > data/snippets.parquet\n    outs: [data/snippets.parquet]\n");
    project
        .run(&["repro", "data/snipets.parquet"])
        .code(2)
        .says(&[
            "unknown stage or out `data/snipets.parquet`",
            "did you mean `data/snippets.parquet`?",
        ]);
}
