//! The `tag` section of `params.yaml`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use icodegen_lang::Language;
use serde::Deserialize;

use crate::error::{Result, TagError};
use crate::taxonomy::{self, Taxonomy};

/// Settings of the `tag` stage (`params.yaml`, key `tag` by default).
///
/// ```yaml
/// tag:
///   bootstrap: 500                 # B, resamples per bootstrap (per row and concept, and global)
///   seed: 0                        # every bootstrap stream is derived from it
///   taxonomy_dir: data/taxonomies  # <dir>/<language>.yaml
///   taxonomies:                    # per-language overrides of single files
///     python: my/python.yaml
/// ```
/// Relative paths are resolved against the directory of the params file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagParams {
    #[serde(default = "default_bootstrap")]
    pub bootstrap: usize,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "default_taxonomy_dir")]
    pub taxonomy_dir: PathBuf,
    #[serde(default)]
    pub taxonomies: BTreeMap<String, PathBuf>,
}

fn default_bootstrap() -> usize {
    500
}

fn default_taxonomy_dir() -> PathBuf {
    PathBuf::from("data/taxonomies")
}

impl Default for TagParams {
    fn default() -> Self {
        Self {
            bootstrap: default_bootstrap(),
            seed: 0,
            taxonomy_dir: default_taxonomy_dir(),
            taxonomies: BTreeMap::new(),
        }
    }
}

impl TagParams {
    /// Loads `key` (`tag` by default) of the params file at `path`, resolving relative paths
    /// against the params file's directory.
    pub fn load(path: &Path, key: &str) -> Result<Self> {
        let mut params: TagParams = icodegen_artifacts::params::load(path, key)?;
        let base = path.parent().unwrap_or(Path::new(""));
        params.resolve_paths(base);
        params.validate()?;
        Ok(params)
    }

    /// Makes relative taxonomy paths relative to `base`.
    pub fn resolve_paths(&mut self, base: &Path) {
        if self.taxonomy_dir.is_relative() {
            self.taxonomy_dir = base.join(&self.taxonomy_dir);
        }
        for path in self.taxonomies.values_mut() {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
    }

    /// Checks values serde cannot.
    pub fn validate(&self) -> Result<()> {
        if self.bootstrap < 2 {
            return Err(TagError::Config(format!(
                "params key `tag.bootstrap` is {}: a bootstrap needs at least 2 resamples for a \
                 standard error (500 is the default)",
                self.bootstrap
            )));
        }
        for language in self.taxonomies.keys() {
            Language::from_name(language).map_err(|error| {
                TagError::Config(format!("params key `tag.taxonomies.{language}`: {error}"))
            })?;
        }
        Ok(())
    }

    /// The taxonomy file used for `language`.
    pub fn taxonomy_path(&self, language: Language) -> PathBuf {
        self.taxonomies
            .iter()
            .find(|(name, _)| Language::from_name(name).ok() == Some(language))
            .map(|(_, path)| path.clone())
            .unwrap_or_else(|| taxonomy::default_path(&self.taxonomy_dir, language))
    }

    /// Loads and validates the taxonomy of `language`.
    pub fn load_taxonomy(&self, language: Language) -> Result<Taxonomy> {
        let path = self.taxonomy_path(language);
        if !path.exists() {
            return Err(TagError::MissingTaxonomy {
                language: language.name().to_owned(),
                path,
            });
        }
        Taxonomy::load(language, &path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<TagParams> {
        let mut params: TagParams =
            icodegen_artifacts::params::from_str(Path::new("params.yaml"), text, "tag")?;
        params.resolve_paths(Path::new("/study"));
        params.validate()?;
        Ok(params)
    }

    #[test]
    fn defaults_are_b_500_seed_0_and_the_shipped_taxonomies() {
        let params = parse("tag: {}\n").unwrap();
        assert_eq!(params.bootstrap, 500);
        assert_eq!(params.seed, 0);
        assert_eq!(
            params.taxonomy_path(Language::Java),
            Path::new("/study/data/taxonomies/java.yaml")
        );
    }

    #[test]
    fn a_per_language_override_replaces_one_file() {
        let params = parse("tag:\n  taxonomies:\n    py: mine.yaml\n").unwrap();
        assert_eq!(
            params.taxonomy_path(Language::Python),
            Path::new("/study/mine.yaml")
        );
        assert_eq!(
            params.taxonomy_path(Language::Go),
            Path::new("/study/data/taxonomies/go.yaml")
        );
    }

    #[test]
    fn typos_zero_resamples_and_unknown_languages_are_errors() {
        let message = parse("tag:\n  bootstrp: 10\n").unwrap_err().to_string();
        assert!(message.contains("did you mean `bootstrap`?"), "{message}");
        assert!(message.contains("params.yaml:2:"), "{message}");
        let message = parse("tag:\n  bootstrap: 0\n").unwrap_err().to_string();
        assert!(message.contains("at least 2 resamples"), "{message}");
        let message = parse("tag:\n  taxonomies: {cobol: x.yaml}\n")
            .unwrap_err()
            .to_string();
        assert!(message.contains("cobol"), "{message}");
    }
}
