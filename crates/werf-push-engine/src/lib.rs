//! The push algorithm, orchestrated by `engine.rs`: the plan (`plan.rs`: up-to-date tags,
//! blobs grouped per (registry, digest), largest first, mount sources), each blob group
//! taken into its repositories (`transfer.rs`), per blob HEAD -> mount -> upload once per
//! (registry, repository, digest) (`blob/`, its plan from the registry's profile,
//! `profile.rs`, adapted by `upload_rules.rs`; an abandoned session cancelled by
//! `cancel.rs`), manifests only after all their blobs are confirmed (`board.rs`;
//! `manifests.rs`: children once each, `flight.rs`), tags by manifest PUT, mount sources
//! remembered across runs (`cache`), how a registry deletes tags (`profile_delete.rs`),
//! events to a `Reporter` and the `Summary`. Knows nothing of werf, of the CLI, or of how
//! HTTP is spoken.

#![warn(unreachable_pub)]
#![warn(missing_docs)]

mod blob;
mod board;
pub mod cache;
mod cancel;
mod engine;
mod error;
mod flight;
mod image;
mod manifests;
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
pub use profile::{RegistryProfile, UnknownProfile};
pub use profile_delete::DeletePath;
pub use reporter::{Event, NoopReporter, Reporter};
pub use summary::{BlobRecord, BlobStatus, Summary, TagRecord, TagStatus};

/// How blobs are sent (`--upload-strategy`). Exhaustive: a blob goes in one request, in
/// chunks, or either by its size; there is no other way in the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UploadStrategy {
    /// Monolithic up to `monolithic_max`, chunked above.
    #[default]
    Auto,
    /// Every blob in one `PUT` (after the session's `POST`).
    Monolithic,
    /// Every blob in `PATCH` chunks of `chunk_size`, the last one in the closing `PUT`.
    Chunked,
}

/// How a push runs: concurrency, upload strategy and sizes, dry run, registry profile,
/// known-blob cache. Built from [`PushOptions::default`] and the `with_*` setters.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PushOptions {
    /// Concurrent transfers of blobs of 1 MiB or more (bytes in flight); 0 counts as 1.
    pub jobs: usize,
    /// How blobs are sent; a registry's profile may still refuse one way.
    pub strategy: UploadStrategy,
    /// Blobs up to this size (bytes) go in one PUT under `Auto`.
    pub monolithic_max: u64,
    /// PATCH body size of chunked uploads, in bytes (raised to the registry's
    /// `OCI-Chunk-Min-Length`, lowered to its profile's cap).
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

impl PushOptions {
    /// Concurrent transfers of blobs of 1 MiB or more (`--jobs`; 0 counts as 1).
    pub fn with_jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs;
        self
    }

    /// How blobs are sent (`--upload-strategy`).
    pub fn with_strategy(mut self, strategy: UploadStrategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// The largest blob sent in one `PUT` under [`UploadStrategy::Auto`], in bytes.
    pub fn with_monolithic_max(mut self, bytes: u64) -> Self {
        self.monolithic_max = bytes;
        self
    }

    /// The `PATCH` body size of chunked uploads, in bytes.
    pub fn with_chunk_size(mut self, bytes: u64) -> Self {
        self.chunk_size = bytes;
        self
    }

    /// Plan and report what would happen, write nothing.
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Upload limits of every registry of the run; `None`: detected from each host name.
    pub fn with_profile(mut self, profile: Option<RegistryProfile>) -> Self {
        self.profile = profile;
        self
    }

    /// The known-blob cache's directory ([`cache::default_dir`] finds the usual one);
    /// `None`: no cache.
    pub fn with_known_blobs(mut self, dir: Option<std::path::PathBuf>) -> Self {
        self.known_blobs = dir;
        self
    }
}
