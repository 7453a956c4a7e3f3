//! Helpers of the cleanup tests: a copy of the example werf project made a git repository
//! (with an `origin`), `publish`, `cleanup` and `purge` runs of the binary, and their
//! reports read back.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tempfile::TempDir;

use super::cmd::{assert_success, run, werf_push, Output};
use super::gitrepo::GitRepo;
use super::layouts::copy_dir;

pub const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/example");

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
    let mut c = werf_push();
    c.arg("publish")
        .arg("--dir")
        .arg(dir)
        .arg("--repo")
        .arg(repo)
        .args(extra);
    let out = run(&mut c);
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
