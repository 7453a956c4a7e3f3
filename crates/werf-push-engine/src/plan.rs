//! The decisions of a push, apart from its requests: which tags are up to date, which
//! repositories are known to hold a blob (mount sources), how blobs are grouped per
//! (registry, digest) and in which order they go, which mount sources a transfer tries.
//! Pure: no I/O, table-tested. (Which images are complete enough for their manifests is
//! learnt as blobs arrive: `board.rs`.)

use std::collections::{BTreeMap, HashMap};

use super::{BlobSource, PushImage};
use werf_push_spec::{Descriptor, Digest, Reference};

/// Repositories of a registry known to hold a blob: `(registry, digest) -> repositories`.
pub(crate) type Holders = HashMap<(String, Digest), Vec<String>>;

/// Whether a tag that points to `current` (its `HEAD`; `None`: absent) is up to date with
/// an image whose root manifest is `root`.
pub(crate) fn up_to_date(current: Option<&Digest>, root: &Digest) -> bool {
    current == Some(root)
}

/// Records that the repository of `dest` holds every blob of `image` (its tag is up to
/// date), so that it can serve as a mount source.
pub(crate) fn add_holders(known: &mut Holders, dest: &Reference, image: &PushImage) {
    for (d, _) in image.blobs() {
        let holders = known
            .entry((dest.registry.clone(), d.digest.clone()))
            .or_default();
        if !holders.contains(&dest.repository) {
            holders.push(dest.repository.clone());
        }
    }
}

/// One blob and the repositories of one registry that need it.
#[derive(Debug, Clone)]
pub(crate) struct BlobGroup {
    pub registry: String,
    pub desc: Descriptor,
    pub source: BlobSource,
    /// Repositories in target order: the first uploads, the others mount from it.
    pub repos: Vec<String>,
    /// Repositories known to hold the blob already: this run's first, then the cache's.
    pub holders: Vec<String>,
}

/// Groups the blobs of `targets` per (registry, digest), largest first (ties in digest
/// order). Mount sources are the repositories `known` to hold a blob, then those `cached`
/// names (the known-blob cache; `None` without one). Returns the groups and what the cache
/// offered per (registry, digest), which the cache later learns from.
pub(crate) fn group_blobs<'a>(
    targets: impl IntoIterator<Item = (&'a Reference, &'a PushImage)>,
    known: &Holders,
    mut cached: impl FnMut(&str, &Digest) -> Option<Vec<String>>,
) -> (Vec<BlobGroup>, Holders) {
    let mut offered = Holders::new();
    let mut groups: BTreeMap<(String, Digest), BlobGroup> = BTreeMap::new();
    for (dest, image) in targets {
        for (desc, source) in image.blobs() {
            let key = (dest.registry.clone(), desc.digest.clone());
            let g = groups.entry(key.clone()).or_insert_with(|| {
                let mut holders = known.get(&key).cloned().unwrap_or_default();
                if let Some(from) = cached(&dest.registry, &desc.digest) {
                    for r in &from {
                        if !holders.contains(r) {
                            holders.push(r.clone());
                        }
                    }
                    offered.insert(key.clone(), from);
                }
                BlobGroup {
                    registry: dest.registry.clone(),
                    desc: desc.clone(),
                    source: source.clone(),
                    repos: Vec::new(),
                    holders,
                }
            });
            if !g.repos.contains(&dest.repository) {
                g.repos.push(dest.repository.clone());
            }
        }
    }
    let mut groups: Vec<BlobGroup> = groups.into_values().collect();
    groups.sort_by_key(|g| std::cmp::Reverse(g.desc.size));
    (groups, offered)
}

/// Per registry, how many upload connections to open ahead of the uploads
/// (`Transport::warm_uploads`): the groups that will probably upload a body of
/// `bulk_body` bytes or more (no mount source known), at most `jobs`.
pub(crate) fn uploads_ahead(
    groups: &[BlobGroup],
    bulk_body: u64,
    jobs: usize,
) -> BTreeMap<String, usize> {
    let mut ahead = BTreeMap::new();
    for g in groups {
        if g.desc.size >= bulk_body && g.holders.is_empty() {
            let n = ahead.entry(g.registry.clone()).or_insert(0);
            *n = (*n + 1).min(jobs);
        }
    }
    ahead
}

