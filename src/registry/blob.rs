//! Blob existence: `HEAD /v2/<name>/blobs/<digest>`.

use reqwest::Method;

use super::error::from_response;
use super::{Registry, RegistryError};
use crate::spec::Digest;
use crate::transport::Request;

impl Registry {
    /// `Some(size)` when the repository holds the blob, `None` when it does not.
    pub async fn blob_exists(
        &self,
        repo: &str,
        digest: &Digest,
    ) -> Result<Option<u64>, RegistryError> {
        let url = self.transport.url(&format!("/v2/{repo}/blobs/{digest}"));
        let resp = self
            .transport
            .send(&Request::new(Method::HEAD, url))
            .await?;
        match resp.status().as_u16() {
            200 => {
                // Older registries omit these headers; check them only when present.
                super::manifest::check_digest(
                    &format!("HEAD blob {digest} in {repo}"),
                    digest,
                    resp.headers().get("docker-content-digest"),
                )?;
                Ok(Some(resp.content_length().unwrap_or(0)))
            }
            404 => Ok(None),
            _ => Err(from_response(
                &self.transport,
                format!("HEAD blob {digest} in {repo}"),
                resp,
            )
            .await),
        }
    }
}
