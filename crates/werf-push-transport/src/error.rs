//! Transport failures, classified so that callers and people can act on them: which ones
//! a later attempt may cure (connection resets, timeouts (each named with its flag), HTTP/2
//! GOAWAY or refused streams) and which it cannot (bad TLS settings, unreadable files,
//! answers over their size cap); a failed request is sorted into them by
//! `request_error.rs`. Knows nothing of registry paths.

use thiserror::Error;

/// A request (or the connection, TLS, scheme or auth handshake under it) that failed;
/// `kind()` gives its class, `is_retryable()` whether a later attempt may cure it.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TransportError {
    /// No connection to the registry could be opened (refused, no route, bad host name).
    #[error("cannot reach registry {host}: {detail}")]
    Unreachable {
        /// The registry (`host[:port]`).
        host: String,
        /// Why: the error's chain of causes.
        detail: String,
    },
    /// The registry answered HTTPS with plain HTTP, and plain HTTP is not allowed for it.
    #[error("registry {host} speaks plain HTTP, not HTTPS; if that is intended, pass --insecure-registry")]
    PlainHttp {
        /// The registry (`host[:port]`).
        host: String,
    },
    /// Plain HTTP was asked for, but the registry speaks HTTPS.
    #[error("registry {host} speaks HTTPS, not plain HTTP; drop --insecure-registry or use the HTTPS port")]
    NotHttp {
        /// The registry (`host[:port]`).
        host: String,
    },
    /// The TLS handshake failed (untrusted or wrong certificate, client certificate wanted).
    #[error("TLS with registry {host} failed: {detail}")]
    Tls {
        /// The registry (`host[:port]`).
        host: String,
        /// What the fix depends on, typed.
        problem: super::TlsProblem,
        /// The failure said in words (`tls::in_words`), never as Rust debug text.
        detail: String,
    },
    /// Something answered over `scheme`, but not as a registry.
    #[error("{host} is not a registry: {scheme} answered, but GET /v2/ answered {status}{server}")]
    NotRegistry {
        /// The host (`host[:port]`).
        host: String,
        /// `https` or `http`.
        scheme: String,
        /// What `GET /v2/` answered.
        status: u16,
        /// What it says it is, ` (Server: nginx, text/html)`, or empty.
        server: String,
    },
    /// A request that failed in a way a later attempt may cure (sorted by `request_error.rs`).
    #[error("{method} {url}: {detail}")]
    Request {
        /// The request's method.
        method: String,
        /// The request's URL, its query dropped.
        url: String,
        /// The failure: the error's chain of causes.
        detail: String,
    },
    /// A request that failed in a way no retry cures (it could not be built, too many
    /// redirects, an HTTP/2 protocol error).
    #[error("{method} {url}: {detail}")]
    RequestFatal {
        /// The request's method.
        method: String,
        /// The request's URL, its query dropped.
        url: String,
        /// The failure: the error's chain of causes.
        detail: String,
    },
    /// A timeout of `pace.rs` ran out; a later attempt may succeed.
    #[error("{method} {url}: {}", kind.describe(*after))]
    Timeout {
        /// The request's method.
        method: String,
        /// The request's URL, its query dropped.
        url: String,
        /// Which timeout ran out.
        kind: super::TimeoutKind,
        /// The timeout's length.
        after: std::time::Duration,
    },
    /// An answer longer than what may be held in memory (`read.rs`).
    #[error("{method} {url}: the answer is larger than {}, the cap for {what}", size_text(*max))]
    TooLarge {
        /// The request's method.
        method: String,
        /// The request's URL, its query dropped.
        url: String,
        /// What the answer is (`a manifest or config`).
        what: &'static str,
        /// The cap, in bytes.
        max: usize,
    },
    /// A file to send as a request body cannot be read.
    #[error("cannot read {path}: {source}")]
    Body {
        /// The file.
        path: String,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// A setting that cannot be used: a CA or client certificate file, a credential that
    /// cannot go in a header, the TLS setup.
    #[error("bad TLS setting: {0}")]
    Config(String),
    /// The credentials could not be looked up (a file or a helper failed).
    #[error("cannot get credentials: {0}")]
    Credentials(#[from] werf_push_auth::AuthError),
    /// The registry wants credentials and no source had any for it.
    #[error("registry {host} requires authentication and no credentials were found for it")]
    NoCredentials {
        /// The registry (`host[:port]`).
        host: String,
        /// Every place looked at (`CredentialStore::places`), for the hint.
        places: String,
    },
    /// The registry (or its token realm) refused the credentials.
    #[error("registry {host} did not accept the credentials from {credentials}: {detail}")]
    Unauthorized {
        /// The registry (`host[:port]`).
        host: String,
        /// Where the credentials came from (a `Source` in words).
        credentials: String,
        /// What said no, and how.
        detail: String,
    },
    /// The credentials were accepted but lack the rights the request needs
    /// (`insufficient_scope`).
    #[error("registry {host} denied access: the account (credentials from {credentials}) was not granted {scope}")]
    Denied {
        /// The registry (`host[:port]`).
        host: String,
        /// The scopes asked for, as sent (`repository:app:pull,push`).
        scope: String,
        /// Where the credentials came from (a `Source` in words).
        credentials: String,
    },
    /// The token realm failed: unreachable, an error status, or an answer with no token.
    #[error("token realm {realm}: {detail}")]
    TokenRealm {
        /// The realm's URL, its query dropped.
        realm: String,
        /// What went wrong (never the answer's text).
        detail: String,
    },
    /// A 401 from an origin other than the registry's (storage or a CDN a request was
    /// redirected to): never learned from, no credentials sent there.
    #[error("{request}: {origin}, not the registry {host}, answered 401 Unauthorized; its challenge is not followed: the registry's credentials go only to the registry and the token realm it names")]
    ForeignUnauthorized {
        /// The method and URL, as `GET https://...`.
        request: String,
        /// The origin that answered 401 (`https://storage.example.com`).
        origin: String,
        /// The registry (`host[:port]`).
        host: String,
    },
}

impl TransportError {
    /// The method and URL of the request that failed, when the failure is one request's.
    pub fn request(&self) -> Option<(&str, &str)> {
        match self {
            TransportError::Request { method, url, .. }
            | TransportError::RequestFatal { method, url, .. }
            | TransportError::Timeout { method, url, .. }
            | TransportError::TooLarge { method, url, .. } => Some((method, url)),
            _ => None,
        }
    }

    /// The HTTP status an auth failure stands for: 401 (not authenticated) or 403 (not
    /// allowed), so that callers treat it like the registry's own answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            TransportError::NoCredentials { .. } | TransportError::Unauthorized { .. } => Some(401),
            TransportError::Denied { .. } => Some(403),
            _ => None,
        }
    }

    /// The token for a request's scopes was refused (the realm answered 401 or 403, or
    /// failed otherwise: another status, no token in its answer, unreachable), or the
    /// token granted did not cover them: asking for other scopes may help.
    pub(crate) fn is_scope_refusal(&self) -> bool {
        matches!(
            self,
            TransportError::Unauthorized { .. }
                | TransportError::Denied { .. }
                | TransportError::TokenRealm { .. }
        )
    }

    /// The cause in a few words, without the URL (for one-line retry notes):
    /// `connection reset by peer`, `no answer within 60 s (--response-timeout)`.
    pub fn brief(&self) -> String {
        match self {
            TransportError::Request { detail, .. }
            | TransportError::RequestFatal { detail, .. } => innermost(detail).to_string(),
            TransportError::Timeout { kind, after, .. } => kind.describe(*after),
            TransportError::Unreachable { detail, .. } => innermost(detail).to_string(),
            other => other.to_string(),
        }
    }

    /// The class of this failure.
    pub fn kind(&self) -> werf_push_spec::ErrorKind {
        use werf_push_spec::ErrorKind as K;
        match self {
            TransportError::Credentials(_)
            | TransportError::NoCredentials { .. }
            | TransportError::Unauthorized { .. }
            | TransportError::Denied { .. }
            | TransportError::ForeignUnauthorized { .. } => K::Auth,
            TransportError::Config(_) => K::Usage,
            TransportError::Body { .. } => K::Layout,
            TransportError::TooLarge { .. } => K::Registry,
            _ => K::Network,
        }
    }

    /// Whether a later attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            TransportError::Request { .. }
                | TransportError::Unreachable { .. }
                | TransportError::Timeout { .. }
        )
    }
}

/// The last part of a `: `-joined error chain, lower-cased at its start, without the
/// `(os error N)` suffix.
fn innermost(detail: &str) -> &str {
    let last = detail.rsplit(": ").next().unwrap_or(detail);
    last.split(" (os error").next().unwrap_or(last).trim()
}

/// `16 MiB`, `64 KiB`, `100 bytes`.
fn size_text(n: usize) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// The chain of causes of an error, joined, for messages.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    werf_push_spec::text::error_chain(e)
}
