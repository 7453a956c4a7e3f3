//! The plan of a cleanup or purge, from what the scan read: each tag classified (a werf
//! image by its labels, a stage by its `image-stage-<signature>` tag, the cleanup's state
//! tag, a placeholder of an interrupted cleanup, or not ours), then kept or deleted with
//! its reason. Pure: the same scan, git facts, policies, state and clock give the same plan,
//! so `--dry-run` prints what the run then does.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::policy::{self, GitFacts, ImageTag, Policies};
use super::reason::Reason;
use super::scan::{Scan, ScannedTag};
use super::stages::{ancestors, grace, GraceState};
use super::used::InUse;
use super::{Kind, PlanEntry, Summary, STATE_LABEL, STATE_TAG};
use werf_push_registry::delete::PLACEHOLDER_LABEL;
use werf_push_stages::format::{check_signature, TAG_PREFIX};

/// Where the project's tags are.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    /// The registry host, as `Reference` normalises it.
    pub(crate) registry: String,
    /// The repository of stages, of the nameless image and of monorepo images.
    pub(crate) base: String,
    /// Multirepo: image name -> its repository. Empty in monorepo mode.
    pub(crate) multirepo: BTreeMap<String, String>,
    /// Monorepo mode: named images are `base:IMAGE-TAG`.
    pub(crate) monorepo: bool,
    /// Images to clean, each a name or `None` for the nameless image; every image when
    /// the list itself is `None`.
    pub(crate) selected: Option<Vec<Option<String>>>,
}

/// What a tag is.
#[derive(Debug, Clone)]
pub(crate) enum Class {
    /// `image-stage-<signature>` in the base repository.
    Stage,
    /// A werf image whose labels say where it is.
    Image(ImageTag),
    /// The cleanup's own state tag.
    State,
    /// Left by a cleanup killed while deleting a tag.
    Placeholder,
    /// Anything else, kept for the reason given.
    Other(Reason),
}

/// The settings of the decisions besides git.
pub(crate) struct Settings {
    /// The limits and expiry of each strategy.
    pub(crate) policies: Policies,
    /// The present, in unix seconds.
    pub(crate) now: i64,
    /// `--keep-stages-built-within`, in seconds.
    pub(crate) grace_secs: i64,
    /// Everything of the project is deleted.
    pub(crate) purge: bool,
}

/// What each scanned tag is (same order as `scan.tags`).
pub(crate) fn classify(scan: &Scan, names: &Names, in_use: &InUse) -> Vec<Class> {
    scan.tags
        .iter()
        .map(|t| {
            let in_base = t.repository == names.base;
            if in_base && t.tag == STATE_TAG {
                return Class::State;
            }
            if in_base
                && t.tag
                    .strip_prefix(TAG_PREFIX)
                    .is_some_and(|s| check_signature(s).is_ok())
            {
                return Class::Stage;
            }
            let contents = scan.contents(&t.manifest);
            let Some(config) = contents
                .configs
                .first()
                .and_then(|c| scan.configs.get(&c.digest))
            else {
                return Class::Other(Reason::NotWerf);
            };
            if config.labels.contains_key(PLACEHOLDER_LABEL)
                && contents.chains.iter().all(Vec::is_empty)
            {
                return Class::Placeholder;
            }
            let l = &config.labels;
            let (Some("true"), Some(image), Some(strategy), Some(image_tag)) = (
                l.get("werf-image").map(String::as_str),
                l.get("werf-image-name"),
                l.get("werf-tag-strategy"),
                l.get("werf-image-tag"),
            ) else {
                return Class::Other(Reason::NotWerf);
            };
            // The labels must say where the tag is: a config that claims another image
            // or tag is not ours.
            let at_home = match names.multirepo.get(image) {
                Some(repo) => *repo == t.repository && t.tag == *image_tag,
                None if image.is_empty() => in_base && t.tag == *image_tag,
                None => names.monorepo && in_base && t.tag == format!("{image}-{image_tag}"),
            };
            if !at_home {
                return Class::Other(Reason::NotWerf);
            }
            let name = (!image.is_empty()).then(|| image.clone());
            if names.selected.as_ref().is_some_and(|s| !s.contains(&name)) {
                return Class::Other(Reason::NotSelected);
            }
            Class::Image(ImageTag {
                image: image.clone(),
                strategy: strategy.clone(),
                image_tag: image_tag.clone(),
                created: config.created,
                in_use: in_use.contains(
                    &names.registry,
                    &t.repository,
                    &t.tag,
                    t.manifest.digest(),
                ),
            })
        })
        .collect()
}

/// A tag's decision: `Ok(reason)` keeps it, `Err(reason)` deletes it.
type Decision = Result<Reason, Reason>;

/// The decisions, the plan's entries and summary, and the grace state to record.
pub(crate) fn decide(
    scan: &Scan,
    names: &Names,
    classes: &[Class],
    git: &GitFacts,
    s: &Settings,
    state: &GraceState,
) -> (Vec<PlanEntry>, Summary, GraceState) {
    let mut decision: Vec<Decision> = vec![Ok(Reason::NotWerf); scan.tags.len()];
    // Images first: the images repository is the source of truth for stages.
    decide_images(classes, git, s, &mut decision);
    decide_others(classes, s.purge, &mut decision);
    let next_state = if s.purge {
        GraceState::new()
    } else {
        decide_stages(scan, classes, s, state, &mut decision)
    };
    let entries: Vec<PlanEntry> = scan
        .tags
        .iter()
        .zip(classes)
        .zip(&decision)
        .map(|((t, c), d)| entry(names, t, c, d))
        .collect();
    let summary = summarize(scan, &entries);
    (entries, summary, next_state)
}

