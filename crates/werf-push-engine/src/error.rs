//! Push failures, each naming the reference, digest or path involved.

use std::path::PathBuf;
use std::sync::Arc;

use thiserror::Error;

use werf_push_layout::LayoutError;
use werf_push_registry::RegistryError;
use werf_push_spec::Digest;
use werf_push_transport::TransportError;

#[derive(Debug, Error)]
pub enum PushError {
    #[error("{0}")]
    Layout(#[from] LayoutError),
    #[error("{registry}: {source}")]
    Connect {
        registry: String,
        #[source]
        source: TransportError,
    },
    #[error("blob {digest} to {repository}: {source}")]
    Blob {
        repository: String,
        digest: Digest,
        #[source]
        source: RegistryError,
    },
    #[error("{path}: blob {digest} does not match its digest ({how}): the layout is corrupted; rebuild or re-import the image")]
    Corrupt {
        digest: Digest,
        path: PathBuf,
        /// What showed it, e.g. the digest the content really has.
        how: String,
    },
    #[error("interrupted: open uploads cancelled, no further manifest written")]
    Cancelled,
    /// `source` is shared: a child manifest written once for several images fails them all
    /// with its own answer.
    #[error("manifest {digest} for {reference}: {source}")]
    Manifest {
        reference: String,
        digest: Digest,
        #[source]
        source: Arc<RegistryError>,
    },
    #[error("{reference}: not written because blob {digest} failed")]
    Skipped { reference: String, digest: Digest },
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

    /// The registry error underneath, if any.
    pub fn registry_error(&self) -> Option<&RegistryError> {
        match self {
            PushError::Blob { source, .. } => Some(source),
            PushError::Manifest { source, .. } => Some(source),
            _ => None,
        }
    }
}
