//! The transport stack, assembled in `Transport::connect` from the `TransportOptions`
//! (`options.rs`): the clients (`clients.rs`:
//! TLS, HTTP/2 for small requests, HTTP/1.1 for bodies), the scheme by ping, the auth
//! handshake (`auth.rs`) around request retry (`retry.rs`), and the bound on requests in
//! flight (`limit.rs`) around each attempt.

use std::sync::Arc;
use std::time::SystemTime;

use reqwest::header::{HeaderValue, CONTENT_LENGTH, RETRY_AFTER};
use reqwest::{Method, Response};
use url::Url;

use super::auth::Authenticator;
use super::clients::Clients;
use super::request_error::request_error;
use super::retry::{is_retryable_status, parse_retry_after};
use super::watch::{guard, Watch};
use super::{
    ping, BodyReader, Request, RetryBudget, RetryNotice, Timeouts, TransportError, TransportOptions,
};
use werf_push_auth::scope;

/// A connected registry endpoint: client, base URL and the run's retry budget.
#[derive(Debug, Clone)]
pub struct Transport {
    clients: Clients,
    base: Url,
    host: String,
    budget: Arc<RetryBudget>,
    auth: Arc<Authenticator>,
    observer: Option<super::RequestObserver>,
    timeouts: Timeouts,
    /// The bound on requests in flight, shared by every request to this registry.
    limiter: Arc<crate::limit::Limiter>,
}

impl Transport {
    /// Builds the client and finds the scheme the registry at `host` speaks.
    pub async fn connect(
        host: &str,
        opts: &TransportOptions,
        budget: Arc<RetryBudget>,
    ) -> Result<Transport, TransportError> {
        let clients = Clients::build(opts, host)?;
        let client = clients.plain.clone();
        if !opts.http1_only {
            let (c, h, t) = (clients.clone(), host.to_string(), opts.timeouts.connect);
            tokio::spawn(async move { super::warm::checks_connection(&c, &h, t).await });
        }
        let (base, challenges) = ping::detect_scheme_retrying(&client, host, opts, &budget).await?;
        let auth = Authenticator::new(
            host,
            &base,
            opts.credentials.clone(),
            client.clone(),
            opts.timeouts,
        );
        auth.learn(challenges.iter().map(String::as_str));
        Ok(Transport {
            clients,
            base,
            host: host.to_string(),
            budget,
            auth: Arc::new(auth),
            observer: opts.observer.clone(),
            timeouts: opts.timeouts,
            limiter: crate::limit::Limiter::new(opts.max_requests),
        })
    }

    /// Opens up to `n` connections for upload bodies ahead of the uploads, in the
    /// background (`super::warm::upload_connections`).
    pub fn warm_uploads(&self, n: usize) {
        let (c, base, t) = (self.clients.clone(), self.base.clone(), self.timeouts);
        tokio::spawn(async move { super::warm::upload_connections(&c, &base, n, &t).await });
    }

    /// The timeouts every request to this registry is under.
    pub fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    /// Reads the body of `resp` (the answer to `method`) under the stall rule; collect it
    /// with a size cap ([`BodyReader::collect`]) or stream it.
    pub fn reader(&self, resp: Response, method: &str) -> BodyReader {
        BodyReader::new(resp, method, &self.timeouts)
    }

    /// The registry (`host[:port]`) as given to [`Transport::connect`].
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The run's retry budget, shared by every registry of the run.
    pub fn budget(&self) -> &Arc<RetryBudget> {
        &self.budget
    }

    /// `path` (starting with `/v2/`) on the registry.
    pub fn url(&self, path_and_query: &str) -> Url {
        self.base
            .join(path_and_query)
            .unwrap_or_else(|_| self.base.clone())
    }

