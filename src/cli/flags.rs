//! The flag groups more than one command shares (global flags, how registries are reached,
//! how blobs are uploaded, the images repository, the stages storage, the stage being
//! written), with their environment variables (werf's names where werf had them); an
//! image source (`oci:DIR[:REF|@DIGEST]`) is parsed by the library
//! (`werf_push_layout::Source`).
//! Knows no command.

use std::path::PathBuf;

use clap::builder::{BoolishValueParser, TypedValueParser};
use clap::{ArgAction, Args, ValueEnum};
use werf_push_stages::layer::{LayerCompression, LayerOptions};
use werf_push_stages::{ImageName, StoreError};

use super::size::parse_size;
use werf_push_engine::PushOptions;
use werf_push_transport::Timeouts;

/// The heading of the options every command has, apart from its own in `--help`.
pub const GLOBAL_HEADING: &str = "Global options";

#[derive(Args, Debug)]
pub struct GlobalArgs {
    /// More detail on stderr: -v requests and retries, -vv headers (secrets redacted).
    #[arg(short, long, action = clap::ArgAction::Count, global = true, help_heading = GLOBAL_HEADING)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose", help_heading = GLOBAL_HEADING)]
    pub quiet: bool,
    /// Format of diagnostics on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true, help_heading = GLOBAL_HEADING)]
    pub log_format: LogFormat,
    /// Progress on stderr: bars on a terminal (auto), plain lines (CI, pipes), or none.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto, global = true, env = "WERF_PUSH_PROGRESS", help_heading = GLOBAL_HEADING)]
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

/// A command-line mistake found after parsing (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

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
    /// Trust the CA certificates (PEM) in this file too (default: $SSL_CERT_FILE, read
    /// apart so that a value in the environment never shows in usage lines).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Speak HTTP/1.1 for every request, also where the server offers HTTP/2. By default
    /// small requests take what ALPN settles on and request bodies of 64 KiB or more go
    /// over HTTP/1.1, where no HTTP/2 stream window holds them back.
    #[arg(long, env = "WERF_PUSH_HTTP1", value_parser = BoolishValueParser::new(), action = ArgAction::SetTrue)]
    pub http1: bool,
    /// Requests in flight to one registry at most (checks, mounts, manifests, small blobs;
    /// `--jobs` bounds the transfers among them). A 429 or 503 answer halves it for a while.
    #[arg(long, env = "WERF_PUSH_REQUESTS", value_name = "N", default_value_t = werf_push_transport::DEFAULT_MAX_REQUESTS, value_parser = clap::value_parser!(usize))]
    pub requests: usize,
    /// Retries of any one request, upload or download (connection errors, timeouts, 408,
    /// 429, 5xx); 20 times this for the whole run.
    #[arg(long, default_value_t = werf_push_transport::DEFAULT_RETRIES, value_name = "N")]
    pub retries: u32,
    /// No retry starts once one request or upload has been going on this long.
    #[arg(long, default_value_t = werf_push_transport::DEFAULT_RETRY_MAX_TIME, value_name = "SECONDS")]
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
          value_parser = |s: &str| Ok::<_, String>(werf_push_auth::Secret::new(s)))]
    pub registry_password: Option<werf_push_auth::Secret>,
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
    /// Upload limits to assume; default: detected from each registry's host name.
    #[arg(long, env = "WERF_PUSH_REGISTRY_PROFILE", value_name = "PROFILE",
          value_parser = profile_parser())]
    pub registry_profile: Option<werf_push_engine::RegistryProfile>,
    /// Do not use the known-blob cache (mount sources learned from this machine's earlier
    /// pushes, kept in $WERF_PUSH_CACHE_DIR, else $XDG_CACHE_HOME/werf-push or
    /// ~/.cache/werf-push).
    #[arg(long, env = "WERF_PUSH_NO_CACHE", value_parser = BoolishValueParser::new(), action = ArgAction::SetTrue)]
    pub no_cache: bool,
}

/// The registry profiles by name: offered by completion and listed in `--help`.
pub(crate) fn profile_parser(
) -> impl clap::builder::TypedValueParser<Value = werf_push_engine::RegistryProfile> {
    use werf_push_engine::RegistryProfile;
    clap::builder::PossibleValuesParser::new(RegistryProfile::ALL.map(RegistryProfile::name))
        .try_map(|s| s.parse::<RegistryProfile>())
}

/// A default of the library, as its flag's default value: whole seconds.
fn seconds(d: std::time::Duration) -> String {
    d.as_secs().to_string()
}

/// A default size of the library, as its flag's default value: `256MiB`.
fn mib(n: u64) -> String {
    format!("{}MiB", n >> 20)
}

/// A positive number of seconds (fractions allowed: `0.5`).
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
    /// Required.
    #[arg(
        long = "repo",
        short = 'i',
        visible_alias = "images-repo",
        env = "WERF_IMAGES_REPO",
        value_name = "REPO"
    )]
    pub repo: Option<String>,
}

