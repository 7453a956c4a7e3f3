//! Scheme detection: `GET /v2/` over HTTPS; plain HTTP only for registries on this machine
//! or with `--insecure-registry`, as Docker does (then both probes go at once, HTTPS
//! preferred). Failures are classified for people. A 401
//! (or 403) is a registry that wants credentials: its `WWW-Authenticate` challenges are
//! handed back for the auth handshake to learn the scheme from. The probe is under the
//! connect and response timeouts, and retried after one under the run's budget.

use reqwest::Client;
use url::Url;

use super::error::chain;
use super::watch::{guard, Watch};
use super::{
    BodyReader, Limit, RetryBudget, RetryNotice, TimeoutKind, Timeouts, TransportError,
    TransportOptions,
};
use werf_push_spec::reference::is_local_host;

/// [`detect_scheme`], again after a timeout while `budget` allows (a registry that is
/// silent once is not taken for one that is down).
pub(crate) async fn detect_scheme_retrying(
    client: &Client,
    host: &str,
    opts: &TransportOptions,
    budget: &RetryBudget,
) -> Result<(Url, Vec<String>), TransportError> {
    budget
        .retry(
            || detect_scheme(client, host, opts),
            |result, _| matches!(result, Err(TransportError::Timeout { .. })).then_some(None),
            |result, retrier, wait| {
                if let Err(e) = result {
                    RetryNotice {
                        what: &format!("scheme probe of {host}"),
                        reason: &e.brief(),
                        wait,
                        attempt: retrier.attempt(),
                        max: retrier.max(),
                    }
                    .log(true);
                }
            },
        )
        .await
}

/// The registry's base URL and the challenges its `GET /v2/` answered with.
pub(crate) async fn detect_scheme(
    client: &Client,
    host: &str,
    opts: &TransportOptions,
) -> Result<(Url, Vec<String>), TransportError> {
    let https = base_url("https", host)?;
    let may_http = opts.insecure || (opts.local_http_fallback && is_local_host(host));
    if !may_http {
        return probe(client, &https, host, &opts.timeouts)
            .await
            .map(|challenges| (https, challenges));
    }
    // Both at once: a plain-HTTP registry does not wait for the HTTPS attempt to fail (two
    // round trips on a real path); HTTPS still wins when both answer.
    let http = base_url("http", host)?;
    let (over_https, over_http) = tokio::join!(
        probe(client, &https, host, &opts.timeouts),
        probe(client, &http, host, &opts.timeouts)
    );
    let https_err = match over_https {
        Ok(challenges) => return Ok((https, challenges)),
        Err(e) => e,
    };
    tracing::debug!("HTTPS to {host} failed: {https_err}");
    match over_http {
        Ok(challenges) => Ok((http, challenges)),
        // A plain-HTTP registry whose ping led to another host's 401: that is the news.
        Err(http_err @ TransportError::ForeignUnauthorized { .. }) => Err(http_err),
        // The HTTPS failure says more (an untrusted certificate, say) unless nobody
        // listens there.
        // The HTTPS failure says more (an untrusted certificate, say) unless nobody
        // listens there, or what listens speaks plain HTTP: then what it answered over
        // plain HTTP is the news (a web server that is no registry).
        Err(http_err) => Err(match https_err {
            TransportError::Unreachable { .. }
            | TransportError::PlainHttp { .. }
            | TransportError::Timeout {
                kind: TimeoutKind::Connect,
                ..
            } => http_err,
            _ => https_err,
        }),
    }
}

fn base_url(scheme: &str, host: &str) -> Result<Url, TransportError> {
    Url::parse(&format!("{scheme}://{host}/")).map_err(|e| TransportError::Unreachable {
        host: host.into(),
        detail: format!("not a valid host: {e}"),
    })
}

