//! Failures of `stages pull` (the real docker-registry, faults from the test proxy): each
//! has its exit code, message and hint and leaves the storage as it was when the pull
//! stopped; one stage tag the registry fails on fails alone while the others are pulled;
//! a stage that fails on one layer leaves none of its layers behind.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{json, Value};
use tempfile::TempDir;

use crate::support::cutproxy::{CutProxy, Fault};
use crate::support::layouts::{
    blob_files, image, layer_digests, read_blob, referenced_blobs, Format,
};
use crate::support::proxy::{Proxy, ProxyConfig, StatusFault};
use crate::support::proxy_hostile::{Hostile, HostileKind};
use crate::support::registry::Registry;
use crate::support::scenario::{assert_error, assert_error_and_hint};
use crate::support::stages::{
    big_layer, entries, json_out, ok, publish, published, pull_through, wp,
};

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn hostile(path: &'static str, kind: HostileKind) -> ProxyConfig {
    ProxyConfig {
        hostile: vec![Hostile::new(Some("GET"), path, kind)],
        ..Default::default()
    }
}

/// Regression: a corrupt or too long download exited 2 (usage) with a usage hint, a
/// connection failure said "what was pushed stays", a bad `Content-Range` printed
/// `Some(10)`. Every failure of a pull: its exit code, message and hint, and the storage
/// as it was when the pull stopped.
#[test]
fn every_pull_failure_has_its_exit_code_message_and_hint() {
    let reg = Registry::start();
    let tmp = TempDir::new().unwrap();
    let a = published(&reg, tmp.path(), 600 << 10);
    let blob = big_layer(&a);
    let blob_path = leak(format!("/blobs/{blob}"));
    let size = read_blob(&a, &blob).len() as u64;
    for case in failures(blob_path, size) {
        pull_fails_as_the_case_says(&reg, tmp.path(), &blob, case);
    }
    a_broken_index_json_exits_3_and_is_left_as_it_was(&reg, tmp.path());
}

/// A failure of a pull: (case, proxy, extra args, exit code, in the error line, in the
/// hints, nowhere, the storage left untouched).
type Case = (
    &'static str,
    Option<ProxyConfig>,
    Vec<&'static str>,
    i32,
    &'static str,
    &'static str,
    &'static str,
    bool,
);

/// Every failure of a pull of the blob at `blob_path` (`size` bytes).
fn failures(blob_path: &'static str, size: u64) -> Vec<Case> {
    vec![
        (
            "a tag in --repo",
            None,
            vec![],
            2,
            "give the repository without a tag",
            "REGISTRY/REPOSITORY",
            "Some(",
            true,
        ),
        (
            "a blob longer than its descriptor",
            Some(hostile(
                blob_path,
                HostileKind::Huge {
                    status: 200,
                    len: size + 4096,
                },
            )),
            vec![],
            1,
            "is longer than",
            "the other stages are stored",
            "stages --help",
            false,
        ),
        (
            "a bad Content-Range",
            Some(hostile(
                blob_path,
                HostileKind::Partial {
                    content_range: "bytes 10-19/20",
                    len: 10,
                },
            )),
            vec!["--retries", "0"],
            1,
            "the answer's Content-Range starts at 10",
            "the other stages are stored",
            "Some(",
            false,
        ),
        (
            "a connection closed",
            Some(hostile(blob_path, HostileKind::Hangup)),
            vec!["--retries", "0"],
            4,
            blob_path,
            "nothing was stored",
            "what was pushed stays",
            true,
        ),
        (
            "a registry that stops answering",
            Some(hostile(blob_path, HostileKind::Silent)),
            vec!["--retries", "0", "--response-timeout", "1"],
            4,
            "",
            "nothing was stored",
            "what was pushed stays",
            true,
        ),
    ]
}

/// Pulls into a fresh storage under `dir` as `case` says (through a proxy when it has one)
/// and checks its exit code, error, hint and what it left in the storage.
fn pull_fails_as_the_case_says(reg: &Registry, dir: &Path, blob: &str, case: Case) {
    let (case, cfg, extra, code, error, hint, nowhere, untouched) = case;
    let stages = dir.join(case.replace(' ', "-"));
    let proxy = cfg.map(|c| Proxy::start(&reg.host, c));
    let out = match &proxy {
        Some(p) => pull_through(&p.host, &stages, &extra),
        None => wp(
            &["stages", "pull", "--repo", &format!("{}/app:v1", reg.host)],
            &stages,
        ),
    };
    assert_error_and_hint(case, &out, code, error, hint);
    assert!(
        !out.stderr.contains(nowhere) && !out.stdout.contains(nowhere),
        "{case}\n{}",
        out.describe()
    );
    if untouched {
        assert!(
            !stages.join("index.json").exists(),
            "{case}: index.json written"
        );
        if stages.join("blobs/sha256").exists() {
            assert_eq!(blob_files(&stages), BTreeSet::new(), "{case}: blobs left");
        }
    } else {
        // The stage of the bad blob failed alone: backend's from and frontend's from
        // are stored, and nothing of the bad blob.
        assert_eq!(entries(&stages).len(), 2, "{case}\n{}", out.describe());
        assert!(!blob_files(&stages).contains(blob), "{case}");
        let referenced: BTreeSet<String> = entries(&stages)
            .iter()
            .flat_map(|e| referenced_blobs(&stages, &e.3))
            .collect();
        assert_eq!(
            blob_files(&stages),
            referenced,
            "{case}: unreferenced blobs left"
        );
    }
}

