//! Registry-side `cleanup` and `purge`, as werf v1.1 does them: images by policies (their
//! `werf-tag-strategy` label against the project's git refs, limits and expiry; images in
//! use kept), then the stages synchronised with the images that remain (a stage is kept
//! while its layers begin a remaining image's, and an unreferenced one only goes once an
//! earlier cleanup saw it unreferenced the grace period ago); `purge` deletes every image
//! and stage of the project. The scan (`scan.rs`), the pure decisions (`policy.rs`,
//! `stages.rs`, `plan.rs`), the git facts (`git.rs`), the in-use list (`used.rs`), the
//! run (`engine.rs`) and its deletions (`delete.rs`), through `registry::delete` (one tag,
//! never another); why each tag is kept or deleted (`reason.rs`), config times
//! (`time.rs`), the one error (`error.rs`). Callers use `run` with a `CleanupRequest`
//! (whose policies and in-use list are the types of `policy` and `used`); the steps stay
//! inside.

mod delete;
mod engine;
mod error;
mod git;
mod plan;
pub mod policy;
mod reason;
mod scan;
mod stages;
mod time;
pub mod used;

use std::collections::BTreeMap;

pub use engine::{run, CleanupRequest, DEFAULT_GRACE_SECS};

pub use error::CleanupError;
pub use reason::Reason;

/// The tag in REPO where cleanup keeps its state (when it first saw each unreferenced stage).
pub(crate) const STATE_TAG: &str = "werf-push-cleanup-state";
/// The label of the state tag's config that holds the state (JSON: digest -> unix seconds).
pub(crate) const STATE_LABEL: &str = "werf-push-cleanup-state";

/// What a run tells as it goes (the CLI prints it as progress).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The scan is done: tags listed in repositories, manifests and configs read.
    Scanned {
        /// Repositories listed (REPO, and REPO/IMAGE per image in multirepo mode).
        repositories: usize,
        /// Tags found in them.
        tags: usize,
        /// Manifests read (by tag, and children of indexes by digest).
        manifests: usize,
        /// Distinct configs read.
        configs: usize,
    },
    /// The plan is made.
    Planned {
        /// Tags kept.
        keep: usize,
        /// Tags to delete (in a dry run: that would be deleted).
        delete: usize,
    },
    /// Deletions done so far (every 100th, and the last).
    Deleting {
        /// Deletions finished, failed ones included.
        done: usize,
        /// Deletions of the plan.
        total: usize,
    },
}

/// Receives a run's events; the library prints nothing itself.
pub trait Reporter: Send + Sync {
    /// Called for each event, in order, from the task that runs the cleanup.
    fn event(&self, e: Event);
}

/// A reporter that ignores every event.
pub struct Silent;

impl Reporter for Silent {
    fn event(&self, _: Event) {}
}

/// What a tag is, for the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Kind {
    /// An image werf or werf-push published (its config's werf labels match its tag).
    Image,
    /// A stage of the stages cache (`image-stage-<signature>` in REPO).
    Stage,
    /// The cleanup's own state tag.
    State,
    /// Not werf's (or a placeholder of an interrupted cleanup).
    Other,
}

/// One tag of the plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct PlanEntry {
    /// `registry/repository:tag`.
    pub reference: String,
    /// The repository path, without the registry host.
    pub repository: String,
    /// The tag's name (what follows the `:` in `reference`).
    pub tag: String,
    /// The digest of the manifest the tag pointed at when scanned.
    pub digest: String,
    /// What the tag is.
    pub kind: Kind,
    /// `werf-image-name` (empty: the nameless image) of an image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// `werf-tag-strategy` of an image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// Whether the plan deletes the tag (`reason` says why, either way).
    pub delete: bool,
    /// Why the tag is kept or deleted.
    pub reason: Reason,
    /// How the tag was deleted; `None` when it was kept, in a dry run, or when its
    /// deletion failed (the report's failures say why).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_by: Option<werf_push_registry::delete::TagDeletion>,
}

/// Counts of a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Summary {
    /// Tags considered.
    pub scanned: usize,
    /// Tags kept.
    pub kept: usize,
    /// Tags the plan deletes (in a dry run: would delete), failed deletions included.
    pub deleted: usize,
    /// Tags by reason (kebab-case, as in the plan).
    pub by_reason: BTreeMap<String, usize>,
    /// Bytes of blobs and manifests that only deleted tags reference: what the registry's
    /// garbage collector can free (an estimate over the repositories scanned).
    pub freeable_bytes: u64,
    /// Deletions that failed.
    pub failed: usize,
}

/// The report of a cleanup or purge (`--cleanup-report-path`): every tag considered.
#[derive(Debug, Default, serde::Serialize)]
#[non_exhaustive]
pub struct Report {
    /// The `--repo` the run cleaned, as given.
    pub repo: String,
    /// `cleanup` or `purge`.
    pub command: String,
    /// Whether the run only planned (`--dry-run`): nothing was deleted or written.
    pub dry_run: bool,
    /// Every tag considered, with its decision, sorted by repository and tag.
    pub tags: Vec<PlanEntry>,
    /// The counts of `tags`.
    pub summary: Summary,
    /// Manifests the scan read (by tag, and children of indexes by digest).
    pub manifest_reads: usize,
    /// Distinct configs the scan read.
    pub config_reads: usize,
    /// Why deletions failed: `reference: error`, sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// The failed deletion whose reference sorts first (so that the same failures give
    /// the same error whatever order they came in): its reference and error.
    #[serde(skip)]
    pub first_failure: Option<(String, werf_push_registry::RegistryError)>,
}

impl Report {
    /// The error of a run whose deletions did not all succeed (taken: asked once).
    pub fn incomplete(&mut self) -> Option<CleanupError> {
        let (reference, source) = self.first_failure.take()?;
        Some(CleanupError::Incomplete {
            failed: self.errors.len(),
            planned: self.tags.iter().filter(|t| t.delete).count(),
            reference,
            source: Box::new(source),
        })
    }
}
