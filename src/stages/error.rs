//! The one error type of the stages storage: reading it (a rule of the format broken),
//! writing it (`stages import`, `add`, `pull`, `gc`), and the registry or layout failure
//! underneath, each with its context and the class the command line maps to an exit code.
//! Knows nothing of werf.yaml, exit codes or the CLI.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::layout::LayoutError;
use crate::push::PushError;
use crate::registry::RegistryError;
use crate::spec::ErrorKind;

/// Every failure of `crate::stages`.
#[derive(Debug, Error)]
pub enum StoreError {
    /// Another process holds the storage's lock.
    #[error("{0}")]
    Locked(String),
    #[error("{0}")]
    Layout(#[from] LayoutError),
    /// The stages storage breaks a rule of the format (docs/stages-format.md).
    #[error("{}: stage {entry}: {rule}", .path.display())]
    Rule {
        path: PathBuf,
        entry: String,
        rule: String,
    },
    /// Bad input: what, where and how to fix it.
    #[error("{0}")]
    Invalid(String),
    #[error("{}: {reason}", .path.display())]
    Source { path: PathBuf, reason: String },
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Connecting to the registry failed.
    #[error("{0}")]
    Push(#[source] Box<PushError>),
    #[error("{context}: {source}")]
    Registry {
        context: String,
        #[source]
        source: RegistryError,
    },
    /// `stages pull IMAGE_NAME...` could not restore every named image whole (what it
    /// could restore is stored).
    #[error("{}", not_restored(.repo, .images, .unidentified))]
    NotRestored {
        repo: String,
        /// Image names as given (`~` for the nameless image).
        images: Vec<String>,
        /// Stage tags whose bytes name no image and stage.
        unidentified: Vec<String>,
    },
}

impl From<PushError> for StoreError {
    fn from(e: PushError) -> StoreError {
        StoreError::Push(Box::new(e))
    }
}

impl StoreError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.to_path_buf();
        // A write into the storage that failed inside a copy from `path` is the storage's
        // failure (a full disk, say), not the source's.
        move |source| match LayoutError::carried(source) {
            Ok(inner) => StoreError::Layout(inner),
            Err(source) if crate::layout::safe_fs::is_no_space(&source) => {
                StoreError::Layout(LayoutError::from_io(path, source))
            }
            Err(source) => StoreError::Io { path, source },
        }
    }

    /// The class of this failure (that of its cause where it has one).
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::Locked(_) | StoreError::NotRestored { .. } => ErrorKind::Registry,
            StoreError::Layout(l) => l.kind(),
            StoreError::Rule { .. } => ErrorKind::Layout,
            StoreError::Invalid(_) | StoreError::Source { .. } => ErrorKind::Usage,
            StoreError::Io { source, .. } if crate::layout::safe_fs::is_no_space(source) => {
                ErrorKind::NoSpace
            }
            StoreError::Io { .. } => ErrorKind::Usage,
            StoreError::Push(p) => p.kind(),
            StoreError::Registry { source, .. } => source.kind(),
        }
    }
}

/// The message of `StoreError::NotRestored`.
fn not_restored(repo: &str, images: &[String], unidentified: &[String]) -> String {
    let names = images
        .iter()
        .map(|i| format!("'{}'", crate::spec::text::printable(i)))
        .collect::<Vec<_>>()
        .join(", ");
    if unidentified.is_empty() {
        return format!(
            "image {names} could not be restored: {repo} has no stage of it; publish it with \
             --with-stages first"
        );
    }
    format!(
        "image {names} could not be restored whole from {repo}: the stage tag(s) {} name no \
         image and stage (pushed by another tool than `publish --with-stages`), so they may \
         be its stages; run `publish --with-stages` from a runner that has those stages (it \
         rewrites their tags to name them), or delete the tags",
        crate::spec::text::printable(&unidentified.join(", "))
    )
}
