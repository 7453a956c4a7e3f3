//! The pure decisions of `stages pull` (`pull.rs`): which remote stages to take, one per
//! image and stage, and which of their layers to fetch. No I/O; table-tested
//! (`pull_plan_tests.rs`). Knows nothing of registries or of the storage's files.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::pull::SkippedStage;
use crate::spec::{Descriptor, Manifest};

/// A remote stage, read but not yet fetched.
pub(super) struct Candidate {
    pub tag: String,
    pub signature: String,
    pub image: String,
    pub stage: String,
    pub created: String,
    /// Children first, the root last.
    pub manifests: Vec<Manifest>,
    pub configs: Vec<(Descriptor, Bytes)>,
    pub layers: Vec<Descriptor>,
}

/// The stages to pull: one per (image, stage). Those of images not `wanted` (when some
/// are) are dropped; one whose image and stage the storage holds already (`local` gives
/// its signature) is skipped, the storage's own wins; of several remote ones the newest
/// `created` wins (then the greater signature). Every stage not chosen is said in
/// `skipped`, with why.
pub(super) fn choose_stages(
    candidates: Vec<Candidate>,
    wanted: &[String],
    local: impl Fn(&str, &str) -> Option<String>,
    skipped: &mut Vec<SkippedStage>,
) -> BTreeMap<(String, String), Candidate> {
    let mut chosen: BTreeMap<(String, String), Candidate> = BTreeMap::new();
    for c in candidates {
        if !wanted.is_empty() && !wanted.contains(&c.image) {
            continue;
        }
        if let Some(signature) = local(&c.image, &c.stage) {
            skipped.push(SkippedStage {
                reason: format!(
                    "the storage has image '{}' stage '{}' already (signature {signature})",
                    c.image, c.stage
                ),
                tag: c.tag,
            });
            continue;
        }
        let key = (c.image.clone(), c.stage.clone());
        let newer = |old: &Candidate| (&c.created, &c.signature) > (&old.created, &old.signature);
        match chosen.get(&key) {
            Some(old) if !newer(old) => skipped.push(SkippedStage {
                tag: c.tag,
                reason: format!("{} is newer for the same image and stage", old.tag),
            }),
            _ => {
                if let Some(old) = chosen.insert(key, c) {
                    skipped.push(SkippedStage {
                        tag: old.tag,
                        reason: "a newer stage has the same image and stage".into(),
                    });
                }
            }
        }
    }
    chosen
}

/// The layers of the `chosen` stages to fetch: each once, those `present` in the storage
/// left out, largest first (ties in digest order).
pub(super) fn missing_layers<'a>(
    chosen: impl IntoIterator<Item = &'a Candidate>,
    present: impl Fn(&Descriptor) -> bool,
) -> Vec<Descriptor> {
    let mut layers: BTreeMap<String, Descriptor> = BTreeMap::new();
    for c in chosen {
        for l in &c.layers {
            if !present(l) {
                layers.insert(l.digest.to_string(), l.clone());
            }
        }
    }
    let mut layers: Vec<Descriptor> = layers.into_values().collect();
    layers.sort_by_key(|l| std::cmp::Reverse(l.size));
    layers
}

#[cfg(test)]
#[path = "pull_plan_tests.rs"]
mod tests;
