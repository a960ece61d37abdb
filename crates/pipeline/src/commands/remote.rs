//! The remote commands: `remote add/list/remove`, `push`, `fetch`, `pull`, `status --remote`
//! and `gc --remote` (see `remote/` for the transfer itself).

use super::plan_for;
use crate::error::{PipelineError, Result};
use crate::graph::plan::Reach;
use crate::keys::lock::{FileRecord, StageRecord};
use crate::remote::transfer;
use crate::remote::{Config, Remote, RemoteConfig};
use crate::safety::runner_lock::Mode;
use crate::session::Session;
use crate::store::short;

/// `icodegen remote add NAME URL`.
pub fn remote_add(
    session: &Session,
    name: &str,
    url: &str,
    default: bool,
    local: bool,
    options: &[(String, String)],
) -> Result<()> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(PipelineError::Refused(format!(
            "`{name}` is not a remote name: use letters, digits, `-`, `_` and `.`"
        )));
    }
    let config = Config::load(&session.pipeline.root)?;
    let mut file = if local {
        config.local.clone()
    } else {
        config.shared.clone()
    };
    let entry = file
        .remotes
        .entry(name.to_owned())
        .or_insert_with(RemoteConfig::default);
    entry.url = Some(url.to_owned());
    for (key, value) in options {
        match key.as_str() {
            "endpoint" => entry.endpoint = Some(value.clone()),
            "region" => entry.region = Some(value.clone()),
            "allow_http" => entry.allow_http = Some(value == "true"),
            "timeout" => {
                entry.timeout = Some(value.parse().map_err(|_| {
                    PipelineError::Refused(format!("`timeout={value}`: a number of seconds"))
                })?)
            }
            "retries" => {
                entry.retries =
                    Some(value.parse().map_err(|_| {
                        PipelineError::Refused(format!("`retries={value}`: a number"))
                    })?)
            }
            _ => {
                entry.options.insert(key.clone(), value.clone());
            }
        }
    }
    if default {
        file.default = Some(name.to_owned());
    }
    let path = config.path(local);
    file.write(&path)?;
    // Whatever was written must open.
    Remote::open(&session.pipeline.root, Some(name))?;
    session.console.info(format!(
        "remote `{name}` ({url}) in {}{}",
        path.strip_prefix(&session.pipeline.root)
            .unwrap_or(&path)
            .display(),
        if default { ", the default" } else { "" }
    ));
    Ok(())
}

/// `icodegen remote list`: one line per remote, `*` marking the default.
pub fn remote_list(session: &Session) -> Result<String> {
    let config = Config::load(&session.pipeline.root)?;
    let default = config.default_name();
    let mut out = String::new();
    for (name, remote) in config.remotes() {
        let mark = if default.as_deref() == Some(&name) {
            "*"
        } else {
            " "
        };
        out.push_str(&format!(
            "{mark} {name}\t{}{}\n",
            remote.url.as_deref().unwrap_or("(no url)"),
            remote
                .endpoint
                .as_deref()
                .map(|endpoint| format!("\tendpoint={endpoint}"))
                .unwrap_or_default()
        ));
    }
    Ok(out)
}

/// `icodegen remote remove NAME` (from both files).
pub fn remote_remove(session: &Session, name: &str) -> Result<()> {
    let config = Config::load(&session.pipeline.root)?;
    let mut found = false;
    for local in [false, true] {
        let mut file = if local {
            config.local.clone()
        } else {
            config.shared.clone()
        };
        let had = file.remotes.remove(name).is_some();
        let was_default = file.default.as_deref() == Some(name);
        if was_default {
            file.default = None;
        }
        if had || was_default {
            found |= had;
            file.write(&config.path(local))?;
        }
    }
    if !found {
        return Err(PipelineError::Refused(format!("no remote `{name}`")));
    }
    session.console.info(format!("removed remote `{name}`"));
    Ok(())
}

/// The lock records of the stages `targets` name (all by default).
fn selected(session: &Session, targets: &[String]) -> Result<Vec<(String, StageRecord)>> {
    let plan = plan_for(session, targets, Reach::Single)?;
    let lock = session.read_lock()?;
    Ok(plan
        .into_iter()
        .filter_map(|index| {
            let name = &session.pipeline.stages[index].name;
            lock.stages
                .get(name)
                .map(|record| (name.clone(), record.clone()))
        })
        .collect())
}

fn describe(moved: &transfer::Moved) -> String {
    format!(
        "{} object(s), {:.1} MB",
        moved.objects,
        moved.bytes as f64 / 1e6
    )
}

