//! Ctrl-C and SIGTERM: the cancellation token commands that talk to registries watch, the
//! exit codes of the two signals, and the bound on the way out. Knows no command.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::OnceLock;

use tokio_util::sync::CancellationToken;

/// Exit code after Ctrl-C (128 + SIGINT), as shells report it.
pub const INTERRUPTED: i32 = 130;
/// Exit code after SIGTERM (128 + 15), which CI runners send to a cancelled job.
pub const TERMINATED: i32 = 143;

/// The longest a run goes on after Ctrl-C or SIGTERM (CI runners send SIGKILL after 10 s).
const CANCEL_BOUND: std::time::Duration = std::time::Duration::from_secs(8);

/// The exit code of the signal that interrupted the run (0: none yet).
pub static SIGNAL_EXIT: AtomicI32 = AtomicI32::new(0);

/// Cancelled on the first Ctrl-C or SIGTERM: pushes stop, cancel their open upload
/// sessions and write no further manifests; a second signal exits at once.
pub fn interrupt() -> &'static CancellationToken {
    static TOKEN: OnceLock<CancellationToken> = OnceLock::new();
    TOKEN.get_or_init(CancellationToken::new)
}

/// SIGINT and SIGTERM take the same path; the exit code says which came first.
pub fn watch_signals() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        eprintln!("warning: cannot watch for Ctrl-C/SIGTERM: an interrupt will not cancel uploads");
        return;
    };
    tokio::spawn(async move {
        let (code, name) = tokio::select! {
            _ = int.recv() => (INTERRUPTED, "Ctrl-C"),
            _ = term.recv() => (TERMINATED, "SIGTERM"),
        };
        SIGNAL_EXIT.store(code, Ordering::SeqCst);
        eprintln!("interrupted ({name}): cancelling open uploads (Ctrl-C again to quit at once)");
        interrupt().cancel();
        // A bound on the way out: uploads drain (3 s) and sessions are cancelled (2 s);
        // a request still waiting on a silent registry after that is not waited for.
        std::thread::spawn(move || {
            std::thread::sleep(CANCEL_BOUND);
            eprintln!(
                "interrupted: still waiting on the registry after {} s; exiting",
                CANCEL_BOUND.as_secs()
            );
            std::process::exit(code);
        });
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        std::process::exit(code);
    });
}
