//! The pure decisions of `stages pull` (`pull.rs`): which remote stages to take, and which
//! of their layers to fetch. Per image, one consistent chain: the stages that are
//! ancestors of one another as their layers show (a stage's layers are a prefix of its
//! child's), ending at the newest stage furthest in werf's stage order, and built on the
//! stage the storage holds furthest, if any; every other stage of the image is left out,
//! so that a pull never mixes builds. No I/O; table-tested (`pull_plan_tests.rs`). Knows
//! nothing of registries or of the storage's files.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::format::{stage_position, ImageName};
use super::pull_report::{Chain, ChainStage, SkippedStage};
use werf_push_spec::{Descriptor, Digest, Manifest};

/// A remote stage, read but not yet fetched.
pub(super) struct Candidate {
    pub tag: String,
    pub signature: String,
    pub image: ImageName,
    pub stage: String,
    pub created: String,
    /// Children first, the root last.
    pub manifests: Vec<Manifest>,
    /// Each distinct config once.
    pub configs: Vec<(Descriptor, Bytes)>,
    pub layers: Vec<Descriptor>,
    /// The layers of its (first) image manifest, base first: how ancestry is seen.
    pub chain: Vec<Digest>,
}

/// The stage of an image the storage holds furthest in werf's order, with its layers (of
/// its first image manifest): remote stages of that image must build on it.
pub(super) struct LocalTop {
    pub stage: String,
    pub signature: String,
    pub chain: Vec<Digest>,
}

/// What to pull.
pub(super) struct Choice {
    /// Per image, its chain's stages in stage order.
    pub chosen: Vec<Candidate>,
    pub chains: Vec<Chain>,
    /// Every stage left out, with why.
    pub skipped: Vec<SkippedStage>,
}

/// The stages to pull: per image (only those `wanted`, when some are), the chain ending at
/// the newest candidate furthest in werf's stage order (then the greater signature), made
/// of the candidates whose layers are a prefix of its own, the newest per stage name, each
/// with no fewer layers than the stage before it. When the storage holds stages of the
/// image (`local` gives the furthest one), only candidates after it in stage order whose
/// layers extend its layers are considered.
pub(super) fn choose_chains(
    candidates: Vec<Candidate>,
    wanted: &[ImageName],
    local: impl Fn(&ImageName) -> Option<LocalTop>,
) -> Choice {
    let mut choice = Choice {
        chosen: Vec::new(),
        chains: Vec::new(),
        skipped: Vec::new(),
    };
    for (image, list) in per_image(candidates, wanted) {
        let top = local(&image);
        let (eligible, mut out) = after_storage(list, &image, top.as_ref());
        let members = chain(eligible, top.as_ref(), &mut out);
        out.sort_by(|a, b| a.0.tag.cmp(&b.0.tag));
        choice.add(&image, top, members, out);
    }
    choice
}

/// A candidate left out of its image's chain, with why.
type LeftOut = (Candidate, String);

/// The candidates per image, only those of `wanted` images when some are.
fn per_image(
    candidates: Vec<Candidate>,
    wanted: &[ImageName],
) -> BTreeMap<ImageName, Vec<Candidate>> {
    let mut per_image: BTreeMap<ImageName, Vec<Candidate>> = BTreeMap::new();
    for c in candidates {
        if wanted.is_empty() || wanted.contains(&c.image) {
            per_image.entry(c.image.clone()).or_default().push(c);
        }
    }
    per_image
}

/// The candidates of `image` that may extend the storage's `top` stage of it (all when
/// there is none): after it in stage order, its layers a prefix of theirs; the others
/// left out.
fn after_storage(
    list: Vec<Candidate>,
    image: &ImageName,
    top: Option<&LocalTop>,
) -> (Vec<Candidate>, Vec<LeftOut>) {
    let mut out = Vec::new();
    let mut eligible = Vec::new();
    for c in list {
        match top {
            Some(t) if pos(&c.stage) <= pos(&t.stage) => {
                let reason = format!(
                    "the storage has {} up to stage '{}' (signature {}) already",
                    image.describe(),
                    t.stage,
                    t.signature
                );
                out.push((c, reason));
            }
            Some(t) if !c.chain.starts_with(&t.chain) => {
                let reason = format!(
                    "not built on the storage's '{}' stage of {} (signature {}): another build",
                    t.stage,
                    image.describe(),
                    t.signature
                );
                out.push((c, reason));
            }
            _ => eligible.push(c),
        }
    }
    (eligible, out)
}

