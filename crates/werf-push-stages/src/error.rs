//! The one error type of the stages storage: reading it (a rule of the format broken),
//! writing it (`stages import`, `add`, `pull`, `gc`), and the registry or layout failure
//! underneath, each with its context and the class the command line maps to an exit code.
//! Knows nothing of werf.yaml, exit codes or the CLI.

use std::path::{Path, PathBuf};

use thiserror::Error;

use werf_push_layout::LayoutError;
use werf_push_registry::RegistryError;
use werf_push_spec::{Digest, ErrorKind};

/// Every failure of the stages storage and of its commands (`import`, `add`, `pull`,
/// `gc`). New variants may come: match with a wildcard arm and use [`StoreError::kind`].
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The storage as an OCI layout could not be opened, read or written (a missing or
    /// broken file, a lock another writer holds, a full disk).
    #[error("{0}")]
    Layout(#[from] LayoutError),
    /// The stages storage breaks a rule of the format (docs/stages-format.md).
    #[error("{}: stage {entry}: {rule}", .path.display())]
    Rule {
        /// The stages storage, or its `index.json`.
        path: PathBuf,
        /// The entry that breaks it: its signature, ref name, digest or position (empty
        /// when no entry is at fault).
        entry: String,
        /// The rule broken, as a sentence.
        rule: String,
    },
    /// A value given on the command line cannot be used: which one, why, how to fix it.
    #[error("{arg}: {reason}")]
    Arg {
        /// The argument as the user gave it (`--parent SIG`, `IMAGE_NAME`).
        arg: String,
        /// Why it cannot be used and what to give instead.
        reason: String,
    },
    /// A source to import or add (a layout, an archive, a directory) cannot be a stage.
    #[error("{}: {reason}", .path.display())]
    Source {
        /// The source's path.
        path: PathBuf,
        /// What makes it unusable.
        reason: String,
    },
    /// A new stage breaks a rule of the stages storage, so it is not added.
    #[error("{rule}")]
    Refused {
        /// The new stage's signature.
        signature: String,
        /// The rule it breaks, as a sentence.
        rule: String,
    },
    /// A path is not a stages storage werf-push may write (no `oci-layout`, a link).
    #[error("{}: {reason}", .path.display())]
    NotStorage {
        /// The path given as the stages storage (or the offending path inside it).
        path: PathBuf,
        /// What it is instead, and what was left untouched.
        reason: String,
    },
    /// Reading a source or writing the storage failed at the file-system level.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or directory being read or written.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A registry request of `stages pull` failed (after retries).
    #[error("{context}: {source}")]
    Registry {
        /// What was being done (the registry's host, or the step of the pull).
        context: String,
        /// The registry's failure, which names the request.
        #[source]
        source: RegistryError,
    },
    /// `stages pull --repo` is not a repository.
    #[error("--repo {repo}: {reason}")]
    PullRepo {
        /// The `--repo` value, escaped for printing.
        repo: String,
        /// Why it is not a repository.
        reason: String,
    },
    /// A blob `stages pull` downloaded has another digest than its descriptor's.
    #[error(
        "blob {digest} downloaded from {repo} has digest {actual}: rejected, nothing of it was \
         stored (the registry or a proxy corrupted it)"
    )]
    PulledCorrupt {
        /// The repository the blob came from.
        repo: String,
        /// The digest the descriptor names.
        digest: Digest,
        /// The digest of the bytes received.
        actual: Digest,
    },
    /// A blob `stages pull` downloaded is longer than its descriptor says.
    #[error(
        "blob {digest} downloaded from {repo} is longer than the {size} bytes its descriptor \
         says: rejected, nothing of it was stored"
    )]
    PulledTooLong {
        /// The repository the blob came from.
        repo: String,
        /// The blob's digest.
        digest: Digest,
        /// The size its descriptor gives, in bytes.
        size: u64,
    },
    /// `stages pull` could not pull some stages (the others are stored).
    #[error("{}", pull_failed(.repo, .failed))]
    PullFailed {
        /// The repository pulled from, escaped for printing.
        repo: String,
        /// (stage tag, why), as the report lists them.
        failed: Vec<(String, String)>,
    },
    /// `stages pull IMAGE_NAME...` could not restore every named image whole (what it
    /// could restore is stored).
    #[error("{}", not_restored(.repo, .images, .unidentified))]
    NotRestored {
        /// The repository pulled from.
        repo: String,
        /// Image names as given (`~` for the nameless image).
        images: Vec<String>,
        /// Stage tags whose bytes name no image and stage.
        unidentified: Vec<String>,
    },
}

