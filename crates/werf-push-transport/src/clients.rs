//! The reqwest clients of one registry, configured in one place: TLS (system roots,
//! `--ca-file`, certs.d, skip-verify), timeouts, redirects, HTTP/1.1 or HTTP/2. Three of
//! them, and which request takes which: small requests multiplex on HTTP/2 where ALPN
//! offers it; request bodies of [`BULK_BODY`] or more go over HTTP/1.1 connections of
//! their own over HTTPS (over plain HTTP everything is HTTP/1.1 and shares `plain`);
//! existence checks follow no redirect. Connections opened ahead: `warm.rs`. Knows nothing
//! of auth, retries or the registry API.

use std::time::Duration;

use super::error::chain;
use super::{certs, TransportError, TransportOptions};

/// Request bodies from this size on go over HTTP/1.1 (`Clients::bulk`): HTTP/2's initial
/// stream window is 64 KiB (RFC 9113 6.9.2), which a smaller body never outgrows.
pub const BULK_BODY: u64 = 64 * 1024;

#[derive(Debug, Clone)]
pub(crate) struct Clients {
    /// HTTP/2 where ALPN offers it (HTTP/1.1 with `--http1`), redirects followed.
    pub plain: reqwest::Client,
    /// HTTP/1.1 only, for request bodies of [`BULK_BODY`] or more: over HTTP/2 a body moves
    /// one stream window per round trip, and nginx (the front of Harbor and of GitLab's
    /// registry) gives each stream 64 KiB: 1.6 MB/s at 40 ms, whatever the link. Over
    /// HTTP/1.1 the body rides TCP's window, which grows to the path. `plain` with `--http1`.
    bulk: reqwest::Client,
    /// `plain`, following no redirect (existence checks: GHCR's and GitLab's 307).
    no_redirect: reqwest::Client,
}

impl Clients {
    pub(crate) fn build(opts: &TransportOptions, host: &str) -> Result<Clients, TransportError> {
        // `warm::checks_connection` relies on `no_redirect` being a client of its own only
        // without --http1.
        let plain = build_client(opts, host, opts.http1_only, true)?;
        let bulk = if opts.http1_only {
            plain.clone()
        } else {
            build_client(opts, host, true, true)?
        };
        Ok(Clients {
            no_redirect: build_client(opts, host, opts.http1_only, false)?,
            bulk,
            plain,
        })
    }

    /// The client for a request to `url` with a body of `body_len` bytes. Over plain HTTP
    /// `plain` speaks HTTP/1.1 anyway, so bodies take it too and reuse its idle connections
    /// (a connection less to open per upload).
    pub(crate) fn pick(
        &self,
        follow_redirects: bool,
        body_len: u64,
        url: &url::Url,
    ) -> &reqwest::Client {
        if !follow_redirects {
            &self.no_redirect
        } else if body_len >= BULK_BODY && url.scheme() == "https" {
            &self.bulk
        } else {
            &self.plain
        }
    }
}

/// The one place the HTTP client is configured.
fn build_client(
    opts: &TransportOptions,
    host: &str,
    http1_only: bool,
    follow_redirects: bool,
) -> Result<reqwest::Client, TransportError> {
    let redirect = if follow_redirects {
        reqwest::redirect::Policy::limited(10)
    } else {
        reqwest::redirect::Policy::none()
    };
    let mut b = reqwest::Client::builder()
        // TLS: rustls with the system's roots; HTTP/2 when the server offers it by ALPN.
        .tls_backend_rustls()
        .user_agent(&opts.user_agent)
        // Connections: fail fast when nobody listens (TCP and TLS); keep idle ones for
        // reuse. A silent or stalled server is caught per request (`watch.rs`, `read.rs`;
        // no total timeout: layers can be huge).
        .connect_timeout(opts.timeouts.connect)
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        // Google Artifact Registry's upload answers carry ~21 KB of headers; hyper's HTTP/2
        // default list size is 16 KiB (HTTP/1.1's buffer is ~400 KiB already).
        .http2_max_header_list_size(256 << 10)
        // Redirects (to blob storage) are followed, but by existence checks; reqwest drops
        // Authorization when the host changes.
        .redirect(redirect);
    // Protocol: HTTP/1.1 only for bulk bodies and with `--http1`, else whatever ALPN
    // settles on. Over HTTP/2 the receive windows follow the path (hyper measures the
    // bandwidth-delay product), so a download is not held to 64 KiB per round trip.
    if http1_only {
        b = b.http1_only();
    } else {
        b = b.http2_adaptive_window(true);
    }
    if opts.skip_tls_verify {
        // Our rustls configuration (ring) in this case too: reqwest's own needs a
        // process-wide crypto provider.
        let files = super::tls::TlsFiles::default();
        b = b.tls_backend_preconfigured(super::tls::client_config(
            files,
            http1_only,
            super::tls::Verify::Skip,
        )?);
    } else {
        // Trust: the system's roots, --ca-file and certs.d; a certificate trusted
        // explicitly works even as the server's own (`tls.rs`).
        let mut files = super::tls::TlsFiles::default();
        if let Some(path) = &opts.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                TransportError::Config(format!("cannot read --ca-file {}: {e}", path.display()))
            })?;
            files.trusted =
                super::tls::pem_certificates(&pem, &format!("--ca-file {}", path.display()))?;
        }
        if let Some(dir) = &opts.certs_d {
            certs::read(&mut files, dir, host)?;
        }
        b = b.tls_backend_preconfigured(super::tls::client_config(
            files,
            http1_only,
            super::tls::Verify::Certificate,
        )?);
    }
    b.build().map_err(|e| TransportError::Config(chain(&e)))
}
