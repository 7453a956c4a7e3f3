//! Tag strategies and the tag list a publish run uses: `--tag-custom` (and every
//! `WERF_TAG_CUSTOM_*` variable), `--tag-git-branch`, `--tag-git-tag`, `--tag-git-commit`
//! and `--tag-by-stages-signature`, validated (never changed) and put in a fixed order.
//!
//! Knows nothing of registries, repos, image names or werf.yaml; it reads no environment
//! itself: the caller passes the variables in.

use std::fmt;

use super::error::WerfError;
use super::slug::is_valid_docker_tag;

/// Prefix of the environment variables that add custom tags.
pub(crate) const CUSTOM_TAG_ENV_PREFIX: &str = "WERF_TAG_CUSTOM_";

/// How a tag was chosen, recorded in label `werf-tag-strategy`. The variants' order is
/// the order in which tags are published. Exhaustive: these are werf v1.1's strategies,
/// a fixed set that werf's labels and cleanup policies name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TagStrategy {
    /// `--tag-custom` and `WERF_TAG_CUSTOM_*`: never deleted by cleanup.
    Custom,
    /// `--tag-git-branch`: kept by cleanup while the branch exists.
    GitBranch,
    /// `--tag-git-tag`: kept while the git tag exists, within limit and expiry.
    GitTag,
    /// `--tag-git-commit`: kept while the commit exists, within limit and expiry.
    GitCommit,
    /// `--tag-by-stages-signature`: the image's stages signature, within limit and expiry.
    StagesSignature,
}

impl TagStrategy {
    /// Every strategy, in publishing order.
    pub const ALL: [TagStrategy; 5] = [
        TagStrategy::Custom,
        TagStrategy::GitBranch,
        TagStrategy::GitTag,
        TagStrategy::GitCommit,
        TagStrategy::StagesSignature,
    ];

    /// The value of label `werf-tag-strategy`.
    pub(crate) fn as_label(self) -> &'static str {
        match self {
            TagStrategy::Custom => "custom",
            TagStrategy::GitBranch => "git-branch",
            TagStrategy::GitTag => "git-tag",
            TagStrategy::GitCommit => "git-commit",
            TagStrategy::StagesSignature => "stages-signature",
        }
    }

    /// The command-line flag that selects the strategy.
    pub fn flag(self) -> &'static str {
        match self {
            TagStrategy::Custom => "--tag-custom",
            TagStrategy::GitBranch => "--tag-git-branch",
            TagStrategy::GitTag => "--tag-git-tag",
            TagStrategy::GitCommit => "--tag-git-commit",
            TagStrategy::StagesSignature => "--tag-by-stages-signature",
        }
    }
}

impl fmt::Display for TagStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_label())
    }
}

/// One tag to publish every selected image with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TagSpec {
    /// How the tag was chosen.
    pub strategy: TagStrategy,
    /// The literal tag; `None` only for `StagesSignature`, whose tag is each image's own
    /// stages signature, resolved per image later.
    pub tag: Option<String>,
}

