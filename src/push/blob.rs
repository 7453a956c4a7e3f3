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
use super::profile::{RegistryProfile, UploadPlan};
use super::{BlobRecord, BlobSource, BlobStatus, Event, PushError, PushOptions, Reporter};
use crate::registry::{MountOutcome, Registry, RegistryError, UploadSession};
use crate::spec::Descriptor;
use crate::transport::{Body, Retrier};

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
    pub opts: &'a PushOptions,
    pub reporter: &'a Arc<dyn Reporter>,
    /// Ctrl-C: abandon the transfer, cancel the open session.
    pub cancel: &'a CancellationToken,
}

/// Which request of an upload failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Patch,
    Put,
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
        if self
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
        for from in &self.mount_from {
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
                // of answering 202: go on with a plain upload.
                Err(e) if matches!(e.status(), Some(401 | 403 | 404)) => continue,
                Err(e) => return Err(err(e)),
            }
        }
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

    /// Uploads with retries from the shared budget; a chunked upload resumes where the
    /// registry says it is, a monolithic one starts over by reopening the file. Refusals
    /// that say "body too large" or "chunk too small" change the plan instead.
    async fn upload(
        &self,
        mut session: Option<UploadSession>,
        sent: &mut u64,
        open: &Open,
    ) -> Result<(), PushError> {
        let budget = self.registry.transport().budget().clone();
        let mut retrier = Retrier::new(&budget);
        let profile = self
            .opts
            .profile
            .unwrap_or_else(|| RegistryProfile::detect(self.registry_name));
        let mut plan = UploadPlan::new(profile, self.opts, self.desc.size);
        let mut adaptations = 0;
        loop {
            let s = match session.take() {
                Some(s) => s,
                None => self
                    .registry
                    .start_upload(self.repo)
                    .await
                    .map_err(|e| self.error(e))?,
            };
            set_open(open, Some(&s));
            if self.cancel.is_cancelled() {
                return Err(PushError::Cancelled);
            }
            if let Some(min) = s.chunk_min {
                plan.server_min(min);
            }
            let f = match self.transfer(&plan, s, sent, open).await {
                Ok(()) => {
                    set_open(open, None);
                    return Ok(());
                }
                Err(Stop::Cancelled) => return Err(PushError::Cancelled),
                Err(Stop::Failed(f)) => *f,
            };
            let mut fresh = false;
            if refuses_digest(&f) {
                if let Some(corrupt) = self.check_local().await {
                    self.abandon(&f.session, open).await;
                    return Err(corrupt);
                }
                // The file is fine: whatever the registry holds is not; start over.
                fresh = true;
            }
            let adapted = adaptations < MAX_ADAPTATIONS
                && adapt(&mut plan, f.error.status(), f.error.code(), f.step, f.len);
            if adapted {
                adaptations += 1;
                self.retrying(
                    &f.error,
                    (adaptations, MAX_ADAPTATIONS),
                    Duration::ZERO,
                    format!(
                        " - now {}",
                        if plan.monolithic {
                            "one PUT".to_string()
                        } else {
                            format!("{} byte chunks", plan.chunk)
                        }
                    ),
                );
                session = self.resume_unless_cancelled(f.session, open).await?;
                continue;
            }
            let retryable = fresh || f.error.is_retryable();
            let wait = match retryable {
                true => retrier.next(f.error.retry_after()),
                false => None,
            };
            let Some(wait) = wait else {
                self.abandon(&f.session, open).await;
                return Err(self.error(f.error));
            };
            self.retrying(
                &f.error,
                (retrier.attempt(), retrier.max()),
                wait,
                String::new(),
            );
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.cancel.cancelled() => return Err(PushError::Cancelled),
            }
            session = if fresh {
                self.abandon(&f.session, open).await;
                None
            } else {
                self.resume_unless_cancelled(f.session, open).await?
            };
        }
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
        while size - s.offset > chunk {
            if self.cancel.is_cancelled() {
                return Err(Stop::Cancelled);
            }
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
mod tests {
    use super::*;
    use crate::registry::ErrorBody;
    use crate::spec::Digest;

    const MIB: u64 = 1 << 20;

    fn status(status: u16, code: Option<&str>) -> RegistryError {
        RegistryError::Status {
            op: "PUT blob".into(),
            status,
            body: ErrorBody {
                code: code.map(str::to_string),
                message: None,
            },
            retry_after: None,
        }
    }

    fn plan(monolithic: bool) -> UploadPlan {
        UploadPlan {
            monolithic,
            chunk: 32 * MIB,
            min_chunk: 1,
            max_chunk: None,
        }
    }

    #[test]
    fn adapt_table() {
        use Step::{Patch, Put};
        // (monolithic plan, status, code, step, body size) -> (adapted, monolithic after)
        let cases = [
            (true, 413, None, Put, 64 * MIB, (true, false)),
            (false, 416, None, Patch, 8 * MIB, (true, false)),
            (true, 416, None, Put, 8 * MIB, (false, true)),
            // 400 on a small chunk: ECR's minimum (here chunks are big already: not that).
            (false, 400, None, Patch, MIB, (false, false)),
            (false, 400, None, Put, MIB, (false, false)),
            (false, 405, None, Patch, 32 * MIB, (true, true)),
            (false, 501, None, Patch, 32 * MIB, (true, true)),
            (false, 404, None, Patch, 32 * MIB, (true, true)),
            (
                false,
                404,
                Some("BLOB_UPLOAD_UNKNOWN"),
                Patch,
                32 * MIB,
                (false, false),
            ),
            (false, 500, None, Patch, 32 * MIB, (false, false)),
            (true, 401, None, Put, 32 * MIB, (false, true)),
        ];
        for (mono, st, code, step, len, (want, mono_after)) in cases {
            let mut p = plan(mono);
            let got = adapt(&mut p, Some(st), code, step, len);
            assert_eq!(
                (got, p.monolithic),
                (want, mono_after),
                "{st} {code:?} {step:?}"
            );
        }
        let mut p = plan(true);
        assert!(!adapt(&mut p, None, None, Step::Put, MIB), "no status");
    }

    #[test]
    fn refuses_digest_table() {
        use Step::{Patch, Put};
        let mismatch = RegistryError::DigestMismatch {
            op: "PUT blob".into(),
            want: Digest::sha256_of(b"a"),
            got: "sha256:0".into(),
        };
        let cases = [
            (status(400, Some("DIGEST_INVALID")), Patch, true),
            (status(400, Some("SIZE_INVALID")), Put, true),
            (mismatch, Put, true),
            (status(400, None), Put, true),
            (status(400, None), Patch, false),
            (status(500, None), Put, false),
            (status(404, Some("BLOB_UPLOAD_UNKNOWN")), Put, false),
        ];
        for (e, step, want) in cases {
            assert_eq!(refuses(&e, step), want, "{e} {step:?}");
        }
    }

    #[test]
    fn resumable_table() {
        // (offset, size) -> resumable
        let cases = [
            (0, 10, false),
            (1, 10, false),
            (2, 10, true),
            (10, 10, true),
            (11, 10, false),
        ];
        for (offset, size, want) in cases {
            assert_eq!(resumable(offset, size), want, "{offset} of {size}");
        }
    }

    #[test]
    fn short_hex_is_eight_digits() {
        let d = Digest::sha256_of(b"x");
        assert_eq!(short_hex(&d), &d.hex()[..8]);
    }
}
