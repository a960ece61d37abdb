//! Garbage collection: run-cache entries by policy ([`GcPolicy`]: the last N of each stage,
//! those younger than a duration), then the objects that neither the lock nor a kept entry
//! refers to.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use super::Store;
use super::runs::Run;
use crate::error::{IoContext, PipelineError, Result};

/// Which run-cache entries `gc` keeps. With no rule, every entry stays (objects only go when
/// nothing refers to them). With rules, an entry goes only when no rule keeps it: `keep_last`
/// keeps the newest N of each stage, `older_than` keeps the entries younger than it. An entry
/// recording the lock's current run of its stage always stays, and counts as the newest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcPolicy {
    pub keep_last: Option<usize>,
    pub older_than: Option<Duration>,
}

impl GcPolicy {
    pub fn is_empty(&self) -> bool {
        self.keep_last.is_none() && self.older_than.is_none()
    }

    /// The indexes of the `runs` to remove at time `now` (seconds since the epoch); `current`
    /// are the keys the lock records. Entries of an unknown stage (written before entries
    /// named it) are grouped by command.
    pub fn select(&self, runs: &[Run], current: &BTreeSet<String>, now: u64) -> Vec<usize> {
        if self.is_empty() {
            return Vec::new();
        }
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (index, run) in runs.iter().enumerate() {
            let group = match &run.stage {
                Some(stage) => format!("stage {stage}"),
                None => format!("cmd {}", run.record.cmd),
            };
            groups.entry(group).or_default().push(index);
        }
        let mut dropped = Vec::new();
        for members in groups.values_mut() {
            // Newest first; the lock's run counts as the newest (it is the one in use).
            members.sort_by(|&a, &b| {
                let in_use = |index: usize| current.contains(&runs[index].key);
                in_use(b)
                    .cmp(&in_use(a))
                    .then_with(|| runs[b].created.cmp(&runs[a].created))
                    .then_with(|| runs[a].key.cmp(&runs[b].key))
            });
            for (rank, &index) in members.iter().enumerate() {
                let run = &runs[index];
                let kept_by_rank = self.keep_last.is_some_and(|keep| rank < keep);
                let kept_by_age = self
                    .older_than
                    .is_some_and(|limit| now.saturating_sub(run.created) <= limit.as_secs());
                if !kept_by_rank && !kept_by_age && !current.contains(&run.key) {
                    dropped.push(index);
                }
            }
        }
        dropped.sort_unstable();
        dropped
    }
}

/// Parses a duration such as `7d`, `12h`, `30m`, `45s` or `2w` (a whole number and a unit).
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| {
        format!("`{text}` is not a duration; write a whole number and a unit, e.g. 7d, 12h, 30m")
    })?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "" => {
            return Err(format!(
                "`{text}` has no unit; use s, m, h, d or w (e.g. 7d, 12h)"
            ));
        }
        _ => {
            return Err(format!(
                "`{text}`: unknown unit `{unit}`; use s, m, h, d or w (e.g. 7d, 12h)"
            ));
        }
    };
    Ok(Duration::from_secs(number.saturating_mul(seconds)))
}

/// An age for messages: `40s`, `12m`, `5h`, `9d`.
pub fn describe_age(seconds: u64) -> String {
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m", seconds / 60),
        3600..86_400 => format!("{}h", seconds / 3600),
        _ => format!("{}d", seconds / 86_400),
    }
}

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
    use crate::keys::lock::StageRecord;

    fn run(key: &str, stage: &str, created: u64) -> Run {
        Run {
            key: key.to_owned(),
            path: key.into(),
            stage: Some(stage.to_owned()),
            created,
            record: StageRecord {
                cmd: format!("make {stage}"),
                key: key.to_owned(),
                code: None,
                deps: Vec::new(),
                params: Default::default(),
                outs: Vec::new(),
                metrics: Vec::new(),
            },
        }
    }

    const DAY: u64 = 86_400;

    #[test]
    fn keep_last_keeps_the_newest_of_each_stage_and_the_current_run() {
        let now = 100 * DAY;
        let runs = [
            run("a1", "a", now - 3 * DAY),
            run("a2", "a", now - 2 * DAY),
            run("a3", "a", now - DAY),
            run("b1", "b", now - 9 * DAY),
        ];
        let policy = GcPolicy {
            keep_last: Some(1),
            older_than: None,
        };
        assert_eq!(policy.select(&runs, &BTreeSet::new(), now), [0, 1]);
        let current = BTreeSet::from(["a1".to_owned()]);
        assert_eq!(
            policy.select(&runs, &current, now),
            [1, 2],
            "the lock's run stays, as the newest"
        );
        assert!(GcPolicy::default().select(&runs, &current, now).is_empty());
    }

    #[test]
    fn older_than_drops_what_no_rule_keeps() {
        let now = 100 * DAY;
        let runs = [
            run("a1", "a", now - 10 * DAY),
            run("a2", "a", now - 8 * DAY),
            run("a3", "a", now - DAY),
        ];
        let week = GcPolicy {
            keep_last: None,
            older_than: Some(Duration::from_secs(7 * DAY)),
        };
        assert_eq!(week.select(&runs, &BTreeSet::new(), now), [0, 1]);
        let both = GcPolicy {
            keep_last: Some(2),
            ..week
        };
        assert_eq!(
            both.select(&runs, &BTreeSet::new(), now),
            [0],
            "kept by either rule"
        );
    }

    #[test]
    fn durations_read_like_7d_and_12h() {
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * DAY)));
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("2w"), Ok(Duration::from_secs(14 * DAY)));
        assert_eq!(parse_duration("45s"), Ok(Duration::from_secs(45)));
        assert!(parse_duration("7").unwrap_err().contains("has no unit"));
        assert!(
            parse_duration("1y")
                .unwrap_err()
                .contains("unknown unit `y`")
        );
        assert!(parse_duration("d").is_err());
        assert!(parse_duration("1y").is_err());
        assert_eq!(describe_age(3 * DAY + 5), "3d");
    }

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
