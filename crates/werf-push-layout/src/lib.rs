//! OCI image layout on disk (image-spec `image-layout.md`): open and validate, read
//! `index.json`, select an image, walk nested indexes, check blobs (existence, size, no
//! symlink leading out), and write blobs (streamed, verified) and `index.json` atomically
//! under a writer lock; files from outside opened safely (`safe_fs`, and `listed` for a
//! directory being packed); the `oci:`/`oci-archive:`/`docker-archive:` sources that name a
//! layout or an archive on disk. Knows nothing of registries or werf.

#![warn(unreachable_pub)]
#![warn(missing_docs)]

mod blob_writer;
mod error;
mod listed;
mod lock;
mod read;
pub mod safe_fs;
mod source;
mod write;

pub use blob_writer::{remove_temp, stale_temps, tmp_name, BlobWriter, TMP_PREFIX};
pub use error::LayoutError;
pub use listed::{open_listed, Exactly};
pub use lock::LayoutLock;
pub use read::{Image, Layout, MAX_MANIFEST};
pub use source::{Source, Transport};
pub use write::{IndexEntry, LayoutWriter};

/// The annotation naming an image in `index.json` (what `oci:DIR:REF` selects).
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
