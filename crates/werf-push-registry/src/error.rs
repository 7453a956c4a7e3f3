//! Registry answers that are failures: status, the OCI error code and message when the body
//! is JSON, or the start of a plain-text or HTML body otherwise (always quoted with
//! `auth::redact::quote`: credentials redacted, control characters escaped, length capped),
//! and the `Retry-After` the answer carried. Knows nothing of what the push layer does with
//! them.

use std::time::{Duration, SystemTime};

use thiserror::Error;

use werf_push_auth::redact::quote;
use werf_push_spec::Digest;

use super::Action;
use werf_push_transport::{Answer, Limit, Transport, TransportError};

/// A registry request that failed: the registry's answer, an answer that breaks the
/// protocol, content that does not match its digest, or a transport failure.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The registry answered a status that is not success for the request.
    #[error("{op}: registry answered {status}{body}")]
    Status {
        /// The request in words: method, what and where (`PUT manifest app:v1`).
        op: String,
        /// The request, typed (`op` says it in words).
        action: Action,
        /// The HTTP status code.
        status: u16,
        /// The OCI error code and message, or the start of a text body.
        body: ErrorBody,
        /// The answer's `Retry-After` (read whatever the status; 429 and 503 answers send
        /// it), as a wait from when it arrived.
        retry_after: Option<Duration>,
    },
    /// The answer breaks the protocol or a bound of this crate: a header missing or
    /// malformed, a body that is not the JSON expected, a `Link` loop, a blob too large to
    /// read whole.
    #[error("{op}: {detail}")]
    Protocol {
        /// The request in words.
        op: String,
        /// What was wrong with the answer.
        detail: String,
    },
    /// The content (or the registry's `Docker-Content-Digest`) has digest `got`; `want`
    /// was asked for.
    #[error("{op}: the content has digest {got}, expected {want}")]
    DigestMismatch {
        /// The request in words.
        op: String,
        /// The digest asked for.
        want: Digest,
        /// The digest the content has, as the registry or the bytes said it.
        got: String,
    },
    /// A tag list holds more tags of interest than the caller keeps (its bound).
    #[error(
        "{op}: more than {limit} {what}: werf-push keeps at most {limit}; delete the old \
         ones (werf-push cleanup) and run again"
    )]
    TooManyTags {
        /// The request in words.
        op: String,
        /// The tags counted, in words (`tags`, `stage tags`).
        what: String,
        /// The most tags the caller keeps.
        limit: usize,
    },
    /// The transport failed: no answer (connection, TLS, timeout), the auth handshake, or
    /// its settings.
    #[error("{0}")]
    Transport(#[from] TransportError),
}

impl RegistryError {
    /// The HTTP status of the answer, also of an auth failure (401/403) found by the
    /// transport; `None` when there was no failed answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            RegistryError::Status { status, .. } => Some(*status),
            // An auth failure found by the transport's handshake (401/403).
            RegistryError::Transport(e) => e.status(),
            _ => None,
        }
    }

    /// The first OCI error code of the answer, e.g. `BLOB_UNKNOWN`, `DIGEST_INVALID`.
    pub fn code(&self) -> Option<&str> {
        match self {
            RegistryError::Status { body, .. } => body.code.as_deref(),
            _ => None,
        }
    }

    /// The wait the registry asked for before another attempt.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            RegistryError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The class of this failure: 401/403 are auth failures, transport failures keep
    /// theirs, content that does not match its digest is an integrity failure, any other
    /// answer is the registry's refusal.
    pub fn kind(&self) -> werf_push_spec::ErrorKind {
        match self {
            RegistryError::Transport(t) => t.kind(),
            RegistryError::DigestMismatch { .. } => werf_push_spec::ErrorKind::Integrity,
            e if matches!(e.status(), Some(401 | 403)) => werf_push_spec::ErrorKind::Auth,
            _ => werf_push_spec::ErrorKind::Registry,
        }
    }

    /// The cause in a few words, without the operation's URL (for one-line retry notes):
    /// `registry answered 503 UNAVAILABLE`, `connection reset by peer`.
    pub fn brief(&self) -> String {
        match self {
            RegistryError::Status { status, body, .. } => match &body.code {
                Some(code) => format!("registry answered {status} {code}"),
                None => format!("registry answered {status}"),
            },
            RegistryError::Transport(t) => t.brief(),
            RegistryError::Protocol { detail, .. } => detail.clone(),
            RegistryError::DigestMismatch { .. } => "the registry computed another digest".into(),
            #[allow(unreachable_patterns)]
            other => other.to_string(),
        }
    }

    /// Whether trying the operation again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            RegistryError::Status { status, body, .. } => {
                werf_push_transport::is_retryable_status(*status)
                    || (*status == 403 && body.is_rate_limit())
            }
            RegistryError::Transport(e) => e.is_retryable(),
            RegistryError::Protocol { .. }
            | RegistryError::DigestMismatch { .. }
            | RegistryError::TooManyTags { .. } => false,
        }
    }
}

