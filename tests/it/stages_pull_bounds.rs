//! `stages pull` bounded against hostile sizes (the real docker-registry, hostile answers
//! through the test proxy): an index child listed thousands of times is read once, an index
//! of more distinct children than the documented bound is skipped unread, and tag pages
//! keep only stage tags, under a cap whose passing is a clear error.

use std::path::Path;

use serde_json::{json, Value};
use tempfile::TempDir;
use werf_push_layout::{LayoutWriter, REF_NAME};
use werf_push_spec::media_type as mt;

use crate::support::cutproxy::{CutProxy, Fault};
use crate::support::layouts::gzip_layer;
use crate::support::proxy::{Proxy, ProxyConfig};
use crate::support::proxy_hostile::{Hostile, HostileKind};
use crate::support::registry::Registry;
use crate::support::scenario::{assert_error, push};
use crate::support::stages::{json_out, ok, pull_through};

const SIG_DUP: &str = "dddd000000000000000000000000000000000000000000000000000d";

const SIG_WIDE: &str = "eeee000000000000000000000000000000000000000000000000000e";

/// A layout holding, as `ref`, an index naming image `app` stage `dockerfile` whose
/// `children` entries are `distinct` different image manifests (sharing one layer and
/// config), listed in turn.
fn index_stage(dir: &Path, r#ref: &str, distinct: usize, children: usize) {
    let mut w = LayoutWriter::create(dir).unwrap();
    let (layer, diff_id) = gzip_layer("f", 100, 3);
    let ld = w.write_blob(&layer, mt::OCI_LAYER_GZIP).unwrap();
    let cfg = json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id]}});
    let cd = w
        .write_blob(&serde_json::to_vec(&cfg).unwrap(), mt::OCI_CONFIG)
        .unwrap();
    let kids: Vec<_> = (0..distinct)
        .map(|n| {
            let m = json!({
                "schemaVersion": 2, "mediaType": mt::OCI_MANIFEST,
                "config": {"mediaType": mt::OCI_CONFIG, "digest": cd.digest.to_string(), "size": cd.size},
                "layers": [{"mediaType": mt::OCI_LAYER_GZIP, "digest": ld.digest.to_string(), "size": ld.size}],
                "annotations": {"n": n.to_string()},
            });
            w.write_blob(&serde_json::to_vec(&m).unwrap(), mt::OCI_MANIFEST).unwrap()
        })
        .collect();
    let listed: Vec<Value> = (0..children)
        .map(|i| {
            let k = &kids[i % distinct];
            json!({"mediaType": mt::OCI_MANIFEST, "digest": k.digest.to_string(), "size": k.size,
                "platform": {"os": "linux", "architecture": "amd64"}})
        })
        .collect();
    let index = json!({"schemaVersion": 2, "mediaType": mt::OCI_INDEX, "manifests": listed,
        "annotations": {"io.werf.image": "app", "io.werf.stage": "dockerfile"}});
    let d = w
        .write_blob(&serde_json::to_vec(&index).unwrap(), mt::OCI_INDEX)
        .unwrap();
    w.add_entry(&d, json!({"annotations": {REF_NAME: r#ref}}));
    w.commit().unwrap();
}

/// Regression: an index listing one child 2,000 times cost 2,000 sequential requests; an
/// index of more distinct children than the documented bound is not read at all.
#[test]
fn an_index_child_listed_thousands_of_times_is_read_once_and_a_wide_index_is_skipped() {
    let reg = Registry::start();
    let tmp = TempDir::new().unwrap();
    let layout = tmp.path().join("layout");
    index_stage(&layout, "dup", 1, 2000);
    index_stage(&layout, "wide", 65, 65);
    for (r, sig) in [("dup", SIG_DUP), ("wide", SIG_WIDE)] {
        let out = push(&[
            &format!("oci:{}:{r}", layout.display()),
            &format!("{}/app:image-stage-{sig}", reg.host),
        ]);
        assert!(out.success(), "{}", out.describe());
    }
    let proxy = CutProxy::start(&reg.host, "sha256:none", Fault::Corrupt(0));
    let stages = tmp.path().join("pulled");
    let report = json_out(&ok(
        &[
            "stages",
            "pull",
            "--repo",
            &format!("{}/app", proxy.host),
            "--json",
        ],
        &stages,
    ));
    assert_eq!(report["pulled"][0]["signature"], SIG_DUP, "{report}");
    assert_eq!(report["pulled"].as_array().unwrap().len(), 1, "{report}");
    let child_gets = proxy.requests("GET /v2/app/manifests/sha256:");
    assert_eq!(child_gets.len(), 1, "one child, read once: {child_gets:?}");
    assert_eq!(
        report["skipped"][0]["tag"],
        format!("image-stage-{SIG_WIDE}"),
        "{report}"
    );
    let reason = report["skipped"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("65 distinct manifests, over the limit of 64"),
        "{reason}"
    );
}

fn tag_pages(prefix: &'static str, pages: usize) -> ProxyConfig {
    ProxyConfig {
        hostile: vec![Hostile::new(
            Some("GET"),
            "/tags/list",
            HostileKind::TagPages {
                prefix,
                per_page: 10_000,
                pages,
            },
        )],
        ..Default::default()
    }
}

/// Regression: every page of the tag list was kept (3 GB after 14 pages of 16 MiB). Tags
/// other than stage tags are dropped as they come (200,000 of them pull nothing), and more
/// than the documented 100,000 stage tags is a clear error, exit 1.
#[test]
fn tag_pages_keep_only_stage_tags_and_too_many_is_a_clear_error() {
    let reg = Registry::start();
    let tmp = TempDir::new().unwrap();
    let others = Proxy::start(&reg.host, tag_pages("v1-build-", 20));
    let out = pull_through(&others.host, &tmp.path().join("a"), &["--json"]);
    assert!(out.success(), "{}", out.describe());
    let report = json_out(&out);
    assert_eq!(report["pulled"], json!([]), "{report}");
    assert_eq!(report["skipped"], json!([]), "{report}");
    let lists = others
        .stats()
        .log
        .iter()
        .filter(|l| l.target.contains("/tags/list"))
        .count();
    assert_eq!(lists, 20, "every page read");
    let flood = Proxy::start(&reg.host, tag_pages("image-stage-", 11));
    let stages = tmp.path().join("b");
    let out = pull_through(&flood.host, &stages, &[]);
    let line = assert_error(
        "too many stage tags",
        &out,
        1,
        "more than 100000 image-stage- tags",
    );
    assert!(line.contains("keeps at most 100000"), "{line}");
    let lists = flood
        .stats()
        .log
        .iter()
        .filter(|l| l.target.contains("/tags/list"))
        .count();
    assert_eq!(lists, 11, "stops at the page that passes the cap");
    assert!(!stages.join("index.json").exists(), "nothing written");
}
