//! `stages pull`: the distributed stages cache back into the local stages storage. Lists
//! the `image-stage-<signature>` tags of REPO (following `Link` pagination), reads each
//! missing stage's manifest and config, takes its image and stage names from its bytes
//! (`format::identify`: the manifest annotations `io.werf.image`/`io.werf.stage`, else
//! the config labels), keeps one stage per image and stage name (one already in the storage
//! wins, else the newest `created`), and fetches the blobs concurrently: streamed to a
//! temporary file, resumed with `Range` after a cut, digest verified, renamed into place.
//! Each stage is stored as its tag holds it (the tagged form `publish` writes from it
//! again, byte for byte). A tag whose bytes name no image and stage is reported as
//! unidentified; with IMAGE_NAMEs, that (or a named image left with no stage) makes the
//! report incomplete. `index.json` is written last, under the writer lock, and only when
//! every blob arrived: a failed or interrupted pull leaves the storage as it was (blob
//! fetching: `fetch.rs`; the choice of stages and layers: `pull_plan.rs`). Knows nothing of
//! the CLI.

use std::collections::HashSet;
use std::path::PathBuf;

use futures_util::stream::{self, StreamExt};
use serde_json::Value;

use super::error::StoreError;
use super::fetch::{download, small_blob};
use super::format::{check_signature, check_stage_name, identify, stage_tag as stages_tag};
use super::format::{ImageName, ANN_IMAGE, ANN_STAGE, TAG_PREFIX};
use super::pull_plan::{choose_stages, missing_layers, Candidate};
use super::write::StoreWriter;
use crate::layout::MAX_MANIFEST;
use crate::registry::{Registries, Registry, RegistryError};
use crate::spec::{Descriptor, ManifestKind, Reference};

/// Stages read at once (manifest and config each): enough for the transport's bound
/// (`--requests`) to be the limit.
const STAGE_READS: usize = 128;