/// How new a candidate is: its place in stage order, then `created`, then its signature.
fn newest(c: &Candidate) -> (Option<usize>, String, String) {
    (pos(&c.stage), c.created.clone(), c.signature.clone())
}

/// The chain among `eligible`, in stage order: it ends at the newest candidate (the
/// leaf), made of the leaf's ancestors, with no fewer layers than `top` and each stage
/// before it. The others go to `out`.
fn chain(
    mut eligible: Vec<Candidate>,
    top: Option<&LocalTop>,
    out: &mut Vec<LeftOut>,
) -> Vec<Candidate> {
    let leaf = eligible
        .iter()
        .enumerate()
        .max_by_key(|(_, c)| newest(c))
        .map(|(i, _)| i);
    let Some(i) = leaf else {
        return Vec::new();
    };
    let leaf = eligible.swap_remove(i);
    let leaf_tag = leaf.tag.clone();
    let members = ancestors(leaf, eligible, out);
    no_fewer_layers(members, top, &leaf_tag, out)
}

/// `leaf` and the newest candidate of each stage name before it whose layers are a prefix
/// of its own, by stage position; the others go to `out`.
fn ancestors(
    leaf: Candidate,
    mut eligible: Vec<Candidate>,
    out: &mut Vec<LeftOut>,
) -> BTreeMap<Option<usize>, Candidate> {
    let (leaf_tag, leaf_chain, leaf_pos) = (leaf.tag.clone(), leaf.chain.clone(), pos(&leaf.stage));
    let mut members = BTreeMap::new();
    members.insert(leaf_pos, leaf);
    // Newest first: the first ancestor seen for a stage name is the one kept.
    eligible.sort_by_key(|c| std::cmp::Reverse(newest(c)));
    for c in eligible {
        let p = pos(&c.stage);
        if p >= leaf_pos || !leaf_chain.starts_with(&c.chain) {
            let reason =
                format!("not an ancestor of {leaf_tag}, the chain's last stage: another build");
            out.push((c, reason));
        } else if let Some(kept) = members.get(&p) {
            let reason = format!("{} is newer for the same stage of the chain", kept.tag);
            out.push((c, reason));
        } else {
            members.insert(p, c);
        }
    }
    members
}

/// The `members` (in stage order) with no fewer layers than `top` and the stages kept
/// before them; the others go to `out`.
fn no_fewer_layers(
    members: BTreeMap<Option<usize>, Candidate>,
    top: Option<&LocalTop>,
    leaf_tag: &str,
    out: &mut Vec<LeftOut>,
) -> Vec<Candidate> {
    let mut floor = top.map_or(0, |t| t.chain.len());
    let mut kept = Vec::new();
    for c in members.into_values() {
        if c.chain.len() >= floor {
            floor = c.chain.len();
            kept.push(c);
        } else {
            let reason = format!(
                "its layers are fewer than those of an earlier stage of the chain ending at \
                 {leaf_tag}"
            );
            out.push((c, reason));
        }
    }
    kept
}

impl Choice {
    /// Records the chain of `image`: its `members` chosen, built on `top`, and the
    /// candidates left `out`.
    fn add(
        &mut self,
        image: &ImageName,
        top: Option<LocalTop>,
        members: Vec<Candidate>,
        out: Vec<LeftOut>,
    ) {
        self.chains.push(Chain {
            image: image.to_string(),
            storage: top.map(|t| ChainStage {
                stage: t.stage,
                signature: t.signature,
            }),
            stages: members
                .iter()
                .map(|c| ChainStage {
                    stage: c.stage.clone(),
                    signature: c.signature.clone(),
                })
                .collect(),
            left_out: out.iter().map(|(c, _)| c.tag.clone()).collect(),
        });
        self.chosen.extend(members);
        self.skipped.extend(
            out.into_iter()
                .map(|(c, reason)| SkippedStage { tag: c.tag, reason }),
        );
    }
}

/// A stage's place in werf's order (`None`, first, for a name werf does not know: never a
/// candidate's, whose names are checked).
fn pos(stage: &str) -> Option<usize> {
    stage_position(stage)
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
