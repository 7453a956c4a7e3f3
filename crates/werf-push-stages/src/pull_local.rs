//! The local stages storage as `stages pull` sees it: per image, the furthest stage the
//! storage holds with its layers (what a remote chain must build on), and the storage
//! entries to add for the remote stages chosen. Knows nothing of the registry or of the CLI.

use std::collections::{HashMap, HashSet};

use super::error::StoreError;
use super::format::{stage_position, ImageName};
use super::pull_plan::{Candidate, LocalTop};
use super::write::{NewStage, StoreWriter};
use werf_push_spec::{Descriptor, ManifestKind};

/// The stages to add for `chosen`: each one's root manifest (or index).
pub(super) fn new_stages(chosen: &[Candidate]) -> Vec<NewStage> {
    chosen
        .iter()
        .map(|c| {
            let root = c.manifests.last().expect("a root manifest");
            NewStage {
                descriptor: Descriptor::new(
                    root.media_type(),
                    root.digest().clone(),
                    root.bytes().len() as u64,
                ),
                image: c.image.clone(),
                stage: c.stage.clone(),
                signature: c.signature.clone(),
            }
        })
        .collect()
}

/// Per image of `images` the storage holds stages of, its furthest stage with its layers.
pub(super) fn local_tops(
    w: &StoreWriter,
    local: &[super::Stage],
    images: &HashSet<ImageName>,
) -> Result<HashMap<ImageName, LocalTop>, StoreError> {
    let mut furthest: HashMap<&ImageName, &super::Stage> = HashMap::new();
    for s in local.iter().filter(|s| images.contains(&s.image)) {
        let e = furthest.entry(&s.image).or_insert(s);
        if stage_position(&s.stage) > stage_position(&e.stage) {
            *e = s;
        }
    }
    let mut tops = HashMap::new();
    if furthest.is_empty() {
        return Ok(tops);
    }
    let Some(layout) = w.layout()? else {
        return Ok(tops);
    };
    for (image, s) in furthest {
        let mut m = layout.read_manifest(&s.descriptor)?;
        if let ManifestKind::Index { manifests } = &m.kind() {
            if let Some(first) = manifests.first() {
                m = layout.read_manifest(first)?;
            }
        }
        let chain = match &m.kind() {
            ManifestKind::Image { layers, .. } => layers.iter().map(|l| l.digest.clone()).collect(),
            ManifestKind::Index { .. } => Vec::new(),
        };
        tops.insert(
            image.clone(),
            LocalTop {
                stage: s.stage.clone(),
                signature: s.signature.clone(),
                chain,
            },
        );
    }
    Ok(tops)
}
