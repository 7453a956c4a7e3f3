//! Events of a push for whoever draws progress or logs (the CLI). The library never prints.

use std::time::Duration;

use werf_push_spec::Digest;

/// What just happened in a push, in the order it happens. A match needs a wildcard arm.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event<'a> {
    /// What the run will check, once per (registry, digest), with each blob's size: sent
    /// before the first blob is checked, so that progress knows the most there is to send
    /// before any byte moves (blobs found present or mounted then drop out of it).
    Planned {
        /// Each blob to check and its size in bytes.
        blobs: &'a [(Digest, u64)],
    },
    /// A blob's upload begins: the repository lacks it (its `HEAD` said so, or the mounts
    /// tried failed) and the upload got its `--jobs` permit if it needs one.
    BlobStarted {
        /// The repository it goes to.
        repository: &'a str,
        /// The blob.
        digest: &'a Digest,
        /// Its size in bytes.
        size: u64,
    },
    /// More bytes of a blob were handed to the connection.
    BlobProgress {
        /// The blob.
        digest: &'a Digest,
        /// How far into the blob the bytes handed over reach (a request resuming at an
        /// offset counts from there, a fresh start from 0).
        bytes: u64,
    },
    /// A blob's job in one repository ended: found there, mounted or uploaded (in a dry
    /// run: what would be done).
    BlobDone {
        /// What happened to it.
        record: &'a super::BlobRecord,
    },
    /// A tag was found up to date or written, its manifests with it (in a dry run: would
    /// be written).
    TagDone {
        /// What happened to it.
        record: &'a super::TagRecord,
    },
    /// An operation failed and goes again after `wait`: retry `attempt` of at most `max`.
    Retrying {
        /// What is retried, in a few words: `upload of blob d5e0bb34a1c2`.
        what: String,
        /// The blob it concerns, if any (so progress can show that this blob retries).
        digest: Option<&'a Digest>,
        /// The cause in a few words, no URL.
        reason: String,
        /// How long until it goes again.
        wait: Duration,
        /// This retry's number, from 1.
        attempt: u32,
        /// The most retries it gets (of this operation).
        max: u32,
    },
}

/// Receives a push's events (progress bars, logs); called from the push's tasks, so it
/// must be cheap and never block.
pub trait Reporter: Send + Sync {
    /// One event; called concurrently from several tasks.
    fn event(&self, event: Event<'_>);
}

/// Reports nothing.
pub struct NoopReporter;

impl Reporter for NoopReporter {
    fn event(&self, _: Event<'_>) {}
}