/// A storage whose index.json is broken: exit 3, left as it was.
fn a_broken_index_json_exits_3_and_is_left_as_it_was(reg: &Registry, dir: &Path) {
    let broken = dir.join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("index.json"), b"not json").unwrap();
    let out = wp(
        &["stages", "pull", "--repo", &format!("{}/app", reg.host)],
        &broken,
    );
    assert_error("a broken index.json", &out, 3, "index.json is not JSON");
    assert_eq!(
        std::fs::read(broken.join("index.json")).unwrap(),
        b"not json"
    );
}

/// Regression: one stage tag the registry fails on failed the whole pull. It is reported
/// (text and `--json`), the others are pulled, and the exit code is 1.
#[test]
fn one_bad_stage_fails_alone_and_the_others_are_pulled() {
    let reg = Registry::start();
    let tmp = TempDir::new().unwrap();
    let a = published(&reg, tmp.path(), 10 << 10);
    let front = entries(&a).into_iter().find(|e| e.0 == "frontend").unwrap();
    let tag = format!("image-stage-{}", front.2);
    let manifests = leak(format!("/manifests/{tag}"));
    let cfg = ProxyConfig {
        status_faults: vec![StatusFault::new(Some("GET"), manifests, 500).times(u32::MAX)],
        ..Default::default()
    };
    let proxy = Proxy::start(&reg.host, cfg);
    for json_out_flag in [true, false] {
        let stages = tmp.path().join(format!("b-{json_out_flag}"));
        let extra: &[&str] = if json_out_flag {
            &["--retries", "0", "--json"]
        } else {
            &["--retries", "0"]
        };
        let out = pull_through(&proxy.host, &stages, extra);
        let line = assert_error("one bad stage", &out, 1, "1 stage(s) of");
        assert!(line.contains(&tag), "{line}");
        let want: BTreeSet<_> = entries(&a)
            .into_iter()
            .filter(|e| e.0 != "frontend")
            .collect();
        assert_eq!(entries(&stages), want, "backend's stages are pulled");
        if json_out_flag {
            let report = json_out(&out);
            assert_eq!(report["failed"][0]["tag"], tag.as_str(), "{report}");
            assert!(
                report["failed"][0]["reason"]
                    .as_str()
                    .unwrap()
                    .contains("500"),
                "{report}"
            );
            assert_eq!(report["pulled"].as_array().unwrap().len(), 2, "{report}");
        } else {
            assert!(
                out.stdout.contains(&format!("failed {tag}: ")),
                "{}",
                out.describe()
            );
            assert!(
                out.stdout
                    .contains("2 stages pulled, 0 skipped, 0 unidentified, 1 failed"),
                "{}",
                out.describe()
            );
        }
    }
    // Named: backend alone is whole (exit 0); frontend is not (exit 1, not_restored), as a
    // failed stage tag may be any image's.
    let out = pull_through(
        &proxy.host,
        &tmp.path().join("named"),
        &["frontend", "--json"],
    );
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    assert_eq!(json_out(&out)["not_restored"], json!(["frontend"]));
}

/// A stage that fails on one layer leaves none of its other layers in the storage.
#[test]
fn a_failed_stage_leaves_none_of_its_layers_behind() {
    let reg = Registry::start();
    let tmp = TempDir::new().unwrap();
    let layout = tmp.path().join("layout");
    image(&layout, &[300 << 10, 4 << 10], 5, Format::Oci, Some("x"));
    let project = tmp.path().join("project");
    let stages = project.join(".werf/stages");
    let src = format!("oci:{}:x", layout.display());
    ok(
        &["stages", "import", &src, "--image", "x", "--stage", "from"],
        &stages,
    );
    publish(&project, &format!("{}/app", reg.host), "v1");
    let stage = entries(&stages).into_iter().next().unwrap();
    let manifest: Value = serde_json::from_slice(&read_blob(&stages, &stage.3)).unwrap();
    let layers = layer_digests(&manifest);
    let bad = CutProxy::start(&reg.host, &layers[0], Fault::Corrupt(1000));
    let pulled = tmp.path().join("pulled");
    let out = pull_through(&bad.host, &pulled, &["--json"]);
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    assert_eq!(json_out(&out)["failed"].as_array().unwrap().len(), 1);
    assert!(
        !bad.requests(&format!("GET /v2/app/blobs/{}", layers[1]))
            .is_empty(),
        "the good layer was fetched"
    );
    assert_eq!(blob_files(&pulled), BTreeSet::new(), "layers left behind");
}
