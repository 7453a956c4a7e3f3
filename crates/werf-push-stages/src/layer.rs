//! Layers written into the stages storage: a gzip (or zstd) layer whose diff_id (sha256 of
//! the tar) and digest (sha256 of the compressed blob) are computed in one pass while it
//! is written to a temporary blob file, compressed on every core (`pargz.rs`, or zstd's
//! own workers) with bytes that do not depend on the number of threads; from any tar
//! stream (plain, compressed ones kept as they are) or from a directory as a reproducible
//! tar: entries in name order (parents first), every mtime set to one value
//! (`SOURCE_DATE_EPOCH` or 0), numeric uid/gid 0 with no user or group names, modes kept,
//! symlinks and hard links kept as links. Knows nothing of registries or of the CLI.

use std::cell::Cell;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::error::StoreError;
use super::expand::Expansion;
use super::pargz::ParGzEncoder;
use werf_push_layout::BlobWriter;
use werf_push_spec::{media_type, Descriptor, Digest, DigestHasher};

/// How a new layer is compressed (more ways may come: match with a wildcard arm).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LayerCompression {
    /// gzip level 6 (`application/vnd.oci.image.layer.v1.tar+gzip`): every client reads it.
    #[default]
    Gzip,
    /// zstd level 3 (`application/vnd.oci.image.layer.v1.tar+zstd`): containerd 1.5+,
    /// Docker 23+, podman/skopeo (containers/image 5.x).
    Zstd,
}

impl LayerCompression {
    /// The OCI media type of a layer compressed this way.
    pub fn media_type(self) -> &'static str {
        match self {
            LayerCompression::Gzip => media_type::OCI_LAYER_GZIP,
            LayerCompression::Zstd => media_type::OCI_LAYER_ZSTD,
        }
    }
}

/// How layers are written.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct LayerOptions {
    /// How the layer is compressed.
    pub compression: LayerCompression,
    /// Compression threads; 0: one per core. The bytes are the same for any value.
    pub threads: usize,
}

impl LayerOptions {
    /// Layers compressed with `compression` on `threads` threads (0: one per core).
    pub fn new(compression: LayerCompression, threads: usize) -> LayerOptions {
        LayerOptions {
            compression,
            threads,
        }
    }

