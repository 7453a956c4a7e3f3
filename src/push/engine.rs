//! Orchestration: connect each registry once, check tags (one HEAD each), then transfer
//! blobs grouped per (registry, digest) — the first repository uploads, the others mount
//! from it — largest first under `--jobs`, then write manifests children first. A
//! cancellation token (Ctrl-C) stops transfers and is checked before every manifest PUT, so
//! an interrupted run writes no further manifest.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::blob::BlobJob;
use super::flight::Flights;
use super::{
    BlobRecord, BlobSource, Event, PushError, PushImage, PushOptions, Reporter, Summary, TagRecord,
    TagStatus,
};
use crate::registry::Registry;
use crate::spec::{Descriptor, Digest, Reference};
use crate::transport::{RetryBudget, Transport, TransportOptions};

/// An image and where it goes.
#[derive(Debug, Clone)]
pub struct Target {
    pub image: Arc<PushImage>,
    pub dest: Reference,
}

/// Pushes targets; holds the connections and the run's retry budget.
pub struct Pusher {
    opts: PushOptions,
    transport_opts: TransportOptions,
    budget: Arc<RetryBudget>,
    reporter: Arc<dyn Reporter>,
    registries: tokio::sync::Mutex<HashMap<String, Registry>>,
    cancel: CancellationToken,
}

type BlobKey = (String, String, Digest);
type BlobResults = Arc<Mutex<HashMap<BlobKey, Result<BlobRecord, String>>>>;

impl Pusher {
    pub fn new(
        opts: PushOptions,
        transport_opts: TransportOptions,
        budget: Arc<RetryBudget>,
        reporter: Arc<dyn Reporter>,
    ) -> Pusher {
        Pusher {
            opts,
            transport_opts,
            budget,
            reporter,
            registries: Default::default(),
            cancel: CancellationToken::new(),
        }
    }

    /// Uses `token` to interrupt the run: transfers stop, open upload sessions are
    /// cancelled, no manifest is written once it is cancelled.
    pub fn with_cancel(mut self, token: CancellationToken) -> Pusher {
        self.cancel = token;
        self
    }

