//! Errors about a layout on disk; each names the path and, where one applies, the digest.

use std::path::PathBuf;

use thiserror::Error;

use werf_push_spec::{Digest, SpecError};

/// A layout that cannot be opened, read or written; each names the path it concerns.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// The directory is no OCI image layout: `oci-layout` missing or not JSON, or
    /// `index.json` not an index.
    #[error("{path}: not an OCI image layout: {reason}")]
    NotALayout {
        /// The layout's directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The directory does not exist.
    #[error("{path}: no such directory")]
    Missing {
        /// The directory named.
        path: PathBuf,
    },
    /// `oci-layout` names an `imageLayoutVersion` that is not 1.x (or none).
    #[error("{path}: unsupported imageLayoutVersion '{}' (expected 1.x.x)", werf_push_spec::text::shown(.found))]
    Version {
        /// The `oci-layout` file.
        path: PathBuf,
        /// The version it names (empty when none).
        found: String,
    },
    /// `index.json` or a manifest blob does not parse as a manifest.
    #[error("{path}: {source}")]
    Manifest {
        /// The file read.
        path: PathBuf,
        /// Why it does not parse.
        #[source]
        source: SpecError,
    },
    /// A blob a manifest references has no file in `blobs/`.
    #[error("{path}: blob {digest} is missing from the layout")]
    MissingBlob {
        /// Where the blob should be.
        path: PathBuf,
        /// The blob's digest.
        digest: Digest,
    },
    /// A blob's file has another size than its descriptor says.
    #[error("{path}: blob {digest} has {actual} bytes but its descriptor says {expected}")]
    WrongSize {
        /// The blob's file.
        path: PathBuf,
        /// The blob's digest.
        digest: Digest,
        /// The size in the descriptor, in bytes.
        expected: u64,
        /// The size of the file, in bytes.
        actual: u64,
    },
    /// A blob's content does not hash to its digest.
    #[error("{path}: blob {digest} has content with digest {actual}: the file is corrupted")]
    DigestMismatch {
        /// The blob's file.
        path: PathBuf,
        /// The digest the blob is named by.
        digest: Digest,
        /// The digest of its content.
        actual: Digest,
    },
    /// A blob's path is a link leading out of the layout, or not a regular file.
    #[error("{path}: blob {digest} is a symlink leading out of the layout or a non-regular file")]
    NotRegular {
        /// The blob's path.
        path: PathBuf,
        /// The blob's digest.
        digest: Digest,
    },
    /// A blob read whole (a manifest or config) is larger than [`MAX_MANIFEST`](crate::MAX_MANIFEST).
    #[error("{path}: manifest {digest} is {size} bytes, more than the {limit} bytes allowed")]
    TooLarge {
        /// The blob's file (a manifest's or a config's).
        path: PathBuf,
        /// The blob's digest.
        digest: Digest,
        /// Its size, in bytes.
        size: u64,
        /// The most allowed, in bytes.
        limit: u64,
    },
    /// The writer's `index.json` would be over what readers accept: nothing was written.
    #[error("{path}: index.json would be {size} bytes, more than the {limit} bytes every reader accepts; nothing was changed: the storage holds too many entries for one index.json (keep fewer images or stages in it, or split it into two storages)")]
    IndexTooLarge {
        /// The `index.json` not written.
        path: PathBuf,
        /// The size it would have, in bytes.
        size: u64,
        /// The most readers accept, in bytes.
        limit: u64,
    },
    /// No entry of `index.json` matches the image selector.
    #[error("{path}: no image '{}' in index.json; available: {available}", werf_push_spec::text::shown(.selector))]
    NoSuchImage {
        /// The layout's directory.
        path: PathBuf,
        /// The selector given (a ref name or a digest).
        selector: String,
        /// The images there are, made with `spec::text::shown_list`.
        available: String,
    },
    /// `index.json` lists several images and no selector chose one.
    #[error("{path}: index.json lists {count} images; name one with oci:DIR:REF or oci:DIR@DIGEST; available: {available}")]
    Ambiguous {
        /// The layout's directory.
        path: PathBuf,
        /// How many images it lists.
        count: usize,
        /// The images there are, made with `spec::text::shown_list`.
        available: String,
    },
    /// `index.json` lists no image.
    #[error("{path}: index.json lists no image")]
    Empty {
        /// The layout's directory.
        path: PathBuf,
    },
    /// Indexes nest deeper than allowed (a loop of indexes, or hostile input).
    #[error("{path}: nested indexes deeper than {limit} levels (a loop?)")]
    TooDeep {
        /// The layout's directory.
        path: PathBuf,
        /// The deepest nesting allowed.
        limit: usize,
    },
    /// Another writer holds the layout's `LOCK` file.
    #[error(
        "{}: the stages storage is being written by {holder} (it holds {}); wait for it to \
         finish and run again",
        .path.parent().unwrap_or(.path).display(),
        .path.display()
    )]
    Locked {
        /// The `LOCK` file.
        path: PathBuf,
        /// Who holds it: `process <pid>`, or `another process` when it wrote no id.
        holder: String,
    },
    /// The disk (or quota) is full: nothing of the write was kept.
    #[error(
        "{path}: no space left on device (the filesystem mounted at {mount}); nothing was changed"
    )]
    NoSpace {
        /// The file being written.
        path: PathBuf,
        /// The mount point of its filesystem.
        mount: PathBuf,
    },
    /// Any other failure to read or write a file of the layout.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
}

