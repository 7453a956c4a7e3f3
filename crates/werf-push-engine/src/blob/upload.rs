//! The upload of one blob after its session is known: attempts through the crate's one
//! retry loop ([`werf_push_transport::RetryBudget::retry_until`]), each starting or resuming a
//! session and transferring (`chunks.rs`), over a small state that says what the next attempt
//! starts from (after a closing `PUT` that got no answer, a `HEAD` first: the registry may
//! have completed it); the decisions come from `upload_rules.rs`. Knows nothing of how HTTP is
//! spoken (registry does) or of the CLI.

use super::{set_open, BlobJob, Failure, Open, Stop};
use crate::profile::UploadPlan;
use crate::upload_rules::{
    adapt, may_have_landed, refuses_digest, stale_resume, Step, MAX_ADAPTATIONS, MAX_STALE_RESTARTS,
};
use crate::PushError;
use werf_push_registry::{RegistryError, UploadSession};
use werf_push_transport::{Again, WaitCut};

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
    /// The last closing `PUT` got no answer: the registry may hold the blob already
    /// (`may_have_landed`); the next attempt asks first.
    ask_first: bool,
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

impl BlobJob<'_> {
    /// Uploads with retries from the shared budget, through the one retry loop
    /// ([`werf_push_transport::RetryBudget::retry_until`]): each attempt starts or resumes a
    /// session and transfers (`Upload` carries what attempts leave to the next). A chunked
    /// upload resumes where the registry says it is, a monolithic one starts over by
    /// reopening the file. Refusals that say "body too large" or "chunk too small" change
    /// the plan and try again at once, outside the budget.
    pub(super) async fn upload(
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
            ask_first: false,
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
        if std::mem::take(&mut st.ask_first) && self.check_held().await.is_ok() {
            // The unanswered PUT was completed: the session is closed, the blob is there.
            set_open(open, None);
            return Tried::Done(Ok(()));
        }
        let s = match self.open_session(st, open).await {
            Ok(s) => s,
            Err(tried) => return tried,
        };
        if let Some(min) = s.chunk_min {
            st.plan.server_min(min);
        }
        match self.transfer(&st.plan, s, &mut st.sent, open).await {
            Ok(()) => {
                set_open(open, None);
                Tried::Done(Ok(()))
            }
            Err(Stop::Cancelled) => Tried::Done(Err(PushError::Cancelled)),
            Err(Stop::Failed(f)) => self.after_failure(st, *f, open).await,
        }
    }

    /// The session an attempt sends to, from `st.next`: the one given (a mount's answer),
    /// a broken one resumed where the registry says it is, or a new one (the broken one
    /// cancelled). `Err`: how the attempt ended before a byte was sent.
    async fn open_session(&self, st: &mut Upload, open: &Open) -> Result<UploadSession, Tried> {
        let session = match std::mem::replace(&mut st.next, Next::Start(None)) {
            Next::Start(s) => s,
            Next::Resume(broken) => match self.resume_unless_cancelled(broken, open).await {
                Ok(s) => {
                    st.resumed_at = s.as_ref().map(|s| s.offset);
                    s
                }
                Err(e) => return Err(Tried::Done(Err(e))),
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
                Err(e) => return Err(Tried::StartFailed(e)),
            },
        };
        set_open(open, Some(&s));
        if self.cancel.is_cancelled() {
            return Err(Tried::Done(Err(PushError::Cancelled)));
        }
        Ok(s)
    }

    /// What a failed transfer leaves to the next attempt: nothing when the file is at
    /// fault (changed on disk, or corrupt where the registry refused its digest), else a
    /// plan adapted to the refusal, a fresh session (a stale ECR resume, a digest refused
    /// of a sound file), or a resume of this one.
    async fn after_failure(&self, st: &mut Upload, f: Failure, open: &Open) -> Tried {
        // The file changed on disk while it was sent: the body stopped before its last byte
        // (whether or not the registry checks digests); nothing more is tried.
        if let Some(actual) = self.sent_check.mismatch() {
            self.abandon(&f.session, open).await;
            return Tried::Done(Err(self.changed_on_disk(actual)));
        }
        st.ask_first = may_have_landed(&f.error, f.step);
        let stale = f.step == Step::Patch
            && stale_resume(&f.error, f.session.offset, st.resumed_at)
            && st.stale_restarts < MAX_STALE_RESTARTS;
        let mut fresh = stale;
        if stale {
            st.stale_restarts += 1;
        } else if refuses_digest(&f.error, f.step) {
            if let Some(corrupt) = self.check_local().await {
                self.abandon(&f.session, open).await;
                return Tried::Done(Err(corrupt));
            }
            // The file is fine: whatever the registry holds is not; start over.
            fresh = true;
        }
        if !stale && st.adapt(&f, self.desc.size) {
            return st.adapted(f, open);
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
}

impl Upload {
    /// Changes the plan after the refusal `f` (within [`MAX_ADAPTATIONS`]); false when no
    /// change answers it.
    fn adapt(&mut self, f: &Failure, size: u64) -> bool {
        self.adaptations < MAX_ADAPTATIONS
            && adapt(
                &mut self.plan,
                f.error.status(),
                f.error.code(),
                f.step,
                f.len,
                size,
            )
    }

    /// The attempt's end after the plan changed: the next one resumes `f`'s session, or
    /// starts a new one when the registry closed it holding something else than the blob.
    fn adapted(&mut self, f: Failure, open: &Open) -> Tried {
        self.adaptations += 1;
        let change = match self.plan.monolithic {
            true => " - now one PUT".to_string(),
            false => format!(" - now {} byte chunks", self.plan.chunk),
        };
        self.next = if f.step == Step::Verify {
            // The session is closed; what the registry holds is not the blob.
            set_open(open, None);
            self.resumed_at = None;
            Next::Start(None)
        } else {
            Next::Resume(f.session)
        };
        Tried::Adapted {
            error: f.error,
            count: self.adaptations,
            change,
        }
    }
}
