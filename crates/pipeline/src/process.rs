//! Running a stage's command: `sh -c CMD` in the pipeline's folder, with the runner's own folder
//! first on `PATH` (so `icodegen-X` finds the stage binaries built beside the runner).
//!
//! Each command runs in its own process group, so that on Ctrl-C or SIGTERM the runner can stop
//! exactly its stages (and their children), wait for them, record nothing for them, and exit;
//! if the runner itself is killed, the kernel sends the shell SIGTERM (`PR_SET_PDEATHSIG`).
//! Every descendant also carries a run id (see [`crate::running`]): when the shell exits, what
//! it left behind is ended before anything is recorded, and a later runner ends what a killed
//! one left.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::io::{BufRead, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Mutex, Once};

use crate::error::{IoContext, Result};
use crate::running;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static SIGNALS: AtomicUsize = AtomicUsize::new(0);
/// The first signal received (0: none), for the exit code 128 + signal.
static FIRST_SIGNAL: AtomicI32 = AtomicI32::new(0);
/// The write end of the self-pipe the signal handler writes to (-1: not installed).
static PIPE: AtomicI32 = AtomicI32::new(-1);
static GROUPS: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());
static INSTALL: Once = Once::new();

extern "C" fn on_signal(signal: libc::c_int) {
    // Only async-signal-safe work here: one byte down the pipe; a thread does the rest.
    let byte = signal as u8;
    // SAFETY: write(2) of one byte to a pipe we own.
    unsafe {
        libc::write(
            PIPE.load(Ordering::SeqCst),
            (&raw const byte).cast::<libc::c_void>(),
            1,
        );
    }
}

fn handle(signal: i32) {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let _ = FIRST_SIGNAL.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
    let sent = if SIGNALS.fetch_add(1, Ordering::SeqCst) == 0 {
        libc::SIGTERM
    } else {
        libc::SIGKILL
    };
    for &group in GROUPS.lock().expect("groups lock").iter() {
        // SAFETY: kill(2) on a process group we started.
        unsafe {
            libc::kill(-group, sent);
        }
    }
}

/// Catches SIGINT/SIGTERM/SIGHUP: the first asks running stages to stop (SIGTERM to their
/// process groups), a second one kills them. The runner then exits with 128 + the first
/// signal (130 for Ctrl-C, 143 for SIGTERM), as a shell reports a process it killed.
pub fn install_interrupt_handler() {
    INSTALL.call_once(|| {
        let mut fds = [0; 2];
        // SAFETY: pipe2(2) into a local array.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return;
        }
        PIPE.store(fds[1], Ordering::SeqCst);
        let reader = fds[0];
        std::thread::spawn(move || {
            loop {
                let mut byte = 0u8;
                // SAFETY: read(2) of one byte from the pipe we own.
                let read = unsafe { libc::read(reader, (&raw mut byte).cast::<libc::c_void>(), 1) };
                if read == 1 {
                    handle(i32::from(byte));
                } else if read < 0
                    && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
                {
                    continue;
                } else {
                    return;
                }
            }
        });
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: a handler that only writes to a pipe, installed with SA_RESTART.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    });
}

/// The exit code for a runner stopped by a signal: 128 + the first signal received.
pub fn interrupt_exit_code() -> u8 {
    match FIRST_SIGNAL.load(Ordering::SeqCst) {
        0 => 130,
        signal => (128 + signal).min(255) as u8,
    }
}

/// Whether the runner was asked to stop.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

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
    let mut guard = GROUPS.lock().expect("groups lock");
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
    if interrupted() {
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
    GROUPS.lock().expect("groups lock").remove(&group);
    record.remove(cwd);
    Ok(Finished {
        status: status?,
        leftovers,
    })
}
