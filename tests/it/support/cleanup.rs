//! Helpers of the cleanup tests: a copy of the example werf project made a git repository
//! (with an `origin`), `publish`, `cleanup` and `purge` runs of the binary, and their
//! reports read back; images with a chosen config pushed with raw requests.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tempfile::TempDir;

use super::cmd::{assert_success, run, sha256_digest, werf_push, Output};
use super::example::EXAMPLE;
use super::gitrepo::GitRepo;
use super::layouts::copy_dir;
use super::registry::{header, http_request, Registry};

/// A copy of the example project (images `backend` and `frontend`, their stages built) in
/// a git repository whose first commit is dated `date`.
pub fn git_project(date: i64) -> (TempDir, GitRepo) {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("project");
    copy_dir(Path::new(EXAMPLE), &dir);
    let repo = GitRepo::init(&dir, &tmp.path().join("origin.git"), date);
    (tmp, repo)
}

/// `werf-push publish --dir DIR --repo REPO EXTRA...`, which must succeed.
pub fn publish(dir: &Path, repo: &str, extra: &[&str]) -> Output {
    let out = super::example::publish(dir, repo, extra);
    assert_success(&out);
    out
}

/// `werf-push COMMAND --dir DIR --repo REPO --json EXTRA...` (command: cleanup or purge).
pub fn clean(command: &str, dir: &Path, repo: &str, extra: &[&str]) -> Output {
    let mut c = werf_push();
    c.arg(command)
        .arg("--dir")
        .arg(dir)
        .arg("--repo")
        .arg(repo)
        .arg("--json")
        .args(extra);
    run(&mut c)
}

/// The JSON report a successful `clean` printed.
pub fn report(out: &Output) -> Value {
    assert_success(out);
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("report JSON: {e}\n{}", out.describe()))
}

/// `(reference, delete, reason)` of every tag of a report, sorted.
pub fn decisions(report: &Value) -> Vec<(String, bool, String)> {
    let mut v: Vec<(String, bool, String)> = report["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["reference"].as_str().unwrap().to_string(),
                t["delete"].as_bool().unwrap(),
                t["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// A file in a fresh temporary directory.
pub fn temp_file(name: &str, contents: &str) -> (TempDir, PathBuf) {
    let tmp = TempDir::new().unwrap();
    let p = tmp.path().join(name);
    std::fs::write(&p, contents).unwrap();
    (tmp, p)
}

/// Pushes `config` as the config of an OCI image with no layer tagged `repo:tag` (raw
/// requests: any bytes, however large or odd).
pub fn push_raw(reg: &Registry, repo: &str, tag: &str, config: &[u8]) {
    let base = format!("http://{}", reg.host);
    let digest = sha256_digest(config);
    let (status, headers, _) = http_request(
        "POST",
        &format!("{base}/v2/{repo}/blobs/uploads/"),
        &[],
        &[],
    );
    assert_eq!(status, 202);
    let location = header(&headers, "location").unwrap().to_string();
    let location = if location.starts_with('/') {
        format!("{base}{location}")
    } else {
        location
    };
    let sep = if location.contains('?') { '&' } else { '?' };
    let (status, _, body) = http_request(
        "PUT",
        &format!("{location}{sep}digest={digest}"),
        &[("Content-Type", "application/octet-stream")],
        config,
    );
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": digest, "size": config.len()},
        "layers": [],
    })
    .to_string();
    let (status, _, body) = http_request(
        "PUT",
        &format!("{base}/v2/{repo}/manifests/{tag}"),
        &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
        manifest.as_bytes(),
    );
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
}
