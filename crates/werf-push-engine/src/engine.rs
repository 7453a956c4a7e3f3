//! Orchestration: connect each registry once (`registry::Registries`), check every tag at
//! once (one HEAD each), then one pipeline: blobs grouped per (registry, digest), largest
//! first — the first repository uploads, then all the others mount from it at once — and
//! each image's manifests, children first, as soon as its own blobs are there
//! (`board.rs`). Requests in flight are bounded per registry by the transport
//! (`--requests`); bytes in flight by `--jobs` (transfers of blobs of `SMALL_BLOB` or more).
//! The decisions are `plan.rs`'s, the blob groups' transfers `transfer.rs`'s, the manifest
//! writes `manifests.rs`'s; this file runs the phases and gathers the summary. A
//! cancellation token (Ctrl-C) stops transfers and is checked before every manifest PUT, so
//! an interrupted run writes no further manifest.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::board::Board;
use super::cache::KnownBlobs;
use super::manifests;
use super::plan::{self, BlobGroup, Holders};
use super::transfer::{Arrived, Transfer};
use super::{Event, PushError, PushImage, PushOptions, Reporter, Summary, TagRecord, TagStatus};
use werf_push_registry::{Registries, Registry};
use werf_push_spec::{Digest, Reference};
use werf_push_transport::BULK_BODY;

/// An image and where it goes.
#[derive(Debug, Clone)]
pub struct Target {
    /// The image: manifests and blobs.
    pub image: Arc<PushImage>,
    /// The repository and tag (or digest) it is pushed to.
    pub dest: Reference,
}

/// Pushes targets over the run's registries (connections and retry budget).
pub struct Pusher {
    opts: PushOptions,
    registries: Arc<Registries>,
    reporter: Arc<dyn Reporter>,
    cancel: CancellationToken,
}

impl Pusher {
    /// A pusher with `opts`, over the run's `registries`, telling `reporter` what happens.
    pub fn new(
        opts: PushOptions,
        registries: Arc<Registries>,
        reporter: Arc<dyn Reporter>,
    ) -> Pusher {
        Pusher {
            opts,
            registries,
            reporter,
            cancel: CancellationToken::new(),
        }
    }

    /// Uses `token` to interrupt the run: transfers stop, open upload sessions are
    /// cancelled, no manifest is written once it is cancelled.
    pub fn with_cancel(mut self, token: CancellationToken) -> Pusher {
        self.cancel = token;
        self
    }

    async fn registry(&self, reference: &Reference) -> Result<Registry, PushError> {
        self.registries
            .get(reference)
            .await
            .map_err(|source| PushError::Connect {
                registry: reference.registry.clone(),
                source,
            })
    }

    /// Pushes every target. Returns what happened and every failure; a target whose blobs
    /// did not all arrive gets no manifest.
    pub async fn push(&self, targets: Vec<Target>) -> (Summary, Vec<PushError>) {
        let started = Instant::now();
        let mut summary = Summary::default();
        let mut errors = Vec::new();

        // 1. Connect, and the up-to-date check: one HEAD per tag, all at once.
        let (pending, connected, known) =
            self.check_tags(&targets, &mut summary, &mut errors).await;

        // 2. Blobs, grouped per (registry, digest), each group's transfers started. A dry
        // run reads the known-blob cache too (its plan shows the mounts a real run would
        // try), but records nothing.
        let cache = self.opts.known_blobs.as_deref().map(KnownBlobs::load);
        let (groups, cached) = self.plan_blobs(&pending, &known, cache.as_ref(), &connected);
        let board = Arc::new(Board::new(groups.iter().flat_map(|g| {
            g.repos
                .iter()
                .map(|r| (g.registry.clone(), r.clone(), g.desc.digest.clone()))
        })));
        let arrived: Arrived = Default::default();
        let tasks = self.spawn_transfers(groups, &connected, &arrived, &board);

        // 3. Manifests: children by digest, the root by tag; each image's as soon as its
        // blobs are there, only for complete images.
        let writes = manifests::spawn(pending, &board, self.opts.dry_run, &self.cancel);
        for group_errors in tasks.join_all().await {
            errors.extend(group_errors);
        }
        let arrived = std::mem::take(&mut *arrived.lock().expect("results lock"));
        summary.blobs = arrived.values().cloned().collect();
        if let (Some(c), false) = (&cache, self.opts.dry_run) {
            c.record(&summary.blobs, &known, &cached);
        }
        self.collect_tags(writes, &mut summary, &mut errors).await;
        summary.finish(started.elapsed().as_secs_f64());
        (summary, errors)
    }

