//! Text from a hostile layout or archive never reaches the terminal raw or whole: control
//! characters escaped, each value cut, lists bounded, whatever message carries them
//! (`imageLayoutVersion` of `oci-layout`, ref names listed by "index.json lists N images",
//! `RepoTags` listed by "the archive holds N images").

use std::path::Path;

use crate::support::scenario::{tmp, werf_push_args};

const ESC: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J";

fn layout(dir: &Path, version: &str, names: &[String]) {
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    let marker = serde_json::json!({ "imageLayoutVersion": version });
    std::fs::write(dir.join("oci-layout"), marker.to_string()).unwrap();
    let manifests: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": format!("sha256:{i:064x}"), "size": 2,
                "annotations": {"org.opencontainers.image.ref.name": n}})
        })
        .collect();
    let index = serde_json::json!({"schemaVersion": 2, "manifests": manifests});
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
}

/// A docker-archive whose `manifest.json` lists one image per tag.
fn archive(file: &Path, tags: &[String]) {
    let entries: Vec<_> = tags
        .iter()
        .map(|t| serde_json::json!({"Config": "c.json", "RepoTags": [t], "Layers": []}))
        .collect();
    let body = serde_json::to_vec(&entries).unwrap();
    let mut b = tar::Builder::new(std::fs::File::create(file).unwrap());
    let mut h = tar::Header::new_gnu();
    h.set_size(body.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "manifest.json", body.as_slice())
        .unwrap();
    b.finish().unwrap();
}

#[test]
fn text_from_a_layout_or_an_archive_is_escaped_and_bounded() {
    let t = tmp();
    let huge = format!("{ESC}{}", "A".repeat(8_000_000));
    let names: Vec<String> = (0..40).map(|i| format!("img{i}{ESC}")).collect();
    let tags: Vec<String> = (0..40).map(|i| format!("repo{ESC}:t{i}")).collect();
    let bad_version = t.path().join("version");
    layout(&bad_version, &huge, &[]);
    let many = t.path().join("many");
    layout(&many, "1.0.0", &names);
    let tar = t.path().join("a.tar");
    archive(&tar, &tags);
    let stages = t.path().join("stages");
    let dest = "127.0.0.1:1/x:v1";
    let oci = |p: &Path| format!("oci:{}", p.display());
    let (bad_version, many) = (oci(&bad_version), oci(&many));
    let docker = format!("docker-archive:{}", tar.display());
    // (what, args, text the error must hold)
    let cases: [(&str, Vec<&str>, &str); 3] = [
        (
            "imageLayoutVersion",
            vec!["push", &bad_version, dest],
            "unsupported imageLayoutVersion '\\u{1b}]0;pwned\\u{7}\\u{1b}[2JAAA",
        ),
        (
            "ref names",
            vec!["push", &many, dest],
            "index.json lists 40 images",
        ),
        (
            "RepoTags",
            vec![
                "stages",
                "import",
                &docker,
                "--image",
                "x",
                "--stage",
                "from",
                "--stages-dir",
                stages.to_str().unwrap(),
            ],
            "the archive holds 40 images",
        ),
    ];
    for (what, args, needle) in cases {
        let out = werf_push_args(&args);
        assert!(!out.success(), "{what}: succeeded\n{}", out.describe());
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(
            !all.contains('\u{1b}') && !all.contains('\u{7}'),
            "{what}: a raw control character reached the output\n{}",
            out.describe()
        );
        assert!(all.len() < 8192, "{what}: {} bytes of output", all.len());
        assert!(
            all.contains(needle),
            "{what}: '{needle}' not said\n{}",
            out.describe()
        );
    }
}
