//! One transfer of a blob over an open upload session: the `PATCH` chunks in order, then
//! the closing `PUT` with the rest (and, when the blob went in more than one request, the
//! check that the registry holds it); each body streamed from the blob's source, its bytes
//! reported as the connection takes them. An interrupt lets the request in flight finish
//! (`cancel::drain`). What the next attempt does after a failure is `upload.rs`'s.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{set_open, BlobJob, Failure, Open, Stop};
use crate::cancel::{drain, Raced};
use crate::profile::UploadPlan;
use crate::upload_rules::Step;
use crate::Event;
use werf_push_registry::{RegistryError, UploadSession};
use werf_push_transport::Body;

impl BlobJob<'_> {
    /// The body for `len` bytes from `offset`, reporting bytes as the connection takes them.
    fn tracked(&self, offset: u64, len: u64) -> Body {
        let reporter = Arc::clone(self.reporter);
        let digest = self.desc.digest.clone();
        let sent = Arc::new(AtomicU64::new(offset));
        Body::Tracked {
            inner: Box::new(self.source.body(offset, len, Some(&self.sent_check))),
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
    pub(super) async fn transfer(
        &self,
        plan: &UploadPlan,
        s: UploadSession,
        sent: &mut u64,
        open: &Open,
    ) -> Result<(), Stop> {
        let (s, patched) = self.patch_chunks(plan, s, sent, open).await?;
        if self.cancel.is_cancelled() {
            return Err(Stop::Cancelled);
        }
        self.close(s, patched, sent).await
    }

    /// The PATCH requests of a transfer: every chunk but the one the closing PUT carries
    /// (all of them when the plan says the PUT carries none). Returns the session after
    /// them, and whether any part of the blob went in a PATCH (this run's or an earlier
    /// attempt's).
    async fn patch_chunks(
        &self,
        plan: &UploadPlan,
        mut s: UploadSession,
        sent: &mut u64,
        open: &Open,
    ) -> Result<(UploadSession, bool), Stop> {
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
        Ok((s, patched))
    }

    /// The closing PUT with the rest of the blob (none after an empty-PUT plan's PATCHes);
    /// when the blob went in more than one request, the check that the registry holds it.
    async fn close(&self, s: UploadSession, patched: bool, sent: &mut u64) -> Result<(), Stop> {
        let rest = self.desc.size - s.offset;
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
}
