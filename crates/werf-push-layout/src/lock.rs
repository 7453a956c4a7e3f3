//! The writer lock of a layout: an exclusive advisory lock (`flock`, via std's
//! `File::try_lock`) on the file `LOCK` in the layout's root, held for the whole of a write.
//! The holder writes its process id into the file so that a second writer can say who holds
//! it. The lock dies with its process, so a crash never leaves a stale lock. Readers do not
//! take it: they rely on blobs being written before `index.json` is renamed into place.
//! `LOCK` is opened without following a link, and only as a regular file with one name, so
//! a planted `LOCK -> /etc/passwd` is refused instead of written.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use super::LayoutError;

/// The lock file's name, in the layout's root.
pub(crate) const LOCK_FILE: &str = "LOCK";

/// Held while a writer changes a layout; released on drop.
#[derive(Debug)]
pub struct LayoutLock {
    file: File,
    path: PathBuf,
}

impl LayoutLock {
    /// Takes the lock of the layout at `root` (created if missing), or fails at once with
    /// [`LayoutError::Locked`] when another process holds it.
    pub fn acquire(root: &Path) -> Result<LayoutLock, LayoutError> {
        std::fs::create_dir_all(root).map_err(LayoutError::io(root))?;
        let path = root.join(LOCK_FILE);
        let mut file = super::safe_fs::open_control(&path).map_err(|source| LayoutError::Io {
            path: path.clone(),
            source: std::io::Error::new(
                source.kind(),
                format!("{source}: the storage's LOCK must be a plain file; remove it"),
            ),
        })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LayoutError::Locked {
                    path,
                    holder: if holder.is_empty() {
                        "another process".into()
                    } else {
                        format!("process {holder}")
                    },
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(LayoutError::io(&path)(e)),
        }
        // Informational only: who holds it.
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| write!(file, "{}", std::process::id()));
        Ok(LayoutLock { file, path })
    }

    /// The `LOCK` file held.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LayoutLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_until_release() {
        let dir = tempfile::tempdir().unwrap();
        let first = LayoutLock::acquire(dir.path()).unwrap();
        // flock locks belong to the open file description: a second open in this process
        // conflicts as one in another process would.
        let err = LayoutLock::acquire(dir.path()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, LayoutError::Locked { .. }), "{msg}");
        assert!(
            msg.contains(&format!("process {}", std::process::id())),
            "{msg}"
        );
        drop(first);
        LayoutLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn a_lock_that_is_a_link_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("passwd");
        std::fs::write(&victim, b"root:x:0:0").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join(LOCK_FILE)).unwrap();
        let err = LayoutLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("is a symbolic link") && err.contains("remove it"),
            "{err}"
        );
        assert_eq!(std::fs::read(&victim).unwrap(), b"root:x:0:0");
    }
}
