//! Errors about a layout on disk; each names the path and, where one applies, the digest.

use std::path::PathBuf;

use thiserror::Error;

use crate::spec::{Digest, SpecError};

#[derive(Debug, Error)]
pub enum LayoutError {
    #[error("{path}: not an OCI image layout: {reason}")]
    NotALayout { path: PathBuf, reason: String },
    #[error("{path}: unsupported imageLayoutVersion '{found}' (expected 1.x.x)")]
    Version { path: PathBuf, found: String },
    #[error("{path}: {source}")]
    Manifest {
        path: PathBuf,
        #[source]
        source: SpecError,
    },
    #[error("{path}: blob {digest} is missing from the layout")]
    MissingBlob { path: PathBuf, digest: Digest },
    #[error("{path}: blob {digest} has {actual} bytes but its descriptor says {expected}")]
    WrongSize {
        path: PathBuf,
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error("{path}: blob {digest} has content with digest {actual}: the file is corrupted")]
    DigestMismatch {
        path: PathBuf,
        digest: Digest,
        actual: Digest,
    },
    #[error("{path}: blob {digest} is a symlink leading out of the layout or a non-regular file")]
    NotRegular { path: PathBuf, digest: Digest },
    #[error("{path}: manifest {digest} is {size} bytes, more than the {limit} bytes allowed")]
    TooLarge {
        path: PathBuf,
        digest: Digest,
        size: u64,
        limit: u64,
    },
    #[error("{path}: no image '{selector}' in index.json; available: {available}")]
    NoSuchImage {
        path: PathBuf,
        selector: String,
        available: String,
    },
    #[error("{path}: index.json lists {count} images; name one with oci:DIR:REF or oci:DIR@DIGEST; available: {available}")]
    Ambiguous {
        path: PathBuf,
        count: usize,
        available: String,
    },
    #[error("{path}: index.json lists no image")]
    Empty { path: PathBuf },
    #[error("{path}: nested indexes deeper than {limit} levels (a loop?)")]
    TooDeep { path: PathBuf, limit: usize },
    /// Another writer holds the layout's `LOCK` file.
    #[error(
        "{}: the stages storage is being written by {holder} (it holds {}); wait for it to \
         finish and run again",
        .path.parent().unwrap_or(.path).display(),
        .path.display()
    )]
    Locked { path: PathBuf, holder: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl LayoutError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> LayoutError {
        let path = path.into();
        move |source| LayoutError::Io { path, source }
    }
}