    fn threads(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

/// zstd's level: the `zstd` command's default.
const ZSTD_LEVEL: i32 = 3;

/// Passes bytes on to `inner`, hashing them.
pub(crate) struct HashWriter<W: Write> {
    inner: W,
    hasher: DigestHasher,
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
#[non_exhaustive]
pub struct LayerOut {
    /// sha256 of the uncompressed tar (the config's `rootfs.diff_ids` entry).
    pub diff_id: Digest,
    /// The compressed blob.
    pub descriptor: Descriptor,
}

enum Encoder {
    Gzip(ParGzEncoder<BlobWriter>),
    Zstd(zstd::stream::write::Encoder<'static, BlobWriter>),
}

/// A compressed layer being written: write the tar stream into it.
pub(crate) struct LayerWriter {
    w: HashWriter<Encoder>,
    compression: LayerCompression,
    /// The source, named in errors.
    what: PathBuf,
}

impl LayerWriter {
    /// A layer written to a temporary blob file of the storage at `root`, compressed as
    /// `opts` says; `what` names the source in errors.
    pub(crate) fn create(
        root: &Path,
        opts: &LayerOptions,
        what: &Path,
    ) -> Result<Self, StoreError> {
        let blob = BlobWriter::create(root)?;
        let threads = opts.threads();
        let enc = match opts.compression {
            LayerCompression::Gzip => Encoder::Gzip(
                ParGzEncoder::new(blob, flate2::Compression::new(6), threads)
                    .map_err(StoreError::io(what))?,
            ),
            LayerCompression::Zstd => {
                let mut z = zstd::stream::write::Encoder::new(blob, ZSTD_LEVEL)
                    .map_err(StoreError::io(what))?;
                // Always zstd's worker mode, even for one thread: its output is the same
                // for any number of workers >= 1 (not the same as with none).
                z.multithread(threads as u32)
                    .map_err(StoreError::io(what))?;
                z.include_checksum(true).map_err(StoreError::io(what))?;
                Encoder::Zstd(z)
            }
        };
        Ok(LayerWriter {
            w: HashWriter {
                inner: enc,
                hasher: DigestHasher::sha256(),
            },
            compression: opts.compression,
            what: what.to_path_buf(),
        })
    }

    /// Ends the compressed stream and places the blob.
    pub(crate) fn finish(self) -> Result<LayerOut, StoreError> {
        let diff_id = self.w.hasher.finish();
        let blob = match self.w.inner {
            Encoder::Gzip(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
        }
        .map_err(StoreError::io(&self.what))?;
        let (digest, size) = blob.finish(None)?;
        Ok(LayerOut {
            diff_id,
            descriptor: Descriptor::new(self.compression.media_type(), digest, size),
        })
    }
}

impl Write for Encoder {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
        }
    }

    /// Nothing: a flush would end a zstd job early and change the bytes.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Write for LayerWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.w.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}

/// Stores the tar stream read from `src` as a layer: a plain tar is compressed as `opts`
/// says; a gzip or zstd one is kept byte for byte (its diff_id computed from the
/// decompressed bytes in the same pass). `what` names the source in errors.
pub(crate) fn layer_stream(
    root: &Path,
    src: impl Read,
    what: &Path,
    opts: &LayerOptions,
) -> Result<LayerOut, StoreError> {
    let mut src = BufReader::with_capacity(256 << 10, src);
    let head = src.fill_buf().map_err(StoreError::io(what))?;
    let kept = if head.starts_with(&[0x1f, 0x8b]) {
        Some(LayerCompression::Gzip)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(LayerCompression::Zstd)
    } else {
        None
    };
    if let Some(c) = kept {
        return keep(root, src, what, c);
    }
    let mut out = LayerWriter::create(root, opts, what)?;
    std::io::copy(&mut src, &mut out).map_err(StoreError::io(what))?;
    out.finish()
}

/// Reads through `inner`, copying every byte read into `copy` and counting them in `read`.
struct Tee<'a, R> {
    inner: R,
    copy: &'a mut BlobWriter,
    read: &'a Cell<u64>,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.copy.write_all(&buf[..n])?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

/// Copies a compressed layer as it is while hashing what it decompresses to, within the
/// bound on expansion (`expand.rs`).
fn keep(
    root: &Path,
    src: impl Read,
    what: &Path,
    c: LayerCompression,
) -> Result<LayerOut, StoreError> {
    let mut blob = BlobWriter::create(root)?;
    let read = Cell::new(0);
    let mut tar = Expansion::new(
        HashWriter {
            inner: std::io::sink(),
            hasher: DigestHasher::sha256(),
        },
        &read,
    );
    let mut tee = Tee {
        inner: src,
        copy: &mut blob,
        read: &read,
    };
    let bad = |e: std::io::Error| StoreError::Source {
        path: what.to_path_buf(),
        reason: format!("cannot decompress the layer: {e}"),
    };
    match c {
        LayerCompression::Gzip => {
            std::io::copy(&mut flate2::read::MultiGzDecoder::new(&mut tee), &mut tar)
                .map_err(bad)?
        }
        LayerCompression::Zstd => {
            let mut d = zstd::stream::read::Decoder::new(&mut tee).map_err(bad)?;
            std::io::copy(&mut d, &mut tar).map_err(bad)?
        }
    };
    // Whatever the decoder did not read (it stops at the end of the stream) is kept too.
    std::io::copy(&mut tee, &mut std::io::sink()).map_err(StoreError::io(what))?;
    let diff_id = tar.into_inner().hasher.finish();
    let (digest, size) = blob.finish(None)?;
    Ok(LayerOut {
        diff_id,
        descriptor: Descriptor::new(c.media_type(), digest, size),
    })
}

/// Stores `dir` as a reproducible gzip layer with every mtime set to `mtime`.
pub(crate) fn tar_dir(
    root: &Path,
    dir: &Path,
    mtime: u64,
    opts: &LayerOptions,
) -> Result<LayerOut, StoreError> {
    let meta = std::fs::metadata(dir).map_err(StoreError::io(dir))?;
    if !meta.is_dir() {
        return Err(StoreError::Arg {
            arg: format!("--from-dir {}", dir.display()),
            reason: "not a directory".into(),
        });
    }
    let mut b = tar::Builder::new(LayerWriter::create(root, opts, dir)?);
    let mut links: HashMap<(u64, u64), PathBuf> = HashMap::new();
    append_dir(&mut b, dir, Path::new(""), mtime, &mut links)?;
    b.finish().map_err(StoreError::io(dir))?;
    let out = b.into_inner().map_err(StoreError::io(dir))?;
    out.finish()
}

fn append_dir(
    b: &mut tar::Builder<LayerWriter>,
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
            // The file listed, not a link, FIFO or other file swapped in since; exactly the
            // size the header records (a file that shrinks or grows meanwhile is an error
            // naming it, never a short entry that would swallow the next one).
            let f = werf_push_layout::open_listed(&path, &meta).map_err(StoreError::io(&path))?;
            let exact = werf_push_layout::Exactly::new(f, meta.len());
            b.append_data(&mut h, &rel, exact).map_err(io)?;
        } else {
            return Err(StoreError::Source {
                path: path.clone(),
                reason: "a device, socket or FIFO cannot be put in a layer; remove it from \
                         --from-dir"
                    .into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "layer_tests.rs"]
mod tests;
