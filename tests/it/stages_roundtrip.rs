//! Stages written by any builder round-trip through the registry. A
//! storage written the way the contract asks and no more (images by the real umoci, or
//! plain OCI / Docker schema 2 / multi-platform images by the layout helpers, then
//! `index.json` annotated by a few lines of JSON editing, no config labels) is published
//! `--with-stages` to a real docker-registry, pulled into an empty directory, and published
//! again from there: nothing uploaded, nothing written, the same digests. A stage tag pushed
//! by skopeo names no image: `stages pull` reports it and fails for a named image.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::cmd::{assert_failure, assert_success, bin, run, sha256_hex};
use crate::support::layouts::{
    child_image, ensure_umoci, image, index_image, index_json, layer_digests, random_bytes,
    read_blob, ref_digest, umoci_image, Format, UMOCI_BIN, UMOCI_TAG,
};
use crate::support::registry::Registry;
use crate::support::skopeo::Skopeo;
use crate::support::stages::wp;
use serde_json::{json, Value};
use tempfile::TempDir;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn json_ok(args: &[&str], stages: &Path) -> Value {
    let out = wp(args, stages);
    assert_success(&out);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("JSON: {e}\n{}", out.describe()))
}

/// A stage signature: 56 hex characters, like werf v1.1's.
fn sig(name: &str) -> String {
    sha256_hex(name)[..56].to_string()
}

/// The "script" a builder runs after writing its images: `index.json` gets one entry per
/// (image, stage, manifest digest) with exactly the annotations the contract names, and
/// nothing else changes (no labels, no manifest rewritten).
fn annotate(dir: &Path, stages: &[(&str, &str, &str)]) {
    let mut index = index_json(dir);
    let entries = index["manifests"].as_array().unwrap().clone();
    let annotated: Vec<Value> = stages
        .iter()
        .map(|(img, stage, digest)| {
            let mut e = entries
                .iter()
                .find(|e| e["digest"] == *digest)
                .unwrap_or_else(|| panic!("{digest} not in {index}"))
                .clone();
            let s = sig(&format!("{img}/{stage}"));
            e["annotations"] = json!({
                "org.opencontainers.image.ref.name": s,
                "io.werf.image": img,
                "io.werf.stage": stage,
                "io.werf.signature": s,
            });
            e
        })
        .collect();
    index["manifests"] = Value::from(annotated);
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

fn umoci(args: &[&str]) {
    assert_success(&run(bin(UMOCI_BIN).args(args)));
}

/// Runner A's storage, written by umoci: backend (from, install, setup) and frontend
/// (from, install), whose `from` stage is backend's (the same manifest).
fn umoci_storage(tmp: &Path) -> std::path::PathBuf {
    ensure_umoci();
    let dir = tmp.join("a-stages");
    let l = dir.to_str().unwrap();
    umoci(&["init", "--layout", l]);
    umoci(&["new", "--image", &format!("{l}:base")]);
    let put = |from: &str, to: &str, seed: u64| {
        let file = tmp.join(format!("{to}.bin"));
        std::fs::write(&file, random_bytes(seed, 64 << 10)).unwrap();
        umoci(&[
            "insert",
            "--rootless",
            "--image",
            &format!("{l}:{from}"),
            "--tag",
            to,
            file.to_str().unwrap(),
            &format!("/opt/{to}.bin"),
        ]);
        ref_digest(&dir, to)
    };
    let from = put("base", "b-from", 1);
    let install = put("b-from", "b-install", 2);
    let setup = put("b-install", "b-setup", 3);
    let f_install = put("b-from", "f-install", 4);
    annotate(
        &dir,
        &[
            ("backend", "from", &from),
            ("backend", "install", &install),
            ("backend", "setup", &setup),
            ("frontend", "from", &from),
            ("frontend", "install", &f_install),
        ],
    );
    dir
}

/// `stages list --json` rows without the manifest digest (a stage tagged with its names
/// is another manifest): (image, stage, signature, size, config digests).
fn listing(stages: &Path) -> Vec<Value> {
    let rows = json_ok(&["stages", "list", "--json"], stages);
    let mut out: Vec<Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.as_object_mut().unwrap().remove("digest");
            assert!(!r["configs"].as_array().unwrap().is_empty(), "{r}");
            r
        })
        .collect();
    out.sort_by_key(|r| r.to_string());
    out
}

