//! Job scripts: what each `sbatch` runs (`cd` to the pipeline, `exec icodegen run-stage`, with
//! `--pull --remote NAME` under `repro --pull`), and names and arguments made safe for file names
//! and `sh`.

use std::collections::BTreeMap;
use std::path::Path;

use super::submit::Unit;
use crate::session::Session;

/// A stage or group name as a file and job name: anything unusual becomes `_` (`%` would be
/// A stage or group name as a file and job name: anything unusual becomes `_` (`%` would be
/// expanded by `sbatch` in file names).
pub(super) fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+' | '=') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Single-quoted for `sh`.
pub(super) fn quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-=@+:,".contains(c))
    {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The job script of a unit: `cd` to the pipeline, `exec icodegen run-stage`.
pub(super) fn script(
    session: &Session,
    runner: &Path,
    cache: &Path,
    unit: &Unit,
    keys: &BTreeMap<usize, String>,
) -> String {
    let root = &session.pipeline.root;
    let pipeline_file = root.join(
        session
            .pipeline
            .file
            .file_name()
            .unwrap_or(std::ffi::OsStr::new(crate::session::PIPELINE_FILE)),
    );
    // `repro --pull`: each job looks its key up in the same remote's run-cache.
    let pull = session
        .pull_from
        .get()
        .map(|remote| format!(" --pull --remote {}", quote(&remote.name)))
        .unwrap_or_default();
    let line = |stage: usize| {
        format!(
            "exec {} run-stage {} --expect {} --pipeline {} --cache {}{pull}",
            quote(&runner.to_string_lossy()),
            quote(&session.pipeline.stages[stage].name),
            keys[&stage],
            quote(&pipeline_file.to_string_lossy()),
            quote(&cache.to_string_lossy()),
        )
    };
    let mut text = format!(
        "#!/bin/sh\n# icodegen: {}\ncd {} || exit 1\n",
        unit.stages
            .iter()
            .map(|&stage| session.pipeline.stages[stage].name.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        quote(&root.to_string_lossy())
    );
    if unit.is_array() {
        text.push_str("case \"$SLURM_ARRAY_TASK_ID\" in\n");
        for (task, &stage) in unit.stages.iter().enumerate() {
            text.push_str(&format!("  {task}) {} ;;\n", line(stage)));
        }
        text.push_str(
            "esac\necho \"icodegen: no stage for array task $SLURM_ARRAY_TASK_ID\" >&2\nexit 1\n",
        );
    } else {
        text.push_str(&line(unit.stages[0]));
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_arguments_are_safe_for_files_and_sh() {
        assert_eq!(file_safe("train@gru"), "train@gru");
        assert_eq!(file_safe("a b/%j"), "a_b__j");
        assert_eq!(quote("/tmp/x-1"), "/tmp/x-1");
        assert_eq!(quote("it's here"), r"'it'\''s here'");
        assert_eq!(quote(""), "''");
    }
}
