//! Unit tests of `plan.rs`: each tag classified, then kept or deleted with its reason.

use bytes::Bytes;

use super::*;
use crate::cleanup::scan::{ConfigInfo, ScannedTag};
use werf_push_spec::media_type::{OCI_CONFIG, OCI_MANIFEST};
use werf_push_spec::{Digest, Manifest};

const SIG: &str = "5df8d474e30c3270f0843953dd2842e329d93cf6f254d35acf0047fe";

fn digest(s: &str) -> Digest {
    Digest::sha256_of(s.as_bytes())
}

/// An image manifest of `layers` whose config is `config`.
fn manifest(config: &str, layers: &[&str]) -> Manifest {
    let layer = |l: &&str| {
        serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                           "digest": digest(l).to_string(), "size": 10})
    };
    let v = serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": digest(config).to_string(), "size": 5},
        "layers": layers.iter().map(layer).collect::<Vec<_>>(),
    });
    Manifest::parse(Bytes::from(serde_json::to_vec(&v).unwrap()), None).unwrap()
}

fn werf(image: &str, strategy: &str, tag: &str) -> ConfigInfo {
    ConfigInfo {
        labels: [
            ("werf-image", "true"),
            ("werf-image-name", image),
            ("werf-tag-strategy", strategy),
            ("werf-image-tag", tag),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        ..Default::default()
    }
}

/// (repository, tag, config, layers, what the config says).
type Tag<'a> = (&'a str, &'a str, &'a str, &'a [&'a str], Option<ConfigInfo>);

/// A multirepo scan of `REPO` (stages) and `REPO/app`.
fn scan(tags: Vec<Tag>) -> Scan {
    let mut s = Scan::default();
    for (repository, tag, config, layers, info) in tags {
        s.tags.push(ScannedTag {
            repository: repository.into(),
            tag: tag.into(),
            manifest: manifest(config, layers),
        });
        if let Some(info) = info {
            s.configs.insert(digest(config), info);
        }
    }
    s
}

fn names(selected: Option<Vec<Option<String>>>) -> Names {
    Names {
        registry: "r.io".into(),
        base: "p".into(),
        multirepo: [("app".to_string(), "p/app".to_string())]
            .into_iter()
            .collect(),
        monorepo: false,
        selected,
    }
}

#[test]
fn classify_and_decide_table() {
    let stage = format!("image-stage-{SIG}");
    let unused = format!("image-stage-{}", "a".repeat(56));
    let placeholder = ConfigInfo {
        labels: [(PLACEHOLDER_LABEL.to_string(), "x 1".to_string())]
            .into_iter()
            .collect(),
        ..Default::default()
    };
    let s = scan(vec![
        ("p", &stage, "cs", &["l1"], None),
        ("p", &unused, "cu", &["z1"], None),
        ("p", "image-stage-not-hex", "cx", &["q"], None),
        (
            "p/app",
            "main",
            "c1",
            &["l1", "l2"],
            Some(werf("app", "git-branch", "main")),
        ),
        (
            "p/app",
            "gone",
            "c2",
            &["l1", "l3"],
            Some(werf("app", "git-branch", "gone")),
        ),
        (
            "p/app",
            "liar",
            "c3",
            &["l1"],
            Some(werf("app", "git-branch", "other")),
        ),
        ("p/app", "plain", "c4", &["l9"], Some(ConfigInfo::default())),
        ("p/app", "left", "c5", &[], Some(placeholder)),
        (
            "p/app",
            "v1",
            "c6",
            &["l1"],
            Some(werf("app", "custom", "v1")),
        ),
    ]);
    let git = GitFacts {
        branches: vec!["main".into()],
        ..Default::default()
    };
    let in_use = crate::cleanup::used::InUse::default();
    let settings = |purge, grace_secs| Settings {
        policies: Default::default(),
        now: 1000,
        grace_secs,
        purge,
    };
    let seen: GraceState = [(manifest("cu", &["z1"]).digest().to_string(), 0)]
        .into_iter()
        .collect();
    use Reason::*;
    type Case = (
        &'static str,
        Option<Vec<Option<String>>>,
        bool,
        i64,
        GraceState,
        Vec<(bool, Reason)>,
    );
    let cases: Vec<Case> = vec![
        (
            "cleanup: policies, ancestry, grace seen long ago",
            None,
            false,
            0,
            seen.clone(),
            vec![
                (false, StageAncestor),
                (true, StageUnused),
                (false, NotWerf),
                (false, BranchExists),
                (true, BranchGone),
                (false, NotWerf),
                (false, NotWerf),
                (true, Placeholder),
                (false, Custom),
            ],
        ),
        (
            "cleanup: an unused stage first seen now stays",
            None,
            false,
            0,
            GraceState::new(),
            vec![
                (false, StageAncestor),
                (false, StageGrace),
                (false, NotWerf),
                (false, BranchExists),
                (true, BranchGone),
                (false, NotWerf),
                (false, NotWerf),
                (true, Placeholder),
                (false, Custom),
            ],
        ),
        (
            "cleanup of another image: app's tags stay, and so do their stages",
            Some(vec![Some("other".into())]),
            false,
            0,
            seen.clone(),
            vec![
                (false, StageAncestor),
                (true, StageUnused),
                (false, NotWerf),
                (false, NotSelected),
                (false, NotSelected),
                (false, NotWerf),
                (false, NotWerf),
                (true, Placeholder),
                (false, NotSelected),
            ],
        ),
        (
            "purge: every werf tag, nothing else",
            None,
            true,
            0,
            GraceState::new(),
            vec![
                (true, Purge),
                (true, Purge),
                (false, NotWerf),
                (true, Purge),
                (true, Purge),
                (false, NotWerf),
                (false, NotWerf),
                (true, Placeholder),
                (true, Purge),
            ],
        ),
    ];
    for (name, selected, purge, grace, state, want) in cases {
        let n = names(selected);
        let classes = classify(&s, &n, &in_use);
        let (entries, summary, _) = decide(&s, &n, &classes, &git, &settings(purge, grace), &state);
        let got: Vec<(bool, Reason)> = entries.iter().map(|e| (e.delete, e.reason)).collect();
        assert_eq!(got, want, "{name}");
        assert_eq!(
            summary.deleted,
            want.iter().filter(|w| w.0).count(),
            "{name}"
        );
    }
}
