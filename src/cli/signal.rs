//! Ctrl-C and SIGTERM: the cancellation token commands that talk to registries watch, the
//! exit codes of the two signals, the notice (after whatever draws on the terminal has
//! stopped: [`before_notice`]) and the bound on the way out. Knows no command.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, OnceLock};

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

/// What runs at the first signal before its notice is printed (progress bars stop and
/// clear, so the notice and what follows get lines of their own).
type Hook = Box<dyn Fn() + Send>;

fn hooks() -> &'static Mutex<Vec<Hook>> {
    static HOOKS: OnceLock<Mutex<Vec<Hook>>> = OnceLock::new();
    HOOKS.get_or_init(Default::default)
}

/// Runs `f` at the first Ctrl-C or SIGTERM, before the notice.
pub fn before_notice(f: impl Fn() + Send + 'static) {
    hooks()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Box::new(f));
}

/// The notice of the first signal: what happens now and how to stop waiting for it (a
/// second Ctrl-C at a terminal; in CI a SIGTERM is followed by SIGKILL, not by a person).
fn notice(code: i32) -> String {
    match code {
        TERMINATED => format!(
            "terminated (SIGTERM): cancelling open uploads; exiting within {} s",
            CANCEL_BOUND.as_secs()
        ),
        _ => "interrupted: cancelling open uploads; Ctrl-C again to quit at once".to_string(),
    }
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
        let code = tokio::select! {
            _ = int.recv() => INTERRUPTED,
            _ = term.recv() => TERMINATED,
        };
        SIGNAL_EXIT.store(code, Ordering::SeqCst);
        // Stop the bars first: nothing may draw over the notice or advance after it.
        for hook in hooks().lock().unwrap_or_else(|e| e.into_inner()).iter() {
            hook();
        }
        eprintln!("{}", notice(code));
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
