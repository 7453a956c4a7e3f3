//! The long-running programs a test starts (registries, nginx, the S3 emulator, openssl
//! servers), started so that none outlives its test. Each [`Service`] runs in a process
//! group of its own and is stopped when dropped, which happens while a panicking test
//! unwinds too: a signal to the whole group (SIGTERM by default; nginx's master then stops
//! its workers and waits for them), a bounded wait for the program, then SIGKILL to
//! whatever is left of the group, so a child the program started (an nginx worker) cannot
//! be orphaned and keep a port. `scripts/test` checks after the suite that no process it
//! started is still alive.
//!
//! ```ignore
//! let svc = Service::spawn(Command::new("nginx").args(...), "nginx")?;
//! // dropped: SIGTERM to its group, up to STOP_WAIT for it to exit, SIGKILL to the rest
//! ```

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

/// How long a stopped program gets to exit after the signal before its group is killed.
pub const STOP_WAIT: Duration = Duration::from_secs(5);

/// The environment variable `scripts/test` sets to a value unique to its run; programs
/// that clear their environment (skopeo, podman) get it back through [`suite_marker`].
pub const SUITE_MARKER: &str = "WP_SUITE_RUN";

/// `(SUITE_MARKER, value)` when the suite runs under `scripts/test`.
pub fn suite_marker() -> Option<(&'static str, String)> {
    std::env::var(SUITE_MARKER).ok().map(|v| (SUITE_MARKER, v))
}

/// A program running in its own process group, stopped (group and all) on drop.
pub struct Service {
    child: Child,
    name: String,
    signal: i32,
    stopped: bool,
}

impl Service {
    /// Starts `cmd` in a new process group; `name` is for messages.
    pub fn spawn(cmd: &mut Command, name: &str) -> io::Result<Service> {
        let child = cmd.process_group(0).spawn()?;
        Ok(Service {
            child,
            name: name.to_string(),
            signal: libc::SIGTERM,
            stopped: false,
        })
    }

    /// Stop with `signal` instead of SIGTERM (e.g. SIGQUIT for a graceful nginx stop).
    pub fn stop_signal(mut self, signal: i32) -> Service {
        self.signal = signal;
        self
    }

    /// The program's stdout, when it was piped (once).
    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.stdout.take()
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The program's exit status if it has exited (reaped), else None.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Stops the program and everything in its process group; waits at most
    /// [`STOP_WAIT`] before SIGKILL. Idempotent.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let group = -(self.child.id() as i32);
        // SAFETY: kill only sends a signal to the process group this Service created.
        unsafe { libc::kill(group, self.signal) };
        let deadline = Instant::now() + STOP_WAIT;
        while Instant::now() < deadline && !exited(self.child.id()) {
            thread::sleep(Duration::from_millis(10));
        }
        // Whatever is left of the group (the program itself past the wait, a child of it
        // that outlived it) goes now, while the program is not reaped yet: its PID, and so
        // the group's ID, cannot have been given to another process.
        // SAFETY: as above.
        unsafe { libc::kill(group, libc::SIGKILL) };
        if self.child.wait().is_err() {
            eprintln!("{}: could not be waited for after SIGKILL", self.name);
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether child `pid` has exited, without reaping it (`waitid` with `WNOWAIT`).
fn exited(pid: u32) -> bool {
    // SAFETY: a zeroed siginfo_t is a valid output buffer for waitid.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid writes only into `info`; WNOWAIT leaves the child to be reaped by
    // `Child::wait`.
    let r = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: si_pid is set by waitid (0 when no child changed state).
    r != 0 || unsafe { info.si_pid() } != 0
}
