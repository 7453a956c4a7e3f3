//! One blob into one repository: HEAD, then mount from a repository known to hold it, then
//! upload (monolithic PUT, or PATCH chunks closed by a PUT), resumed from the offset the
//! registry confirms after a break, within the run's retry budget.

use super::{
    BlobRecord, BlobSource, BlobStatus, Event, PushError, PushOptions, Reporter, UploadStrategy,
};
use crate::registry::{MountOutcome, Registry, RegistryError, UploadSession};
use crate::spec::Descriptor;

pub(crate) struct BlobJob<'a> {
    pub registry: &'a Registry,
    pub registry_name: &'a str,
    pub repo: &'a str,
    pub desc: &'a Descriptor,
    pub source: &'a BlobSource,
    /// Repositories of the same registry known to hold the blob.
    pub mount_from: Vec<String>,
    pub opts: &'a PushOptions,
    pub reporter: &'a dyn Reporter,
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
            record.status = BlobStatus::WouldPush;
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
        self.upload(session, &mut record.bytes_sent).await?;
        Ok(record)
    }

    fn monolithic(&self) -> bool {
        match self.opts.strategy {
            UploadStrategy::Monolithic => true,
            UploadStrategy::Chunked => false,
            UploadStrategy::Auto => self.desc.size <= self.opts.monolithic_max,
        }
    }

    /// Uploads with retries from the shared budget; a chunked upload resumes where the
    /// registry says it is, a monolithic one starts over by reopening the file.
    async fn upload(
        &self,
        mut session: Option<UploadSession>,
        sent: &mut u64,
    ) -> Result<(), PushError> {
        let budget = self.registry.transport().budget().clone();
        let mut attempt = 0;
        loop {
            let s = match session.take() {
                Some(s) => s,
                None => self
                    .registry
                    .start_upload(self.repo)
                    .await
                    .map_err(|e| self.error(e))?,
            };
            let result = if self.monolithic() {
                *sent += self.desc.size;
                let body = self.source.body(0, self.desc.size);
                self.registry
                    .finish_upload(&s, &self.desc.digest, body)
                    .await
                    .map_err(|e| (e, None))
            } else {
                self.chunked(s, sent).await
            };
            let (e, broken) = match result {
                Ok(()) => return Ok(()),
                Err(x) => x,
            };
            if e.code() == Some("DIGEST_INVALID") || e.code() == Some("SIZE_INVALID") {
                return Err(self.corrupt(e));
            }
            if !e.is_retryable() || !budget.take(attempt) {
                if let Some(b) = &broken {
                    self.registry.cancel_upload(b).await;
                }
                return Err(self.error(e));
            }
            let wait = budget.delay(attempt, None);
            self.reporter.event(Event::Retrying {
                what: format!("blob {} to {}", self.desc.digest.short(), self.repo),
                reason: e.to_string(),
                wait,
            });
            tokio::time::sleep(wait).await;
            attempt += 1;
            session = match broken {
                Some(b) => self.resume(b).await,
                None => None,
            };
        }
    }

    /// PATCH chunks in order, the last one in the closing PUT. On failure, returns the
    /// session to resume from.
    async fn chunked(
        &self,
        mut s: UploadSession,
        sent: &mut u64,
    ) -> Result<(), (RegistryError, Option<UploadSession>)> {
        let size = self.desc.size;
        let chunk = self.opts.chunk_size.max(s.chunk_min.unwrap_or(0)).max(1);
        while size - s.offset > chunk {
            *sent += chunk;
            match self
                .registry
                .upload_chunk(&s, self.source.body(s.offset, chunk))
                .await
            {
                Ok(next) => s = next,
                Err(e) => return Err((e, Some(s))),
            }
            self.reporter.event(Event::BlobProgress {
                digest: &self.desc.digest,
                bytes: s.offset,
            });
        }
        *sent += size - s.offset;
        let body = self.source.body(s.offset, size - s.offset);
        match self
            .registry
            .finish_upload(&s, &self.desc.digest, body)
            .await
        {
            Ok(()) => Ok(()),
            Err(e) => Err((e, Some(s))),
        }
    }

    /// Asks the registry how much of a broken upload it holds. `Range: 0-0` means 0 or 1
    /// byte (distribution): start over rather than guess.
    async fn resume(&self, broken: UploadSession) -> Option<UploadSession> {
        match self.registry.upload_status(&broken).await {
            Ok(s) if s.offset > 1 && s.offset <= self.desc.size => Some(s),
            _ => {
                self.registry.cancel_upload(&broken).await;
                None
            }
        }
    }

    fn error(&self, source: RegistryError) -> PushError {
        PushError::Blob {
            repository: self.repo.to_string(),
            digest: self.desc.digest.clone(),
            source,
        }
    }

    fn corrupt(&self, source: RegistryError) -> PushError {
        match self.source.path() {
            Some(path) => PushError::Corrupt {
                digest: self.desc.digest.clone(),
                path: path.clone(),
            },
            None => self.error(source),
        }
    }
}
