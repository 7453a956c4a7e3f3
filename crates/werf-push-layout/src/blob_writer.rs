//! Streaming blob writes into a layout: bytes go to a temporary file under
//! `blobs/sha256/.tmp-*` (an unpredictable name) while they are hashed, then the digest
//! (and size) is verified and the file renamed into place, so a blob path only ever holds complete, verified content.
//! Also finds and removes temporary files left behind by an interrupted writer.
//! Knows nothing of registries, archives or werf.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest as _, Sha256};

use super::safe_fs::{create_new, real_dirs, sync_dir};
use super::LayoutError;
use werf_push_spec::Digest;

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
    hasher: Sha256,
    len: u64,
}

impl BlobWriter {
    /// Starts a blob in the layout at `root`; `blobs/sha256` is created when missing and
    /// must be a real directory (not a symlink leading elsewhere).
    pub fn create(root: &Path) -> Result<BlobWriter, LayoutError> {
        let dir = real_dirs(root, &["blobs", "sha256"])
            .map_err(LayoutError::io(root.join("blobs/sha256")))?;
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
            hasher: Sha256::new(),
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

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets everything written (a download that must start over).
    pub fn reset(&mut self) -> Result<(), LayoutError> {
        let file = self.file.as_mut().expect("open until finished");
        file.set_len(0)
            .and_then(|()| std::io::Seek::rewind(file))
            .map_err(LayoutError::io(&self.tmp))?;
        self.hasher = Sha256::new();
        self.len = 0;
        Ok(())
    }

    /// Syncs the file, checks it against `expect` (digest and size) when given, and renames
    /// it to `blobs/sha256/<hex>`. On a mismatch the temporary file is removed and nothing
    /// is placed. Returns the digest and size of what was written.
    pub fn finish(mut self, expect: Option<(&Digest, u64)>) -> Result<(Digest, u64), LayoutError> {
        let file = self.file.take().expect("open until finished");
        file.sync_all().map_err(LayoutError::io(&self.tmp))?;
        drop(file);
        let digest = Digest::from_sha256(&std::mem::take(&mut self.hasher).finalize());
        if let Some((want, size)) = expect {
            if want.algorithm() != "sha256" {
                return Err(LayoutError::Io {
                    path: self.tmp.clone(),
                    source: std::io::Error::other(format!(
                        "cannot verify {want}: only sha256 blobs can be written"
                    )),
                });
            }
            let target = self.root.join("blobs/sha256").join(want.hex());
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
        let dir = self.root.join("blobs/sha256");
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
}
