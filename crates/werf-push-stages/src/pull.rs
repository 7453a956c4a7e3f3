//! `stages pull`: the distributed stages cache back into the local stages storage. Lists
//! the `image-stage-<signature>` tags of REPO (following `Link` pagination, keeping only
//! those tags), reads each missing stage's manifest and config (`pull_read.rs`: its image
//! and stage names from its bytes), chooses per image one consistent chain of stages
//! (`pull_plan.rs`: ancestors of one another by their layers, built on what the storage
//! holds, so that builds are never mixed), checks the chosen stages against the rules of
//! the storage, and only then fetches the layers they need, concurrently: streamed to a
//! temporary file, resumed with `Range` after a cut, digest verified, renamed into place
//! (`fetch.rs`). Each stage is stored as its tag holds it (the tagged form `publish` writes
//! from it again, byte for byte).
//!
//! A stage the registry answers wrongly about (a refusal, a corrupt or too long blob, a bad
//! answer) fails alone: it is reported in `failed` (`pull_report.rs`; the layers fetched
//! for it only are removed) and the others are pulled. A failure
//! that no other stage would escape (network, authentication, the local disk) stops the
//! pull, and the storage is left as it was. `index.json` is written last, under the writer
//! lock. Knows nothing of the CLI.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use futures_util::stream::{self, StreamExt};

use super::error::StoreError;
use super::fetch::download;
use super::format::{check_signature, ImageName, TAG_PREFIX};
use super::pull_local::{local_tops, new_stages};
use super::pull_plan::{choose_chains, missing_layers, Candidate, LocalTop};
use super::pull_read::{read_stage, Remote};
use super::pull_report::skipped;
pub use super::pull_report::{Chain, ChainStage, PullReport, PulledStage, SkippedStage};
use super::write::StoreWriter;
use super::Stage;
use werf_push_registry::{Registries, Registry, RegistryError};
use werf_push_spec::text::{error_chain, shown};
use werf_push_spec::{Descriptor, Digest, ErrorKind, Reference};

/// The most `image-stage-*` tags a pull keeps while it pages a tag list (about 100 bytes
/// each): more is an error naming the bound.
pub(crate) const MAX_STAGE_TAGS: usize = 100_000;

/// Stages read at once (manifest and config each): enough for the transport's bound
/// (`--requests`) to be the limit.
const STAGE_READS: usize = 128;

/// Layer downloads at once when the request does not say (`stages pull --jobs`'s default).
pub const DEFAULT_JOBS: usize = 4;

/// What `stages pull` fetches, and how. Built with [`PullRequest::new`]; the optional
/// fields are set after it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PullRequest {
    /// The stages storage to fill (created when missing).
    pub stages_dir: PathBuf,
    /// REGISTRY/REPOSITORY, as given to `publish --repo`.
    pub repo: String,
    /// Only stages of these images (`~` is the nameless image); all when empty.
    pub images: Vec<String>,
    /// Layer downloads at once (0 counts as 1).
    pub jobs: usize,
    /// Tags asked for per page (`n=`); `None` lets the registry choose.
    pub page_size: Option<usize>,
}

impl PullRequest {
    /// Every stage of `repo` into the storage at `stages_dir`: all images,
    /// [`DEFAULT_JOBS`] downloads at once, the registry's page size.
    pub fn new(stages_dir: impl Into<PathBuf>, repo: impl Into<String>) -> PullRequest {
        PullRequest {
            stages_dir: stages_dir.into(),
            repo: repo.into(),
            images: Vec::new(),
            jobs: DEFAULT_JOBS,
            page_size: None,
        }
    }
}

/// Pulls the `image-stage-*` tags of `req.repo` that the storage lacks into it, one
/// consistent chain per image, through `registries`. Stages that fail alone are in the
/// report's `failed` (see [`PullReport::incomplete`]); a failure no stage escapes is an
/// error and leaves the storage as it was.
pub async fn pull(req: &PullRequest, registries: &Registries) -> Result<PullReport, StoreError> {
    let (reference, wanted) = parse_request(req)?;
    let mut w = StoreWriter::open(&req.stages_dir)?;
    let reg = connect(registries, &reference).await?;
    let repo = reference.repository.clone();
    let tags = list_stage_tags(&reg, &reference, req.page_size).await?;
    let mut report = PullReport::default();
    let local = w.entries();
    let local_sigs: HashSet<&str> = local.iter().map(|e| e.signature.as_str()).collect();
    let candidates = read_stages(&reg, &repo, &tags, &local_sigs, &mut report).await?;
    let unread = !report.failed.is_empty();
    let chosen = choose(&w, &local, candidates, &wanted, &mut report)?;
    let root = w.root().to_path_buf();
    let layers = missing_layers(&chosen, |l| present(&root, l));
    let broken = fetch_layers(&reg, &repo, &layers, &root, req.jobs, &mut report).await?;
    let (chosen, lost) = drop_broken(chosen, &broken, &mut report);
    remove_unused(&root, &layers, &chosen, &broken)?;
    store(&mut w, &chosen, &mut report)?;
    // A stage that could not be read, like an unidentified one, may be any image's.
    let unknown = unread || !report.unidentified.is_empty();
    report.not_restored = not_restored(&w, &wanted, &lost, unknown);
    w.commit()?;
    Ok(report)
}

