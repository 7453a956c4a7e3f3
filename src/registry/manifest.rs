//! Manifests: `HEAD` by tag (the one-request up-to-date check) and `PUT` of exact bytes.

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::Method;

use super::error::from_response;
use super::{Registry, RegistryError};
use crate::spec::media_type::MANIFEST_ACCEPT;
use crate::spec::{Digest, Manifest};
use crate::transport::{Body, Request};

impl Registry {
    /// The digest the tag (or digest) currently points to, `None` when it does not exist.
    pub async fn manifest_digest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<Option<String>, RegistryError> {
        let url = self
            .transport
            .url(&format!("/v2/{repo}/manifests/{reference}"));
        let req = Request::new(Method::HEAD, url).header(ACCEPT, MANIFEST_ACCEPT);
        let resp = self.transport.send(&req).await?;
        match resp.status().as_u16() {
            200 => Ok(resp
                .headers()
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)),
            404 => Ok(None),
            _ => Err(from_response(format!("HEAD manifest {repo}:{reference}"), resp).await),
        }
    }

    /// Writes `m` under `reference` (a tag or its digest) with its exact bytes.
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        m: &Manifest,
    ) -> Result<(), RegistryError> {
        let op = format!("PUT manifest {repo}:{reference}");
        let url = self
            .transport
            .url(&format!("/v2/{repo}/manifests/{reference}"));
        let req = Request::new(Method::PUT, url)
            .header(CONTENT_TYPE, &m.media_type)
            .body(Body::Bytes(m.bytes.clone()));
        let resp = self.transport.send(&req).await?;
        if resp.status().as_u16() != 201 && resp.status().as_u16() != 200 {
            return Err(from_response(op, resp).await);
        }
        check_digest(&op, &m.digest, resp.headers().get("docker-content-digest"))
    }
}

/// `Docker-Content-Digest` of an answer, checked when present (ECR and older registries
/// may leave it out).
pub(crate) fn check_digest(
    op: &str,
    want: &Digest,
    got: Option<&reqwest::header::HeaderValue>,
) -> Result<(), RegistryError> {
    match got.and_then(|v| v.to_str().ok()) {
        Some(got) if got != want.to_string() => Err(RegistryError::DigestMismatch {
            op: op.to_string(),
            want: want.clone(),
            got: got.to_string(),
        }),
        _ => Ok(()),
    }
}