impl StoreError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.to_path_buf();
        // A write into the storage that failed inside a copy from `path` is the storage's
        // failure (a full disk, say), not the source's.
        move |source| match LayoutError::carried(source) {
            Ok(inner) => StoreError::Layout(inner),
            Err(source) if werf_push_layout::safe_fs::is_no_space(&source) => {
                StoreError::Layout(LayoutError::from_io(path, source))
            }
            Err(source) => StoreError::Io { path, source },
        }
    }

    /// The class of this failure (that of its cause where it has one).
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::NotRestored { .. } | StoreError::PullFailed { .. } => ErrorKind::Partial,
            StoreError::PulledCorrupt { .. } | StoreError::PulledTooLong { .. } => {
                ErrorKind::Integrity
            }
            StoreError::PullRepo { .. } => ErrorKind::Usage,
            StoreError::Layout(l) => l.kind(),
            StoreError::Rule { .. } => ErrorKind::Layout,
            StoreError::Arg { .. }
            | StoreError::Source { .. }
            | StoreError::Refused { .. }
            | StoreError::NotStorage { .. } => ErrorKind::Usage,
            StoreError::Io { source, .. } if werf_push_layout::safe_fs::is_no_space(source) => {
                ErrorKind::NoSpace
            }
            StoreError::Io { .. } => ErrorKind::Usage,
            StoreError::Registry { source, .. } => source.kind(),
        }
    }
}

/// The message of `StoreError::PullFailed`: how many, and the first with its cause.
fn pull_failed(repo: &str, failed: &[(String, String)]) -> String {
    let first = failed
        .first()
        .map(|(tag, why)| format!("; the first, {tag}: {why}"))
        .unwrap_or_default();
    format!(
        "{} stage(s) of {repo} could not be pulled{first}",
        failed.len()
    )
}

/// The message of `StoreError::NotRestored`.
fn not_restored(repo: &str, images: &[String], unidentified: &[String]) -> String {
    let names = images
        .iter()
        .map(|i| format!("'{}'", werf_push_spec::text::printable(i)))
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
        werf_push_spec::text::printable(&unidentified.join(", "))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_table() {
        let digest: Digest = format!("sha256:{}", "a".repeat(64)).parse().unwrap();
        let path = || PathBuf::from("/s");
        let text = || String::from("x");
        let cases = [
            (
                StoreError::Layout(LayoutError::Locked {
                    path: path(),
                    holder: text(),
                }),
                ErrorKind::Locked,
            ),
            (
                StoreError::Rule {
                    path: path(),
                    entry: text(),
                    rule: text(),
                },
                ErrorKind::Layout,
            ),
            (
                StoreError::Arg {
                    arg: "--parent".into(),
                    reason: text(),
                },
                ErrorKind::Usage,
            ),
            (
                StoreError::Source {
                    path: path(),
                    reason: text(),
                },
                ErrorKind::Usage,
            ),
            (
                StoreError::Refused {
                    signature: text(),
                    rule: text(),
                },
                ErrorKind::Usage,
            ),
            (
                StoreError::NotStorage {
                    path: path(),
                    reason: text(),
                },
                ErrorKind::Usage,
            ),
            (
                StoreError::Io {
                    path: path(),
                    source: std::io::Error::from_raw_os_error(28),
                },
                ErrorKind::NoSpace,
            ),
            (
                StoreError::Io {
                    path: path(),
                    source: std::io::Error::from(std::io::ErrorKind::NotFound),
                },
                ErrorKind::Usage,
            ),
            (
                StoreError::PullRepo {
                    repo: text(),
                    reason: text(),
                },
                ErrorKind::Usage,
            ),
            (
                StoreError::PulledCorrupt {
                    repo: text(),
                    digest: digest.clone(),
                    actual: digest.clone(),
                },
                ErrorKind::Integrity,
            ),
            (
                StoreError::PulledTooLong {
                    repo: text(),
                    digest,
                    size: 1,
                },
                ErrorKind::Integrity,
            ),
            (
                StoreError::PullFailed {
                    repo: text(),
                    failed: vec![(text(), text())],
                },
                ErrorKind::Partial,
            ),
            (
                StoreError::NotRestored {
                    repo: text(),
                    images: vec![text()],
                    unidentified: Vec::new(),
                },
                ErrorKind::Partial,
            ),
        ];
        for (e, want) in cases {
            assert_eq!(e.kind(), want, "{e}");
        }
    }
}
