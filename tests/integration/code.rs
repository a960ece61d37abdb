//! The code fingerprint of stage binaries (`icodegen-X --source-fingerprint`).

use std::os::unix::fs::PermissionsExt;

use crate::harness::Project;

fn fake_stage(project: &Project, fingerprint: &str) {
    let script = format!(
        "#!/bin/sh\nif [ \"$1\" = --source-fingerprint ]; then echo asked >> asked.log; echo {fingerprint}; exit 0; fi\necho \"run by {fingerprint}\" > \"$2\"\n"
    );
    project.write("bin/icodegen-fake", &script);
    std::fs::set_permissions(
        project.path("bin/icodegen-fake"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
}

fn asked(project: &Project) -> usize {
    std::fs::read_to_string(project.path("asked.log"))
        .unwrap_or_default()
        .lines()
        .count()
}

const PIPELINE: &str = "stages:\n  fake:\n    cmd: bin/icodegen-fake --out out.txt\n    outs: [out.txt]\n  plain:\n    cmd: echo plain > plain.txt\n    outs: [plain.txt]\n";

#[test]
fn a_code_change_of_a_stage_binary_invalidates_its_stage() {
    let project = Project::new();
    project.pipeline(PIPELINE);
    fake_stage(&project, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    project.run(&["repro"]).ok();
    assert!(
        project.lock().contains("program: icodegen-fake"),
        "{}",
        project.lock()
    );
    assert!(
        project
            .lock()
            .contains("fingerprint: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
    );
    fake_stage(&project, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    let json = project.status_json();
    assert_eq!(
        json["stages"]["fake"]["reasons"][0],
        "code of `icodegen-fake` changed"
    );
    assert_eq!(json["stages"]["plain"]["state"], "fresh");
    project.run(&["repro"]).ok();
    assert_eq!(
        project.read("out.txt"),
        "run by bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n"
    );
}

#[test]
fn a_rebuild_with_identical_sources_does_not_invalidate_and_a_noop_status_spawns_nothing() {
    let project = Project::new();
    project.pipeline(PIPELINE);
    fake_stage(&project, "cccccccccccccccccccccccccccccccc");
    project.run(&["repro"]).ok();
    let after_repro = asked(&project);
    assert_eq!(after_repro, 1, "asked once, then memoized");
    project.run(&["status"]).ok();
    project.run(&["repro"]).ok();
    assert_eq!(asked(&project), 1, "no-op status and repro spawn nothing");
    // "Rebuild": a new file with the same fingerprint.
    std::thread::sleep(std::time::Duration::from_millis(20));
    project.remove("bin/icodegen-fake");
    fake_stage(&project, "cccccccccccccccccccccccccccccccc");
    assert_eq!(project.in_state("fresh"), ["fake", "plain"]);
    assert_eq!(asked(&project), 2, "the new executable was asked once");
}

#[test]
fn commands_that_are_not_stage_binaries_have_no_fingerprint() {
    let project = Project::new();
    project.pipeline("stages:\n  plain:\n    cmd: echo plain > plain.txt\n    outs: [plain.txt]\n");
    project.run(&["repro"]).ok();
    assert!(!project.lock().contains("code:"), "{}", project.lock());
}
