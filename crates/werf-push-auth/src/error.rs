//! Failures while finding credentials: unreadable or malformed config files, credential
//! helpers missing or failing. Messages name the file or the helper and never a secret.

use std::path::PathBuf;

use thiserror::Error;

/// Credentials that could not be found: a file or a helper failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A credentials file exists but cannot be read.
    #[error("cannot read credentials file {path}: {source}")]
    Read {
        /// The file (`config.json` or `auth.json`).
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// A credentials file is not the JSON it should be.
    #[error("credentials file {path} is not valid JSON: {detail}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The kind of JSON error and where (line, column); never the file's text.
        detail: String,
    },
    /// The file's entry for the host cannot be used (its `auth` not base64 of
    /// `user:password`...).
    #[error("credentials file {path}: entry for {host}: {detail}")]
    BadEntry {
        /// The file.
        path: PathBuf,
        /// The registry host the entry is for.
        host: String,
        /// What is wrong with it (never the secret).
        detail: String,
    },
    /// The credential helper named for the host is not in `PATH`.
    #[error("credential helper {helper} (for {host}) is not installed: no `{helper}` in PATH; install it or remove it from {config}")]
    HelperMissing {
        /// The program looked for (`docker-credential-<name>`).
        helper: String,
        /// The registry host.
        host: String,
        /// The `config.json` that names the helper.
        config: PathBuf,
    },
    /// The credential helper failed, timed out or answered something else than credentials.
    #[error("credential helper {helper} failed for {host}: {detail}")]
    HelperFailed {
        /// The program run (`docker-credential-<name>`).
        helper: String,
        /// The registry host.
        host: String,
        /// How it failed: exit status and the first line of its stderr, or a timeout.
        detail: String,
    },
}

impl AuthError {
    /// Credentials that cannot be found or read: an auth failure.
    pub fn kind(&self) -> werf_push_spec::ErrorKind {
        werf_push_spec::ErrorKind::Auth
    }
}