/// The registry of `reference`, from the run's pool.
async fn connect(registries: &Registries, reference: &Reference) -> Result<Registry, StoreError> {
    registries
        .get(reference)
        .await
        .map_err(|e| StoreError::Registry {
            context: reference.registry.clone(),
            source: RegistryError::Transport(e),
        })
}

/// The `image-stage-*` tags of the repository of `reference`, every page.
async fn list_stage_tags(
    reg: &Registry,
    reference: &Reference,
    page_size: Option<usize>,
) -> Result<Vec<String>, StoreError> {
    Ok(reg
        .list_tags(
            &reference.repository,
            page_size,
            &format!("{TAG_PREFIX} tags"),
            MAX_STAGE_TAGS,
            |t| t.starts_with(TAG_PREFIX),
        )
        .await
        .map_err(|source| StoreError::Registry {
            context: format!("listing the stages of {}", reference.name()),
            source,
        })?
        .unwrap_or_default())
}

/// The candidates to pull: per image one chain built on the storage's `local` stages
/// (`pull_plan.rs`), then the rules of the storage, checked before any layer is fetched.
/// Chains and every stage left out go to `report`.
fn choose(
    w: &StoreWriter,
    local: &[Stage],
    candidates: Vec<Candidate>,
    wanted: &[ImageName],
    report: &mut PullReport,
) -> Result<Vec<Candidate>, StoreError> {
    let images: HashSet<ImageName> = candidates.iter().map(|c| c.image.clone()).collect();
    let tops = local_tops(w, local, &images)?;
    let choice = choose_chains(candidates, wanted, |image| {
        tops.get(image).map(|t| LocalTop {
            stage: t.stage.clone(),
            signature: t.signature.clone(),
            chain: t.chain.clone(),
        })
    });
    report.skipped.extend(choice.skipped);
    report.chains = choice.chains;
    let mut chosen = Vec::new();
    let checked = w.check_stages(&new_stages(&choice.chosen));
    for (c, r) in choice.chosen.into_iter().zip(checked) {
        match r {
            Ok(_) => chosen.push(c),
            Err(reason) => report.skipped.push(skipped(&c.tag, reason)),
        }
    }
    Ok(chosen)
}

/// Whether layer `l` is in the storage at `root` already, whole.
fn present(root: &Path, l: &Descriptor) -> bool {
    std::fs::metadata(root.join("blobs/sha256").join(l.digest.hex()))
        .map(|m| m.len() == l.size)
        .unwrap_or(false)
}

/// The `chosen` stages whose layers all arrived, and those a `broken` layer lost (each
/// recorded in `report` as failed, with its layer's cause).
fn drop_broken(
    chosen: Vec<Candidate>,
    broken: &HashMap<Digest, String>,
    report: &mut PullReport,
) -> (Vec<Candidate>, Vec<Candidate>) {
    let (chosen, lost): (Vec<Candidate>, Vec<Candidate>) = chosen
        .into_iter()
        .partition(|c| c.layers.iter().all(|l| !broken.contains_key(&l.digest)));
    for c in &lost {
        let why = c
            .layers
            .iter()
            .find_map(|l| broken.get(&l.digest))
            .expect("a broken layer");
        report.failed.push(skipped(&c.tag, why.clone()));
    }
    (chosen, lost)
}

/// Removes the `fetched` layers no `chosen` stage uses (fetched for failed stages only),
/// so that none is left behind.
fn remove_unused(
    root: &Path,
    fetched: &[Descriptor],
    chosen: &[Candidate],
    broken: &HashMap<Digest, String>,
) -> Result<(), StoreError> {
    let kept: HashSet<&Digest> = chosen
        .iter()
        .flat_map(|c| c.layers.iter().map(|l| &l.digest))
        .collect();
    for l in fetched
        .iter()
        .filter(|l| !kept.contains(&l.digest) && !broken.contains_key(&l.digest))
    {
        let path = root.join("blobs/sha256").join(l.digest.hex());
        std::fs::remove_file(&path).map_err(StoreError::io(&path))?;
    }
    Ok(())
}

/// The IMAGE_NAMEs of `wanted` the storage cannot be trusted to hold whole: no stage of
/// theirs, a `lost` stage, or any of them when a stage's image is `unknown` (unread or
/// unidentified).
fn not_restored(
    w: &StoreWriter,
    wanted: &[ImageName],
    lost: &[Candidate],
    unknown: bool,
) -> Vec<String> {
    let have: HashSet<ImageName> = w.entries().into_iter().map(|e| e.image).collect();
    let failed_images: HashSet<&ImageName> = lost.iter().map(|c| &c.image).collect();
    wanted
        .iter()
        .filter(|name| unknown || failed_images.contains(name) || !have.contains(*name))
        .map(ImageName::to_string)
        .collect()
}