/// The useful part of an error body, each part quoted (credentials redacted, control
/// characters escaped, length capped).
#[derive(Debug, Default, Clone)]
#[non_exhaustive]
pub struct ErrorBody {
    /// The first OCI error code (`MANIFEST_UNKNOWN`, `DENIED`); `None` for a text body.
    pub code: Option<String>,
    /// The first error's message, or the first line (an HTML page's `<title>`) of a text body.
    pub message: Option<String>,
}

impl ErrorBody {
    /// Parses `{"errors":[{"code","message"}]}`; falls back to the first line of text, or
    /// the `<title>` of an HTML page. Docker Hub answers 429 in plain text; proxies in
    /// front of any registry (nginx, load balancers) answer 413/502/504 in HTML.
    pub fn parse(body: &[u8]) -> ErrorBody {
        #[derive(serde::Deserialize)]
        struct Errors {
            errors: Vec<Item>,
        }
        #[derive(serde::Deserialize)]
        struct Item {
            code: Option<String>,
            message: Option<String>,
        }
        if let Ok(Errors { errors }) = serde_json::from_slice::<Errors>(body) {
            if let Some(first) = errors.into_iter().next() {
                return ErrorBody {
                    code: first.code.map(|c| quote(&c)),
                    message: first.message.map(|m| quote(&m)),
                };
            }
        }
        let text = String::from_utf8_lossy(body);
        if let Some(title) = html_title(&text) {
            return ErrorBody {
                code: None,
                message: Some(title),
            };
        }
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        ErrorBody {
            code: None,
            message: (!line.is_empty()).then(|| quote(line)),
        }
    }
}

impl ErrorBody {
    /// GHCR answers its secondary rate limit with 403 (body: "You have exceeded a secondary
    /// rate limit"): a wait cures it, as a 429's does; a permission 403 says nothing of rates.
    pub(crate) fn is_rate_limit(&self) -> bool {
        let m = self.message.as_deref().unwrap_or("").to_ascii_lowercase();
        self.code.as_deref() == Some("TOOMANYREQUESTS")
            || m.contains("rate limit")
            || m.contains("too many requests")
    }
}

impl std::fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.code, &self.message) {
            (Some(c), Some(m)) => write!(f, ": {c}: {m}"),
            (Some(c), None) => write!(f, ": {c}"),
            (None, Some(m)) => write!(f, ": {m}"),
            (None, None) => Ok(()),
        }
    }
}

/// The text of `<title>` when `text` looks like an HTML page.
fn html_title(text: &str) -> Option<String> {
    let t = text.trim_start();
    if !t.starts_with('<') {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower[start..].find("</title>")?;
    let title = t[start..end].trim();
    (!title.is_empty()).then(|| quote(title))
}

/// Reads a failed answer into an error: at most [`Limit::ERROR_BODY`] of its body (the rest
/// is dropped with the connection), under the stall rule.
pub(crate) async fn from_response(
    transport: &Transport,
    action: Action,
    op: String,
    resp: reqwest::Response,
) -> RegistryError {
    let status = resp.status().as_u16();
    let retry_after = retry_after(resp.headers());
    let method = op.split(' ').next().unwrap_or("").to_string();
    let body = match transport
        .reader(resp, &method)
        .collect(Limit::ERROR_BODY)
        .await
    {
        Ok(b) => ErrorBody::parse(&b),
        // A status with a body that never comes: the status is the answer.
        Err(e) => {
            tracing::debug!("{op}: error body not read: {e}");
            ErrorBody::default()
        }
    };
    RegistryError::Status {
        op,
        action,
        status,
        body,
        retry_after,
    }
}

/// A failed answer read whole ([`Transport::send_read`]) as an error.
pub(crate) fn from_answer(action: Action, op: String, a: &Answer) -> RegistryError {
    RegistryError::Status {
        op,
        action,
        status: a.status,
        body: ErrorBody::parse(&a.body),
        retry_after: retry_after(&a.headers),
    }
}

fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    h.get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| werf_push_transport::parse_retry_after(v, SystemTime::now()))
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
