//! Failures while finding credentials: unreadable or malformed config files, credential
//! helpers missing or failing. Messages name the file or the helper and never a secret.

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum AuthError {
    #[error("cannot read credentials file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("credentials file {path} is not valid JSON: {detail}")]
    Parse { path: PathBuf, detail: String },
    #[error("credentials file {path}: entry for {host}: {detail}")]
    BadEntry {
        path: PathBuf,
        host: String,
        detail: String,
    },
    #[error("credential helper {helper} (for {host}) is not installed: no `{helper}` in PATH; install it or remove it from {config}")]
    HelperMissing {
        helper: String,
        host: String,
        config: PathBuf,
    },
    #[error("credential helper {helper} failed for {host}: {detail}")]
    HelperFailed {
        helper: String,
        host: String,
        detail: String,
    },
}

impl AuthError {
    /// Credentials that cannot be found or read: an auth failure.
    pub fn kind(&self) -> werf_push_spec::ErrorKind {
        werf_push_spec::ErrorKind::Auth
    }
}
