//! OCI image layout on disk (image-spec `image-layout.md`): open and validate, read
//! `index.json`, select an image, walk nested indexes, check blobs (existence, size, no
//! symlink leading out), and write blobs (streamed, verified) and `index.json` atomically
//! under a writer lock; files from outside opened safely (`safe_fs`, and `listed` for a
//! directory being packed). Knows nothing of registries or werf.

mod blob_writer;
mod error;
mod listed;
mod lock;
mod read;
pub mod safe_fs;
mod write;

pub use blob_writer::{remove_temp, stale_temps, tmp_name, BlobWriter, TMP_PREFIX};
pub use error::LayoutError;
pub use listed::{open_listed, Exactly};
pub use lock::{LayoutLock, LOCK_FILE};
pub use read::{Image, Layout, MAX_MANIFEST};
pub use write::{IndexEntry, LayoutWriter};

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// `DIR`, `DIR:REF` (a ':' after the last '/') or `DIR@DIGEST`, the part after `oci:` (or
/// `oci-archive:`, `docker-archive:`) of a source: the path and the image selector. An
/// empty `:REF` selects nothing.
pub fn split_selector(rest: &str) -> (std::path::PathBuf, Option<String>) {
    if let Some((p, d)) = rest.split_once('@') {
        return (p.into(), Some(d.to_string()));
    }
    let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    match rest[last_slash..].find(':') {
        Some(i) => (
            rest[..last_slash + i].into(),
            Some(rest[last_slash + i + 1..].to_string()).filter(|s| !s.is_empty()),
        ),
        None => (rest.into(), None),
    }
}
