//! Remotes (issue 15): push, pull, fetch, `repro --pull`, put-if-absent conflicts, corrupted
//! and unreachable remotes, `gc --remote`, and `params diff` / `metrics diff` between commits.
//! A folder remote always; an S3 remote on a `moto` server on 127.0.0.1 when
//! `.tools/moto-venv/bin/moto_server` is there (scripts/setup.sh installs it); under
//! `ICODEGEN_REQUIRE_S3=1` (set by scripts/test.sh) a missing server fails instead of skipping.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::Project;

/// A stage with a file out, a folder out and a metrics file; `make.sh` notes each run.
const PIPELINE: &str = "stages:\n  make:\n    cmd: sh make.sh\n    deps: [make.sh, in.txt]\n    params: [scale]\n    outs: [out.txt, dir]\n    metrics: [metrics.json]\n";
const SCRIPT: &str = "echo make >> log.txt\ncat in.txt in.txt > out.txt\nmkdir -p dir/sub\necho one > dir/a.txt\necho two > dir/sub/b.txt\nprintf '{\"accuracy\": %s, \"name\": \"m\"}\\n' \"$(cat in.txt | wc -c)\" > metrics.json\n";

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("git");
    assert!(status.success(), "git {args:?}");
}

/// A workspace, run and committed (lock included), with a folder remote `shared` as default.
fn workspace(remote: &Path) -> Project {
    let project = Project::new();
    project
        .pipeline(PIPELINE)
        .params("scale: 1\n")
        .write("make.sh", SCRIPT)
        .write("in.txt", "hello\n")
        .write(
            ".gitignore",
            "/cache/\n/.icodegen/\n/out.txt\n/dir/\n/metrics.json\n/log.txt\n",
        );
    project.run(&["repro"]).ok();
    project
        .run(&[
            "remote",
            "add",
            "shared",
            remote.to_str().unwrap(),
            "--default",
        ])
        .ok();
    git(project.root(), &["init", "-q"]);
    git(project.root(), &["add", "-A"]);
    git(project.root(), &["commit", "-qm", "first"]);
    project
}

/// A fresh clone of `project` (no cache, no outs).
fn clone(project: &Project) -> Project {
    let copy = Project::new();
    std::fs::remove_dir(copy.root()).unwrap();
    git(
        Path::new("/"),
        &[
            "clone",
            "-q",
            project.root().to_str().unwrap(),
            copy.root().to_str().unwrap(),
        ],
    );
    copy
}

fn remote_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn remote_files(root: &Path) -> Vec<PathBuf> {
    walkdir(root)
}

fn walkdir(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walkdir(&path));
        } else {
            found.push(path);
        }
    }
    found.sort();
    found
}

fn same_outs(a: &Project, b: &Project) {
    for out in ["out.txt", "dir/a.txt", "dir/sub/b.txt", "metrics.json"] {
        assert_eq!(
            std::fs::read(a.path(out)).unwrap(),
            std::fs::read(b.path(out)).unwrap(),
            "{out}"
        );
    }
}

#[test]
fn a_fresh_clone_pulls_every_out_byte_for_byte_and_repro_pull_runs_no_stage() {
    let remote = remote_dir();
    let project = workspace(remote.path());
    project
        .run(&["push"])
        .ok()
        .says(&["Pushed 5 object(s)", "1 entry written"]);
    // A second push has nothing to send.
    project
        .run(&["push"])
        .ok()
        .says(&["Pushed 0 object(s)", "5 already there", "1 already there"]);
    assert_eq!(
        project.run(&["status", "--remote"]).ok().stdout,
        "Every out (3) is on remote `shared`.\n"
    );

    let copy = clone(&project);
    copy.run(&["pull"]).ok().says(&["Fetched 5 object(s)"]);
    same_outs(&project, &copy);
    assert_eq!(copy.in_state("fresh"), ["make"]);
    copy.run(&["repro"]).ok();
    assert!(copy.runs().is_empty(), "a stage ran: {:?}", copy.runs());

    let reviewer = clone(&project);
    reviewer.run(&["repro", "--pull"]).ok();
    assert!(
        reviewer.runs().is_empty(),
        "a stage ran: {:?}",
        reviewer.runs()
    );
    same_outs(&project, &reviewer);

    // fetch fills the cache without checking out.
    let third = clone(&project);
    third.run(&["fetch"]).ok();
    assert!(!third.exists("out.txt"));
    third.run(&["checkout"]).ok();
    same_outs(&project, &third);
}

