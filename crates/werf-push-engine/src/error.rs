//! Push failures, each naming the reference, digest or path involved.

use std::path::PathBuf;
use std::sync::Arc;

use thiserror::Error;

use werf_push_layout::LayoutError;
use werf_push_registry::RegistryError;
use werf_push_spec::Digest;
use werf_push_transport::TransportError;

/// A push that failed, for one target, blob or registry.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PushError {
    /// The layout could not be read.
    #[error("{0}")]
    Layout(#[from] LayoutError),
    /// The registry could not be reached: its client not built (TLS settings) or its scheme
    /// not found (no answer over HTTPS, nor HTTP where allowed).
    #[error("{registry}: {source}")]
    Connect {
        /// The registry, as the destination names it (host and port).
        registry: String,
        /// What failed.
        #[source]
        source: TransportError,
    },
    /// A blob could not be checked, mounted or uploaded.
    #[error("blob {digest} to {repository}: {source}")]
    Blob {
        /// The repository the blob went to.
        repository: String,
        /// The blob.
        digest: Digest,
        /// The registry's failure.
        #[source]
        source: RegistryError,
    },
    /// A blob's file does not hash to its digest: checked after the registry refused the
    /// digest, or found while it was sent (the file changed on disk).
    #[error("{path}: blob {digest} does not match its digest ({how}): the layout is corrupted; rebuild or re-import the image")]
    Corrupt {
        /// The digest the layout names the blob by.
        digest: Digest,
        /// The blob's file.
        path: PathBuf,
        /// What showed it, e.g. the digest the content really has.
        how: String,
    },
    /// The run was cancelled (Ctrl-C, SIGTERM, the caller's token).
    #[error("interrupted: open uploads cancelled, no further manifest written")]
    Cancelled,
    /// A manifest could not be checked or written. `source` is shared: a child manifest
    /// written once for several images fails them all with its own answer.
    #[error("manifest {digest} for {reference}: {source}")]
    Manifest {
        /// The target's reference (repository and tag).
        reference: String,
        /// The manifest that failed (a child of an index, or the root).
        digest: Digest,
        /// The registry's failure.
        #[source]
        source: Arc<RegistryError>,
    },
    /// A target's manifests were not written because one of its blobs failed (that
    /// failure is reported on its own).
    #[error("{reference}: not written because blob {digest} failed")]
    Skipped {
        /// The target's reference.
        reference: String,
        /// The first of its blobs that failed.
        digest: Digest,
    },
}

impl PushError {
    /// The class of this failure (that of its cause where it has one).
    pub fn kind(&self) -> werf_push_spec::ErrorKind {
        use werf_push_spec::ErrorKind as K;
        match self {
            PushError::Layout(l) => l.kind(),
            PushError::Connect { source, .. } => source.kind(),
            PushError::Blob { source, .. } => source.kind(),
            PushError::Manifest { source, .. } => source.kind(),
            PushError::Corrupt { .. } => K::Layout,
            PushError::Cancelled => K::Interrupted,
            PushError::Skipped { .. } => K::Partial,
        }
    }

    /// The registry error underneath, if any. (tests read it)
    #[cfg(test)]
    pub(crate) fn registry_error(&self) -> Option<&RegistryError> {
        match self {
            PushError::Blob { source, .. } => Some(source),
            PushError::Manifest { source, .. } => Some(source),
            _ => None,
        }
    }
}
