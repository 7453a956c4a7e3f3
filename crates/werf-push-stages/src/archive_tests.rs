//! Tests of `archive.rs`: which `manifest.json` entry a `docker-archive:FILE:REF` selects.

use super::*;

#[test]
fn select_entry_table() {
    let entry = |tags: &[&str]| Entry {
        config: "c.json".into(),
        repo_tags: Some(tags.iter().map(|t| t.to_string()).collect()),
        layers: vec![],
    };
    // As `docker save` (familiar names) and `podman save -m` (`localhost/...`) write them.
    let entries = vec![
        entry(&["app:1", "docker.io/library/app:2"]),
        entry(&["localhost/app:1", "localhost:5000/group/app:3"]),
        entry(&["local/app:1"]),
        Entry {
            config: "d.json".into(),
            repo_tags: None,
            layers: vec![],
        },
    ];
    // (selector, index of the entry selected)
    let cases: [(&str, Option<usize>); 14] = [
        ("app:1", Some(0)),
        ("docker.io/library/app:1", Some(0)),
        ("app:2", Some(0)),
        ("localhost/app:1", Some(1)),
        ("localhost:5000/group/app:3", Some(1)),
        ("local/app:1", Some(2)),
        ("docker.io/local/app:1", Some(2)),
        ("@0", Some(0)),
        ("@3", Some(3)),
        ("@4", None),
        ("@x", None),
        ("app", None),
        ("localhost/app:2", None),
        ("other:1", None),
    ];
    for (sel, want) in cases {
        let got = select_entry(&entries, sel).map(|e| {
            entries
                .iter()
                .position(|x| std::ptr::eq(x, e))
                .expect("an entry of the list")
        });
        assert_eq!(got, want, "{sel}");
    }
}
