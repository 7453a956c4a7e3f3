//! Events of a push for whoever draws progress or logs (the CLI). The library never prints.

use std::time::Duration;

use crate::spec::Digest;

#[derive(Debug, Clone)]
pub enum Event<'a> {
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
    Retrying {
        what: String,
        reason: String,
        wait: Duration,
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
