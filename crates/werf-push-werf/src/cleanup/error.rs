//! The one error type of `cleanup` and `purge`: the project's git repository (missing,
//! shallow, no `origin`), the registry's answers (with the repository or tag they were
//! about), the in-use list, and the naming of the repositories to clean.

use std::path::PathBuf;

use thiserror::Error;

use crate::error::WerfError;
use werf_push_registry::RegistryError;
use werf_push_spec::ErrorKind;

#[derive(Debug, Error)]
pub enum CleanupError {
    /// `git` failed or is not there.
    #[error("git in {dir}: {detail}")]
    Git { dir: PathBuf, detail: String },
    /// A shallow clone lacks the history the policies read.
    #[error(
        "{dir} is a shallow git clone: cleanup would take missing commits and tags for gone \
         ones. Fetch the whole history (`git fetch --unshallow --tags`; GitLab: GIT_DEPTH: \
         0; GitHub Actions: actions/checkout with fetch-depth: 0)"
    )]
    Shallow { dir: PathBuf },
    /// Remotes exist but none is `origin`, or `origin`'s branches were never fetched.
    #[error(
        "{dir}: {detail}: cleanup reads the branches of the remote `origin` (as werf does), \
         and without them every git-branch image would look gone"
    )]
    NoOrigin { dir: PathBuf, detail: String },
    /// Multirepo mode without werf.yaml: the images' repositories are unknown.
    #[error(
        "no werf.yaml in {dir}: in multirepo mode each image has its own repository \
         (REPO/IMAGE), and stages of an image not looked at would look unused: run in the \
         project directory or pass --dir"
    )]
    NoWerfYaml { dir: PathBuf },
    /// The registry deletes through its own API, not the distribution API: nothing is
    /// changed.
    #[error(
        "{registry} (registry profile {profile}) does not delete tags through the registry \
         API: cleanup and purge cannot delete there, and changed nothing. Deleting needs \
         {api}, with {permission}; `--dry-run` still prints the plan"
    )]
    OwnApi {
        registry: String,
        profile: String,
        api: &'static str,
        permission: &'static str,
    },
    #[error("--keep-images-used-by {source_name}: {detail}")]
    InUse { source_name: String, detail: String },
    #[error("{context}: {source}")]
    Registry {
        context: String,
        #[source]
        source: RegistryError,
    },
    #[error("{0}")]
    Werf(#[from] WerfError),
    /// Some tags could not be deleted (the report lists which); `source` is the first
    /// failure, whose class is the error's.
    #[error("{failed} of {planned} tags to delete could not be deleted, {reference} first")]
    Incomplete {
        failed: usize,
        planned: usize,
        reference: String,
        #[source]
        source: Box<RegistryError>,
    },
}

impl CleanupError {
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
