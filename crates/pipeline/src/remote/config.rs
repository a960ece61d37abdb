//! Remote configuration: `icodegen.yaml` beside pipeline.yaml (committed: the workspace's
//! remotes) and `.icodegen/config.local.yaml` (not committed: this machine's options, which
//! win key by key). Credentials are in neither: each cloud's environment variables and profile
//! files, as `object_store` reads them.
//!
//! ```yaml
//! default: shared
//! remotes:
//!   shared:
//!     url: s3://bucket/prefix
//!     endpoint: http://127.0.0.1:9000   # S3-compatible servers
//!     region: us-east-1
//!     allow_http: true
//!     timeout: 10                       # seconds, per request and for the first contact
//!     retries: 2
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{PipelineError, Result};

/// The committed configuration file's name, beside pipeline.yaml.
pub const FILE_NAME: &str = "icodegen.yaml";
/// The local override, inside the runner's ignored state folder.
pub const LOCAL_FILE: &str = ".icodegen/config.local.yaml";

/// One remote's settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// S3-compatible servers: the endpoint URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Allow plain `http://` endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_http: Option<bool>,
    /// Seconds to wait for a connection and for each request (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    /// Retries of a failed request (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<usize>,
    /// Concurrent transfers when `-j` is not given (default 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs: Option<usize>,
    /// Other `object_store` options (`aws_virtual_hosted_style_request: "false"`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

impl RemoteConfig {
    /// `self` with the values `local` sets.
    fn overlay(&mut self, local: &RemoteConfig) {
        macro_rules! take {
            ($($field:ident),*) => {$(if local.$field.is_some() { self.$field = local.$field.clone(); })*};
        }
        take!(url, endpoint, region, allow_http, timeout, retries, jobs);
        self.options
            .extend(local.options.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}

/// The shape of both files.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub remotes: BTreeMap<String, RemoteConfig>,
}

const HEADER: &str = "# icodegen's workspace settings (remotes for push/pull): see README.md, \"Remotes\".\n# Machine-specific options go in .icodegen/config.local.yaml; credentials in neither.\n";

impl ConfigFile {
    /// Reads `path`; a missing file is empty. Mistakes are located errors (exit 2).
    pub fn read(path: &Path) -> Result<ConfigFile> {
        let Some(text) = crate::spec::yaml::read_text(path, path)? else {
            return Ok(ConfigFile::default());
        };
        if text.trim().is_empty()
            || text
                .lines()
                .all(|line| line.trim().is_empty() || line.trim_start().starts_with('#'))
        {
            return Ok(ConfigFile::default());
        }
        crate::spec::yaml::from_str(path, &text)
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let yaml = serde_norway::to_string(self)
            .map_err(|error| PipelineError::Internal(error.to_string()))?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|error| PipelineError::io("create", parent, error))?;
        }
        Ok(icodegen_artifacts::atomic::write_bytes(
            path,
            format!("{HEADER}{yaml}").as_bytes(),
        )?)
    }
}

/// Both files of a workspace, merged.
#[derive(Debug, Clone)]
pub struct Config {
    pub root: PathBuf,
    pub shared: ConfigFile,
    pub local: ConfigFile,
}

impl Config {
    pub fn load(root: &Path) -> Result<Config> {
        Ok(Config {
            root: root.to_path_buf(),
            shared: ConfigFile::read(&root.join(FILE_NAME))?,
            local: ConfigFile::read(&root.join(LOCAL_FILE))?,
        })
    }

    pub fn path(&self, local: bool) -> PathBuf {
        self.root.join(if local { LOCAL_FILE } else { FILE_NAME })
    }

    /// Every remote, local options over shared ones.
    pub fn remotes(&self) -> BTreeMap<String, RemoteConfig> {
        let mut remotes = self.shared.remotes.clone();
        for (name, local) in &self.local.remotes {
            remotes.entry(name.clone()).or_default().overlay(local);
        }
        remotes
    }

    pub fn default_name(&self) -> Option<String> {
        self.local.default.clone().or(self.shared.default.clone())
    }

    /// The remote `name`, or the default one.
    pub fn resolve(&self, name: Option<&str>) -> Result<(String, RemoteConfig)> {
        let remotes = self.remotes();
        let name = match name {
            Some(name) => name.to_owned(),
            None => match self.default_name() {
                Some(name) => name,
                None if remotes.len() == 1 => remotes.keys().next().cloned().unwrap_or_default(),
                None => {
                    return Err(PipelineError::Refused(format!(
                        "no default remote{}\nhint: `icodegen remote add NAME URL --default`, or name one with `--remote NAME`",
                        if remotes.is_empty() {
                            " (none is configured)".to_owned()
                        } else {
                            format!(
                                " among {}",
                                remotes
                                    .keys()
                                    .map(|n| format!("`{n}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        }
                    )));
                }
            },
        };
        let Some(config) = remotes.get(&name) else {
            return Err(PipelineError::Spec {
                file: self.root.join(FILE_NAME),
                location: None,
                key: format!("remotes.{name}"),
                message: format!(
                    "no remote `{name}`; configured: {}",
                    if remotes.is_empty() {
                        "none".to_owned()
                    } else {
                        remotes.keys().cloned().collect::<Vec<_>>().join(", ")
                    }
                ),
            });
        };
        if config.url.is_none() {
            let file = if self.shared.remotes.contains_key(&name) {
                FILE_NAME
            } else {
                LOCAL_FILE
            };
            return Err(PipelineError::Spec {
                file: self.root.join(file),
                location: None,
                key: format!("remotes.{name}.url"),
                message: "the remote has no `url`".to_owned(),
            });
        }
        Ok((name, config.clone()))
    }
}
