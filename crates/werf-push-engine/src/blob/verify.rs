//! The local check behind a digest refusal: the blob hashed from disk (streamed), so that a
//! corrupted layout is reported with its path instead of being retried; and the error for a
//! blob whose bytes changed on disk while its upload read them.

use super::BlobJob;
use crate::{BlobSource, PushError};
use werf_push_spec::Digest;

impl BlobJob<'_> {
    /// Hashes the local blob (streamed from disk); `Some(error)` when it does not match its
    /// digest.
    pub(crate) async fn check_local(&self) -> Option<PushError> {
        let want = &self.desc.digest;
        let (actual, path) = match self.source {
            BlobSource::Bytes(b) => (Ok(want.verify(b)), None),
            BlobSource::Synthetic { seed, size } => (
                Ok(want.matches(BlobSource::synthetic_digest(*seed, *size))),
                None,
            ),
            BlobSource::File(p) => {
                let (p2, want) = (p.clone(), want.clone());
                let r = tokio::task::spawn_blocking(move || {
                    want.verify_reader(std::fs::File::open(&p2)?)
                })
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e)));
                (r, Some(p.clone()))
            }
        };
        let how = match actual {
            Ok(Ok(())) => return None,
            Ok(Err(d)) => format!("its content hashes to {d}"),
            Err(e) => format!("it cannot be read: {e}"),
        };
        Some(PushError::Corrupt {
            digest: self.desc.digest.clone(),
            path: path.unwrap_or_else(|| "<generated>".into()),
            how,
        })
    }
}

impl BlobJob<'_> {
    /// The error for a blob whose bytes, as its upload read them, hashed to `actual`.
    pub(crate) fn changed_on_disk(&self, actual: Digest) -> PushError {
        PushError::Corrupt {
            digest: self.desc.digest.clone(),
            path: self
                .source
                .path()
                .cloned()
                .unwrap_or_else(|| "<generated>".into()),
            how: format!(
                "its bytes changed on disk while they were sent and hash to {actual}; the \
                 upload was stopped before its last byte, nothing refers to it"
            ),
        }
    }
}
