//! Errors about a layout on disk; each names the path and, where one applies, the digest.

use std::path::PathBuf;

use thiserror::Error;

use werf_push_spec::{Digest, SpecError};

#[derive(Debug, Error)]
pub enum LayoutError {
    #[error("{path}: not an OCI image layout: {reason}")]
    NotALayout { path: PathBuf, reason: String },
    /// The directory does not exist.
    #[error("{path}: no such directory")]
    Missing { path: PathBuf },
    #[error("{path}: unsupported imageLayoutVersion '{}' (expected 1.x.x)", werf_push_spec::text::shown(.found))]
    Version { path: PathBuf, found: String },
    #[error("{path}: {source}")]
    Manifest {
        path: PathBuf,
        #[source]
        source: SpecError,
    },
    #[error("{path}: blob {digest} is missing from the layout")]
    MissingBlob { path: PathBuf, digest: Digest },
    #[error("{path}: blob {digest} has {actual} bytes but its descriptor says {expected}")]
    WrongSize {
        path: PathBuf,
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error("{path}: blob {digest} has content with digest {actual}: the file is corrupted")]
    DigestMismatch {
        path: PathBuf,
        digest: Digest,
        actual: Digest,
    },
    #[error("{path}: blob {digest} is a symlink leading out of the layout or a non-regular file")]
    NotRegular { path: PathBuf, digest: Digest },
    #[error("{path}: manifest {digest} is {size} bytes, more than the {limit} bytes allowed")]
    TooLarge {
        path: PathBuf,
        digest: Digest,
        size: u64,
        limit: u64,
    },
    /// The writer's `index.json` would be over what readers accept: nothing was written.
    #[error("{path}: index.json would be {size} bytes, more than the {limit} bytes every reader accepts; nothing was changed: the storage holds too many entries for one index.json (keep fewer images or stages in it, or split it into two storages)")]
    IndexTooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    /// `available` is made with `spec::text::shown_list`.
    #[error("{path}: no image '{}' in index.json; available: {available}", werf_push_spec::text::shown(.selector))]
    NoSuchImage {
        path: PathBuf,
        selector: String,
        available: String,
    },
    /// `available` is made with `spec::text::shown_list`.
    #[error("{path}: index.json lists {count} images; name one with oci:DIR:REF or oci:DIR@DIGEST; available: {available}")]
    Ambiguous {
        path: PathBuf,
        count: usize,
        available: String,
    },
    #[error("{path}: index.json lists no image")]
    Empty { path: PathBuf },
    #[error("{path}: nested indexes deeper than {limit} levels (a loop?)")]
    TooDeep { path: PathBuf, limit: usize },
    /// Another writer holds the layout's `LOCK` file.
    #[error(
        "{}: the stages storage is being written by {holder} (it holds {}); wait for it to \
         finish and run again",
        .path.parent().unwrap_or(.path).display(),
        .path.display()
    )]
    Locked { path: PathBuf, holder: String },
    /// The disk (or quota) is full: nothing of the write was kept.
    #[error(
        "{path}: no space left on device (the filesystem mounted at {mount}); nothing was changed"
    )]
    NoSpace { path: PathBuf, mount: PathBuf },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
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