fn publish(project: &Path, stages: &Path, repo: &str) -> Value {
    json_ok(
        &[
            "publish",
            "--dir",
            project.to_str().unwrap(),
            "--repo",
            repo,
            "--tag-custom",
            "v1",
            "--with-stages",
            "--json",
        ],
        stages,
    )
}

/// reference -> manifest digest of every tag of a publish report.
fn tag_digests(report: &Value) -> BTreeMap<String, String> {
    report["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let s = |k: &str| t[k].as_str().unwrap().to_string();
            (s("reference"), s("digest"))
        })
        .collect()
}

/// An up-to-date publish: every tag up to date, nothing uploaded, mounted or written, and
/// only reads (one HEAD per tag) in the registry's access log.
fn assert_up_to_date(reg: &Registry, report: &Value, before: usize) {
    for t in report["tags"].as_array().unwrap() {
        assert_eq!(t["status"], "up-to-date", "{report}");
    }
    for k in [
        "bytes_sent",
        "blobs_pushed",
        "blobs_mounted",
        "manifests_written",
    ] {
        assert_eq!(report[k], 0, "{k}: {report}");
    }
    let after = reg.requests()[before..].to_vec();
    let writes: Vec<_> = after
        .iter()
        .filter(|(m, _)| m != "HEAD" && m != "GET")
        .collect();
    assert!(
        writes.is_empty(),
        "writes on an up-to-date publish: {writes:?}"
    );
    let heads = after.iter().filter(|(m, _)| m == "HEAD").count();
    assert_eq!(heads, report["tags"].as_array().unwrap().len(), "{after:?}");
}

/// publish `--with-stages` from `a` -> every stage tag names its stage, with the stage's
/// config and layers -> `stages pull` into an empty directory -> the same stages -> publish
/// from there and again from `a`: all up to date, the same digests.
fn round_trip(reg: &Registry, tmp: &Path, a: &Path, name: &str) {
    let sk = Skopeo::new();
    let repo = format!("{}/{name}", reg.host);
    let first = publish(tmp, a, &repo);
    let rows = listing(a);
    for r in &rows {
        let s = r["signature"].as_str().unwrap();
        let tag = format!("{repo}:image-stage-{s}");
        let raw: Value = serde_json::from_slice(&sk.inspect_raw(&tag)).unwrap();
        assert_eq!(
            raw["annotations"]["io.werf.image"], r["image"],
            "{tag}: {raw}"
        );
        assert_eq!(
            raw["annotations"]["io.werf.stage"], r["stage"],
            "{tag}: {raw}"
        );
        // Same image IDs (configs) and layers as the stage on disk.
        let images: Vec<Value> = if raw["mediaType"] == OCI_INDEX {
            raw["manifests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    let child = format!("{repo}@{}", c["digest"].as_str().unwrap());
                    serde_json::from_slice(&sk.inspect_raw(&child)).unwrap()
                })
                .collect()
        } else {
            vec![raw.clone()]
        };
        let configs: Vec<&Value> = images.iter().map(|m| &m["config"]["digest"]).collect();
        assert_eq!(json!(configs), r["configs"], "{tag}");
        for m in &images {
            assert_eq!(m["mediaType"], OCI_MANIFEST, "{tag}: {m}");
            let cfg = m["config"]["digest"].as_str().unwrap();
            let diff_ids: Value = serde_json::from_slice::<Value>(&read_blob(a, cfg)).unwrap()
                ["rootfs"]["diff_ids"]
                .clone();
            assert_eq!(
                layer_digests(m).len(),
                diff_ids.as_array().unwrap().len(),
                "{tag}"
            );
            for l in layer_digests(m) {
                assert!(reg.blob_exists(name, &l), "{tag}: layer {l}");
            }
        }
    }
    // Runner B: an empty directory.
    let b = tmp.join(format!("{name}-b")).join(".werf/stages");
    let pulled = json_ok(&["stages", "pull", "--repo", &repo, "--json"], &b);
    assert_eq!(
        pulled["pulled"].as_array().unwrap().len(),
        rows.len(),
        "{pulled}"
    );
    assert_eq!(pulled["unidentified"], json!([]), "{pulled}");
    assert_eq!(pulled["skipped"], json!([]), "{pulled}");
    assert_eq!(
        listing(&b),
        rows,
        "same images, stages, signatures and configs"
    );
    let before = reg.requests().len();
    let second = publish(tmp, &b, &repo);
    assert_up_to_date(reg, &second, before);
    assert_eq!(tag_digests(&second), tag_digests(&first), "same digests");
    let before = reg.requests().len();
    let third = publish(tmp, a, &repo);
    assert_up_to_date(reg, &third, before);
    assert_eq!(tag_digests(&third), tag_digests(&first));
}

