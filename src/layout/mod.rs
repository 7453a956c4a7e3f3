//! OCI image layout on disk (image-spec `image-layout.md`): open and validate, read
//! `index.json`, select an image, walk nested indexes, check blobs (existence, size, no
//! symlink leading out), and write blobs and `index.json` atomically. Knows nothing of
//! registries or werf.

mod error;
mod read;
mod write;

pub use error::LayoutError;
pub use read::{Image, Layout};
pub use write::LayoutWriter;

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
