//! The blob phase of a push: one blob group (a digest and the repositories of one registry
//! that need it) taken into every repository: the first checks and uploads or mounts, then
//! the others mount from it at once; each place settled on the board (`board.rs`) so that
//! the manifests waiting on it go on. One blob's own job is `blob/`'s.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::blob::BlobJob;
use super::board::{Board, RepoDigest};
use super::plan::{self, BlobGroup};
use super::{BlobRecord, Event, PushError, PushOptions, Reporter};
use werf_push_registry::Registry;

/// The blobs that arrived, per (registry, repository, digest).
pub(crate) type Arrived = Arc<Mutex<HashMap<RepoDigest, BlobRecord>>>;

/// What the transfers of one run share.
pub(crate) struct Transfer<'a> {
    pub(crate) registry: &'a Registry,
    /// Bytes in flight: one permit per transfer of a blob of `SMALL_BLOB` or more.
    pub(crate) transfers: &'a Semaphore,
    pub(crate) opts: &'a PushOptions,
    pub(crate) reporter: &'a Arc<dyn Reporter>,
    pub(crate) arrived: &'a Arrived,
    pub(crate) board: &'a Board,
    pub(crate) cancel: &'a CancellationToken,
}

impl Transfer<'_> {
    /// Takes one blob into every repository of its group: the first checks (HEAD) and
    /// uploads or mounts; once it holds the blob, all the others mount from it at once,
    /// without a HEAD (the mount answers the same question). If the first fails, the next
    /// one tries in the same way.
    pub(crate) async fn group(&self, g: BlobGroup) -> Vec<PushError> {
        let mut errors = Vec::new();
        let mut holders = g.holders.clone();
        let mut rest = g.repos.as_slice();
        while let Some((repo, others)) = rest.split_first() {
            rest = others;
            match self.one(&g, repo, &holders, true).await {
                Ok(()) => {
                    holders.push(repo.clone());
                    break;
                }
                Err(e) => errors.push(e),
            }
        }
        let mounts = rest.iter().map(|repo| self.one(&g, repo, &holders, false));
        for r in futures_util::future::join_all(mounts).await {
            if let Err(e) = r {
                errors.push(e);
            }
        }
        errors
    }

    /// One blob into one repository; settles its place on the board either way.
    async fn one(
        &self,
        g: &BlobGroup,
        repo: &str,
        holders: &[String],
        check_first: bool,
    ) -> Result<(), PushError> {
        let job = BlobJob {
            registry: self.registry,
            registry_name: &g.registry,
            repo,
            desc: &g.desc,
            source: &g.source,
            mount_from: plan::mount_sources(holders, repo),
            check_first,
            transfers: self.transfers,
            opts: self.opts,
            reporter: self.reporter,
            cancel: self.cancel,
            sent_check: werf_push_transport::file_stream::StreamCheck::new(
                &g.desc.digest,
                g.desc.size,
            ),
        };
        let key = (g.registry.clone(), repo.to_string(), g.desc.digest.clone());
        match job.run().await {
            Ok(record) => {
                // In a dry run too: after a real run this repository would hold it.
                self.reporter.event(Event::BlobDone { record: &record });
                self.arrived
                    .lock()
                    .expect("results lock")
                    .insert(key.clone(), record);
                self.board.settle(&key, true);
                Ok(())
            }
            Err(e) => {
                self.board.settle(&key, false);
                Err(e)
            }
        }
    }
}