async fn probe(
    client: &Client,
    base: &Url,
    host: &str,
    timeouts: &Timeouts,
) -> Result<Vec<String>, TransportError> {
    let url = base.join("v2/").expect("static path");
    let watch = Watch::new(*timeouts, 0, std::time::Instant::now());
    let timeout = |(kind, after)| TransportError::Timeout {
        method: "GET".into(),
        url: url.to_string(),
        kind,
        after,
    };
    let sent = guard(&watch, client.get(url.clone()).send())
        .await
        .map_err(timeout)?;
    match sent {
        // A challenge is learned only from the registry itself, never from a host a redirect
        // led to (its realm would get the registry's credentials).
        Ok(resp) if resp.url().origin() != url.origin() && resp.status().as_u16() == 401 => {
            Err(TransportError::ForeignUnauthorized {
                request: format!("GET {url}"),
                origin: werf_push_auth::redact::quote(&resp.url().origin().ascii_serialization()),
                host: host.into(),
            })
        }
        Ok(resp) => match resp.status().as_u16() {
            200 | 403 if resp.url().origin() != url.origin() => Ok(Vec::new()),
            200 | 401 | 403 => Ok(resp
                .headers()
                .get_all(reqwest::header::WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_string))
                .collect()),
            // nginx's answer to plain HTTP sent to its HTTPS port.
            400 if base.scheme() == "http" => Err(TransportError::NotHttp { host: host.into() }),
            // nginx with `ssl_verify_client on` answers 400 "No required SSL certificate
            // was sent" (over a completed TLS 1.3 handshake) to a client without one.
            400 => {
                let text = BodyReader::new(resp, "GET", timeouts)
                    .collect(Limit::ERROR_BODY)
                    .await
                    .unwrap_or_default();
                let text = String::from_utf8_lossy(&text);
                if text.to_lowercase().contains("ssl certificate") {
                    return Err(TransportError::Tls {
                        host: host.into(),
                        problem: super::TlsProblem::Other,
                        detail: format!(
                            "the server requires a client certificate: put client.cert and client.key in /etc/docker/certs.d/{host}/"
                        ),
                    });
                }
                Err(TransportError::NotRegistry {
                    host: host.into(),
                    scheme: base.scheme().to_uppercase(),
                    status: 400,
                    server: String::new(),
                })
            }
            status => Err(TransportError::NotRegistry {
                host: host.into(),
                scheme: base.scheme().to_uppercase(),
                status,
                server: server_of(resp.headers()),
            }),
        },
        Err(e) if e.is_connect() && e.is_timeout() => {
            Err(timeout((TimeoutKind::Connect, timeouts.connect)))
        }
        Err(e) => Err(classify(&e, base.scheme(), host)),
    }
}

/// What answered, from its headers, for people: ` (Server: nginx/1.24.0, text/html)`;
/// empty when it says nothing. Printable and bounded: the answer may be hostile.
fn server_of(headers: &reqwest::header::HeaderMap) -> String {
    let get = |name| {
        headers.get(name).and_then(|v| v.to_str().ok()).map(|v| {
            werf_push_spec::text::printable(&v.chars().take(80).collect::<String>()).into_owned()
        })
    };
    let parts: Vec<String> = [
        get(reqwest::header::SERVER).map(|s| format!("Server: {s}")),
        get(reqwest::header::CONTENT_TYPE),
    ]
    .into_iter()
    .flatten()
    .collect();
    match parts.is_empty() {
        true => String::new(),
        false => format!(" ({})", parts.join(", ")),
    }
}

fn classify(e: &reqwest::Error, scheme: &str, host: &str) -> TransportError {
    let detail = chain(e);
    let lower = detail.to_lowercase();
    if scheme == "https" {
        if lower.contains("invalidcontenttype")
            || lower.contains("corrupt message")
            || lower.contains("wrong version")
        {
            return TransportError::PlainHttp { host: host.into() };
        }
        if lower.contains("certificate") || lower.contains("unknownissuer") || lower.contains("tls")
        {
            let (problem, detail) = super::tls::problem(host, &detail);
            return TransportError::Tls {
                host: host.into(),
                problem,
                detail,
            };
        }
    } else if lower.contains("invalid http version")
        || lower.contains("connection closed before message")
    {
        return TransportError::NotHttp { host: host.into() };
    }
    TransportError::Unreachable {
        host: host.into(),
        detail,
    }
}
