//! Unit tests of `pull_plan.rs`: the stage choice and the layers to fetch.
use super::*;
use crate::spec::Digest;

fn layer(n: u8, size: u64) -> Descriptor {
    Descriptor {
        media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
        digest: Digest::sha256_of(&[n]),
        size,
        platform: None,
        annotations: Default::default(),
    }
}

fn candidate(tag: &str, image: &str, stage: &str, created: &str) -> Candidate {
    Candidate {
        tag: tag.into(),
        signature: tag.into(),
        image: image.into(),
        stage: stage.into(),
        created: created.into(),
        manifests: Vec::new(),
        configs: Vec::new(),
        layers: Vec::new(),
    }
}

#[test]
fn choose_stages_table() {
    // (remote (tag, image, stage, created), wanted, local (image, stage)) ->
    // (chosen tags, skipped tags)
    type Case = (
        Vec<(&'static str, &'static str, &'static str, &'static str)>,
        Vec<&'static str>,
        Vec<(&'static str, &'static str)>,
        Vec<&'static str>,
        Vec<&'static str>,
    );
    let cases: Vec<Case> = vec![
        // Different stages: all chosen.
        (
            vec![("t1", "app", "from", "1"), ("t2", "app", "install", "1")],
            vec![],
            vec![],
            vec!["t1", "t2"],
            vec![],
        ),
        // The same stage twice: the newest wins, whatever the order.
        (
            vec![("old", "app", "from", "1"), ("new", "app", "from", "2")],
            vec![],
            vec![],
            vec!["new"],
            vec!["old"],
        ),
        (
            vec![("new", "app", "from", "2"), ("old", "app", "from", "1")],
            vec![],
            vec![],
            vec!["new"],
            vec!["old"],
        ),
        // Same time: the greater signature wins.
        (
            vec![("b", "app", "from", "1"), ("a", "app", "from", "1")],
            vec![],
            vec![],
            vec!["b"],
            vec!["a"],
        ),
        // The storage has it: skipped.
        (
            vec![("t1", "app", "from", "9")],
            vec![],
            vec![("app", "from")],
            vec![],
            vec!["t1"],
        ),
        // Images not asked for: dropped silently; the nameless image is "".
        (
            vec![("t1", "app", "from", "1"), ("t2", "", "from", "1")],
            vec![""],
            vec![],
            vec!["t2"],
            vec![],
        ),
        (vec![], vec!["app"], vec![], vec![], vec![]),
    ];
    for (remote, wanted, local, want_chosen, want_skipped) in cases {
        let candidates = remote
            .iter()
            .map(|&(t, i, s, c)| candidate(t, i, s, c))
            .collect();
        let wanted: Vec<String> = wanted.iter().map(|s| s.to_string()).collect();
        let mut skipped = Vec::new();
        let chosen = choose_stages(
            candidates,
            &wanted,
            |image, stage| local.contains(&(image, stage)).then(|| "sig".to_string()),
            &mut skipped,
        );
        let got: Vec<&str> = chosen.values().map(|c| c.tag.as_str()).collect();
        assert_eq!(got, want_chosen, "{remote:?}");
        let got: Vec<&str> = skipped.iter().map(|s| s.tag.as_str()).collect();
        assert_eq!(got, want_skipped, "{remote:?}");
    }
}

#[test]
fn missing_layers_once_largest_first() {
    let mut a = candidate("a", "app", "from", "1");
    a.layers = vec![layer(1, 10), layer(2, 30)];
    let mut b = candidate("b", "app", "install", "1");
    b.layers = vec![layer(2, 30), layer(3, 20), layer(4, 5)];
    let present = layer(4, 5).digest;
    let got: Vec<Digest> = missing_layers([&a, &b], |l| l.digest == present)
        .into_iter()
        .map(|l| l.digest)
        .collect();
    let want: Vec<Digest> = [2, 3, 1].iter().map(|&n| layer(n, 0).digest).collect();
    assert_eq!(got, want);
    assert!(missing_layers([], |_| false).is_empty());
}
