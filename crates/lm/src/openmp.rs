//! libtorch's CPU threads come from GNU OpenMP (libgomp), whose idle threads busy-wait for the
//! next parallel region by default. On a machine whose cores are shared (two models training
//! side by side, `icodegen repro -j 2`, other users), a spinning thread holds a core that the
//! thread it waits for needs: on 2 shared cores a GPT-2 training step ran 2-3x slower and burned
//! 2.5x the CPU time. `OMP_WAIT_POLICY=PASSIVE` makes idle threads sleep instead. libgomp reads
//! the variable once, when it is loaded (before `main`), so setting it from inside the process
//! is too late: [`use_passive_wait_policy`] re-executes the program with it set.

use std::ffi::OsStr;

/// The variable libgomp reads.
pub const WAIT_POLICY: &str = "OMP_WAIT_POLICY";

/// Whether the program should re-execute itself: only when the user has not chosen a policy.
pub fn needs_reexec(current: Option<&OsStr>) -> bool {
    current.is_none()
}

/// Call first thing in `main` of a binary that links libtorch. Unless `OMP_WAIT_POLICY` is
/// already set (a user's choice, or this re-execution), replaces the process by the same
/// program with the same arguments and `OMP_WAIT_POLICY=PASSIVE`. If the re-execution fails
/// the program simply carries on with libgomp's default.
pub fn use_passive_wait_policy() {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        if !needs_reexec(std::env::var_os(WAIT_POLICY).as_deref()) {
            return;
        }
        let Ok(program) = std::env::current_exe() else {
            return;
        };
        let mut arguments = std::env::args_os();
        let mut command = std::process::Command::new(program);
        if let Some(name) = arguments.next() {
            command.arg0(name);
        }
        // `exec` returns only when it failed.
        let _failed = command.args(arguments).env(WAIT_POLICY, "PASSIVE").exec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_the_user_set_is_kept() {
        assert!(needs_reexec(None));
        assert!(!needs_reexec(Some(OsStr::new("ACTIVE"))));
        assert!(!needs_reexec(Some(OsStr::new("PASSIVE"))));
    }
}
