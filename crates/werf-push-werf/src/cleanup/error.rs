//! The one error type of `cleanup` and `purge`: the project's git repository (missing,
//! shallow, no `origin`), the registry's answers (with the repository or tag they were
//! about), the in-use list, and the naming of the repositories to clean.

use std::path::PathBuf;

use thiserror::Error;

use crate::error::WerfError;
use werf_push_registry::RegistryError;
use werf_push_spec::ErrorKind;

/// Every failure of `cleanup` and `purge`.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CleanupError {
    /// `git` failed or is not there.
    #[error("git in {dir}: {detail}")]
    Git {
        /// The project directory git ran in.
        dir: PathBuf,
        /// What failed (git's own message, made printable).
        detail: String,
    },
    /// A shallow clone lacks the history the policies read.
    #[error(
        "{dir} is a shallow git clone: cleanup would take missing commits and tags for gone \
         ones. Fetch the whole history (`git fetch --unshallow --tags`; GitLab: GIT_DEPTH: \
         0; GitHub Actions: actions/checkout with fetch-depth: 0)"
    )]
    Shallow {
        /// The project directory.
        dir: PathBuf,
    },
    /// Remotes exist but none is `origin`, or `origin`'s branches were never fetched.
    #[error(
        "{dir}: {detail}: cleanup reads the branches of the remote `origin` (as werf does), \
         and without them every git-branch image would look gone"
    )]
    NoOrigin {
        /// The project directory.
        dir: PathBuf,
        /// Which remotes there are, or that `origin` has no branches.
        detail: String,
    },
    /// Multirepo mode without werf.yaml: the images' repositories are unknown.
    #[error(
        "no werf.yaml in {dir}: in multirepo mode each image has its own repository \
         (REPO/IMAGE), and stages of an image not looked at would look unused: run in the \
         project directory or pass --dir"
    )]
    NoWerfYaml {
        /// The project directory (`--dir`).
        dir: PathBuf,
    },
    /// The registry deletes through its own API, not the distribution API: nothing is
    /// changed.
    #[error(
        "{registry} (registry profile {profile}) does not delete tags through the registry \
         API: cleanup and purge cannot delete there, and changed nothing. Deleting needs \
         {api}, with {permission}; `--dry-run` still prints the plan"
    )]
    OwnApi {
        /// The registry host.
        registry: String,
        /// The registry profile in effect (`--registry-profile` or detected).
        profile: String,
        /// The API that deletes there.
        api: &'static str,
        /// The permission that API needs.
        permission: &'static str,
    },
    /// The in-use list (`--keep-images-used-by`) cannot be read or parsed.
    #[error("--keep-images-used-by {source_name}: {detail}")]
    InUse {
        /// The file as given (`-`: stdin).
        source_name: String,
        /// What is wrong with it.
        detail: String,
    },
    /// Connecting to the registry, a read of the scan or the write of the cleanup state
    /// failed.
    #[error("{context}: {source}")]
    Registry {
        /// What was being done (`listing the tags of REPO`, `reading REPO:TAG`, ...).
        context: String,
        /// The registry's failure.
        #[source]
        source: RegistryError,
    },
    /// The repo, naming mode, image names or werf.yaml are not usable.
    #[error("{0}")]
    Werf(#[from] WerfError),
    /// Some tags could not be deleted (the report lists which); `source` is the failure of
    /// the tag that sorts first, whose class is the error's.
    #[error("{failed} of {planned} tags to delete could not be deleted, {reference} first")]
    Incomplete {
        /// Deletions that failed.
        failed: usize,
        /// Deletions the plan had.
        planned: usize,
        /// The failed tag that sorts first (`registry/repository:tag`).
        reference: String,
        /// Its failure.
        #[source]
        source: Box<RegistryError>,
    },
}

impl CleanupError {
    /// The class of this failure (that of its cause where it wraps one).
    pub fn kind(&self) -> ErrorKind {
        match self {
            CleanupError::Git { .. }
            | CleanupError::Shallow { .. }
            | CleanupError::NoOrigin { .. }
            | CleanupError::NoWerfYaml { .. }
            | CleanupError::InUse { .. }
            | CleanupError::OwnApi { .. } => ErrorKind::Usage,
            CleanupError::Registry { source, .. } => source.kind(),
            CleanupError::Incomplete { source, .. } => source.kind(),
            CleanupError::Werf(w) => w.kind(),
        }
    }
}