impl LayoutError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> LayoutError {
        let path = path.into();
        move |source| LayoutError::from_io(path, source)
    }

    /// An I/O error at `path`; a full disk becomes [`LayoutError::NoSpace`].
    pub fn from_io(path: PathBuf, source: std::io::Error) -> LayoutError {
        let source = match LayoutError::carried(source) {
            Ok(inner) => return inner,
            Err(source) => source,
        };
        if super::safe_fs::is_no_space(&source) {
            let mount = mount_point(&path);
            LayoutError::NoSpace { path, mount }
        } else {
            LayoutError::Io { path, source }
        }
    }

    /// Wraps this error in an `io::Error` (for `Write` impls), so that whoever maps the
    /// `io::Error` later gets it back whole through [`LayoutError::carried`].
    pub(crate) fn into_io(self) -> std::io::Error {
        let kind = match &self {
            LayoutError::Io { source, .. } => source.kind(),
            LayoutError::NoSpace { .. } => std::io::ErrorKind::StorageFull,
            _ => std::io::ErrorKind::Other,
        };
        std::io::Error::new(kind, self)
    }

    /// The `LayoutError` an `io::Error` carries (a write into the layout that failed while
    /// copying from somewhere else), or the `io::Error` back.
    pub fn carried(e: std::io::Error) -> Result<LayoutError, std::io::Error> {
        if e.get_ref().is_some_and(|inner| inner.is::<LayoutError>()) {
            match e.into_inner().map(|b| b.downcast::<LayoutError>()) {
                Some(Ok(inner)) => Ok(*inner),
                _ => unreachable!("checked just above"),
            }
        } else {
            Err(e)
        }
    }

    /// The class of this failure.
    pub fn kind(&self) -> werf_push_spec::ErrorKind {
        use werf_push_spec::ErrorKind as K;
        match self {
            LayoutError::Missing { .. }
            | LayoutError::Ambiguous { .. }
            | LayoutError::NoSuchImage { .. } => K::Usage,
            LayoutError::NoSpace { .. } => K::NoSpace,
            LayoutError::Locked { .. } => K::Locked,
            _ => K::Layout,
        }
    }

    /// A write failed because the disk is full.
    pub fn is_no_space(&self) -> bool {
        matches!(self, LayoutError::NoSpace { .. })
    }
}

/// The mount point of the filesystem holding `path` (its nearest existing ancestor).
fn mount_point(path: &std::path::Path) -> PathBuf {
    use std::os::unix::fs::MetadataExt;
    let mut cur = path;
    let mut dev = None;
    let mut found = path.to_path_buf();
    loop {
        if let Ok(m) = std::fs::metadata(cur) {
            match dev {
                None => dev = Some(m.dev()),
                Some(d) if d != m.dev() => return found,
                Some(_) => {}
            }
            found = cur.to_path_buf();
        }
        match cur.parent() {
            Some(p) if !p.as_os_str().is_empty() => cur = p,
            _ => return found,
        }
    }
}
