//! clap definitions: commands, flags and their environment variables (werf's names where
//! werf had them).

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use super::size::parse_size;
use werf_push::push::PushOptions;
use werf_push::transport::Timeouts;

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

#[derive(Args, Debug)]
pub struct GlobalArgs {
    /// More detail on stderr: -v requests and retries, -vv headers (secrets redacted).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Format of diagnostics on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// Progress on stderr: bars on a terminal (auto), plain lines (CI, pipes), or none.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto, global = true, env = "WERF_PUSH_PROGRESS")]
    pub progress: ProgressMode,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressMode {
    Auto,
    Plain,
    None,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Push an image of an OCI layout to one or more registry references.
    #[command(
        after_help = "Examples:\n  werf-push push oci:./layout registry.example.com/app:1.0\n  werf-push push oci:./layout:v2 localhost:5000/a:v2 localhost:5000/b:v2\n  werf-push push --json oci:./layout@sha256:<hex> ghcr.io/org/app:main"
    )]
    Push(PushArgs),
    /// Publish werf images (and with --with-stages the stages cache) from the stages storage.
    #[command(
        after_help = "Examples:\n  werf-push publish --repo registry.example.com/group/app --tag-git-branch main\n  werf-push publish backend --repo localhost:5000/app --tag-custom v1 --with-stages\n  werf-push publish --repo docker.io/account/app --images-repo-mode monorepo --tag-by-stages-signature"
    )]
    Publish(super::publish::PublishArgs),
    /// Measure push throughput of a registry with synthetic blobs (or a layout's image).
    #[command(
        after_help = "Examples:\n  werf-push bench --repo localhost:5000/bench\n  werf-push bench --repo registry.example.com/bench --blobs 8 --blob-size 16MiB --rounds 3 --warm-rounds 3 --json\n  werf-push bench --repo localhost:5000/bench --from oci:./layout --jobs 2"
    )]
    Bench(super::bench::BenchArgs),
    /// The stages storage: list what it holds.
    #[command(subcommand)]
    Stages(super::stages::StagesCommand),
    /// werf's slug: `werf-push slugify -f docker-tag STRING`.
    #[command(
        after_help = "Examples:\n  werf-push slugify -f docker-tag core/feature/ADD_SETTINGS   # core-feature-add-settings-df80fdc3"
    )]
    Slugify(SlugifyArgs),
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

#[derive(Args, Debug)]
pub struct SlugifyArgs {
    /// Slug format (only docker-tag).
    #[arg(short, long, value_parser = ["docker-tag"], default_value = "docker-tag")]
    pub format: String,
    pub string: String,
}

#[derive(Args, Debug)]
pub struct PushArgs {
    /// Source: oci:DIR, oci:DIR:REF (org.opencontainers.image.ref.name) or oci:DIR@DIGEST.
    pub src: String,
    /// Destination references (REGISTRY/REPOSITORY[:TAG]); one image, many tags or repositories.
    #[arg(required = true)]
    pub dest: Vec<String>,
    /// Print a machine-readable summary (JSON) on stdout.
    #[arg(long)]
    pub json: bool,
    /// Show what would be pushed, using read requests only.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub upload: UploadArgs,
}

