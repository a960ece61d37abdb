//! A session: the loaded pipeline and graph, the cache, the memos and the console, as every
//! command needs them. Opening one reads pipeline.yaml and params files, nothing else.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::code::Fingerprints;
use crate::console::Console;
use crate::error::{PipelineError, Result};
use crate::graph::Graph;
use crate::hash::{self, Hashed};
use crate::lock::{self, CodeRecord, LockFile};
use crate::memo::HashMemo;
use crate::spec::Pipeline;
use crate::store::Store;

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
        let store = Store::open(&cache_dir)?;
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
        })
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
            &self.store.lock_file_lock_path(),
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
