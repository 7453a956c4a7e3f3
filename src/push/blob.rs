//! One blob into one repository: HEAD, then mount from a repository known to hold it, then
//! upload following an [`UploadPlan`] (registry profile + options) that adapts to what the
//! registry refuses; resumed from the offset the registry confirms after a break, within
//! the run's retry budget; the session cancelled (DELETE, `cancel.rs`) when abandoned or
//! on an interrupt (Ctrl-C, SIGTERM), after the request in flight stopped. A
//! digest refusal is checked against the file on disk, so a corrupted layout is reported
//! with its path. Knows nothing of how HTTP is spoken (registry does) or of the CLI.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::cancel::{cancel_session, drain, Raced};
use super::held::{stale_resume, MAX_STALE_RESTARTS};
use super::profile::{RegistryProfile, UploadPlan};
use super::{BlobRecord, BlobSource, BlobStatus, Event, PushError, PushOptions, Reporter};
use crate::registry::{MountOutcome, Registry, RegistryError, UploadSession};
use crate::spec::Descriptor;
use crate::transport::{Again, Body, WaitCut};

/// Changes of plan (smaller or bigger chunks, monolithic) allowed for one blob.
const MAX_ADAPTATIONS: u32 = 12;

pub(crate) struct BlobJob<'a> {
    pub registry: &'a Registry,
    pub registry_name: &'a str,
    pub repo: &'a str,
    pub desc: &'a Descriptor,
    pub source: &'a BlobSource,
    /// Repositories of the same registry known to hold the blob.
    pub mount_from: Vec<String>,
    /// HEAD the blob first. Without it a mount goes first: its answer says as much (201:
    /// the repository has it now), and a refused mount opens the upload session.
    pub check_first: bool,
    /// Bytes in flight (`--jobs`): a permit per upload of a blob of [`SMALL_BLOB`] or more.
    pub transfers: &'a tokio::sync::Semaphore,
    pub opts: &'a PushOptions,
    pub reporter: &'a Arc<dyn Reporter>,
    /// Ctrl-C: abandon the transfer, cancel the open session.
    pub cancel: &'a CancellationToken,
}

/// Blobs under this size take no `--jobs` permit: their transfer is a round trip more than
/// a byte count, bounded only by the requests in flight.
pub(crate) const SMALL_BLOB: u64 = 1 << 20;

/// Which request of an upload failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Patch,
    Put,
    /// The `HEAD` after the closing `PUT` (`held.rs`).
    Verify,
}

/// Why a transfer stopped.
enum Stop {
    Failed(Box<Failure>),
    /// Interrupted; the session to cancel, if any, is in `Open`.
    Cancelled,
}

struct Failure {
    error: RegistryError,
    /// The session the registry may hold part of the blob in.
    session: UploadSession,
    step: Step,
    /// Body size of the failed request.
    len: u64,
}

/// What attempts of one upload leave to the next.
struct Upload {
    plan: UploadPlan,
    /// Changes of plan so far (at most [`MAX_ADAPTATIONS`]).
    adaptations: u32,
    /// ECR: the offset of a session resumed from its status, and the fresh starts after a
    /// 416 there (see `stale_resume`).
    resumed_at: Option<u64>,
    stale_restarts: u32,
    /// The session the next attempt starts from.
    next: Next,
    /// Bytes sent, every attempt counted.
    sent: u64,
}

enum Next {
    /// This session (from a mount's answer), or a new one.
    Start(Option<UploadSession>),
    /// Where the registry says a broken session is; a new one if it cannot say.
    Resume(UploadSession),
    /// A new session, the broken one cancelled.
    Fresh(UploadSession),
}

/// How one attempt of an upload ended.
enum Tried {
    /// Final: uploaded, interrupted, or the layout's file corrupt.
    Done(Result<(), PushError>),
    /// The session could not be opened.
    StartFailed(RegistryError),
    /// The plan changed after this refusal (`count`-th change, `change` says how).
    Adapted {
        error: RegistryError,
        count: u32,
        change: String,
    },
    /// The transfer failed; `fresh`: retried from a new session even if not retryable.
    Failed { error: RegistryError, fresh: bool },
}

