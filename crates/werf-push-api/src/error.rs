//! The one error of the facade: what went wrong, with the reference or source it concerns,
//! each wrapping the error of the layer that failed (its class from [`Error::kind`]).

use thiserror::Error;
use werf_push_engine::{PushError, Summary};
use werf_push_layout::LayoutError;
use werf_push_spec::text::{error_chain, shown};
use werf_push_spec::{Digest, ErrorKind, SpecError};
use werf_push_stages::StoreError;
use werf_push_werf::error::WerfError;

/// A failure of [`Client::push`](crate::Client::push),
/// [`Client::publish`](crate::Client::publish) or
/// [`Client::pull_stages`](crate::Client::pull_stages).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The source is not `oci:DIR`, `oci:DIR:REF` or `oci:DIR@DIGEST`.
    #[error("source '{}' is not supported: use oci:DIR, oci:DIR:REF or oci:DIR@DIGEST{hint}", shown(.source_name))]
    Source {
        /// The source as given.
        source_name: String,
        /// ` (here: oci:DIR)` when the source is a directory, else empty.
        hint: String,
    },
    /// A destination is not a valid reference.
    #[error("destination '{}'", shown(.reference))]
    Destination {
        /// The destination as given.
        reference: String,
        /// What is wrong with it.
        #[source]
        error: SpecError,
    },
    /// A destination names a digest other than the image's.
    #[error("destination '{}' names a digest, but the image's manifest digest is {digest}: drop '@...' or name the right image", shown(.reference))]
    DigestMismatch {
        /// The destination as given.
        reference: String,
        /// The digest of the image's manifest.
        digest: Digest,
    },
    /// The layout could not be opened or read.
    #[error("{0}")]
    Layout(#[from] LayoutError),
    /// Some targets were not pushed; what was pushed is in the summary.
    #[error("{} of the push failed; first: {}", .errors.len(), first(.errors))]
    Push {
        /// Every failure, in the order they happened (never empty).
        errors: Vec<PushError>,
        /// What was done before and besides the failures.
        summary: Box<Summary>,
    },
    /// The publish plan could not be made (werf.yaml, names, tags, the stages storage).
    #[error("{0}")]
    Werf(#[from] WerfError),
    /// The stages storage could not be read or written, or a pull failed.
    #[error("{0}")]
    Stages(#[from] StoreError),
    /// Stopped by the client's cancellation token.
    #[error("interrupted: nothing further written")]
    Interrupted,
}

fn first(errors: &[PushError]) -> String {
    errors.first().map_or_else(String::new, |e| error_chain(e))
}

impl Error {
    /// The class of the failure: bad input, broken layout, network, authentication,
    /// registry, interruption, no space (what a program maps to exit codes or retries).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Source { .. } | Error::Destination { .. } | Error::DigestMismatch { .. } => {
                ErrorKind::Usage
            }
            Error::Layout(e) => e.kind(),
            Error::Push { errors, .. } => errors.first().map_or(ErrorKind::Registry, |e| e.kind()),
            Error::Werf(e) => e.kind(),
            Error::Stages(e) => e.kind(),
            Error::Interrupted => ErrorKind::Interrupted,
        }
    }
}
