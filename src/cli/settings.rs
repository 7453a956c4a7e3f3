//! Flags -> library settings, shared by every command that talks to a registry: transport
//! options, the run's retry budget and registries (also `cleanup`, `purge`, `stages pull`),
//! push options and the pusher with its progress (`push`, `publish`, `bench`).

use std::path::PathBuf;
use std::sync::Arc;

use werf_push_auth::{CredentialStore, Secret};

use werf_push_engine::{PushOptions, UploadStrategy};
use werf_push_registry::Registries;
use werf_push_transport::{RetryBudget, Timeouts, TransportOptions};

use super::flags::{GlobalArgs, RegistryArgs, Strategy, UploadArgs, UsageError};
use super::progress::{Progress, Shown};
use super::signal::{before_notice, interrupt};

/// Transport settings from the flags: TLS, credentials (the password from stdin with
/// `--registry-password-stdin`), Docker's certs.d (`WERF_PUSH_CERTS_D` overrides
/// `/etc/docker/certs.d`).
pub fn transport_options(r: &RegistryArgs) -> Result<TransportOptions, UsageError> {
    let password = if r.registry_password_stdin {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|e| {
            UsageError(format!("--registry-password-stdin: cannot read stdin: {e}"))
        })?;
        let text = text.trim_end_matches(['\n', '\r']);
        if text.is_empty() {
            return Err(UsageError(
                "--registry-password-stdin: stdin held no password".into(),
            ));
        }
        Some(Secret::new(text))
    } else {
        r.registry_password.clone()
    };
    let flags = match (&r.registry_username, password) {
        (Some(u), Some(p)) if !u.is_empty() => Some((u.clone(), p)),
        (None, None) => None,
        (Some(_), _) => {
            return Err(UsageError(
                "--registry-username needs --registry-password or --registry-password-stdin".into(),
            ))
        }
        (None, Some(_)) => {
            return Err(UsageError(
                "--registry-password needs --registry-username (WERF_REGISTRY_USERNAME)".into(),
            ))
        }
    };
    let mut opts = TransportOptions::new(CredentialStore::from_lookup(
        flags,
        r.docker_config.clone(),
        |k| std::env::var(k).ok(),
    ));
    opts.insecure = r.insecure_registry;
    opts.skip_tls_verify = r.skip_tls_verify_registry;
    opts.ca_file = r.ca_file.clone().or_else(|| {
        std::env::var_os("SSL_CERT_FILE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    opts.http1_only = r.http1;
    opts.max_requests = r.requests.max(1);
    opts.timeouts = Timeouts::new(r.connect_timeout, r.response_timeout, r.stall_timeout);
    if let Some(dir) = std::env::var_os("WERF_PUSH_CERTS_D").filter(|v| !v.is_empty()) {
        opts.certs_d = Some(PathBuf::from(dir));
    }
    Ok(opts)
}

/// One retry budget for the run: `--retries` per operation, 20 times that in all, no retry
/// after `--retry-max-time` seconds of one operation.
pub fn retry_budget(r: &RegistryArgs) -> Arc<RetryBudget> {
    Arc::new(RetryBudget::for_run(
        r.retries,
        std::time::Duration::from_secs(r.retry_max_time),
    ))
}

/// The registries of the run, connected at first use, with the run's retry budget.
pub fn registries(r: &RegistryArgs) -> Result<Arc<Registries>, UsageError> {
    Ok(Arc::new(Registries::new(
        transport_options(r)?,
        retry_budget(r),
    )))
}

pub fn push_options(u: &UploadArgs, dry_run: bool) -> PushOptions {
    PushOptions::default()
        .with_jobs(u.jobs as usize)
        .with_strategy(match u.upload_strategy {
            Strategy::Auto => UploadStrategy::Auto,
            Strategy::Monolithic => UploadStrategy::Monolithic,
            Strategy::Chunked => UploadStrategy::Chunked,
        })
        .with_monolithic_max(u.monolithic_max)
        .with_chunk_size(u.chunk_size.max(1))
        .with_dry_run(dry_run)
        .with_profile(u.registry_profile)
        .with_known_blobs(if u.no_cache {
            None
        } else {
            werf_push_engine::cache::default_dir(|k| std::env::var_os(k))
        })
}

/// The pusher of a command, and the progress display it reports to.
pub fn pusher(
    upload: &UploadArgs,
    registry: &RegistryArgs,
    dry_run: bool,
    tag_lines: bool,
    g: &GlobalArgs,
) -> Result<(werf_push_engine::Pusher, Arc<Progress>), UsageError> {
    let shown = Shown {
        tag_lines,
        results: !g.quiet,
        blob_lines: g.verbose > 0,
    };
    let progress = Arc::new(Progress::new(g.progress, shown));
    progress.tick();
    let stop = Arc::downgrade(&progress);
    before_notice(move || {
        if let Some(p) = stop.upgrade() {
            p.finish();
        }
    });
    let pusher = werf_push_engine::Pusher::new(
        push_options(upload, dry_run),
        registries(registry)?,
        progress.clone(),
    )
    .with_cancel(interrupt().clone());
    Ok((pusher, progress))
}