    /// Sends `req` with the auth handshake (`transport::auth`) around request retry: the
    /// `Authorization` its scopes need (only to the registry's own origin), and after a 401
    /// a refreshed token or the credentials, then that one request again. A 401 that
    /// persists is an error (`Unauthorized`, `NoCredentials`, `Denied`); any other answer
    /// is returned, whatever its status.
    ///
    /// A 401 from another origin (a redirect to storage or a CDN, an upload `Location` on
    /// another host) is an error, `ForeignUnauthorized`: its challenge is never learned, so
    /// the registry's credentials never go to a realm another host names.
    pub async fn send(&self, req: &Request) -> Result<Response, TransportError> {
        if !self.auth.is_own(&req.url) {
            let resp = self.send_retrying(req, None).await?;
            return self.not_foreign_401(req, resp);
        }
        let scopes = scope::scopes_for_request(
            req.method.as_str(),
            req.url.path(),
            req.url.query_pairs().into_owned(),
            req.repository.as_deref(),
        );
        // GitLab (some setups) grants deleting only to `repository:NAME:*`: when the token
        // for `delete` is refused, ask for `*` once; once that worked, at once
        // (tests/it/cleanup_paths.rs, with a token issuer refusing the narrower scope).
        let Some(wide) = scope::wildcard_delete(&scopes) else {
            return self.send_scoped(req, &scopes).await;
        };
        if self.auth.wildcard_delete() {
            return self.send_scoped(req, &wide).await;
        }
        match self.send_scoped(req, &scopes).await {
            Err(e) if e.is_scope_refusal() => {
                tracing::debug!(
                    "{} {}: no token for delete ({e}): asking for the scope *",
                    req.method,
                    req.url.path()
                );
                let resp = self.send_scoped(req, &wide).await?;
                self.auth.learn_wildcard_delete();
                Ok(resp)
            }
            r => r,
        }
    }

    /// [`Self::send`] of a request to the registry's own origin, authorised for `scopes`.
    async fn send_scoped(
        &self,
        req: &Request,
        scopes: &[werf_push_auth::Scope],
    ) -> Result<Response, TransportError> {
        let authz = self.auth.authorization(scopes).await?;
        let resp = self.send_retrying(req, authz.as_ref()).await?;
        let resp = self.not_foreign_401(req, resp)?;
        if resp.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        let again = self
            .auth
            .on_unauthorized(&resp, scopes, authz.as_ref())
            .await?;
        tracing::debug!(
            "{} {}: 401, sending it again authorised",
            req.method,
            req.url.path()
        );
        let resp = self.send_retrying(req, Some(&again)).await?;
        let resp = self.not_foreign_401(req, resp)?;
        if resp.status() == reqwest::StatusCode::UNAUTHORIZED {
            return Err(self.auth.final_error(&resp, scopes).await);
        }
        Ok(resp)
    }

    /// `resp`, unless it is a 401 from an origin other than the registry's (after a
    /// redirect, or to a request sent elsewhere).
    fn not_foreign_401(&self, req: &Request, resp: Response) -> Result<Response, TransportError> {
        if resp.status() != reqwest::StatusCode::UNAUTHORIZED || self.auth.is_own(resp.url()) {
            return Ok(resp);
        }
        Err(TransportError::ForeignUnauthorized {
            request: format!("{} {}", req.method, redact_query(&req.url)),
            origin: werf_push_auth::redact::quote(&resp.url().origin().ascii_serialization()),
            host: self.host.clone(),
        })
    }

    /// Sends `req`, retrying transient failures (connection errors, timeouts, HTTP/2
    /// GOAWAY or refused streams) and 408/429/5xx answers (honouring `Retry-After`) while
    /// the budget allows: attempts per request and time per request are both bounded.
    /// Returns the last answer, whatever its status.
    async fn send_retrying(
        &self,
        req: &Request,
        authz: Option<&HeaderValue>,
    ) -> Result<Response, TransportError> {
        if !req.retry {
            return self.send_once(req, authz).await;
        }
        self.budget
            .retry(
                || self.send_once(req, authz),
                |result, _| match result {
                    Ok(resp) if is_retryable_status(resp.status().as_u16()) => Some(
                        resp.headers()
                            .get(RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| parse_retry_after(v, SystemTime::now())),
                    ),
                    Ok(_) => None,
                    Err(e) if e.is_retryable() => Some(None),
                    Err(_) => None,
                },
                |result, retrier, wait| {
                    let (reason, loud) = match result {
                        Ok(resp) => (format!("answered {}", resp.status().as_u16()), false),
                        Err(e) => (e.brief(), matches!(e, TransportError::Timeout { .. })),
                    };
                    RetryNotice {
                        what: &format!("{} {}", req.method, what(&req.url)),
                        reason: &reason,
                        wait,
                        attempt: retrier.attempt(),
                        max: retrier.max(),
                    }
                    .log(loud);
                },
            )
            .await
    }

