//! A range of a file as a stream of pieces for a request body: read on a blocking thread
//! one piece ahead of the socket, straight into the buffers handed to the connection
//! (one copy from the page cache, into reused memory; tokio's `fs::File` copies twice and
//! hops to the blocking pool for every read). Holds at most three pieces of a transfer in
//! memory: the one being read, the one waiting, the one being written. With a
//! [`StreamCheck`], the bytes are hashed as they are read, and the stream that would hand
//! over the last byte of a file whose bytes do not hash to its digest ends with an error
//! instead: a file changed on disk during a push never completes an upload, whether or not
//! the registry verifies digests. Knows nothing of HTTP or registries.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use werf_push_spec::{Digest, DigestHasher};

/// Pieces read and waiting for the connection while it writes the current one.
const READ_AHEAD: usize = 1;

/// The digest (sha256 or sha512) a whole file of `size` bytes must have, checked across the streams of
/// one upload (its requests, in order, resumed from any offset): the bytes are hashed as
/// they are read; a stream starting elsewhere than where the hash stands goes back to the
/// hash state kept at that offset (one per piece of the last [`CHECKPOINTS`] pieces: a
/// resume after a cut starts at the end of a piece sent), else hashes the file up to its
/// start first.
#[derive(Debug)]
pub struct StreamCheck {
    expected: Digest,
    size: u64,
    state: Mutex<Hashed>,
}

/// Hash states kept to resume from (at 256 KiB pieces: the last 256 MiB sent).
pub const CHECKPOINTS: usize = 1024;

#[derive(Debug)]
struct Hashed {
    /// The bytes before this offset are in `hasher`.
    at: u64,
    hasher: DigestHasher,
    /// Earlier states `(at, hasher)`, oldest first.
    checkpoints: std::collections::VecDeque<(u64, DigestHasher)>,
    /// What the bytes read hashed to, when not `expected`.
    mismatch: Option<Digest>,
}

impl StreamCheck {
    /// A check of `expected` (in its own algorithm) over `size` bytes.
    pub fn new(expected: &Digest, size: u64) -> Arc<StreamCheck> {
        Arc::new(StreamCheck {
            expected: expected.clone(),
            size,
            state: Mutex::new(Hashed {
                at: 0,
                hasher: DigestHasher::like(expected),
                checkpoints: Default::default(),
                mismatch: None,
            }),
        })
    }

    /// What the file's bytes hashed to when a stream reached its end and they did not match.
    pub fn mismatch(&self) -> Option<Digest> {
        self.lock().mismatch.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Hashed> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Brings the hash to `offset` (a stream starting there), reading the file from 0 when
    /// it stands elsewhere; leaves `file` at `offset`.
    fn start_at(&self, file: &mut std::fs::File, offset: u64) -> std::io::Result<()> {
        let mut st = self.lock();
        if st.at != offset {
            if let Some(i) = st.checkpoints.iter().position(|(at, _)| *at == offset) {
                st.checkpoints.truncate(i + 1);
                let (at, hasher) = st.checkpoints.pop_back().expect("found above");
                (st.at, st.hasher) = (at, hasher);
                return file.seek(SeekFrom::Start(offset)).map(|_| ());
            }
            st.checkpoints.clear();
            file.seek(SeekFrom::Start(0))?;
            let mut h = DigestHasher::like(&self.expected);
            let mut buf = vec![0u8; 1 << 20];
            let mut left = offset;
            while left > 0 {
                let n = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
                file.read_exact(&mut buf[..n])?;
                h.update(&buf[..n]);
                left -= n as u64;
            }
            (st.at, st.hasher) = (offset, h);
        }
        file.seek(SeekFrom::Start(offset)).map(|_| ())
    }

    /// Hashes `piece`, read at `at`; an error when it ends the file and the whole does not
    /// hash to the digest.
    fn piece(&self, at: u64, piece: &[u8]) -> std::io::Result<()> {
        let mut st = self.lock();
        if st.at != at {
            return Ok(()); // another stream moved it: the next stream hashes from the file
        }
        if st.checkpoints.len() == CHECKPOINTS {
            st.checkpoints.pop_front();
        }
        let here = (st.at, st.hasher.clone());
        st.checkpoints.push_back(here);
        st.hasher.update(piece);
        st.at += piece.len() as u64;
        if st.at != self.size {
            return Ok(());
        }
        let actual = st.hasher.clone().finish();
        if actual == self.expected {
            return Ok(());
        }
        st.mismatch = Some(actual.clone());
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "changed on disk while it was sent: its bytes hash to {actual}, not {}",
                self.expected
            ),
        ))
    }
}

/// `len` bytes of `path` from `offset` in pieces of `piece` bytes, checked by `check` when
/// given. Opening the file fails here; a read error (or a file shorter than
/// `offset + len`, or bytes that fail the check) ends the stream with that error.
pub async fn open(
    path: &Path,
    offset: u64,
    len: u64,
    piece: usize,
    check: Option<Arc<StreamCheck>>,
) -> std::io::Result<BoxStream<'static, std::io::Result<Bytes>>> {
    let p = path.to_path_buf();
    let file = tokio::task::spawn_blocking(move || std::fs::File::open(p))
        .await
        .map_err(std::io::Error::other)??;
    let (tx, rx) = mpsc::channel(READ_AHEAD);
    tokio::task::spawn_blocking(move || {
        read_pieces(file, offset, len, piece.max(1), check.as_deref(), tx)
    });
    Ok(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|piece| (piece, rx))
    })
    .boxed())
}

