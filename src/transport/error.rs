//! Transport failures, classified so that callers and people can act on them.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum TransportError {
    #[error("cannot reach registry {host}: {detail}")]
    Unreachable { host: String, detail: String },
    #[error("registry {host} speaks plain HTTP, not HTTPS; if that is intended, pass --insecure-registry")]
    PlainHttp { host: String },
    #[error("registry {host} speaks HTTPS, not plain HTTP; drop --insecure-registry or use the HTTPS port")]
    NotHttp { host: String },
    #[error("TLS with registry {host} failed: {detail}; if the registry uses a private CA pass --ca-file, or --skip-tls-verify-registry to skip verification")]
    Tls { host: String, detail: String },
    #[error("{host} does not look like a registry: GET /v2/ answered {status}")]
    NotRegistry { host: String, status: u16 },
    #[error("{method} {url}: {detail}")]
    Request {
        method: String,
        url: String,
        detail: String,
    },
    #[error("cannot read {path}: {source}")]
    Body {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("bad TLS setting: {0}")]
    Config(String),
}

impl TransportError {
    /// Whether a later attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            TransportError::Request { .. } | TransportError::Unreachable { .. }
        )
    }
}

/// The chain of causes of an error, joined, for messages.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}
