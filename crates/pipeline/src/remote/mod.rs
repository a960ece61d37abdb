//! Remotes: a shared copy of the cache (objects and run-cache entries) in a folder, S3 (and
//! compatibles), GCS or Azure, reached through `object_store`. The layout mirrors the local
//! cache:
//!
//! ```text
//! <url>/v1/objects/ab/cdef…   objects by blake3 (files and folder manifests)
//! <url>/v1/runs/ab/<key>.json run-cache entries (stage key -> the run's outs)
//! ```
//!
//! Every write is put-if-absent (`PutMode::Create`; a folder remote stages and links, which
//! `object_store`'s local store does), so a second pusher never overwrites, except objects above
//! `transfer::MULTIPART_THRESHOLD` (64 MiB) on a cloud store: they go up as multipart uploads,
//! read from disk one part at a time and hashed on the way, completed only when the hash matches.
//! A multipart upload has no put-if-absent mode, so a second pusher may write the same bytes
//! again, which is harmless under a content address; run-cache entries stay put-if-absent. A
//! folder remote takes a large object by a kernel copy staged beside its place (`<object>#<n>`),
//! hashes the copy and links it into place. Every object read
//! is verified by its blake3 before it enters the local cache, streamed to `cache/v1/tmp`. Objects go up before the run
//! entries that reference them, so a push killed halfway leaves only objects that nothing
//! references yet, and a pull re-checks every byte anyway.
//!
//! This layer sits on `store/` (it reads and fills the local cache) and below `session/`.

pub mod config;
pub mod transfer;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

pub use config::{Config, ConfigFile, RemoteConfig};

use crate::error::{PipelineError, Result};

/// Default seconds for a connection, a request, and the first contact.
pub const DEFAULT_TIMEOUT: u64 = 10;
/// Default retries of a failed request.
pub const DEFAULT_RETRIES: usize = 2;
/// Default concurrent transfers.
pub const DEFAULT_JOBS: usize = 8;

/// An opened remote.
pub struct Remote {
    pub name: String,
    pub url: String,
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    runtime: tokio::runtime::Runtime,
    pub timeout: Duration,
    pub jobs: usize,
    /// For folder remotes: the folder (created on first push).
    folder: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Remote({}, {})", self.name, self.url)
    }
}

/// What a put-if-absent ended with.
#[derive(Debug, PartialEq, Eq)]
pub enum Put {
    Written,
    AlreadyThere,
}

