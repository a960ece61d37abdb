//! `icodegen repro --executor slurm` against a real Slurm (scripts/start-slurm.sh starts a
//! single-node one; scripts/test.sh does so before the tests). Without `sbatch`, or when `sinfo`
//! cannot reach a controller, the cluster tests say they are skipped and pass, unless
//! `ICODEGEN_REQUIRE_SLURM=1` (then they fail). Jobs run as the submitting user, in the test's
//! own temporary folder (the file system is shared trivially: one node). The dry-run tests need
//! no cluster.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::Project;

/// Whether a Slurm cluster answers here; prints why not.
fn slurm_available(test: &str) -> bool {
    let sbatch = Command::new("sbatch").arg("--version").output();
    let reason = match sbatch {
        Err(_) => Some("`sbatch` is not on PATH".to_owned()),
        Ok(_) => match Command::new("sinfo").arg("--noheader").output() {
            Ok(output) if output.status.success() => None,
            Ok(output) => Some(format!(
                "`sinfo` failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )),
            Err(error) => Some(format!("cannot run `sinfo`: {error}")),
        },
    };
    match reason {
        None => true,
        Some(reason) => {
            assert!(
                std::env::var("ICODEGEN_REQUIRE_SLURM").as_deref() != Ok("1"),
                "{test}: no Slurm cluster ({reason}), and ICODEGEN_REQUIRE_SLURM=1"
            );
            eprintln!("{test}: skipped, no Slurm cluster here ({reason})");
            false
        }
    }
}

macro_rules! require_slurm {
    ($test:literal) => {
        if !slurm_available($test) {
            return;
        }
    };
}

/// The jobs file: stage -> job id.
fn job_ids(project: &Project) -> BTreeMap<String, String> {
    let text = project.read("cache/slurm/jobs.json");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["jobs"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(stage, record)| (stage.clone(), record["job"].as_str().unwrap().to_owned()))
        .collect()
}

/// Slurm's state of each job, from `squeue` (jobs stay listed for MinJobAge after they end).
fn squeue(ids: &[String]) -> BTreeMap<String, String> {
    let bases: Vec<&str> = ids.iter().map(|id| id.split('_').next().unwrap()).collect();
    let output = Command::new("squeue")
        .args([
            "--noheader",
            "--array",
            "--states=all",
            "--format=%i %T",
            &format!("--jobs={}", bases.join(",")),
        ])
        .output()
        .expect("run squeue");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let (id, state) = line.trim().split_once(' ')?;
            Some((id.to_owned(), state.trim().to_owned()))
        })
        .collect()
}

const ACTIVE: &[&str] = &[
    "PENDING",
    "RUNNING",
    "CONFIGURING",
    "COMPLETING",
    "SUSPENDED",
    "REQUEUED",
    "RESIZING",
];

