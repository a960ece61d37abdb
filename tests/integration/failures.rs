//! Failing, killed and interfering stages: nothing half-done is ever recorded.

use std::time::Duration;

use crate::harness::{Project, wait_for};

const FAILING_MIDDLE: &str = r#"
stages:
  first:
    cmd: echo first >> log.txt && echo 1 > first.txt
    outs: [first.txt]
  middle:
    cmd: echo middle >> log.txt && echo partial > middle.txt && exit 3
    deps: [first.txt]
    outs: [middle.txt]
  last:
    cmd: echo last >> log.txt && cat middle.txt > last.txt
    deps: [middle.txt]
    outs: [last.txt]
  other:
    cmd: echo other >> log.txt && echo o > other.txt
    outs: [other.txt]
"#;

#[test]
fn a_failing_stage_exits_1_keeps_the_lock_and_does_not_run_downstream() {
    let project = Project::new();
    project.pipeline(FAILING_MIDDLE);
    project.run(&["repro"]).code(1).says(&[
        "stage `middle` failed: command exited with status 3",
        "not started",
        "--keep-going",
    ]);
    assert_eq!(project.runs(), ["first", "middle"]);
    let lock = project.lock();
    assert!(
        lock.contains("first:") && !lock.contains("middle:"),
        "{lock}"
    );
    // Its partial output is not cached: no object holds "partial".
    let partial = blake3::hash(b"partial\n").to_hex().to_string();
    assert!(project.objects().iter().all(|(name, _)| *name != partial));
    assert_eq!(project.in_state("never-run"), ["last", "middle", "other"]);
}

#[test]
fn keep_going_finishes_independent_stages_and_lists_the_skipped() {
    let project = Project::new();
    project.pipeline(FAILING_MIDDLE);
    project.run(&["repro", "--keep-going"]).code(1).says(&[
        "1 stage(s) failed: `middle`",
        "skipped, because a stage they depend on failed: `last`",
    ]);
    assert_eq!(project.runs(), ["first", "middle", "other"]);
    assert_eq!(project.in_state("fresh"), ["first", "other"]);
}

#[test]
fn independent_stages_run_in_parallel() {
    // Each stage waits (up to 10 s) for the other to start: only side by side do both see it.
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
    let run = project.run(&["repro", "-j", "2"]).ok();
    assert_eq!(project.read("a.txt"), "saw-b\n");
    assert_eq!(project.read("b.txt"), "saw-a\n");
    // With -j 2 each stage's output lines carry its name.
    assert!(
        run.stderr.contains("Running `a`") && run.stderr.contains("Running `b`"),
        "{}",
        run.stderr
    );
}

#[test]
fn parallel_output_lines_are_prefixed_with_the_stage() {
    let project = Project::new();
    project.pipeline("stages:\n  a:\n    cmd: echo from-a\n  b:\n    cmd: echo from-b >&2\n");
    let run = project.run(&["repro", "-j", "2"]).ok();
    assert!(run.stdout.contains("[a] from-a"), "{}", run.stdout);
    assert!(run.stderr.contains("[b] from-b"), "{}", run.stderr);
}

#[test]
fn a_dep_changed_while_the_stage_ran_is_an_error() {
    let project = Project::new();
    project
        .pipeline("stages:\n  sneaky:\n    cmd: echo more >> input.txt && cp input.txt out.txt\n    deps: [input.txt]\n    outs: [out.txt]\n")
        .write("input.txt", "data\n");
    project
        .run(&["repro"])
        .code(1)
        .says(&["dep `input.txt` changed while the stage ran"]);
    assert!(!project.lock().contains("sneaky"));
}

#[test]
fn a_stage_that_does_not_create_its_out_fails() {
    let project = Project::new();
    project.pipeline("stages:\n  lazy:\n    cmd: 'true'\n    outs: [never.txt]\n");
    project
        .run(&["repro"])
        .code(1)
        .says(&["did not create out `never.txt`"]);
    assert!(!project.lock().contains("lazy"));
}

#[test]
fn a_stage_killed_mid_run_fails_and_runs_again_next_time() {
    let project = Project::new();
    project
        .pipeline(
            "stages:\n  victim:\n    cmd: echo victim >> log.txt && echo $$ > pid && if [ -f hang ]; then i=0; while [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; fi; echo done > out.txt\n    outs: [out.txt]\n",
        )
        .write("hang", "");
    let child = project
        .command(&["repro"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_for(&project.path("pid"), 10), "stage did not start");
    std::thread::sleep(Duration::from_millis(100));
    let pid: i32 = project.read("pid").trim().parse().unwrap();
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("killed by signal 9"), "{stderr}");
    assert!(!project.lock().contains("victim"));
    project.remove("hang");
    project.run(&["repro"]).ok();
    assert_eq!(project.read("out.txt"), "done\n");
    assert_eq!(project.run_count("victim"), 2);
}

