//! Unit tests of `pull_plan.rs`: the chain chosen per image and the layers to fetch.
use super::*;
use werf_push_spec::Digest;

fn layer(n: u8, size: u64) -> Descriptor {
    Descriptor::new(
        "application/vnd.oci.image.layer.v1.tar+gzip",
        Digest::sha256_of(&[n]),
        size,
    )
}

fn chain(layers: &[u8]) -> Vec<Digest> {
    layers.iter().map(|&n| layer(n, 1).digest).collect()
}

fn image(name: &str) -> ImageName {
    ImageName::from_annotation(name).unwrap()
}

fn candidate(tag: &str, image_name: &str, stage: &str, created: &str, layers: &[u8]) -> Candidate {
    Candidate {
        tag: tag.into(),
        signature: tag.into(),
        image: image(image_name),
        stage: stage.into(),
        created: created.into(),
        manifests: Vec::new(),
        configs: Vec::new(),
        layers: layers.iter().map(|&n| layer(n, 1)).collect(),
        chain: chain(layers),
    }
}

/// (tag, image, stage, created, layers)
type Remote = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [u8],
);

#[test]
fn choose_chains_table() {
    // (remote, wanted, the storage's furthest stage of "app" (stage, layers)) ->
    // (chosen tags in order, skipped tags in order)
    type Case = (
        Vec<Remote>,
        Vec<&'static str>,
        Option<(&'static str, &'static [u8])>,
        Vec<&'static str>,
        Vec<&'static str>,
    );
    let cases: Vec<Case> = vec![
        // One build: its chain.
        (
            vec![
                ("f", "app", "from", "1", &[1]),
                ("i", "app", "install", "1", &[1, 2]),
                ("s", "app", "setup", "1", &[1, 2, 3]),
            ],
            vec![],
            None,
            vec!["f", "i", "s"],
            vec![],
        ),
        // Regression: two builds whose newest stage per name would mix them (from of A,
        // install of B): the chain of B's setup, the newest last stage, whole.
        (
            vec![
                ("af", "app", "from", "5", &[1]),
                ("ai", "app", "install", "1", &[1, 2]),
                ("as", "app", "setup", "1", &[1, 2, 3]),
                ("bf", "app", "from", "2", &[9]),
                ("bi", "app", "install", "6", &[9, 8]),
                ("bs", "app", "setup", "3", &[9, 8, 7]),
            ],
            vec![],
            None,
            vec!["bf", "bi", "bs"],
            vec!["af", "ai", "as"],
        ),
        // Builds sharing their from: the shared stage is in the chain.
        (
            vec![
                ("f", "app", "from", "1", &[1]),
                ("i1", "app", "install", "1", &[1, 2]),
                ("i2", "app", "install", "2", &[1, 3]),
                ("s2", "app", "setup", "2", &[1, 3, 4]),
            ],
            vec![],
            None,
            vec!["f", "i2", "s2"],
            vec!["i1"],
        ),
        // The chain reaching furthest wins over a newer, shorter build.
        (
            vec![
                ("new", "app", "from", "9", &[5]),
                ("f", "app", "from", "1", &[1]),
                ("i", "app", "install", "1", &[1, 2]),
            ],
            vec![],
            None,
            vec!["f", "i"],
            vec!["new"],
        ),
        // Two ancestors of the same name (the same layers): the newest.
        (
            vec![
                ("fa", "app", "from", "1", &[1]),
                ("fb", "app", "from", "2", &[1]),
                ("i", "app", "install", "1", &[1, 2]),
            ],
            vec![],
            None,
            vec!["fb", "i"],
            vec!["fa"],
        ),
        // Same time: the greater signature.
        (
            vec![
                ("a", "app", "from", "1", &[1]),
                ("b", "app", "from", "1", &[2]),
            ],
            vec![],
            None,
            vec!["b"],
            vec!["a"],
        ),
        // An ancestor with fewer layers than the stage before it is left out.
        (
            vec![
                ("f", "app", "from", "1", &[1, 2]),
                ("i", "app", "install", "1", &[1]),
                ("s", "app", "setup", "1", &[1, 2, 3]),
            ],
            vec![],
            None,
            vec!["f", "s"],
            vec!["i"],
        ),
        // The storage holds app up to install: only stages after it that build on it.
        (
            vec![
                ("f", "app", "from", "1", &[1]),
                ("s", "app", "setup", "1", &[1, 2, 3]),
                ("other", "app", "setup", "2", &[9, 8, 7]),
            ],
            vec![],
            Some(("install", &[1, 2])),
            vec!["s"],
            vec!["f", "other"],
        ),
        // Images not asked for: dropped silently; "" is the nameless image.
        (
            vec![
                ("t1", "app", "from", "1", &[1]),
                ("t2", "", "from", "1", &[1]),
            ],
            vec![""],
            None,
            vec!["t2"],
            vec![],
        ),
        (vec![], vec!["app"], None, vec![], vec![]),
    ];
    for (remote, wanted, top, want_chosen, want_skipped) in cases {
        let candidates = remote
            .iter()
            .map(|&(t, i, s, c, l)| candidate(t, i, s, c, l))
            .collect();
        let wanted: Vec<ImageName> = wanted.iter().map(|s| image(s)).collect();
        let choice = choose_chains(candidates, &wanted, |i| {
            let (stage, layers) = top.filter(|_| *i == image("app"))?;
            Some(LocalTop {
                stage: stage.into(),
                signature: "local".into(),
                chain: chain(layers),
            })
        });
        let got: Vec<&str> = choice.chosen.iter().map(|c| c.tag.as_str()).collect();
        assert_eq!(got, want_chosen, "{remote:?}");
        let got: Vec<&str> = choice.skipped.iter().map(|s| s.tag.as_str()).collect();
        assert_eq!(got, want_skipped, "{remote:?}");
        // The chain report says the same.
        let said: Vec<String> = choice
            .chains
            .iter()
            .flat_map(|c| c.stages.iter().map(|s| s.signature.clone()))
            .collect();
        assert_eq!(said, want_chosen, "{remote:?}");
        let left: Vec<String> = choice
            .chains
            .iter()
            .flat_map(|c| c.left_out.clone())
            .collect();
        assert_eq!(left, want_skipped, "{remote:?}");
    }
}

#[test]
fn missing_layers_once_largest_first() {
    let mut a = candidate("a", "app", "from", "1", &[]);
    a.layers = vec![layer(1, 10), layer(2, 30)];
    let mut b = candidate("b", "app", "install", "1", &[]);
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