/// Build the tag list, in this fixed order: custom tags from the flags (as given), then
/// from `WERF_TAG_CUSTOM_*` variables (sorted by variable name; empty values ignored),
/// then git-branch, git-tag, git-commit, stages-signature. Repeated (strategy, tag)
/// pairs are kept once, at their first place.
///
/// `env` is the whole environment or any part of it; only `WERF_TAG_CUSTOM_*` is read.
/// An empty `git_*` value counts as not given (as an unset `WERF_TAG_GIT_*` in werf).
/// Every user tag must already be a docker tag: it is validated, never slugified.
pub fn collect_tags(
    custom: &[String],
    env: impl IntoIterator<Item = (String, String)>,
    git_branch: Option<&str>,
    git_tag: Option<&str>,
    git_commit: Option<&str>,
    by_stages_signature: bool,
) -> Result<Vec<TagSpec>, WerfError> {
    let mut out: Vec<TagSpec> = Vec::new();
    let mut push = |spec: TagSpec| {
        if !out.contains(&spec) {
            out.push(spec);
        }
    };

    for tag in custom {
        check(TagStrategy::Custom, tag, None)?;
        push(literal(TagStrategy::Custom, tag));
    }

    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(name, value)| name.starts_with(CUSTOM_TAG_ENV_PREFIX) && !value.is_empty())
        .collect();
    vars.sort();
    for (name, tag) in &vars {
        check(TagStrategy::Custom, tag, Some(name))?;
        push(literal(TagStrategy::Custom, tag));
    }

    for (strategy, value) in [
        (TagStrategy::GitBranch, git_branch),
        (TagStrategy::GitTag, git_tag),
        (TagStrategy::GitCommit, git_commit),
    ] {
        if let Some(tag) = value.filter(|t| !t.is_empty()) {
            check(strategy, tag, None)?;
            push(literal(strategy, tag));
        }
    }

    if by_stages_signature {
        push(TagSpec {
            strategy: TagStrategy::StagesSignature,
            tag: None,
        });
    }

    if out.is_empty() {
        // An empty value counts as unset (as in werf: CI often exports empty variables),
        // but when it is all there was, say which one was empty.
        let empty = [
            ("--tag-git-branch", "WERF_TAG_GIT_BRANCH", git_branch),
            ("--tag-git-tag", "WERF_TAG_GIT_TAG", git_tag),
            ("--tag-git-commit", "WERF_TAG_GIT_COMMIT", git_commit),
        ]
        .into_iter()
        .find(|(_, _, v)| *v == Some(""));
        if let Some((flag, env, _)) = empty {
            return Err(WerfError::EmptyTag { flag, env });
        }
        return Err(WerfError::NoTag);
    }
    Ok(out)
}

fn literal(strategy: TagStrategy, tag: &str) -> TagSpec {
    TagSpec {
        strategy,
        tag: Some(tag.to_string()),
    }
}

