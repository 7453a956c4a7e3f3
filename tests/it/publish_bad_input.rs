//! Bad input to `werf-push publish` (a bad or missing tag, an image not built, a templated
//! `werf.yaml`, a missing blob, an unknown stage name, a duplicate signature): one clear
//! error line, no panic, and no repository created in the registry.

use std::path::Path;

use crate::support::cmd::assert_failure;
use crate::support::example::{catalog, index, project, publish};
use crate::support::registry::Registry;
use serde_json::Value;

#[test]
fn bad_input_fails_clearly_and_creates_no_tag() {
    let reg = Registry::start();
    for (i, (what, change, args, message)) in bad_inputs().into_iter().enumerate() {
        let (_t, dir) = project();
        change(&dir);
        let repo = format!("{}/bad{i}", reg.host);
        let out = publish(&dir, &repo, &args);
        assert_failure(&out);
        assert!(out.stderr.contains(message), "{what}: {}", out.describe());
        assert!(
            !out.stderr.contains("panicked"),
            "{what}: {}",
            out.describe()
        );
        assert_eq!(
            out.stderr
                .lines()
                .filter(|l| l.starts_with("error:"))
                .count(),
            1,
            "{what}: {}",
            out.describe()
        );
    }
    assert!(
        catalog(&reg).is_empty(),
        "no repository may have been created: {:?}",
        catalog(&reg)
    );
}

/// A change to a copy of the example project (none where the arguments are bad).
type Change = fn(&Path);

/// Bad input: (what, change to the project, extra args, expected message part).
fn bad_inputs() -> Vec<(&'static str, Change, Vec<&'static str>, &'static str)> {
    vec![
        (
            "bad tag",
            |_| {},
            vec!["--tag-custom", "bad tag!"],
            "bad --tag-custom parameter 'bad tag!' specified",
        ),
        ("no tag", |_| {}, vec![], "no tag specified"),
        (
            "image not built",
            |d| {
                std::fs::write(
                    d.join("werf.yaml"),
                    "project: demo\nconfigVersion: 1\n---\nimage: backend\n---\nimage: worker\n",
                )
                .unwrap()
            },
            vec!["--tag-custom", "v1"],
            "'worker' is not built",
        ),
        (
            "templated werf.yaml",
            |d| {
                std::fs::write(
                    d.join("werf.yaml"),
                    "project: demo\nconfigVersion: 1\n---\nimage: {{ .Name }}\n",
                )
                .unwrap()
            },
            vec!["--tag-custom", "v1"],
            "render",
        ),
        (
            "missing blob",
            |d| {
                let idx = index(d);
                let hex = idx["manifests"][1]["digest"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("sha256:")
                    .to_string();
                let m: Value = serde_json::from_slice(
                    &std::fs::read(d.join(".werf/stages/blobs/sha256").join(&hex)).unwrap(),
                )
                .unwrap();
                let layer = m["layers"][1]["digest"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("sha256:")
                    .to_string();
                std::fs::remove_file(d.join(".werf/stages/blobs/sha256").join(layer)).unwrap();
            },
            vec!["--tag-custom", "v1"],
            "is missing from the layout",
        ),
        (
            "unknown stage name",
            |d| {
                let mut idx = index(d);
                idx["manifests"][0]["annotations"]["io.werf.stage"] = Value::from("compile");
                std::fs::write(
                    d.join(".werf/stages/index.json"),
                    serde_json::to_vec(&idx).unwrap(),
                )
                .unwrap();
            },
            vec!["--tag-custom", "v1"],
            "unknown stage name 'compile'",
        ),
        (
            "duplicate signature",
            |d| {
                let mut idx = index(d);
                let first = idx["manifests"][0].clone();
                idx["manifests"].as_array_mut().unwrap().push(first);
                std::fs::write(
                    d.join(".werf/stages/index.json"),
                    serde_json::to_vec(&idx).unwrap(),
                )
                .unwrap();
            },
            vec!["--tag-custom", "v1"],
            "duplicate signature",
        ),
    ]
}
