//! Garbage collection: objects that nothing kept refers to are removed.

use std::collections::BTreeSet;
use std::path::Path;

use super::Store;
use crate::error::{IoContext, PipelineError, Result};

/// What `gc` removed (or would remove).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    pub objects: usize,
    pub bytes: u64,
    pub kept: usize,
}

impl Store {
    /// Removes every object not in `keep` (and leftovers in `tmp/`).
    pub fn gc(&self, keep: &BTreeSet<String>, dry_run: bool) -> Result<GcReport> {
        let mut report = GcReport::default();
        let objects = self.dir.join("objects");
        for entry in walkdir::WalkDir::new(&objects).min_depth(2).max_depth(2) {
            let entry = entry.map_err(|error| PipelineError::io("read", &objects, error.into()))?;
            let prefix = entry
                .path()
                .parent()
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy().into_owned());
            let hash = format!(
                "{}{}",
                prefix.unwrap_or_default(),
                entry.file_name().to_string_lossy()
            );
            if keep.contains(&hash) {
                report.kept += 1;
                continue;
            }
            report.objects += 1;
            report.bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
            if !dry_run {
                std::fs::remove_file(entry.path()).at("remove", entry.path())?;
            }
        }
        if !dry_run {
            let tmp = self.tmp_dir();
            for entry in std::fs::read_dir(&tmp).at("read", &tmp)?.flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gc_keeps_what_is_referenced() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("cache")).unwrap();
        let keep = store.add_bytes(b"keep").unwrap();
        store.add_bytes(b"drop").unwrap();
        let report = store.gc(&BTreeSet::from([keep.clone()]), true).unwrap();
        assert_eq!((report.objects, report.kept), (1, 1));
        store.gc(&BTreeSet::from([keep.clone()]), false).unwrap();
        assert!(store.has(&keep));
        assert!(!store.has(blake3::hash(b"drop").to_hex().as_str()));
    }
}