impl Remote {
    /// Opens remote `name` (or the default) of the workspace at `root`.
    pub fn open(root: &std::path::Path, name: Option<&str>) -> Result<Remote> {
        let config = Config::load(root)?;
        let (name, remote) = config.resolve(name)?;
        let url = remote.url.clone().unwrap_or_default();
        let bad = |message: String| {
            let file = config.path(!config.shared.remotes.contains_key(&name));
            let key = vec![
                crate::spec::yaml::Seg::key("remotes"),
                crate::spec::yaml::Seg::key(&name),
                crate::spec::yaml::Seg::key("url"),
            ];
            let location = std::fs::read_to_string(&file)
                .ok()
                .and_then(|text| crate::spec::yaml::locate(&text, &key, false));
            PipelineError::Spec {
                file: file.clone(),
                location,
                key: format!("remotes.{name}.url"),
                message,
            }
        };
        let timeout = Duration::from_secs(remote.timeout.unwrap_or(DEFAULT_TIMEOUT).max(1));
        let retry = object_store::RetryConfig {
            backoff: object_store::BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(2),
                base: 2.0,
            },
            max_retries: remote.retries.unwrap_or(DEFAULT_RETRIES),
            retry_timeout: timeout,
        };
        let client = object_store::ClientOptions::new()
            .with_connect_timeout(timeout)
            .with_timeout(Duration::from_secs(
                remote.timeout.unwrap_or(DEFAULT_TIMEOUT).max(1) * 30,
            ))
            .with_allow_http(remote.allow_http.unwrap_or(false));
        let scheme = url.split_once("://").map(|(scheme, _)| scheme);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|error| {
                PipelineError::Internal(format!("cannot start the runtime: {error}"))
            })?;
        let mut folder = None;
        let (store, prefix): (Arc<dyn ObjectStore>, ObjectPath) = match scheme {
            None | Some("file") => {
                let path = url.strip_prefix("file://").unwrap_or(&url);
                if path.is_empty() {
                    return Err(bad("an empty path".to_owned()));
                }
                let path = root.join(path);
                folder = Some(path.clone());
                let prefix = ObjectPath::from_absolute_path(&path)
                    .map_err(|error| bad(error.to_string()))?;
                (
                    Arc::new(object_store::local::LocalFileSystem::new()) as Arc<dyn ObjectStore>,
                    prefix,
                )
            }
            Some("s3" | "s3a" | "gs" | "az" | "azure" | "abfs" | "abfss") => {
                let parsed =
                    url::Url::parse(&url).map_err(|error| bad(format!("not a URL: {error}")))?;
                let prefix = ObjectPath::from_url_path(parsed.path())
                    .map_err(|error| bad(error.to_string()))?;
                let store: Arc<dyn ObjectStore> = match scheme {
                    Some("s3" | "s3a") => {
                        let mut builder = object_store::aws::AmazonS3Builder::from_env()
                            .with_url(&url)
                            .with_retry(retry)
                            .with_client_options(client);
                        if let Some(endpoint) = &remote.endpoint {
                            builder = builder.with_endpoint(endpoint);
                        }
                        if let Some(region) = &remote.region {
                            builder = builder.with_region(region);
                        }
                        if let Some(allow) = remote.allow_http {
                            builder = builder.with_allow_http(allow);
                        }
                        for (key, value) in &remote.options {
                            let key = key
                                .parse()
                                .map_err(|error: object_store::Error| bad(error.to_string()))?;
                            builder = builder.with_config(key, value);
                        }
                        Arc::new(builder.build().map_err(|error| bad(error.to_string()))?)
                    }
                    Some("gs") => {
                        let mut builder = object_store::gcp::GoogleCloudStorageBuilder::from_env()
                            .with_url(&url)
                            .with_retry(retry)
                            .with_client_options(client);
                        for (key, value) in &remote.options {
                            let key = key
                                .parse()
                                .map_err(|error: object_store::Error| bad(error.to_string()))?;
                            builder = builder.with_config(key, value);
                        }
                        Arc::new(builder.build().map_err(|error| bad(error.to_string()))?)
                    }
                    _ => {
                        let mut builder = object_store::azure::MicrosoftAzureBuilder::from_env()
                            .with_url(&url)
                            .with_retry(retry)
                            .with_client_options(client);
                        if let Some(endpoint) = &remote.endpoint {
                            builder = builder.with_endpoint(endpoint.clone());
                        }
                        if let Some(allow) = remote.allow_http {
                            builder = builder.with_allow_http(allow);
                        }
                        for (key, value) in &remote.options {
                            let key = key
                                .parse()
                                .map_err(|error: object_store::Error| bad(error.to_string()))?;
                            builder = builder.with_config(key, value);
                        }
                        Arc::new(builder.build().map_err(|error| bad(error.to_string()))?)
                    }
                };
                (store, prefix)
            }
            Some(other) => {
                return Err(bad(format!(
                    "unknown scheme `{other}://`; use a path, file://, s3://, gs:// or az://"
                )));
            }
        };
        Ok(Remote {
            name,
            url,
            store,
            prefix,
            runtime,
            timeout,
            jobs: remote.jobs.unwrap_or(DEFAULT_JOBS).max(1),
            folder,
        })
    }

    /// A folder remote must exist before anything is written to it.
    pub fn ensure_folder(&self) -> Result<()> {
        if let Some(folder) = &self.folder {
            std::fs::create_dir_all(folder)
                .map_err(|error| PipelineError::io("create", folder, error))?;
        }
        Ok(())
    }

    /// For a folder remote: the file of object `hash` (whether or not it exists).
    pub(crate) fn folder_object(&self, hash: &str) -> Option<std::path::PathBuf> {
        let split = hash.len().min(2);
        self.folder.as_ref().map(|folder| {
            folder
                .join("v1")
                .join("objects")
                .join(&hash[..split])
                .join(&hash[split..])
        })
    }

    /// Whether this remote is a folder that does not exist (nothing was pushed to it).
    pub fn missing_folder(&self) -> bool {
        self.folder.as_ref().is_some_and(|folder| !folder.is_dir())
    }

    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    fn join(&self, parts: &[&str]) -> ObjectPath {
        let mut path = self.prefix.clone();
        for part in parts {
            path = path.clone().join(*part);
        }
        path
    }

    pub fn object_path(&self, hash: &str) -> ObjectPath {
        let split = hash.len().min(2);
        self.join(&["v1", "objects", &hash[..split], &hash[split..]])
    }

    pub fn run_path(&self, key: &str) -> ObjectPath {
        let split = key.len().min(2);
        self.join(&[
            "v1",
            "runs",
            &key[..split],
            &format!("{}.json", &key[split..]),
        ])
    }

    /// A user-facing name of `path` on this remote.
    pub fn describe(&self, path: &ObjectPath) -> String {
        format!("{}:{}", self.name, path)
    }

    /// The error for a failed remote operation, saying when credentials were refused.
    pub fn error(&self, what: &str, error: object_store::Error) -> PipelineError {
        let text = error.to_string();
        let credentials = matches!(
            error,
            object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. }
        ) || [
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "AccessDenied",
            "credential",
            "403 Forbidden",
        ]
        .iter()
        .any(|needle| text.contains(needle));
        let hint = if credentials {
            "\nthe remote refused the credentials\nhint: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the cloud's profile); they are never read from icodegen.yaml"
        } else {
            ""
        };
        PipelineError::Remote {
            remote: self.name.clone(),
            message: format!("cannot {what}: {text}{hint}"),
            credentials,
        }
    }

    /// Lists every object hash (with sizes) on the remote, bounded by the timeout for the first
    /// answer.
    pub fn list_objects(&self) -> Result<BTreeMap<String, u64>> {
        Ok(self
            .list_objects_meta()?
            .into_iter()
            .map(|(hash, meta)| (hash, meta.size))
            .collect())
    }

    /// Every object hash on the remote with its metadata (size, last modified). Unfinished
    /// uploads are not objects: a folder remote's `<object>#<n>` staging files are skipped.
    pub fn list_objects_meta(&self) -> Result<BTreeMap<String, object_store::ObjectMeta>> {
        let root = self.join(&["v1", "objects"]);
        Ok(self
            .list(&root)?
            .into_iter()
            .filter_map(|(path, meta)| {
                let parts: Vec<_> = path.split('/').collect();
                match parts.as_slice() {
                    [prefix, rest] if prefix.len() == 2 && !rest.contains('#') => {
                        Some((format!("{prefix}{rest}"), meta))
                    }
                    _ => None,
                }
            })
            .collect())
    }

    /// A folder remote's unfinished uploads (`v1/objects/ab/<rest>#<n>`, left by a push killed
    /// mid-upload) last modified at least `grace` ago: (path, size). Other remotes: none (an
    /// unfinished S3 multipart upload is not listed; a bucket lifecycle rule ends them).
    pub fn stale_uploads(&self, grace: Duration) -> Vec<(std::path::PathBuf, u64)> {
        let Some(folder) = &self.folder else {
            return Vec::new();
        };
        let now = std::time::SystemTime::now();
        let mut found = Vec::new();
        let prefixes = std::fs::read_dir(folder.join("v1/objects"))
            .into_iter()
            .flatten()
            .flatten();
        for prefix in prefixes {
            for entry in std::fs::read_dir(prefix.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let name = entry.file_name();
                let staged = name
                    .to_str()
                    .and_then(|name| name.rsplit_once('#'))
                    .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
                let Ok(meta) = entry.metadata() else { continue };
                let old = meta
                    .modified()
                    .ok()
                    .and_then(|modified| now.duration_since(modified).ok())
                    .is_some_and(|age| age >= grace);
                if staged && meta.is_file() && old {
                    found.push((entry.path(), meta.len()));
                }
            }
        }
        found.sort();
        found
    }

    /// Every run-cache key on the remote.
    pub fn list_runs(&self) -> Result<Vec<String>> {
        let root = self.join(&["v1", "runs"]);
        Ok(self
            .list(&root)?
            .into_iter()
            .filter_map(|(path, _)| {
                let (prefix, rest) = path.split_once('/')?;
                Some(format!("{prefix}{}", rest.strip_suffix(".json")?))
            })
            .collect())
    }

    /// Lists `root` recursively: (path relative to it, metadata).
    pub fn list_meta(&self, root: &ObjectPath) -> Result<Vec<(String, object_store::ObjectMeta)>> {
        self.list(root)
    }

    fn list(&self, root: &ObjectPath) -> Result<Vec<(String, object_store::ObjectMeta)>> {
        if self.missing_folder() {
            return Ok(Vec::new());
        }
        let store = self.store.clone();
        let root = root.clone();
        let listing = self.block_on(async move {
            let mut stream = store.list(Some(&root));
            let mut found = Vec::new();
            let first = tokio::time::timeout(self.timeout, stream.next()).await;
            let mut next = match first {
                Ok(next) => next,
                Err(_) => return Err(None),
            };
            while let Some(item) = next {
                let meta = item.map_err(Some)?;
                let relative = meta
                    .location
                    .prefix_match(&root)
                    .map(|parts| {
                        parts
                            .map(|part| part.as_ref().to_owned())
                            .collect::<Vec<_>>()
                            .join("/")
                    })
                    .unwrap_or_default();
                found.push((relative, meta));
                next = stream.next().await;
            }
            Ok(found)
        });
        listing.map_err(|error| match error {
            Some(error) => self.error("list the remote", error),
            None => PipelineError::Remote {
                remote: self.name.clone(),
                message: format!(
                    "cannot reach `{}`: no answer within {} s\nhint: check the URL and the network; raise `timeout:` in icodegen.yaml for a slow remote",
                    self.url,
                    self.timeout.as_secs()
                ),
                credentials: false,
            },
        })
    }

    /// Reads a small file (a run entry, a manifest); `None` when absent.
    pub fn get_small(&self, path: &ObjectPath) -> Result<Option<Vec<u8>>> {
        if self.missing_folder() {
            return Ok(None);
        }
        let store = self.store.clone();
        let result = self.block_on(async move {
            match store.get(path).await {
                Ok(result) => result.bytes().await.map(|bytes| Some(bytes.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(error) => Err(error),
            }
        });
        result.map_err(|error| self.error(&format!("read `{}`", self.describe(path)), error))
    }

    /// Writes `bytes` at `path` unless something is there already.
    pub fn put_new(&self, path: &ObjectPath, bytes: Vec<u8>) -> Result<Put> {
        let store = self.store.clone();
        let result = self.block_on(put_create(store, path.clone(), bytes));
        result.map_err(|error| self.error(&format!("write `{}`", self.describe(path)), error))
    }

    /// Removes `path`.
    pub fn delete(&self, path: &ObjectPath) -> Result<()> {
        let store = self.store.clone();
        self.block_on(async move { store.delete(path).await })
            .map_err(|error| self.error(&format!("remove `{}`", self.describe(path)), error))
    }

    pub(crate) fn store(&self) -> Arc<dyn ObjectStore> {
        self.store.clone()
    }
}

/// Put-if-absent.
pub(crate) async fn put_create(
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    bytes: Vec<u8>,
) -> Result<Put, object_store::Error> {
    let options = PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    };
    match store
        .put_opts(&path, PutPayload::from(bytes), options)
        .await
    {
        Ok(_) => Ok(Put::Written),
        Err(
            object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. },
        ) => Ok(Put::AlreadyThere),
        Err(error) => Err(error),
    }
}
