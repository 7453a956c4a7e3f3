//! Events of a push for whoever draws progress or logs (the CLI). The library never prints.

use std::time::Duration;

use werf_push_spec::Digest;

#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event<'a> {
    /// What the run will check, once per (registry, digest), with each blob's size: sent
    /// before the first blob is checked, so that progress knows the most there is to send
    /// before any byte moves (blobs found present or mounted then drop out of it).
    Planned {
        blobs: &'a [(Digest, u64)],
    },
    /// A blob transfer begins (after HEAD said it is absent).
    BlobStarted {
        repository: &'a str,
        digest: &'a Digest,
        size: u64,
    },
    /// More bytes of a blob were handed to the connection.
    BlobProgress {
        digest: &'a Digest,
        bytes: u64,
    },
    BlobDone {
        record: &'a super::BlobRecord,
    },
    TagDone {
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
        wait: Duration,
        attempt: u32,
        max: u32,
    },
}

pub trait Reporter: Send + Sync {
    fn event(&self, event: Event<'_>);
}

/// Reports nothing.
pub struct NoopReporter;

impl Reporter for NoopReporter {
    fn event(&self, _: Event<'_>) {}
}
