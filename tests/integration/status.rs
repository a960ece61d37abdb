//! `icodegen status` and `icodegen dag`.

use crate::harness::Project;
use crate::repro::{BRANCHES, chain};

#[test]
fn status_says_never_run_fresh_and_stale() {
    let project = chain();
    assert_eq!(
        project.run(&["status"]).ok().stdout,
        "prepare  never-run\ncount    never-run\n"
    );
    project.run(&["repro"]).ok();
    assert_eq!(
        project.run(&["status"]).ok().stdout,
        "prepare  fresh\ncount    fresh\n"
    );
    project.write("input.txt", "new\n");
    assert_eq!(
        project.run(&["status"]).ok().stdout,
        "prepare  stale\ncount    stale\n"
    );
}

#[test]
fn status_json_has_the_documented_shape() {
    let project = chain();
    project.run(&["repro"]).ok();
    project.write("input.txt", "new\n");
    let json = project.status_json();
    assert_eq!(
        json,
        serde_json::json!({"stages": {
          "prepare": {"state": "stale", "reasons": ["dep `input.txt` changed"]},
          "count": {"state": "stale", "reasons": ["upstream stage `prepare` is stale"]},
        }})
    );
}

#[test]
fn explain_lists_every_reason() {
    let project = Project::new();
    project
        .pipeline(BRANCHES)
        .params("left: {factor: 1}\nright: {factor: 2}\n")
        .write("input.txt", "x\n");
    project.run(&["repro"]).ok();
    project.params("left: {factor: 9}\nright: {factor: 2}\n");
    project.write("left.txt", "edited\n");
    let run = project.run(&["status", "--explain"]).ok();
    let expected = "\
source  fresh
left    stale
          param `left.factor` changed (1 -> 9)
          command changed
          out `left.txt` was modified
right   fresh
join    stale
          upstream stage `left` is stale
          dep `left.txt` changed
";
    assert_eq!(run.stdout, expected);
    let json = project.run(&["status", "--json", "--explain"]).ok().stdout;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        json["stages"]["left"]["reasons"].as_array().unwrap().len(),
        3
    );
}

#[test]
fn status_of_a_target_covers_it_and_its_upstream() {
    let project = Project::new();
    project
        .pipeline(BRANCHES)
        .params("left: {factor: 1}\nright: {factor: 2}\n")
        .write("input.txt", "x\n");
    assert_eq!(
        project.run(&["status", "left"]).ok().stdout,
        "source  never-run\nleft    never-run\n"
    );
}

#[test]
fn status_reports_a_missing_external_dep() {
    let project = chain();
    project.run(&["repro"]).ok();
    project.remove("input.txt");
    assert_eq!(
        project.status_json()["stages"]["prepare"]["reasons"][0],
        "dep `input.txt` is missing"
    );
}

#[test]
fn foreach_and_matrix_expand_to_named_stages_that_can_be_targeted() {
    let project = Project::new();
    project
        .pipeline(
          r#"
stages:
  train:
    foreach: ${models}
    do:
      cmd: echo train@${item.name} >> log.txt && mkdir -p models/${item.name} && echo ${item.size} > models/${item.name}/weights.txt
      params: [models]
      outs: ["models/${item.name}/"]
  infer:
    matrix:
      model: [gru, gpt2]
      split: [test, val]
    cmd: echo infer@${key} >> log.txt && cat models/${item.model}/weights.txt > scores-${item.model}-${item.split}.txt
    deps: ["models/${item.model}"]
    outs: ["scores-${item.model}-${item.split}.txt"]
"#,
        )
        .params("models:\n  - {name: gru, size: 8}\n  - {name: gpt2, size: 16}\n");
    let states = project.states();
    let names: Vec<&str> = states.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "infer@gpt2-test",
            "infer@gpt2-val",
            "infer@gru-test",
            "infer@gru-val",
            "train@gpt2",
            "train@gru"
        ]
    );
    project.run(&["repro", "infer@gpt2-val"]).ok();
    assert_eq!(project.runs(), ["train@gpt2", "infer@gpt2-val"]);
    project.run(&["repro", "train"]).ok();
    assert_eq!(project.run_count("train@gru"), 1);
    assert_eq!(project.read("scores-gpt2-val.txt"), "16\n");
}