/// The open upload session, for cancelling it when the transfer is dropped.
type Open = Mutex<Option<UploadSession>>;

fn set_open(open: &Open, s: Option<&UploadSession>) {
    *open.lock().expect("session lock") = s.cloned();
}

impl BlobJob<'_> {
    pub async fn run(self) -> Result<BlobRecord, PushError> {
        let mut record = BlobRecord {
            registry: self.registry_name.to_string(),
            repository: self.repo.to_string(),
            digest: self.desc.digest.clone(),
            size: self.desc.size,
            status: BlobStatus::Skipped,
            bytes_sent: 0,
            mounted_from: None,
        };
        if self.cancel.is_cancelled() {
            return Err(PushError::Cancelled);
        }
        let err = |source: RegistryError| self.error(source);
        // ECR Public: cross-repository mounts fail; none is tried.
        let mounts = self.profile().limits().mounts;
        let mount_answers = mounts && !self.mount_from.is_empty() && !self.opts.dry_run;
        if (self.check_first || !mount_answers)
            && self
                .registry
                .blob_exists(self.repo, &self.desc.digest)
                .await
                .map_err(err)?
                .is_some()
        {
            return Ok(record);
        }
        if self.opts.dry_run {
            // A real run would try these mounts first; the plan says so.
            match self.mount_from.first() {
                Some(from) => {
                    record.status = BlobStatus::WouldMount;
                    record.mounted_from = Some(from.clone());
                }
                None => record.status = BlobStatus::WouldPush,
            }
            return Ok(record);
        }
        let mut session = None;
        for from in self.mount_from.iter().filter(|_| mounts) {
            match self
                .registry
                .mount_blob(self.repo, &self.desc.digest, from)
                .await
            {
                Ok(MountOutcome::Mounted) => {
                    record.status = BlobStatus::Mounted;
                    record.mounted_from = Some(from.clone());
                    return Ok(record);
                }
                Ok(MountOutcome::Session(s)) => {
                    session = Some(s);
                    break;
                }
                // Docker Hub and Harbor fail a mount they cannot authorise (401/403) instead
                // of answering 202, Harbor a top-level `from=` with 400, Nexus with other
                // codes: any answer but 201/202 means "not mounted", a plain upload follows.
                Err(e) if e.status().is_some() => continue,
                // GitLab's token service refuses a scope outside the project (sometimes
                // with 404): the mount is given up; the upload asks without that scope.
                Err(RegistryError::Transport(crate::transport::TransportError::TokenRealm {
                    ..
                })) => continue,
                Err(e) => return Err(err(e)),
            }
        }
        // Bytes in flight: wait for a place before the transfer starts (and shows).
        let _transfer = match self.desc.size >= SMALL_BLOB {
            true => self.transfers.acquire().await.ok(),
            false => None,
        };
        self.reporter.event(Event::BlobStarted {
            repository: self.repo,
            digest: &self.desc.digest,
            size: self.desc.size,
        });
        record.status = BlobStatus::Pushed;
        let open: Open = Mutex::new(None);
        let result = self.upload(session, &mut record.bytes_sent, &open).await;
        if let Err(PushError::Cancelled) = result {
            // The transfer has stopped (finished or cut): cancel what it leaves open.
            let s = open.lock().expect("session lock").take();
            if let Some(s) = s {
                cancel_session(self.registry, &s, true).await;
            }
        }
        result.map(|()| record)
    }

    /// Uploads with retries from the shared budget, through the one retry loop
    /// ([`crate::transport::RetryBudget::retry_until`]): each attempt starts or resumes a
    /// session and transfers (`Upload` carries what attempts leave to the next). A chunked
    /// upload resumes where the registry says it is, a monolithic one starts over by
    /// reopening the file. Refusals that say "body too large" or "chunk too small" change
    /// the plan and try again at once, outside the budget.
    async fn upload(
        &self,
        session: Option<UploadSession>,
        sent: &mut u64,
        open: &Open,
    ) -> Result<(), PushError> {
        let budget = self.registry.transport().budget().clone();
        let state = tokio::sync::Mutex::new(Upload {
            plan: UploadPlan::new(self.profile(), self.opts, self.desc.size),
            adaptations: 0,
            resumed_at: None,
            stale_restarts: 0,
            next: Next::Start(session),
            sent: *sent,
        });
        let st = &state;
        let outcome = budget
            .retry_until(
                Some(self.cancel),
                move || async move { self.attempt(&mut *st.lock().await, open).await },
                |t, _| match t {
                    Tried::Done(_) => Again::Final,
                    // GHCR's secondary rate limit (403, body says so) backs off like a 429.
                    Tried::StartFailed(e) if e.status() == Some(403) && e.is_retryable() => {
                        Again::After(e.retry_after())
                    }
                    Tried::StartFailed(_) => Again::Final,
                    Tried::Adapted { .. } => Again::Now,
                    Tried::Failed { error, fresh } if *fresh || error.is_retryable() => {
                        Again::After(error.retry_after())
                    }
                    Tried::Failed { .. } => Again::Final,
                },
                |t, r, wait| match t {
                    Tried::StartFailed(e) | Tried::Failed { error: e, .. } => {
                        self.retrying(e, (r.attempt(), r.max()), wait, String::new())
                    }
                    Tried::Adapted {
                        error,
                        count,
                        change,
                    } => self.retrying(error, (*count, MAX_ADAPTATIONS), wait, change.clone()),
                    Tried::Done(_) => {}
                },
            )
            .await;
        let st = state.into_inner();
        *sent = st.sent;
        match outcome {
            Err(WaitCut) => Err(PushError::Cancelled),
            Ok(Tried::Done(result)) => result,
            Ok(Tried::StartFailed(e)) => Err(self.error(e)),
            Ok(Tried::Failed { error, .. } | Tried::Adapted { error, .. }) => {
                if let Next::Resume(s) | Next::Fresh(s) = &st.next {
                    self.abandon(s, open).await;
                }
                Err(self.error(error))
            }
        }
    }

    /// One attempt of [`Self::upload`]: the session `st.next` says (given, resumed, or
    /// started afresh), the transfer, and on a failure the decision of what the next
    /// attempt starts from (a plan adapted, a fresh start, a resume).
    async fn attempt(&self, st: &mut Upload, open: &Open) -> Tried {
        let session = match std::mem::replace(&mut st.next, Next::Start(None)) {
            Next::Start(s) => s,
            Next::Resume(broken) => match self.resume_unless_cancelled(broken, open).await {
                Ok(s) => {
                    st.resumed_at = s.as_ref().map(|s| s.offset);
                    s
                }
                Err(e) => return Tried::Done(Err(e)),
            },
            Next::Fresh(broken) => {
                self.abandon(&broken, open).await;
                st.resumed_at = None;
                None
            }
        };
        let s = match session {
            Some(s) => s,
            None => match self.registry.start_upload(self.repo).await {
                Ok(s) => s,
                Err(e) => return Tried::StartFailed(e),
            },
        };
        set_open(open, Some(&s));
        if self.cancel.is_cancelled() {
            return Tried::Done(Err(PushError::Cancelled));
        }
        if let Some(min) = s.chunk_min {
            st.plan.server_min(min);
        }
        let f = match self.transfer(&st.plan, s, &mut st.sent, open).await {
            Ok(()) => {
                set_open(open, None);
                return Tried::Done(Ok(()));
            }
            Err(Stop::Cancelled) => return Tried::Done(Err(PushError::Cancelled)),
            Err(Stop::Failed(f)) => *f,
        };
        let stale = f.step == Step::Patch
            && stale_resume(&f.error, f.session.offset, st.resumed_at)
            && st.stale_restarts < MAX_STALE_RESTARTS;
        let mut fresh = stale;
        if stale {
            st.stale_restarts += 1;
        } else if refuses_digest(&f) {
            if let Some(corrupt) = self.check_local().await {
                self.abandon(&f.session, open).await;
                return Tried::Done(Err(corrupt));
            }
            // The file is fine: whatever the registry holds is not; start over.
            fresh = true;
        }
        let adapted = !stale
            && st.adaptations < MAX_ADAPTATIONS
            && adapt(
                &mut st.plan,
                f.error.status(),
                f.error.code(),
                f.step,
                f.len,
                self.desc.size,
            );
        if adapted {
            st.adaptations += 1;
            let change = match st.plan.monolithic {
                true => " - now one PUT".to_string(),
                false => format!(" - now {} byte chunks", st.plan.chunk),
            };
            st.next = if f.step == Step::Verify {
                // The session is closed; what the registry holds is not the blob.
                set_open(open, None);
                st.resumed_at = None;
                Next::Start(None)
            } else {
                Next::Resume(f.session)
            };
            return Tried::Adapted {
                error: f.error,
                count: st.adaptations,
                change,
            };
        }
        st.next = match fresh {
            true => Next::Fresh(f.session),
            false => Next::Resume(f.session),
        };
        Tried::Failed {
            error: f.error,
            fresh,
        }
    }

    fn profile(&self) -> RegistryProfile {
        self.opts
            .profile
            .unwrap_or_else(|| RegistryProfile::detect(self.registry_name))
    }

    /// The body for `len` bytes from `offset`, reporting bytes as the connection takes them.
    fn tracked(&self, offset: u64, len: u64) -> Body {
        let reporter = Arc::clone(self.reporter);
        let digest = self.desc.digest.clone();
        let sent = Arc::new(AtomicU64::new(offset));
        Body::Tracked {
            inner: Box::new(self.source.body(offset, len)),
            progress: Arc::new(move |n| {
                let bytes = sent.fetch_add(n, Ordering::Relaxed) + n;
                reporter.event(Event::BlobProgress {
                    digest: &digest,
                    bytes,
                });
            }),
        }
    }

    /// PATCH chunks in order, the last one in the closing PUT (a monolithic plan is one
    /// PUT of everything from the session's offset). On an interrupt the request in flight
    /// may finish (`cancel::drain`); `open` is then the session to cancel.
    async fn transfer(
        &self,
        plan: &UploadPlan,
        mut s: UploadSession,
        sent: &mut u64,
        open: &Open,
    ) -> Result<(), Stop> {
        let size = self.desc.size;
        let chunk = if plan.monolithic {
            u64::MAX
        } else {
            plan.chunk.max(1)
        };
        let mut patched = s.offset > 0;
        while size - s.offset > chunk || (plan.empty_put && s.offset < size) {
            if self.cancel.is_cancelled() {
                return Err(Stop::Cancelled);
            }
            let chunk = chunk.min(size - s.offset);
            patched = true;
            *sent += chunk;
            let patch = self
                .registry
                .upload_chunk(&s, self.tracked(s.offset, chunk));
            match drain(self.cancel, patch).await {
                Raced::Done(Ok(next)) => {
                    s = next;
                    set_open(open, Some(&s));
                }
                Raced::Drained(Ok(next)) => {
                    set_open(open, Some(&next));
                    return Err(Stop::Cancelled);
                }
                Raced::Drained(Err(_)) | Raced::Cut => return Err(Stop::Cancelled),
                Raced::Done(Err(error)) => {
                    return Err(Stop::Failed(Box::new(Failure {
                        error,
                        session: s,
                        step: Step::Patch,
                        len: chunk,
                    })))
                }
            }
        }
        if self.cancel.is_cancelled() {
            return Err(Stop::Cancelled);
        }
        let rest = size - s.offset;
        *sent += rest;
        let body = self.tracked(s.offset, rest);
        let put = self.registry.finish_upload(&s, &self.desc.digest, body);
        match drain(self.cancel, put).await {
            // Artifactory said a chunked upload was done but kept its last chunk only:
            // what was sent in more than one request is checked before a manifest refers
            // to it.
            Raced::Done(Ok(())) if patched => self.check_held().await.map_err(|error| {
                let step = match error {
                    RegistryError::Protocol { .. } => Step::Verify,
                    _ => Step::Put,
                };
                Stop::Failed(Box::new(Failure {
                    error,
                    session: s,
                    step,
                    len: 0,
                }))
            }),
            // Finished after the interrupt: the blob is complete, nothing is left open.
            Raced::Done(Ok(())) | Raced::Drained(Ok(())) => Ok(()),
            Raced::Drained(Err(_)) | Raced::Cut => Err(Stop::Cancelled),
            Raced::Done(Err(error)) => Err(Stop::Failed(Box::new(Failure {
                error,
                session: s,
                step: Step::Put,
                len: rest,
            }))),
        }
    }

    /// [`Self::resume`], given up (the broken session left open) on an interrupt.
    async fn resume_unless_cancelled(
        &self,
        broken: UploadSession,
        open: &Open,
    ) -> Result<Option<UploadSession>, PushError> {
        tokio::select! {
            s = self.resume(broken, open) => Ok(s),
            _ = self.cancel.cancelled() => Err(PushError::Cancelled),
        }
    }

    /// Asks the registry how much of a broken upload it holds. `Range: 0-0` means 0 or 1
    /// byte (distribution): start over rather than guess. A session the registry no longer
    /// knows (ACR after a reset, distribution after a lost answer) is cancelled.
    async fn resume(&self, broken: UploadSession, open: &Open) -> Option<UploadSession> {
        match self.registry.upload_status(&broken).await {
            Ok(s) if resumable(s.offset, self.desc.size) => Some(s),
            _ => {
                self.abandon(&broken, open).await;
                None
            }
        }
    }

    /// `DELETE` of a session given up (bounded; a failure is logged with -v).
    async fn abandon(&self, s: &UploadSession, open: &Open) {
        set_open(open, None);
        cancel_session(self.registry, s, false).await;
    }

    fn retrying(
        &self,
        e: &RegistryError,
        (attempt, max): (u32, u32),
        wait: Duration,
        what_changes: String,
    ) {
        self.reporter.event(Event::Retrying {
            what: format!("upload of blob {}", short_hex(&self.desc.digest)),
            digest: Some(&self.desc.digest),
            reason: format!("{}{what_changes}", e.brief()),
            wait,
            attempt,
            max,
        });
    }

    fn error(&self, source: RegistryError) -> PushError {
        PushError::Blob {
            repository: self.repo.to_string(),
            digest: self.desc.digest.clone(),
            source,
        }
    }
}

/// The first 8 hex digits of a digest, as people compare them.
fn short_hex(d: &crate::spec::Digest) -> &str {
    d.hex().get(..8).unwrap_or(d.hex())
}

/// Changes `plan` for a request of `len` bytes at `step` that the registry refused with
/// `status` (and OCI error `code`) when the refusal says "body too large", "chunk too
/// small" or "no chunked uploads"; false (plan unchanged) for any other refusal.
fn adapt(
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
fn resumable(offset: u64, size: u64) -> bool {
    offset > 1 && offset <= size
}

/// The registry says the bytes it got are not the blob: DIGEST_INVALID / SIZE_INVALID, a
/// `Docker-Content-Digest` that differs, or (plain-text error bodies, as from proxies and
/// some registries) any 400 on the closing PUT.
fn refuses_digest(f: &Failure) -> bool {
    refuses(&f.error, f.step)
}

fn refuses(e: &RegistryError, step: Step) -> bool {
    matches!(e.code(), Some("DIGEST_INVALID" | "SIZE_INVALID"))
        || matches!(e, RegistryError::DigestMismatch { .. })
        || (step == Step::Put && e.status() == Some(400))
}

#[cfg(test)]
#[path = "blob_tests.rs"]
mod tests;
