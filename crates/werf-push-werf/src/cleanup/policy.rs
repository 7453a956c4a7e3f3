//! werf's image policies, pure: which image tags `cleanup` keeps and which it deletes, by
//! their `werf-tag-strategy` label, the project's git refs and the limits and expiry of
//! each strategy. Images in use are kept whatever the policy. Per image name, as werf
//! does: the limit of one image does not count the tags of another.
//!
//! - `git-branch`: kept while a branch slugs to the tag (`slugify -f docker-tag`);
//! - `git-tag`: deleted when the git tag is gone; of the rest the newest `limit` are kept
//!   and none older than `expiry_days` (the git tag's date);
//! - `git-commit`: the same with commits (the commit's date);
//! - `stages-signature`: limit and expiry only (the age is the image's `created`);
//! - `custom` (and any strategy werf-push does not know): never deleted by cleanup.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::reason::Reason;
use crate::slug::slugify_docker_tag;

/// Limit and expiry of one strategy; `None` is werf's `-1` (none). Exhaustive: werf's
/// policies give a strategy exactly these two numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Keep at most this many (the newest).
    pub limit: Option<usize>,
    /// Keep none older than this many days.
    pub expiry_days: Option<u64>,
}

/// The policies of one cleanup: the limits of each strategy that ranks its images
/// (`git-branch` images go with their branch, `custom` ones are never deleted). The
/// default is no limit and no expiry anywhere; set the fields after `Policies::default()`.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct Policies {
    /// `git-tag` images (`--git-tag-strategy-limit`, `--git-tag-strategy-expiry-days`).
    pub git_tag: Limits,
    /// `git-commit` images (`--git-commit-strategy-limit`, `...-expiry-days`).
    pub git_commit: Limits,
    /// `stages-signature` images (`--stages-signature-strategy-limit`, `...-expiry-days`).
    pub stages_signature: Limits,
}

/// What the project's git repository holds, as the policies need it.
#[derive(Debug, Clone, Default)]
pub(crate) struct GitFacts {
    /// Branch names (the remote `origin`'s, else the local ones).
    pub(crate) branches: Vec<String>,
    /// Tag name -> the tag's date (unix seconds).
    pub(crate) tags: HashMap<String, i64>,
    /// Commit (as an image tag names it) -> its committer date; absent when it is gone.
    pub(crate) commits: HashMap<String, i64>,
}

/// One image tag as its config labels describe it.
#[derive(Debug, Clone)]
pub(crate) struct ImageTag {
    /// `werf-image-name` (empty: the nameless image).
    pub(crate) image: String,
    /// `werf-tag-strategy`.
    pub(crate) strategy: String,
    /// `werf-image-tag`.
    pub(crate) image_tag: String,
    /// The config's `created` (unix seconds), for `stages-signature` ages.
    pub(crate) created: Option<i64>,
    /// Its reference or digest is in use (`--keep-images-used-by`).
    pub(crate) in_use: bool,
}

const DAY: i64 = 86_400;

/// The decision for each of `tags` (same order): `Ok(reason)` keeps, `Err(reason)` deletes.
pub(crate) fn decide(
    tags: &[ImageTag],
    git: &GitFacts,
    p: &Policies,
    now: i64,
) -> Vec<Result<Reason, Reason>> {
    let branches: HashSet<String> = git.branches.iter().map(|b| slugify_docker_tag(b)).collect();
    let tag_dates: HashMap<String, i64> = git
        .tags
        .iter()
        .map(|(t, d)| (slugify_docker_tag(t), *d))
        .collect();
    let mut out: Vec<Result<Reason, Reason>> = Vec::with_capacity(tags.len());
    // (strategy, image) -> (index, date) of the tags that the limit and expiry rank.
    let mut ranked: BTreeMap<(&str, &str), Vec<(usize, i64)>> = BTreeMap::new();
    for (i, t) in tags.iter().enumerate() {
        let d = match t.strategy.as_str() {
            "git-branch" if branches.contains(&t.image_tag) => Ok(Reason::BranchExists),
            "git-branch" => Err(Reason::BranchGone),
            "git-tag" => match tag_dates.get(&t.image_tag) {
                Some(d) => rank(&mut ranked, t, i, *d),
                None => Err(Reason::GitTagGone),
            },
            "git-commit" => match git.commits.get(&t.image_tag) {
                Some(d) => rank(&mut ranked, t, i, *d),
                None => Err(Reason::CommitGone),
            },
            "stages-signature" => rank(&mut ranked, t, i, t.created.unwrap_or(now)),
            _ => Ok(Reason::Custom),
        };
        out.push(d);
    }
    for ((strategy, _), mut group) in ranked {
        let l = match strategy {
            "git-tag" => p.git_tag,
            "git-commit" => p.git_commit,
            _ => p.stages_signature,
        };
        // Newest first; equal dates in the order given.
        group.sort_by_key(|(i, d)| (std::cmp::Reverse(*d), *i));
        let mut kept = 0;
        for (i, date) in group {
            out[i] = match l.expiry_days {
                Some(days) if now - date > days as i64 * DAY => Err(Reason::Expired),
                _ if l.limit.is_some_and(|n| kept >= n) => Err(Reason::OverLimit),
                _ => {
                    kept += 1;
                    Ok(Reason::WithinLimits)
                }
            };
        }
    }
    for (t, d) in tags.iter().zip(out.iter_mut()) {
        if t.in_use && d.is_err() {
            *d = Ok(Reason::InUse);
        }
    }
    out
}

fn rank<'a>(
    ranked: &mut BTreeMap<(&'a str, &'a str), Vec<(usize, i64)>>,
    t: &'a ImageTag,
    i: usize,
    date: i64,
) -> Result<Reason, Reason> {
    ranked
        .entry((t.strategy.as_str(), t.image.as_str()))
        .or_default()
        .push((i, date));
    Ok(Reason::WithinLimits)
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
