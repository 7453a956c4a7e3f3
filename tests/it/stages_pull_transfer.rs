//! `stages pull` carrying stages between runners through a real docker-registry:
//! `publish --with-stages` from runner A, a pull into runner B's empty storage (the tag
//! list paged through a proxy) after which a publish from B is up to date, a second pull
//! that fetches nothing and a pull of one image that takes only it; a cut download resumed
//! with `Range`, and a corrupted blob rejected and never placed while the other stages are
//! pulled. The round trip also runs on object storage (`object_storage.rs`).

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::cutproxy::{CutProxy, Fault};
use crate::support::layouts::blob_files;
use crate::support::registry::Registry;
use crate::support::stages::{big_layer, entries, json_out, ok, runner_a, wp};
use serde_json::Value;
use tempfile::TempDir;

#[test]
fn round_trip_publish_with_stages_pull_then_publish_is_up_to_date() {
    round_trip(&Registry::start());
}

/// `publish --with-stages` from runner A, `stages pull` on runner B (tag list paged), then
/// a publish from B is up to date; run on the filesystem and on object storage
/// (`object_storage.rs`).
pub(crate) fn round_trip(reg: &Registry) {
    let tmp = TempDir::new().unwrap();
    let a = runner_a(tmp.path(), 300 << 10);
    let repo = format!("{}/rt", reg.host);
    let publish = |stages: &Path| {
        json_out(&ok(
            &[
                "publish",
                "--dir",
                tmp.path().to_str().unwrap(),
                "--repo",
                &repo,
                "--tag-custom",
                "v1",
                "--with-stages",
                "--json",
            ],
            stages,
        ))
    };
    let first = publish(&a);
    assert!(first["bytes_sent"].as_u64().unwrap() > 0);
    // Runner B: an empty directory. The tag list comes in pages of one through a proxy
    // (distribution 2.8 does not page; distribution 3, GHCR and Harbor do): every Link is
    // followed.
    let pager = CutProxy::start(&reg.host, "sha256:none", Fault::PageTags(1));
    let b = tmp.path().join("b").join(".werf/stages");
    let paged_repo = format!("{}/rt", pager.host);
    let pulled = json_out(&ok(
        &[
            "stages",
            "pull",
            "--repo",
            &paged_repo,
            "--page-size",
            "2",
            "--json",
        ],
        &b,
    ));
    assert_eq!(pulled["pulled"].as_array().unwrap().len(), 3, "{pulled}");
    assert_eq!(entries(&b), entries(&a), "same stages, same digests");
    let lists = pager.requests("/tags/list");
    assert_eq!(lists.len(), 3, "one request per page of one tag: {lists:?}");
    assert!(lists[0].0.contains("/v2/rt/tags/list?n=2 "), "{lists:?}");
    assert!(lists[1].0.contains("last=image-stage-"), "{lists:?}");
    let second = publish(&b);
    for t in second["tags"].as_array().unwrap() {
        assert_eq!(t["status"], "up-to-date", "{second}");
    }
    assert_eq!(
        second["tags"].as_array().unwrap().len(),
        first["tags"].as_array().unwrap().len()
    );
    assert_eq!(second["bytes_sent"], 0, "{second}");
    // Pulling again fetches nothing; pulling one image only takes that image.
    let again = json_out(&ok(&["stages", "pull", "--repo", &repo, "--json"], &b));
    assert_eq!(again["pulled"].as_array().unwrap().len(), 0);
    assert_eq!(again["blobs_fetched"], 0);
    let c = tmp.path().join("c");
    let only = json_out(&ok(
        &["stages", "pull", "--repo", &repo, "frontend", "--json"],
        &c,
    ));
    let imgs: BTreeSet<&str> = only["pulled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["image"].as_str().unwrap())
        .collect();
    assert_eq!(imgs, BTreeSet::from(["frontend"]));
}

#[test]
fn pull_resumes_a_cut_download_and_rejects_a_corrupted_blob() {
    let reg = Registry::start();
    let tmp = TempDir::new().unwrap();
    let a = runner_a(tmp.path(), 2 << 20);
    let repo = format!("{}/cut", reg.host);
    ok(
        &[
            "publish",
            "--dir",
            tmp.path().to_str().unwrap(),
            "--repo",
            &repo,
            "--tag-custom",
            "v1",
            "--with-stages",
        ],
        &a,
    );
    let blob = big_layer(&a);
    a_cut_download_resumes_with_a_range(&reg.host, &a, &tmp.path().join("b"), &blob);
    a_corrupted_blob_fails_its_stage_alone(&reg.host, &a, &tmp.path().join("c"), &blob);
}

/// Cut the first GET of the big layer after 700 KiB: the pull into `b` resumes with a
/// `Range` past what it has, and takes all of `a`.
fn a_cut_download_resumes_with_a_range(registry: &str, a: &Path, b: &Path, blob: &str) {
    let cut = CutProxy::start(registry, blob, Fault::CutAfter(700 << 10));
    let out = json_out(&ok(
        &[
            "stages",
            "pull",
            "--repo",
            &format!("{}/cut", cut.host),
            "--json",
        ],
        b,
    ));
    assert!(out["resumed"].as_u64().unwrap() >= 1, "{out}");
    let gets = cut.requests(&format!("GET /v2/cut/blobs/{blob}"));
    assert!(gets.len() >= 2, "{gets:?}");
    assert_eq!(gets[0].1, None);
    assert!(
        gets[1].1.as_deref().unwrap_or("").starts_with("bytes="),
        "{gets:?}"
    );
    assert_ne!(gets[1].1.as_deref(), Some("bytes=0-"));
    assert_eq!(entries(b), entries(a));
    assert!(blob_files(b).contains(blob));
}

/// A proxy that flips one byte of that blob: rejected and never placed in `c`; the stage
/// that needs it fails alone (exit 1, in `failed`), the other stages of `a` are pulled.
fn a_corrupted_blob_fails_its_stage_alone(registry: &str, a: &Path, c: &Path, blob: &str) {
    let bad = CutProxy::start(registry, blob, Fault::Corrupt(1000));
    let out = wp(
        &[
            "stages",
            "pull",
            "--repo",
            &format!("{}/cut", bad.host),
            "--json",
        ],
        c,
    );
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("rejected") && out.stderr.contains("corrupted"),
        "{}",
        out.describe()
    );
    assert!(!blob_files(c).contains(blob), "the corrupt blob was placed");
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let install: Vec<_> = entries(a)
        .into_iter()
        .filter(|e| e.1 == "install")
        .collect();
    let failed = report["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(
        failed[0]["tag"],
        format!("image-stage-{}", install[0].2),
        "{report}"
    );
    let others: BTreeSet<_> = entries(a)
        .into_iter()
        .filter(|e| e.1 != "install")
        .collect();
    assert_eq!(entries(c), others, "the other stages are pulled");
}
