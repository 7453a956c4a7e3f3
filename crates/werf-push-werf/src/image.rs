//! Final images, written not built: the last stage's config plus werf's labels becomes a new
//! config blob (relabelled by `stages::relabel`, as `stages import` relabels); the stage's
//! layers are reused; a new manifest of the same media-type family as the stage's tagged
//! form (`stage_tag.rs`: the stage as stored, or as OCI with its
//! names annotated when its bytes do not name it) points at them (one per platform and a
//! new index for a multi-platform stage). Bytes are deterministic (sorted keys, no
//! timestamp added), so publishing twice gives the same digests.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::Value;

use super::error::WerfError;
use super::stage_tag::tagged;
use werf_push_engine::{BlobSource, PushImage};
use werf_push_layout::{Layout, LayoutError};
use werf_push_spec::{Manifest, ManifestKind, SpecError};
use werf_push_stages::relabel::{relabel_config, with_children, with_config};
use werf_push_stages::Stage;

/// Builds the published image for `stage` with `labels` added to its config.
pub(crate) fn final_image(
    layout: &Layout,
    stage: &Stage,
    labels: &BTreeMap<String, String>,
) -> Result<PushImage, WerfError> {
    // The stage as its `image-stage-*` tag holds it: the same on the runner that built it
    // and on one that pulled it, so both write the same final image.
    let image = tagged(layout, stage)?;
    let mut configs: Vec<(werf_push_spec::Descriptor, Bytes)> = Vec::new();
    let root = &image.root;
    // (children, root): one image alone, or an index after its images.
    let (children, new_root) = match &root.kind() {
        ManifestKind::Image { .. } => (Vec::new(), relabel(layout, root, labels, &mut configs)?),
        ManifestKind::Index {
            manifests: children,
        } => {
            let mut out = Vec::new();
            let mut pointers = Vec::new();
            for child in children {
                let m = image
                    .manifests
                    .iter()
                    .find(|m| *m.digest() == child.digest)
                    .ok_or_else(|| bad(root, "child manifest missing"))?;
                if !matches!(m.kind(), ManifestKind::Image { .. }) {
                    return Err(bad(root, "nested indexes are not supported in a stage"));
                }
                let new = relabel(layout, m, labels, &mut configs)?;
                pointers.push((new.digest().clone(), new.bytes().len() as u64));
                out.push(new);
            }
            let bytes = with_children(root.bytes(), &pointers).map_err(|e| bad(root, &e))?;
            let index =
                Manifest::parse(bytes, Some(root.media_type())).map_err(|e| spec(root, e))?;
            (out, index)
        }
    };
    let mut blobs: Vec<_> = configs
        .into_iter()
        .map(|(d, b)| (d, BlobSource::Bytes(b)))
        .collect();
    for d in &image.blobs {
        let is_old_config = image.manifests.iter().any(|m| match &m.kind() {
            ManifestKind::Image { config, .. } => config.digest == d.digest,
            ManifestKind::Index { .. } => false,
        });
        let used_as_layer = image.manifests.iter().any(|m| match &m.kind() {
            ManifestKind::Image { layers, .. } => layers.iter().any(|l| l.digest == d.digest),
            ManifestKind::Index { .. } => false,
        });
        if !is_old_config || used_as_layer {
            blobs.push((d.clone(), BlobSource::File(layout.check_blob(d)?)));
        }
    }
    Ok(PushImage::new(children, new_root, blobs))
}

/// A copy of image manifest `m` whose config carries `labels`.
fn relabel(
    layout: &Layout,
    m: &Manifest,
    labels: &BTreeMap<String, String>,
    configs: &mut Vec<(werf_push_spec::Descriptor, Bytes)>,
) -> Result<Manifest, WerfError> {
    let ManifestKind::Image { config, .. } = &m.kind() else {
        return Err(bad(m, "not an image manifest"));
    };
    let raw = layout.read_blob(config)?;
    let pairs: Vec<(&str, &str)> = labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (desc, cfg_bytes) = relabel_config(config, &raw, &pairs).map_err(|reason| {
        WerfError::Layout(LayoutError::NotALayout {
            path: layout.blob_path(&config.digest),
            reason,
        })
    })?;
    let bytes = with_config(m.bytes(), &desc).map_err(|e| bad(m, &e))?;
    let new = Manifest::parse(bytes, Some(m.media_type())).map_err(|e| spec(m, e))?;
    configs.push((desc, cfg_bytes));
    Ok(new)
}

pub(super) fn json(bytes: &[u8], m: &Manifest) -> Result<Value, WerfError> {
    serde_json::from_slice(bytes).map_err(|e| bad(m, &e.to_string()))
}

pub(super) fn bad(m: &Manifest, reason: &str) -> WerfError {
    spec(
        m,
        SpecError::Manifest {
            digest: m.digest().to_string(),
            reason: reason.to_string(),
        },
    )
}

pub(super) fn spec(m: &Manifest, source: SpecError) -> WerfError {
    WerfError::Reference {
        reference: m.digest().to_string(),
        source,
    }
}
