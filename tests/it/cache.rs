//! The known-blob cache (which registry holds which blob, kept across runs) against a real `docker-registry`: a push to a new
//! repository of a registry that already holds the blobs (learned by an earlier process)
//! mounts every blob and sends no blob bytes; `--no-cache` / `WERF_PUSH_NO_CACHE` upload;
//! stale entries (a blob deleted, a repository gone) fall back to an upload that reads
//! back identical and are forgotten; concurrent processes leave a valid cache holding what
//! each of them learned.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::cmd::{self, assert_success, Output};
use crate::support::layouts::{self, Format};
use crate::support::registry::Registry;
use crate::support::scenario::{assert_no_panic, assert_reads_back_identical, oci, tmp, KIB};

/// `werf-push push --json SRC DEST` with the cache on, in `cache_dir`.
fn push_cmd(cache_dir: &Path, src: &str, dest: &str, extra: &[&str]) -> Command {
    let mut c = cmd::werf_push();
    c.env_remove("WERF_PUSH_NO_CACHE")
        .env("WERF_PUSH_CACHE_DIR", cache_dir)
        .args(["push", "--json", "--progress", "none", src, dest])
        .args(extra);
    c
}

fn push(cache_dir: &Path, src: &str, dest: &str, extra: &[&str]) -> (Output, Value) {
    let out = cmd::run(&mut push_cmd(cache_dir, src, dest, extra));
    assert_no_panic(&out);
    assert_success(&out);
    let v = serde_json::from_str(&out.stdout).expect("summary JSON");
    (out, v)
}

