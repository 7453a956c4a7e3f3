//! Small blobs (image configs) whole in memory: read at most the size their descriptor
//! says and never more than a cap, digest verified; written in one `POST` and one `PUT`.

use bytes::Bytes;

use super::{Registry, RegistryError};
use werf_push_spec::{Descriptor, Digest};
use werf_push_transport::Body;

impl Registry {
    /// The blob `d` of `repo`, read whole. Refused without a request when `d.size` is over
    /// `max`; a body longer than `d.size` is cut there (and then fails the digest check).
    pub async fn get_small_blob(
        &self,
        repo: &str,
        d: &Descriptor,
        max: u64,
    ) -> Result<Bytes, RegistryError> {
        let op = format!("GET blob {} from {repo}", d.digest);
        if d.size > max {
            return Err(RegistryError::Protocol {
                op,
                detail: format!("the blob is {} bytes, over the {max} read whole", d.size),
            });
        }
        let mut dl = self.get_blob(repo, &d.digest, 0).await?;
        let mut buf = Vec::with_capacity(d.size as usize);
        while let Some(chunk) = dl.chunk().await? {
            if (buf.len() + chunk.len()) as u64 > d.size {
                break;
            }
            buf.extend_from_slice(&chunk);
        }
        if let Err(got) = d.digest.verify(&buf) {
            return Err(RegistryError::DigestMismatch {
                op,
                want: d.digest.clone(),
                got: got.to_string(),
            });
        }
        Ok(Bytes::from(buf))
    }

    /// Uploads a small blob held in memory (one `POST` and one `PUT`), unless the
    /// repository holds it; returns its digest.
    pub(crate) async fn put_small_blob(
        &self,
        repo: &str,
        bytes: Bytes,
    ) -> Result<Digest, RegistryError> {
        let digest = Digest::sha256_of(&bytes);
        if self.blob_exists(repo, &digest).await?.is_none() {
            let s = self.start_upload(repo).await?;
            self.finish_upload(&s, &digest, Body::Bytes(bytes)).await?;
        }
        Ok(digest)
    }
}
