//! Reading one remote stage for `stages pull`: its manifest, the children of an index
//! (each distinct child once, at most [`MAX_INDEX_CHILDREN`] of them, read concurrently),
//! each distinct config (verified), and its image and stage names from its bytes
//! (`format::identify`: the manifest annotations, else the config labels). No layer is
//! fetched here. Knows nothing of the storage or of the CLI.

use std::collections::HashSet;

use bytes::Bytes;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde_json::Value;

use super::error::StoreError;
use super::fetch::small_blob;
use super::format::{check_stage_name, identify, stage_tag, ImageName, ANN_IMAGE, ANN_STAGE};
use super::pull_plan::Candidate;
use werf_push_layout::MAX_MANIFEST;
use werf_push_registry::{Registry, RegistryError};
use werf_push_spec::text::shown;
use werf_push_spec::{Descriptor, Digest, Manifest, ManifestKind};

/// The most distinct manifests a stage's index may list: a multi-platform image has one
/// per platform (and attestations); more is not a stage worth as many requests.
pub(crate) const MAX_INDEX_CHILDREN: usize = 64;

/// Child manifests and configs of one stage read at once.
const CHILD_READS: usize = 8;

/// What a remote stage tag turned out to be.
pub(super) enum Remote {
    /// A stage that can be restored.
    Stage(Box<Candidate>),
    /// Its bytes name no image and stage (or not readably): it may be a stage of any image.
    Unidentified(String),
    /// A stage that cannot be restored, and why.
    Skipped(String),
}

/// Reads the manifest(s) and config(s) of stage `sig` of `repo`. A failure of the registry
/// (after retries) is an error naming the request.
pub(super) async fn read_stage(
    reg: &Registry,
    repo: &str,
    sig: &str,
) -> Result<Remote, StoreError> {
    match read(reg, repo, sig).await {
        Ok(c) => Ok(Remote::Stage(Box::new(c))),
        Err(Stop::Is(remote)) => Ok(remote),
        Err(Stop::Failed(e)) => Err(e),
    }
}

/// Why reading a stage stopped short of a candidate.
enum Stop {
    /// The tag is no stage to restore: unidentified or skipped, with why.
    Is(Remote),
    /// A registry request failed (after retries).
    Failed(StoreError),
}

/// The error of a registry request reading the `what` of a stage. The registry's error
/// names the request (`GET manifest <repo>:<tag>`): the context does not say it again.
fn failed(what: &str) -> impl FnOnce(RegistryError) -> Stop {
    let context = format!("reading the {what} of a stage");
    move |source| Stop::Failed(StoreError::Registry { context, source })
}

/// Stage `sig` of `repo` as a candidate: its manifests, configs, names and layers.
async fn read(reg: &Registry, repo: &str, sig: &str) -> Result<Candidate, Stop> {
    let tag = stage_tag(sig);
    let manifests = manifests(reg, repo, &tag).await?;
    let (config_descs, layers) = configs_and_layers(&manifests)?;
    let configs: Vec<_> = stream::iter(&config_descs)
        .map(|c| async move { small_blob(reg, repo, c).await.map(|b| (c.clone(), b)) })
        .buffered(CHILD_READS)
        .try_collect()
        .await
        .map_err(failed("config"))?;
    let (image, stage, cfg) = names(&manifests, &configs)?;
    Ok(Candidate {
        tag,
        signature: sig.to_string(),
        image,
        stage,
        created: shown(cfg["created"].as_str().unwrap_or("")),
        chain: chain(&manifests),
        manifests,
        configs,
        layers,
    })
}

