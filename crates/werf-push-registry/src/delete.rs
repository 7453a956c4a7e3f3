//! Deleting one tag without deleting another. In the distribution API a manifest is deleted
//! by digest, and that removes every tag pointing at it; [`Registry::delete_tag`] removes
//! one tag only:
//! 1. `DELETE /v2/<name>/manifests/<tag>` (OCI 1.1 tag deletion; `202` means done), when
//!    the caller says to try it (the registry profile's delete path), until the registry
//!    shows it does not do it;
//! 2. else, when the caller says every tag on the digest goes (`sole`), `DELETE` by digest;
//! 3. else the tag is replaced with a unique minimal manifest (an OCI image of one small
//!    config naming the tag, no layer), which is then deleted by digest: only that tag goes
//!    (regclient's way). Should that delete fail, the tag's original manifest is put back.
//!
//! Token scopes: `DELETE` asks for `repository:<name>:delete` (`auth::scope`; `*` when the
//! token for `delete` is refused, as GitLab may), the replacement's `PUT` for `pull,push`.
//! Refusals (`405 UNSUPPORTED` of a registry with deletion disabled, `401`/`403`) come back
//! as [`RegistryError`]s whose class and hint say what to enable (`hint.rs`). Blobs are
//! never deleted: the registry's garbage collector frees them.

use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::Method;

use super::error::from_response;
use super::Action;
use super::{Registry, RegistryError};
use werf_push_spec::Manifest;
use werf_push_transport::Request;

/// Label of the unique manifest a tag is replaced with before it is deleted; a cleanup
/// killed between the replacement and its delete leaves a tag carrying it, which the next
/// cleanup deletes.
pub const PLACEHOLDER_LABEL: &str = "werf-push-cleanup-placeholder";

/// The answer to one `DELETE` of a manifest. Exhaustive: gone or not there are the only
/// successes; any other answer is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// `202` (or `200`/`204`): gone.
    Done,
    /// `404`: it was not there (any more).
    Missing,
}

/// How a tag was deleted (cleanup's report); grows with the ways of deleting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum TagDeletion {
    /// The registry deleted the tag itself.
    ByTag,
    /// Its manifest was deleted by digest: no other tag held it.
    ByDigest,
    /// Replaced with a unique manifest, deleted by digest.
    Replaced,
    /// The tag was already gone.
    Gone,
}

impl Registry {
    /// `DELETE /v2/<repo>/manifests/<reference>` (a tag or a digest).
    pub(crate) async fn delete_manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<Deleted, RegistryError> {
        let url = self
            .transport
            .url(&format!("/v2/{repo}/manifests/{reference}"));
        let resp = self
            .transport
            .send(&Request::new(Method::DELETE, url))
            .await?;
        match resp.status().as_u16() {
            200 | 202 | 204 => Ok(Deleted::Done),
            404 => Ok(Deleted::Missing),
            _ => Err(from_response(
                &self.transport,
                Action::DeleteManifest,
                format!("DELETE manifest {repo}:{reference}"),
                resp,
            )
            .await),
        }
    }

    /// Deletes `repo:tag`, which held `original` when the caller looked; `sole` when every
    /// tag on `original`'s digest is being deleted (then a delete by digest is allowed).
    /// No other tag is removed: see the module comment for the order of the ways tried.
    /// `tag_delete` says whether to try the tag `DELETE` (set from the registry profile);
    /// it is cleared when the registry turns out not to do it, so that a run asks once,
    /// not once per tag.
    pub async fn delete_tag(
        &self,
        repo: &str,
        tag: &str,
        original: &Manifest,
        sole: bool,
        tag_delete: &AtomicBool,
    ) -> Result<TagDeletion, RegistryError> {
        if tag_delete.load(Ordering::Relaxed) {
            match self.delete_manifest(repo, tag).await {
                Ok(Deleted::Done) => return Ok(TagDeletion::ByTag),
                Err(e) if !tag_delete_unsupported(&e) => return Err(e),
                // distribution 2.x answers a tag DELETE with 400 DIGEST_INVALID (405
                // UNSUPPORTED when deletion is off: the digest delete below says so);
                // GitLab and others with a plain 404 (tests/it/cleanup_paths.rs against
                // docker-registry): the other ways follow.
                Ok(Deleted::Missing) | Err(_) => tag_delete.store(false, Ordering::Relaxed),
            }
        }
        let digest = original.digest().to_string();
        if sole {
            return Ok(match self.delete_manifest(repo, &digest).await? {
                Deleted::Done => TagDeletion::ByDigest,
                Deleted::Missing => TagDeletion::Gone,
            });
        }
        // Another kept tag shares the digest: swap this tag onto a manifest of its own.
        if self.manifest_digest(repo, tag).await?.as_ref() != Some(original.digest()) {
            return Ok(TagDeletion::Gone);
        }
        let unique = self.put_placeholder(repo, tag).await?;
        match self
            .delete_manifest(repo, &unique.digest().to_string())
            .await
        {
            Ok(_) => Ok(TagDeletion::Replaced),
            Err(e) => {
                // The tag must not stay on the placeholder when it could not be deleted.
                if let Err(back) = self.put_manifest(repo, tag, original).await {
                    tracing::warn!("{repo}:{tag} could not be put back: {back}");
                }
                Err(e)
            }
        }
    }

    /// Writes under `repo:tag` a manifest no other tag has: one config naming the tag and
    /// the moment, no layers.
    async fn put_placeholder(&self, repo: &str, tag: &str) -> Result<Manifest, RegistryError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let mut labels = serde_json::Map::new();
        labels.insert(PLACEHOLDER_LABEL.into(), format!("{tag} {nanos}").into());
        self.put_label_image(repo, tag, labels).await
    }
}

/// A tag `DELETE` the registry does not do (rather than refuses for rights or fails).
fn tag_delete_unsupported(e: &RegistryError) -> bool {
    matches!(e.status(), Some(400 | 404 | 405 | 501))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_delete_unsupported_table() {
        let status = |s: u16| RegistryError::Status {
            op: "DELETE manifest a:b".into(),
            action: crate::Action::DeleteManifest,
            status: s,
            body: Default::default(),
            retry_after: None,
        };
        for (s, want) in [
            (400, true),
            (404, true),
            (405, true),
            (501, true),
            (401, false),
            (403, false),
            (500, false),
        ] {
            assert_eq!(tag_delete_unsupported(&status(s)), want, "{s}");
        }
    }
}