/// How registries are reached.
#[derive(Args, Debug, Clone)]
pub struct RegistryArgs {
    /// Allow plain HTTP (HTTPS is tried first). Registries on localhost/127.0.0.0/8/::1 get
    /// this fallback anyway, as with Docker.
    #[arg(long, env = "WERF_INSECURE_REGISTRY", value_parser = BoolishValueParser::new(), action = ArgAction::SetTrue)]
    pub insecure_registry: bool,
    /// Do not verify registry TLS certificates.
    #[arg(long, env = "WERF_SKIP_TLS_VERIFY_REGISTRY", value_parser = BoolishValueParser::new(), action = ArgAction::SetTrue)]
    pub skip_tls_verify_registry: bool,
    /// Trust the CA certificates (PEM) in this file too.
    #[arg(long, env = "SSL_CERT_FILE", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Speak HTTP/1.1 even where the server offers HTTP/2 (by default ALPN decides):
    /// uploads through an HTTP/2 proxy cost 30-45% less CPU over HTTP/1.1.
    #[arg(long, env = "WERF_PUSH_HTTP1", value_parser = BoolishValueParser::new(), action = ArgAction::SetTrue)]
    pub http1: bool,
    /// Retries of any one request, upload or download (connection errors, timeouts, 408,
    /// 429, 5xx); 20 times this for the whole run.
    #[arg(long, default_value_t = werf_push::transport::DEFAULT_RETRIES, value_name = "N")]
    pub retries: u32,
    /// No retry starts once one request or upload has been going on this long.
    #[arg(long, default_value_t = werf_push::transport::DEFAULT_RETRY_MAX_TIME, value_name = "SECONDS")]
    pub retry_max_time: u64,
    /// Time to open a TCP connection; retried like a reset.
    #[arg(long, env = "WERF_PUSH_CONNECT_TIMEOUT", default_value = seconds(Timeouts::default().connect), value_parser = parse_seconds, value_name = "SECONDS")]
    pub connect_timeout: std::time::Duration,
    /// Time for the first byte of an answer (or of the TLS handshake) once the request is
    /// sent; retried.
    #[arg(long, env = "WERF_PUSH_RESPONSE_TIMEOUT", default_value = seconds(Timeouts::default().response), value_parser = parse_seconds, value_name = "SECONDS")]
    pub response_timeout: std::time::Duration,
    /// A body (upload or answer) moving less than 1 KiB/s for this long has stalled; retried.
    #[arg(long, env = "WERF_PUSH_STALL_TIMEOUT", default_value = seconds(Timeouts::default().stall), value_parser = parse_seconds, value_name = "SECONDS")]
    pub stall_timeout: std::time::Duration,
    /// User name for every registry of the run (with --registry-password or
    /// --registry-password-stdin); overrides docker config, auth.json and CI credentials.
    #[arg(long, env = "WERF_REGISTRY_USERNAME", value_name = "USER")]
    pub registry_username: Option<String>,
    /// Password or token for --registry-username (prefer --registry-password-stdin: a flag
    /// shows in the process list).
    #[arg(long, env = "WERF_REGISTRY_PASSWORD", value_name = "PASSWORD", hide_env_values = true,
          value_parser = |s: &str| Ok::<_, String>(werf_push::auth::Secret::new(s)))]
    pub registry_password: Option<werf_push::auth::Secret>,
    /// Read the password for --registry-username from stdin.
    #[arg(long, conflicts_with = "registry_password")]
    pub registry_password_stdin: bool,
    /// Directory holding Docker's config.json (default: $DOCKER_CONFIG, else ~/.docker).
    #[arg(long, env = "WERF_DOCKER_CONFIG", value_name = "DIR")]
    pub docker_config: Option<PathBuf>,
}

/// How blobs are uploaded.
#[derive(Args, Debug, Clone)]
pub struct UploadArgs {
    /// Concurrent blob transfers (8: measured faster than 4 for several big layers on a
    /// local registry, no slower for many small ones; docs/performance.md).
    #[arg(short = 'j', long, default_value_t = PushOptions::default().jobs as u16, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// auto: one PUT up to --monolithic-max, PATCH chunks above; or force one of them.
    #[arg(long, value_enum, default_value_t = Strategy::Auto)]
    pub upload_strategy: Strategy,
    /// Largest blob sent in one PUT under --upload-strategy auto.
    #[arg(long, default_value = mib(PushOptions::default().monolithic_max), value_parser = parse_size, value_name = "SIZE")]
    pub monolithic_max: u64,
    /// PATCH chunk size of chunked uploads (raised to the registry's OCI-Chunk-Min-Length).
    #[arg(long, default_value = mib(PushOptions::default().chunk_size), value_parser = parse_size, value_name = "SIZE")]
    pub chunk_size: u64,
    /// Upload limits to assume (generic, ghcr, ecr, gar, acr, dockerhub); default: detected
    /// from each registry's host name.
    #[arg(long, env = "WERF_PUSH_REGISTRY_PROFILE", value_name = "PROFILE",
          value_parser = |s: &str| s.parse::<werf_push::push::RegistryProfile>())]
    pub registry_profile: Option<werf_push::push::RegistryProfile>,
    /// Do not use the known-blob cache (mount sources learned from this machine's earlier
    /// pushes, kept in $WERF_PUSH_CACHE_DIR, else $XDG_CACHE_HOME/werf-push or
    /// ~/.cache/werf-push).
    #[arg(long, env = "WERF_PUSH_NO_CACHE", value_parser = BoolishValueParser::new(), action = ArgAction::SetTrue)]
    pub no_cache: bool,
}

/// A positive number of seconds (fractions allowed: `0.5`).
/// A default of the library, as its flag's default value: whole seconds.
fn seconds(d: std::time::Duration) -> String {
    d.as_secs().to_string()
}

/// A default size of the library, as its flag's default value: `256MiB`.
fn mib(n: u64) -> String {
    format!("{}MiB", n >> 20)
}

fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 86_400.0 => Ok(std::time::Duration::from_secs_f64(v)),
        _ => Err(format!(
            "{s:?} is not a number of seconds between 0 and 86400"
        )),
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    Auto,
    Monolithic,
    Chunked,
}

/// The images repository, as werf names it (`--repo`, `-i`, `--images-repo`).
#[derive(Args, Debug, Clone)]
pub struct RepoArg {
    /// Images repository: REPO/IMAGE:TAG (multirepo) or REPO:IMAGE-TAG (monorepo); the
    /// stages cache is REPO:image-stage-<signature>.
    #[arg(
        long = "repo",
        short = 'i',
        visible_alias = "images-repo",
        env = "WERF_IMAGES_REPO",
        value_name = "REPO"
    )]
    pub repo: String,
}
