//! The report of `stages pull` (`pull.rs`): the stages pulled, skipped, failed and
//! unidentified, the chain chosen per image, the bytes fetched, and the error a pull that
//! left something out amounts to. Knows nothing of registries or of the CLI.

use super::error::StoreError;
use werf_push_spec::text::shown;

/// A stage `stages pull` stored.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct PulledStage {
    /// The image's name as annotations hold it (empty for the nameless image).
    pub image: String,
    /// The stage's name in werf's stage order (`from`, `install`, ..., `dockerfile`).
    pub stage: String,
    /// The stage's signature (its tag without `image-stage-`).
    pub signature: String,
    /// Digest of the stage's manifest or index, as its tag holds it.
    pub digest: String,
}

/// A stage tag not pulled, and why (the tag as it may be shown: escaped and cut).
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct SkippedStage {
    /// The stage tag, escaped and cut for printing.
    pub tag: String,
    /// Why it was not pulled, as a sentence.
    pub reason: String,
}

/// One stage of a chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ChainStage {
    /// The stage's name in werf's stage order (`from`, `install`, ..., `dockerfile`).
    pub stage: String,
    /// The stage's signature (its tag without `image-stage-`).
    pub signature: String,
}

/// The chain of stages chosen for one image.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct Chain {
    /// The image (`~` for the nameless one).
    pub image: String,
    /// The storage's stage the chain builds on (its furthest stage of the image), if any.
    pub storage: Option<ChainStage>,
    /// The remote stages chosen, in stage order; the last one is the image.
    pub stages: Vec<ChainStage>,
    /// The image's stage tags not in the chain: other builds, stages the storage is past
    /// already (it holds the image up to a later stage); why: in `skipped`.
    pub left_out: Vec<String>,
}

/// What `stages pull` did, as its report shows it (stage tags the storage held already are
/// not listed).
#[derive(Debug, Clone, Default, serde::Serialize)]
#[non_exhaustive]
pub struct PullReport {
    /// The stages stored, in the order they were added.
    pub pulled: Vec<PulledStage>,
    /// Stage tags not pulled by choice: another build, a stage the storage is past already
    /// (it holds the image up to a later stage), a rule of the storage, not a stage tag. (A
    /// tag whose signature the storage holds is not listed at all.)
    pub skipped: Vec<SkippedStage>,
    /// Stages that could not be pulled: the registry refused or corrupted them.
    pub failed: Vec<SkippedStage>,
    /// Stage tags whose bytes name no image and stage (pushed by another tool): not pulled.
    pub unidentified: Vec<SkippedStage>,
    /// IMAGE_NAMEs asked for (`~` for the nameless image) that the storage cannot be
    /// trusted to hold whole: no stage of theirs at all, a failed stage, or an unidentified
    /// tag that may be one of their stages. Empty without IMAGE_NAMEs.
    pub not_restored: Vec<String>,
    /// Per image, the chain chosen.
    pub chains: Vec<Chain>,
    /// Layer blobs downloaded.
    pub blobs_fetched: usize,
    /// Their total size, in bytes.
    pub bytes_fetched: u64,
    /// Downloads continued with `Range` after a cut.
    pub resumed: u32,
}

impl PullReport {
    /// The error of a pull that could not pull some stages, or left an image named on the
    /// command line incomplete.
    pub fn incomplete(&self, repo: &str) -> Option<StoreError> {
        if !self.failed.is_empty() {
            return Some(StoreError::PullFailed {
                repo: shown(repo),
                failed: self
                    .failed
                    .iter()
                    .map(|s| (s.tag.clone(), s.reason.clone()))
                    .collect(),
            });
        }
        if self.not_restored.is_empty() {
            return None;
        }
        Some(StoreError::NotRestored {
            repo: repo.to_string(),
            images: self.not_restored.clone(),
            unidentified: self.unidentified.iter().map(|s| s.tag.clone()).collect(),
        })
    }
}

/// A report entry: the tag as it may be shown.
pub(super) fn skipped(tag: &str, reason: String) -> SkippedStage {
    SkippedStage {
        tag: shown(tag),
        reason,
    }
}