/// Reads every stage tag of `tags` the storage does not hold (its manifest and config):
/// the candidates, the others recorded in `report` (not a stage tag, unidentified, skipped,
/// failed alone); a failure no stage would escape stops.
async fn read_stages(
    reg: &Registry,
    repo: &str,
    tags: &[String],
    local_sigs: &HashSet<&str>,
    report: &mut PullReport,
) -> Result<Vec<Candidate>, StoreError> {
    let mut sigs = Vec::new();
    for t in tags {
        let sig = &t[TAG_PREFIX.len()..];
        match check_signature(sig) {
            Ok(()) if local_sigs.contains(sig) => {}
            Ok(()) => sigs.push(sig),
            Err(e) => report
                .skipped
                .push(skipped(t, format!("not a stage tag: {e}"))),
        }
    }
    // Reading a stage (its manifest and config) is a round trip or two, not bytes: they all
    // go at once, under the transport's bound on requests in flight; `jobs` bounds the
    // layer downloads.
    let read: Vec<Result<Remote, StoreError>> =
        stream::iter(sigs.iter().map(|s| read_stage(reg, repo, s)))
            .buffered(STAGE_READS)
            .collect()
            .await;
    let mut candidates = Vec::new();
    for (r, sig) in read.into_iter().zip(&sigs) {
        let tag = format!("{TAG_PREFIX}{sig}");
        match r {
            Ok(Remote::Stage(c)) => candidates.push(*c),
            Ok(Remote::Unidentified(why)) => report.unidentified.push(skipped(&tag, why)),
            Ok(Remote::Skipped(why)) => report.skipped.push(skipped(&tag, why)),
            Err(e) => report.failed.push(skipped(&tag, alone(e)?)),
        }
    }
    Ok(candidates)
}

/// The request's repository (without a tag or digest) and IMAGE_NAMEs, checked.
fn parse_request(req: &PullRequest) -> Result<(Reference, Vec<ImageName>), StoreError> {
    let bad_repo = |reason: String| StoreError::PullRepo {
        repo: shown(&req.repo),
        reason,
    };
    let reference = Reference::parse(&req.repo).map_err(|e| bad_repo(e.to_string()))?;
    if reference.tag.is_some() || reference.digest.is_some() {
        return Err(bad_repo(
            "give the repository without a tag or digest (stages are its image-stage-* tags)"
                .into(),
        ));
    }
    let wanted = req
        .images
        .iter()
        .map(|n| {
            ImageName::from_arg(n).map_err(|e| StoreError::Arg {
                arg: "IMAGE_NAME".into(),
                reason: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((reference, wanted))
}

/// Fetches `layers` into the storage's blobs, `jobs` at once, counting them in `report`.
/// Returns the layers that failed alone, with why; a failure no stage would escape stops.
async fn fetch_layers(
    reg: &Registry,
    repo: &str,
    layers: &[Descriptor],
    root: &Path,
    jobs: usize,
    report: &mut PullReport,
) -> Result<HashMap<Digest, String>, StoreError> {
    // In the order they finish: each with its layer.
    let results: Vec<(&Descriptor, Result<u32, StoreError>)> = stream::iter(layers)
        .map(|d| async move { (d, download(reg, repo, d, root).await) })
        .buffer_unordered(jobs.max(1))
        .collect()
        .await;
    let mut broken: HashMap<Digest, String> = HashMap::new();
    for (l, r) in results {
        match r {
            Ok(n) => {
                report.resumed += n;
                report.blobs_fetched += 1;
                report.bytes_fetched += l.size;
            }
            Err(e) => {
                broken.insert(l.digest.clone(), alone(e)?);
            }
        }
    }
    Ok(broken)
}

/// Writes the chosen stages' configs and manifests, then adds them to the storage's index
/// (not yet committed), each recorded in `report` as pulled or skipped by a storage rule.
fn store(
    w: &mut StoreWriter,
    chosen: &[Candidate],
    report: &mut PullReport,
) -> Result<(), StoreError> {
    for c in chosen {
        for (d, bytes) in &c.configs {
            w.write_blob(bytes, &d.media_type)?;
        }
        for m in &c.manifests {
            w.write_blob(m.bytes(), m.media_type())?;
        }
    }
    let batch = new_stages(chosen);
    for ((c, n), r) in chosen.iter().zip(&batch).zip(w.add_stages(&batch)) {
        match r {
            Ok(_) => report.pulled.push(PulledStage {
                image: c.image.annotation().to_string(),
                stage: c.stage.clone(),
                signature: c.signature.clone(),
                digest: n.descriptor.digest.to_string(),
            }),
            Err(reason) => report.skipped.push(skipped(&c.tag, reason)),
        }
    }
    Ok(())
}

/// The cause of a failure that concerns one stage (the registry's answer about it), or the
/// failure itself when no stage would escape it: the network, authentication, the local
/// disk or storage, an interruption.
fn alone(e: StoreError) -> Result<String, StoreError> {
    match e.kind() {
        ErrorKind::Registry | ErrorKind::Integrity => Ok(error_chain(&e)),
        _ => Err(e),
    }
}
