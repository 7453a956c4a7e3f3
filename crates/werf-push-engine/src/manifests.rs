//! The manifest phase of a push: each pending image waits on the board (`board.rs`) for
//! its own blobs, then writes its manifests: children of an index by digest, each checked
//! (`HEAD`) and written once per repository for the whole run (`flight.rs`: a child shared by
//! several images is written once, its failure shared by all), then the root by tag. An
//! image missing a blob gets no manifest; a cancelled run writes no further manifest; a dry
//! run writes none.

use std::sync::Arc;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::board::{Board, RepoDigest};
use super::flight::Flights;
use super::{PushError, TagRecord, TagStatus, Target};
use werf_push_registry::{Registry, RegistryError};
use werf_push_spec::Digest;

/// One check-and-write per child manifest and repository: `Ok(true)` when written, `Ok(false)`
/// when the registry held it; a failure is shared by every image waiting on it.
type ManifestFlights = Flights<RepoDigest, Result<bool, Arc<RegistryError>>>;

/// Starts each pending image's manifest writes: children by digest, the root by tag, as
/// soon as all its blobs are on the board; an image missing a blob is skipped. Each
/// result comes with the image's place among the pending ones.
pub(crate) fn spawn(
    pending: Vec<(Target, Registry)>,
    board: &Arc<Board>,
    dry_run: bool,
    cancel: &CancellationToken,
) -> JoinSet<(usize, Result<TagRecord, PushError>)> {
    let manifest_flights: Arc<ManifestFlights> = Arc::new(Flights::new());
    let mut writes = JoinSet::new();
    for (i, (t, reg)) in pending.into_iter().enumerate() {
        let (board, flights, dry_run, cancel) = (
            board.clone(),
            manifest_flights.clone(),
            dry_run,
            cancel.clone(),
        );
        writes.spawn(async move {
            for (d, _) in t.image.blobs() {
                let key = (
                    t.dest.registry.clone(),
                    t.dest.repository.clone(),
                    d.digest.clone(),
                );
                if !board.arrived(&key).await {
                    return (
                        i,
                        Err(PushError::Skipped {
                            reference: t.dest.to_string(),
                            digest: d.digest.clone(),
                        }),
                    );
                }
            }
            (
                i,
                write_manifests(&reg, &t, &flights, dry_run, &cancel).await,
            )
        });
    }
    writes
}

/// Writes one image's manifests into its repository: each child by digest (once per
/// repository for every image of the run, skipped when the registry holds it), then the root
/// by tag; nothing after a cancellation, and only a record in a dry run.
async fn write_manifests(
    reg: &Registry,
    t: &Target,
    flights: &ManifestFlights,
    dry_run: bool,
    cancel: &CancellationToken,
) -> Result<TagRecord, PushError> {
    let repo = &t.dest.repository;
    let root = t.image.root();
    let mut written = 0;
    let fail = |digest: &Digest, source| PushError::Manifest {
        reference: t.dest.to_string(),
        digest: digest.clone(),
        source,
    };
    for m in t.image.children() {
        if dry_run {
            continue;
        }
        let key = (t.dest.registry.clone(), repo.clone(), m.digest().clone());
        if cancel.is_cancelled() {
            return Err(PushError::Cancelled);
        }
        let result = flights
            .run(key, || async {
                if reg
                    .manifest_digest(repo, &m.digest().to_string())
                    .await?
                    .is_some()
                {
                    return Ok(false);
                }
                reg.put_manifest(repo, &m.digest().to_string(), m).await?;
                Ok(true)
            })
            .await;
        // The child's own failure (status, code, retryability), shared with every image
        // that waited on the same write.
        if result.map_err(|e| fail(m.digest(), e))? {
            written += 1;
        }
    }
    let status = if dry_run {
        TagStatus::WouldPush
    } else {
        if cancel.is_cancelled() {
            return Err(PushError::Cancelled);
        }
        reg.put_manifest(repo, &t.dest.manifest_reference(), root)
            .await
            .map_err(|e| fail(root.digest(), Arc::new(e)))?;
        written += 1;
        TagStatus::Pushed
    };
    Ok(TagRecord {
        reference: t.dest.to_string(),
        digest: root.digest().clone(),
        status,
        manifests_written: written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a child manifest's failure reached the images sharing it as a protocol
    /// error (text only): now each gets the registry's answer, status and retryability
    /// kept.
    #[tokio::test]
    async fn a_shared_child_failure_keeps_its_answer() {
        let flights: ManifestFlights = Flights::new();
        let key = (
            "r.io".to_string(),
            "a".to_string(),
            Digest::sha256_of(b"child"),
        );
        let first = flights
            .run(key.clone(), || async {
                Err(Arc::new(RegistryError::Status {
                    op: "PUT manifest a:sha256:...".into(),
                    action: werf_push_registry::Action::PutManifest,
                    status: 503,
                    body: Default::default(),
                    retry_after: None,
                }))
            })
            .await;
        // The second image waits on the same write: it is not run again.
        let second = flights.run(key, || async { Ok(true) }).await;
        for result in [first, second] {
            let e = PushError::Manifest {
                reference: "r.io/a:v1".into(),
                digest: Digest::sha256_of(b"child"),
                source: result.unwrap_err(),
            };
            let answer = e.registry_error().expect("the registry's answer");
            assert_eq!(answer.status(), Some(503), "{e}");
            assert!(answer.is_retryable(), "{e}");
            assert_eq!(e.kind(), werf_push_spec::ErrorKind::Registry, "{e}");
        }
    }
}