fn check(strategy: TagStrategy, tag: &str, env_var: Option<&str>) -> Result<(), WerfError> {
    if is_valid_docker_tag(tag) {
        Ok(())
    } else {
        Err(WerfError::InvalidTag {
            flag: strategy.flag(),
            tag: tag.to_string(),
            env_var: env_var.map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        const CASES: &[(TagStrategy, &str, &str)] = &[
            (TagStrategy::Custom, "custom", "--tag-custom"),
            (TagStrategy::GitBranch, "git-branch", "--tag-git-branch"),
            (TagStrategy::GitTag, "git-tag", "--tag-git-tag"),
            (TagStrategy::GitCommit, "git-commit", "--tag-git-commit"),
            (
                TagStrategy::StagesSignature,
                "stages-signature",
                "--tag-by-stages-signature",
            ),
        ];
        for (i, (s, label, flag)) in CASES.iter().enumerate() {
            assert_eq!(s.as_label(), *label);
            assert_eq!(s.to_string(), *label);
            assert_eq!(s.flag(), *flag);
            assert_eq!(TagStrategy::ALL[i], *s, "documented order");
        }
    }

    struct Case {
        name: &'static str,
        custom: &'static [&'static str],
        env: &'static [(&'static str, &'static str)],
        git: [Option<&'static str>; 3],
        stages: bool,
        /// `Ok` with "label=tag" (or just "label"), or `Err` with the message.
        want: Result<&'static [&'static str], &'static str>,
    }

    const NO_GIT: [Option<&str>; 3] = [None, None, None];
    const BAD_TAG: &str = "docker tag should comply with regex '^[\\w][\\w.-]*$' and be \
                           maximum 128 chars";

    const CASES: &[Case] = &[
        Case {
            name: "nothing",
            custom: &[],
            env: &[("HOME", "/root"), ("WERF_TAG_GIT_BRANCH", "main")],
            git: NO_GIT,
            stages: false,
            want: Err(
                "no tag specified: use --tag-custom, --tag-git-branch, --tag-git-tag, \
                       --tag-git-commit or --tag-by-stages-signature",
            ),
        },
        Case {
            name: "only an empty git tag",
            custom: &[],
            env: &[],
            git: [None, Some(""), None],
            stages: false,
            want: Err(
                "--tag-git-tag (or WERF_TAG_GIT_TAG) is empty, and no other tag was \
                       specified: give it a value (e.g. the branch name, slugged with \
                       `werf-push slugify -f docker-tag NAME`), or use another --tag-* flag",
            ),
        },
        Case {
            name: "an empty git tag beside a custom one",
            custom: &["v1"],
            env: &[],
            git: [None, Some(""), None],
            stages: false,
            want: Ok(&["custom=v1"]),
        },
        Case {
            name: "all strategies in fixed order",
            custom: &["b", "a"],
            env: &[
                ("WERF_TAG_CUSTOM_Z", "z"),
                ("WERF_TAG_CUSTOM_A", "y"),
                ("PATH", "/bin"),
            ],
            git: [Some("main"), Some("v1.0"), Some("0123abc")],
            stages: true,
            want: Ok(&[
                "custom=b",
                "custom=a",
                "custom=y",
                "custom=z",
                "git-branch=main",
                "git-tag=v1.0",
                "git-commit=0123abc",
                "stages-signature",
            ]),
        },
        Case {
            name: "duplicates dropped, same tag under two strategies kept",
            custom: &["v1", "v1"],
            env: &[("WERF_TAG_CUSTOM_X", "v1"), ("WERF_TAG_CUSTOM_Y", "")],
            git: [None, Some("v1"), None],
            stages: false,
            want: Ok(&["custom=v1", "git-tag=v1"]),
        },
        Case {
            name: "stages signature alone",
            custom: &[],
            env: &[],
            git: NO_GIT,
            stages: true,
            want: Ok(&["stages-signature"]),
        },
        Case {
            name: "bad custom flag",
            custom: &["ok", "feature/x"],
            env: &[],
            git: NO_GIT,
            stages: false,
            want: Err("bad --tag-custom parameter 'feature/x' specified: {BAD}"),
        },
        Case {
            name: "empty custom flag",
            custom: &[""],
            env: &[],
            git: NO_GIT,
            stages: true,
            want: Err("bad --tag-custom parameter '' specified: {BAD}"),
        },
        Case {
            name: "bad custom env",
            custom: &[],
            env: &[("WERF_TAG_CUSTOM_1", ".hidden")],
            git: NO_GIT,
            stages: false,
            want: Err(
                "bad --tag-custom parameter '.hidden' specified: {BAD} (from $WERF_TAG_CUSTOM_1)",
            ),
        },
        Case {
            name: "bad git branch",
            custom: &[],
            env: &[],
            git: [Some("feature/x"), None, None],
            stages: false,
            want: Err("bad --tag-git-branch parameter 'feature/x' specified: {BAD}"),
        },
        Case {
            name: "bad git tag",
            custom: &[],
            env: &[],
            git: [None, Some("-v1"), None],
            stages: false,
            want: Err("bad --tag-git-tag parameter '-v1' specified: {BAD}"),
        },
        Case {
            name: "bad git commit",
            custom: &[],
            env: &[],
            git: [None, None, Some("abc def")],
            stages: false,
            want: Err("bad --tag-git-commit parameter 'abc def' specified: {BAD}"),
        },
    ];

    #[test]
    fn collect() {
        for c in CASES {
            let custom: Vec<String> = c.custom.iter().map(|s| s.to_string()).collect();
            let env = c.env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
            let got = collect_tags(&custom, env, c.git[0], c.git[1], c.git[2], c.stages);
            match (&got, c.want) {
                (Ok(specs), Ok(want)) => {
                    let got: Vec<String> = specs
                        .iter()
                        .map(|s| match &s.tag {
                            Some(t) => format!("{}={t}", s.strategy),
                            None => s.strategy.to_string(),
                        })
                        .collect();
                    assert_eq!(got, want, "{}", c.name);
                }
                (Err(e), Err(want)) => {
                    assert_eq!(e.to_string(), want.replace("{BAD}", BAD_TAG), "{}", c.name);
                }
                _ => panic!("{}: got {got:?}, want {:?}", c.name, c.want),
            }
        }
    }
}
