//! Files of a place that may be hostile (a layout, a checkout, a cache directory) opened and
//! created without being led out of it: no symlink followed out of the place, no FIFO,
//! device or socket opened (a FIFO blocks forever, a device reads without end), control
//! files (`LOCK`, temporaries) never opened through a link, directories checked to be real
//! directories before anything is written into them, and directories synced after a rename
//! so that a committed write survives a power loss. Every file werf-push writes whole (a
//! layout's `index.json`, a report, a man page, the known-blob cache) goes through
//! [`replace_file`]. Also the one place that turns a full disk into its own error. Knows
//! nothing of OCI formats.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Opens `path` for reading. It must resolve (symlinks followed) to a regular file inside
/// `base` (itself canonical, as [`std::fs::canonicalize`] gives it). Never blocks on a
/// FIFO. Returns the file and the resolved path.
pub fn open_inside(base: &Path, path: &Path) -> io::Result<(File, PathBuf)> {
    let real = path.canonicalize()?;
    if !real.starts_with(base) {
        return Err(refused(format!(
            "is a symbolic link leading out of {} (to {}): refused",
            base.display(),
            real.display()
        )));
    }
    Ok((open_regular(&real)?, real))
}

/// Opens `path` for reading when it is a regular file reached without a symlink in its last
/// component; never blocks on a FIFO.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(link_refused)?;
    check_regular(&file.metadata()?)?;
    Ok(file)
}

/// Opens (creating it when missing, never truncating) a control file such as `LOCK` for
/// reading and writing: a regular file with one link, never reached through a symlink, so
/// that writing it can never change a file outside the place.
pub fn open_control(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(link_refused)?;
    let meta = file.metadata()?;
    check_regular(&meta)?;
    if meta.nlink() != 1 {
        return Err(refused(format!(
            "has {} hard links: it may be another file's name: refused",
            meta.nlink()
        )));
    }
    Ok(file)
}

/// Creates a new file for writing (a temporary): fails when anything (a symlink included)
/// already has that name.
pub(crate) fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Writes `bytes` as the file `path`, replacing whatever had that name (a symlink is
/// replaced, never followed): a new temporary file beside it, created exclusively without
/// following links (`O_EXCL | O_NOFOLLOW`) under an unpredictable name (`.tmp-<random>-`
/// and the target's name), written, synced, renamed over `path`, and the directory synced.
/// A planted `report.tmp -> /etc/passwd` can neither be written through nor make the write
/// fail; on any failure the temporary file is removed and `path` is as it was.
pub fn replace_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| format!("-{}", n.to_string_lossy()))
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(super::TMP_PREFIX)
        .suffix(&name)
        .make_in(dir, create_new)?;
    tmp.as_file_mut().write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// Makes sure `root/rel[0]/rel[1]/...` are real directories (created when missing), none of
/// them a symlink, so that what is written there stays under `root`. Returns the last one.
pub(crate) fn real_dirs(root: &Path, rel: &[&str]) -> io::Result<PathBuf> {
    std::fs::create_dir_all(root)?;
    let mut dir = root.to_path_buf();
    for part in rel {
        dir.push(part);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => continue,
            Ok(m) => {
                return Err(refused(format!(
                    "{} is {}, not a directory: refused; replace it with a directory",
                    dir.display(),
                    what(&m)
                )))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => match std::fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            },
            Err(e) => return Err(e),
        }
        let m = std::fs::symlink_metadata(&dir)?;
        if !m.is_dir() {
            return Err(refused(format!("{} is not a directory", dir.display())));
        }
    }
    Ok(dir)
}

/// Is `root/rel...` a real directory (no symlink on the way)? `Ok(false)` when missing;
/// an error when something else has that name.
pub fn is_real_dir(root: &Path, rel: &[&str]) -> io::Result<bool> {
    let mut dir = root.to_path_buf();
    for part in rel {
        dir.push(part);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(m) => {
                return Err(refused(format!(
                    "{} is {}, not a directory: refused; replace it with a directory",
                    dir.display(),
                    what(&m)
                )))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Syncs a directory, so that renames into it survive a power loss.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Is this the error of a full disk (or an exceeded quota)?
pub fn is_no_space(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::StorageFull
        || e.kind() == io::ErrorKind::QuotaExceeded
        || matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
}

fn check_regular(meta: &std::fs::Metadata) -> io::Result<()> {
    if meta.is_file() {
        Ok(())
    } else {
        Err(refused(format!(
            "is {}, not a regular file: refused",
            what(meta)
        )))
    }
}

fn what(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "a regular file"
    }
}

fn link_refused(e: io::Error) -> io::Error {
    if e.raw_os_error() == Some(libc::ELOOP) {
        refused("is a symbolic link: refused".into())
    } else {
        e
    }
}

pub(super) fn refused(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn opens_only_regular_files_inside() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        std::fs::write(base.join("file"), b"x").unwrap();
        std::fs::write(outside.path().join("secret"), b"s").unwrap();
        symlink(base.join("file"), base.join("in-link")).unwrap();
        symlink(outside.path().join("secret"), base.join("out-link")).unwrap();
        std::fs::create_dir(base.join("sub")).unwrap();
        let fifo = std::ffi::CString::new(base.join("fifo").to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        // (name, open_inside ok, open_regular ok, start of the error)
        let cases = [
            ("file", true, true, ""),
            ("in-link", true, false, "is a symbolic link"),
            ("out-link", false, false, "is a symbolic link"),
            ("sub", false, false, "is a directory"),
            ("fifo", false, false, "is a FIFO"),
        ];
        for (name, inside, regular, msg) in cases {
            let p = base.join(name);
            assert_eq!(open_inside(&base, &p).is_ok(), inside, "{name}");
            let got = open_regular(&p);
            assert_eq!(got.is_ok(), regular, "{name}");
            if let Err(e) = got {
                assert!(e.to_string().starts_with(msg), "{name}: {e}");
            }
        }
        let e = open_inside(&base, &base.join("out-link")).unwrap_err();
        assert!(e.to_string().contains("leading out of"), "{e}");
    }

    #[test]
    fn control_files_and_dirs_refuse_links() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = dir.path();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, b"keep me").unwrap();
        symlink(&victim, root.join("LOCK")).unwrap();
        std::fs::hard_link(&victim, root.join("HARD")).unwrap();
        assert!(open_control(&root.join("LOCK")).is_err());
        assert!(open_control(&root.join("HARD")).is_err());
        assert!(create_new(&root.join("LOCK")).is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
        open_control(&root.join("NEW")).unwrap();

        symlink(outside.path(), root.join("blobs")).unwrap();
        assert!(real_dirs(root, &["blobs", "sha256"]).is_err());
        assert!(is_real_dir(root, &["blobs"]).is_err());
        assert!(!outside.path().join("sha256").exists());
        assert!(!is_real_dir(root, &["nothing"]).unwrap());
        let made = real_dirs(root, &["a", "b"]).unwrap();
        assert!(made.is_dir() && is_real_dir(root, &["a", "b"]).unwrap());
    }
}