    /// The registry behind `reference`, connected once per run.
    pub async fn registry(&self, reference: &Reference) -> Result<Registry, PushError> {
        let mut map = self.registries.lock().await;
        if let Some(r) = map.get(&reference.registry) {
            return Ok(r.clone());
        }
        let transport = Transport::connect(
            reference.api_host(),
            &self.transport_opts,
            self.budget.clone(),
        )
        .await
        .map_err(|source| PushError::Connect {
            registry: reference.registry.clone(),
            source,
        })?;
        let r = Registry::new(transport);
        map.insert(reference.registry.clone(), r.clone());
        Ok(r)
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
        let mut checks = JoinSet::new();
        for (i, t) in targets.iter().enumerate() {
            let reg = match self.registry(&t.dest).await {
                Ok(r) => r,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
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
        let mut known: HashMap<(String, Digest), Vec<String>> = HashMap::new();
        for (i, reg, current) in checked {
            let t = &targets[i];
            let root = t.image.root();
            match current {
                Ok(Some(d)) if d == root.digest.to_string() => {
                    let record = TagRecord {
                        reference: t.dest.to_string(),
                        digest: root.digest.clone(),
                        status: TagStatus::UpToDate,
                        manifests_written: 0,
                    };
                    self.reporter.event(Event::TagDone { record: &record });
                    summary.tags.push(record);
                    for (d, _) in &t.image.blobs {
                        let holders = known
                            .entry((t.dest.registry.clone(), d.digest.clone()))
                            .or_default();
                        if !holders.contains(&t.dest.repository) {
                            holders.push(t.dest.repository.clone());
                        }
                    }
                }
                Ok(_) => pending.push((t.clone(), reg)),
                Err(source) => errors.push(PushError::Manifest {
                    reference: t.dest.to_string(),
                    digest: root.digest.clone(),
                    source,
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
        let mut cached: HashMap<(String, Digest), Vec<String>> = HashMap::new();
        let results: BlobResults = Default::default();
        let mut groups: BTreeMap<(String, Digest), Group> = BTreeMap::new();
        for (t, reg) in &pending {
            for (desc, source) in &t.image.blobs {
                let g = groups
                    .entry((t.dest.registry.clone(), desc.digest.clone()))
                    .or_insert_with(|| Group {
                        registry: reg.clone(),
                        registry_name: t.dest.registry.clone(),
                        desc: desc.clone(),
                        source: source.clone(),
                        repos: Vec::new(),
                        holders: known
                            .get(&(t.dest.registry.clone(), desc.digest.clone()))
                            .cloned()
                            .unwrap_or_default(),
                    });
                if !g.repos.contains(&t.dest.repository) {
                    g.repos.push(t.dest.repository.clone());
                }
                if let (Some(c), true) = (&cache, g.repos.len() == 1) {
                    let from = c.candidates(&g.registry_name, &desc.digest.to_string());
                    for r in &from {
                        if !g.holders.contains(r) {
                            g.holders.push(r.clone());
                        }
                    }
                    cached.insert((g.registry_name.clone(), desc.digest.clone()), from);
                }
            }
        }
        let mut groups: Vec<Group> = groups.into_values().collect();
        groups.sort_by_key(|g| std::cmp::Reverse(g.desc.size));
        let mut tasks = JoinSet::new();
        for g in groups {
            let (sem, results, opts, reporter, cancel) = (
                sem.clone(),
                results.clone(),
                self.opts.clone(),
                self.reporter.clone(),
                self.cancel.clone(),
            );
            tasks.spawn(async move { g.run(&sem, &opts, &reporter, &results, &cancel).await });
        }
        for group_errors in tasks.join_all().await {
            errors.extend(group_errors);
        }
        let results = std::mem::take(&mut *results.lock().expect("results lock"));
        summary.blobs = results
            .values()
            .filter_map(|r| r.as_ref().ok().cloned())
            .collect();
        if let (Some(c), false) = (&cache, self.opts.dry_run) {
            c.record(&summary.blobs, &known, &cached);
        }

        // 3. Manifests: children by digest, the root by tag; only for complete images.
        let manifest_flights: Arc<Flights<BlobKey, Result<bool, String>>> =
            Arc::new(Flights::new());
        let mut writes = JoinSet::new();
        for (i, (t, reg)) in pending.into_iter().enumerate() {
            let failed = t.image.blobs.iter().find(|(d, _)| {
                !matches!(
                    results.get(&(
                        t.dest.registry.clone(),
                        t.dest.repository.clone(),
                        d.digest.clone()
                    )),
                    Some(Ok(_))
                )
            });
            if let Some((d, _)) = failed {
                errors.push(PushError::Skipped {
                    reference: t.dest.to_string(),
                    digest: d.digest.clone(),
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

/// One blob and the repositories of one registry that need it.
struct Group {
    registry: Registry,
    registry_name: String,
    desc: Descriptor,
    source: BlobSource,
    repos: Vec<String>,
    /// Repositories known to hold the blob already.
    holders: Vec<String>,
}

impl Group {
    async fn run(
        self,
        sem: &Semaphore,
        opts: &PushOptions,
        reporter: &Arc<dyn Reporter>,
        results: &BlobResults,
        cancel: &CancellationToken,
    ) -> Vec<PushError> {
        let mut errors = Vec::new();
        let mut holders = self.holders.clone();
        for repo in &self.repos {
            let _permit: Option<SemaphorePermit> = sem.acquire().await.ok();
            let job = BlobJob {
                registry: &self.registry,
                registry_name: &self.registry_name,
                repo,
                desc: &self.desc,
                source: &self.source,
                mount_from: holders.iter().filter(|h| *h != repo).cloned().collect(),
                opts,
                reporter,
                cancel,
            };
            let result = job.run().await;
            let key = (
                self.registry_name.clone(),
                repo.clone(),
                self.desc.digest.clone(),
            );
            let stored = match result {
                Ok(record) => {
                    // In a dry run too: after a real run this repository would hold it.
                    holders.push(repo.clone());
                    reporter.event(Event::BlobDone { record: &record });
                    Ok(record)
                }
                Err(e) => {
                    let text = e.to_string();
                    errors.push(e);
                    Err(text)
                }
            };
            results.lock().expect("results lock").insert(key, stored);
        }
        errors
    }
}

async fn write_manifests(
    reg: &Registry,
    t: &Target,
    flights: &Flights<BlobKey, Result<bool, String>>,
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
                match reg.manifest_digest(repo, &m.digest.to_string()).await {
                    Ok(Some(_)) => return Ok(false),
                    Ok(None) => {}
                    Err(e) => return Err(e.to_string()),
                }
                reg.put_manifest(repo, &m.digest.to_string(), m)
                    .await
                    .map(|_| true)
                    .map_err(|e| e.to_string())
            })
            .await;
        match result {
            Ok(true) => written += 1,
            Ok(false) => {}
            Err(text) => {
                return Err(fail(
                    &m.digest,
                    crate::registry::RegistryError::Protocol {
                        op: format!("PUT manifest {repo}@{}", m.digest),
                        detail: text,
                    },
                ))
            }
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
            .map_err(|e| fail(&root.digest, e))?;
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
