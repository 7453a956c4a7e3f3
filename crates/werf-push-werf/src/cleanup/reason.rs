//! Why a tag is kept or deleted: the one list of reasons the plan, the report and the
//! summary use, each with the words the plan prints.

use std::fmt;

/// Why a tag is kept or deleted; written kebab-case in the report (`stage-unused`), and
/// as words (`as_str`) in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Reason {
    // Kept.
    /// `custom` (or an unknown strategy): cleanup never deletes it.
    Custom,
    /// `git-branch`: a branch of the project slugs to its tag.
    BranchExists,
    /// Its git tag, commit or signature is within the strategy's limit and expiry.
    WithinLimits,
    /// Its reference or digest is in use (`--keep-images-used-by`).
    InUse,
    /// Not an image or stage of werf (no werf labels, or labels that do not match the tag).
    NotWerf,
    /// An image the command was not asked to clean (IMAGE_NAME given).
    NotSelected,
    /// A stage whose layers begin a remaining image's.
    StageAncestor,
    /// An unreferenced stage not yet seen unreferenced `--keep-stages-built-within` ago.
    StageGrace,
    /// The cleanup's own state tag.
    CleanupState,
    // Deleted.
    /// `git-branch`: no branch of the project slugs to its tag.
    BranchGone,
    /// `git-tag`: the git tag it names is gone.
    GitTagGone,
    /// `git-commit`: the commit it names is not in the repository.
    CommitGone,
    /// Past the strategy's limit: newer images of the same name and strategy fill it.
    OverLimit,
    /// Older than the strategy's expiry (the git tag's or commit's date, or `created`).
    Expired,
    /// A stage that no remaining image descends from, past the grace period.
    StageUnused,
    /// A placeholder left by a cleanup killed while deleting a tag.
    Placeholder,
    /// `purge`: everything of the project.
    Purge,
}

impl Reason {
    /// The words the plan prints for this reason.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Custom => "custom tag: never deleted by cleanup",
            Reason::BranchExists => "the git branch exists",
            Reason::WithinLimits => "within the strategy's limit and expiry",
            Reason::InUse => "in use",
            Reason::NotWerf => "not published by werf or werf-push",
            Reason::NotSelected => "image not selected",
            Reason::StageAncestor => "a stage of a remaining image",
            Reason::StageGrace => "unused stage within the grace period",
            Reason::CleanupState => "cleanup state",
            Reason::BranchGone => "the git branch is gone",
            Reason::GitTagGone => "the git tag is gone",
            Reason::CommitGone => "the git commit is gone",
            Reason::OverLimit => "over the strategy's limit",
            Reason::Expired => "older than the strategy's expiry",
            Reason::StageUnused => "a stage of no remaining image",
            Reason::Placeholder => "left by an interrupted cleanup",
            Reason::Purge => "purge",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
