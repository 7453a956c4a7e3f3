//! Request bodies that can be replayed: nothing, bytes in memory (manifests), or a range
//! of a file reopened on each attempt and streamed, never read whole into memory.

use std::path::PathBuf;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::TransportError;

/// Read size when streaming a file to the socket.
pub const STREAM_BUF: usize = 256 * 1024;

#[derive(Debug, Clone)]
pub enum Body {
    Empty,
    Bytes(Bytes),
    /// `len` bytes of `path` from `offset`.
    File {
        path: PathBuf,
        offset: u64,
        len: u64,
    },
    /// `len` bytes from `offset` of the synthetic content for `seed` (`synthetic.rs`):
    /// benchmarks.
    Synthetic {
        seed: u64,
        offset: u64,
        len: u64,
    },
}

impl Body {
    pub fn len(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Bytes(b) => b.len() as u64,
            Body::File { len, .. } => *len,
            Body::Synthetic { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A fresh reqwest body for one attempt.
    pub(crate) async fn open(&self) -> Result<reqwest::Body, TransportError> {
        Ok(match self {
            Body::Empty => reqwest::Body::from(Bytes::new()),
            Body::Bytes(b) => reqwest::Body::from(b.clone()),
            Body::File { path, offset, len } => {
                let err = |source| TransportError::Body {
                    path: path.display().to_string(),
                    source,
                };
                let mut f = tokio::fs::File::open(path).await.map_err(err)?;
                if *offset > 0 {
                    f.seek(std::io::SeekFrom::Start(*offset))
                        .await
                        .map_err(err)?;
                }
                reqwest::Body::wrap_stream(ReaderStream::with_capacity(f.take(*len), STREAM_BUF))
            }
            Body::Synthetic { seed, offset, len } => {
                reqwest::Body::wrap_stream(super::synthetic::stream(*seed, *offset, *len))
            }
        })
    }
}
