//! Streaming blob writes into a layout: bytes go to a temporary file under
//! `blobs/<algorithm>/.tmp-*` (an unpredictable name) while they are hashed (sha256 for
//! new content, the expected digest's algorithm, sha256 or sha512, for a copy), then the
//! digest (and size) is verified and the file renamed into place, so a blob path only ever
//! holds complete, verified content.
//! Also finds and removes temporary files left behind by an interrupted writer.
//! Knows nothing of registries, archives or werf.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::safe_fs::{create_new, real_dirs, sync_dir};
use super::LayoutError;
use werf_push_spec::{Digest, DigestHasher};

/// Names of temporary files and directories in a layout start with this.
pub const TMP_PREFIX: &str = ".tmp-";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A unique temporary name (`.tmp-<pid>-<n>-<what>`).
pub fn tmp_name(what: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{TMP_PREFIX}{}-{n}-{what}", std::process::id())
}

/// A blob being written: hashed as it is written, renamed into place by [`finish`].
/// Dropped unfinished, its temporary file is removed.
///
/// [`finish`]: BlobWriter::finish
pub struct BlobWriter {
    root: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
    /// `blobs/<algorithm>`, where the temporary file is and the blob goes.
    dir: PathBuf,
    hasher: DigestHasher,
    len: u64,
}

impl BlobWriter {
    /// Starts a new sha256 blob in the layout at `root`; `blobs/sha256` is created when
    /// missing and must be a real directory (not a symlink leading elsewhere).
    pub fn create(root: &Path) -> Result<BlobWriter, LayoutError> {
        BlobWriter::start(root, DigestHasher::sha256())
    }

    /// Starts a copy of the blob `expected` (hashed in its algorithm, sha256 or sha512, and
    /// placed under `blobs/<algorithm>`): [`finish`](BlobWriter::finish) with it.
    pub fn create_like(root: &Path, expected: &Digest) -> Result<BlobWriter, LayoutError> {
        BlobWriter::start(root, DigestHasher::like(expected))
    }

    fn start(root: &Path, hasher: DigestHasher) -> Result<BlobWriter, LayoutError> {
        let alg = hasher.algorithm();
        let dir = real_dirs(root, &["blobs", alg])
            .map_err(LayoutError::io(root.join("blobs").join(alg)))?;
        // Created exclusively, without following a link, under an unpredictable name: a
        // name planted in the storage can neither be written through nor block the write.
        let (file, tmp) = tempfile::Builder::new()
            .prefix(TMP_PREFIX)
            .suffix("-blob")
            .make_in(&dir, create_new)
            .and_then(|t| t.keep().map_err(|e| e.error))
            .map_err(LayoutError::io(&dir))?;
        Ok(BlobWriter {
            root: root.to_path_buf(),
            tmp,
            file: Some(file),
            dir,
            hasher,
            len: 0,
        })
    }

