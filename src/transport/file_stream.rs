//! A range of a file as a stream of pieces for a request body: read on a blocking thread
//! one piece ahead of the socket, straight into the buffers handed to the connection
//! (one copy from the page cache, into reused memory; tokio's `fs::File` copies twice and
//! hops to the blocking pool for every read). Holds at most three pieces of a transfer in
//! memory: the one being read, the one waiting, the one being written.
//! Knows nothing of HTTP or registries.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use tokio::sync::mpsc;

/// Pieces read and waiting for the connection while it writes the current one.
const READ_AHEAD: usize = 1;

/// `len` bytes of `path` from `offset` in pieces of `piece` bytes. Opening the file fails
/// here; a read error (or a file shorter than `offset + len`) ends the stream with that
/// error.
pub async fn open(
    path: &Path,
    offset: u64,
    len: u64,
    piece: usize,
) -> std::io::Result<BoxStream<'static, std::io::Result<Bytes>>> {
    let p = path.to_path_buf();
    let file = tokio::task::spawn_blocking(move || std::fs::File::open(p))
        .await
        .map_err(std::io::Error::other)??;
    let (tx, rx) = mpsc::channel(READ_AHEAD);
    tokio::task::spawn_blocking(move || read_pieces(file, offset, len, piece.max(1), tx));
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
    tx: mpsc::Sender<std::io::Result<Bytes>>,
) {
    if let Err(e) = file.seek(SeekFrom::Start(offset)) {
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
        let item = match file.read_exact(&mut buf[..]) {
            Ok(()) => Ok(buf.split().freeze()),
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
        let mut s = open(path, offset, len, piece).await?;
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
}
