//! A pushed image reads back identical (skopeo gets the exact manifest bytes and blobs),
//! whatever wrote the layout: a generated OCI image; a layout umoci wrote, by the ref name
//! in its `index.json`; an OCI index of two platforms, pushed to two repositories (the
//! second gets every blob mounted, both hold the children by digest); a Docker schema 2
//! manifest, served with its media type and copied back to `dir:` unchanged. And the
//! generated test layers are valid gzip tar archives whose diff ID is the tar's digest.

use std::collections::BTreeSet;

use serde_json::Value;
use werf_push_spec::media_type;

use crate::support::cmd::{self, assert_success, sha256_digest};
use crate::support::layouts::{self, Format};
use crate::support::push::{blobs_of, data_blobs, digests_of, push_json};
use crate::support::registry::Registry;
use crate::support::scenario::{assert_reads_back_identical, oci, push, tmp, KIB};
use crate::support::skopeo::Skopeo;

// ---------------------------------------------------------------------------------------
// A pushed image reads back identical
// ---------------------------------------------------------------------------------------

#[test]
fn pushed_image_reads_back_identical() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    let digest = layouts::image(&src, &[300 * KIB, 64 * KIB, 2 * KIB], 1, Format::Oci, None);
    let reference = format!("{}/app:v1", reg.host);

    let out = push(&[&oci(&src), &reference]);
    assert_success(&out);

    assert_eq!(
        reg.manifest_digest("app", "v1").as_deref(),
        Some(digest.as_str())
    );
    assert_reads_back_identical(&reference, &src, &digest);
}

#[test]
fn generated_layers_are_valid_gzip_tar_archives() {
    // The generated layouts claim gzip tar layers: make sure they are, for tools that
    // unpack, and that the diff ID is the digest of the tar.
    let t = tmp();
    for (size, blocks) in [(0, 3), (3000, 6), (200 * KIB, 400)] {
        let path = t.path().join(format!("layer-{size}.tar.gz"));
        let (gz, diff_id) = layouts::gzip_layer("dir-x/file.bin", size, 9);
        assert_eq!(gz.len(), layouts::layer_blob_size(size));
        std::fs::write(&path, &gz).unwrap();
        let out = cmd::run(cmd::bin("tar").arg("-tvzf").arg(&path));
        assert_success(&out);
        let file_size = (blocks - 3) * 512;
        assert!(
            out.stdout.contains("dir-x/file.bin") && out.stdout.contains(&format!(" {file_size} ")),
            "{}",
            out.describe()
        );
        let out = cmd::run(cmd::bin("gzip").arg("-dc").arg(&path));
        assert_success(&out);
        assert_eq!(out.stdout_bytes.len(), blocks * 512);
        assert_eq!(sha256_digest(&out.stdout_bytes), diff_id);
    }
    assert_eq!(layouts::random_bytes(7, 64), layouts::random_bytes(7, 64));
    assert_ne!(layouts::random_bytes(7, 64), layouts::random_bytes(8, 64));
}

// ---------------------------------------------------------------------------------------
// Layouts written by another tool; an index; a Docker schema 2 manifest
// ---------------------------------------------------------------------------------------

#[test]
fn umoci_layout_pushes_and_reads_back_identical() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("umoci");
    let digest = layouts::umoci_image(&src);
    let reference = format!("{}/umoci/app:v1", reg.host);

    // By the ref name umoci wrote into index.json.
    let out = push(&[&format!("{}:{}", oci(&src), layouts::UMOCI_TAG), &reference]);
    assert_success(&out);

    let manifest: Value = serde_json::from_slice(&layouts::read_blob(&src, &digest)).unwrap();
    let layers = manifest["layers"]
        .as_array()
        .expect("umoci manifest layers");
    assert!(
        layers
            .iter()
            .any(|l| l["mediaType"] == media_type::OCI_LAYER_GZIP
                && l["size"].as_u64() > Some(200_000)),
        "umoci should have written a gzip layer of a few hundred KiB: {manifest}"
    );
    assert_reads_back_identical(&reference, &src, &digest);
}

