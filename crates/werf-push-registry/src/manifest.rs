//! Manifests: `HEAD` by tag (the one-request up-to-date check) and `PUT` of exact bytes,
//! the `PUT` tried again a few times from the run's budget when docker-registry's link race
//! or GHCR's passing "unknown blob" refuses it (the crate's one retry loop).

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::Method;

use super::error::from_response;
use super::Action;
use super::{Registry, RegistryError};
use werf_push_spec::media_type::MANIFEST_ACCEPT;
use werf_push_spec::{Digest, Manifest};
use werf_push_transport::{Body, Request};

impl Registry {
    /// The digest the tag (or digest) currently points to, `None` when it does not exist
    /// (or the answer names no valid digest: then it is written again).
    pub async fn manifest_digest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<Option<Digest>, RegistryError> {
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
                .and_then(|v| Digest::parse(v).ok())),
            // Harbor ("prevent vulnerable images") answers 412 to the HEAD clients send
            // before a push: the tag is unknown, the push goes on.
            404 | 412 => Ok(None),
            _ => Err(from_response(
                &self.transport,
                Action::HeadManifest,
                format!("HEAD manifest {repo}:{reference}"),
                resp,
            )
            .await),
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
            .header(CONTENT_TYPE, m.media_type())
            .body(Body::Bytes(m.bytes().clone()));
        let put = || async {
            let resp = self.transport.send(&req).await?;
            if resp.status().as_u16() == 201 || resp.status().as_u16() == 200 {
                return check_digest(&op, m.digest(), resp.headers().get("docker-content-digest"));
            }
            Err(from_response(&self.transport, Action::PutManifest, op.clone(), resp).await)
        };
        self.transport
            .budget()
            .retry(
                put,
                |result, retrier| match result {
                    Err(e) if retrier.attempt() < LINK_RACE_RETRIES && is_link_race(e) => {
                        Some(None)
                    }
                    _ => None,
                },
                |result, _, wait| {
                    if let Err(err) = result {
                        tracing::debug!(
                            "{err}; retrying in {wait:?} (concurrent push into {repo}?)"
                        );
                    }
                },
            )
            .await
    }
}

/// docker-registry (distribution 2.x, filesystem storage) rewrites a repository's blob
/// link files in place (truncate, then write). A manifest `PUT` that checks its blobs
/// while another push mounts or uploads one of them into the same repository can read an
/// empty link and answer `400 DIGEST_INVALID` (with `MANIFEST_BLOB_UNKNOWN`), although
/// every blob is there: seen with four publishers of overlapping images at once
/// (tests/it/integrity.rs), reproduced by the proxy in tests/it/quirks.rs. Manifests are only
/// written once every blob is confirmed, and their bytes were checked against their
/// digest on disk, so these answers are retried a few times from the run's budget.
const LINK_RACE_RETRIES: u32 = 3;

/// GHCR answers a passing "unknown blob" (`404 BLOB_UNKNOWN`) just after the blobs were
/// confirmed: the same few retries cure it.
fn is_link_race(e: &RegistryError) -> bool {
    matches!(
        (e.status(), e.code()),
        (Some(400), Some("DIGEST_INVALID" | "MANIFEST_BLOB_UNKNOWN"))
            | (Some(404), Some("BLOB_UNKNOWN" | "MANIFEST_BLOB_UNKNOWN"))
    )
}

/// `Docker-Content-Digest` of an answer, checked when present (ECR and older registries
/// may leave it out). docker-registry answers a blob written under a sha512 digest with
/// its own sha256 of it (having checked the sha512 itself): a digest of another algorithm
/// cannot be compared and is taken as it is.
pub(crate) fn check_digest(
    op: &str,
    want: &Digest,
    got: Option<&reqwest::header::HeaderValue>,
) -> Result<(), RegistryError> {
    let parsed = got
        .and_then(|v| v.to_str().ok())
        .map(|g| (g, Digest::parse(g)));
    match parsed {
        Some((_, Ok(d))) if d.algorithm() != want.algorithm() => Ok(()),
        Some((got, parsed)) if parsed.as_ref().ok() != Some(want) => {
            Err(RegistryError::DigestMismatch {
                op: op.to_string(),
                want: want.clone(),
                got: werf_push_auth::redact::quote(got),
            })
        }
        _ => Ok(()),
    }
}
