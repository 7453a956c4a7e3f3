//! What is pushed: manifests (children first, root last) and the blobs they reference, each
//! from a file of a layout or from memory (configs written by `werf`).

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

use werf_push_layout::{Image, Layout, LayoutError};
use werf_push_spec::{Descriptor, Manifest};
use werf_push_transport::file_stream::StreamCheck;
use werf_push_transport::Body;

#[derive(Debug, Clone)]
pub enum BlobSource {
    File(PathBuf),
    Bytes(Bytes),
    /// `size` bytes of synthetic content from `seed` (`werf-push bench`): no disk needed.
    Synthetic {
        seed: u64,
        size: u64,
    },
}

impl BlobSource {
    /// A request body for `len` bytes from `offset`; a file's bytes are checked by `check`
    /// as they are read.
    pub fn body(&self, offset: u64, len: u64, check: Option<&Arc<StreamCheck>>) -> Body {
        match self {
            BlobSource::File(path) => Body::File {
                path: path.clone(),
                offset,
                len,
                check: check.cloned(),
            },
            BlobSource::Bytes(b) => Body::Bytes(b.slice(offset as usize..(offset + len) as usize)),
            BlobSource::Synthetic { seed, .. } => Body::Synthetic {
                seed: *seed,
                offset,
                len,
            },
        }
    }

    pub fn path(&self) -> Option<&PathBuf> {
        match self {
            BlobSource::File(p) => Some(p),
            BlobSource::Bytes(_) | BlobSource::Synthetic { .. } => None,
        }
    }

    /// The sha256 digest of synthetic content (`seed`, `size`), computed by streaming it
    /// through the hash in pieces.
    pub fn synthetic_digest(seed: u64, size: u64) -> werf_push_spec::Digest {
        let mut h = werf_push_spec::DigestHasher::sha256();
        let mut buf = vec![0u8; 1 << 20];
        let mut at = 0u64;
        while at < size {
            let n = (size - at).min(buf.len() as u64) as usize;
            werf_push_transport::synthetic::fill(seed, at, &mut buf[..n]);
            h.update(&buf[..n]);
            at += n as u64;
        }
        h.finish()
    }
}

/// One image ready to push.
#[derive(Debug, Clone)]
pub struct PushImage {
    /// Children before parents; the last one is tagged.
    pub manifests: Vec<Manifest>,
    /// Unique blobs, largest first.
    pub blobs: Vec<(Descriptor, BlobSource)>,
}

impl PushImage {
    pub fn root(&self) -> &Manifest {
        self.manifests
            .last()
            .expect("a PushImage has at least one manifest")
    }

    /// From an image of a layout whose blobs were already checked.
    pub fn from_layout(layout: &Layout, image: &Image) -> Result<PushImage, LayoutError> {
        let blobs = image
            .blobs
            .iter()
            .map(|d| Ok((d.clone(), BlobSource::File(layout.check_blob(d)?))))
            .collect::<Result<Vec<_>, LayoutError>>()?;
        Ok(PushImage {
            manifests: image.manifests.clone(),
            blobs,
        })
    }
}
