//! Orchestration: connect each registry once (`registry::Registries`), check tags (one
//! HEAD each), then transfer blobs grouped per (registry, digest) — the first repository
//! uploads, the others mount from it — largest first under `--jobs`, then write manifests
//! children first. The decisions are `plan.rs`'s; this file does the requests. A
//! cancellation token (Ctrl-C) stops transfers and is checked before every manifest PUT, so
//! an interrupted run writes no further manifest.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::blob::BlobJob;
use super::flight::Flights;
use super::plan::{self, BlobGroup, Holders};
use super::{
    BlobRecord, Event, PushError, PushImage, PushOptions, Reporter, Summary, TagRecord, TagStatus,
};
use crate::registry::{Registries, Registry, RegistryError};
use crate::spec::{Digest, Reference};

/// An image and where it goes.
#[derive(Debug, Clone)]
pub struct Target {
    pub image: Arc<PushImage>,
    pub dest: Reference,
}

/// Pushes targets over the run's registries (connections and retry budget).
pub struct Pusher {
    opts: PushOptions,
    registries: Arc<Registries>,
    reporter: Arc<dyn Reporter>,
    cancel: CancellationToken,
}

/// (registry, repository, digest): a blob or a manifest in one repository.
type RepoDigest = (String, String, Digest);
/// The blobs that arrived, per (registry, repository, digest).
type Arrived = Arc<Mutex<HashMap<RepoDigest, BlobRecord>>>;
/// One check-and-write per child manifest and repository: `Ok(true)` when written, `Ok(false)`
/// when the registry held it; a failure is shared by every image waiting on it.
type ManifestFlights = Flights<RepoDigest, Result<bool, Arc<RegistryError>>>;

impl Pusher {
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
        let sem = Arc::new(Semaphore::new(self.opts.jobs.max(1)));

        // 1. Connect, and the up-to-date check: one HEAD per tag.
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
            let (t, sem) = (t.clone(), sem.clone());
            checks.spawn(async move {
                let _p = sem.acquire().await;
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
                Ok(current) if plan::up_to_date(current.as_ref(), &root.digest) => {
                    let record = TagRecord {
                        reference: t.dest.to_string(),
                        digest: root.digest.clone(),
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
                    digest: root.digest.clone(),
                    source: Arc::new(source),
                }),
            }
        }

        // 2. Blobs, grouped per (registry, digest): repositories in target order. Mount
        // sources: repositories known from this run first, then the known-blob cache's.
        // A dry run reads the cache too (its plan shows the mounts a real run would try),
        // but records nothing.
        let cache = self
            .opts
            .known_blobs
            .as_deref()
            .map(super::cache::KnownBlobs::load);
        let (groups, cached) = plan::group_blobs(
            pending.iter().map(|(t, _)| (&t.dest, t.image.as_ref())),
            &known,
            |registry, digest| {
                cache
                    .as_ref()
                    .map(|c| c.candidates(registry, &digest.to_string()))
            },
        );
        let arrived: Arrived = Default::default();
        let mut tasks = JoinSet::new();
        for g in groups {
            let registry = connected[&g.registry].clone();
            let (sem, arrived, opts, reporter, cancel) = (
                sem.clone(),
                arrived.clone(),
                self.opts.clone(),
                self.reporter.clone(),
                self.cancel.clone(),
            );
            tasks.spawn(async move {
                transfer(g, &registry, &sem, &opts, &reporter, &arrived, &cancel).await
            });
        }
        for group_errors in tasks.join_all().await {
            errors.extend(group_errors);
        }
        let arrived = std::mem::take(&mut *arrived.lock().expect("results lock"));
        summary.blobs = arrived.values().cloned().collect();
        if let (Some(c), false) = (&cache, self.opts.dry_run) {
            c.record(&summary.blobs, &known, &cached);
        }

        // 3. Manifests: children by digest, the root by tag; only for complete images.
        let manifest_flights: Arc<ManifestFlights> = Arc::new(Flights::new());
        let mut writes = JoinSet::new();
        for (i, (t, reg)) in pending.into_iter().enumerate() {
            let missing = plan::missing_blob(&t.dest, &t.image, |registry, repo, d| {
                arrived.contains_key(&(registry.to_string(), repo.to_string(), d.clone()))
            });
            if let Some(d) = missing {
                errors.push(PushError::Skipped {
                    reference: t.dest.to_string(),
                    digest: d.clone(),
                });
                continue;
            }
            let (sem, flights, dry_run, cancel) = (
                sem.clone(),
                manifest_flights.clone(),
                self.opts.dry_run,
                self.cancel.clone(),
            );
            writes.spawn(async move {
                let _p = sem.acquire().await;
                (
                    i,
                    write_manifests(&reg, &t, &flights, dry_run, &cancel).await,
                )
            });
        }
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
        summary.finish(started.elapsed().as_secs_f64());
        (summary, errors)
    }
}