#[test]
fn a_killed_runner_leaves_no_partial_object_and_the_stage_reruns() {
    let project = Project::new();
    project
        .pipeline(
            "stages:\n  big:\n    cmd: echo big >> log.txt && head -c 3000000 /dev/zero > big.bin && touch started && if [ -f hang ]; then i=0; while [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; fi; echo tail >> big.bin\n    outs: [big.bin]\n",
        )
        .write("hang", "");
    let mut child = project.command(&["repro"]).spawn().unwrap();
    assert!(
        wait_for(&project.path("started"), 10),
        "stage did not start"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    // The runner is gone: nothing recorded, every object in the cache is complete.
    assert!(!project.lock().contains("big"));
    for (name, hash) in project.objects() {
        assert_eq!(name, hash, "partial object in the cache");
    }
    project.remove("hang");
    // The stage's shell got SIGTERM when the runner died; give it a moment to go.
    std::thread::sleep(Duration::from_millis(200));
    project.run(&["repro"]).ok().says(&["Running `big`"]);
    assert!(project.lock().contains("big.bin"));
    for (name, hash) in project.objects() {
        assert_eq!(name, hash);
    }
}

#[test]
fn a_corrupted_cache_object_is_detected_and_the_stage_reruns() {
    let project = Project::new();
    project
        .pipeline("stages:\n  make:\n    cmd: echo make >> log.txt && cp input.txt out.txt\n    deps: [input.txt]\n    outs: [out.txt]\n")
        .write("input.txt", "precious\n");
    project.run(&["repro"]).ok();
    let hash = blake3::hash(b"precious\n").to_hex().to_string();
    let object = project.path(&format!("cache/v1/objects/{}/{}", &hash[..2], &hash[2..]));
    let mut permissions = std::fs::metadata(&object).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(&object, permissions).unwrap();
    std::fs::write(&object, "rotten!!!\n").unwrap();
    project.remove("out.txt");
    project
        .run(&["checkout"])
        .code(1)
        .says(&["`out.txt`", "corrupted", "icodegen repro make"]);
    assert!(!project.exists("out.txt"), "a corrupted object was used");
    project.run(&["repro"]).ok();
    assert_eq!(project.read("out.txt"), "precious\n");
    assert_eq!(project.run_count("make"), 2, "re-run instead of restored");
    assert!(project.objects().iter().all(|(name, hash)| name == hash));
}

#[test]
fn a_corrupted_object_in_the_run_cache_is_rerun_not_restored() {
    let project = Project::new();
    project
        .pipeline("stages:\n  make:\n    cmd: echo make >> log.txt && cp input.txt out.txt\n    deps: [input.txt]\n    outs: [out.txt]\n")
        .write("input.txt", "one\n");
    project.run(&["repro"]).ok();
    project.write("input.txt", "two\n");
    project.run(&["repro"]).ok();
    // Corrupt the object of the first run, then go back to it.
    let hash = blake3::hash(b"one\n").to_hex().to_string();
    let object = project.path(&format!("cache/v1/objects/{}/{}", &hash[..2], &hash[2..]));
    std::fs::remove_file(&object).unwrap();
    std::fs::write(&object, "bad\n").unwrap();
    project.write("input.txt", "one\n");
    project
        .run(&["repro"])
        .ok()
        .says(&["corrupted", "running it instead"]);
    assert_eq!(project.read("out.txt"), "one\n");
    assert_eq!(project.run_count("make"), 3);
}

#[test]
fn a_second_runner_is_refused_while_the_first_holds_the_lock() {
    let project = Project::new();
    project.pipeline(
        "stages:\n  wait:\n    cmd: touch started && i=0; while [ ! -f go ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; echo ok > out.txt\n    outs: [out.txt]\n",
    );
    let child = project
        .command(&["repro"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_for(&project.path("started"), 10));
    let first_pid = child.id().to_string();
    project.run(&["repro"]).code(2).says(&[
        "another icodegen runner",
        "icodegen repro",
        &format!("pid {first_pid}"),
    ]);
    project.run(&["gc"]).code(2);
    // Reading is allowed meanwhile.
    project.run(&["status"]).ok();
    project.write("go", "");
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    project.run(&["repro"]).ok();
}

#[test]
fn an_interrupted_runner_stops_its_stages_and_records_nothing() {
    let project = Project::new();
    project.pipeline(
        "stages:\n  slow:\n    cmd: touch started && i=0; while [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; echo ok > out.txt\n    outs: [out.txt]\n",
    );
    let child = project
        .command(&["repro"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_for(&project.path("started"), 10));
    let started = std::time::Instant::now();
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the stage was not stopped"
    );
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!project.exists("out.txt"));
    assert!(!project.lock().contains("slow"));
}

#[test]
fn a_dep_deleted_while_the_stage_ran_is_reported_as_deleted() {
    let project = Project::new();
    project
        .pipeline("stages:\n  eater:\n    cmd: cp input.txt out.txt && rm input.txt\n    deps: [input.txt]\n    outs: [out.txt]\n")
        .write("input.txt", "data\n");
    let run = project
        .run(&["repro"])
        .code(1)
        .says(&["dep `input.txt` was deleted while the stage ran"]);
    assert!(!run.stderr.contains("once it is stable"), "{}", run.stderr);
}

#[test]
fn a_signalled_runner_exits_128_plus_the_signal() {
    for (signal, code) in [("TERM", 143), ("INT", 130)] {
        let project = Project::new();
        project
            .pipeline("stages:\n  slow:\n    cmd: touch started; i=0; while [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; echo x > out.txt\n    outs: [out.txt]\n")
            .write("hang", "");
        let child = project
            .command(&["repro"])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        assert!(wait_for(&project.path("started"), 10));
        std::process::Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(code),
            "SIG{signal}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!project.lock().contains("slow"));
    }
}
