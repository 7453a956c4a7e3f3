//! The example werf project (`testdata/example`: images `backend` and `frontend`, their
//! stages built) for the publish tests (`publish_*.rs`) and the cleanup helpers: a fresh
//! copy per test, its stages storage read back, `werf-push publish` runs and their JSON
//! summary, and what a registry holds (its catalog, an image's labels and layers).

use std::path::{Path, PathBuf};

use serde_json::Value;
use tempfile::TempDir;

use super::cmd::{run, werf_push, Output};
use super::layouts::{copy_dir, index_json, layer_digests};
use super::registry::Registry;
use super::skopeo::Skopeo;
use super::stages::entry_list;

/// The example project in the repository.
pub const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/example");

/// A fresh copy of the example project.
pub fn project() -> (TempDir, PathBuf) {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("project");
    copy_dir(Path::new(EXAMPLE), &dir);
    (tmp, dir)
}

/// The stages storage's index.json of the project `dir`.
pub fn index(dir: &Path) -> Value {
    index_json(&dir.join(".werf/stages"))
}

/// (image, stage, signature, manifest digest) of every stage of the project `dir`, in the
/// order of its stages storage's `index.json`.
pub fn stages(dir: &Path) -> Vec<(String, String, String, String)> {
    entry_list(&dir.join(".werf/stages"))
}

/// (signature, manifest digest) of the last stage of `image` in the project `dir`.
pub fn last_stage(dir: &Path, image: &str) -> (String, String) {
    let all = stages(dir);
    let (_, _, sig, digest) = all.iter().rfind(|s| s.0 == image).unwrap().clone();
    (sig, digest)
}

/// `werf-push publish --dir DIR --repo REPO EXTRA...`, whatever its status.
pub fn publish(dir: &Path, repo: &str, extra: &[&str]) -> Output {
    let mut c = werf_push();
    c.arg("publish")
        .arg("--dir")
        .arg(dir)
        .arg("--repo")
        .arg(repo)
        .args(extra);
    run(&mut c)
}

/// The JSON summary a `publish ... --json` printed on stdout.
pub fn summary(out: &Output) -> Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("summary JSON: {e}\n{}", out.describe()))
}

/// The repositories the registry lists in its catalog.
pub fn catalog(reg: &Registry) -> Vec<String> {
    let (status, _, body) = reg.get("/v2/_catalog", &[]);
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    v["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect()
}

/// The config labels of the image `reference`, read by skopeo.
pub fn labels(skopeo: &Skopeo, reference: &str) -> Value {
    skopeo.inspect_config(reference)["config"]["Labels"].clone()
}

/// The layer digests of the raw image manifest `raw`.
pub fn layers(raw: &[u8]) -> Vec<String> {
    layer_digests(&serde_json::from_slice(raw).unwrap())
}

/// The layer digests of the stage manifest `manifest_digest` of the project `dir`.
pub fn stage_layers(dir: &Path, manifest_digest: &str) -> Vec<String> {
    let hex = manifest_digest.trim_start_matches("sha256:");
    layers(&std::fs::read(dir.join(".werf/stages/blobs/sha256").join(hex)).unwrap())
}
