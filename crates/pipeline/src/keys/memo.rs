//! The hash memo: blake3 of files by (device, inode, size, mtime), so unchanged large files are
//! not re-read by every `status`.
//!
//! A memo entry is only a shortcut for "this exact file was hashed before"; it never decides that
//! a file *changed* (a miss re-hashes). Because file timestamps are coarse (a write shortly after
//! hashing can keep the same mtime), an entry is trusted only when the file's mtime was at least
//! [`RACY_NS`] older than the moment it was hashed, as git does with "racily clean" entries;
//! a racy entry is re-hashed, and that newer hash is then trusted.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::Result;

/// How much older than its hashing time a file's mtime must be for the memo to be trusted.
pub const RACY_NS: i64 = 1_000_000_000;

const HEADER: &str = "icodegen hash memo 1";

/// Entries beyond which the memo forgets those not used by the current process.
const MAX_ENTRIES: usize = 500_000;

/// The identity of a file's contents as far as the memo is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i64,
}

impl Stat {
    pub fn of(metadata: &std::fs::Metadata) -> Stat {
        Stat {
            dev: metadata.dev(),
            ino: metadata.ino(),
            size: metadata.size(),
            mtime_ns: metadata
                .mtime()
                .saturating_mul(1_000_000_000)
                .saturating_add(metadata.mtime_nsec()),
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    size: u64,
    mtime_ns: i64,
    hashed_at_ns: i64,
    hash: String,
    used: bool,
}

/// The memo, loaded from and saved to one file in the cache.
#[derive(Debug)]
pub struct HashMemo {
    path: PathBuf,
    entries: HashMap<(u64, u64), Entry>,
    dirty: bool,
}

pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos() as i64)
}

impl HashMemo {
    /// Loads the memo at `path`; a missing or unreadable memo is empty (it is only a cache).
    pub fn load(path: &Path) -> HashMemo {
        let mut entries = HashMap::new();
        if let Ok(text) = std::fs::read_to_string(path) {
            let mut lines = text.lines();
            if lines.next() == Some(HEADER) {
                for line in lines {
                    let mut fields = line.split(' ');
                    let mut number = || fields.next().and_then(|field| field.parse::<i64>().ok());
                    let (Some(dev), Some(ino), Some(size), Some(mtime_ns), Some(hashed_at_ns)) =
                        (number(), number(), number(), number(), number())
                    else {
                        continue;
                    };
                    let Some(hash) = fields.next().filter(|hash| hash.len() == 64) else {
                        continue;
                    };
                    entries.insert(
                        (dev as u64, ino as u64),
                        Entry {
                            size: size as u64,
                            mtime_ns,
                            hashed_at_ns,
                            hash: hash.to_owned(),
                            used: false,
                        },
                    );
                }
            }
        }
        HashMemo {
            path: path.to_path_buf(),
            entries,
            dirty: false,
        }
    }

    /// The remembered hash of a file with this `stat`, if it can be trusted.
    pub fn get(&mut self, stat: &Stat) -> Option<String> {
        let entry = self.entries.get_mut(&(stat.dev, stat.ino))?;
        if entry.size != stat.size || entry.mtime_ns != stat.mtime_ns {
            return None;
        }
        if entry.hashed_at_ns.saturating_sub(entry.mtime_ns) < RACY_NS {
            return None;
        }
        entry.used = true;
        Some(entry.hash.clone())
    }

    /// Remembers that the file with `stat`, read starting at `hashed_at_ns`, hashes to `hash`.
    pub fn put(&mut self, stat: &Stat, hash: &str, hashed_at_ns: i64) {
        self.entries.insert(
            (stat.dev, stat.ino),
            Entry {
                size: stat.size,
                mtime_ns: stat.mtime_ns,
                hashed_at_ns,
                hash: hash.to_owned(),
                used: true,
            },
        );
        self.dirty = true;
    }

    /// Writes the memo back if it changed (atomically; a lost update only costs a re-hash).
    pub fn save(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        if self.entries.len() > MAX_ENTRIES {
            self.entries.retain(|_, entry| entry.used);
        }
        let mut text = String::with_capacity(self.entries.len() * 110 + HEADER.len() + 1);
        text.push_str(HEADER);
        text.push('\n');
        for ((dev, ino), entry) in &self.entries {
            let _ = writeln!(
                text,
                "{dev} {ino} {} {} {} {}",
                entry.size, entry.mtime_ns, entry.hashed_at_ns, entry.hash
            );
        }
        icodegen_artifacts::atomic::write_bytes(&self.path, text.as_bytes())?;
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_racy_entry_is_not_trusted_until_rehashed_later() {
        let dir = tempfile::tempdir().unwrap();
        let mut memo = HashMemo::load(&dir.path().join("memo"));
        let stat = Stat {
            dev: 1,
            ino: 2,
            size: 3,
            mtime_ns: 10 * RACY_NS,
        };
        memo.put(&stat, HASH, 10 * RACY_NS + 5);
        assert_eq!(
            memo.get(&stat),
            None,
            "hashed within the same second as written"
        );
        memo.put(&stat, HASH, 12 * RACY_NS);
        assert_eq!(memo.get(&stat).as_deref(), Some(HASH));
        let touched = Stat {
            mtime_ns: 11 * RACY_NS,
            ..stat
        };
        assert_eq!(memo.get(&touched), None);
        let grown = Stat { size: 4, ..stat };
        assert_eq!(memo.get(&grown), None);
    }

    #[test]
    fn the_memo_survives_a_save_and_ignores_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("memo");
        let stat = Stat {
            dev: 7,
            ino: 8,
            size: 9,
            mtime_ns: 1,
        };
        let mut memo = HashMemo::load(&path);
        memo.put(&stat, HASH, 5 * RACY_NS);
        memo.save().unwrap();
        std::fs::write(
            &path,
            format!("{}garbage line\n", std::fs::read_to_string(&path).unwrap()),
        )
        .unwrap();
        assert_eq!(HashMemo::load(&path).get(&stat).as_deref(), Some(HASH));
        std::fs::write(&path, "not a memo").unwrap();
        assert_eq!(HashMemo::load(&path).get(&stat), None);
    }
}
