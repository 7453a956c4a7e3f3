//! The pure decisions of a blob upload: how the plan changes when a registry refuses a
//! request (body too large, chunk too small, no chunked uploads), whether a broken upload
//! can resume from the offset the registry confirms, whether a refusal says the bytes are
//! not the blob, and ECR's stale resume. No I/O: `blob/` asks, and does what they say.
//! Knows nothing of HTTP, sessions or the CLI.

use super::profile::UploadPlan;
use werf_push_registry::RegistryError;

/// Changes of plan (smaller or bigger chunks, monolithic) allowed for one blob.
pub(super) const MAX_ADAPTATIONS: u32 = 12;

/// Fresh starts after a 416 on the first PATCH of a resumed session (ECR).
pub(super) const MAX_STALE_RESTARTS: u32 = 2;

/// ECR's upload status `Range` stops moving after the first chunk although the data is
/// stored; a PATCH re-sent from it gets 416. A 416 to the PATCH at `offset`, the first
/// after a resume (`resumed_at`), means the offset was wrong, not the body too large: start
/// over (a bounded number of times).
pub(super) fn stale_resume(e: &RegistryError, offset: u64, resumed_at: Option<u64>) -> bool {
    e.status() == Some(416) && resumed_at.is_some_and(|at| at > 0 && at == offset)
}

/// Which request of an upload failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Patch,
    Put,
    /// The `HEAD` after the closing `PUT` (`blob/held.rs`).
    Verify,
}

/// Changes `plan` for a request of `len` bytes at `step` that the registry refused with
/// `status` (and OCI error `code`) when the refusal says "body too large", "chunk too
/// small" or "no chunked uploads"; false (plan unchanged) for any other refusal.
pub(super) fn adapt(
    plan: &mut UploadPlan,
    status: Option<u16>,
    code: Option<&str>,
    step: Step,
    len: u64,
    size: u64,
) -> bool {
    match (status, step) {
        // ACR (monolithic PUT over ~20 MB) and proxies with a body cap: 413.
        (Some(413), _) => plan.too_large(len),
        // GHCR refuses a PATCH body over 4 MiB with 416.
        (Some(416), Step::Patch) => plan.too_large(len),
        // ECR refuses a non-final chunk under 5 MiB with 400 (not advertised).
        (Some(400), Step::Patch) => plan.too_small(len),
        // Google Artifact Registry / GCR have no chunked uploads.
        (Some(405 | 501), Step::Patch) => plan.chunked_refused(),
        (Some(404), Step::Patch) if code.is_none() => plan.chunked_refused(),
        // Artifactory: a PUT carrying data gets 404 BLOB_UNKNOWN; a chunked upload it
        // called done held the last chunk only (`Step::Verify`).
        (Some(404), Step::Put) if len > 0 => plan.one_patch(size),
        (_, Step::Verify) => plan.one_patch(size),
        _ => false,
    }
}

/// Whether an upload can go on from the `offset` the registry confirms for a blob of
/// `size` bytes. `Range: 0-0` means 0 or 1 byte (distribution): start over rather than
/// guess; an offset past the end is nonsense.
pub(super) fn resumable(offset: u64, size: u64) -> bool {
    offset > 1 && offset <= size
}

/// The registry says the bytes it got are not the blob: DIGEST_INVALID / SIZE_INVALID, a
/// `Docker-Content-Digest` that differs, or (plain-text error bodies, as from proxies and
/// some registries) any 400 on the closing PUT.
pub(super) fn refuses_digest(e: &RegistryError, step: Step) -> bool {
    matches!(e.code(), Some("DIGEST_INVALID" | "SIZE_INVALID"))
        || matches!(e, RegistryError::DigestMismatch { .. })
        || (step == Step::Put && e.status() == Some(400))
}

/// The closing `PUT` got no answer from the registry (a timeout, a cut connection, a
/// gateway's 502 or 504), so the registry may have stored the blob all the same:
/// docker-registry on object storage (S3 under Harbor and GitLab) completes a `PUT` whose
/// client gave up during a stall of the store. The next attempt asks with a `HEAD` first
/// instead of sending the blob again (`tests/it/object_storage.rs` reproduces it).
pub(super) fn may_have_landed(e: &RegistryError, step: Step) -> bool {
    step == Step::Put
        && match e {
            RegistryError::Transport(t) => t.status().is_none(),
            RegistryError::Status { status, .. } => matches!(status, 502 | 504),
            _ => false,
        }
}

#[cfg(test)]
#[path = "upload_rules_tests.rs"]
mod tests;
