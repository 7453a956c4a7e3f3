//! Manifest and tag quirks of the push quirks survey (rows 1, 2, 4, 15,
//! 16, 17, 20 of docs/reliability.md): each reproduced by the proxy in front of a real
//! `docker-registry` (`support::proxy_quirks`), the push finishing with the image read back
//! identical by skopeo, or, where no client can succeed, the error naming cause and fix.

use crate::quirks::{count, push_to, through};
use crate::support::cmd::{assert_failure, assert_success};
use crate::support::layouts::{self, Format};
use crate::support::proxy::{Proxy, ProxyConfig, StatusFault};
use crate::support::proxy_quirks::Quirk;
use crate::support::registry::Registry;
use crate::support::scenario::*;
use werf_push_layout::{LayoutWriter, REF_NAME};
use werf_push_spec::media_type;

fn quirks(q: Vec<Quirk>) -> ProxyConfig {
    ProxyConfig {
        quirks: q,
        ..Default::default()
    }
}

fn manifest_puts(log: &[crate::support::proxy::Logged]) -> usize {
    log.iter()
        .filter(|l| l.method == "PUT" && l.target.contains("/manifests/"))
        .count()
}

/// Row 1, Harbor "prevent vulnerable images": 412 on the manifest HEAD means "unknown".
#[test]
fn harbor_412_on_manifest_head_is_unknown() {
    let reg = Registry::start();
    let (log, _) = through(
        &reg,
        "harbor412",
        quirks(vec![Quirk::HeadManifest412]),
        64 * KIB,
        &[],
    );
    assert!(count(&log, "HEAD", 412) >= 1, "{log:#?}");
    assert_eq!(manifest_puts(&log), 1, "{log:#?}");
}

/// Row 2, ECR (400 TAG_INVALID) and Harbor (412 DENIED) immutable tags: the same digest
/// is never PUT again (the up-to-date HEAD covers it); another digest fails naming the
/// immutable tag.
#[test]
fn immutable_tags_same_digest_skipped_other_digest_explained() {
    let reg = Registry::start();
    for status in [400u16, 412] {
        let name = format!("immutable{status}");
        let cfg = quirks(vec![Quirk::ImmutableTags(status)]);
        through(&reg, &name, cfg.clone(), 64 * KIB, &[]);
        // Again, same image: no PUT at all.
        let (log, _) = through(&reg, &name, cfg.clone(), 64 * KIB, &[]);
        assert_eq!(manifest_puts(&log), 0, "{log:#?}");
        // Another image to the same tag.
        let t = tmp();
        let src = t.path().join("src");
        big_image(&src, 64 * KIB, 4242 + u64::from(status));
        let proxy = Proxy::start(&reg.host, cfg);
        let out = push_to(&proxy, &src, &name, &[]);
        assert_failure(&out);
        assert_eq!(out.code(), Some(1), "{}", out.describe());
        assert!(
            out.stderr.contains("immutable") && out.stderr.contains("hint: "),
            "the error does not say the tag is immutable\n{}",
            out.describe()
        );
        assert!(
            out.stderr.contains("new tag"),
            "no fix named\n{}",
            out.describe()
        );
    }
}

/// Row 4, GHCR and ACR: a manifest HEAD without the OCI index type in `Accept` misses an
/// index tag. The full Accept list finds it: the second push is up to date.
#[test]
fn full_accept_list_finds_an_index_tag() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    let digest = layouts::index_image(&src, 44);
    let cfg = quirks(vec![Quirk::AcceptNeedsIndex]);
    for round in 0..2 {
        let proxy = Proxy::start(&reg.host, cfg.clone());
        let out = push_to(&proxy, &src, "accept", &[]);
        assert_success(&out);
        let log = proxy.stats().log;
        if round == 1 {
            assert_eq!(
                manifest_puts(&log),
                0,
                "the index tag looked missing: {log:#?}"
            );
        }
    }
    assert_reads_back_identical(&format!("{}/accept:v1", reg.host), &src, &digest);
}

/// Row 15, Harbor: missing manifests and blobs come back as `404 NOT_FOUND`; the push
/// decides on the status (an index and its children pushed through).
#[test]
fn harbor_not_found_code_is_judged_by_status() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    let digest = layouts::index_image(&src, 45);
    let proxy = Proxy::start(&reg.host, quirks(vec![Quirk::NotFoundCode]));
    let out = push_to(&proxy, &src, "notfound", &[]);
    assert_success(&out);
    // The tag and the blobs were missing: HEAD 404s, whatever code Harbor would put in a
    // body, made the push go on.
    let log = proxy.stats().log;
    assert!(count(&log, "HEAD", 404) >= 4, "{log:#?}");
    assert_reads_back_identical(&format!("{}/notfound:v1", reg.host), &src, &digest);
}

