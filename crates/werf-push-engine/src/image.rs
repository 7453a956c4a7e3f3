//! What is pushed: manifests (children first, root last) and the blobs they reference, each
//! from a file of a layout or from memory (configs written by `werf`).

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

use werf_push_layout::{Image, Layout, LayoutError};
use werf_push_spec::{Descriptor, Manifest};
use werf_push_transport::file_stream::StreamCheck;
use werf_push_transport::Body;

/// Where a blob's bytes come from; read (streamed) once per request that sends them.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BlobSource {
    /// A file (a layout's blob), streamed from disk and hashed as it is read.
    File(PathBuf),
    /// Bytes in memory (a small blob made by the caller, e.g. a config).
    Bytes(Bytes),
    /// `size` bytes of synthetic content from `seed` (`werf-push bench`): no disk needed.
    Synthetic {
        /// Chooses the content: the same seed gives the same bytes.
        seed: u64,
        /// The content's length in bytes.
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

    /// The file, for a blob read from disk.
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

/// One image ready to push: at least one manifest (the root, tagged), children before it,
/// and its unique blobs, largest first. Built by [`PushImage::new`] or
/// [`PushImage::from_layout`], so none of that can be otherwise.
#[derive(Debug, Clone)]
pub struct PushImage {
    /// Children before parents; the last one is the root. Never empty.
    manifests: Vec<Manifest>,
    /// Unique blobs, largest first (then by digest).
    blobs: Vec<(Descriptor, BlobSource)>,
}

impl PushImage {
    /// The image of `root`, with its child manifests (children before parents) and the
    /// blobs they reference; blobs are sorted largest first and kept once per digest.
    pub fn new(
        children: Vec<Manifest>,
        root: Manifest,
        mut blobs: Vec<(Descriptor, BlobSource)>,
    ) -> PushImage {
        blobs.sort_by(|a, b| {
            b.0.size
                .cmp(&a.0.size)
                .then_with(|| a.0.digest.cmp(&b.0.digest))
        });
        blobs.dedup_by(|a, b| a.0.digest == b.0.digest);
        let mut manifests = children;
        manifests.push(root);
        PushImage { manifests, blobs }
    }

    /// The root manifest: the one a tag names.
    pub fn root(&self) -> &Manifest {
        // `new` pushes the root: never empty.
        &self.manifests[self.manifests.len() - 1]
    }

    /// Every manifest, children before parents, the root last.
    pub fn manifests(&self) -> &[Manifest] {
        &self.manifests
    }

    /// The child manifests (of an index), children before parents; empty for one image.
    pub fn children(&self) -> &[Manifest] {
        &self.manifests[..self.manifests.len() - 1]
    }

    /// The unique blobs, largest first, each with where its bytes come from.
    pub fn blobs(&self) -> &[(Descriptor, BlobSource)] {
        &self.blobs
    }

    /// From an image of a layout whose blobs were already checked.
    pub fn from_layout(layout: &Layout, image: &Image) -> Result<PushImage, LayoutError> {
        let blobs = image
            .blobs
            .iter()
            .map(|d| Ok((d.clone(), BlobSource::File(layout.check_blob(d)?))))
            .collect::<Result<Vec<_>, LayoutError>>()?;
        let children = image
            .manifests
            .iter()
            .filter(|m| m.digest() != image.root.digest())
            .cloned()
            .collect();
        Ok(PushImage::new(children, image.root.clone(), blobs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use werf_push_spec::Digest;

    fn manifest(config_size: u64) -> Manifest {
        let config = Digest::sha256_of(&config_size.to_be_bytes());
        let bytes = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":{config_size}}},"layers":[]}}"#
        );
        Manifest::parse(bytes.into(), None).unwrap()
    }

    fn blob(n: u8, size: u64) -> (Descriptor, BlobSource) {
        let d = Descriptor::new("application/octet-stream", Digest::sha256_of(&[n]), size);
        (d, BlobSource::Bytes(Bytes::new()))
    }

    /// Blobs given (seed, size) -> the sizes kept, in order: largest first, once per digest.
    #[test]
    fn new_orders_and_dedups_blobs_table() {
        type Case = (&'static [(u8, u64)], &'static [u64]);
        let cases: [Case; 4] = [
            (&[], &[]),
            (&[(1, 5), (2, 9), (3, 7)], &[9, 7, 5]),
            (&[(1, 5), (1, 5), (2, 9)], &[9, 5]),
            (&[(1, 3), (2, 3)], &[3, 3]),
        ];
        for (given, want) in cases {
            let image = PushImage::new(
                Vec::new(),
                manifest(2),
                given.iter().map(|&(n, s)| blob(n, s)).collect(),
            );
            let sizes: Vec<u64> = image.blobs().iter().map(|(d, _)| d.size).collect();
            assert_eq!(sizes, want, "{given:?}");
        }
    }

    /// Children count -> the root is the last manifest and never a child.
    #[test]
    fn root_is_last_table() {
        for children in [0u64, 1, 3] {
            let kids: Vec<Manifest> = (0..children).map(|i| manifest(10 + i)).collect();
            let root = manifest(99);
            let image = PushImage::new(kids, root.clone(), Vec::new());
            assert_eq!(image.root().digest(), root.digest());
            assert_eq!(image.children().len() as u64, children);
            assert_eq!(image.manifests().len() as u64, children + 1);
            assert!(image.children().iter().all(|m| m.digest() != root.digest()));
        }
    }
}
