//! [`TransportOptions`]: how the transport reaches registries (TLS, plain HTTP,
//! credentials, Docker's certs.d, timeouts, requests in flight), with the defaults a
//! program gets from [`TransportOptions::new`].

use std::path::PathBuf;

use super::{RequestObserver, Timeouts};
use werf_push_auth::CredentialStore;

/// How to reach registries: TLS, plain HTTP, credentials, timeouts, requests in flight.
/// Built by [`TransportOptions::new`] (or `Default`: anonymous); fields may be changed
/// after.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TransportOptions {
    /// Allow plain HTTP to every registry reached with these options (both schemes are
    /// probed at once, HTTPS preferred).
    pub insecure: bool,
    /// Accept any certificate.
    pub skip_tls_verify: bool,
    /// Extra CA certificate (PEM) to trust.
    pub ca_file: Option<PathBuf>,
    /// Fall back to plain HTTP for registries on this machine, as Docker does.
    pub local_http_fallback: bool,
    /// The `User-Agent` of every request (`werf-push/<version>`).
    pub user_agent: String,
    /// Where credentials come from (looked up per registry at its first challenge).
    pub credentials: CredentialStore,
    /// Docker's per-registry TLS directory (`<dir>/<host[:port]>/*.crt` trusted CAs,
    /// `*.cert` with its `*.key` a client certificate); `None`: none is read.
    pub certs_d: Option<PathBuf>,
    /// Sees every request attempt (method, path, status, latency, body size): benchmarks.
    pub observer: Option<RequestObserver>,
    /// Offer only HTTP/1.1 by ALPN: through a TLS proxy that speaks HTTP/2, uploads over
    /// HTTP/1.1 cost less CPU (one connection per transfer, no 16 KiB frames and
    /// flow-control windows; docs/performance.md).
    pub http1_only: bool,
    /// Connect, response and stall timeouts of every request.
    pub timeouts: Timeouts,
    /// Requests in flight to one registry at most (`--requests`); 429 and 503 answers
    /// lower it for a while (`limit.rs`).
    pub max_requests: usize,
}

/// Requests in flight to one registry unless `--requests` says otherwise: enough for a
/// publish's tag checks to go in one round trip. Over HTTP/2 they share one connection.
pub const DEFAULT_MAX_REQUESTS: usize = 128;

impl TransportOptions {
    /// The defaults with credentials from `credentials`: HTTPS (plain HTTP only to a
    /// registry on this machine that does not speak HTTPS), the system's CAs and Docker's
    /// `/etc/docker/certs.d`, [`Timeouts::default`], [`DEFAULT_MAX_REQUESTS`].
    pub fn new(credentials: CredentialStore) -> TransportOptions {
        TransportOptions {
            credentials,
            ..TransportOptions::default()
        }
    }
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions {
            insecure: false,
            skip_tls_verify: false,
            ca_file: None,
            local_http_fallback: true,
            user_agent: format!("werf-push/{}", env!("CARGO_PKG_VERSION")),
            credentials: CredentialStore::default(),
            certs_d: Some(PathBuf::from("/etc/docker/certs.d")),
            observer: None,
            http1_only: false,
            timeouts: Timeouts::default(),
            max_requests: DEFAULT_MAX_REQUESTS,
        }
    }
}