    async fn send_once(
        &self,
        req: &Request,
        authz: Option<&HeaderValue>,
    ) -> Result<Response, TransportError> {
        let mut headers = req.headers.clone();
        if let Some(a) = authz {
            headers.insert(reqwest::header::AUTHORIZATION, a.clone());
        }
        if tracing::enabled!(tracing::Level::TRACE) {
            // -vv: request headers, credentials redacted.
            for (k, v) in &headers {
                let shown = if v.is_sensitive() || k == reqwest::header::AUTHORIZATION {
                    "<redacted>"
                } else {
                    v.to_str().unwrap_or("<binary>")
                };
                tracing::trace!("    {k}: {shown}");
            }
        }
        if !matches!(req.method, Method::GET | Method::HEAD) || !req.body.is_empty() {
            // Always explicit: Google Artifact Registry answers 411 to a POST without
            // Content-Length, and ACR rejects Transfer-Encoding: chunked.
            headers.insert(CONTENT_LENGTH, HeaderValue::from(req.body.len()));
        }
        let slot = self.limiter.slot().await;
        let sent_at = std::time::Instant::now();
        let watch = Arc::new(Watch::new(self.timeouts, req.body.len(), sent_at));
        let body = req.body.open(watch.clone()).await?;
        tracing::debug!("--> {} {}", req.method, redact_query(&req.url));
        let send = self
            .clients
            .pick(req.follow_redirects, req.body.len(), &req.url)
            .request(req.method.clone(), req.url.clone())
            .headers(headers)
            .body(body)
            .send();
        let resp = guard(&watch, send)
            .await
            .map_err(|(kind, after)| TransportError::Timeout {
                method: req.method.to_string(),
                url: redact_query(&req.url),
                kind,
                after,
            })
            .and_then(|r| {
                r.map_err(|e| {
                    request_error(
                        req.method.as_str(),
                        redact_query(&req.url),
                        &e,
                        self.timeouts.connect,
                    )
                })
            });
        if let Some(o) = &self.observer {
            o.observe(&super::metrics::RequestSample {
                method: &req.method,
                path: req.url.path(),
                mount: req.url.query_pairs().any(|(k, _)| k == "mount"),
                status: resp.as_ref().ok().map(|r| r.status().as_u16()),
                elapsed: sent_at.elapsed(),
                body_bytes: req.body.len(),
            });
        }
        let resp = resp?;
        slot.answered(crate::limit::Load::of_status(resp.status().as_u16()));
        tracing::debug!(
            "<-- {} {} {}",
            resp.status().as_u16(),
            req.method,
            req.url.path()
        );
        Ok(resp)
    }
}

/// What a registry URL is about, in a word or two: `upload`, `blob 1a2b3c4d5e6f` (a
/// digest's short form, as `Digest::short` gives it), `manifest v1`, `tag list`, `ping`.
pub(crate) fn what(url: &Url) -> String {
    let path = url.path();
    let short = |s: &str| -> String {
        let s = s.rsplit(':').next().unwrap_or(s);
        s.chars().take(12).collect()
    };
    if path.contains("/blobs/uploads") {
        "upload".into()
    } else if let Some((_, d)) = path.rsplit_once("/blobs/") {
        format!("blob {}", short(d))
    } else if let Some((_, r)) = path.rsplit_once("/manifests/") {
        format!("manifest {}", werf_push_auth::redact::quote(&short(r)))
    } else if path.ends_with("/tags/list") {
        "tag list".into()
    } else if path == "/v2/" || path == "/v2" {
        "ping".into()
    } else {
        werf_push_auth::redact::quote(path)
    }
}

/// A URL for logs and errors: the query (which may carry signed upload state) dropped, and
/// quoted like any registry text (an upload `Location` is the registry's).
pub(crate) fn redact_query(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    werf_push_auth::redact::quote(u.as_str())
}
