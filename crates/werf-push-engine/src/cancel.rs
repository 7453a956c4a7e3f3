//! Giving up an upload session without leaving it in the registry. An upload request cut
//! mid-body leaves its partial data in the session, and distribution then refuses every
//! request naming the session (`GET`, `PATCH`, `DELETE`: `404 BLOB_UPLOAD_INVALID`, its
//! signed `_state` offset no longer matches what it holds; no `Location` can be had any
//! more). So on an interrupt (Ctrl-C, SIGTERM) a data request in flight is given
//! [`DRAIN`] to finish, and its answer's `Location` is the one cancelled; only one that
//! does not finish by then is cut. The `DELETE` (and, when it is refused, a status `GET`
//! for a fresh `Location` and a second `DELETE`) is bounded by [`CANCEL`] and its answer
//! checked: a session that cannot be cancelled is reported (registries purge abandoned
//! uploads themselves, distribution after a week by default); one the registry says is
//! gone already is the outcome wanted, said at `-v` only.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use werf_push_registry::{Registry, RegistryError, UploadSession};

/// How long an upload request in flight at an interrupt may take to finish.
pub(crate) const DRAIN: Duration = Duration::from_secs(3);
/// How long cancelling one session may take in all.
pub(crate) const CANCEL: Duration = Duration::from_secs(2);

/// How a request raced with an interrupt ended.
pub(crate) enum Raced<T> {
    /// It finished without an interrupt.
    Done(T),
    /// It finished after an interrupt, within [`DRAIN`].
    Drained(T),
    /// The interrupt came and it did not finish in time: it was cut.
    Cut,
}

/// Runs `fut`; after `cancel` fires, lets it finish within [`DRAIN`].
pub(crate) async fn drain<T>(cancel: &CancellationToken, fut: impl Future<Output = T>) -> Raced<T> {
    tokio::pin!(fut);
    tokio::select! {
        r = &mut fut => Raced::Done(r),
        _ = cancel.cancelled() => match tokio::time::timeout(DRAIN, fut).await {
            Ok(r) => Raced::Drained(r),
            Err(_) => Raced::Cut,
        },
    }
}

/// Cancels session `s`, within [`CANCEL`]; a failure is logged (a warning when
/// `interrupted`: the run promised to leave nothing behind).
pub(crate) async fn cancel_session(registry: &Registry, s: &UploadSession, interrupted: bool) {
    let uuid = s.location.path().rsplit('/').next().unwrap_or("");
    let e = match tokio::time::timeout(CANCEL, delete(registry, s)).await {
        Ok(Ok(())) => return,
        Ok(Err(e)) if is_gone(&e) => {
            tracing::debug!("upload session {uuid} in {} is gone already: {e}", s.repo);
            return;
        }
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {}s", CANCEL.as_secs()),
    };
    if interrupted {
        tracing::warn!(
            "upload session {uuid} in {} was not cancelled ({e}); the registry removes abandoned uploads itself",
            s.repo
        );
    } else {
        tracing::debug!("upload session {uuid} in {} not cancelled: {e}", s.repo);
    }
}

/// `DELETE` at the newest `Location`; when refused, a status `GET` may give a fresher one.
async fn delete(registry: &Registry, s: &UploadSession) -> Result<(), RegistryError> {
    let first = match registry.delete_upload(s).await {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    match registry.upload_status(s).await {
        Ok(fresh) if fresh.location != s.location => registry.delete_upload(&fresh).await,
        _ => Err(first),
    }
}

/// The registry says it holds the session no more. docker-registry (distribution) answers
/// a request naming a session with a stale offset `404 BLOB_UPLOAD_INVALID` and cancels
/// the session itself as it does (its upload handler calls `Cancel` on an offset
/// mismatch), so after an interrupt that cut a request that answer is the outcome wanted;
/// tests/it/interrupt.rs checks that no session is left and no warning printed.
fn is_gone(e: &RegistryError) -> bool {
    e.status() == Some(404)
        && matches!(
            e.code(),
            Some("BLOB_UPLOAD_UNKNOWN" | "BLOB_UPLOAD_INVALID")
        )
}
