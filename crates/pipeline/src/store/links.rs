//! Link types: how an out in the workspace and its object in the cache share storage
//! ([`LinkType`], configured as `cache: {type: [...]}` in pipeline.yaml). Each configured type
//! is tried in order, file by file; one the file system refuses (no copy-on-write, another
//! device, too many links) falls through to the next, and `copy` always works.
//!
//! - `reflink`: a copy-on-write clone (`ioctl(FICLONE)`), independent of its source.
//! - `hardlink`: one inode for the object and the out, made read-only (mode 0444): a write
//!   through the workspace needs a `chmod` first, and then changes the object too. Every
//!   restore re-hashes the object, so such an object is found corrupted, deleted and reported,
//!   never restored; `status` sees the out modified (its mtime changed, so it is re-hashed).
//! - `copy`: a second copy of the bytes.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

pub use crate::spec::LinkType;

/// Makes `dest` a copy-on-write clone of `source` (both open; `dest` empty and writable).
pub fn reflink(source: &File, dest: &File) -> std::io::Result<()> {
    // SAFETY: ioctl(2) FICLONE on two descriptors we own; it reads no memory of ours.
    let result = unsafe { libc::ioctl(dest.as_raw_fd(), libc::FICLONE, source.as_raw_fd()) };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Whether an error means "this file system (or this pair of paths) cannot link this way",
/// so the next link type should be tried, rather than a real failure.
pub fn unsupported(error: &std::io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(
            libc::EOPNOTSUPP
                | libc::ENOTTY
                | libc::EXDEV
                | libc::EINVAL
                | libc::ENOSYS
                | libc::EMLINK
                | libc::EPERM
                | libc::EBADF
        )
    ) || error.kind() == std::io::ErrorKind::Unsupported
}

/// Whether the file system holding `dir` makes copy-on-write clones (tried on a scratch file).
pub fn reflink_supported(dir: &Path) -> bool {
    let Ok(source) = tempfile::tempfile_in(dir) else {
        return false;
    };
    let Ok(dest) = tempfile::tempfile_in(dir) else {
        return false;
    };
    use std::io::Write;
    let mut writer = &source;
    if writer.write_all(b"icodegen reflink probe").is_err() {
        return false;
    }
    reflink(&source, &dest).is_ok()
}

