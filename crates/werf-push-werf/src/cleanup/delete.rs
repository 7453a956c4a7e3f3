//! The deletions of a cleanup or purge run: every tag the plan deletes, all at once under
//! the transport's bound, each through `Registry::delete_tag` (its tag only; the manifest by
//! digest only when every tag on it in the repository is being deleted). A failure is
//! recorded in the report and stops no other deletion.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;

use futures_util::stream::{self, StreamExt};

use super::scan::ScannedTag;
use super::{Event, PlanEntry, Report, Reporter};
use werf_push_engine::DeletePath;
use werf_push_registry::{Registry, RegistryError};

/// Deletions sent at once; the transport's `--requests` bound is what limits them.
const DELETES: usize = 512;

/// Deletes the tags of `entries` marked `delete` (`entries` in the order of `tags`), the
/// way `path` says; records in each entry how it was deleted and in `report` every
/// failure (sorted), and tells `Event::Deleting` every 100th deletion and the last.
pub(super) async fn delete_planned(
    reg: &Registry,
    path: DeletePath,
    tags: &[ScannedTag],
    entries: &mut [PlanEntry],
    report: &mut Report,
    reporter: &dyn Reporter,
) {
    let jobs = jobs(entries);
    let total = jobs.len();
    // The profile says whether the tag DELETE works; when it does not know, the first
    // deletion goes alone: it learns it, so that the others do not each ask again.
    let tag_delete = AtomicBool::new(matches!(path, DeletePath::ByTag | DeletePath::Probe));
    let probe = path == DeletePath::Probe;
    let delete = |(i, sole): (usize, bool)| {
        let t = &tags[i];
        let tag_delete = &tag_delete;
        async move {
            let r = reg
                .delete_tag(&t.repository, &t.tag, &t.manifest, sole, tag_delete)
                .await;
            (i, r)
        }
    };
    let mut jobs = jobs.into_iter();
    let first = match probe.then(|| jobs.next()).flatten() {
        Some(j) => vec![delete(j).await],
        None => Vec::new(),
    };
    let mut results =
        stream::iter(first).chain(stream::iter(jobs).map(delete).buffer_unordered(DELETES));
    let mut done = 0;
    while let Some((i, r)) = results.next().await {
        done += 1;
        if done % 100 == 0 || done == total {
            reporter.event(Event::Deleting { done, total });
        }
        match r {
            Ok(how) => entries[i].deleted_by = Some(how),
            Err(e) => record_failure(report, &entries[i].reference, e),
        }
    }
    report.errors.sort();
}

/// The tags to delete, as (index, whether every tag on its manifest in its repository is
/// deleted too, so that the manifest itself may go).
fn jobs(entries: &[PlanEntry]) -> Vec<(usize, bool)> {
    // Per (repository, digest): how many tags it has, and how many go.
    let mut on_digest: HashMap<(&str, &str), (usize, usize)> = HashMap::new();
    for e in entries {
        let c = on_digest.entry((&e.repository, &e.digest)).or_default();
        c.0 += 1;
        c.1 += usize::from(e.delete);
    }
    entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.delete)
        .map(|(i, e)| {
            let (all, going) = on_digest[&(e.repository.as_str(), e.digest.as_str())];
            (i, all == going)
        })
        .collect()
}

/// Records the failed deletion of `reference`: its line in `report.errors`, and the first
/// failure (by reference, so that the run's error does not depend on timing).
fn record_failure(report: &mut Report, reference: &str, e: RegistryError) {
    let text = werf_push_spec::text::printable(&e.to_string()).into_owned();
    report.errors.push(format!("{reference}: {text}"));
    let first = report.first_failure.as_ref();
    if first.is_none_or(|(r, _)| reference < r.as_str()) {
        report.first_failure = Some((reference.to_string(), e));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cleanup::{Kind, Reason};

    fn entry(repository: &str, digest: &str, delete: bool) -> PlanEntry {
        PlanEntry {
            reference: format!("r.io/{repository}:t"),
            repository: repository.into(),
            tag: "t".into(),
            digest: digest.into(),
            kind: Kind::Image,
            image: None,
            strategy: None,
            delete,
            reason: Reason::Purge,
            deleted_by: None,
        }
    }

    #[test]
    fn jobs_table() {
        // (entries as (repository, digest, delete), want (index, manifest may go))
        type Case = (
            &'static [(&'static str, &'static str, bool)],
            &'static [(usize, bool)],
        );
        let cases: &[Case] = &[
            (&[], &[]),
            (&[("p", "d1", false)], &[]),
            (&[("p", "d1", true)], &[(0, true)]),
            // A kept tag on the same manifest keeps the manifest.
            (&[("p", "d1", true), ("p", "d1", false)], &[(0, false)]),
            (
                &[("p", "d1", true), ("p", "d1", true)],
                &[(0, true), (1, true)],
            ),
            // The same digest in another repository is another manifest.
            (&[("p", "d1", true), ("p/app", "d1", false)], &[(0, true)]),
        ];
        for (rows, want) in cases {
            let entries: Vec<PlanEntry> =
                rows.iter().map(|(r, d, del)| entry(r, d, *del)).collect();
            assert_eq!(jobs(&entries), *want, "{rows:?}");
        }
    }
}