pub struct PullRequest {
    pub stages_dir: PathBuf,
    /// REGISTRY/REPOSITORY, as given to `publish --repo`.
    pub repo: String,
    /// Only stages of these images (`~` is the nameless image); all when empty.
    pub images: Vec<String>,
    /// Layer downloads at once.
    pub jobs: usize,
    /// Tags asked for per page (`n=`); `None` lets the registry choose.
    pub page_size: Option<usize>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PulledStage {
    pub image: String,
    pub stage: String,
    pub signature: String,
    pub digest: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SkippedStage {
    pub tag: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PullReport {
    pub pulled: Vec<PulledStage>,
    pub skipped: Vec<SkippedStage>,
    /// Stage tags whose bytes name no image and stage (pushed by another tool): not pulled.
    pub unidentified: Vec<SkippedStage>,
    /// IMAGE_NAMEs asked for (`~` for the nameless image) that the storage cannot be
    /// trusted to hold whole: no stage of theirs at all, or an unidentified tag that may be
    /// one of their stages. Empty without IMAGE_NAMEs.
    pub not_restored: Vec<String>,
    pub blobs_fetched: usize,
    pub bytes_fetched: u64,
    /// Downloads continued with `Range` after a cut.
    pub resumed: u32,
}

pub async fn pull(req: &PullRequest, registries: &Registries) -> Result<PullReport, StoreError> {
    let reference = Reference::parse(&req.repo).map_err(|e| StoreError::Invalid(e.to_string()))?;
    if reference.tag.is_some() || reference.digest.is_some() {
        return Err(StoreError::Invalid(format!(
            "--repo {}: give the repository without a tag or digest (stages are its \
             image-stage-* tags)",
            req.repo
        )));
    }
    let mut w = StoreWriter::open(&req.stages_dir)?;
    let reg = registries
        .get(&reference)
        .await
        .map_err(|e| StoreError::Registry {
            context: reference.registry.clone(),
            source: RegistryError::Transport(e),
        })?;
    let repo = reference.repository.clone();
    let ctx = |what: String| {
        move |source| StoreError::Registry {
            context: what,
            source,
        }
    };
    let tags = reg
        .list_tags(&repo, req.page_size)
        .await
        .map_err(ctx(format!("listing the stages of {}", reference.name())))?
        .unwrap_or_default();
    let mut report = PullReport::default();
    let local = w.entries();
    let local_sigs: HashSet<&str> = local.iter().map(|e| e.signature.as_str()).collect();
    let wanted: Vec<String> = req
        .images
        .iter()
        .map(|n| {
            if n == ImageName::NAMELESS {
                String::new()
            } else {
                n.clone()
            }
        })
        .collect();
    let sigs: Vec<String> = tags
        .iter()
        .filter_map(|t| t.strip_prefix(TAG_PREFIX))
        .filter(|s| check_signature(s).is_ok() && !local_sigs.contains(s))
        .map(str::to_string)
        .collect();
    // Reading a stage (its manifest and config) is a round trip or two, not bytes: they all
    // go at once, under the transport's bound on requests in flight; `jobs` bounds the
    // layer downloads.
    let read: Vec<Result<Result<Candidate, Skip>, StoreError>> =
        stream::iter(sigs.iter().map(|s| candidate(&reg, &repo, s)))
            .buffered(STAGE_READS)
            .collect()
            .await;
    let mut candidates = Vec::new();
    for c in read {
        match c? {
            Ok(c) => candidates.push(c),
            Err(Skip::Unidentified(s)) => report.unidentified.push(s),
            Err(Skip::Other(s)) => report.skipped.push(s),
        }
    }
    let chosen = choose_stages(
        candidates,
        &wanted,
        |image, stage| {
            local
                .iter()
                .find(|l| l.image.annotation() == image && l.stage == stage)
                .map(|l| l.signature.clone())
        },
        &mut report.skipped,
    );
    let layers = missing_layers(chosen.values(), |l| {
        std::fs::metadata(w.root().join("blobs/sha256").join(l.digest.hex()))
            .map(|m| m.len() == l.size)
            .unwrap_or(false)
    });
    let root = w.root().to_path_buf();
    let results: Vec<Result<u32, StoreError>> =
        stream::iter(layers.iter().map(|d| download(&reg, &repo, d, &root)))
            .buffer_unordered(req.jobs.max(1))
            .collect()
            .await;
    for r in results {
        report.resumed += r?;
    }
    report.blobs_fetched = layers.len();
    report.bytes_fetched = layers.iter().map(|l| l.size).sum();
    for c in chosen.into_values() {
        for (d, bytes) in &c.configs {
            w.write_blob(bytes, &d.media_type)?;
        }
        for m in &c.manifests {
            w.write_blob(&m.bytes, &m.media_type)?;
        }
        let root = c.manifests.last().expect("a root manifest");
        let d = Descriptor {
            media_type: root.media_type.clone(),
            digest: root.digest.clone(),
            size: root.bytes.len() as u64,
            platform: None,
            annotations: Default::default(),
        };
        let added = ImageName::from_annotation(&c.image)
            .map_err(StoreError::Invalid)
            .and_then(|image| w.add_stage(&d, &image, &c.stage, &c.signature));
        match added {
            Ok(_) => report.pulled.push(PulledStage {
                image: c.image,
                stage: c.stage,
                signature: c.signature,
                digest: d.digest.to_string(),
            }),
            Err(StoreError::Invalid(reason)) => {
                report.skipped.push(SkippedStage { tag: c.tag, reason })
            }
            Err(e) => return Err(e),
        }
    }
    let have: HashSet<String> = w
        .entries()
        .into_iter()
        .map(|e| e.image.annotation().to_string())
        .collect();
    report.not_restored = wanted
        .iter()
        .filter(|name| !report.unidentified.is_empty() || !have.contains(*name))
        .map(|name| {
            if name.is_empty() {
                ImageName::NAMELESS.into()
            } else {
                name.clone()
            }
        })
        .collect();
    w.commit()?;
    Ok(report)
}

impl PullReport {
    /// The error of a pull that left an image named on the command line incomplete.
    pub fn incomplete(&self, repo: &str) -> Option<StoreError> {
        if self.not_restored.is_empty() {
            return None;
        }
        Some(StoreError::NotRestored {
            repo: repo.to_string(),
            images: self.not_restored.clone(),
            unidentified: self.unidentified.iter().map(|s| s.tag.clone()).collect(),
        })
    }
}

/// Why a remote stage is not a candidate.
enum Skip {
    /// Its bytes name no image and stage.
    Unidentified(SkippedStage),
    Other(SkippedStage),
}

/// Reads the manifest(s) and config(s) of stage `sig`; `Err(skip)` when it is not a stage
/// werf-push can restore.
async fn candidate(
    reg: &Registry,
    repo: &str,
    sig: &str,
) -> Result<Result<Candidate, Skip>, StoreError> {
    let tag = stages_tag(sig);
    let skip = |reason: String| {
        Ok(Err(Skip::Other(SkippedStage {
            tag: tag.clone(),
            reason,
        })))
    };
    // A stage whose names cannot be read: it may be a stage of any image.
    let unknown = |reason: String| {
        Ok(Err(Skip::Unidentified(SkippedStage {
            tag: tag.clone(),
            reason,
        })))
    };
    let err = |what: &str| {
        let context = format!("{what} of {repo}:{tag}");
        move |source| StoreError::Registry { context, source }
    };
    let Some(root) = reg
        .get_manifest(repo, &tag)
        .await
        .map_err(err("manifest"))?
    else {
        return skip("the tag vanished while pulling".into());
    };
    let mut manifests = Vec::new();
    if let ManifestKind::Index {
        manifests: children,
    } = &root.kind
    {
        for c in children {
            let m = reg
                .get_manifest(repo, &c.digest.to_string())
                .await
                .map_err(err("child manifest"))?;
            match m {
                Some(m) if matches!(m.kind, ManifestKind::Image { .. }) => manifests.push(m),
                _ => {
                    return unknown(format!(
                        "child manifest {} is missing or an index",
                        c.digest
                    ))
                }
            }
        }
    }
    manifests.push(root);
    let mut configs = Vec::new();
    let mut layers = Vec::new();
    for m in &manifests {
        if let ManifestKind::Image { config, layers: l } = &m.kind {
            if config.size > MAX_MANIFEST {
                return unknown(format!("config {} is too large", config.digest));
            }
            let bytes = small_blob(reg, repo, config).await.map_err(err("config"))?;
            configs.push((config.clone(), bytes));
            layers.extend(l.iter().cloned());
        }
    }
    let Some((_, first_config)) = configs.first() else {
        return unknown("it is an index with no image manifest".into());
    };
    let cfg: Value = match serde_json::from_slice(first_config) {
        Ok(v) => v,
        Err(e) => return unknown(format!("its config is not JSON: {e}")),
    };
    let root = manifests.last().expect("root pushed");
    let root_doc: Value = serde_json::from_slice(&root.bytes).unwrap_or_default();
    let Some((image, stage)) = identify(&root_doc, &cfg) else {
        return unknown(format!(
            "neither its manifest annotations nor its config labels name the image and the \
             stage ({ANN_IMAGE}, {ANN_STAGE}): it was not pushed by `publish --with-stages`"
        ));
    };
    if let Err(e) = check_stage_name(&stage).and_then(|()| check_signature(sig)) {
        return skip(e);
    }
    if let Err(e) = ImageName::from_annotation(&image) {
        return unknown(e);
    }
    Ok(Ok(Candidate {
        tag,
        signature: sig.to_string(),
        image,
        stage,
        created: cfg["created"].as_str().unwrap_or("").to_string(),
        manifests,
        configs,
        layers,
    }))
}
