//! OCI image layouts for tests, written with the crate's own `LayoutWriter`
//! ([`image`], [`index_image`]; `write.rs`) or by a third-party tool, `umoci`
//! ([`umoci_image`]; `umoci.rs`), and read back (`read.rs`).
//!
//! Layers are real tar archives (one regular file of pseudo-random bytes, from a seeded
//! xorshift generator, so every run writes the same bytes) in gzip streams made of
//! *stored* deflate blocks (valid gzip, no compression library needed, size predictable;
//! `bytes.rs`). Gzip rather than plain tar because `skopeo copy` into an
//! `oci:` layout compresses uncompressed layers, which would change their digests when
//! reading an image back.
//!
//! Helpers to compare blob sets: [`blob_files`] (every blob file of a layout, each checked
//! against its name), [`referenced_blobs`] (what one image references), [`read_blob`].
//! Everything is used as `support::layouts::NAME`, whichever file defines it.

mod bytes;
mod read;
mod umoci;
mod write;

pub use bytes::{gzip_layer, layer_blob_size, random_bytes, XorShift};
pub use read::{
    blob_files, blob_path, copy_dir, index_json, layer_digests, manifest_digests, read_blob,
    ref_digest, referenced_blobs, unique_blob_bytes,
};
pub use umoci::{ensure_umoci, umoci_image, UMOCI_BIN, UMOCI_TAG};
pub use write::{child_image, image, index_image, Format};