fn n(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

/// Upload requests (POST without mount=, PATCH, PUT of a blob) the registry saw for `repo`.
fn uploads_to(reg: &Registry, repo: &str) -> usize {
    let prefix = format!("/v2/{repo}/blobs/uploads/");
    reg.access_log()
        .iter()
        .filter(|r| r.path().starts_with(&prefix))
        .filter(|r| r.method == "PATCH" || r.method == "PUT" || !r.uri.contains("mount="))
        .count()
}

/// The cache file's holders of `digest` at `registry`.
fn cached_holders(cache_dir: &Path, registry: &str, digest: &str) -> Vec<String> {
    let text = std::fs::read_to_string(cache_dir.join("known-blobs.json")).expect("cache file");
    let v: Value = serde_json::from_str(&text).expect("the cache file is JSON");
    v["registries"][registry][digest]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn image(dir: &Path, seed: u64) -> (String, u64, usize) {
    let digest = layouts::image(dir, &[64 * KIB, 5 * KIB, 2 * KIB], seed, Format::Oci, None);
    let bytes = layouts::unique_blob_bytes(dir, &digest);
    let blobs = layouts::referenced_blobs(dir, &digest).len() - 1; // minus the manifest
    (digest, bytes, blobs)
}

#[test]
fn a_new_repository_mounts_every_blob_known_from_an_earlier_process() {
    let reg = Registry::start();
    let t = tmp();
    let (cache, src) = (t.path().join("cache"), t.path().join("l"));
    let (digest, bytes, blobs) = image(&src, 1);
    let (_, a) = push(&cache, &oci(&src), &format!("{}/a:v1", reg.host), &[]);
    assert_eq!(n(&a, "bytes_sent"), bytes);

    let b_ref = format!("{}/b:v1", reg.host);
    let (_, b) = push(&cache, &oci(&src), &b_ref, &[]);
    assert_eq!(n(&b, "blobs_mounted"), blobs as u64, "{b}");
    assert_eq!(n(&b, "bytes_sent"), 0, "{b}");
    assert_eq!(uploads_to(&reg, "b"), 0, "no upload request to b");
    assert_reads_back_identical(&b_ref, &src, &digest);

    // --no-cache and WERF_PUSH_NO_CACHE: uploaded as if nothing were known.
    let (_, c) = push(
        &cache,
        &oci(&src),
        &format!("{}/c:v1", reg.host),
        &["--no-cache"],
    );
    assert_eq!(n(&c, "blobs_pushed"), blobs as u64, "{c}");
    assert_eq!(n(&c, "bytes_sent"), bytes, "{c}");
    let mut cmd = push_cmd(&cache, &oci(&src), &format!("{}/d:v1", reg.host), &[]);
    cmd.env("WERF_PUSH_NO_CACHE", "true");
    let out = cmd::run(&mut cmd);
    assert_success(&out);
    let d: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(n(&d, "bytes_sent"), bytes, "{d}");
}

#[test]
fn stale_entries_fall_back_to_upload_and_are_forgotten() {
    let reg = Registry::start();
    let t = tmp();
    let (cache, src) = (t.path().join("cache"), t.path().join("l"));
    let (digest, bytes, blobs) = image(&src, 2);
    push(&cache, &oci(&src), &format!("{}/a:v1", reg.host), &[]);

    // One blob deleted from repository a through the API: that one is uploaded, the
    // others mounted.
    let layer = layouts::referenced_blobs(&src, &digest)
        .into_iter()
        .find(|d| *d != digest && layouts::read_blob(&src, d).len() > 32 * 1024)
        .expect("the big layer");
    let (status, _, _) = reg.request("DELETE", &format!("/v2/a/blobs/{layer}"), &[]);
    assert_eq!(status, 202, "blob deleted from a");
    let size = layouts::read_blob(&src, &layer).len() as u64;
    let b_ref = format!("{}/b:v1", reg.host);
    let (_, b) = push(&cache, &oci(&src), &b_ref, &[]);
    assert_eq!(n(&b, "blobs_pushed"), 1, "{b}");
    assert_eq!(n(&b, "blobs_mounted"), blobs as u64 - 1, "{b}");
    assert_eq!(n(&b, "bytes_sent"), size, "{b}");
    assert_reads_back_identical(&b_ref, &src, &digest);
    let holders = cached_holders(&cache, &reg.host, &layer);
    assert!(
        !holders.contains(&"a".to_string()),
        "a forgotten: {holders:?}"
    );
    assert!(holders.contains(&"b".to_string()), "b learned: {holders:?}");

    // Repositories a and b gone from the registry's storage: everything uploaded.
    let repos = reg.storage_dir().join("docker/registry/v2/repositories");
    for r in ["a", "b"] {
        std::fs::remove_dir_all(repos.join(r)).expect("remove repository");
    }
    let c_ref = format!("{}/c:v1", reg.host);
    let (_, c) = push(&cache, &oci(&src), &c_ref, &[]);
    assert_eq!(n(&c, "blobs_pushed"), blobs as u64, "{c}");
    assert_eq!(n(&c, "bytes_sent"), bytes, "{c}");
    assert_reads_back_identical(&c_ref, &src, &digest);
}

#[test]
fn concurrent_processes_keep_the_cache_valid_and_complete() {
    let reg = Registry::start();
    let t = tmp();
    let cache = t.path().join("cache");
    let mut images = Vec::new();
    for i in 0..6u64 {
        let dir = t.path().join(format!("l{i}"));
        let (digest, _, _) = image(&dir, 100 + i);
        images.push((dir, digest, format!("r{i}")));
    }
    let children: Vec<_> = images
        .iter()
        .map(|(dir, _, repo)| {
            let mut c = push_cmd(&cache, &oci(dir), &format!("{}/{repo}:v1", reg.host), &[]);
            c.stdout(Stdio::null()).stderr(Stdio::piped());
            c.spawn().expect("start werf-push")
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for (dir, digest, repo) in &images {
        for blob in layouts::referenced_blobs(dir, digest) {
            if blob == *digest {
                continue;
            }
            let holders = cached_holders(&cache, &reg.host, &blob);
            assert!(holders.contains(repo), "{repo} holds {blob}: {holders:?}");
        }
    }
    let leftovers: Vec<_> = std::fs::read_dir(&cache)
        .expect("cache dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
