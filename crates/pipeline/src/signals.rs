//! Signals: the runner's Ctrl-C/SIGTERM/SIGHUP handling, shared by every layer that must stop
//! (the executors check [`interrupted`]; the error type maps an interruption to 128 + the
//! signal). Stage commands register their process groups here ([`groups`]), so that a
//! signal reaches exactly the runner's stages. Only `libc` below this module.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, Once};

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

/// The process groups of the stage commands running now (a signal is forwarded to each).
pub fn groups() -> MutexGuard<'static, BTreeSet<i32>> {
    GROUPS.lock().expect("groups lock")
}