#[test]
fn oci_index_with_two_platforms_reads_back_identical() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    let digest = layouts::index_image(&src, 3);
    let reference = format!("{}/multi:v1", reg.host);
    // A second repository too: the children go there by digest as well, blobs mounted.
    let copy = format!("{}/copy/multi:v1", reg.host);

    let (out, summary) = push_json(&[&oci(&src), &reference, &copy]);
    for b in blobs_of(&summary, "copy/multi") {
        assert_eq!(b["status"], "mounted", "{summary}\n{}", out.describe());
    }
    assert_eq!(
        digests_of(&blobs_of(&summary, "copy/multi")),
        data_blobs(&src, &digest)
    );
    for t in summary["tags"].as_array().unwrap() {
        assert_eq!(
            t["manifests_written"], 3,
            "index and both children: {summary}"
        );
    }

    let index: Value = serde_json::from_slice(&layouts::read_blob(&src, &digest)).unwrap();
    let children: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap())
        .collect();
    assert_eq!(children.len(), 2);
    let platforms: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(platforms, ["amd64", "arm64"]);

    assert_eq!(
        reg.manifest_digest("multi", "v1").as_deref(),
        Some(digest.as_str())
    );
    let sk = Skopeo::new();
    for repo in ["multi", "copy/multi"] {
        assert_eq!(
            reg.manifest_digest(repo, "v1").as_deref(),
            Some(digest.as_str())
        );
        for child in &children {
            assert_eq!(
                reg.manifest_digest(repo, child).as_deref(),
                Some(*child),
                "child manifest {child} is not in {repo} by digest"
            );
            let raw = sk.inspect_raw(&format!("{}/{repo}@{child}", reg.host));
            assert_eq!(raw, layouts::read_blob(&src, child), "child {child} bytes");
        }
    }
    assert_reads_back_identical(&reference, &src, &digest);
    assert_reads_back_identical(&copy, &src, &digest);
}

#[test]
fn docker_schema2_manifest_reads_back_identical() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    let digest = layouts::image(
        &src,
        &[128 * KIB, 4 * KIB],
        4,
        Format::Docker,
        Some("docker"),
    );
    let reference = format!("{}/dock:v1", reg.host);

    let out = push(&[&format!("{}:docker", oci(&src)), &reference]);
    assert_success(&out);

    let (content_type, body) = reg.manifest("dock", "v1").expect("tag dock:v1 exists");
    assert_eq!(content_type, media_type::DOCKER_MANIFEST);
    assert_eq!(sha256_digest(&body), digest);

    let sk = Skopeo::new();
    let raw = sk.inspect_raw(&reference);
    assert_eq!(sha256_digest(&raw), digest);
    assert_eq!(raw, layouts::read_blob(&src, &digest));
    let parsed: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(parsed["mediaType"], media_type::DOCKER_MANIFEST);
    assert_eq!(parsed["config"]["mediaType"], media_type::DOCKER_CONFIG);

    // Copying to an OCI layout would convert it; `dir:` keeps manifest and blobs as they are.
    let back = tmp();
    let dir = back.path().join("dir");
    sk.copy(
        &crate::support::skopeo::docker_ref(&reference),
        &format!("dir:{}", dir.display()),
        &[],
    );
    let manifest = std::fs::read(dir.join("manifest.json")).expect("dir:/manifest.json");
    assert_eq!(sha256_digest(&manifest), digest, "dir: manifest");
    let mut got = BTreeSet::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
            let d = format!("sha256:{name}");
            assert_eq!(sha256_digest(std::fs::read(e.path()).unwrap()), d);
            got.insert(d);
        }
    }
    assert_eq!(got, data_blobs(&src, &digest), "blobs copied back");
}
