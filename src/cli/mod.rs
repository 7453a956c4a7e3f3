//! Command line: clap definitions -> library settings; the only place that prints, exits
//! and draws progress. `anyhow` lives here and nowhere else.
//!
//! One module per command (`push`, `publish`, `cleanup` (with `purge`), `bench`, `stages/`,
//! `slugify`, `completion`, `manpages`), each owning its clap `Args` and `run`; the flag
//! groups they share in `flags`; helpers no command owns (`output`, `progress`, `settings`,
//! `exit`, `hints`, `signal`, `size`, `rate`, `tally`, `term`, `usage`, `waits`). A command
//! module uses helpers only, never another command module. This file declares the command
//! tree and dispatches (`Command::run`); a group of subcommands (`stages`) has its own enum
//! with the same `run` and `cancellable`.

mod bench;
mod cleanup;
mod completion;
mod exit;
mod flags;
mod hints;
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
mod tally;
mod term;
mod usage;
mod waits;

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

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
    /// The stages storage: import, add, pull, list stages and collect garbage.
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
    /// Write man pages generated from this command line (one per command, nested ones as
    /// werf-push-stages-list.1); scripts/man runs it.
    #[command(
        after_help = "Examples:\n  werf-push manpages && man werf-push-stages-list   # beside the binary: ~/.cargo/bin/werf-push -> ~/.cargo/share/man/man1\n  werf-push manpages ~/.local/share/man/man1"
    )]
    Manpages {
        /// Where to write them; default: share/man/man1 beside the binary's bin directory,
        /// where `man` looks for every directory of PATH (man-db's manpath), so that
        /// `man werf-push-stages-list` finds them without MANPATH.
        dir: Option<PathBuf>,
    },
    /// werf's `build-and-publish` (and `build`), which scripts carry: caught to say that
    /// werf-push does not build and what to run instead.
    #[command(name = "build-and-publish", alias = "build", hide = true)]
    BuildAndPublish {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// The command tree, with environment values hidden in help: a variable that is set is not
/// a flag that was given (and may hold what is nobody's business).
pub fn command() -> clap::Command {
    hide_env_values(Cli::command())
}

fn hide_env_values(cmd: clap::Command) -> clap::Command {
    cmd.mut_args(|a| a.hide_env_values(true))
        .mut_subcommands(hide_env_values)
}

/// Prints a command-line error and exits: help and version as clap prints them; an error
/// with its usage line cleared of the flags only the environment gave (clap lists every
/// option that has a value there, which reads as if it were required).
fn usage_error(e: clap::Error) -> ! {
    if !e.use_stderr() {
        e.exit()
    }
    let env_set = usage::env_set(&command());
    let text = e.render().to_string();
    for line in text.lines() {
        match line.strip_prefix("Usage: ") {
            Some(usage) => eprintln!("Usage: {}", usage::without(usage, &env_set)),
            None => eprintln!("{line}"),
        }
    }
    std::process::exit(e.exit_code())
}

/// What replaces werf's building commands.
const NO_BUILD: &str = "werf-push does not build images: build them with your builder (werf \
    build, buildah, kaniko, docker build), bring the stages in with `werf-push stages import` \
    (or `werf-push stages add`), then run `werf-push publish` with the same --repo and --tag-* \
    flags";

impl Command {
    /// Whether the command stops cleanly on Ctrl-C and SIGTERM: those that talk to
    /// registries. The others (stages import, add, gc, list) keep the default: the process
    /// ends at once, and since every write to the stages storage is a temporary file
    /// renamed into place, the storage stays as it was before.
    fn cancellable(&self) -> bool {
        match self {
            Command::Push(_)
            | Command::Publish(_)
            | Command::Cleanup(_)
            | Command::Purge(_)
            | Command::Bench(_) => true,
            Command::Stages(c) => c.cancellable(),
            Command::Slugify(_)
            | Command::Completion { .. }
            | Command::Manpages { .. }
            | Command::BuildAndPublish { .. } => false,
        }
    }

    /// Runs the command; its exit code.
    async fn run(self, g: &GlobalArgs) -> anyhow::Result<i32> {
        match self {
            Command::Push(a) => push::run(a, g).await,
            Command::Publish(a) => publish::run(a, g).await,
            Command::Cleanup(a) => cleanup::run(a, g).await,
            Command::Purge(a) => cleanup::run_purge(a, g).await,
            Command::Bench(a) => bench::run(a, g).await,
            Command::Stages(c) => c.run(g).await,
            Command::Completion { shell } => completion::run(shell, command()),
            Command::Manpages { dir } => manpages::run(dir, command()),
            Command::Slugify(a) => slugify::run(&a),
            Command::BuildAndPublish { .. } => Err(flags::UsageError(NO_BUILD.into()).into()),
        }
    }
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = match command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => usage_error(e),
    };
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
    let result = runtime.block_on(async {
        if cli.command.cancellable() {
            watch_signals();
        }
        cli.command.run(&cli.global).await
    });
    exit_code(result)
}

/// The exit code of the run: that of the signal that cancelled it (after a line saying
/// so), else the command's, else its error's (the error reported).
fn exit_code(result: anyhow::Result<i32>) -> i32 {
    match result {
        _ if interrupt().is_cancelled() => {
            let code = match SIGNAL_EXIT.load(Ordering::SeqCst) {
                0 => INTERRUPTED,
                code => code,
            };
            let what = match code {
                signal::TERMINATED => "terminated",
                _ => "interrupted",
            };
            eprintln!("error: {what}; nothing more was written (run again to finish)");
            code
        }
        Ok(code) => code,
        Err(e) => exit::report(&e),
    }
}
