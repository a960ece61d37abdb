//! The cache at scale: link types (`cache: {type: [...]}` in pipeline.yaml), and `gc` policies
//! for run-cache entries (`--keep-last`, `--older-than`, `--dry-run`).

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use crate::harness::Project;

/// One stage whose out is a function of input.txt, with the given `cache:` section.
fn project(cache: &str) -> Project {
    let project = Project::new();
    project.pipeline(&format!(
        "{cache}stages:\n  make:\n    cmd: echo made $(cat input.txt) > out.txt && echo make >> log.txt\n    deps: [input.txt]\n    outs: [out.txt]\n"
    ));
    project.write("input.txt", "one\n");
    project
}

/// The inode of the cache object holding `contents`, if any.
fn object_inode(project: &Project, contents: &str) -> Option<u64> {
    let hash = blake3::hash(contents.as_bytes()).to_hex().to_string();
    let path = project.path(&format!("cache/v1/objects/{}/{}", &hash[..2], &hash[2..]));
    path.metadata().ok().map(|metadata| metadata.ino())
}

fn inode(project: &Project, relative: &str) -> u64 {
    project.path(relative).metadata().unwrap().ino()
}

fn mode(project: &Project, relative: &str) -> u32 {
    project
        .path(relative)
        .metadata()
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

fn running_as_root() -> bool {
    // The owner of a file we just made is who we run as.
    let probe = tempfile::NamedTempFile::new().unwrap();
    probe.as_file().metadata().unwrap().uid() == 0
}

#[test]
fn hardlinked_outs_are_read_only_links_to_the_cache_and_a_forced_write_is_caught() {
    let project = project("cache:\n  type: hardlink\n");
    project.run(&["repro"]).ok();
    assert_eq!(project.read("out.txt"), "made one\n");
    assert_eq!(
        object_inode(&project, "made one\n"),
        Some(inode(&project, "out.txt")),
        "the out is the cache object: stored once"
    );
    assert_eq!(mode(&project, "out.txt"), 0o444, "read-only");
    if running_as_root() {
        eprintln!(
            "running as root: a write to a read-only file is not refused; skipping that check"
        );
    } else {
        let refused = std::fs::OpenOptions::new()
            .write(true)
            .open(project.path("out.txt"))
            .unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::PermissionDenied);
    }
    // Forced: chmod and write through the shared inode (this changes the object too).
    std::fs::set_permissions(
        project.path("out.txt"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::write(project.path("out.txt"), "tampered\n").unwrap();
    let status = project.run(&["status", "--explain"]).ok();
    assert!(
        status.stdout.contains("out `out.txt` was modified"),
        "{}",
        status.stdout
    );
    // checkout: the edit is nowhere else, so refused without --force; with it, the object
    // is found corrupted (its bytes no longer hash to its name), deleted and reported.
    project.run(&["checkout"]).code(2);
    project
        .run(&["checkout", "--force"])
        .code(1)
        .says(&["corrupted", "it was deleted"]);
    assert_eq!(
        project.read("out.txt"),
        "tampered\n",
        "nothing restored silently"
    );
    assert_eq!(object_inode(&project, "made one\n"), None);
    // repro runs the stage again (the run-cache entry's object is gone) and links anew.
    project
        .run(&["repro"])
        .ok()
        .says(&["cannot restore stage `make` from the run-cache"]);
    assert_eq!(project.read("out.txt"), "made one\n");
    assert_eq!(project.run_count("make"), 2);
    assert_eq!(
        object_inode(&project, "made one\n"),
        Some(inode(&project, "out.txt"))
    );
    assert_eq!(project.states()["make"], "fresh");
}

#[test]
fn hardlinked_outs_restore_from_the_run_cache_as_links() {
    let project = project("cache:\n  type: [hardlink, copy]\n");
    project.run(&["repro"]).ok();
    project.write("input.txt", "two\n");
    project.run(&["repro"]).ok();
    project.write("input.txt", "one\n");
    project
        .run(&["repro"])
        .ok()
        .says(&["Restored `make` from the run-cache"]);
    assert_eq!(project.run_count("make"), 2);
    assert_eq!(
        object_inode(&project, "made one\n"),
        Some(inode(&project, "out.txt"))
    );
    project.remove("out.txt");
    project.run(&["checkout"]).ok();
    assert_eq!(mode(&project, "out.txt"), 0o444);
    assert_eq!(
        object_inode(&project, "made one\n"),
        Some(inode(&project, "out.txt"))
    );
}

#[test]
fn copied_outs_are_independent_of_the_cache() {
    for cache in ["cache:\n  type: copy\n", ""] {
        let project = project(cache);
        project.run(&["repro"]).ok();
        let object = object_inode(&project, "made one\n").expect("stored");
        assert_ne!(object, inode(&project, "out.txt"), "{cache:?}");
        assert_ne!(mode(&project, "out.txt") & 0o200, 0, "writable: {cache:?}");
        std::fs::write(project.path("out.txt"), "edited\n").unwrap();
        assert_eq!(
            project
                .objects()
                .iter()
                .filter(|(name, hash)| name == hash)
                .count(),
            project.objects().len(),
            "every object intact"
        );
        project.run(&["checkout", "--force"]).ok();
        assert_eq!(project.read("out.txt"), "made one\n");
    }
}

#[test]
fn reflinked_outs_are_clones_where_the_file_system_supports_them() {
    let project = project("cache:\n  type: reflink\n");
    let run = project.run(&["repro"]);
    if run.code != 0 {
        assert!(
            run.stderr
                .contains("cannot store it with any configured link type: reflink"),
            "{}",
            run.stderr
        );
        eprintln!("skipped: this file system makes no copy-on-write clones (reflink)");
        return;
    }
    let object = object_inode(&project, "made one\n").expect("stored");
    assert_ne!(object, inode(&project, "out.txt"));
    std::fs::write(project.path("out.txt"), "edited\n").unwrap();
    project.run(&["checkout", "--force"]).ok();
    assert_eq!(project.read("out.txt"), "made one\n");
}

#[test]
fn an_unknown_link_type_is_a_located_usage_error() {
    let misspelt = project("cache:\n  type: [reflink, hardlnk]\n");
    misspelt.run(&["status"]).code(2).says(&[
        "pipeline.yaml:2:",
        "hardlnk",
        "did you mean `hardlink`?",
    ]);
    let unknown_key = project("cache:\n  kind: copy\n");
    unknown_key
        .run(&["status"])
        .code(2)
        .says(&["pipeline.yaml:2"]);
}

/// Runs the stage once for each input, leaving one run-cache entry per input.
fn three_runs() -> Project {
    let project = project("");
    for input in ["one\n", "two\n", "three\n"] {
        project.write("input.txt", input);
        project.run(&["repro"]).ok();
    }
    project
}

fn run_entries(project: &Project) -> Vec<std::path::PathBuf> {
    let mut entries = Vec::new();
    for prefix in std::fs::read_dir(project.path("cache/v1/runs"))
        .unwrap()
        .flatten()
    {
        entries.extend(
            std::fs::read_dir(prefix.path())
                .unwrap()
                .flatten()
                .map(|entry| entry.path()),
        );
    }
    entries.sort();
    entries
}

#[test]
fn gc_keep_last_keeps_the_newest_entries_of_each_stage_and_what_the_lock_uses() {
    let project = three_runs();
    assert_eq!(run_entries(&project).len(), 3);
    let before = project.objects().len();
    let dry = project.run(&["gc", "--keep-last", "1", "--dry-run"]).ok();
    assert_eq!(
        dry.stdout
            .lines()
            .filter(|line| line.starts_with("would remove run-cache entry of `make`"))
            .count(),
        2,
        "{}",
        dry.stdout
    );
    let dry = dry.says(&[
        "Would remove 2 run-cache entries of 3.",
        "Would remove 2 object(s)",
    ]);
    assert!(dry.stderr.contains(" MB; "), "{}", dry.stderr);
    assert_eq!(run_entries(&project).len(), 3, "a dry run removes nothing");
    assert_eq!(project.objects().len(), before);
    project
        .run(&["gc", "--keep-last", "1"])
        .ok()
        .says(&["Removed 2 run-cache entries of 3.", "Removed 2 object(s)"]);
    assert_eq!(run_entries(&project).len(), 1);
    // The lock's run stays, and so do its objects.
    project.remove("out.txt");
    project.run(&["checkout"]).ok();
    assert_eq!(project.read("out.txt"), "made three\n");
    // An earlier configuration now runs again.
    project.write("input.txt", "one\n");
    project.run(&["repro"]).ok();
    assert_eq!(project.run_count("make"), 4);
    // Without a policy, gc keeps every entry.
    project.run(&["gc"]).ok().says(&["Removed 0 object(s)"]);
    assert_eq!(run_entries(&project).len(), 2);
}

#[test]
fn gc_older_than_removes_old_entries_unless_the_lock_uses_them() {
    let project = three_runs();
    // Age every entry by ten days.
    let ten_days = 10 * 86_400;
    for path in run_entries(&project) {
        let mut entry: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let created = entry["created"]
            .as_u64()
            .expect("entries say when they were written");
        entry["created"] = serde_json::json!(created - ten_days);
        std::fs::write(&path, serde_json::to_string_pretty(&entry).unwrap()).unwrap();
    }
    project
        .run(&["gc", "--older-than", "30d"])
        .ok()
        .says(&["Removed 0 run-cache entries of 3."]);
    let dry = project.run(&["gc", "--older-than", "7d", "--dry-run"]).ok();
    assert_eq!(dry.stdout.lines().count(), 2, "{}", dry.stdout);
    assert!(dry.stdout.contains("written 10d ago"), "{}", dry.stdout);
    project
        .run(&["gc", "--older-than", "7d"])
        .ok()
        .says(&["Removed 2 run-cache entries of 3."]);
    assert_eq!(run_entries(&project).len(), 1, "the lock's run stays");
    project.write("input.txt", "two\n");
    project.run(&["repro"]).ok();
    assert_eq!(
        project.run_count("make"),
        4,
        "its entry was removed: it ran again"
    );
    // --keep-last keeps what --older-than would remove.
    project
        .run(&["gc", "--older-than", "1s", "--keep-last", "5"])
        .ok()
        .says(&["Removed 0 run-cache entries of 2."]);
}

#[test]
fn gc_refuses_a_duration_it_cannot_read() {
    let project = three_runs();
    project
        .run(&["gc", "--older-than", "7"])
        .code(2)
        .says(&["has no unit", "use s, m, h, d or w"]);
    project
        .run(&["gc", "--older-than", "1y"])
        .code(2)
        .says(&["unknown unit `y`"]);
    assert_eq!(run_entries(&project).len(), 3);
}
