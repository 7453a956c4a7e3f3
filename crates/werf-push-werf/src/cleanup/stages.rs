//! The stages side of cleanup, pure: which `image-stage-*` tags a remaining image descends
//! from (a stage's image is its parent's plus new layers, so a stage is an ancestor of an
//! image when its layers begin the image's), and the grace rule that protects stages a
//! publish running at the same moment has pushed but not yet referenced.
//!
//! The grace rule needs a clock the registry does not give (no push time; our bytes carry
//! no timestamps). Each cleanup records, in the state it keeps in the registry, when it
//! first saw each stage digest unreferenced; a stage is deleted only when an earlier
//! cleanup saw it unreferenced at least the grace period ago. A stage referenced again
//! leaves the state: its clock starts over.

use std::collections::{BTreeMap, HashSet};

use werf_push_spec::Digest;

/// The layers of one image manifest, in order (a multi-platform tag has several).
pub(crate) type Chain = Vec<Digest>;

/// For each stage (its chains), whether some chain of it begins some chain of `images`.
/// A stage with no layers begins every image: it is an ancestor when any image remains.
pub(crate) fn ancestors(stages: &[Vec<Chain>], images: &[Vec<Chain>]) -> Vec<bool> {
    let mut prefixes: HashSet<&[Digest]> = HashSet::new();
    for chain in images.iter().flatten() {
        for end in 0..=chain.len() {
            prefixes.insert(&chain[..end]);
        }
    }
    stages
        .iter()
        .map(|chains| chains.iter().any(|c| prefixes.contains(c.as_slice())))
        .collect()
}

/// First-seen-unreferenced times (unix seconds) by stage digest.
pub(crate) type GraceState = BTreeMap<String, i64>;

/// For each unreferenced stage digest, whether it may be deleted now; and the state to
/// record: every digest still unreferenced and kept, with the time it was first seen so.
pub(crate) fn grace(
    unreferenced: &[String],
    state: &GraceState,
    now: i64,
    grace_secs: i64,
) -> (Vec<bool>, GraceState) {
    let mut next = GraceState::new();
    let decisions = unreferenced
        .iter()
        .map(|d| match state.get(d) {
            // Seen unreferenced by an earlier cleanup, long enough ago.
            Some(first) if *first <= now && now - first >= grace_secs => true,
            // A time in the future (a clock set back): start again from now.
            Some(first) => {
                next.insert(d.clone(), (*first).min(now));
                false
            }
            None => {
                next.insert(d.clone(), now);
                false
            }
        })
        .collect();
    (decisions, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u8) -> Digest {
        Digest::sha256_of(&[n])
    }

    fn chain(ns: &[u8]) -> Chain {
        ns.iter().map(|n| d(*n)).collect()
    }

    #[test]
    fn ancestors_table() {
        let images = vec![vec![chain(&[1, 2, 3])], vec![chain(&[7, 8]), chain(&[9])]];
        type Case<'a> = (&'a str, Vec<Chain>, &'a [Vec<Chain>], bool);
        let cases: Vec<Case> = vec![
            (
                "the image's own layers",
                vec![chain(&[1, 2, 3])],
                &images,
                true,
            ),
            ("a prefix", vec![chain(&[1, 2])], &images, true),
            ("the first layer", vec![chain(&[1])], &images, true),
            ("not at the start", vec![chain(&[2, 3])], &images, false),
            (
                "longer than the image",
                vec![chain(&[1, 2, 3, 4])],
                &images,
                false,
            ),
            (
                "another platform matches",
                vec![chain(&[5]), chain(&[9])],
                &images,
                true,
            ),
            ("no layers, images remain", vec![chain(&[])], &images, true),
            ("no layers, no image", vec![chain(&[])], &[], false),
            ("unrelated", vec![chain(&[4])], &images, false),
        ];
        for (name, stage, imgs, want) in cases {
            assert_eq!(ancestors(&[stage], imgs), vec![want], "{name}");
        }
    }

    #[test]
    fn grace_table() {
        let now = 10_000;
        let state: GraceState = [
            ("old".to_string(), now - 7200),
            ("recent".to_string(), now - 60),
            ("future".to_string(), now + 500),
            ("referenced-again".to_string(), now - 9000),
        ]
        .into_iter()
        .collect();
        let unref: Vec<String> = ["old", "recent", "future", "new"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        type Case = (i64, Vec<bool>, Vec<(&'static str, i64)>);
        let cases: Vec<Case> = vec![
            (
                7200,
                vec![true, false, false, false],
                vec![("future", now), ("new", now), ("recent", now - 60)],
            ),
            (
                0,
                vec![true, true, false, false],
                vec![("future", now), ("new", now)],
            ),
        ];
        for (secs, want, want_state) in cases {
            let (del, next) = grace(&unref, &state, now, secs);
            assert_eq!(del, want, "grace {secs}");
            let want_state: GraceState = want_state
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            assert_eq!(next, want_state, "grace {secs}");
        }
    }
}