/// Takes one blob into every repository of its group, in order; each one that has it
/// becomes a mount source for the next.
async fn transfer(
    g: BlobGroup,
    registry: &Registry,
    sem: &Semaphore,
    opts: &PushOptions,
    reporter: &Arc<dyn Reporter>,
    arrived: &Arrived,
    cancel: &CancellationToken,
) -> Vec<PushError> {
    let mut errors = Vec::new();
    let mut holders = g.holders.clone();
    for repo in &g.repos {
        let _permit: Option<SemaphorePermit> = sem.acquire().await.ok();
        let job = BlobJob {
            registry,
            registry_name: &g.registry,
            repo,
            desc: &g.desc,
            source: &g.source,
            mount_from: plan::mount_sources(&holders, repo),
            opts,
            reporter,
            cancel,
        };
        match job.run().await {
            Ok(record) => {
                // In a dry run too: after a real run this repository would hold it.
                holders.push(repo.clone());
                reporter.event(Event::BlobDone { record: &record });
                let key = (g.registry.clone(), repo.clone(), g.desc.digest.clone());
                arrived.lock().expect("results lock").insert(key, record);
            }
            Err(e) => errors.push(e),
        }
    }
    errors
}

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
    let n = t.image.manifests.len();
    for m in &t.image.manifests[..n - 1] {
        if dry_run {
            continue;
        }
        let key = (t.dest.registry.clone(), repo.clone(), m.digest.clone());
        if cancel.is_cancelled() {
            return Err(PushError::Cancelled);
        }
        let result = flights
            .run(key, || async {
                if reg
                    .manifest_digest(repo, &m.digest.to_string())
                    .await?
                    .is_some()
                {
                    return Ok(false);
                }
                reg.put_manifest(repo, &m.digest.to_string(), m).await?;
                Ok(true)
            })
            .await;
        // The child's own failure (status, code, retryability), shared with every image
        // that waited on the same write.
        if result.map_err(|e| fail(&m.digest, e))? {
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
            .map_err(|e| fail(&root.digest, Arc::new(e)))?;
        written += 1;
        TagStatus::Pushed
    };
    Ok(TagRecord {
        reference: t.dest.to_string(),
        digest: root.digest.clone(),
        status,
        manifests_written: written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::NoopReporter;
    use crate::spec::Manifest;
    use crate::transport::{RetryBudget, TransportOptions};

    fn pusher() -> Pusher {
        let registries = Registries::new(
            TransportOptions::default(),
            Arc::new(RetryBudget::new(0, 0)),
        );
        Pusher::new(
            PushOptions::default(),
            Arc::new(registries),
            Arc::new(NoopReporter),
        )
    }

    fn target(dest: &str) -> Target {
        let config = Digest::sha256_of(b"{}");
        let bytes = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":2}},"layers":[]}}"#
        );
        let m = Manifest::parse(bytes.into(), None).unwrap();
        let blobs = m
            .blobs()
            .into_iter()
            .map(|d| (d.clone(), super::super::BlobSource::Bytes("{}".into())))
            .collect();
        Target {
            image: Arc::new(PushImage {
                manifests: vec![m],
                blobs,
            }),
            dest: Reference::parse(dest).unwrap(),
        }
    }

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
            assert_eq!(e.kind(), crate::spec::ErrorKind::Registry, "{e}");
        }
    }

    #[tokio::test]
    async fn nothing_to_push() {
        let (summary, errors) = pusher().push(Vec::new()).await;
        assert!(errors.is_empty());
        assert_eq!((summary.tags.len(), summary.blobs.len()), (0, 0));
    }

    /// A registry nobody listens on: each of its targets fails to connect (a network
    /// failure, named by registry), nothing is written, no blob is reported.
    #[tokio::test]
    async fn unreachable_registry_fails_its_targets() {
        let (summary, errors) = pusher()
            .push(vec![target("127.0.0.1:1/a:v1"), target("127.0.0.1:1/b:v1")])
            .await;
        assert_eq!(errors.len(), 2, "{errors:?}");
        for e in &errors {
            assert!(matches!(e, PushError::Connect { registry, .. } if registry == "127.0.0.1:1"));
            assert_eq!(e.kind(), crate::spec::ErrorKind::Network, "{e}");
        }
        assert_eq!((summary.tags.len(), summary.blobs.len()), (0, 0));
    }
}
