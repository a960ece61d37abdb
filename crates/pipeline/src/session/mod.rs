//! A session: the loaded pipeline and graph, the cache, the memos and the console, as every
//! command needs them. Opening one reads pipeline.yaml and params files, nothing else.
//!
//! The session layer joins the layers below it (spec, graph, keys, safety, store) into what an
//! executor or a command works with: hashing workspace paths, the code of a stage, its plan key,
//! the lock under its file lock, the runner locks, and the staleness walk (`staleness`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::console::Console;
use crate::error::{PipelineError, Result};
use crate::graph::Graph;
use crate::keys::code::Fingerprints;
use crate::keys::hash::{self, Hashed};
use crate::keys::key;
use crate::keys::lock::{self, CodeRecord, LockFile};
use crate::keys::memo::HashMemo;
use crate::safety::runner_lock::{Mode, RunnerLock};
use crate::spec::Pipeline;
use crate::store::Store;

mod staleness;

/// Removes a file, a symlink or a whole folder (never following a symlink).
fn remove_any(path: &Path) -> Result<()> {
    let result = match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(_) => return Ok(()),
    };
    match result {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(PipelineError::io("remove", path, error)),
    }
}

/// The default pipeline file.
pub const PIPELINE_FILE: &str = "pipeline.yaml";
/// The default cache folder, beside pipeline.yaml.
pub const CACHE_DIR: &str = "cache";

/// Global options (`--pipeline`, `--cache`, `-q`, `-v`).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub pipeline: Option<PathBuf>,
    pub cache: Option<PathBuf>,
    /// -1 quiet, 0 normal, 1+ verbose.
    pub verbosity: i8,
}

pub struct Session {
    pub pipeline: Pipeline,
    pub graph: Graph,
    pub store: Store,
    pub console: Console,
    pub memo: Mutex<HashMemo>,
    pub fingerprints: Mutex<Fingerprints>,
    /// `PATH` for stage commands: the runner's folder first.
    pub path_env: OsString,
    /// The running `icodegen` executable (never fingerprinted as a stage).
    pub runner: Option<PathBuf>,
    /// `repro --pull`: the remote whose run-cache is looked up before a stale stage runs.
    pub pull_from: std::sync::OnceLock<crate::remote::Remote>,
}

