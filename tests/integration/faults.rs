//! Fault injection: the runner killed (SIGKILL) at named points of a small pipeline, and the
//! stages' own processes left behind. After each: nothing outside the workspace is touched, the
//! next `repro` completes, `status` is fresh, and every out equals what a clean run produces.
//!
//! Points (`ICODEGEN_FAULT`, see crates/pipeline/src/fault.rs): `hashing-deps`, `storing-outs`,
//! `restoring-folder`, `writing-lock`, `recording`; and, from the test, `kill -9` while a stage
//! runs (its escaped children included).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::{Project, wait_for};

/// Two stages: a folder out from a dep read through a symlink to a shared store outside the
/// workspace, then a file out from the folder.
const PIPELINE: &str = r#"
stages:
  prepare:
    cmd: mkdir -p data/prep && cp input.txt data/prep/a.txt && cat shared/model.txt > data/prep/b.txt && echo c > data/prep/c.txt
    deps: [input.txt, shared/model.txt]
    outs: [data/prep]
  train:
    cmd: cat data/prep/a.txt data/prep/b.txt > model.txt
    deps: [data/prep]
    outs: [model.txt]
"#;

struct Scene {
    project: Project,
    outside: tempfile::TempDir,
}

/// Every file under `dir` (relative path -> contents), hidden ones included.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                walk(root, &entry.path(), files);
            } else if kind.is_file() {
                let relative = entry.path().strip_prefix(root).unwrap().to_owned();
                let bytes = std::fs::read(entry.path()).unwrap();
                files.insert(relative.to_string_lossy().into_owned(), bytes);
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

impl Scene {
    fn new() -> Scene {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("model.txt"), "weights\n").unwrap();
        std::fs::write(outside.path().join("sentinel"), "untouched\n").unwrap();
        let project = Project::new();
        project.pipeline(PIPELINE).write("input.txt", "one\n");
        std::os::unix::fs::symlink(outside.path(), project.path("shared")).unwrap();
        Scene { project, outside }
    }

    fn run_with_fault(&self, args: &[&str], point: &str) {
        let status = self
            .project
            .command(args)
            .env("ICODEGEN_FAULT", point)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(9),
            "{point}: the runner was not killed"
        );
    }

    /// The checks after every fault.
    fn recovers(&self, point: &str) {
        let outside = tree(self.outside.path());
        self.project.run(&["repro"]).ok();
        assert_eq!(
            self.project.in_state("fresh"),
            ["prepare", "train"],
            "{point}"
        );
        assert_eq!(self.project.read("data/prep/a.txt"), "one\n", "{point}");
        assert_eq!(self.project.read("model.txt"), "one\nweights\n", "{point}");
        let prep = tree(&self.project.path("data/prep"));
        assert_eq!(prep.len(), 3, "{point}: {:?}", prep.keys());
        // Nothing outside the workspace changed, and no leftovers inside it.
        assert_eq!(tree(self.outside.path()), outside, "{point}");
        assert_eq!(outside.len(), 2, "{point}");
        let leftovers: Vec<String> = tree(self.project.root())
            .into_keys()
            .filter(|name| name.contains(".tmp-") || name.starts_with("cache/v1/tmp/"))
            .collect();
        assert!(leftovers.is_empty(), "{point}: {leftovers:?}");
        for (name, hash) in self.project.objects() {
            assert_eq!(name, hash, "{point}: partial object in the cache");
        }
    }
}

#[test]
fn a_runner_killed_at_any_named_point_leaves_a_workspace_the_next_repro_completes() {
    for point in ["hashing-deps", "storing-outs", "writing-lock", "recording"] {
        let scene = Scene::new();
        scene.run_with_fault(&["repro"], point);
        scene.recovers(point);
        // The same point on a second run, over recorded outs (input changed).
        scene.project.write("input.txt", "two\n");
        scene.run_with_fault(&["repro"], point);
        scene.project.write("input.txt", "one\n");
        scene.recovers(point);
    }
}

#[test]
fn a_runner_killed_while_restoring_a_folder_leaves_no_staging_folder_behind() {
    let scene = Scene::new();
    scene.project.run(&["repro"]).ok();
    scene.project.remove("data/prep");
    scene.run_with_fault(&["checkout"], "restoring-folder");
    let staged: Vec<String> = std::fs::read_dir(scene.project.path("data"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        staged.iter().any(|name| name.starts_with(".prep.tmp-")),
        "the fault point is not inside the restore: {staged:?}"
    );
    scene.recovers("restoring-folder");
    // From the run-cache too: back to an input seen before.
    scene.project.write("input.txt", "two\n");
    scene.project.run(&["repro"]).ok();
    scene.project.write("input.txt", "one\n");
    scene.run_with_fault(&["repro"], "restoring-folder");
    scene.recovers("restoring-folder");
    // `gc` cleans up too.
    scene.project.remove("data/prep");
    scene.run_with_fault(&["checkout"], "restoring-folder");
    scene.project.run(&["gc"]).ok();
    assert!(
        std::fs::read_dir(scene.project.path("data"))
            .unwrap()
            .all(|entry| !entry
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".tmp-"))
    );
}

const ESCAPING: &str = "stages:\n  fetch:\n    cmd: if [ -f hang ]; then setsid sh -c 'sleep 2; echo late > out.txt; echo late > late.txt' & fi; touch started; i=0; while [ -f hang ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; echo done > out.txt\n    outs: [out.txt]\n";

#[test]
fn a_killed_runners_escaped_children_are_ended_before_the_next_run_records_anything() {
    let project = Project::new();
    project.pipeline(ESCAPING).write("hang", "");
    let mut runner = project
        .command(&["repro"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_for(&project.path("started"), 10),
        "stage did not start"
    );
    runner.kill().unwrap();
    runner.wait().unwrap();
    project.remove("hang");
    project
        .run(&["repro"])
        .ok()
        .says(&["of a runner that died", "they were stopped"]);
    // The escapee would have written 2 s after it started: it never does.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(!project.exists("late.txt"), "a killed runner's child wrote");
    assert_eq!(project.read("out.txt"), "done\n");
    assert_eq!(project.in_state("fresh"), ["fetch"]);
    assert!(
        std::fs::read_dir(project.path(".icodegen/running"))
            .unwrap()
            .next()
            .is_none()
    );
}

#[test]
fn background_processes_a_stage_leaves_are_stopped_and_fail_it_without_stalling_the_run() {
    let project = Project::new();
    project.pipeline(
        "stages:\n  leaky:\n    cmd: echo x > a.txt; (sleep 30; echo late > a.txt) &\n    outs: [a.txt]\n  fine:\n    cmd: echo y > b.txt\n    outs: [b.txt]\n",
    );
    for jobs in ["1", "2"] {
        let started = Instant::now();
        project
            .run(&["repro", "--keep-going", "-j", jobs])
            .code(1)
            .says(&[
                "stage `leaky` failed",
                "process(es) running in the background",
            ]);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "-j {jobs} waited for the background process"
        );
        assert!(!project.lock().contains("leaky"));
        assert_eq!(project.in_state("fresh"), ["fine"]);
    }
}