#[test]
fn an_object_corrupted_on_the_remote_is_refused_named_and_not_used() {
    let remote = remote_dir();
    let project = workspace(remote.path());
    project.run(&["push"]).ok();
    let hash = blake3::hash(b"hello\nhello\n").to_hex().to_string();
    let object = remote
        .path()
        .join("v1/objects")
        .join(&hash[..2])
        .join(&hash[2..]);
    std::fs::write(&object, "HELLO\nHELLO\n").unwrap();
    let copy = clone(&project);
    copy.run(&["pull"])
        .code(1)
        .says(&["corrupted on the remote", &hash[2..14]]);
    assert!(!copy.exists("out.txt"));
    assert!(!copy.objects().iter().any(|(name, _)| *name == hash));
    // repro --pull does not use it either: it runs the stage.
    copy.run(&["repro", "--pull"]).ok();
    assert_eq!(copy.runs(), ["make"]);
    assert_eq!(copy.read("out.txt"), "hello\nhello\n");
}

#[test]
fn a_push_killed_halfway_leaves_nothing_a_pull_trusts() {
    let remote = remote_dir();
    let project = workspace(remote.path());
    let status = project
        .command(&["push", "-j", "1"])
        .env("ICODEGEN_FAULT", "pushing-objects")
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9));
    assert!(
        !remote_files(remote.path())
            .iter()
            .any(|path| path.to_string_lossy().contains("/v1/runs/")),
        "a run-cache entry was written before its objects"
    );
    let copy = clone(&project);
    copy.run(&["pull"]).code(1).says(&["not on the remote"]);
    assert!(!copy.exists("out.txt"));
    copy.run(&["repro", "--pull"]).ok();
    assert_eq!(copy.runs(), ["make"]);
    // Pushing again completes it.
    project.run(&["push"]).ok();
    let later = clone(&project);
    later.run(&["repro", "--pull"]).ok();
    assert!(later.runs().is_empty());
}

#[test]
fn two_workspaces_pushing_other_outputs_for_one_key_is_a_conflict_not_an_overwrite() {
    let remote = remote_dir();
    let first = workspace(remote.path());
    first.run(&["push"]).ok();
    let second = clone(&first);
    // The same key, other bytes (as a non-deterministic stage would write).
    second.write(
        "make.sh",
        &SCRIPT.replace("cat in.txt in.txt", "cat in.txt in.txt in.txt"),
    );
    second.run(&["repro", "--force"]).ok();
    // Put the first's script back so the key matches, while the outs stay the second's.
    second.write("make.sh", SCRIPT);
    let lock = second.read("pipeline.lock");
    let first_lock = first.read("pipeline.lock");
    let key = |lock: &str| {
        lock.lines()
            .find(|line| line.trim_start().starts_with("key:"))
            .unwrap()
            .to_owned()
    };
    let patched: String = lock.replace(&key(&lock), &key(&first_lock));
    second.write("pipeline.lock", &patched);
    let entries_before = remote_files(&remote.path().join("v1/runs"));
    let bytes_before: Vec<Vec<u8>> = entries_before
        .iter()
        .map(|path| std::fs::read(path).unwrap())
        .collect();
    second.run(&["push"]).code(1).says(&["conflict", "`make`"]);
    let bytes_after: Vec<Vec<u8>> = remote_files(&remote.path().join("v1/runs"))
        .iter()
        .map(|path| std::fs::read(path).unwrap())
        .collect();
    assert_eq!(
        bytes_before, bytes_after,
        "the remote entry was overwritten"
    );
    // A clone still gets the first workspace's outputs.
    let copy = clone(&first);
    copy.run(&["pull"]).ok();
    assert_eq!(copy.read("out.txt"), "hello\nhello\n");
}