#[test]
fn a_umoci_storage_with_annotations_only_round_trips() {
    let reg = Registry::start();
    let tmp = TempDir::new().unwrap();
    let a = umoci_storage(tmp.path());
    round_trip(&reg, tmp.path(), &a, "umoci");
}

#[test]
fn multi_platform_and_docker_schema_2_stages_round_trip() {
    let reg = Registry::start();
    let tmp = TempDir::new().unwrap();
    let a = tmp.path().join("a-stages");
    let multi = index_image(&a, 11);
    let legacy = image(&a, &[40 << 10, 20 << 10], 12, Format::Docker, None);
    // Built on `legacy`, as a werf stage is on its parent: its layers are a prefix.
    let legacy_top = child_image(
        &a,
        (&[40 << 10, 20 << 10], 12),
        &[8 << 10],
        13,
        Format::Docker,
        None,
    );
    annotate(
        &a,
        &[
            ("multi", "dockerfile", &multi),
            ("legacy", "from", &legacy),
            ("legacy", "install", &legacy_top),
        ],
    );
    round_trip(&reg, tmp.path(), &a, "mixed");
    // The Docker schema 2 stage is tagged as OCI: its published image is OCI too, on
    // every runner, with the stage's layers.
    let sk = Skopeo::new();
    let raw: Value =
        serde_json::from_slice(&sk.inspect_raw(&format!("{}/mixed/legacy:v1", reg.host))).unwrap();
    assert_eq!(raw["mediaType"], OCI_MANIFEST);
    let stage: Value = serde_json::from_slice(&read_blob(&a, &legacy_top)).unwrap();
    assert_eq!(layer_digests(&raw), layer_digests(&stage));
}

#[test]
fn a_stage_tag_pushed_by_another_tool_is_reported_and_fails_a_named_pull() {
    let reg = Registry::start();
    let sk = Skopeo::new();
    let tmp = TempDir::new().unwrap();
    let a = umoci_storage(tmp.path());
    let repo = format!("{}/foreign", reg.host);
    publish(tmp.path(), &a, &repo);
    // skopeo pushes a plain image (no werf names anywhere) as a stage tag.
    let plain = tmp.path().join("plain");
    umoci_image(&plain);
    let foreign = format!("image-stage-{}", sig("foreign"));
    sk.copy_from_oci(&plain, UMOCI_TAG, &format!("{repo}:{foreign}"));
    // All images: the five stages, the foreign tag reported, exit 0.
    let all = json_ok(
        &["stages", "pull", "--repo", &repo, "--json"],
        &tmp.path().join("all"),
    );
    assert_eq!(all["pulled"].as_array().unwrap().len(), 5, "{all}");
    assert_eq!(all["unidentified"][0]["tag"], foreign.as_str(), "{all}");
    assert_eq!(all["unidentified"].as_array().unwrap().len(), 1, "{all}");
    assert_eq!(all["not_restored"], json!([]), "{all}");
    let text = wp(
        &["stages", "pull", "--repo", &repo],
        &tmp.path().join("text"),
    );
    assert_success(&text);
    assert!(
        text.stdout.contains(&format!("unidentified {foreign}: "))
            && text
                .stdout
                .contains("5 stages pulled, 0 skipped, 1 unidentified"),
        "{}",
        text.describe()
    );
    // backend asked for by name: it may be one of its stages. What could be pulled is
    // stored, the report says why, the exit code is 1.
    let named = tmp.path().join("named");
    let out = wp(
        &["stages", "pull", "--repo", &repo, "backend", "--json"],
        &named,
    );
    assert_failure(&out);
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["not_restored"], json!(["backend"]), "{report}");
    assert_eq!(report["unidentified"][0]["tag"], foreign.as_str());
    assert!(
        out.stderr.contains("'backend'") && out.stderr.contains(&foreign),
        "{}",
        out.describe()
    );
    let kept = json_ok(&["stages", "list", "--json"], &named);
    assert_eq!(
        kept.as_array().unwrap().len(),
        3,
        "backend's stages kept: {kept}"
    );
    // An image the registry has no stage of.
    let out = wp(
        &["stages", "pull", "--repo", &repo, "nosuch"],
        &tmp.path().join("x"),
    );
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    assert!(out.stderr.contains("'nosuch'"), "{}", out.describe());
}
