//! Running a stage's command: `sh -c CMD` in the pipeline's folder, with the runner's own folder
//! first on `PATH` (so `icodegen-X` finds the stage binaries built beside the runner).
//!
//! Each command runs in its own process group, so that on Ctrl-C or SIGTERM the runner can stop
//! exactly its stages (and their children), wait for them, record nothing for them, and exit;
//! if the runner itself is killed, the kernel sends the shell SIGTERM (`PR_SET_PDEATHSIG`).
//! Every descendant also carries a run id (see [`crate::safety::running`]): when the shell exits, what
//! it left behind is ended before anything is recorded, and a later runner ends what a killed
//! one left.

use std::ffi::OsStr;
use std::io::{BufRead, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

use crate::error::{IoContext, Result};
use crate::safety::running;
use crate::signals;

/// How a stage's output reaches the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Straight through (one stage at a time: progress bars work).
    Inherit,
    /// Each line prefixed with `[stage] ` (stages running side by side).
    Prefixed,
}

/// A description of how a command ended, e.g. "exited with status 3" or "was killed by signal 9".
pub fn describe(status: &ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        _ => "ended abnormally".to_owned(),
    }
}

/// How a stage's command ended.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    /// Processes it left running after its shell exited (they have been ended).
    pub leftovers: Vec<i32>,
}

/// Runs `cmd` for stage `stage` in the workspace `cwd` and waits for it and every process it
/// started.
pub fn run(
    cmd: &str,
    cwd: &Path,
    path_env: &OsStr,
    stage: &str,
    output: Output,
) -> Result<Finished> {
    let run_id = running::new_run_id();
    let mut record = running::Record::new(&run_id, stage);
    // Written before the command starts, so a runner killed at any later point leaves a trace.
    record.write(cwd)?;
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(cmd)
        .current_dir(cwd)
        .env("PATH", path_env)
        .env("ICODEGEN_STAGE", stage)
        .env(running::RUN_ID_VAR, &run_id)
        .stdin(Stdio::null())
        .process_group(0);
    // SAFETY: prctl is async-signal-safe; it only sets a flag of the child.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    if output == Output::Prefixed {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    let mut guard = signals::groups();
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            record.remove(cwd);
            return Err(crate::error::PipelineError::io(
                "start `sh` for stage",
                stage,
                error,
            ));
        }
    };
    let group = child.id() as i32;
    guard.insert(group);
    drop(guard);
    record.group = Some(group);
    let _ = record.write(cwd);
    if signals::interrupted() {
        // SAFETY: kill(2) on the process group just started.
        unsafe {
            libc::kill(-group, libc::SIGTERM);
        }
    }
    let copiers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|pipe| Box::new(pipe) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|pipe| Box::new(pipe) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .enumerate()
    .filter_map(|(index, pipe)| pipe.map(|pipe| (index, pipe)))
    .map(|(index, pipe)| {
        let prefix = format!("[{stage}] ");
        std::thread::spawn(move || {
            let reader = std::io::BufReader::new(pipe);
            for line in reader.split(b'\n').map_while(std::result::Result::ok) {
                let mut text = prefix.clone().into_bytes();
                text.extend_from_slice(&line);
                text.push(b'\n');
                let _ = if index == 0 {
                    std::io::stdout().lock().write_all(&text)
                } else {
                    std::io::stderr().lock().write_all(&text)
                };
            }
        })
    })
    .collect();
    let status = child.wait().at("wait for stage", stage);
    // Background processes keep the output pipes open: end them before joining the copiers.
    let leftovers = running::stop(&run_id, Some(group), std::time::Duration::from_secs(2));
    for copier in copiers {
        let _ = copier.join();
    }
    signals::groups().remove(&group);
    record.remove(cwd);
    Ok(Finished {
        status: status?,
        leftovers,
    })
}