#[test]
fn an_unreachable_remote_fails_within_the_bound_and_changes_nothing() {
    let remote = remote_dir();
    let project = workspace(remote.path());
    // Nothing listens there (connection refused), and a black-holed address (timeout).
    for endpoint in ["http://127.0.0.1:9", "http://10.255.255.1:9000"] {
        project
            .run(&[
                "remote",
                "add",
                "away",
                "s3://bucket/prefix",
                "-o",
                &format!("endpoint={endpoint}"),
                "-o",
                "allow_http=true",
                "-o",
                "region=us-east-1",
                "--local",
            ])
            .ok();
        let lock = project.read("pipeline.lock");
        let objects = project.objects();
        let started = Instant::now();
        let run = project
            .command(&["push", "--remote", "away"])
            .env("AWS_ACCESS_KEY_ID", "x")
            .env("AWS_SECRET_ACCESS_KEY", "y")
            .output()
            .unwrap();
        let took = started.elapsed();
        assert_eq!(
            run.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(took < Duration::from_secs(12), "{endpoint}: took {took:?}");
        assert!(String::from_utf8_lossy(&run.stderr).contains("remote `away`"));
        assert_eq!(project.read("pipeline.lock"), lock);
        assert_eq!(project.objects(), objects);
    }
}

#[test]
fn remote_configuration_is_checked_and_located() {
    let project = Project::new();
    project.pipeline(PIPELINE).params("scale: 1\n");
    project.write(
        "icodegen.yaml",
        "remotes:\n  shared:\n    url: ftp://host/x\n",
    );
    project
        .run(&["push"])
        .code(2)
        .says(&["icodegen.yaml:3:", "unknown scheme `ftp://`"]);
    project.write("icodegen.yaml", "remotes:\n  shared:\n    ur1: /tmp/x\n");
    project
        .run(&["remote", "list"])
        .code(2)
        .says(&["icodegen.yaml:3:"]);
    project.remove("icodegen.yaml");
    project.run(&["remote", "add", "a", "/tmp/a"]).ok();
    project
        .run(&[
            "remote",
            "add",
            "b",
            "s3://bucket/p",
            "--default",
            "-o",
            "region=eu-west-1",
        ])
        .ok();
    let list = project.run(&["remote", "list"]).ok().stdout;
    assert_eq!(list, "  a\t/tmp/a\n* b\ts3://bucket/p\n");
    project.run(&["remote", "remove", "b"]).ok();
    assert_eq!(
        project.run(&["remote", "list"]).ok().stdout,
        "  a\t/tmp/a\n"
    );
}

#[test]
fn gc_remote_removes_only_what_no_remote_entry_references() {
    let remote = remote_dir();
    let project = workspace(remote.path());
    project.run(&["push"]).ok();
    // An object nothing references (as a push killed before its entry leaves).
    let stray = blake3::hash(b"stray\n").to_hex().to_string();
    let path = remote
        .path()
        .join("v1/objects")
        .join(&stray[..2])
        .join(&stray[2..]);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "stray\n").unwrap();
    project
        .run(&["gc", "--remote"])
        .code(2)
        .says(&["--dry-run", "--yes"]);
    let dry = project.run(&["gc", "--remote", "--dry-run"]).ok();
    assert!(dry.stdout.contains(&stray[2..]), "{}", dry.stdout);
    assert!(path.exists());
    project
        .run(&["gc", "--remote", "--yes"])
        .ok()
        .says(&["Removed 1 object(s)", "5 kept"]);
    assert!(!path.exists());
    let copy = clone(&project);
    copy.run(&["pull"]).ok();
    same_outs(&project, &copy);
}

#[test]
fn params_and_metrics_diff_between_commits() {
    let remote = remote_dir();
    let project = workspace(remote.path());
    project.params("scale: 2\nnew_key: x\n");
    project.write("in.txt", "hello world\n");
    project.run(&["repro"]).ok();
    git(project.root(), &["commit", "-qam", "second"]);
    let params = project
        .run(&["params", "diff", "HEAD~1", "HEAD"])
        .ok()
        .stdout;
    assert!(params.contains("params.yaml  scale"), "{params}");
    assert!(params.contains("new_key  -    x"), "{params}");
    let json = project
        .run(&["params", "diff", "HEAD~1", "HEAD", "--json"])
        .ok()
        .stdout;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["params.yaml"]["scale"]["old"], 1);
    assert_eq!(json["params.yaml"]["scale"]["new"], 2);
    // Working tree vs HEAD: nothing changed.
    assert_eq!(project.run(&["params", "diff"]).ok().stdout, "");
    let metrics = project
        .run(&["metrics", "diff", "HEAD~1", "HEAD", "--json"])
        .ok()
        .stdout;
    let metrics: serde_json::Value = serde_json::from_str(&metrics).unwrap();
    assert_eq!(metrics["metrics.json"]["accuracy"]["old"], 6);
    assert_eq!(metrics["metrics.json"]["accuracy"]["new"], 12);
    assert_eq!(metrics["metrics.json"]["accuracy"]["diff"], 6.0);
    assert!(metrics["metrics.json"].get("name").is_none());
    let all = project
        .run(&["metrics", "diff", "HEAD~1", "HEAD", "--all", "--md"])
        .ok()
        .stdout;
    assert!(all.contains("| metrics.json | name | m | m | - |"), "{all}");
    // A metrics file that did not exist at the first revision.
    project.write("params.yaml", "scale: 2\nnew_key: x\n");
    let before_first = project.run(&["metrics", "diff", "HEAD~1"]).ok().stdout;
    assert!(before_first.contains("+6"), "{before_first}");
    git(project.root(), &["rm", "-q", "--cached", "pipeline.lock"]);
    git(project.root(), &["commit", "-qm", "no lock"]);
    let gone = project
        .run(&["metrics", "diff", "HEAD", "HEAD~1", "--json"])
        .ok()
        .stdout;
    let gone: serde_json::Value = serde_json::from_str(&gone).unwrap();
    assert_eq!(
        gone["metrics.json"]["accuracy"]["old"],
        serde_json::Value::Null
    );
    assert_eq!(gone["metrics.json"]["accuracy"]["new"], 12);
    project
        .run(&["params", "diff", "nosuchrev"])
        .code(2)
        .says(&["nosuchrev"]);
}

