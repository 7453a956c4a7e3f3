//! The result of a push: per blob and per tag what happened, and the totals. Serialises to
//! the `--json` summary.

use serde::Serialize;

use werf_push_spec::Digest;

/// What happened to a blob in a repository. Exhaustive on purpose: callers count and print
/// each status, so a new one must reach each of them (the compiler finds them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BlobStatus {
    /// Uploaded by us.
    Pushed,
    /// Mounted from another repository of the registry.
    Mounted,
    /// Already present.
    Skipped,
    /// Dry run: would be uploaded.
    WouldPush,
    /// Dry run: would be mounted from `mounted_from`.
    WouldMount,
}

/// One blob in one repository: what happened to it.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct BlobRecord {
    /// The registry, as the destination names it (host and port).
    pub registry: String,
    /// The repository in it.
    pub repository: String,
    /// The blob.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// What happened to it.
    pub status: BlobStatus,
    /// Bytes sent for this blob, retries included.
    pub bytes_sent: u64,
    /// The repository it was (or would be) mounted from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mounted_from: Option<String>,
}

/// What happened to a tag. Exhaustive on purpose, as [`BlobStatus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TagStatus {
    /// Written (its manifests with it).
    Pushed,
    /// It already named the image's digest: nothing written.
    UpToDate,
    /// Dry run: would be written.
    WouldPush,
}

/// One tag: what happened to it.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct TagRecord {
    /// The destination as given (`registry/repository:tag`, or `@digest`).
    pub reference: String,
    /// The digest of the image's root manifest.
    pub digest: Digest,
    /// What happened to it.
    pub status: TagStatus,
    /// Manifests written for this tag (children of an index included).
    pub manifests_written: usize,
}

/// What a push did: every tag and blob, and the totals ([`Summary::finish`] fills them).
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct Summary {
    /// Every tag up to date, then every tag written, each in the order of the targets; a
    /// tag that failed is among the errors instead.
    pub tags: Vec<TagRecord>,
    /// Every blob per repository, sorted by registry, repository, digest.
    pub blobs: Vec<BlobRecord>,
    /// Bytes of blobs sent, retries included.
    pub bytes_sent: u64,
    /// Blobs uploaded.
    pub blobs_pushed: usize,
    /// Blobs mounted from another repository.
    pub blobs_mounted: usize,
    /// Blobs the registry held already.
    pub blobs_skipped: usize,
    /// Manifests written, children of an index included.
    pub manifests_written: usize,
    /// Wall time of the push, in seconds.
    pub seconds: f64,
}

impl Summary {
    /// Fills the totals from the records, sorting records for deterministic output.
    pub fn finish(&mut self, seconds: f64) {
        self.blobs.sort_by(|a, b| {
            (&a.registry, &a.repository, &a.digest).cmp(&(&b.registry, &b.repository, &b.digest))
        });
        self.bytes_sent = self.blobs.iter().map(|b| b.bytes_sent).sum();
        let count = |s| self.blobs.iter().filter(|b| b.status == s).count();
        self.blobs_pushed = count(BlobStatus::Pushed);
        self.blobs_mounted = count(BlobStatus::Mounted);
        self.blobs_skipped = count(BlobStatus::Skipped);
        self.manifests_written = self.tags.iter().map(|t| t.manifests_written).sum();
        self.seconds = seconds;
    }
}
