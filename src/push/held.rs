//! Checks that a finished upload is really held, and when a resumed one is not where the
//! registry said: Artifactory called chunked uploads done that kept the last chunk only;
//! ECR's upload status `Range` stops moving after the first chunk.

use super::blob::BlobJob;
use crate::registry::RegistryError;

/// Fresh starts after a 416 on the first PATCH of a resumed session (ECR).
pub(super) const MAX_STALE_RESTARTS: u32 = 2;

/// ECR's upload status `Range` stops moving after the first chunk although the data is
/// stored; a PATCH re-sent from it gets 416. A 416 to the PATCH at `offset`, the first
/// after a resume (`resumed_at`), means the offset was wrong, not the body too large: start
/// over (a bounded number of times).
pub(super) fn stale_resume(e: &RegistryError, offset: u64, resumed_at: Option<u64>) -> bool {
    e.status() == Some(416) && resumed_at.is_some_and(|at| at > 0 && at == offset)
}

impl BlobJob<'_> {
    /// `HEAD` of the blob just uploaded in several requests: the registry must hold it at
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_resume_table() {
        let status = |s: u16| RegistryError::Status {
            op: "PATCH".into(),
            status: s,
            body: Default::default(),
            retry_after: None,
        };
        // (status, offset of the failed PATCH, offset resumed at) -> start over
        let cases = [
            (416, 1 << 20, Some(1 << 20), true),
            (416, 2 << 20, Some(1 << 20), false),
            (416, 0, Some(0), false),
            (416, 1 << 20, None, false),
            (400, 1 << 20, Some(1 << 20), false),
        ];
        for (s, offset, at, want) in cases {
            assert_eq!(
                stale_resume(&status(s), offset, at),
                want,
                "{s} {offset} {at:?}"
            );
        }
    }
}