/// `icodegen push`.
pub fn push(
    session: &Session,
    targets: &[String],
    remote: Option<&str>,
    jobs: Option<usize>,
) -> Result<()> {
    let remote = Remote::open(&session.pipeline.root, remote)?;
    let _lock = session.lock_runner(Mode::Shared, "icodegen push")?;
    let stages = selected(session, targets)?;
    let jobs = jobs.unwrap_or(remote.jobs);
    let report = transfer::push(
        &remote,
        &session.store,
        &stages,
        jobs,
        session.console.verbosity >= 0,
    )?;
    session.console.info(format!(
        "Pushed {} to `{}`; {} already there. Run-cache: {} entr{} written, {} already there.",
        describe(&report.moved),
        remote.name,
        report.moved.present,
        report.runs_written,
        if report.runs_written == 1 { "y" } else { "ies" },
        report.runs_present
    ));
    if report.conflicts.is_empty() {
        return Ok(());
    }
    Err(PipelineError::Remote {
        remote: remote.name.clone(),
        message: format!(
            "conflict: the remote's run-cache already holds other outputs for {} (not overwritten): {}\nhint: the stage is not deterministic, or another workspace computed it differently; compare with `icodegen pull` in a scratch clone",
            if report.conflicts.len() == 1 {
                "this key"
            } else {
                "these keys"
            },
            report
                .conflicts
                .iter()
                .map(|(stage, key)| format!("`{stage}` (key {})", short(key)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        credentials: false,
    })
}

/// `icodegen fetch` (and the first half of `pull`): downloads the objects of the lock's outs.
pub fn fetch(
    session: &Session,
    targets: &[String],
    remote: Option<&str>,
    jobs: Option<usize>,
) -> Result<()> {
    let remote = Remote::open(&session.pipeline.root, remote)?;
    let _lock = session.lock_runner(Mode::Exclusive, "icodegen fetch")?;
    let stages = selected(session, targets)?;
    let records: Vec<&FileRecord> = stages
        .iter()
        .flat_map(|(_, record)| record.all_outs())
        .collect();
    let jobs = jobs.unwrap_or(remote.jobs);
    let moved = transfer::fetch_records(
        &remote,
        &session.store,
        &records,
        jobs,
        session.console.verbosity >= 0,
    )?;
    // The lock's runs become local run-cache entries, so `repro` restores rather than runs.
    for (stage, record) in &stages {
        if !record.outs.is_empty() && session.store.run_get(&record.key).is_none() {
            session.store.run_put(&record.key, stage, record)?;
        }
    }
    session.console.info(format!(
        "Fetched {} from `{}`; {} already here.",
        describe(&moved),
        remote.name,
        moved.present
    ));
    Ok(())
}

/// `icodegen pull`: fetch, then check out.
pub fn pull(
    session: &Session,
    targets: &[String],
    remote: Option<&str>,
    jobs: Option<usize>,
    force: bool,
) -> Result<()> {
    fetch(session, targets, remote, jobs)?;
    super::checkout(session, targets, force)
}

/// `icodegen status --remote`: the outs of the lock whose objects the remote lacks.
pub fn remote_status(
    session: &Session,
    targets: &[String],
    remote: Option<&str>,
) -> Result<String> {
    let remote = Remote::open(&session.pipeline.root, remote)?;
    let stages = selected(session, targets)?;
    let records: Vec<&FileRecord> = stages
        .iter()
        .flat_map(|(_, record)| record.all_outs())
        .collect();
    let absent = transfer::not_on_remote(&remote, &session.store, &records)?;
    let mut out = String::new();
    for record in &absent {
        let stage = stages
            .iter()
            .find(|(_, r)| r.all_outs().any(|o| std::ptr::eq(o, *record)))
            .map(|(name, _)| name.as_str())
            .unwrap_or("?");
        out.push_str(&format!("not on remote: {} ({stage})\n", record.path));
    }
    if absent.is_empty() {
        out.push_str(&format!(
            "Every out ({}) is on remote `{}`.\n",
            records.len(),
            remote.name
        ));
    } else {
        out.push_str(&format!(
            "{} of {} out(s) not on remote `{}`: `icodegen push` sends them.\n",
            absent.len(),
            records.len(),
            remote.name
        ));
    }
    Ok(out)
}

/// `icodegen gc --remote`: removes remote objects no remote run-cache entry references, unless
/// younger than `grace` (default [`transfer::DEFAULT_GRACE`]).
pub fn gc_remote(
    session: &Session,
    remote: Option<&str>,
    dry_run: bool,
    yes: bool,
    grace: Option<std::time::Duration>,
) -> Result<()> {
    if !dry_run && !yes {
        return Err(PipelineError::Refused(
            "`gc --remote` removes objects every workspace shares: run it with `--dry-run` first, then with `--yes`".to_owned(),
        ));
    }
    let grace = grace.unwrap_or(transfer::DEFAULT_GRACE);
    let remote = Remote::open(&session.pipeline.root, remote)?;
    let report = transfer::gc(&remote, &session.store, dry_run, grace)?;
    let bytes: u64 = report.unreferenced.iter().map(|(_, size)| size).sum();
    if dry_run {
        for (hash, size) in &report.unreferenced {
            println!(
                "would remove {} ({size} bytes)",
                remote.describe(&remote.object_path(hash))
            );
        }
        for (path, size) in &report.stale_uploads {
            println!(
                "would remove unfinished upload {} ({size} bytes)",
                path.display()
            );
        }
    }
    let young = if report.young.is_empty() {
        String::new()
    } else {
        let young_bytes: u64 = report.young.iter().map(|(_, size)| size).sum();
        format!(
            " {} unreferenced object(s), {:.1} MB, younger than {} kept (a push may be writing their entry; `--grace` sets the age).",
            report.young.len(),
            young_bytes as f64 / 1e6,
            crate::store::describe_age(grace.as_secs())
        )
    };
    let uploads = if report.stale_uploads.is_empty() {
        String::new()
    } else {
        format!(
            " {} {} unfinished upload(s) of killed pushes.",
            if dry_run { "Would remove" } else { "Removed" },
            report.stale_uploads.len()
        )
    };
    session.console.info(format!(
        "{} {} object(s), {:.1} MB, from `{}`; {} kept (referenced by {} run-cache entr{}).{young}{uploads}",
        if dry_run { "Would remove" } else { "Removed" },
        report.unreferenced.len(),
        bytes as f64 / 1e6,
        remote.name,
        report.kept,
        report.entries,
        if report.entries == 1 { "y" } else { "ies" }
    ));
    Ok(())
}

/// `repro --pull`: sets the remote the stages' run-cache lookups fall back to.
pub fn set_pull(session: &Session, remote: Option<&str>) -> Result<()> {
    let remote = Remote::open(&session.pipeline.root, remote)?;
    let _ = session.pull_from.set(remote);
    Ok(())
}
