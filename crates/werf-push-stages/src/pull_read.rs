//! Reading one remote stage for `stages pull`: its manifest, the children of an index
//! (each distinct child once, at most [`MAX_INDEX_CHILDREN`] of them, read concurrently),
//! each distinct config (verified), and its image and stage names from its bytes
//! (`format::identify`: the manifest annotations, else the config labels). No layer is
//! fetched here. Knows nothing of the storage or of the CLI.

use std::collections::HashSet;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde_json::Value;

use super::error::StoreError;
use super::fetch::small_blob;
use super::format::{check_stage_name, identify, stage_tag, ImageName, ANN_IMAGE, ANN_STAGE};
use super::pull_plan::Candidate;
use werf_push_layout::MAX_MANIFEST;
use werf_push_registry::Registry;
use werf_push_spec::text::shown;
use werf_push_spec::{Digest, ManifestKind};

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
    let tag = stage_tag(sig);
    // The registry's error names the request (`GET manifest <repo>:<tag>`): the context
    // does not say it again.
    let err = |what: &str| {
        let context = format!("reading the {what} of a stage");
        move |source| StoreError::Registry { context, source }
    };
    let Some(root) = reg
        .get_manifest(repo, &tag)
        .await
        .map_err(err("manifest"))?
    else {
        return Ok(Remote::Skipped("the tag vanished while pulling".into()));
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
            return Ok(Remote::Skipped(format!(
                "its index lists {} distinct manifests, over the limit of {MAX_INDEX_CHILDREN}",
                children.len()
            )));
        }
        let read: Vec<_> = stream::iter(&children)
            .map(|d| async move { reg.get_manifest(repo, &d.to_string()).await })
            .buffered(CHILD_READS)
            .try_collect()
            .await
            .map_err(err("child manifest"))?;
        for (m, d) in read.into_iter().zip(&children) {
            match m {
                Some(m) if matches!(m.kind(), ManifestKind::Image { .. }) => manifests.push(m),
                _ => {
                    return Ok(Remote::Unidentified(format!(
                        "child manifest {d} is missing or an index"
                    )))
                }
            }
        }
    }
    manifests.push(root);
    let mut config_descs = Vec::new();
    let mut seen = HashSet::new();
    let mut layers = Vec::new();
    for m in &manifests {
        if let ManifestKind::Image { config, layers: l } = &m.kind() {
            if config.size > MAX_MANIFEST {
                return Ok(Remote::Unidentified(format!(
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
    let configs: Vec<_> = stream::iter(&config_descs)
        .map(|c| async move { small_blob(reg, repo, c).await.map(|b| (c.clone(), b)) })
        .buffered(CHILD_READS)
        .try_collect()
        .await
        .map_err(err("config"))?;
    let Some((_, first_config)) = configs.first() else {
        return Ok(Remote::Unidentified(
            "it is an index with no image manifest".into(),
        ));
    };
    let cfg: Value = match serde_json::from_slice(first_config) {
        Ok(v) => v,
        Err(e) => return Ok(Remote::Unidentified(format!("its config is not JSON: {e}"))),
    };
    let root = manifests.last().expect("root pushed");
    let root_doc: Value = serde_json::from_slice(root.bytes()).unwrap_or_default();
    let Some((image, stage)) = identify(&root_doc, &cfg) else {
        return Ok(Remote::Unidentified(format!(
            "neither its manifest annotations nor its config labels name the image and the \
             stage ({ANN_IMAGE}, {ANN_STAGE}): it was not pushed by `publish --with-stages`"
        )));
    };
    if let Err(e) = check_stage_name(&stage) {
        return Ok(Remote::Skipped(e));
    }
    let image = match ImageName::from_annotation(&image) {
        Ok(i) => i,
        Err(e) => return Ok(Remote::Unidentified(e)),
    };
    let chain = manifests
        .iter()
        .find_map(|m| match &m.kind() {
            ManifestKind::Image { layers, .. } => {
                Some(layers.iter().map(|l| l.digest.clone()).collect())
            }
            _ => None,
        })
        .unwrap_or_default();
    Ok(Remote::Stage(Box::new(Candidate {
        tag,
        signature: sig.to_string(),
        image,
        stage,
        created: shown(cfg["created"].as_str().unwrap_or("")),
        manifests,
        configs,
        layers,
        chain,
    })))
}