/// The repositories a transfer into `repo` tries to mount from, in order.
pub(crate) fn mount_sources(holders: &[String], repo: &str) -> Vec<String> {
    holders.iter().filter(|h| *h != repo).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u8) -> Digest {
        Digest::sha256_of(&[n])
    }

    /// An image whose blobs are `(seed, size)`; its manifest does not matter to the plan.
    fn image(blobs: &[(u8, u64)]) -> PushImage {
        let root = werf_push_spec::Manifest::parse(
            br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#
                .as_slice()
                .into(),
            None,
        )
        .unwrap();
        PushImage::new(
            Vec::new(),
            root,
            blobs
                .iter()
                .map(|&(n, size)| {
                    let desc = Descriptor::new("application/octet-stream", digest(n), size);
                    (desc, BlobSource::Bytes(bytes::Bytes::new()))
                })
                .collect(),
        )
    }

    fn dest(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }

    #[test]
    fn up_to_date_table() {
        let (a, b) = (digest(1), digest(2));
        let cases = [
            (Some(&a), &a, true),
            (Some(&b), &a, false),
            (None, &a, false),
        ];
        for (current, root, want) in cases {
            assert_eq!(up_to_date(current, root), want, "{current:?} {root}");
        }
    }

    #[test]
    fn grouping_table() {
        // (targets: (reference, blobs (id, size))) -> groups (registry, blob id, repos), in order
        type Case = (
            Vec<(&'static str, Vec<(u8, u64)>)>,
            Vec<(&'static str, u8, Vec<&'static str>)>,
        );
        let cases: Vec<Case> = vec![
            // One image: one group per blob, largest first.
            (
                vec![("r.io/a:v1", vec![(1, 10), (2, 30), (3, 20)])],
                vec![
                    ("r.io", 2, vec!["a"]),
                    ("r.io", 3, vec!["a"]),
                    ("r.io", 1, vec!["a"]),
                ],
            ),
            // A blob shared by two repositories of one registry: one group, target order.
            (
                vec![
                    ("r.io/b:v1", vec![(1, 10)]),
                    ("r.io/a:v1", vec![(1, 10), (2, 5)]),
                ],
                vec![("r.io", 1, vec!["b", "a"]), ("r.io", 2, vec!["a"])],
            ),
            // Two registries: a group each. Two tags of one repository: it appears once.
            (
                vec![
                    ("r.io/a:v1", vec![(1, 10)]),
                    ("r.io/a:v2", vec![(1, 10)]),
                    ("s.io/a:v1", vec![(1, 10)]),
                ],
                vec![("r.io", 1, vec!["a"]), ("s.io", 1, vec!["a"])],
            ),
            // Nothing to push.
            (vec![], vec![]),
        ];
        for (targets, want) in cases {
            let targets: Vec<(Reference, PushImage)> =
                targets.iter().map(|(r, b)| (dest(r), image(b))).collect();
            let (groups, offered) = group_blobs(
                targets.iter().map(|(r, i)| (r, i)),
                &Holders::new(),
                |_, _| None,
            );
            let got: Vec<(&str, Digest, Vec<&str>)> = groups
                .iter()
                .map(|g| {
                    let repos = g.repos.iter().map(String::as_str).collect();
                    (g.registry.as_str(), g.desc.digest.clone(), repos)
                })
                .collect();
            let want: Vec<(&str, Digest, Vec<&str>)> = want
                .into_iter()
                .map(|(reg, n, repos)| (reg, digest(n), repos))
                .collect();
            assert_eq!(got, want, "{targets:?}");
            assert!(offered.is_empty());
        }
    }

    #[test]
    fn uploads_ahead_table() {
        // (groups: (registry, size, has a mount source), jobs) -> per registry
        type Case = (
            Vec<(&'static str, u64, bool)>,
            usize,
            Vec<(&'static str, usize)>,
        );
        let cases: Vec<Case> = vec![
            // Bodies from 100 bytes on count; smaller ones do not.
            (
                vec![("r.io", 100, false), ("r.io", 99, false)],
                8,
                vec![("r.io", 1)],
            ),
            // At most `jobs` per registry.
            (vec![("r.io", 500, false); 5], 2, vec![("r.io", 2)]),
            // A blob with a mount source will probably be mounted, not uploaded.
            (
                vec![("r.io", 500, true), ("s.io", 500, false)],
                8,
                vec![("s.io", 1)],
            ),
            (vec![], 8, vec![]),
        ];
        for (groups, jobs, want) in cases {
            let groups: Vec<BlobGroup> = groups
                .iter()
                .enumerate()
                .map(|(i, &(registry, size, held))| BlobGroup {
                    registry: registry.into(),
                    desc: image(&[(i as u8, size)]).blobs()[0].0.clone(),
                    source: BlobSource::Bytes(bytes::Bytes::new()),
                    repos: vec!["a".into()],
                    holders: if held { vec!["b".into()] } else { vec![] },
                })
                .collect();
            let got = uploads_ahead(&groups, 100, jobs);
            let want: BTreeMap<String, usize> =
                want.into_iter().map(|(r, n)| (r.to_string(), n)).collect();
            assert_eq!(got, want, "{groups:?} jobs {jobs}");
        }
    }

    #[test]
    fn mount_sources_this_run_first_then_cache() {
        let a = dest("r.io/a:v1");
        let img = image(&[(1, 10)]);
        let mut known = Holders::new();
        add_holders(&mut known, &dest("r.io/up:v1"), &img);
        add_holders(&mut known, &dest("r.io/up:v2"), &img);
        let (groups, offered) = group_blobs([(&a, &img)], &known, |reg, d| {
            assert_eq!((reg, d), ("r.io", &digest(1)));
            Some(vec!["cached".into(), "up".into()])
        });
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].holders, ["up", "cached"]);
        assert_eq!(
            offered.get(&("r.io".into(), digest(1))).map(Vec::len),
            Some(2)
        );
        // (holders, repository) -> sources: never the repository itself.
        let cases: [(&[&str], &str, &[&str]); 3] = [
            (&["up", "cached"], "a", &["up", "cached"]),
            (&["a", "up"], "a", &["up"]),
            (&[], "a", &[]),
        ];
        for (holders, repo, want) in cases {
            let holders: Vec<String> = holders.iter().map(|s| s.to_string()).collect();
            assert_eq!(mount_sources(&holders, repo), want, "{holders:?} {repo}");
        }
    }
}