/// Reads the range piece by piece until it is done, the receiver is gone (the request
/// was dropped) or a read fails (sent as the last item).
fn read_pieces(
    mut file: std::fs::File,
    offset: u64,
    len: u64,
    piece: usize,
    check: Option<&StreamCheck>,
    tx: mpsc::Sender<std::io::Result<Bytes>>,
) {
    let start = match check {
        Some(c) => c.start_at(&mut file, offset),
        None => file.seek(SeekFrom::Start(offset)).map(|_| ()),
    };
    if let Err(e) = start {
        let _ = tx.blocking_send(Err(e));
        return;
    }
    let mut buf = bytes::BytesMut::new();
    let mut left = len;
    while left > 0 {
        let n = usize::try_from(left).map_or(piece, |l| l.min(piece));
        // Takes back the memory of the piece before last once the connection has
        // written and dropped it (`reserve` reclaims a buffer nobody else holds).
        buf.reserve(n);
        buf.resize(n, 0);
        let at = offset + len - left;
        let item = match file.read_exact(&mut buf[..]) {
            Ok(()) => match check.map_or(Ok(()), |c| c.piece(at, &buf)) {
                Ok(()) => Ok(buf.split().freeze()),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        let failed = item.is_err();
        if tx.blocking_send(item).is_err() || failed {
            return;
        }
        left -= n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    async fn collect(path: &Path, offset: u64, len: u64, piece: usize) -> std::io::Result<Vec<u8>> {
        collect_checked(path, offset, len, piece, None).await
    }

    async fn collect_checked(
        path: &Path,
        offset: u64,
        len: u64,
        piece: usize,
        check: Option<Arc<StreamCheck>>,
    ) -> std::io::Result<Vec<u8>> {
        let mut s = open(path, offset, len, piece, check).await?;
        let mut out = Vec::new();
        while let Some(p) = s.next().await {
            out.extend_from_slice(&p?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn ranges_come_back_exactly() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&data).unwrap();
        // (offset, len, piece size)
        let cases: &[(u64, u64, usize)] = &[
            (0, 10_000, 4096),
            (0, 10_000, 10_000),
            (0, 10_000, 1 << 20),
            (1, 9_999, 1000),
            (9_999, 1, 7),
            (5_000, 0, 64),
            (123, 4_321, 1),
        ];
        for &(offset, len, piece) in cases {
            let got = collect(f.path(), offset, len, piece).await.unwrap();
            let want = &data[offset as usize..(offset + len) as usize];
            assert!(got == want, "offset {offset} len {len} piece {piece}");
        }
    }

    #[tokio::test]
    async fn short_file_and_missing_file_are_errors() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&[1u8; 100]).unwrap();
        let e = collect(f.path(), 50, 100, 16).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
        let e = collect(Path::new("/nonexistent/werf-push-blob"), 0, 1, 16)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    }

    /// The streams of one upload (requests in order, a resume from an earlier offset, a
    /// start from a later one) hash the file; the stream that reaches its end with bytes
    /// that do not hash to the digest ends with an error instead of the last piece.
    #[tokio::test]
    async fn bytes_changed_on_disk_never_end_a_stream() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 13 % 251) as u8).collect();
        let digest = Digest::sha256_of(&data);
        // (streams (offset, len), byte changed before the first stream, byte changed after
        // it, ends in an error)
        type Case = (&'static [(u64, u64)], Option<usize>, Option<usize>, bool);
        let cases: [Case; 8] = [
            (&[(0, 10_000)], None, None, false),
            (&[(0, 10_000)], Some(9_999), None, true),
            (&[(0, 4_000), (4_000, 6_000)], Some(0), None, true),
            // A cut, then a resume from what the registry confirmed.
            (&[(0, 6_000), (3_000, 7_000)], None, None, false),
            (&[(0, 6_000), (3_000, 7_000)], Some(100), None, true),
            // What was sent before the resume counts, not what the disk holds now.
            (&[(0, 6_000), (3_000, 7_000)], None, Some(100), false),
            (&[(0, 6_000), (3_000, 7_000)], None, Some(3_100), true),
            // A stream starting where no stream has been.
            (&[(5_000, 5_000)], Some(10), None, true),
        ];
        for (streams, before, after, fails) in cases {
            let mut bytes = data.clone();
            if let Some(i) = before {
                bytes[i] ^= 0xff;
            }
            let mut f = tempfile::NamedTempFile::new().unwrap();
            f.write_all(&bytes).unwrap();
            let check = StreamCheck::new(&digest, data.len() as u64);
            let mut last = Ok(Vec::new());
            for (n, &(offset, len)) in streams.iter().enumerate() {
                last = collect_checked(f.path(), offset, len, 1000, Some(check.clone())).await;
                if let (0, Some(i)) = (n, after) {
                    use std::os::unix::fs::FileExt;
                    f.as_file()
                        .write_all_at(&[bytes[i] ^ 0xff], i as u64)
                        .unwrap();
                }
            }
            let case = format!("{streams:?} changed before {before:?}, after {after:?}");
            assert_eq!(last.is_err(), fails, "{case}: {last:?}");
            assert_eq!(check.mismatch().is_some(), fails, "{case}");
            if let Err(e) = last {
                assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
                assert!(
                    e.to_string()
                        .starts_with("changed on disk while it was sent"),
                    "{e}"
                );
            }
        }
    }
}
