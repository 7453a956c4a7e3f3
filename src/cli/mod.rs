//! Command line: clap definitions -> library settings; the only place that prints, exits
//! and draws progress. `anyhow` lives here and nowhere else.
//!
//! One module per command (`push`, `publish`, `cleanup` (with `purge`), `bench`, `stages/`,
//! `slugify`, `completion`, `manpages`), each owning its clap `Args` and `run`; the flag groups they share in
//! `flags`; helpers no command owns (`output`, `progress`, `settings`, `exit`, `signal`,
//! `size`, `rate`). A command module uses helpers only, never another command module;
//! this file declares the command tree and dispatches.

mod bench;
mod cleanup;
mod completion;
mod exit;
mod flags;
mod manpages;
mod output;
mod progress;
mod publish;
mod push;
mod rate;
mod settings;
mod signal;
mod size;
mod slugify;
mod stages;

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use clap::{CommandFactory, Parser, Subcommand};

use flags::GlobalArgs;
use signal::{interrupt, watch_signals, INTERRUPTED, SIGNAL_EXIT};

#[derive(Parser, Debug)]
#[command(
    name = "werf-push",
    version,
    about = "Publish images and werf stages from an OCI layout to registries, without a Docker daemon"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Push an image of an OCI layout to one or more registry references.
    #[command(
        after_help = "Examples:\n  werf-push push oci:./layout registry.example.com/app:1.0\n  werf-push push oci:./layout:v2 localhost:5000/a:v2 localhost:5000/b:v2\n  werf-push push --json oci:./layout@sha256:<hex> ghcr.io/org/app:main"
    )]
    Push(push::PushArgs),
    /// Publish werf images (and with --with-stages the stages cache) from the stages storage.
    #[command(
        after_help = "Examples:\n  werf-push publish --repo registry.example.com/group/app --tag-git-branch main\n  werf-push publish backend --repo localhost:5000/app --tag-custom v1 --with-stages\n  werf-push publish --repo docker.io/account/app --images-repo-mode monorepo --tag-by-stages-signature"
    )]
    Publish(publish::PublishArgs),
    /// Delete images by werf's policies, then the stages no remaining image uses.
    #[command(
        after_help = "Examples:\n  werf-push cleanup --repo registry.example.com/group/app --dry-run\n  werf-push cleanup --repo registry.example.com/group/app --git-tag-strategy-limit 10 --git-tag-strategy-expiry-days 30 --git-commit-strategy-limit 50 --git-commit-strategy-expiry-days 30\n  kubectl get pods,deployments,statefulsets,daemonsets,jobs,cronjobs,replicationcontrollers -A -o json | werf-push cleanup --repo registry.example.com/group/app --keep-images-used-by -"
    )]
    Cleanup(cleanup::CleanupArgs),
    /// Delete every image and stage of the project that werf or werf-push published.
    #[command(
        after_help = "Examples:\n  werf-push purge --repo registry.example.com/group/app --dry-run\n  werf-push purge --repo registry.example.com/group/app --force"
    )]
    Purge(cleanup::PurgeArgs),
    /// Measure push throughput of a registry with synthetic blobs (or a layout's image).
    #[command(
        after_help = "Examples:\n  werf-push bench --repo localhost:5000/bench\n  werf-push bench --repo registry.example.com/bench --blobs 8 --blob-size 16MiB --rounds 3 --warm-rounds 3 --json\n  werf-push bench --repo localhost:5000/bench --from oci:./layout --jobs 2"
    )]
    Bench(bench::BenchArgs),
    /// The stages storage: list what it holds.
    #[command(subcommand)]
    Stages(stages::StagesCommand),
    /// werf's slug: `werf-push slugify -f docker-tag STRING`.
    #[command(
        after_help = "Examples:\n  werf-push slugify -f docker-tag core/feature/ADD_SETTINGS   # core-feature-add-settings-df80fdc3"
    )]
    Slugify(slugify::SlugifyArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  mkdir -p ~/.local/share/bash-completion/completions && werf-push completion bash > ~/.local/share/bash-completion/completions/werf-push\n  mkdir -p ~/.zfunc && werf-push completion zsh > ~/.zfunc/_werf-push   # with fpath+=(~/.zfunc) before compinit in ~/.zshrc\n  mkdir -p ~/.config/fish/completions && werf-push completion fish > ~/.config/fish/completions/werf-push.fish"
    )]
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write man pages generated from this command line into DIR (one per command, nested
    /// ones as werf-push-stages-list.1); scripts/man runs it.
    #[command(
        after_help = "Examples:\n  werf-push manpages ~/.local/share/man/man1 && man werf-push-stages-list"
    )]
    Manpages { dir: PathBuf },
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
        Command::Push(_)
            | Command::Publish(_)
            | Command::Cleanup(_)
            | Command::Purge(_)
            | Command::Bench(_)
            | Command::Stages(stages::StagesCommand::Pull(_))
    );
    let result = runtime.block_on(async {
        if cancellable {
            watch_signals();
        }
        match cli.command {
            Command::Push(a) => push::run(a, &cli.global).await,
            Command::Publish(a) => publish::run(a, &cli.global).await,
            Command::Cleanup(a) => cleanup::run(a, &cli.global).await,
            Command::Purge(a) => cleanup::run_purge(a, &cli.global).await,
            Command::Bench(a) => bench::run(a, &cli.global).await,
            Command::Stages(c) => stages::run(c, &cli.global).await,
            Command::Completion { shell } => completion::run(shell, Cli::command()),
            Command::Manpages { dir } => manpages::run(&dir, Cli::command()),
            Command::Slugify(a) => slugify::run(&a),
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