/// Row 15, Harbor: an index that lists one child twice gets `404 NOT_FOUND`. The bytes
/// are the image's, so no client can push it; the error says why and what to change.
#[test]
fn harbor_index_listing_a_child_twice_is_explained() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    let idx = layouts::index_image(&src, 47);
    let mut v: serde_json::Value = serde_json::from_slice(&layouts::read_blob(&src, &idx)).unwrap();
    let first = v["manifests"][0].clone();
    v["manifests"].as_array_mut().unwrap().push(first);
    let mut w = LayoutWriter::create(&src).unwrap();
    let desc = w
        .write_blob(&serde_json::to_vec(&v).unwrap(), media_type::OCI_INDEX)
        .unwrap();
    w.add_entry(
        &desc,
        serde_json::json!({ "annotations": { REF_NAME: "dup" } }),
    );
    w.commit().unwrap();
    let proxy = Proxy::start(&reg.host, quirks(vec![Quirk::NotFoundCode]));
    let out = push(&[
        &format!("{}:dup", oci(&src)),
        &format!("{}/dup:v1", proxy.host),
    ]);
    assert_failure(&out);
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("NOT_FOUND") && out.stderr.contains("lists the same manifest twice"),
        "{}",
        out.describe()
    );
    assert!(!reg.tag_exists("dup", "v1"));
}

/// Row 16, Gitea/Forgejo: concurrent manifest PUTs get `500 package version already
/// exists`; a manifest PUT is idempotent and is retried.
#[test]
fn gitea_500_on_manifest_put_is_retried() {
    let reg = Registry::start();
    let cfg = ProxyConfig {
        status_faults: vec![StatusFault::new(Some("PUT"), "/manifests/", 500)
            .times(2)
            .body("UNKNOWN", "package version already exists")],
        ..Default::default()
    };
    let (log, _) = through(&reg, "gitea500", cfg, 64 * KIB, &[]);
    assert_eq!(count(&log, "PUT", 500), 2, "{log:#?}");
    assert_eq!(manifest_puts(&log), 3, "{log:#?}");
}

/// Row 17, GHCR: a manifest PUT sometimes hits a passing "unknown blob" (404 BLOB_UNKNOWN
/// or 400 MANIFEST_BLOB_UNKNOWN) although every blob was confirmed: retried a few times.
#[test]
fn ghcr_passing_blob_unknown_on_manifest_put_is_retried() {
    let reg = Registry::start();
    let cfg = ProxyConfig {
        status_faults: vec![
            StatusFault::new(Some("PUT"), "/manifests/", 404)
                .body("BLOB_UNKNOWN", "blob unknown to registry"),
            StatusFault::new(Some("PUT"), "/manifests/", 400)
                .body("MANIFEST_BLOB_UNKNOWN", "blob unknown to registry"),
        ],
        ..Default::default()
    };
    let (log, _) = through(&reg, "ghcrblob", cfg, 64 * KIB, &[]);
    assert_eq!(
        count(&log, "PUT", 404) + count(&log, "PUT", 400),
        2,
        "{log:#?}"
    );
    assert_eq!(manifest_puts(&log), 3, "{log:#?}");
}

/// Row 20, Zot without compat mode: Docker media types get 415; the error says the
/// registry takes OCI types only and how to get them.
#[test]
fn zot_refuses_docker_media_types_with_an_explanation() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    layouts::image(&src, &[16 * KIB], 46, Format::Docker, None);
    let proxy = Proxy::start(&reg.host, quirks(vec![Quirk::OciOnly]));
    let out = push_to(&proxy, &src, "zot", &[]);
    assert_failure(&out);
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("415") && out.stderr.contains("accepts OCI media types only"),
        "{}",
        out.describe()
    );
    assert!(
        out.stderr.contains("stages import"),
        "no fix named\n{}",
        out.describe()
    );
    assert!(!reg.tag_exists("zot", "v1"));
    // An OCI image goes through the same proxy.
    let (log, _) = through(&reg, "zot-oci", quirks(vec![Quirk::OciOnly]), 16 * KIB, &[]);
    assert_eq!(count(&log, "PUT", 415), 0, "{log:#?}");
}