impl RepoArg {
    /// The repository; its absence is said with werf's variable too (a CI job that forgot
    /// to set it), which clap's own error would not name.
    pub fn get(&self) -> Result<&str, UsageError> {
        self.repo.as_deref().ok_or_else(|| {
            UsageError(
                "no images repository given: pass --repo REPO (also -i, --images-repo) or set \
                 WERF_IMAGES_REPO, e.g. --repo registry.example.com/group/app"
                    .into(),
            )
        })
    }
}

/// Where the stages storage is.
#[derive(Args, Debug)]
pub struct StorageArgs {
    /// Project directory (holds werf.yaml).
    #[arg(long, env = "WERF_DIR", default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// Stages storage (default DIR/.werf/stages).
    #[arg(long, env = "WERF_STAGES_DIR", value_name = "DIR")]
    pub stages_dir: Option<PathBuf>,
    /// werf's flag, which scripts carry: `:local` is taken (the stages storage is
    /// --stages-dir here), anything else is refused with what replaces it.
    #[arg(long, hide = true, value_name = "STORAGE")]
    pub stages_storage: Option<String>,
}

impl StorageArgs {
    /// The stages storage's directory, once werf's `--stages-storage` is checked;
    /// werf's `WERF_STAGES_STORAGE` in the environment gets a warning (it is not read).
    pub fn path(&self) -> Result<PathBuf, UsageError> {
        stages_storage(self.stages_storage.as_deref())?;
        if let Some(v) = std::env::var_os("WERF_STAGES_STORAGE").filter(|v| !v.is_empty()) {
            tracing::warn!(
                "WERF_STAGES_STORAGE ({}) is werf's and is not read: werf-push reads the stages \
                 storage from --stages-dir (WERF_STAGES_DIR), by default DIR/.werf/stages",
                werf_push_spec::text::printable(&v.to_string_lossy())
            );
        }
        Ok(self
            .stages_dir
            .clone()
            .unwrap_or_else(|| self.dir.join(".werf").join("stages")))
    }
}

/// werf's `--stages-storage`: `:local` means the default here; a registry address is what
/// `stages pull` fetches from.
fn stages_storage(value: Option<&str>) -> Result<(), UsageError> {
    match value {
        None | Some(":local") => Ok(()),
        Some(other) => Err(UsageError(format!(
            "--stages-storage '{}': werf-push keeps stages in a directory, not in a stages \
             storage of werf's: drop the flag (the default is DIR/.werf/stages) or pass \
             --stages-dir DIR; to bring a stages cache from a registry first, run \
             `werf-push stages pull --repo REPO`",
            werf_push_spec::text::printable(other)
        ))),
    }
}

/// The stage being written.
#[derive(Args, Debug)]
pub struct StageArgs {
    /// werf image name (`~` for the nameless image).
    #[arg(long, value_name = "NAME")]
    pub image: String,
    /// Stage name: werf's stages in build order, or dockerfile.
    #[arg(long, value_name = "STAGE",
          value_parser = clap::builder::PossibleValuesParser::new(werf_push_stages::format::STAGE_ORDER))]
    pub stage: String,
    /// Signature to record (hex); default: a documented function of the manifest digest
    /// and the parent's signature (docs/stages-format.md).
    #[arg(long, value_name = "SIG")]
    pub signature: Option<String>,
    /// Signature of the parent stage (must be in the storage), or a unique prefix of it.
    #[arg(long, value_name = "SIG")]
    pub parent: Option<String>,
    /// Compression of new layers: gzip (every client) or zstd (containerd 1.5+, Docker
    /// 23+, podman); a layer that arrives compressed is kept as it is.
    #[arg(long, value_enum, default_value = "gzip", value_name = "ALGORITHM")]
    pub compression: CompressionArg,
    /// Threads compressing a layer (default: one per core); the bytes are the same for any
    /// number.
    #[arg(long, env = "WERF_PUSH_LAYER_THREADS", value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub layer_threads: Option<u16>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum CompressionArg {
    Gzip,
    Zstd,
}

impl StageArgs {
    /// The image name, checked before anything is written.
    pub fn image(&self) -> Result<ImageName, StoreError> {
        ImageName::from_arg(&self.image).map_err(|e| StoreError::Arg {
            arg: "--image".into(),
            reason: e.to_string(),
        })
    }

    pub fn layer(&self) -> LayerOptions {
        LayerOptions::new(
            match self.compression {
                CompressionArg::Gzip => LayerCompression::Gzip,
                CompressionArg::Zstd => LayerCompression::Zstd,
            },
            self.layer_threads.map_or(0, usize::from),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_storage_table() {
        // (value, accepted)
        let cases = [
            (None, true),
            (Some(":local"), true),
            (Some("registry.example.com/app/stages"), false),
            (Some(""), false),
        ];
        for (value, ok) in cases {
            assert_eq!(stages_storage(value).is_ok(), ok, "{value:?}");
        }
    }
}