/// A moto S3 server on a free port of 127.0.0.1, ended on drop.
struct Moto {
    child: std::process::Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `auth`: moto checks credentials (IAM) after its first request, the bucket's creation.
fn moto(auth: bool) -> Option<Moto> {
    let server = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/moto-venv/bin/moto_server");
    if !server.exists() {
        assert!(
            std::env::var_os("ICODEGEN_REQUIRE_S3").is_none(),
            "ICODEGEN_REQUIRE_S3 is set but {} is missing (run scripts/setup.sh)",
            server.display()
        );
        eprintln!(
            "skipped: no moto server at {} (scripts/setup.sh installs it)",
            server.display()
        );
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = Command::new(&server);
    if auth {
        command.env("INITIAL_NO_AUTH_ACTION_COUNT", "1");
    }
    let child = command
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start moto_server");
    let moto = Moto { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Create the bucket (moto accepts an unsigned request for it).
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "PUT /icodegen HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    Some(moto)
}

fn s3_env(command: &mut Command) -> &mut Command {
    command
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
}

fn run_s3(project: &Project, args: &[&str]) -> crate::harness::Run {
    s3_env(&mut project.command(args)).output().unwrap().into()
}

/// `remote add s3 s3://icodegen/cache --default` on the moto server at `port`.
fn add_s3_remote(project: &Project, port: u16) {
    let endpoint = format!("endpoint=http://127.0.0.1:{port}");
    project
        .run(&[
            "remote",
            "add",
            "s3",
            "s3://icodegen/cache",
            "--default",
            "-o",
            &endpoint,
            "-o",
            "allow_http=true",
            "-o",
            "region=us-east-1",
        ])
        .ok();
}

#[test]
fn an_s3_remote_on_a_real_server_round_trips_and_refuses_conflicts() {
    let Some(moto) = moto(false) else { return };
    let remote = remote_dir();
    let project = workspace(remote.path());
    add_s3_remote(&project, moto.port);
    git(project.root(), &["commit", "-qam", "s3 remote"]);
    run_s3(&project, &["push"])
        .ok()
        .says(&["Pushed 5 object(s)"]);
    run_s3(&project, &["push"])
        .ok()
        .says(&["Pushed 0 object(s)", "5 already there"]);
    let copy = clone(&project);
    run_s3(&copy, &["pull"]).ok();
    same_outs(&project, &copy);
    let reviewer = clone(&project);
    run_s3(&reviewer, &["repro", "--pull"]).ok();
    assert!(reviewer.runs().is_empty());
    same_outs(&project, &reviewer);
    assert!(
        run_s3(&project, &["status", "--remote"])
            .ok()
            .stdout
            .contains("Every out (3) is on remote `s3`")
    );
}

#[test]
fn wrong_credentials_are_reported_as_such() {
    let Some(moto) = moto(true) else { return };
    let remote = remote_dir();
    let project = workspace(remote.path());
    add_s3_remote(&project, moto.port);
    let objects = project.objects();
    run_s3(&project, &["push"])
        .code(1)
        .says(&["remote `s3`", "the remote refused the credentials"]);
    assert_eq!(project.objects(), objects);
}