/// Hard-links `object` to a new temporary sibling of `dest` (`.NAME.tmp-*`, removed if dropped),
/// ready to be renamed over `dest`.
pub fn link_beside(object: &Path, dest: &Path) -> std::io::Result<tempfile::TempPath> {
    let parent = match dest.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = dest
        .file_name()
        .map_or("out".into(), |name| name.to_string_lossy().into_owned());
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{name}.tmp-"))
        .make_in(parent, |temp| std::fs::hard_link(object, temp))?;
    Ok(temp.into_temp_path())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::sync::Mutex;

    use crate::keys::hash::Hashed;
    use crate::keys::lock::FileRecord;
    use crate::keys::memo::HashMemo;
    use crate::store::{RestoreError, Store};

    use super::*;

    fn record(hashed: &Hashed, path: &str) -> FileRecord {
        FileRecord::new(path, hashed)
    }

    fn store_in(dir: &Path, links: &[LinkType]) -> (Store, Mutex<HashMemo>) {
        let store = Store::open(&dir.join("cache")).unwrap().with_links(links);
        let memo = Mutex::new(HashMemo::load(&store.memo_path()));
        (store, memo)
    }

    #[test]
    fn a_hardlinked_out_is_its_read_only_object_and_restores_as_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let (store, memo) = store_in(dir.path(), &[LinkType::Hardlink]);
        let out = dir.path().join("out");
        std::fs::write(&out, "alpha").unwrap();
        let hashed = store.add_path(&memo, &out).unwrap().unwrap();
        let object = store.object_path(&hashed.hash);
        let (out_meta, object_meta) = (out.metadata().unwrap(), object.metadata().unwrap());
        assert_eq!(out_meta.ino(), object_meta.ino(), "one inode");
        assert_eq!(out_meta.permissions().mode() & 0o777, 0o444);
        // A second out with the same bytes becomes a link to the same object.
        let twin = dir.path().join("twin");
        std::fs::write(&twin, "alpha").unwrap();
        store.add_path(&memo, &twin).unwrap();
        assert_eq!(twin.metadata().unwrap().ino(), object_meta.ino());
        std::fs::remove_file(&out).unwrap();
        store.restore(&record(&hashed, "out"), &out).unwrap();
        assert_eq!(out.metadata().unwrap().ino(), object_meta.ino());
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "alpha");
    }

    #[test]
    fn a_write_through_a_hardlinked_out_is_caught_and_never_restored() {
        let dir = tempfile::tempdir().unwrap();
        let (store, memo) = store_in(dir.path(), &[LinkType::Hardlink]);
        let out = dir.path().join("out");
        std::fs::write(&out, "alpha").unwrap();
        let hashed = store.add_path(&memo, &out).unwrap().unwrap();
        let object = store.object_path(&hashed.hash);
        // Forced: make it writable and write through the shared inode.
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(&out, "tampered").unwrap();
        assert_eq!(std::fs::read_to_string(&object).unwrap(), "tampered");
        let error = store.restore(&record(&hashed, "out"), &out).unwrap_err();
        assert!(matches!(error, RestoreError::Corrupt { .. }), "{error:?}");
        assert!(!object.exists(), "the corrupted object is deleted");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "tampered");
        assert!(matches!(
            store.restore(&record(&hashed, "out"), &out),
            Err(RestoreError::Missing { .. })
        ));
    }

    #[test]
    fn a_refused_link_type_falls_through_to_the_next_and_names_itself_when_last() {
        // Another device for the cache (tmpfs), when there is one: hard links cannot cross it.
        let shm = Path::new("/dev/shm");
        let dir = tempfile::tempdir().unwrap();
        let Ok(cache) = tempfile::tempdir_in(shm) else {
            eprintln!("skipped: no /dev/shm here");
            return;
        };
        if cache.path().metadata().unwrap().dev() == dir.path().metadata().unwrap().dev() {
            eprintln!("skipped: /dev/shm is on the same device as the temporary folder");
            return;
        }
        let out = dir.path().join("out");
        std::fs::write(&out, "alpha").unwrap();
        let store = Store::open(cache.path())
            .unwrap()
            .with_links(&[LinkType::Hardlink, LinkType::Copy]);
        let memo = Mutex::new(HashMemo::load(&store.memo_path()));
        let hashed = store.add_path(&memo, &out).unwrap().unwrap();
        let object = store.object_path(&hashed.hash);
        assert_ne!(
            out.metadata().unwrap().ino(),
            object.metadata().unwrap().ino()
        );
        assert_ne!(
            out.metadata().unwrap().permissions().mode() & 0o200,
            0,
            "a copied out stays writable"
        );
        let only = store.clone().with_links(&[LinkType::Hardlink]);
        let error = only
            .restore(&record(&hashed, "out"), &dir.path().join("again"))
            .unwrap_err();
        assert!(
            error.describe().contains("hardlink"),
            "{}",
            error.describe()
        );
    }

    #[test]
    fn a_reflinked_out_is_an_independent_clone_where_the_file_system_clones() {
        let dir = tempfile::tempdir().unwrap();
        if !reflink_supported(dir.path()) {
            eprintln!("skipped: this file system makes no copy-on-write clones (FICLONE)");
            return;
        }
        let (store, memo) = store_in(dir.path(), &[LinkType::Reflink]);
        let out = dir.path().join("out");
        std::fs::write(&out, "alpha").unwrap();
        let hashed = store.add_path(&memo, &out).unwrap().unwrap();
        let object = store.object_path(&hashed.hash);
        assert_ne!(
            out.metadata().unwrap().ino(),
            object.metadata().unwrap().ino()
        );
        std::fs::write(&out, "changed").unwrap();
        assert_eq!(std::fs::read_to_string(&object).unwrap(), "alpha");
        store.restore(&record(&hashed, "out"), &out).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "alpha");
    }
}
