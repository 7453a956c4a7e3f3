//! The result of a push: per blob and per tag what happened, and the totals. Serialises to
//! the `--json` summary.

use serde::Serialize;

use werf_push_spec::Digest;

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

#[derive(Debug, Clone, Serialize)]
pub struct BlobRecord {
    pub registry: String,
    pub repository: String,
    pub digest: Digest,
    pub size: u64,
    pub status: BlobStatus,
    /// Bytes sent for this blob, retries included.
    pub bytes_sent: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mounted_from: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TagStatus {
    Pushed,
    UpToDate,
    WouldPush,
}

#[derive(Debug, Clone, Serialize)]
pub struct TagRecord {
    pub reference: String,
    pub digest: Digest,
    pub status: TagStatus,
    /// Manifests written for this tag (children of an index included).
    pub manifests_written: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct Summary {
    pub tags: Vec<TagRecord>,
    pub blobs: Vec<BlobRecord>,
    pub bytes_sent: u64,
    pub blobs_pushed: usize,
    pub blobs_mounted: usize,
    pub blobs_skipped: usize,
    pub manifests_written: usize,
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
