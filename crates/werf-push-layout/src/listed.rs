//! Files a directory listing found (a checkout being packed into a layer), opened and read
//! as they were listed: no link followed, no FIFO waited on, the same file (device and
//! inode), exactly the size listed: a file swapped, grown or shrunk in between is an error,
//! never a silently different copy. Knows nothing of tar or of layouts.

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::safe_fs::open_regular;

/// Opens the file at `path` that a directory listing found as `listed` (`symlink_metadata`):
/// without following a link, never blocking on a FIFO, and only when it is still that
/// regular file (same device and inode): a link, a FIFO or another file swapped in after
/// the listing is refused.
pub fn open_listed(path: &Path, listed: &std::fs::Metadata) -> io::Result<File> {
    let file = open_regular(path)?;
    let now = file.metadata()?;
    if (now.dev(), now.ino()) != (listed.dev(), listed.ino()) {
        return Err(super::safe_fs::refused(
            "was replaced by another file after it was listed: refused".into(),
        ));
    }
    Ok(file)
}

/// Reads exactly `len` bytes of `inner` (the size a listing found): a file that ends
/// sooner (it shrank while read) or holds more (it grew) is an error, never a short or cut
/// copy.
pub struct Exactly<R> {
    inner: R,
    len: u64,
    left: u64,
}

impl<R: io::Read> Exactly<R> {
    /// Reads `inner`, which must hold exactly `len` bytes.
    pub fn new(inner: R, len: u64) -> Exactly<R> {
        Exactly {
            inner,
            len,
            left: len,
        }
    }
}

impl<R: io::Read> io::Read for Exactly<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let mut one = [0u8; 1];
            return match self.inner.read(&mut one)? {
                0 => Ok(0),
                _ => Err(io::Error::other(format!(
                    "grew while it was read (listed at {} bytes): run again once nothing writes it",
                    self.len
                ))),
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "shrank while it was read ({} of the {} bytes listed): run again once \
                     nothing writes it",
                    self.len - self.left,
                    self.len
                ),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn exactly_the_listed_size_or_an_error() {
        use std::io::Read;
        // (bytes there, size listed, Ok(bytes read) or Err(start of the error))
        let cases: [(&[u8], u64, Result<usize, &str>); 4] = [
            (b"hello", 5, Ok(5)),
            (b"", 0, Ok(0)),
            (b"hel", 5, Err("shrank while it was read (3 of the 5 bytes")),
            (
                b"hello!",
                5,
                Err("grew while it was read (listed at 5 bytes)"),
            ),
        ];
        for (there, listed, want) in cases {
            let mut out = Vec::new();
            let got = Exactly::new(there, listed).read_to_end(&mut out);
            match (got, want) {
                (Ok(n), Ok(w)) => assert_eq!(n, w, "{there:?}"),
                (Err(e), Err(w)) => assert!(e.to_string().starts_with(w), "{there:?}: {e}"),
                (got, want) => panic!("{there:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn a_file_swapped_after_the_listing_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("other"), b"o").unwrap();
        // (what is swapped in for the listed file `f`, start of the error; None: opened)
        let cases: [(&str, Option<&str>); 4] = [
            ("nothing", None),
            ("another file", Some("was replaced by another file")),
            ("a symlink", Some("is a symbolic link")),
            ("a FIFO", Some("is a FIFO")),
        ];
        for (swap, want) in cases {
            let f = d.join("f");
            let _ = std::fs::remove_file(&f);
            std::fs::write(&f, b"listed").unwrap();
            let listed = std::fs::symlink_metadata(&f).unwrap();
            match swap {
                "another file" => {
                    std::fs::copy(d.join("other"), d.join("new")).unwrap();
                    std::fs::rename(d.join("new"), &f).unwrap();
                }
                "a symlink" => {
                    std::fs::remove_file(&f).unwrap();
                    symlink(d.join("other"), &f).unwrap();
                }
                "a FIFO" => {
                    std::fs::remove_file(&f).unwrap();
                    let c = std::ffi::CString::new(f.to_str().unwrap()).unwrap();
                    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
                }
                _ => {}
            }
            match (open_listed(&f, &listed), want) {
                (Ok(_), None) => {}
                (Err(e), Some(w)) => assert!(e.to_string().starts_with(w), "{swap}: {e}"),
                (got, want) => panic!("{swap}: got {:?}, want {want:?}", got.map(|_| ())),
            }
        }
    }
}