#[test]
fn a_folder_dep_waits_for_every_stage_writing_inside_it_and_a_new_item_runs_only_its_stages() {
    let project = Project::new();
    let pipeline = r#"
stages:
  infer:
    foreach: ${models}
    do:
      cmd: echo infer@${item} >> log.txt && mkdir -p work/models/${item} && echo ${item} > work/models/${item}/scores.txt
      outs: ["work/models/${item}"]
  analyze:
    cmd: echo analyze >> log.txt && cat work/models/*/scores.txt > report.txt
    deps: [work/models]
    outs: [report.txt]
"#;
    project.pipeline(pipeline).params("models: [gru, gpt2]\n");
    project.run(&["repro", "-j", "2"]).ok();
    assert_eq!(project.read("report.txt"), "gpt2\ngru\n");
    let dag = project.run(&["dag"]).ok().stdout;
    assert_eq!(dag, "infer@gru\n└── analyze\ninfer@gpt2\n└── analyze\n");
    project.params("models: [gru, gpt2, lstm]\n");
    assert_eq!(project.in_state("never-run"), ["infer@lstm"]);
    assert_eq!(project.in_state("stale"), ["analyze"]);
    project.run(&["repro"]).ok();
    assert_eq!(project.runs()[3..], ["infer@lstm", "analyze"]);
    assert_eq!(project.read("report.txt"), "gpt2\ngru\nlstm\n");
}

#[test]
fn dag_prints_ascii_dot_and_mermaid() {
    let project = Project::new();
    project
        .pipeline(BRANCHES)
        .params("left: {factor: 1}\nright: {factor: 2}\n");
    let ascii = project.run(&["dag"]).ok().stdout;
    assert_eq!(
        ascii,
        "source\n├── left\n│   └── join\n└── right\n    └── join\n"
    );
    let dot = project.run(&["dag", "--format", "dot"]).ok().stdout;
    assert!(
        dot.starts_with("digraph pipeline {") && dot.contains("\"left\" -> \"join\";"),
        "{dot}"
    );
    let mermaid = project.run(&["dag", "--format", "mermaid"]).ok().stdout;
    assert!(
        mermaid.contains("s0 --> s1") && mermaid.contains("s3[\"join\"]"),
        "{mermaid}"
    );
    assert_eq!(
        project.run(&["dag", "left"]).ok().stdout,
        "source\n└── left\n"
    );
}

#[test]
fn no_color_turns_off_colour_on_a_terminal() {
    // `script` gives the runner a pseudo-terminal, where it colours unless NO_COLOR is set.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return;
    }
    let project = chain();
    let through_tty = |no_color: bool| {
        let command = format!("{} status", crate::harness::BIN);
        let mut script = std::process::Command::new("script");
        script
            .args(["-qec", &command, "/dev/null"])
            .current_dir(project.root())
            .env_remove("NO_COLOR");
        if no_color {
            script.env("NO_COLOR", "1");
        }
        String::from_utf8_lossy(&script.output().unwrap().stdout).into_owned()
    };
    let coloured = through_tty(false);
    assert!(
        coloured.contains("\x1b[36mnever-run\x1b[0m"),
        "{coloured:?}"
    );
    let plain = through_tty(true);
    assert!(
        plain.contains("never-run") && !plain.contains('\x1b'),
        "{plain:?}"
    );
}

#[test]
fn quiet_shows_only_errors_and_verbose_shows_fresh_stages_and_keys() {
    let project = chain();
    let run = project.run(&["repro", "-q"]).ok();
    assert_eq!(run.stderr, "");
    let run = project.run(&["repro", "-v"]).ok();
    assert!(run.stderr.contains("`prepare` is fresh"), "{}", run.stderr);
    let run = project.run(&["repro", "-vv", "--force", "prepare"]).ok();
    assert!(
        run.stderr.contains("stage `prepare` key ") && run.stderr.contains("\"cmd\""),
        "{}",
        run.stderr
    );
    project.run(&["repro", "-q", "-v"]).code(2);
}

#[test]
fn every_command_has_help() {
    let project = Project::new();
    for command in [
        "repro",
        "status",
        "dag",
        "checkout",
        "gc",
        "query",
        "run-stage",
        "jobs",
        "cancel",
    ] {
        let run = project.run(&[command, "--help"]).ok();
        assert!(
            run.stdout.contains("Usage: icodegen"),
            "{command}: {}",
            run.stdout
        );
        assert!(
            run.stdout.contains("--pipeline") && run.stdout.contains("--cache"),
            "{command}"
        );
    }
    assert!(project.run(&["--help"]).ok().stdout.contains("repro"));
}