/// The manifests of the stage tagged `tag`: the children of an index (each distinct one
/// once, all image manifests), then the tagged manifest itself.
async fn manifests(reg: &Registry, repo: &str, tag: &str) -> Result<Vec<Manifest>, Stop> {
    let Some(root) = reg
        .get_manifest(repo, tag)
        .await
        .map_err(failed("manifest"))?
    else {
        return Err(skipped("the tag vanished while pulling".into()));
    };
    let mut manifests = Vec::new();
    if let ManifestKind::Index { manifests: listed } = &root.kind() {
        let mut seen = HashSet::new();
        let children: Vec<&Digest> = listed
            .iter()
            .map(|c| &c.digest)
            .filter(|d| seen.insert(*d))
            .collect();
        if children.len() > MAX_INDEX_CHILDREN {
            return Err(skipped(format!(
                "its index lists {} distinct manifests, over the limit of {MAX_INDEX_CHILDREN}",
                children.len()
            )));
        }
        let read: Vec<_> = stream::iter(&children)
            .map(|d| async move { reg.get_manifest(repo, &d.to_string()).await })
            .buffered(CHILD_READS)
            .try_collect()
            .await
            .map_err(failed("child manifest"))?;
        for (m, d) in read.into_iter().zip(&children) {
            match m {
                Some(m) if matches!(m.kind(), ManifestKind::Image { .. }) => manifests.push(m),
                _ => {
                    return Err(unidentified(format!(
                        "child manifest {d} is missing or an index"
                    )))
                }
            }
        }
    }
    manifests.push(root);
    Ok(manifests)
}

/// The distinct configs of `manifests` (each within the size bound) and all their layers.
fn configs_and_layers(manifests: &[Manifest]) -> Result<(Vec<Descriptor>, Vec<Descriptor>), Stop> {
    let mut config_descs = Vec::new();
    let mut seen = HashSet::new();
    let mut layers = Vec::new();
    for m in manifests {
        if let ManifestKind::Image { config, layers: l } = &m.kind() {
            if config.size > MAX_MANIFEST {
                return Err(unidentified(format!(
                    "config {} is too large",
                    config.digest
                )));
            }
            if seen.insert(config.digest.clone()) {
                config_descs.push(config.clone());
            }
            layers.extend(l.iter().cloned());
        }
    }
    Ok((config_descs, layers))
}

/// The stage's image and stage names, from the root manifest's annotations or the first
/// config's labels (`format::identify`), each checked, with that config.
fn names(
    manifests: &[Manifest],
    configs: &[(Descriptor, Bytes)],
) -> Result<(ImageName, String, Value), Stop> {
    let Some((_, first_config)) = configs.first() else {
        return Err(unidentified("it is an index with no image manifest".into()));
    };
    let cfg: Value = serde_json::from_slice(first_config)
        .map_err(|e| unidentified(format!("its config is not JSON: {e}")))?;
    let root = manifests.last().expect("root pushed");
    let root_doc: Value = serde_json::from_slice(root.bytes()).unwrap_or_default();
    let Some((image, stage)) = identify(&root_doc, &cfg) else {
        return Err(unidentified(format!(
            "neither its manifest annotations nor its config labels name the image and the \
             stage ({ANN_IMAGE}, {ANN_STAGE}): it was not pushed by `publish --with-stages`"
        )));
    };
    check_stage_name(&stage).map_err(skipped)?;
    let image = ImageName::from_annotation(&image).map_err(unidentified)?;
    Ok((image, stage, cfg))
}

/// The layers of the first image manifest, base first: how ancestry is seen.
fn chain(manifests: &[Manifest]) -> Vec<Digest> {
    manifests
        .iter()
        .find_map(|m| match &m.kind() {
            ManifestKind::Image { layers, .. } => {
                Some(layers.iter().map(|l| l.digest.clone()).collect())
            }
            _ => None,
        })
        .unwrap_or_default()
}

/// A tag whose bytes name no image and stage, with why.
fn unidentified(why: String) -> Stop {
    Stop::Is(Remote::Unidentified(why))
}

/// A stage that cannot be restored, with why.
fn skipped(why: String) -> Stop {
    Stop::Is(Remote::Skipped(why))
}
