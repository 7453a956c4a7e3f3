//! One blob into one repository, the whole job in this module: HEAD, then mount from a
//! repository known to hold it, then upload following an `UploadPlan` (registry profile +
//! options) that adapts to what the registry refuses. Here the job, its state (the open
//! session, the stop reason), the resume, the abandon; its phases in the files beside it:
//! the attempts in `upload.rs`, one transfer (PATCH chunks, closing PUT) in `chunks.rs`, the
//! checks that an upload is held in `held.rs`, the local digest check in `verify.rs` (the
//! decisions come from the crate's `upload_rules.rs`). Resumed from the offset the registry
//! confirms after a break, within the run's retry budget; the session cancelled (DELETE, the
//! crate's `cancel.rs`) when abandoned or on an interrupt (Ctrl-C, SIGTERM), after the
//! request in flight stopped. A digest refusal is checked against the file on disk, so a
//! corrupted layout is reported with its path. Knows nothing of how HTTP is spoken
//! (registry does) or of the CLI.

mod chunks;
mod held;
mod upload;
mod verify;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::cancel::cancel_session;
use crate::profile::RegistryProfile;
use crate::upload_rules::{resumable, Step};
use crate::{BlobRecord, BlobSource, BlobStatus, Event, PushError, PushOptions, Reporter};
use werf_push_registry::{MountOutcome, Registry, RegistryError, UploadSession};
use werf_push_spec::Descriptor;
use werf_push_transport::file_stream::StreamCheck;

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
    /// The blob's digest checked over the bytes its upload reads from disk, across its
    /// requests (`StreamCheck::new(&desc.digest, desc.size)`).
    pub sent_check: Arc<StreamCheck>,
}

/// Blobs under this size take no `--jobs` permit: their transfer is a round trip more than
/// a byte count, bounded only by the requests in flight.
pub(crate) const SMALL_BLOB: u64 = 1 << 20;

/// Why a transfer stopped.
pub(super) enum Stop {
    Failed(Box<Failure>),
    /// Interrupted; the session to cancel, if any, is in `Open`.
    Cancelled,
}

pub(super) struct Failure {
    pub(super) error: RegistryError,
    /// The session the registry may hold part of the blob in.
    pub(super) session: UploadSession,
    pub(super) step: Step,
    /// Body size of the failed request.
    pub(super) len: u64,
}

/// The open upload session, for cancelling it when the transfer is dropped.
pub(super) type Open = Mutex<Option<UploadSession>>;

pub(super) fn set_open(open: &Open, s: Option<&UploadSession>) {
    *open.lock().expect("session lock") = s.cloned();
}

/// What the mounts left: the blob mounted from a repository, or an upload to do (in the
/// session a refused mount opened, if any).
enum Mount {
    Done(String),
    Upload(Option<UploadSession>),
}

impl BlobJob<'_> {
    /// The whole job: the blob found present, mounted, or uploaded (a dry run says which
    /// it would do).
    pub(crate) async fn run(self) -> Result<BlobRecord, PushError> {
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
        // ECR Public: cross-repository mounts fail; none is tried.
        let mounts = self.profile().limits().mounts;
        if self.present(mounts).await? {
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
        match self.mount(mounts).await? {
            Mount::Done(from) => {
                record.status = BlobStatus::Mounted;
                record.mounted_from = Some(from);
                Ok(record)
            }
            Mount::Upload(session) => self.send(session, record).await,
        }
    }

    /// Whether the repository holds the blob (`HEAD`). Not asked when a mount goes first
    /// and `check_first` is off: the mount's answer says as much.
    async fn present(&self, mounts: bool) -> Result<bool, PushError> {
        let mount_answers = mounts && !self.mount_from.is_empty() && !self.opts.dry_run;
        if !self.check_first && mount_answers {
            return Ok(false);
        }
        let found = self
            .registry
            .blob_exists(self.repo, &self.desc.digest)
            .await
            .map_err(|e| self.error(e))?;
        Ok(found.is_some())
    }

    /// Mounts from each repository known to hold the blob, in order, until one works or
    /// the registry opens an upload session instead.
    async fn mount(&self, mounts: bool) -> Result<Mount, PushError> {
        for from in self.mount_from.iter().filter(|_| mounts) {
            match self
                .registry
                .mount_blob(self.repo, &self.desc.digest, from)
                .await
            {
                Ok(MountOutcome::Mounted) => return Ok(Mount::Done(from.clone())),
                Ok(MountOutcome::Session(s)) => return Ok(Mount::Upload(Some(s))),
                // Docker Hub and Harbor fail a mount they cannot authorise (401/403) instead
                // of answering 202, Harbor a top-level `from=` with 400, Nexus with other
                // codes: any answer but 201/202 means "not mounted", a plain upload follows.
                Err(e) if e.status().is_some() => continue,
                // GitLab's token service refuses a scope outside the project (sometimes
                // with 404): the mount is given up; the upload asks without that scope.
                Err(RegistryError::Transport(
                    werf_push_transport::TransportError::TokenRealm { .. },
                )) => continue,
                Err(e) => return Err(self.error(e)),
            }
        }
        Ok(Mount::Upload(None))
    }

    /// Uploads the blob (from `session` if a mount opened one) after a `--jobs` permit for
    /// a blob of [`SMALL_BLOB`] or more; on an interrupt, cancels the session left open.
    async fn send(
        &self,
        session: Option<UploadSession>,
        mut record: BlobRecord,
    ) -> Result<BlobRecord, PushError> {
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

    pub(super) fn profile(&self) -> RegistryProfile {
        self.opts
            .profile
            .unwrap_or_else(|| RegistryProfile::detect(self.registry_name))
    }

    /// [`Self::resume`], given up (the broken session left open) on an interrupt.
    pub(super) async fn resume_unless_cancelled(
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
    pub(super) async fn resume(&self, broken: UploadSession, open: &Open) -> Option<UploadSession> {
        match self.registry.upload_status(&broken).await {
            Ok(s) if resumable(s.offset, self.desc.size) => Some(s),
            _ => {
                self.abandon(&broken, open).await;
                None
            }
        }
    }

    /// `DELETE` of a session given up (bounded; a failure is logged with -v).
    pub(super) async fn abandon(&self, s: &UploadSession, open: &Open) {
        set_open(open, None);
        cancel_session(self.registry, s, false).await;
    }

    pub(super) fn retrying(
        &self,
        e: &RegistryError,
        (attempt, max): (u32, u32),
        wait: Duration,
        what_changes: String,
    ) {
        self.reporter.event(Event::Retrying {
            what: format!("upload of blob {}", self.desc.digest.short()),
            digest: Some(&self.desc.digest),
            reason: format!("{}{what_changes}", e.brief()),
            wait,
            attempt,
            max,
        });
    }

    pub(super) fn error(&self, source: RegistryError) -> PushError {
        PushError::Blob {
            repository: self.repo.to_string(),
            digest: self.desc.digest.clone(),
            source,
        }
    }
}