impl Session {
    pub fn open(options: &Options) -> Result<Session> {
        let file = options
            .pipeline
            .clone()
            .unwrap_or_else(|| PathBuf::from(PIPELINE_FILE));
        if !file.exists() {
            return Err(PipelineError::Spec {
                file: file.clone(),
                location: None,
                key: String::new(),
                message: if options.pipeline.is_some() {
                    "no such file".to_owned()
                } else {
                    "no pipeline here\nhint: run icodegen in the folder holding pipeline.yaml, or pass `--pipeline FILE`".to_owned()
                },
            });
        }
        let pipeline = Pipeline::load(&file)?;
        let graph = Graph::build(&pipeline)?;
        let cache_dir = match &options.cache {
            Some(dir) => dir.clone(),
            None => pipeline.root.join(CACHE_DIR),
        };
        crate::safety::guard::check_outs(&pipeline, &cache_dir)?;
        let store = Store::open(&cache_dir)?.with_links(&pipeline.link_types);
        let memo = Mutex::new(HashMemo::load(&store.memo_path()));
        let fingerprints = Mutex::new(Fingerprints::load(&store.fingerprints_path()));
        let runner = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.canonicalize().ok());
        let mut paths: Vec<PathBuf> = runner
            .iter()
            .filter_map(|exe| exe.parent().map(Path::to_path_buf))
            .collect();
        if let Some(existing) = std::env::var_os("PATH") {
            paths.extend(std::env::split_paths(&existing));
        }
        let path_env = std::env::join_paths(paths)
            .unwrap_or_else(|_| std::env::var_os("PATH").unwrap_or_default());
        Ok(Session {
            pipeline,
            graph,
            store,
            console: Console::new(options.verbosity),
            memo,
            fingerprints,
            path_env,
            runner,
            pull_from: std::sync::OnceLock::new(),
        })
    }

    /// The workspace's own state (`.icodegen/`): runner locks, running stages.
    pub fn state_dir(&self) -> PathBuf {
        self.pipeline.root.join(crate::safety::guard::STATE_DIR)
    }

    /// Takes the runner locks of the workspace and of the cache (exclusive: `repro`,
    /// `checkout`, `gc`; shared: `run-stage` jobs, side by side), then ends what dead runners
    /// left running and, when exclusive, removes their half-written files.
    pub fn lock_runner(&self, mode: Mode, what: &str) -> Result<[RunnerLock; 2]> {
        let workspace = RunnerLock::acquire(&self.state_dir().join("runner.lock"), mode, what)?;
        let cache = RunnerLock::acquire(&self.store.runner_lock_path(), mode, what)?;
        for note in crate::safety::running::sweep(&self.pipeline.root)? {
            self.console.warn(note);
        }
        if mode == Mode::Exclusive {
            self.remove_leftovers()?;
        }
        Ok([workspace, cache])
    }

    /// Removes the temporary files and folders a killed runner left: staging siblings of outs
    /// (`.NAME.tmp-*`), of the lock file, and objects being written in the cache. Only called
    /// under the exclusive runner lock, when nobody else can be writing them.
    fn remove_leftovers(&self) -> Result<()> {
        let root = &self.pipeline.root;
        let mut candidates: Vec<(PathBuf, String)> =
            vec![(root.clone(), format!(".{}.tmp-", lock::FILE_NAME))];
        for stage in &self.pipeline.stages {
            for out in &stage.outs {
                let path = self.abs(&out.path);
                if let (Some(parent), Some(name)) = (path.parent(), path.file_name()) {
                    candidates.push((
                        parent.to_path_buf(),
                        format!(".{}.tmp-", name.to_string_lossy()),
                    ));
                }
            }
        }
        for (folder, prefix) in candidates {
            let Ok(entries) = std::fs::read_dir(&folder) else {
                continue;
            };
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(&prefix) {
                    remove_any(&entry.path())?;
                }
            }
        }
        let tmp = self.store.dir.join("tmp");
        if let Ok(entries) = std::fs::read_dir(&tmp) {
            for entry in entries.flatten() {
                remove_any(&entry.path())?;
            }
        }
        Ok(())
    }

    /// The absolute path of a workspace-relative path.
    pub fn abs(&self, relative: &str) -> PathBuf {
        self.pipeline.root.join(relative)
    }

    pub fn lock_path(&self) -> PathBuf {
        self.pipeline.root.join(lock::FILE_NAME)
    }

    pub fn read_lock(&self) -> Result<LockFile> {
        LockFile::read(&self.lock_path())
    }

    /// Changes the lock file under its file lock; drops records of stages no longer in the
    /// pipeline.
    pub fn update_lock(&self, change: impl FnOnce(&mut LockFile)) -> Result<()> {
        lock::update(
            &self.lock_path(),
            &self.state_dir().join("pipeline.lock.lock"),
            |lock| {
                change(lock);
                lock.stages
                    .retain(|name, _| self.pipeline.index_of(name).is_some());
            },
        )
    }

    /// The hash of a workspace path (memoized), `None` if it does not exist.
    pub fn hash(&self, relative: &str) -> Result<Option<Hashed>> {
        hash::hash_path(&self.memo, &self.abs(relative))
    }

    /// Hashes several workspace paths in parallel.
    pub fn hash_all(&self, relative: &[String]) -> Result<Vec<Option<Hashed>>> {
        let paths: Vec<PathBuf> = relative.iter().map(|path| self.abs(path)).collect();
        hash::hash_paths(&self.memo, &paths).into_iter().collect()
    }

    /// The code record of stage `stage`.
    pub fn code(&self, stage: usize) -> Option<CodeRecord> {
        let cmd = &self.pipeline.stages[stage].cmd;
        let mut fingerprints = self.fingerprints.lock().expect("fingerprints lock");
        let failures = fingerprints.failures.len();
        let code = fingerprints.of_command(
            cmd,
            &self.path_env,
            &self.pipeline.root,
            self.runner.as_deref(),
        );
        if fingerprints.failures.len() > failures {
            self.console.warn(format!(
                "`{}` did not answer `--source-fingerprint`; stage `{}` is keyed without its code",
                fingerprints
                    .failures
                    .last()
                    .map(String::as_str)
                    .unwrap_or_default(),
                self.pipeline.stages[stage].name
            ));
        }
        code
    }

    /// The plan key of stage `index` (see `keys/key.rs`): what a Slurm job expects to find.
    pub fn plan_key(&self, index: usize) -> Result<String> {
        let stage = &self.pipeline.stages[index];
        let deps = self.hash_all(&stage.deps)?;
        let produced: Vec<bool> = self.graph.producers[index]
            .iter()
            .map(|p| !p.is_empty())
            .collect();
        let code = self.code(index);
        Ok(key::plan_key(
            stage,
            code.as_ref(),
            &key::param_values(stage),
            &deps,
            &produced,
        ))
    }

    /// The cache folder (`--cache`, default `cache/` beside pipeline.yaml).
    pub fn cache_dir(&self) -> &Path {
        self.store.dir.parent().unwrap_or(&self.store.dir)
    }

    /// Saves the memos (best effort: they are caches).
    pub fn save(&self) {
        if let Err(error) = self.memo.lock().expect("memo lock").save() {
            self.console
                .verbose(format!("could not save the hash memo: {error}"));
        }
        if let Err(error) = self.fingerprints.lock().expect("fingerprints lock").save() {
            self.console
                .verbose(format!("could not save the fingerprint memo: {error}"));
        }
    }
}
