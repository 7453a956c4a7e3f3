//! Layers written into the stages storage: a gzip layer whose diff_id (sha256 of the tar)
//! and digest (sha256 of the gzip) are computed in one pass while it is written to a
//! temporary blob file; from any tar stream (plain or gzip) or from a directory as a
//! reproducible tar: entries in name order (parents first), every mtime set to one value
//! (`SOURCE_DATE_EPOCH` or 0), numeric uid/gid 0 with no user or group names, modes kept,
//! symlinks and hard links kept as links. Knows nothing of registries or of the CLI.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use sha2::{Digest as _, Sha256};

use super::store::StoreError;
use crate::layout::{BlobWriter, LayoutError};
use crate::spec::{media_type, Descriptor, Digest};

/// Passes bytes on to `inner`, hashing them.
pub struct HashWriter<W: Write> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A layer as stored.
#[derive(Debug, Clone)]
pub struct LayerOut {
    /// sha256 of the uncompressed tar (the config's `rootfs.diff_ids` entry).
    pub diff_id: Digest,
    /// The gzip blob.
    pub descriptor: Descriptor,
}

/// A gzip layer being written: write the tar stream into it.
pub struct GzipLayer {
    w: HashWriter<GzEncoder<BlobWriter>>,
}

impl GzipLayer {
    pub fn create(root: &Path) -> Result<GzipLayer, LayoutError> {
        // Gzip header: no name, mtime 0, OS byte fixed by flate2: the same tar gives the
        // same bytes on every machine.
        let gz = GzEncoder::new(BlobWriter::create(root)?, Compression::default());
        Ok(GzipLayer {
            w: HashWriter {
                inner: gz,
                hasher: Sha256::new(),
            },
        })
    }

    /// Ends the gzip stream and places the blob.
    pub fn finish(self) -> Result<LayerOut, StoreError> {
        let diff_id = Digest::from_sha256(&self.w.hasher.finalize());
        let blob = self
            .w
            .inner
            .finish()
            .map_err(|e| StoreError::Invalid(format!("cannot finish a gzip layer: {e}")))?;
        let (digest, size) = blob.finish(None)?;
        Ok(LayerOut {
            diff_id,
            descriptor: Descriptor {
                media_type: media_type::OCI_LAYER_GZIP.into(),
                digest,
                size,
                platform: None,
                annotations: Default::default(),
            },
        })
    }
}

impl Write for GzipLayer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.w.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}

/// Stores the tar stream read from `src` (plain, or gzip which is decompressed first) as a
/// gzip layer. `what` names the source in errors.
pub fn gzip_stream(root: &Path, src: impl Read, what: &Path) -> Result<LayerOut, StoreError> {
    let mut src = BufReader::with_capacity(256 << 10, src);
    let head = src.fill_buf().map_err(StoreError::io(what))?;
    let gzipped = head.starts_with(&[0x1f, 0x8b]);
    if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Err(StoreError::Source {
            path: what.to_path_buf(),
            reason: "zstd layers are not supported: export the image with gzip or plain layers"
                .into(),
        });
    }
    let mut out = GzipLayer::create(root)?;
    let copied = if gzipped {
        std::io::copy(&mut flate2::bufread::MultiGzDecoder::new(src), &mut out)
    } else {
        std::io::copy(&mut src, &mut out)
    };
    copied.map_err(StoreError::io(what))?;
    out.finish()
}

/// Stores `dir` as a reproducible gzip layer with every mtime set to `mtime`.
pub fn tar_dir(root: &Path, dir: &Path, mtime: u64) -> Result<LayerOut, StoreError> {
    let meta = std::fs::metadata(dir).map_err(StoreError::io(dir))?;
    if !meta.is_dir() {
        return Err(StoreError::Invalid(format!(
            "--from-dir {}: not a directory",
            dir.display()
        )));
    }
    let mut b = tar::Builder::new(GzipLayer::create(root)?);
    let mut links: HashMap<(u64, u64), PathBuf> = HashMap::new();
    append_dir(&mut b, dir, Path::new(""), mtime, &mut links)?;
    b.finish().map_err(StoreError::io(dir))?;
    let out = b.into_inner().map_err(StoreError::io(dir))?;
    out.finish()
}

fn append_dir(
    b: &mut tar::Builder<GzipLayer>,
    dir: &Path,
    rel: &Path,
    mtime: u64,
    links: &mut HashMap<(u64, u64), PathBuf>,
) -> Result<(), StoreError> {
    let here = dir.join(rel);
    let mut names: Vec<_> = std::fs::read_dir(&here)
        .map_err(StoreError::io(&here))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(StoreError::io(&here))?;
    names.sort();
    for name in names {
        let rel = rel.join(&name);
        let path = dir.join(&rel);
        let io = StoreError::io(&path);
        let meta = std::fs::symlink_metadata(&path).map_err(StoreError::io(&path))?;
        let mut h = tar::Header::new_gnu();
        h.set_mode(meta.permissions().mode() & 0o7777);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(mtime);
        h.set_size(0);
        let ft = meta.file_type();
        if ft.is_dir() {
            h.set_entry_type(tar::EntryType::Directory);
            b.append_data(&mut h, &rel, std::io::empty()).map_err(io)?;
            append_dir(b, dir, &rel, mtime, links)?;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(&path).map_err(StoreError::io(&path))?;
            h.set_entry_type(tar::EntryType::Symlink);
            b.append_link(&mut h, &rel, &target).map_err(io)?;
        } else if ft.is_file() {
            let key = (meta.dev(), meta.ino());
            if meta.nlink() > 1 {
                if let Some(first) = links.get(&key) {
                    h.set_entry_type(tar::EntryType::Link);
                    b.append_link(&mut h, &rel, first).map_err(io)?;
                    continue;
                }
                links.insert(key, rel.clone());
            }
            h.set_entry_type(tar::EntryType::Regular);
            h.set_size(meta.len());
            let f = std::fs::File::open(&path).map_err(StoreError::io(&path))?;
            // At most the size recorded in the header (a file growing meanwhile is cut).
            b.append_data(&mut h, &rel, f.take(meta.len()))
                .map_err(io)?;
        } else {
            return Err(StoreError::Invalid(format!(
                "{}: a device, socket or FIFO cannot be put in a layer; remove it from \
                 --from-dir",
                path.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_stream_plain_and_gzip_give_one_layer() {
        let dir = tempfile::tempdir().unwrap();
        let tar = b"not really a tar, but bytes all the same".repeat(100);
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        gz.write_all(&tar).unwrap();
        let gz = gz.finish().unwrap();
        let want = Digest::sha256_of(&tar);
        let cases: [(&[u8], &str); 2] = [(&tar, "plain"), (&gz, "gzip")];
        let mut digests = Vec::new();
        for (input, label) in cases {
            let out = gzip_stream(dir.path(), input, Path::new(label)).unwrap();
            assert_eq!(out.diff_id, want, "{label}");
            let blob = dir
                .path()
                .join("blobs/sha256")
                .join(out.descriptor.digest.hex());
            let bytes = std::fs::read(&blob).unwrap();
            assert_eq!(Digest::sha256_of(&bytes), out.descriptor.digest, "{label}");
            assert_eq!(bytes.len() as u64, out.descriptor.size, "{label}");
            digests.push(out.descriptor.digest);
        }
        assert_eq!(digests[0], digests[1]);
    }
}
