//! Child processes that do not outlive their parent.
//!
//! cpbench starts processes of its own (`cpbench run` per leaderboard pair, the native-plugin
//! worker). If cpbench is killed with `kill -9`, nothing runs to stop them, and they would go on
//! computing and writing into the output folder. [`die_with_parent`] asks the kernel to send
//! them SIGKILL when the thread that started them goes away (`PR_SET_PDEATHSIG`, Linux).

use std::process::Command;

/// Makes the command's process receive SIGKILL when the calling thread's process dies. The
/// caller must start it from a thread that lives as long as the child is wanted (the kernel
/// watches the thread that forked). No effect outside Linux.
pub fn die_with_parent(command: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: `getpid` before the fork; between fork and exec the closure only calls
        // `prctl` and `getppid`, which are async-signal-safe.
        let parent = unsafe { libc::getpid() };
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have died before the request was made: then nothing would
                // ever send the signal.
                if libc::getppid() != parent {
                    return Err(std::io::Error::other("the parent process is gone"));
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_child_started_this_way_still_runs_normally() {
        let mut command = Command::new("sh");
        command.args(["-c", "exit 7"]);
        die_with_parent(&mut command);
        assert_eq!(command.status().unwrap().code(), Some(7));
    }
}