/// Polls `squeue` until every recorded job of `project` has ended; returns the final states.
#[track_caller]
fn wait_for_jobs(project: &Project) -> BTreeMap<String, String> {
    let ids: Vec<String> = job_ids(project).into_values().collect();
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let states = squeue(&ids);
        let done = ids.iter().all(|id| {
            states
                .get(id)
                .is_some_and(|state| !ACTIVE.contains(&state.as_str()))
        });
        if done {
            return states;
        }
        if Instant::now() > deadline {
            panic!(
                "jobs did not end within 240 s: {states:?}\n{}",
                logs(project)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Every job log of `project`, each under its path.
fn logs(project: &Project) -> String {
    let logs: Vec<String> = std::fs::read_dir(project.path("cache/slurm/logs"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| {
            format!(
                "== {}\n{}",
                entry.path().display(),
                std::fs::read_to_string(entry.path()).unwrap_or_default()
            )
        })
        .collect();
    logs.join("\n")
}

/// The state of each stage's job as `icodegen jobs --json` reports it.
fn job_states(project: &Project) -> BTreeMap<String, String> {
    let run = project.run(&["jobs", "--json"]).ok();
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    json["jobs"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(stage, job)| (stage.clone(), job["state"].as_str().unwrap().to_owned()))
        .collect()
}

/// prepare -> count -> report; `count` fails until the file `fixed` exists (not a dep, so the
/// fix changes no key).
const CHAIN3: &str = r#"
stages:
  prepare:
    cmd: echo prepare >> log.txt && tr a-z A-Z < input.txt > upper.txt
    deps: [input.txt]
    outs: [upper.txt]
  count:
    cmd: echo count >> log.txt && test -e fixed && wc -c < upper.txt | tr -d ' ' > count.txt
    deps: [upper.txt]
    outs: [count.txt]
    resources: {cpus: 1, time: '0:05:00'}
  report:
    cmd: echo report >> log.txt && echo "count=$(cat count.txt)" > report.txt
    deps: [count.txt]
    outs: [report.txt]
"#;

fn chain3(fixed: bool) -> Project {
    let project = Project::new();
    project.pipeline(CHAIN3).write("input.txt", "hello\n");
    if fixed {
        project.write("fixed", "");
    }
    project
}

#[test]
fn a_chain_submitted_at_once_completes_with_the_same_lock_as_a_local_run() {
    require_slurm!("a_chain_submitted_at_once_completes_with_the_same_lock_as_a_local_run");
    let project = chain3(true);
    let run = project
        .run(&["repro", "--executor", "slurm"])
        .ok()
        .says(&["Submitted 3 stage(s)"]);
    let ids = job_ids(&project);
    assert_eq!(ids.len(), 3, "{ids:?}\n{}", run.stderr);
    let states = wait_for_jobs(&project);
    assert!(
        states.values().all(|state| state == "COMPLETED"),
        "{states:?}"
    );
    assert_eq!(project.runs(), ["prepare", "count", "report"]);
    assert_eq!(project.read("report.txt"), "count=6\n");
    assert_eq!(
        project.in_state("fresh"),
        ["count", "prepare", "report"],
        "every stage is fresh after the jobs"
    );
    for stage in ["prepare", "count", "report"] {
        let log = project.path(&format!("cache/slurm/logs/{stage}-{}.out", ids[stage]));
        assert!(log.is_file(), "no log {}", log.display());
    }
    let local = chain3(true);
    local.run(&["repro"]).ok();
    assert_eq!(project.lock(), local.lock());
    // Nothing is stale: nothing to submit, and the queue check passes (no job is queued).
    project
        .run(&["repro", "--executor", "slurm"])
        .ok()
        .says(&["Nothing to submit"]);
    assert!(
        job_states(&project)
            .values()
            .all(|state| state == "completed"),
        "{:?}",
        job_states(&project)
    );
}

#[test]
fn a_failing_middle_stage_cancels_its_dependents_and_resubmission_after_a_fix_runs_only_the_rest() {
    require_slurm!(
        "a_failing_middle_stage_cancels_its_dependents_and_resubmission_after_a_fix_runs_only_the_rest"
    );
    let project = chain3(false);
    project.run(&["repro", "--executor", "slurm"]).ok();
    let first = job_ids(&project);
    let states = wait_for_jobs(&project);
    assert_eq!(states[&first["prepare"]], "COMPLETED", "{states:?}");
    assert_eq!(states[&first["count"]], "FAILED", "{states:?}");
    assert_eq!(states[&first["report"]], "CANCELLED", "{states:?}");
    assert_eq!(project.runs(), ["prepare", "count"], "report never ran");
    // Upstream results are recorded and cached; the failed stage recorded nothing.
    let lock = project.lock();
    assert!(
        lock.contains("prepare:") && !lock.contains("count:"),
        "{lock}"
    );
    let upper = blake3::hash(b"HELLO\n").to_hex().to_string();
    assert!(
        project.objects().iter().any(|(name, _)| *name == upper),
        "upper.txt is in the cache"
    );
    let status = project.status_json();
    assert_eq!(status["stages"]["prepare"]["state"], "fresh");
    assert_eq!(status["stages"]["count"]["job"]["state"], "failed");
    assert_eq!(status["stages"]["count"]["job"]["exit_code"], 1);
    assert_eq!(status["stages"]["report"]["job"]["state"], "cancelled");
    let text = project.run(&["status"]).ok().stdout;
    assert!(
        text.contains(&format!("job {} failed", first["count"]))
            && text.contains(&format!("job {} cancelled", first["report"])),
        "{text}"
    );

    project.write("fixed", "");
    project
        .run(&["repro", "--executor", "slurm"])
        .ok()
        .says(&["Submitted 2 stage(s)"]);
    let second = job_ids(&project);
    assert_eq!(
        second["prepare"], first["prepare"],
        "prepare not resubmitted"
    );
    assert_ne!(second["count"], first["count"]);
    let states = wait_for_jobs(&project);
    assert!(
        states[&second["count"]] == "COMPLETED" && states[&second["report"]] == "COMPLETED",
        "{states:?}"
    );
    assert_eq!(project.runs(), ["prepare", "count", "count", "report"]);
    assert_eq!(project.read("report.txt"), "count=6\n");
    assert_eq!(project.in_state("fresh").len(), 3);
}

const FANOUT: &str = r#"
stages:
  prepare:
    cmd: echo prepare >> log.txt && tr a-z A-Z < input.txt > upper.txt
    deps: [input.txt]
    outs: [upper.txt]
  train:
    foreach: [gru, lstm, gpt2]
    do:
      cmd: echo train@${item} >> log.txt && (cat upper.txt; echo ${item}) > "model-${item}.txt"
      deps: [upper.txt]
      outs: ["model-${item}.txt"]
  compare:
    cmd: echo compare >> log.txt && cat model-gru.txt model-lstm.txt model-gpt2.txt > compare.txt
    deps: [model-gru.txt, model-lstm.txt, model-gpt2.txt]
    outs: [compare.txt]
"#;

#[test]
fn a_foreach_stage_is_submitted_as_one_job_array() {
    require_slurm!("a_foreach_stage_is_submitted_as_one_job_array");
    let project = Project::new();
    project.pipeline(FANOUT).write("input.txt", "hi\n");
    project.run(&["repro", "--executor", "slurm"]).ok();
    let ids = job_ids(&project);
    let array: Vec<&str> = ["train@gru", "train@lstm", "train@gpt2"]
        .iter()
        .map(|stage| ids[*stage].as_str())
        .collect();
    let base = array[0].split('_').next().unwrap();
    assert_eq!(
        array,
        [
            format!("{base}_0"),
            format!("{base}_1"),
            format!("{base}_2")
        ],
        "{ids:?}"
    );
    assert!(!ids["prepare"].contains('_') && !ids["compare"].contains('_'));
    let states = wait_for_jobs(&project);
    assert!(
        states.values().all(|state| state == "COMPLETED"),
        "{states:?}"
    );
    let runs = project.runs();
    assert_eq!(runs.first().map(String::as_str), Some("prepare"));
    assert_eq!(runs.last().map(String::as_str), Some("compare"));
    assert_eq!(runs.len(), 5, "{runs:?}");
    assert!(project.exists(&format!("cache/slurm/logs/train-{base}_1.out")));
    let local = Project::new();
    local.pipeline(FANOUT).write("input.txt", "hi\n");
    local.run(&["repro"]).ok();
    assert_eq!(project.lock(), local.lock());
}

#[test]
fn status_shows_pending_jobs_and_a_second_submission_waits_for_force() {
    require_slurm!("status_shows_pending_jobs_and_a_second_submission_waits_for_force");
    let project = Project::new();
    // The first job may not start for an hour: everything stays pending.
    project
        .pipeline(&CHAIN3.replace(
            "    outs: [upper.txt]\n",
            "    outs: [upper.txt]\n    resources: {extra: ['--begin=now+1hour']}\n",
        ))
        .write("input.txt", "hello\n")
        .write("fixed", "");
    project.run(&["repro", "--executor", "slurm"]).ok();
    let first = job_ids(&project);
    let status = project.status_json();
    for stage in ["prepare", "count", "report"] {
        let job = &status["stages"][stage]["job"];
        assert_eq!(job["state"], "pending", "{status}");
        assert_eq!(job["id"].as_str(), Some(first[stage].as_str()));
    }
    assert_eq!(status["stages"]["count"]["job"]["reason"], "Dependency");
    let text = project.run(&["status"]).ok().stdout;
    assert!(
        text.contains(&format!("job {} pending", first["prepare"])),
        "{text}"
    );
    let listing = project.run(&["jobs"]).ok().stdout;
    assert!(
        listing.contains(&format!("cache/slurm/logs/report-{}.out", first["report"])),
        "{listing}"
    );

    project
        .run(&["repro", "--executor", "slurm"])
        .code(2)
        .says(&["still queued", "--force", "icodegen cancel"]);
    assert_eq!(job_ids(&project), first, "nothing new was submitted");

    // With --force, new jobs wait for the old ones of the same stage.
    project
        .run(&[
            "repro",
            "--executor",
            "slurm",
            "--force",
            "--single",
            "prepare",
        ])
        .ok();
    let second = job_ids(&project);
    assert_ne!(second["prepare"], first["prepare"]);
    let output = Command::new("scontrol")
        .args(["--oneliner", "show", "job", &second["prepare"]])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(
        shown.contains(&format!("afterany:{}", first["prepare"])),
        "{shown}"
    );

    project.run(&["cancel"]).ok().says(&["Cancelled 4 job(s)"]);
    let mut all: Vec<String> = first.values().cloned().collect();
    all.push(second["prepare"].clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let states = squeue(&all);
        if all
            .iter()
            .all(|id| states.get(id).map(String::as_str) == Some("CANCELLED"))
        {
            break;
        }
        assert!(Instant::now() < deadline, "not all cancelled: {states:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        job_states(&project)
            .values()
            .all(|state| state == "cancelled"),
        "{:?}",
        job_states(&project)
    );
    project
        .run(&["cancel"])
        .ok()
        .says(&["No queued or running jobs"]);
    assert!(project.runs().is_empty(), "nothing ran");
}

/// The `--expect` keys in a dry run's job scripts, by stage.
fn expected_keys(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|line| {
            let rest = line.split(" run-stage ").nth(1)?;
            let mut words = rest.split_whitespace();
            let stage = words.next()?.to_owned();
            words.next()?;
            Some((stage, words.next()?.to_owned()))
        })
        .collect()
}

#[test]
fn a_slurm_dry_run_prints_sbatch_options_from_stage_resources_params_and_flags() {
    let project = Project::new();
    project
        .pipeline(&FANOUT.replace(
            "      outs: [\"model-${item}.txt\"]\n",
            "      outs: [\"model-${item}.txt\"]\n      resources: {cpus: 4, mem: 8G, gpus: 1, time: '2:00:00', partition: gpu, extra: ['--constraint=a100']}\n",
        ))
        .params("slurm:\n  partition: cpu\n  account: lab\n  time: '0:30:00'\n")
        .write("input.txt", "hi\n");
    let run = project
        .run(&[
            "repro",
            "--executor",
            "slurm",
            "--dry-run",
            "--mem",
            "1G",
            "--sbatch-arg=--qos=short",
        ])
        .ok();
    let out = &run.stdout;
    let lines: Vec<&str> = out
        .lines()
        .filter(|line| line.starts_with("sbatch "))
        .collect();
    assert_eq!(lines.len(), 3, "prepare, the train array, compare:\n{out}");
    let (prepare, train, compare) = (lines[0], lines[1], lines[2]);
    for option in [
        "--partition=cpu",
        "--account=lab",
        "--time=0:30:00",
        "--mem=1G",
        "--qos=short",
        "--kill-on-invalid-dep=yes",
        "--parsable",
    ] {
        assert!(prepare.contains(option), "{option} in {prepare}");
    }
    assert!(!prepare.contains("--dependency"), "{prepare}");
    for option in [
        "--array=0-2",
        "--cpus-per-task=4",
        "--mem=8G",
        "--gres=gpu:1",
        "--time=2:00:00",
        "--partition=gpu",
        "--account=lab",
        "--constraint=a100",
        "--qos=short",
        "afterok:<job of prepare>",
    ] {
        assert!(train.contains(option), "{option} in {train}");
    }
    assert!(
        compare.contains("afterok:<job of train@gpt2>:<job of train@gru>:<job of train@lstm>"),
        "{compare}"
    );
    assert!(out.contains("run-stage train@lstm --expect "), "{out}");
    assert!(
        !project.exists("cache/slurm/jobs.json"),
        "a dry run submits nothing"
    );
    // Resources shape sbatch options only: the expected keys stay the same.
    let keys = expected_keys(out);
    assert_eq!(keys.len(), 5, "{out}");
    project.pipeline(FANOUT);
    project.params("slurm:\n  partition: other\n");
    let again = project
        .run(&["repro", "--executor", "slurm", "--dry-run", "--cpus", "8"])
        .ok();
    assert!(
        again.stdout.contains("--cpus-per-task=8"),
        "{}",
        again.stdout
    );
    assert_eq!(expected_keys(&again.stdout), keys);
    // --no-array: one job per sibling.
    let singles = project
        .run(&["repro", "--executor", "slurm", "--dry-run", "--no-array"])
        .ok();
    assert_eq!(
        singles
            .stdout
            .lines()
            .filter(|line| line.starts_with("sbatch "))
            .count(),
        5,
        "{}",
        singles.stdout
    );
}

#[test]
fn a_bad_slurm_section_in_params_is_a_located_error() {
    let project = Project::new();
    project
        .pipeline(FANOUT)
        .params("lr: 1\nslurm:\n  partiton: gpu\n")
        .write("input.txt", "hi\n");
    project
        .run(&["repro", "--executor", "slurm", "--dry-run"])
        .code(2)
        .says(&["params.yaml:3:3", "slurm", "did you mean `partition`"]);
}

#[test]
fn without_sbatch_a_slurm_submission_says_so() {
    let project = Project::new();
    project.pipeline(FANOUT).write("input.txt", "hi\n");
    let run = project
        .command(&["repro", "--executor", "slurm"])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("cannot run `sbatch`"), "{stderr}");
    assert!(!project.exists("cache/slurm/jobs.json"));
}

#[test]
fn slurm_options_without_the_slurm_executor_are_a_usage_error() {
    let project = Project::new();
    project.pipeline(FANOUT).write("input.txt", "hi\n");
    project
        .run(&["repro", "--cpus", "4"])
        .code(2)
        .says(&["only apply with `--executor slurm`"]);
    assert!(project.runs().is_empty());
}

/// Adds the folder remote `name` at `dir` to `project`, as its default when `default`.
fn with_remote(project: &Project, name: &str, dir: &std::path::Path, default: bool) {
    let mut args = vec!["remote", "add", name, dir.to_str().unwrap()];
    if default {
        args.push("--default");
    }
    project.run(&args).ok();
}

#[test]
fn a_slurm_dry_run_with_pull_passes_the_remote_to_each_job() {
    let project = chain3(true);
    let (shared, other) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    with_remote(&project, "shared", shared.path(), false);
    with_remote(&project, "other", other.path(), true);
    let scripts = |args: &[&str]| -> Vec<String> {
        let run = project.run(args).ok();
        let lines: Vec<String> = run
            .stdout
            .lines()
            .filter(|line| line.contains(" run-stage "))
            .map(str::to_owned)
            .collect();
        assert_eq!(lines.len(), 3, "{}", run.stdout);
        lines
    };
    let plain = scripts(&["repro", "--executor", "slurm", "--dry-run"]);
    assert!(
        plain.iter().all(|line| !line.contains("--pull")),
        "{plain:?}"
    );
    // The default remote goes by its name, resolved at submission.
    let default = scripts(&["repro", "--pull", "--executor", "slurm", "--dry-run"]);
    assert!(
        default
            .iter()
            .all(|line| line.ends_with(" --pull --remote other")),
        "{default:?}"
    );
    let named = scripts(&[
        "repro",
        "--pull",
        "-r",
        "shared",
        "--executor",
        "slurm",
        "--dry-run",
    ]);
    assert!(
        named
            .iter()
            .all(|line| line.ends_with(" --pull --remote shared")),
        "{named:?}"
    );
    // An unknown remote is refused before anything is submitted.
    project
        .run(&["repro", "--pull", "-r", "nowhere", "--executor", "slurm"])
        .code(2)
        .says(&["nowhere"]);
    assert!(!project.exists("cache/slurm/jobs.json"));
}

#[test]
fn repro_pull_with_slurm_jobs_restores_every_out_from_the_remote_and_runs_no_command() {
    require_slurm!(
        "repro_pull_with_slurm_jobs_restores_every_out_from_the_remote_and_runs_no_command"
    );
    let remote = tempfile::tempdir().unwrap();
    let first = chain3(true);
    with_remote(&first, "shared", remote.path(), true);
    first.run(&["repro"]).ok();
    first.run(&["push"]).ok().says(&["3 entries written"]);

    // A fresh workspace, where `count` would fail if it ran (no `fixed`).
    let second = chain3(false);
    with_remote(&second, "shared", remote.path(), true);
    second
        .run(&["repro", "--pull", "--executor", "slurm"])
        .ok()
        .says(&["Submitted 3 stage(s)"]);
    let states = wait_for_jobs(&second);
    assert!(
        states.values().all(|state| state == "COMPLETED"),
        "{states:?}\n{}",
        logs(&second)
    );
    assert!(
        second.runs().is_empty(),
        "a stage command ran: {:?}\n{}",
        second.runs(),
        logs(&second)
    );
    for out in ["upper.txt", "count.txt", "report.txt"] {
        assert_eq!(
            std::fs::read(second.path(out)).unwrap(),
            std::fs::read(first.path(out)).unwrap(),
            "{out}"
        );
    }
    assert_eq!(second.read("report.txt"), "count=6\n");
    assert_eq!(second.in_state("fresh"), ["count", "prepare", "report"]);
    assert_eq!(second.lock(), first.lock());
    let logs = logs(&second);
    for stage in ["prepare", "count", "report"] {
        assert!(
            logs.contains(&format!("Restored `{stage}` from the run-cache")),
            "{logs}"
        );
    }
}

#[test]
fn a_rejected_submission_leaves_nothing_queued() {
    require_slurm!("a_rejected_submission_leaves_nothing_queued");
    let project = chain3(true);
    project.pipeline(&CHAIN3.replace(
        "resources: {cpus: 1, time: '0:05:00'}",
        "resources: {partition: no-such-partition}",
    ));
    let run = project
        .run(&["repro", "--executor", "slurm"])
        .code(1)
        .says(&["sbatch", "cancelled the 1 job(s) already submitted"]);
    let submitted = run
        .stderr
        .split("already submitted (")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("the cancelled job ids")
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let states = squeue(std::slice::from_ref(&submitted));
        if states.get(&submitted).map(String::as_str) == Some("CANCELLED") {
            break;
        }
        assert!(Instant::now() < deadline, "{submitted}: {states:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(!project.exists("cache/slurm/jobs.json"));
    std::thread::sleep(Duration::from_millis(500));
    assert!(project.runs().is_empty(), "the held first job never ran");
}

/// A testbed from a small Python tree, a Hugging Face checkpoint scored in four shards (a
/// models x shards `matrix`), merged, and tagged: the README's sharded audit, small.
const SHARDED_AUDIT: &str = r#"
stages:
  ingest:
    cmd: icodegen-ingest --params params.yaml --out data/work/snippets.parquet --report data/work/ingest.json
    deps: [src]
    params: [ingest]
    outs: [data/work/snippets.parquet]
  preprocess:
    cmd: >-
      icodegen-preprocess --params params.yaml --snippets data/work/snippets.parquet
      --covariates data/work/covariates.parquet --testbed data/work/testbed.parquet
      --report data/work/preprocess.json
    deps: [data/work/snippets.parquet]
    params: [preprocess]
    outs: [data/work/covariates.parquet, data/work/testbed.parquet]
  infer-shard:
    matrix:
      model: [llama]
      shard: [0, 1, 2, 3]
    cmd: >-
      icodegen-infer --params params.yaml --model models/tiny-${item.model} --model-id ${item.model}
      --testbed data/work/testbed.parquet --shard ${item.shard}/4
      --tokens data/work/parts/${item.model}/tokens-${item.shard}.parquet
      --journal .icodegen/journal/${item.model}-${item.shard}
      --metrics data/work/infer/${item.model}-${item.shard}.json
    deps: ["models/tiny-${item.model}", data/work/testbed.parquet]
    params: [infer]
    outs: ["data/work/parts/${item.model}/tokens-${item.shard}.parquet"]
    metrics: ["data/work/infer/${item.model}-${item.shard}.json"]
    resources: {cpus: 1, time: "0:10:00", extra: ["--requeue"]}
  merge:
    cmd: >-
      icodegen-infer --merge data/work/parts/llama/tokens-0.parquet data/work/parts/llama/tokens-1.parquet
      data/work/parts/llama/tokens-2.parquet data/work/parts/llama/tokens-3.parquet
      --model models/tiny-llama --testbed data/work/testbed.parquet
      --tokens data/work/results/llama/tokens.parquet --scores data/work/results/llama/scores.parquet
    deps: [models/tiny-llama, data/work/testbed.parquet, data/work/parts/llama]
    outs: [data/work/results/llama/tokens.parquet, data/work/results/llama/scores.parquet]
  tag:
    cmd: >-
      icodegen-tag --params params.yaml --testbed data/work/testbed.parquet
      --tokens data/work/results/llama/tokens.parquet --tags data/work/results/llama/tags.parquet
      --concepts data/work/results/llama/concepts.parquet --nodes data/work/results/llama/nodes.parquet
      --global data/work/results/llama/concepts_global.parquet
    deps: [data/work/testbed.parquet, data/work/results/llama/tokens.parquet, data/taxonomies]
    params: [tag]
    outs: [data/work/results/llama/tags.parquet, data/work/results/llama/concepts.parquet,
           data/work/results/llama/nodes.parquet, data/work/results/llama/concepts_global.parquet]
"#;

const SHARDED_PARAMS: &str = r#"
ingest:
  seed: 1
  languages: [python]
  splits: {train: 0.0, valid: 0.0, test: 1.0}
  sources:
    - {kind: tree, path: src, split: test}
preprocess:
  seed: 1
  testbed: {splits: [test], max_snippets: 40}
  interventions: [comments, rename]
infer:
  max_context: 48
  stride: 16
  max_batch_tokens: 192
  top_k: 3
tag:
  bootstrap: 20
  seed: 7
"#;

fn sharded_audit() -> Project {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let project = Project::new();
    project.pipeline(SHARDED_AUDIT).params(SHARDED_PARAMS);
    for i in 0..24 {
        let body = match i % 3 {
            0 => format!(
                "def total_{i}(items, limit={i}):\n    # sum what is below the limit\n    result = 0\n    for item in items:\n        if item < limit and item != {i}:\n            result += item * {}\n    return result\n",
                i % 5 + 2
            ),
            1 => format!(
                "def read_{i}(path):\n    \"\"\"Read file {i}.\"\"\"\n    try:\n        with open(path) as handle:\n            return handle.read()[:{i}]\n    except OSError as error:\n        print('cannot read', path, error)\n        return None\n"
            ),
            _ => format!(
                "def count_{i}(words):\n    counts = {{}}\n    for word in words:\n        counts[word] = counts.get(word, 0) + {i}\n    return sorted(counts.items(), key=lambda pair: -pair[1])\n"
            ),
        };
        project.write(&format!("src/module_{}.py", i % 4), "");
        let path = project.path(&format!("src/module_{}.py", i % 4));
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(&body);
        text.push('\n');
        std::fs::write(path, text).unwrap();
    }
    for entry in std::fs::read_dir(repo.join("data/taxonomies")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        project.write(
            &format!("data/taxonomies/{name}"),
            &std::fs::read_to_string(entry.path()).unwrap(),
        );
    }
    std::fs::create_dir_all(project.path("models")).unwrap();
    std::os::unix::fs::symlink(
        repo.join("stages/infer/tests/fixtures/hf/llama_linear"),
        project.path("models/tiny-llama"),
    )
    .unwrap();
    project
}

#[test]
fn a_four_shard_matrix_infer_submitted_as_a_job_array_tags_like_a_local_run() {
    require_slurm!("a_four_shard_matrix_infer_submitted_as_a_job_array_tags_like_a_local_run");
    let cluster = sharded_audit();
    let run = cluster.run(&["repro", "--executor", "slurm"]).ok();
    let ids = job_ids(&cluster);
    let shards: Vec<&str> = (0..4)
        .map(|shard| {
            ids.get(&format!("infer-shard@llama-{shard}"))
                .unwrap_or_else(|| panic!("no job for shard {shard}: {ids:?}\n{}", run.stderr))
                .as_str()
        })
        .collect();
    let base = shards[0].split('_').next().unwrap();
    assert_eq!(
        shards,
        (0..4).map(|i| format!("{base}_{i}")).collect::<Vec<_>>(),
        "the four shards are one job array: {ids:?}"
    );
    let states = wait_for_jobs(&cluster);
    assert!(
        states.values().all(|state| state == "COMPLETED"),
        "{states:?}\n{}",
        logs(&cluster)
    );
    assert!(
        cluster.in_state("fresh").len() == 8,
        "{:?}",
        cluster.states()
    );

    let local = sharded_audit();
    local.run(&["repro"]).ok();
    for file in [
        "tokens.parquet",
        "scores.parquet",
        "tags.parquet",
        "concepts.parquet",
    ] {
        let path = format!("data/work/results/llama/{file}");
        assert!(
            std::fs::read(cluster.path(&path)).unwrap()
                == std::fs::read(local.path(&path)).unwrap(),
            "{file} differs between the Slurm array and the local run"
        );
    }
    // Every array task scored its own share of the batches, and its journal went with success.
    let (mut batches, mut planned) = (0, 0);
    for shard in 0..4 {
        let metrics: serde_json::Value =
            serde_json::from_str(&cluster.read(&format!("data/work/infer/llama-{shard}.json")))
                .unwrap();
        let scored = metrics["batches_scored"].as_u64().unwrap();
        assert!(scored >= 1, "shard {shard} scored nothing: {metrics}");
        batches += scored;
        planned = metrics["batches"].as_u64().unwrap();
        assert!(!cluster.exists(&format!(".icodegen/journal/llama-{shard}")));
    }
    assert_eq!(batches, planned, "the shards share the plan's batches");
    assert!(batches >= 8, "{batches} batches over 4 shards");
}

#[test]
fn a_requeued_shard_resumes_from_its_journal_and_the_study_ends_as_a_local_run() {
    require_slurm!("a_requeued_shard_resumes_from_its_journal_and_the_study_ends_as_a_local_run");
    let cluster = sharded_audit();
    // Slow scoring (a test-only pause after each batch) leaves time to pre-empt a task halfway.
    let run = cluster
        .command(&["repro", "--executor", "slurm"])
        .env("ICODEGEN_INFER_TEST_PAUSE_MS", "700")
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    let ids = job_ids(&cluster);
    let task = ids["infer-shard@llama-0"].clone();
    let journal = cluster.path(".icodegen/journal/llama-0");
    let journaled = || {
        std::fs::read_dir(&journal)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|entry| entry.file_name().to_string_lossy().starts_with("batch-"))
                    .count()
            })
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(180);
    while journaled() < 1 {
        assert!(
            Instant::now() < deadline,
            "shard 0 journaled nothing\n{}",
            logs(&cluster)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Pre-emption as Slurm does it: the task is killed and queued again (`--requeue`).
    let requeue = Command::new("scontrol")
        .args(["requeue", &task])
        .output()
        .unwrap();
    assert!(requeue.status.success(), "{requeue:?}");
    let before = journaled();
    // Slurm holds a requeued job for a while (pending, reason BeginTime) once the killed task
    // has completed; a test need not wait for it.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let show = Command::new("scontrol")
            .args(["show", "job", &task])
            .output()
            .unwrap();
        let show = String::from_utf8_lossy(&show.stdout).into_owned();
        if show.contains("JobState=PENDING") {
            let release = Command::new("scontrol")
                .args(["update", &format!("JobId={task}"), "StartTime=now"])
                .output()
                .unwrap();
            assert!(release.status.success(), "{release:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the task was not requeued:\n{show}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let states = wait_for_jobs(&cluster);
    assert!(
        states.values().all(|state| state == "COMPLETED"),
        "{states:?}\n{}",
        logs(&cluster)
    );
    let metrics: serde_json::Value =
        serde_json::from_str(&cluster.read("data/work/infer/llama-0.json")).unwrap();
    assert!(
        metrics["batches_resumed"].as_u64().unwrap() >= before as u64,
        "the requeued task scored again what it had journaled: {metrics}"
    );
    assert!(
        !journal.exists(),
        "the journal goes once the part is complete"
    );
    let local = sharded_audit();
    local.run(&["repro"]).ok();
    for file in ["tokens.parquet", "scores.parquet", "tags.parquet"] {
        let path = format!("data/work/results/llama/{file}");
        assert!(
            std::fs::read(cluster.path(&path)).unwrap()
                == std::fs::read(local.path(&path)).unwrap(),
            "{file} differs from the local run after a requeue"
        );
    }
}
