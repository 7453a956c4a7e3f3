//! Command line: clap definitions -> library settings; the only place that prints, exits
//! and draws progress. `anyhow` lives here and nowhere else.

mod args;
mod bench;
mod bench_stats;
mod completion;
mod exit;
mod manpages;
mod output;
mod progress;
mod publish;
mod push;
mod rate;
mod settings;
mod size;
mod stages;

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::OnceLock;

use clap::Parser;
use tokio_util::sync::CancellationToken;

pub use args::Cli;

/// Exit code after Ctrl-C (128 + SIGINT), as shells report it.
pub const INTERRUPTED: i32 = 130;
/// Exit code after SIGTERM (128 + 15), which CI runners send to a cancelled job.
pub const TERMINATED: i32 = 143;

/// The longest a run goes on after Ctrl-C or SIGTERM (CI runners send SIGKILL after 10 s).
const CANCEL_BOUND: std::time::Duration = std::time::Duration::from_secs(8);

/// The exit code of the signal that interrupted the run (0: none yet).
static SIGNAL_EXIT: AtomicI32 = AtomicI32::new(0);

/// Cancelled on the first Ctrl-C or SIGTERM: pushes stop, cancel their open upload
/// sessions and write no further manifests; a second signal exits at once.
pub fn interrupt() -> &'static CancellationToken {
    static TOKEN: OnceLock<CancellationToken> = OnceLock::new();
    TOKEN.get_or_init(CancellationToken::new)
}

/// SIGINT and SIGTERM take the same path; the exit code says which came first.
fn watch_signals() {
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

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    output::init_logging(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::FAILURE;
        }
    };
    // Commands that talk to registries stop cleanly on Ctrl-C and SIGTERM. The others
    // (stages import, add, gc, list) keep the default: the process ends at once, and since
    // every write to the stages storage is a temporary file renamed into place, the
    // storage stays as it was before.
    let cancellable = matches!(
        cli.command,
        args::Command::Push(_)
            | args::Command::Publish(_)
            | args::Command::Bench(_)
            | args::Command::Stages(stages::StagesCommand::Pull(_))
    );
    let result = runtime.block_on(async {
        if cancellable {
            watch_signals();
        }
        match cli.command {
            args::Command::Push(a) => push::run(a, &cli.global).await,
            args::Command::Publish(a) => publish::run(a, &cli.global).await,
            args::Command::Bench(a) => bench::run(a, &cli.global).await,
            args::Command::Stages(c) => stages::run(c, &cli.global).await,
            args::Command::Completion { shell } => completion::run(shell),
            args::Command::Manpages { dir } => manpages::run(&dir),
            args::Command::Slugify(a) => {
                println!("{}", werf_push::werf::slug::slugify_docker_tag(&a.string));
                Ok(exit::SUCCESS)
            }
        }
    });
    match result {
        _ if interrupt().is_cancelled() => {
            eprintln!("error: interrupted; nothing more was written (run again to finish)");
            match SIGNAL_EXIT.load(Ordering::SeqCst) {
                0 => INTERRUPTED,
                code => code,
            }
        }
        Ok(code) => code,
        Err(e) => exit::report(&e),
    }
}
