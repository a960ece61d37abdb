//! A tiny harness: a workspace in a temp dir, the built `icodegen` run in it, its output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const BIN: &str = env!("CARGO_BIN_EXE_icodegen");

pub struct Project {
    dir: tempfile::TempDir,
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Run {
    fn from(output: std::process::Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts success; shows the output otherwise.
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit code {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts that stderr contains every one of `parts`.
    #[track_caller]
    pub fn says(self, parts: &[&str]) -> Run {
        for part in parts {
            assert!(
                self.stderr.contains(part),
                "stderr lacks {part:?}:\n{}",
                self.stderr
            );
        }
        self
    }
}

impl Project {
    pub fn new() -> Project {
        Project {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn write(&self, relative: &str, contents: &str) -> &Project {
        let path = self.path(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, contents).unwrap();
        self
    }

    pub fn pipeline(&self, yaml: &str) -> &Project {
        self.write("pipeline.yaml", yaml)
    }

    pub fn params(&self, yaml: &str) -> &Project {
        self.write("params.yaml", yaml)
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative))
            .unwrap_or_else(|e| panic!("read {relative}: {e}"))
    }

    pub fn exists(&self, relative: &str) -> bool {
        self.path(relative).exists()
    }

    pub fn remove(&self, relative: &str) {
        let path = self.path(relative);
        if path.is_dir() {
            std::fs::remove_dir_all(path).unwrap();
        } else {
            std::fs::remove_file(path).unwrap();
        }
    }

    /// The lines of `log.txt`, where test stages note that they ran.
    pub fn runs(&self) -> Vec<String> {
        std::fs::read_to_string(self.path("log.txt"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// How many times stage `name` noted a run in `log.txt`.
    pub fn run_count(&self, name: &str) -> usize {
        self.runs().iter().filter(|line| *line == name).count()
    }

    pub fn lock(&self) -> String {
        std::fs::read_to_string(self.path("pipeline.lock")).unwrap_or_default()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .current_dir(self.root())
            .env_remove("NO_COLOR");
        command
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.command(args).output().expect("run icodegen").into()
    }

    /// `status --json` as stage name -> state.
    pub fn states(&self) -> BTreeMap<String, String> {
        let json = self.status_json();
        json["stages"]
            .as_object()
            .expect("stages object")
            .iter()
            .map(|(name, stage)| (name.clone(), stage["state"].as_str().unwrap().to_owned()))
            .collect()
    }

    pub fn status_json(&self) -> serde_json::Value {
        let run = self.run(&["status", "--json"]).ok();
        serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("status --json: {e}\n{}", run.stdout))
    }

    /// Names of the stages in `state`.
    pub fn in_state(&self, state: &str) -> Vec<String> {
        self.states()
            .into_iter()
            .filter(|(_, s)| s == state)
            .map(|(name, _)| name)
            .collect()
    }

    /// Every file under `cache/v1/objects`, as (name, contents hash).
    pub fn objects(&self) -> Vec<(String, String)> {
        let mut objects = Vec::new();
        let root = self.path("cache/v1/objects");
        for prefix in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            for object in std::fs::read_dir(prefix.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let name = format!(
                    "{}{}",
                    prefix.file_name().to_string_lossy(),
                    object.file_name().to_string_lossy()
                );
                let hash = blake3::hash(&std::fs::read(object.path()).unwrap())
                    .to_hex()
                    .to_string();
                objects.push((name, hash));
            }
        }
        objects.sort();
        objects
    }
}

/// Waits up to `seconds` for `path` to exist.
pub fn wait_for(path: &Path, seconds: u64) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if path.exists() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}
