//! Blob existence: `HEAD /v2/<name>/blobs/<digest>`, redirects not followed (GHCR and
//! GitLab answer `307` to presigned storage, where a `HEAD` gets `403`: the `307` itself
//! says the blob is there).

use reqwest::header::CONTENT_LENGTH;
use reqwest::Method;

use super::error::from_response;
use super::Action;
use super::{Registry, RegistryError};
use werf_push_spec::Digest;
use werf_push_transport::Request;

impl Registry {
    /// `Some(size)` when the repository holds the blob, `None` when it does not.
    pub async fn blob_exists(
        &self,
        repo: &str,
        digest: &Digest,
    ) -> Result<Option<u64>, RegistryError> {
        Ok(self.blob_size(repo, digest).await?.map(|s| s.unwrap_or(0)))
    }

    /// `Some(Some(size))` when the repository holds the blob and says its size,
    /// `Some(None)` when it holds it at a size not said (a redirect), `None` when it does
    /// not hold it.
    pub async fn blob_size(
        &self,
        repo: &str,
        digest: &Digest,
    ) -> Result<Option<Option<u64>>, RegistryError> {
        let url = self.transport.url(&format!("/v2/{repo}/blobs/{digest}"));
        let resp = self
            .transport
            .send(&Request::new(Method::HEAD, url).no_redirect())
            .await?;
        match resp.status().as_u16() {
            200 => {
                // Older registries omit these headers; check them only when present.
                super::manifest::check_digest(
                    &format!("HEAD blob {digest} in {repo}"),
                    digest,
                    resp.headers().get("docker-content-digest"),
                )?;
                // The header itself: for a HEAD the body is empty whatever it says.
                let size = resp
                    .headers()
                    .get(CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse().ok());
                Ok(Some(size))
            }
            // GHCR, GitLab: a redirect to the storage holding the blob.
            301 | 302 | 303 | 307 | 308 => Ok(Some(None)),
            404 => Ok(None),
            _ => Err(from_response(
                &self.transport,
                Action::HeadBlob,
                format!("HEAD blob {digest} in {repo}"),
                resp,
            )
            .await),
        }
    }
}
