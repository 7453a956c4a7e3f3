//! The push algorithm: the plan (`plan.rs`: up-to-date tags, blobs grouped per (registry,
//! digest), largest first, mount sources), per blob HEAD -> mount -> upload once per
//! (registry, repository, digest), manifests only after all their blobs are confirmed
//! (children once each, `flight.rs`), tags by manifest PUT, events to a `Reporter`.
//! Knows nothing of werf, of the CLI, or of how HTTP is spoken.

#![warn(unreachable_pub)]

mod blob;
mod board;
pub mod cache;
mod cancel;
mod engine;
mod error;
mod flight;
mod image;
mod plan;
mod profile;
mod profile_delete;
mod reporter;
mod summary;
mod transfer;
mod upload_rules;

pub use engine::{Pusher, Target};
pub use error::PushError;
pub use image::{BlobSource, PushImage};
pub use profile::{RegistryProfile, UnknownProfile, UploadPlan};
pub use profile_delete::DeletePath;
pub use reporter::{Event, NoopReporter, Reporter};
pub use summary::{BlobRecord, BlobStatus, Summary, TagRecord, TagStatus};

/// How blobs are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UploadStrategy {
    /// Monolithic up to `monolithic_max`, chunked above.
    #[default]
    Auto,
    Monolithic,
    Chunked,
}

#[derive(Debug, Clone)]
pub struct PushOptions {
    /// Concurrent blob transfers.
    pub jobs: usize,
    pub strategy: UploadStrategy,
    /// Blobs up to this size go in one PUT under `Auto`.
    pub monolithic_max: u64,
    /// PATCH body size of chunked uploads (raised to the registry's `OCI-Chunk-Min-Length`).
    pub chunk_size: u64,
    /// Read-only: plan and report what would happen, write nothing.
    pub dry_run: bool,
    /// Upload limits of every registry of the run; `None`: detected from each host name.
    pub profile: Option<RegistryProfile>,
    /// The known-blob cache's directory (`cache.rs`): mount candidates from earlier runs
    /// on this machine, and what this run learns. `None`: no cache.
    pub known_blobs: Option<std::path::PathBuf>,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            jobs: 8,
            strategy: UploadStrategy::Auto,
            monolithic_max: 256 << 20,
            chunk_size: 32 << 20,
            dry_run: false,
            profile: None,
            known_blobs: None,
        }
    }
}
