//! Unit tests of `policy.rs`: werf's image policies per strategy, limit and expiry.

use super::*;

const NOW: i64 = 1_800_000_000;

fn t(image: &str, strategy: &str, tag: &str) -> ImageTag {
    ImageTag {
        image: image.into(),
        strategy: strategy.into(),
        image_tag: tag.into(),
        created: None,
        in_use: false,
    }
}

/// Images of `image` tagged by `strategy`, one per tag of `tags`, in that order.
fn tags(image: &str, strategy: &str, tags: &[&str]) -> Vec<ImageTag> {
    tags.iter().map(|tag| t(image, strategy, tag)).collect()
}

fn git() -> GitFacts {
    GitFacts {
        branches: vec!["main".into(), "feature/ADD_X".into()],
        tags: [
            ("v1.0.0".to_string(), NOW - 40 * DAY),
            ("v1.1.0".to_string(), NOW - 20 * DAY),
            ("v1.2.0".to_string(), NOW - 10 * DAY),
            ("v2.0.0".to_string(), NOW - DAY),
        ]
        .into_iter()
        .collect(),
        commits: [
            ("aaaa".to_string(), NOW - 5 * DAY),
            ("bbbb".to_string(), NOW - 50 * DAY),
        ]
        .into_iter()
        .collect(),
    }
}

fn limits(limit: Option<usize>, expiry_days: Option<u64>) -> Limits {
    Limits { limit, expiry_days }
}

#[test]
fn policies_table() {
    use Reason::*;
    let none = Policies::default();
    let ci = Policies {
        git_tag: limits(Some(2), Some(30)),
        git_commit: limits(Some(50), Some(30)),
        stages_signature: limits(Some(1), None),
    };
    let used = ImageTag {
        in_use: true,
        ..t("app", "git-branch", "gone")
    };
    let created = |tag, age| ImageTag {
        created: Some(NOW - age),
        ..t("app", "stages-signature", tag)
    };
    let (old_sig, new_sig) = (created("s1", 3 * DAY), created("s2", DAY));
    type Case = (
        &'static str,
        Vec<ImageTag>,
        Policies,
        Vec<Result<Reason, Reason>>,
    );
    let cases: Vec<Case> = vec![
        (
            "branches: existing (slugged) kept, gone deleted",
            tags(
                "app",
                "git-branch",
                &["main", &slugify_docker_tag("feature/ADD_X"), "old"],
            ),
            none,
            vec![Ok(BranchExists), Ok(BranchExists), Err(BranchGone)],
        ),
        (
            "in use beats every policy",
            vec![used.clone()],
            ci,
            vec![Ok(InUse)],
        ),
        (
            "custom and unknown strategies are never deleted",
            vec![t("app", "custom", "v1"), t("app", "something-new", "x")],
            ci,
            vec![Ok(Custom), Ok(Custom)],
        ),
        (
            "git tags with no limit: only gone ones go",
            tags("app", "git-tag", &["v1.0.0", "v0.9"]),
            none,
            vec![Ok(WithinLimits), Err(GitTagGone)],
        ),
        (
            "git tags: expiry first, then the newest two",
            tags("app", "git-tag", &["v1.0.0", "v1.1.0", "v1.2.0", "v2.0.0"]),
            ci,
            vec![
                Err(Expired),
                Err(OverLimit),
                Ok(WithinLimits),
                Ok(WithinLimits),
            ],
        ),
        (
            "limits count per image",
            [
                tags("a", "git-tag", &["v2.0.0", "v1.2.0", "v1.1.0"]),
                tags("b", "git-tag", &["v1.1.0"]),
            ]
            .concat(),
            ci,
            vec![
                Ok(WithinLimits),
                Ok(WithinLimits),
                Err(OverLimit),
                Ok(WithinLimits),
            ],
        ),
        (
            "commits: gone, expired, kept",
            tags("app", "git-commit", &["aaaa", "bbbb", "cccc"]),
            ci,
            vec![Ok(WithinLimits), Err(Expired), Err(CommitGone)],
        ),
        (
            "stages-signature: limit by created",
            vec![old_sig.clone(), new_sig.clone()],
            ci,
            vec![Err(OverLimit), Ok(WithinLimits)],
        ),
        (
            "stages-signature: no limit by default",
            vec![old_sig, new_sig],
            none,
            vec![Ok(WithinLimits), Ok(WithinLimits)],
        ),
    ];
    for (name, tags, p, want) in cases {
        assert_eq!(decide(&tags, &git(), &p, NOW), want, "{name}");
    }
}
