//! Checks that an upload is really held: Artifactory called chunked uploads done that kept
//! the last chunk only; a closing `PUT` that got no answer may have been completed. (ECR's
//! stale resume is a rule of `upload_rules.rs`.) Knows nothing of the upload's retries or
//! of the CLI.

use super::BlobJob;
use werf_push_registry::RegistryError;

impl BlobJob<'_> {
    /// `HEAD` of the blob just uploaded in several requests, or whose closing `PUT` got no
    /// answer (`upload.rs`): the registry must hold it at
    /// its size (a redirect, size unknown, counts as held). `Protocol` when it does not;
    /// the `HEAD`'s own failure otherwise.
    pub(super) async fn check_held(&self) -> Result<(), RegistryError> {
        let size = self.desc.size;
        let detail = match self
            .registry
            .blob_size(self.repo, &self.desc.digest)
            .await?
        {
            None => "the registry confirmed the upload but does not hold the blob".into(),
            Some(None) => return Ok(()),
            Some(Some(n)) if n == size => return Ok(()),
            Some(Some(n)) => format!("the registry holds {n} bytes of {size} after the upload"),
        };
        Err(RegistryError::Protocol {
            op: format!("HEAD blob {} in {}", self.desc.digest, self.repo),
            detail,
        })
    }
}