/// The werf images: by the policies, or all deleted by a purge.
fn decide_images(classes: &[Class], git: &GitFacts, s: &Settings, decision: &mut [Decision]) {
    let (image_idx, images): (Vec<usize>, Vec<ImageTag>) = classes
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            Class::Image(t) => Some((i, t.clone())),
            _ => None,
        })
        .unzip();
    let image_decisions = if s.purge {
        vec![Err(Reason::Purge); images.len()]
    } else {
        policy::decide(&images, git, &s.policies, s.now)
    };
    for (i, d) in image_idx.iter().zip(image_decisions) {
        decision[*i] = d;
    }
}

/// The tags that are neither images nor (outside a purge) stages: decided by their class.
fn decide_others(classes: &[Class], purge: bool, decision: &mut [Decision]) {
    for (i, c) in classes.iter().enumerate() {
        decision[i] = match (c, purge) {
            (Class::Image(_), _) => continue,
            (Class::Other(r), _) => Ok(*r),
            (Class::Placeholder, _) => Err(Reason::Placeholder),
            (Class::State, false) => Ok(Reason::CleanupState),
            (Class::State | Class::Stage, true) => Err(Reason::Purge),
            (Class::Stage, false) => continue,
        };
    }
}

/// The stages, once every other tag is decided: ancestors of every tag that remains
/// (whatever published it) are kept, the others go past the grace period. Returns the
/// grace state to record.
fn decide_stages(
    scan: &Scan,
    classes: &[Class],
    s: &Settings,
    state: &GraceState,
    decision: &mut [Decision],
) -> GraceState {
    let n = scan.tags.len();
    let contents: Vec<_> = scan
        .tags
        .iter()
        .map(|t| scan.contents(&t.manifest))
        .collect();
    let remaining: Vec<Vec<_>> = (0..n)
        .filter(|i| !matches!(classes[*i], Class::Stage) && decision[*i].is_ok())
        .map(|i| contents[i].chains.clone())
        .collect();
    let stage_idx: Vec<usize> = (0..n)
        .filter(|i| matches!(classes[*i], Class::Stage))
        .collect();
    let stage_chains: Vec<Vec<_>> = stage_idx
        .iter()
        .map(|i| contents[*i].chains.clone())
        .collect();
    let kept = ancestors(&stage_chains, &remaining);
    let mut unreferenced = Vec::new();
    for (i, k) in stage_idx.iter().zip(kept) {
        if k {
            decision[*i] = Ok(Reason::StageAncestor);
        } else {
            unreferenced.push(*i);
        }
    }
    let digests: Vec<String> = unreferenced
        .iter()
        .map(|i| scan.tags[*i].manifest.digest().to_string())
        .collect();
    let (delete, next_state) = grace(&digests, state, s.now, s.grace_secs);
    for (i, del) in unreferenced.iter().zip(delete) {
        decision[*i] = if del {
            Err(Reason::StageUnused)
        } else {
            Ok(Reason::StageGrace)
        };
    }
    next_state
}

/// The plan's line of tag `t`, of class `c`, decided `d`.
fn entry(names: &Names, t: &ScannedTag, c: &Class, d: &Decision) -> PlanEntry {
    let (image, strategy) = match c {
        Class::Image(i) => (Some(i.image.clone()), Some(i.strategy.clone())),
        _ => (None, None),
    };
    PlanEntry {
        reference: format!("{}/{}:{}", names.registry, t.repository, t.tag),
        repository: t.repository.clone(),
        tag: t.tag.clone(),
        digest: t.manifest.digest().to_string(),
        kind: match c {
            Class::Stage => Kind::Stage,
            Class::Image(_) => Kind::Image,
            Class::State => Kind::State,
            Class::Placeholder | Class::Other(_) => Kind::Other,
        },
        image,
        strategy,
        delete: d.is_err(),
        reason: match d {
            Ok(r) | Err(r) => *r,
        },
        deleted_by: None,
    }
}

/// Counts by decision and reason, and the bytes of blobs and manifests that only deleted
/// tags reference (what the registry's garbage collector can free).
fn summarize(scan: &Scan, entries: &[PlanEntry]) -> Summary {
    let mut kept_blobs: HashSet<_> = HashSet::new();
    let mut gone: HashMap<_, u64> = HashMap::new();
    for (t, e) in scan.tags.iter().zip(entries) {
        let c = scan.contents(&t.manifest);
        let mut blobs = c.blobs;
        blobs.push((t.manifest.digest().clone(), t.manifest.bytes().len() as u64));
        if e.delete {
            gone.extend(blobs);
        } else {
            kept_blobs.extend(blobs.into_iter().map(|(d, _)| d));
        }
    }
    let mut by_reason: BTreeMap<String, usize> = BTreeMap::new();
    for e in entries {
        *by_reason.entry(serde_reason(e.reason)).or_default() += 1;
    }
    let deleted = entries.iter().filter(|e| e.delete).count();
    Summary {
        scanned: entries.len(),
        kept: entries.len() - deleted,
        deleted,
        by_reason,
        freeable_bytes: gone
            .iter()
            .filter(|(d, _)| !kept_blobs.contains(*d))
            .map(|(_, s)| *s)
            .sum(),
        failed: 0,
    }
}

/// A reason as it is written in the report (`stage-unused`).
fn serde_reason(r: Reason) -> String {
    serde_json::to_value(r)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The grace state recorded in the state tag's config, if any.
pub(crate) fn read_state(scan: &Scan, names: &Names) -> GraceState {
    scan.tags
        .iter()
        .find(|t| t.repository == names.base && t.tag == STATE_TAG)
        .and_then(|t| {
            let c = scan.contents(&t.manifest);
            let config = scan.configs.get(&c.configs.first()?.digest)?;
            serde_json::from_str(config.labels.get(STATE_LABEL)?).ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
