//! Helpers of the push tests (`push_*.rs`): `werf-push push --json` and the blob records
//! of its summary, the checks of a failure's stderr (one `error:` line, followed only by
//! `hint:` lines) and of its exit code, what kind of request an access-log line is, and an
//! image's data blobs (configs and layers).

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use super::cmd::{assert_success, Output};
use super::layouts;
use super::registry::Request;
use super::scenario::push;

/// `werf-push push --json ARGS...`, which must succeed; returns the summary.
pub fn push_json(args: &[&str]) -> (Output, Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = push(&all);
    assert_success(&out);
    let summary: Value = serde_json::from_slice(&out.stdout_bytes)
        .unwrap_or_else(|e| panic!("--json printed invalid JSON ({e})\n{}", out.describe()));
    (out, summary)
}

/// A failure must be reported as exactly one `error: ...` line, followed only by
/// `hint: ...` lines (progress lines of work done before the failure may precede it).
#[track_caller]
pub fn assert_one_line_error(out: &Output) -> String {
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    let errors: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("error: "))
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "expected exactly one `error:` line\n{}",
        out.describe()
    );
    for l in &lines[errors[0] + 1..] {
        assert!(
            l.starts_with("hint: "),
            "unexpected stderr line after the error: {l:?}\n{}",
            out.describe()
        );
    }
    lines[errors[0]].to_string()
}

/// [`assert_one_line_error`], and nothing but the error and its hints on stderr: for
/// failures before any transfer.
#[track_caller]
pub fn assert_only_the_error(out: &Output) -> String {
    let line = assert_one_line_error(out);
    for l in out.stderr.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            l.starts_with("error: ") || l.starts_with("hint: "),
            "unexpected stderr line {l:?}\n{}",
            out.describe()
        );
    }
    line
}

#[track_caller]
pub fn assert_code(out: &Output, code: i32) {
    assert_eq!(
        out.code(),
        Some(code),
        "expected exit code {code}\n{}",
        out.describe()
    );
}

pub fn is_write(r: &Request) -> bool {
    matches!(r.method.as_str(), "POST" | "PATCH" | "PUT" | "DELETE")
}

pub fn is_manifest_put(r: &Request) -> bool {
    r.method == "PUT" && r.path().contains("/manifests/")
}

/// `PUT /v2/<repo>/blobs/uploads/<id>?digest=...`: the request that completes an upload.
pub fn is_blob_upload_put(r: &Request, repo: &str) -> bool {
    r.method == "PUT" && r.path().starts_with(&format!("/v2/{repo}/blobs/uploads/"))
}

/// Blob records of the summary for one repository.
pub fn blobs_of<'a>(summary: &'a Value, repository: &str) -> Vec<&'a Value> {
    summary["blobs"]
        .as_array()
        .expect("summary.blobs is an array")
        .iter()
        .filter(|b| b["repository"] == repository)
        .collect()
}

pub fn digests_of(records: &[&Value]) -> BTreeSet<String> {
    records
        .iter()
        .map(|b| b["digest"].as_str().expect("blob digest").to_string())
        .collect()
}

pub fn u64_of(v: &Value, what: &str) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("{what} is not a number: {v}"))
}

/// The configs and layers of image `digest` of layout `dir` (no manifests).
pub fn data_blobs(dir: &Path, digest: &str) -> BTreeSet<String> {
    let manifests = layouts::manifest_digests(dir, digest);
    layouts::referenced_blobs(dir, digest)
        .into_iter()
        .filter(|d| !manifests.contains(d))
        .collect()
}
