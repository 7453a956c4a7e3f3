//! Request bodies that can be replayed: nothing, bytes in memory (manifests), or a range
//! of a file reopened on each attempt and streamed (`file_stream.rs`), never read whole
//! into memory.

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::stream::BoxStream;
use futures_util::StreamExt;

use bytes::Bytes;

use super::watch::Watch;
use super::TransportError;

/// Read size when streaming a file to the socket.
pub const STREAM_BUF: usize = 256 * 1024;

/// A request body that can be sent again (each attempt opens it anew).
#[derive(Clone)]
pub enum Body {
    /// No body.
    Empty,
    /// Bytes in memory (a manifest, a small blob).
    Bytes(Bytes),
    /// `len` bytes of `path` from `offset`; with `check`, the file's bytes are hashed as
    /// they are read and a body that would end the file with bytes that do not hash to its
    /// digest fails instead (`file_stream::StreamCheck`).
    File {
        /// The file, reopened for each attempt.
        path: PathBuf,
        /// Where in the file the body starts, in bytes.
        offset: u64,
        /// The body's length, in bytes.
        len: u64,
        /// The digest the whole file must have, checked as it is read.
        check: Option<Arc<super::file_stream::StreamCheck>>,
    },
    /// `len` bytes from `offset` of the synthetic content for `seed` (`synthetic.rs`):
    /// benchmarks.
    Synthetic {
        /// Which synthetic content.
        seed: u64,
        /// Where in it the body starts, in bytes.
        offset: u64,
        /// The body's length, in bytes.
        len: u64,
    },
    /// `inner`, calling `progress` with the size of each piece handed to the connection.
    Tracked {
        /// The body sent.
        inner: Box<Body>,
        /// Called with the size of each piece sent.
        progress: Progress,
    },
}

/// Called with the number of bytes of each piece of a body as it is sent.
pub(crate) type Progress = Arc<dyn Fn(u64) + Send + Sync>;

impl Body {
    /// The body's length in bytes (its `Content-Length`).
    pub fn len(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Bytes(b) => b.len() as u64,
            Body::File { len, .. } => *len,
            Body::Synthetic { len, .. } => *len,
            Body::Tracked { inner, .. } => inner.len(),
        }
    }

    /// Whether the body has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A fresh reqwest body for one attempt, telling `watch` how it is handed over.
    pub(crate) async fn open(&self, watch: Arc<Watch>) -> Result<reqwest::Body, TransportError> {
        Ok(match self {
            Body::Empty => {
                watch.finished();
                reqwest::Body::from(Bytes::new())
            }
            Body::Bytes(b) => {
                watch.finished();
                reqwest::Body::from(b.clone())
            }
            Body::File { .. } | Body::Synthetic { .. } | Body::Tracked { .. } => {
                let stream = self.stream().await?.inspect(move |piece| match piece {
                    Ok(b) => watch.sent(b.len() as u64),
                    Err(_) => watch.finished(),
                });
                reqwest::Body::wrap_stream(stream)
            }
        })
    }

    /// The content of a file or synthetic body as a stream of pieces.
    async fn stream(&self) -> Result<BoxStream<'static, std::io::Result<Bytes>>, TransportError> {
        Ok(match self {
            Body::File {
                path,
                offset,
                len,
                check,
            } => super::file_stream::open(path, *offset, *len, STREAM_BUF, check.clone())
                .await
                .map_err(|source| TransportError::Body {
                    path: path.display().to_string(),
                    source,
                })?,
            Body::Synthetic { seed, offset, len } => {
                super::synthetic::stream(*seed, *offset, *len).boxed()
            }
            Body::Tracked { inner, progress } => {
                let progress = Arc::clone(progress);
                Box::pin(inner.stream())
                    .await?
                    .inspect(move |piece| {
                        if let Ok(b) = piece {
                            progress(b.len() as u64);
                        }
                    })
                    .boxed()
            }
            Body::Empty => futures_util::stream::empty().boxed(),
            Body::Bytes(b) => futures_util::stream::once(std::future::ready(Ok(b.clone()))).boxed(),
        })
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Body::File {
                path, offset, len, ..
            } => {
                write!(f, "File({}, {offset}+{len})", path.display())
            }
            Body::Synthetic { seed, offset, len } => write!(f, "Synthetic({seed}, {offset}+{len})"),
            Body::Tracked { inner, .. } => write!(f, "Tracked({inner:?})"),
        }
    }
}