    /// The blob groups of the pending targets, per (registry, digest) in target order.
    /// Mount sources: repositories known from this run first, then the known-blob cache's
    /// (what it offered comes back with the groups). Reports the plan, and opens upload
    /// connections ahead while the checks and POSTs run (HTTPS only).
    fn plan_blobs(
        &self,
        pending: &[(Target, Registry)],
        known: &Holders,
        cache: Option<&KnownBlobs>,
        connected: &HashMap<String, Registry>,
    ) -> (Vec<BlobGroup>, Holders) {
        let (groups, cached) = plan::group_blobs(
            pending.iter().map(|(t, _)| (&t.dest, t.image.as_ref())),
            known,
            |registry, digest| cache.map(|c| c.candidates(registry, &digest.to_string())),
        );
        let planned: Vec<(Digest, u64)> = groups
            .iter()
            .map(|g| (g.desc.digest.clone(), g.desc.size))
            .collect();
        self.reporter.event(Event::Planned { blobs: &planned });
        if !self.opts.dry_run {
            for (registry, n) in plan::uploads_ahead(&groups, BULK_BODY, self.opts.jobs) {
                connected[&registry].transport().warm_uploads(n);
            }
        }
        (groups, cached)
    }

    /// Starts each blob group's transfers, all bounded by one `--jobs` semaphore (bytes in
    /// flight; requests in flight are the transport's bound). Each task returns its group's
    /// failures; what arrived goes to `arrived` and the board.
    fn spawn_transfers(
        &self,
        groups: Vec<BlobGroup>,
        connected: &HashMap<String, Registry>,
        arrived: &Arrived,
        board: &Arc<Board>,
    ) -> JoinSet<Vec<PushError>> {
        let transfers = Arc::new(Semaphore::new(self.opts.jobs.max(1)));
        let mut tasks = JoinSet::new();
        for g in groups {
            let registry = connected[&g.registry].clone();
            let (transfers, arrived, board, opts, reporter, cancel) = (
                transfers.clone(),
                arrived.clone(),
                board.clone(),
                self.opts.clone(),
                self.reporter.clone(),
                self.cancel.clone(),
            );
            tasks.spawn(async move {
                let run = Transfer {
                    registry: &registry,
                    transfers: &transfers,
                    opts: &opts,
                    reporter: &reporter,
                    arrived: &arrived,
                    board: &board,
                    cancel: &cancel,
                };
                run.group(g).await
            });
        }
        tasks
    }

    /// Waits for the manifest writes and records each tag (in the order of the pending
    /// targets) or its failure.
    async fn collect_tags(
        &self,
        writes: JoinSet<(usize, Result<TagRecord, PushError>)>,
        summary: &mut Summary,
        errors: &mut Vec<PushError>,
    ) {
        let mut written = writes.join_all().await;
        written.sort_by_key(|w| w.0);
        for (_, w) in written {
            match w {
                Ok(record) => {
                    self.reporter.event(Event::TagDone { record: &record });
                    summary.tags.push(record);
                }
                Err(e) => errors.push(e),
            }
        }
    }

    /// Connects each target's registry (once per registry) and checks every tag at once (one
    /// HEAD each). An up-to-date tag is recorded, and its repository becomes a mount source
    /// of the image's blobs; the others come back to push, with their registry.
    async fn check_tags(
        &self,
        targets: &[Target],
        summary: &mut Summary,
        errors: &mut Vec<PushError>,
    ) -> (Vec<(Target, Registry)>, HashMap<String, Registry>, Holders) {
        let mut pending = Vec::new();
        let mut connected: HashMap<String, Registry> = HashMap::new();
        let mut checks = JoinSet::new();
        for (i, t) in targets.iter().enumerate() {
            let reg = match self.registry(&t.dest).await {
                Ok(r) => r,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            connected.insert(t.dest.registry.clone(), reg.clone());
            let t = t.clone();
            checks.spawn(async move {
                let current = reg
                    .manifest_digest(&t.dest.repository, &t.dest.manifest_reference())
                    .await;
                (i, reg, current)
            });
        }
        let mut checked: Vec<_> = checks.join_all().await;
        checked.sort_by_key(|c| c.0);
        // Repositories that hold a blob because a tag there is up to date: mount sources.
        let mut known = Holders::new();
        for (i, reg, current) in checked {
            let t = &targets[i];
            let root = t.image.root();
            match current {
                Ok(current) if plan::up_to_date(current.as_ref(), root.digest()) => {
                    let record = TagRecord {
                        reference: t.dest.to_string(),
                        digest: root.digest().clone(),
                        status: TagStatus::UpToDate,
                        manifests_written: 0,
                    };
                    self.reporter.event(Event::TagDone { record: &record });
                    summary.tags.push(record);
                    plan::add_holders(&mut known, &t.dest, &t.image);
                }
                Ok(_) => pending.push((t.clone(), reg)),
                Err(source) => errors.push(PushError::Manifest {
                    reference: t.dest.to_string(),
                    digest: root.digest().clone(),
                    source: Arc::new(source),
                }),
            }
        }
        (pending, connected, known)
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