    /// The temporary file.
    pub fn tmp_path(&self) -> &Path {
        &self.tmp
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets everything written (a download that must start over).
    pub fn reset(&mut self) -> Result<(), LayoutError> {
        let file = self.file.as_mut().expect("open until finished");
        file.set_len(0)
            .and_then(|()| std::io::Seek::rewind(file))
            .map_err(LayoutError::io(&self.tmp))?;
        self.hasher = self.hasher.fresh();
        self.len = 0;
        Ok(())
    }

    /// Syncs the file, checks it against `expect` (digest and size) when given, and renames
    /// it to `blobs/<algorithm>/<hex>`. On a mismatch the temporary file is removed and nothing
    /// is placed. Returns the digest and size of what was written.
    pub fn finish(mut self, expect: Option<(&Digest, u64)>) -> Result<(Digest, u64), LayoutError> {
        let file = self.file.take().expect("open until finished");
        file.sync_all().map_err(LayoutError::io(&self.tmp))?;
        drop(file);
        let digest = std::mem::replace(&mut self.hasher, DigestHasher::sha256()).finish();
        if let Some((want, size)) = expect {
            let target = self
                .root
                .join("blobs")
                .join(want.algorithm())
                .join(want.hex());
            if *want != digest {
                return Err(LayoutError::DigestMismatch {
                    path: target,
                    digest: want.clone(),
                    actual: digest,
                });
            }
            if size != self.len {
                return Err(LayoutError::WrongSize {
                    path: target,
                    digest: want.clone(),
                    expected: size,
                    actual: self.len,
                });
            }
        }
        let dir = self.dir.clone();
        let target = dir.join(digest.hex());
        std::fs::rename(&self.tmp, &target).map_err(LayoutError::io(&target))?;
        self.tmp = PathBuf::new();
        sync_dir(&dir).map_err(LayoutError::io(&dir))?;
        Ok((digest, self.len))
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // A failed write says which file of the layout failed (a full disk as such), whatever
        // the caller copies from: the error travels inside the io::Error.
        let n = self
            .file
            .as_mut()
            .expect("open until finished")
            .write(buf)
            .map_err(|e| LayoutError::from_io(self.tmp.clone(), e).into_io())?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file
            .as_mut()
            .expect("open until finished")
            .flush()
            .map_err(|e| LayoutError::from_io(self.tmp.clone(), e).into_io())
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            drop(self.file.take());
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Temporary files and directories of the layout at `root` (in the root and in
/// `blobs/<algorithm>/`), left by writers that were interrupted. Only meaningful while the
/// layout's lock is held: then no writer is running and every one of them is stale.
pub fn stale_temps(root: &Path) -> Result<Vec<PathBuf>, LayoutError> {
    let mut dirs = vec![root.to_path_buf()];
    let blobs = root.join("blobs");
    let real = super::safe_fs::is_real_dir(root, &["blobs"]).map_err(LayoutError::io(&blobs))?;
    if real {
        for e in std::fs::read_dir(&blobs).map_err(LayoutError::io(&blobs))? {
            let e = e.map_err(LayoutError::io(&blobs))?;
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                dirs.push(e.path());
            }
        }
    }
    let mut out = Vec::new();
    for dir in dirs {
        let entries = match std::fs::read_dir(&dir) {
            Ok(it) => it,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(LayoutError::io(&dir)(e)),
        };
        for e in entries {
            let e = e.map_err(LayoutError::io(&dir))?;
            if e.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                out.push(e.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Removes a stale temporary file or directory.
pub fn remove_temp(path: &Path) -> Result<(), LayoutError> {
    let meta = std::fs::symlink_metadata(path).map_err(LayoutError::io(path))?;
    if meta.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    }
    .map_err(LayoutError::io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_verifies_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let hello = Digest::sha256_of(b"hello");
        // (content, expected, placed)
        type Case<'a> = (&'a [u8], Option<(&'a Digest, u64)>, bool);
        let cases: [Case; 4] = [
            (b"hello", None, true),
            (b"hello", Some((&hello, 5)), true),
            (b"hellx", Some((&hello, 5)), false),
            (b"hello", Some((&hello, 6)), false),
        ];
        for (i, (content, expect, placed)) in cases.into_iter().enumerate() {
            let _ = std::fs::remove_file(root.join("blobs/sha256").join(hello.hex()));
            let mut w = BlobWriter::create(root).unwrap();
            w.write_all(content).unwrap();
            let got = w.finish(expect);
            assert_eq!(got.is_ok(), placed, "case {i}: {got:?}");
            assert_eq!(
                root.join("blobs/sha256").join(hello.hex()).exists(),
                placed,
                "case {i}"
            );
            assert!(stale_temps(root).unwrap().is_empty(), "case {i}");
        }
        // Reset starts over; an unfinished writer leaves nothing.
        let mut w = BlobWriter::create(root).unwrap();
        w.write_all(b"garbage").unwrap();
        w.reset().unwrap();
        w.write_all(b"hello").unwrap();
        assert_eq!(w.finish(Some((&hello, 5))).unwrap().0, hello);
        let mut w = BlobWriter::create(root).unwrap();
        w.write_all(b"partial").unwrap();
        assert_eq!(stale_temps(root).unwrap().len(), 1);
        drop(w);
        assert!(stale_temps(root).unwrap().is_empty());
    }

    #[test]
    fn a_copy_is_verified_in_its_digest_algorithm() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // sha512 of "abc" (FIPS 180-2's example).
        let abc512 = Digest::parse("sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f").unwrap();
        let abc256 = Digest::sha256_of(b"abc");
        // (expected, content, placed)
        let cases: [(&Digest, &[u8], bool); 4] = [
            (&abc512, b"abc", true),
            (&abc512, b"abd", false),
            (&abc256, b"abc", true),
            (&abc256, b"abd", false),
        ];
        for (i, (want, content, placed)) in cases.into_iter().enumerate() {
            let target = root.join("blobs").join(want.algorithm()).join(want.hex());
            let _ = std::fs::remove_file(&target);
            let mut w = BlobWriter::create_like(root, want).unwrap();
            w.write_all(content).unwrap();
            match (w.finish(Some((want, 3))), placed) {
                (Ok((d, 3)), true) => assert_eq!(&d, want, "case {i}"),
                (Err(LayoutError::DigestMismatch { actual, .. }), false) => {
                    assert_eq!(actual.algorithm(), want.algorithm(), "case {i}")
                }
                (got, _) => panic!("case {i}: {got:?}"),
            }
            assert_eq!(target.exists(), placed, "case {i}");
            assert!(stale_temps(root).unwrap().is_empty(), "case {i}");
        }
    }
}
