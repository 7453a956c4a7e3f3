//! `werf-push publish` and the stages cache, against a real docker-registry (read back
//! with skopeo): a second publish uploads nothing and writes no manifest, `--with-stages`
//! pushes every stage tag and the images mount their layers from it, a multi-platform
//! stage publishes a new index of labelled platform images (the same bytes each time), and
//! the example's stages cache round-trips through `stages pull`.

use std::path::Path;

use crate::support::cmd::{assert_success, run, werf_push};
use crate::support::example::{
    index, labels, layers, project, publish, stage_layers, stages, summary,
};
use crate::support::registry::Registry;
use crate::support::skopeo::Skopeo;
use serde_json::Value;
use tempfile::TempDir;

#[test]
fn second_publish_uploads_nothing_and_writes_no_manifest() {
    let reg = Registry::start();
    let (_t, dir) = project();
    let repo = format!("{}/again", reg.host);
    let args = [
        "--tag-custom",
        "v1",
        "--tag-git-branch",
        "main",
        "--with-stages",
        "--json",
    ];
    assert_success(&publish(&dir, &repo, &args));
    let before = reg.requests().len();
    let out = publish(&dir, &repo, &args);
    assert_success(&out);
    let s = summary(&out);
    assert_eq!(s["bytes_sent"], 0);
    assert_eq!(s["manifests_written"], 0);
    let tags = s["tags"].as_array().unwrap();
    assert!(!tags.is_empty(), "no tag in the summary: {s}");
    assert!(tags.iter().all(|t| t["status"] == "up-to-date"), "{s}");
    let after: Vec<_> = reg.requests()[before..].to_vec();
    let writes: Vec<_> = after
        .iter()
        .filter(|(m, _)| m != "HEAD" && m != "GET")
        .collect();
    assert!(
        writes.is_empty(),
        "write requests on an up-to-date publish: {writes:?}"
    );
    // One HEAD per tag: 5 stages + 2 images x 2 tags, plus the ping.
    let heads = after.iter().filter(|(m, _)| m == "HEAD").count();
    assert_eq!(heads, 9, "{after:?}");
}

#[test]
fn with_stages_pushes_the_cache_and_images_mount_their_layers() {
    let reg = Registry::start();
    let (_t, dir) = project();
    let repo = format!("{}/cache", reg.host);
    let out = publish(
        &dir,
        &repo,
        &["--tag-custom", "v1", "--with-stages", "--json"],
    );
    assert_success(&out);
    let tags = reg.tags("cache");
    for (_, _, sig, digest) in stages(&dir) {
        let tag = format!("image-stage-{sig}");
        assert!(tags.contains(&tag), "{tag} missing from {tags:?}");
        assert_eq!(
            reg.manifest_digest("cache", &tag).as_deref(),
            Some(digest.as_str())
        );
    }
    let s = summary(&out);
    for b in s["blobs"].as_array().unwrap() {
        let repo = b["repository"].as_str().unwrap();
        if repo != "cache" {
            // Every layer of an image repository came from the cache by mount; only the
            // new config blobs are uploaded.
            let is_layer = stages(&dir).iter().any(|st| {
                stage_layers(&dir, &st.3).contains(&b["digest"].as_str().unwrap().to_string())
            });
            if is_layer {
                assert_eq!(b["status"], "mounted", "{b}");
                assert_eq!(b["mounted_from"], "cache", "{b}");
            }
        }
    }
    assert!(s["blobs_mounted"].as_u64().unwrap() >= 5, "{s}");
}

#[test]
fn a_multi_platform_stage_publishes_a_new_index_with_labelled_platform_images() {
    let reg = Registry::start();
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("project");
    let stages_dir = dir.join(".werf/stages");
    let index_digest = crate::support::layouts::index_image(&stages_dir, 11);
    let sig = "ab".repeat(28);
    let mut idx = index(&dir);
    idx["manifests"][0]["annotations"] = serde_json::json!({
        "org.opencontainers.image.ref.name": sig,
        "io.werf.image": "multi",
        "io.werf.stage": "dockerfile",
        "io.werf.signature": sig,
    });
    std::fs::write(
        stages_dir.join("index.json"),
        serde_json::to_vec(&idx).unwrap(),
    )
    .unwrap();
    let repo = format!("{}/mp", reg.host);
    assert_success(&publish(&dir, &repo, &["--tag-custom", "v1"]));
    let again = publish(&dir, &repo, &["--tag-custom", "v1", "--json"]);
    assert_success(&again);
    let s = summary(&again);
    assert_eq!(
        s["tags"][0]["status"], "up-to-date",
        "deterministic bytes: {s}"
    );
    assert_eq!(s["bytes_sent"], 0);

    let skopeo = Skopeo::new();
    let raw = skopeo.inspect_raw(&format!("{repo}/multi:v1"));
    let published: Value = serde_json::from_slice(&raw).unwrap();
    let stage: Value = serde_json::from_slice(
        &std::fs::read(
            stages_dir
                .join("blobs/sha256")
                .join(index_digest.trim_start_matches("sha256:")),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(published["mediaType"], stage["mediaType"]);
    let (new, old) = (
        published["manifests"].as_array().unwrap(),
        stage["manifests"].as_array().unwrap(),
    );
    assert_eq!(new.len(), 2);
    for (n, o) in new.iter().zip(old) {
        assert_eq!(n["platform"], o["platform"], "platforms kept in order");
        assert_ne!(n["digest"], o["digest"], "a new manifest per platform");
        let child = format!("{repo}/multi@{}", n["digest"].as_str().unwrap());
        let l = labels(&skopeo, &child);
        assert_eq!(l["werf-image-name"], "multi", "{child}");
        assert_eq!(l["werf-content-signature"], sig.as_str(), "{child}");
        let old_layers = stage_layers(&dir, o["digest"].as_str().unwrap());
        assert_eq!(
            layers(&skopeo.inspect_raw(&child)),
            old_layers,
            "same layers: {child}"
        );
    }
}

#[test]
fn the_example_stages_cache_round_trips_through_stages_pull() {
    let reg = Registry::start();
    let (_t, dir) = project();
    let repo = format!("{}/rt", reg.host);
    assert_success(&publish(
        &dir,
        &repo,
        &["--tag-custom", "v1", "--with-stages"],
    ));
    // Runner B: an empty directory with only werf.yaml.
    let (_t2, b) = project();
    std::fs::remove_dir_all(b.join(".werf")).unwrap();
    let mut c = werf_push();
    c.args(["stages", "pull", "--repo", &repo, "--dir"]).arg(&b);
    assert_success(&run(&mut c));
    let key = |d: &Path| {
        let mut v = stages(d);
        v.sort();
        v
    };
    assert_eq!(
        key(&b),
        key(&dir),
        "every stage restored with its annotations"
    );
    let out = publish(
        &b,
        &repo,
        &["--tag-custom", "v1", "--with-stages", "--json"],
    );
    assert_success(&out);
    let s = summary(&out);
    assert_eq!(s["bytes_sent"], 0, "{s}");
    let tags = s["tags"].as_array().unwrap();
    assert!(!tags.is_empty(), "no tag in the summary: {s}");
    assert!(tags.iter().all(|t| t["status"] == "up-to-date"), "{s}");
}
