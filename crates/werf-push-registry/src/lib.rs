//! The OCI distribution API, one file per area: blobs (HEAD), uploads (POST, PATCH, PUT,
//! mount, status, cancel), small blobs whole (`small_blob.rs`), manifests (HEAD, PUT),
//! deletes (one tag without another), downloads (GET manifest, GET blob with Range), tag
//! lists (Link pagination), the small label-only images cleanup writes
//! (`label_image.rs`), error bodies, what a request was for (`action.rs`) and the hints
//! for refusals no retry cures (`hint.rs`), Location handling.
//! Requests are retried by the transport (`transport::Retrier`, the run's budget); the one
//! loop here is the manifest `PUT` of a link race (`manifest.rs`), on the same engine.
//! Connections: one client per registry host for the whole run (`pool.rs`). Knows nothing of
//! layouts or werf.

#![warn(unreachable_pub)]
#![warn(missing_docs)]

mod action;
mod blob;
pub mod delete;
mod download;
mod error;
mod hint;
mod label_image;
mod location;
mod manifest;
mod pool;
mod small_blob;
mod tags;
mod upload;

pub use action::Action;
pub use download::BlobDownload;
pub use error::{ErrorBody, RegistryError};
pub use hint::hint;
pub use pool::Registries;
pub use upload::{MountOutcome, UploadSession};

use werf_push_transport::Transport;

/// The API of one registry over a connected transport.
#[derive(Debug, Clone)]
pub struct Registry {
    transport: Transport,
}

impl Registry {
    /// The API over `transport`, connected to one registry host.
    pub fn new(transport: Transport) -> Registry {
        Registry { transport }
    }

    /// The transport underneath: its host, retry budget and upload connections.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }
}
