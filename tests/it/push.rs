//! Acceptance tests of `werf-push push` against a real `docker-registry`, with
//! `skopeo` as the independent client that reads back what was pushed. One test per
//! behaviour; each checks something that a broken push would get wrong.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;
use werf_push_spec::media_type;
use werf_push_transport::{RetryBudget, Transport, TransportError, TransportOptions};

use crate::support::cmd::{self, assert_failure, assert_success, sha256_digest, Output};
use crate::support::layouts::{self, Format};
use crate::support::process::Service;
use crate::support::registry::{free_port, Registry, Request};
use crate::support::scenario::{assert_reads_back_identical, oci, push, tmp, KIB, MIB};
use crate::support::skopeo::Skopeo;

// ---------------------------------------------------------------------------------------
// Helpers (`tmp`, `oci`, `push`: `support::scenario`)
// ---------------------------------------------------------------------------------------

/// `werf-push push --json ARGS...`, which must succeed; returns the summary.
fn push_json(args: &[&str]) -> (Output, Value) {
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
fn assert_one_line_error(out: &Output) -> String {
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
fn assert_only_the_error(out: &Output) -> String {
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
fn assert_code(out: &Output, code: i32) {
    assert_eq!(
        out.code(),
        Some(code),
        "expected exit code {code}\n{}",
        out.describe()
    );
}

/// The requests the registry served since `before` (a length of `access_log()`).
fn requests_since(reg: &Registry, before: usize) -> Vec<Request> {
    reg.access_log().into_iter().skip(before).collect()
}

fn is_write(r: &Request) -> bool {
    matches!(r.method.as_str(), "POST" | "PATCH" | "PUT" | "DELETE")
}

fn is_manifest_put(r: &Request) -> bool {
    r.method == "PUT" && r.path().contains("/manifests/")
}

/// `PUT /v2/<repo>/blobs/uploads/<id>?digest=...`: the request that completes an upload.
fn is_blob_upload_put(r: &Request, repo: &str) -> bool {
    r.method == "PUT" && r.path().starts_with(&format!("/v2/{repo}/blobs/uploads/"))
}

/// Blob records of the summary for one repository.
fn blobs_of<'a>(summary: &'a Value, repository: &str) -> Vec<&'a Value> {
    summary["blobs"]
        .as_array()
        .expect("summary.blobs is an array")
        .iter()
        .filter(|b| b["repository"] == repository)
        .collect()
}

fn digests_of(records: &[&Value]) -> BTreeSet<String> {
    records
        .iter()
        .map(|b| b["digest"].as_str().expect("blob digest").to_string())
        .collect()
}

fn u64_of(v: &Value, what: &str) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("{what} is not a number: {v}"))
}

/// The configs and layers of image `digest` of layout `dir` (no manifests).
fn data_blobs(dir: &Path, digest: &str) -> BTreeSet<String> {
    let manifests = layouts::manifest_digests(dir, digest);
    layouts::referenced_blobs(dir, digest)
        .into_iter()
        .filter(|d| !manifests.contains(d))
        .collect()
}

// ---------------------------------------------------------------------------------------
// A pushed image reads back identical
// ---------------------------------------------------------------------------------------

#[test]
fn pushed_image_reads_back_identical() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    let digest = layouts::image(&src, &[300 * KIB, 64 * KIB, 2 * KIB], 1, Format::Oci, None);
    let reference = format!("{}/app:v1", reg.host);

    let out = push(&[&oci(&src), &reference]);
    assert_success(&out);

    assert_eq!(
        reg.manifest_digest("app", "v1").as_deref(),
        Some(digest.as_str())
    );
    assert_reads_back_identical(&reference, &src, &digest);
}

#[test]
fn generated_layers_are_valid_gzip_tar_archives() {
    // The generated layouts claim gzip tar layers: make sure they are, for tools that
    // unpack, and that the diff ID is the digest of the tar.
    let t = tmp();
    for (size, blocks) in [(0, 3), (3000, 6), (200 * KIB, 400)] {
        let path = t.path().join(format!("layer-{size}.tar.gz"));
        let (gz, diff_id) = layouts::gzip_layer("dir-x/file.bin", size, 9);
        assert_eq!(gz.len(), layouts::layer_blob_size(size));
        std::fs::write(&path, &gz).unwrap();
        let out = cmd::run(cmd::bin("tar").arg("-tvzf").arg(&path));
        assert_success(&out);
        let file_size = (blocks - 3) * 512;
        assert!(
            out.stdout.contains("dir-x/file.bin") && out.stdout.contains(&format!(" {file_size} ")),
            "{}",
            out.describe()
        );
        let out = cmd::run(cmd::bin("gzip").arg("-dc").arg(&path));
        assert_success(&out);
        assert_eq!(out.stdout_bytes.len(), blocks * 512);
        assert_eq!(sha256_digest(&out.stdout_bytes), diff_id);
    }
    assert_eq!(layouts::random_bytes(7, 64), layouts::random_bytes(7, 64));
    assert_ne!(layouts::random_bytes(7, 64), layouts::random_bytes(8, 64));
}

// ---------------------------------------------------------------------------------------
// Layouts written by another tool; an index; a Docker schema 2 manifest
// ---------------------------------------------------------------------------------------

#[test]
fn umoci_layout_pushes_and_reads_back_identical() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("umoci");
    let digest = layouts::umoci_image(&src);
    let reference = format!("{}/umoci/app:v1", reg.host);

    // By the ref name umoci wrote into index.json.
    let out = push(&[&format!("{}:{}", oci(&src), layouts::UMOCI_TAG), &reference]);
    assert_success(&out);

    let manifest: Value = serde_json::from_slice(&layouts::read_blob(&src, &digest)).unwrap();
    let layers = manifest["layers"]
        .as_array()
        .expect("umoci manifest layers");
    assert!(
        layers
            .iter()
            .any(|l| l["mediaType"] == media_type::OCI_LAYER_GZIP
                && l["size"].as_u64() > Some(200_000)),
        "umoci should have written a gzip layer of a few hundred KiB: {manifest}"
    );
    assert_reads_back_identical(&reference, &src, &digest);
}

#[test]
fn oci_index_with_two_platforms_reads_back_identical() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    let digest = layouts::index_image(&src, 3);
    let reference = format!("{}/multi:v1", reg.host);
    // A second repository too: the children go there by digest as well, blobs mounted.
    let copy = format!("{}/copy/multi:v1", reg.host);

    let (out, summary) = push_json(&[&oci(&src), &reference, &copy]);
    for b in blobs_of(&summary, "copy/multi") {
        assert_eq!(b["status"], "mounted", "{summary}\n{}", out.describe());
    }
    assert_eq!(
        digests_of(&blobs_of(&summary, "copy/multi")),
        data_blobs(&src, &digest)
    );
    for t in summary["tags"].as_array().unwrap() {
        assert_eq!(
            t["manifests_written"], 3,
            "index and both children: {summary}"
        );
    }

    let index: Value = serde_json::from_slice(&layouts::read_blob(&src, &digest)).unwrap();
    let children: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap())
        .collect();
    assert_eq!(children.len(), 2);
    let platforms: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(platforms, ["amd64", "arm64"]);

    assert_eq!(
        reg.manifest_digest("multi", "v1").as_deref(),
        Some(digest.as_str())
    );
    let sk = Skopeo::new();
    for repo in ["multi", "copy/multi"] {
        assert_eq!(
            reg.manifest_digest(repo, "v1").as_deref(),
            Some(digest.as_str())
        );
        for child in &children {
            assert_eq!(
                reg.manifest_digest(repo, child).as_deref(),
                Some(*child),
                "child manifest {child} is not in {repo} by digest"
            );
            let raw = sk.inspect_raw(&format!("{}/{repo}@{child}", reg.host));
            assert_eq!(raw, layouts::read_blob(&src, child), "child {child} bytes");
        }
    }
    assert_reads_back_identical(&reference, &src, &digest);
    assert_reads_back_identical(&copy, &src, &digest);
}

#[test]
fn docker_schema2_manifest_reads_back_identical() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    let digest = layouts::image(
        &src,
        &[128 * KIB, 4 * KIB],
        4,
        Format::Docker,
        Some("docker"),
    );
    let reference = format!("{}/dock:v1", reg.host);

    let out = push(&[&format!("{}:docker", oci(&src)), &reference]);
    assert_success(&out);

    let (content_type, body) = reg.manifest("dock", "v1").expect("tag dock:v1 exists");
    assert_eq!(content_type, media_type::DOCKER_MANIFEST);
    assert_eq!(sha256_digest(&body), digest);

    let sk = Skopeo::new();
    let raw = sk.inspect_raw(&reference);
    assert_eq!(sha256_digest(&raw), digest);
    assert_eq!(raw, layouts::read_blob(&src, &digest));
    let parsed: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(parsed["mediaType"], media_type::DOCKER_MANIFEST);
    assert_eq!(parsed["config"]["mediaType"], media_type::DOCKER_CONFIG);

    // Copying to an OCI layout would convert it; `dir:` keeps manifest and blobs as they are.
    let back = tmp();
    let dir = back.path().join("dir");
    sk.copy(
        &crate::support::skopeo::docker_ref(&reference),
        &format!("dir:{}", dir.display()),
        &[],
    );
    let manifest = std::fs::read(dir.join("manifest.json")).expect("dir:/manifest.json");
    assert_eq!(sha256_digest(&manifest), digest, "dir: manifest");
    let mut got = BTreeSet::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
            let d = format!("sha256:{name}");
            assert_eq!(sha256_digest(std::fs::read(e.path()).unwrap()), d);
            got.insert(d);
        }
    }
    assert_eq!(got, data_blobs(&src, &digest), "blobs copied back");
}

// ---------------------------------------------------------------------------------------
// Pushing again uploads zero blob bytes
// ---------------------------------------------------------------------------------------

#[test]
fn pushing_again_uploads_zero_blob_bytes() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    let digest = layouts::image(&src, &[256 * KIB, 32 * KIB], 5, Format::Oci, None);
    let unique = layouts::unique_blob_bytes(&src, &digest);
    let reference = format!("{}/app:v1", reg.host);

    let (_, first) = push_json(&[&oci(&src), &reference]);
    assert_eq!(u64_of(&first["bytes_sent"], "bytes_sent"), unique);
    assert_eq!(first["tags"][0]["status"], "pushed", "{first}");

    // The same tag again: up to date, nothing written at all.
    let before = reg.access_log().len();
    let (out, again) = push_json(&[&oci(&src), &reference]);
    let log = requests_since(&reg, before);
    assert_eq!(u64_of(&again["bytes_sent"], "bytes_sent"), 0, "{again}");
    let tags = again["tags"].as_array().expect("tags");
    assert_eq!(tags.len(), 1, "{again}");
    assert_eq!(tags[0]["status"], "up-to-date", "{again}");
    assert_eq!(tags[0]["digest"], digest.as_str());
    assert!(
        !log.is_empty(),
        "the second push made no request at all: it cannot have checked the tag"
    );
    let writes: Vec<&Request> = log.iter().filter(|r| is_write(r)).collect();
    assert!(
        writes.is_empty(),
        "second push wrote to the registry: {writes:?}\n{}",
        out.describe()
    );

    // Another tag of the same repository: every blob is there, only the manifest is written.
    let before = reg.access_log().len();
    let v2 = format!("{}/app:v2", reg.host);
    let (out, other) = push_json(&[&oci(&src), &v2]);
    let log = requests_since(&reg, before);
    assert_eq!(u64_of(&other["bytes_sent"], "bytes_sent"), 0, "{other}");
    let records = blobs_of(&other, "app");
    assert_eq!(digests_of(&records), data_blobs(&src, &digest));
    for b in &records {
        assert_eq!(b["status"], "skipped", "{other}");
        assert_eq!(b["bytes_sent"], 0, "{other}");
    }
    let writes: Vec<String> = log
        .iter()
        .filter(|r| is_write(r))
        .map(|r| format!("{} {}", r.method, r.path()))
        .collect();
    assert_eq!(writes, ["PUT /v2/app/manifests/v2"], "{}", out.describe());
    assert_eq!(
        reg.manifest_digest("app", "v2").as_deref(),
        Some(digest.as_str())
    );
}

// ---------------------------------------------------------------------------------------
// The chunked path
// ---------------------------------------------------------------------------------------

#[test]
fn chunked_upload_runs_and_reads_back_identical() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    let digest = layouts::image(&src, &[5 * MIB, 3 * KIB], 6, Format::Oci, None);
    let reference = format!("{}/chunky:v1", reg.host);

    let before = reg.access_log().len();
    let (out, summary) = push_json(&[
        "--upload-strategy",
        "chunked",
        "--chunk-size",
        "1MiB",
        &oci(&src),
        &reference,
    ]);
    let log = requests_since(&reg, before);

    let patches = log
        .iter()
        .filter(|r| r.method == "PATCH" && r.path().starts_with("/v2/chunky/blobs/uploads/"))
        .count();
    assert!(
        patches >= 4,
        "a 5 MiB layer in 1 MiB chunks needs at least 4 PATCH requests, saw {patches}\n{}",
        out.describe()
    );
    let unique = layouts::unique_blob_bytes(&src, &digest);
    assert_eq!(u64_of(&summary["bytes_sent"], "bytes_sent"), unique);

    assert_reads_back_identical(&reference, &src, &digest);
    // And the big layer byte for byte, fetched by skopeo into a fresh layout.
    let manifest: Value = serde_json::from_slice(&layouts::read_blob(&src, &digest)).unwrap();
    let big = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        manifest["layers"][0]["size"].as_u64(),
        Some(layouts::layer_blob_size(5 * MIB) as u64)
    );
    let back = tmp();
    crate::support::skopeo::copy_to_oci(&reference, back.path(), "x");
    assert_eq!(
        layouts::read_blob(back.path(), &big),
        layouts::read_blob(&src, &big),
        "the 5 MiB layer read back differs"
    );
}

// ---------------------------------------------------------------------------------------
// One image to two repositories: the second gets every blob mounted
// ---------------------------------------------------------------------------------------

#[test]
fn second_repository_gets_every_blob_mounted() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    let digest = layouts::image(&src, &[200 * KIB, 50 * KIB, KIB], 7, Format::Oci, None);
    let blobs = data_blobs(&src, &digest);
    let unique = layouts::unique_blob_bytes(&src, &digest);
    let one = format!("{}/one:v1", reg.host);
    let two = format!("{}/team/two:v1", reg.host);

    let before = reg.access_log().len();
    let (out, summary) = push_json(&[&oci(&src), &one, &two]);
    let log = requests_since(&reg, before);

    let first = blobs_of(&summary, "one");
    assert_eq!(digests_of(&first), blobs, "{summary}");
    for b in &first {
        assert_eq!(b["status"], "pushed", "{summary}");
    }
    let second = blobs_of(&summary, "team/two");
    assert_eq!(digests_of(&second), blobs, "{summary}");
    for b in &second {
        assert_eq!(b["status"], "mounted", "{summary}");
        assert_eq!(b["mounted_from"], "one", "{summary}");
        assert_eq!(b["bytes_sent"], 0, "{summary}");
    }
    assert_eq!(
        u64_of(&summary["bytes_sent"], "bytes_sent"),
        unique,
        "the unique bytes once: {summary}"
    );
    assert_eq!(summary["blobs_mounted"], blobs.len());
    assert_eq!(summary["blobs_pushed"], blobs.len());

    // The registry saw mounts, and no data, for the second repository.
    let mounts = log
        .iter()
        .filter(|r| r.method == "POST" && r.path() == "/v2/team/two/blobs/uploads/")
        .filter(|r| r.uri.contains("mount=") && r.status == 201)
        .count();
    assert_eq!(mounts, blobs.len(), "{}", out.describe());
    let data: Vec<&Request> = log
        .iter()
        .filter(|r| {
            matches!(r.method.as_str(), "PATCH" | "PUT")
                && r.path().starts_with("/v2/team/two/blobs/")
        })
        .collect();
    assert!(
        data.is_empty(),
        "data sent to the second repository: {data:?}"
    );

    for (repo, reference) in [("one", &one), ("team/two", &two)] {
        assert_eq!(
            reg.manifest_digest(repo, "v1").as_deref(),
            Some(digest.as_str())
        );
        assert_reads_back_identical(reference, &src, &digest);
    }
}

// ---------------------------------------------------------------------------------------
// A broken layout fails before any manifest is written
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Damage {
    Missing,
    Truncated,
    Grown,
    /// Same size, one byte changed: only the registry's digest check can notice.
    Corrupted,
}

fn damage(path: &Path, how: Damage) {
    match how {
        Damage::Missing => std::fs::remove_file(path).unwrap(),
        Damage::Truncated | Damage::Grown => {
            let len = std::fs::metadata(path).unwrap().len();
            let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
            f.set_len(match how {
                Damage::Truncated => len / 2,
                _ => len + 1,
            })
            .unwrap();
        }
        Damage::Corrupted => {
            let mut bytes = std::fs::read(path).unwrap();
            let mid = bytes.len() / 2;
            bytes[mid] ^= 0xff;
            std::fs::write(path, bytes).unwrap();
        }
    }
}

/// Pushes `src` (image `digest`, whose blob `victim` was damaged) and checks the failure.
#[track_caller]
fn assert_broken_layout_refused(
    reg: &Registry,
    src: &Path,
    digest: &str,
    victim: &str,
    repo: &str,
    how: Damage,
) {
    let reference = format!("{}/{repo}:v1", reg.host);
    let before = reg.access_log().len();
    let out = push(&[&oci(src), &reference]);
    let log = requests_since(reg, before);
    assert_failure(&out);
    assert_code(&out, 3);
    let line = match how {
        // Found by the registry's digest check, after other blobs went up.
        Damage::Corrupted => assert_one_line_error(&out),
        // Found by reading the layout, before any transfer.
        _ => assert_only_the_error(&out),
    };
    let path = layouts::blob_path(src, victim);
    assert!(
        line.contains(victim),
        "{how:?}: the error does not name the digest {victim}\n{}",
        out.describe()
    );
    assert!(
        line.contains(&path.display().to_string()),
        "{how:?}: the error does not name the path {}\n{}",
        path.display(),
        out.describe()
    );
    let puts: Vec<&Request> = log.iter().filter(|r| is_manifest_put(r)).collect();
    assert!(puts.is_empty(), "{how:?}: manifest written: {puts:?}");
    if !matches!(how, Damage::Corrupted) {
        let writes: Vec<&Request> = log.iter().filter(|r| is_write(r)).collect();
        assert!(
            writes.is_empty(),
            "{how:?}: wrote before checking the layout: {writes:?}"
        );
    }
    assert!(
        !reg.tag_exists(repo, "v1"),
        "{how:?}: the tag exists after a failed push"
    );
    for m in layouts::manifest_digests(src, digest) {
        assert!(
            reg.manifest_digest(repo, &m).is_none(),
            "{how:?}: manifest {m} exists after a failed push"
        );
    }
}

#[test]
fn missing_wrong_size_or_corrupt_blob_fails_before_any_manifest() {
    let reg = Registry::start();
    let cases = [
        (Damage::Missing, "layer"),
        (Damage::Truncated, "layer"),
        (Damage::Grown, "layer"),
        (Damage::Missing, "config"),
        (Damage::Corrupted, "layer"),
    ];
    for (i, (how, which)) in cases.into_iter().enumerate() {
        let t = tmp();
        let src = t.path().join("src");
        let digest = layouts::image(
            &src,
            &[64 * KIB, 8 * KIB],
            100 + i as u64,
            Format::Oci,
            None,
        );
        let manifest: Value = serde_json::from_slice(&layouts::read_blob(&src, &digest)).unwrap();
        let victim = match which {
            "layer" => manifest["layers"][1]["digest"].as_str().unwrap(),
            _ => manifest["config"]["digest"].as_str().unwrap(),
        }
        .to_string();
        damage(&layouts::blob_path(&src, &victim), how);
        assert_broken_layout_refused(&reg, &src, &digest, &victim, &format!("broken{i}"), how);
    }
}

#[test]
fn index_with_a_missing_blob_writes_no_manifest() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    let digest = layouts::index_image(&src, 8);
    let index: Value = serde_json::from_slice(&layouts::read_blob(&src, &digest)).unwrap();
    // The layer of the second platform only: the first platform is complete.
    let child = index["manifests"][1]["digest"].as_str().unwrap();
    let m: Value = serde_json::from_slice(&layouts::read_blob(&src, child)).unwrap();
    let victim = m["layers"][1]["digest"].as_str().unwrap().to_string();
    damage(&layouts::blob_path(&src, &victim), Damage::Missing);
    assert_broken_layout_refused(&reg, &src, &digest, &victim, "multi", Damage::Missing);
}

// ---------------------------------------------------------------------------------------
// Connection and reference errors: one clear line, non-zero exit, no panic
// ---------------------------------------------------------------------------------------

/// A small valid layout to push in the error tests.
fn small_layout(t: &TempDir) -> PathBuf {
    let src = t.path().join("src");
    layouts::image(&src, &[4 * KIB], 9, Format::Oci, None);
    src
}

#[test]
fn unreachable_registry_is_a_one_line_error() {
    let t = tmp();
    let src = small_layout(&t);
    // 127.0.0.2 (loopback too): the test registries and servers all listen on 127.0.0.1,
    // so none of them can take this port between now and the push.
    let port = TcpListener::bind("127.0.0.2:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.2:0")
        .port();
    let host = format!("127.0.0.2:{port}");
    let started = Instant::now();
    let out = push(&[&oci(&src), &format!("{host}/app:v1")]);
    assert_code(&out, 4);
    let line = assert_only_the_error(&out);
    assert!(
        line.contains(&host) && line.contains("cannot reach"),
        "{}",
        out.describe()
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "an unreachable registry took {:?} to report",
        started.elapsed()
    );
}

#[test]
fn invalid_reference_is_a_usage_error_naming_the_bad_part() {
    let t = tmp();
    let src = small_layout(&t);
    let port = free_port();
    let cases = [
        (format!("127.0.0.1:{port}/UPPER:tag"), "repository", "UPPER"),
        (format!("127.0.0.1:{port}/app:-bad"), "tag", "-bad"),
        (
            format!("127.0.0.1:{port}/app@sha256:1234"),
            "digest",
            "sha256:1234",
        ),
        (
            "127.0.0.1:99999/app:v1".to_string(),
            "registry host",
            "99999",
        ),
        (format!("127.0.0.1:{port}/a//b:v1"), "repository", "empty"),
    ];
    for (reference, part, bad) in cases {
        let out = push(&[&oci(&src), &reference]);
        assert_code(&out, 2);
        let line = assert_only_the_error(&out);
        assert!(
            line.contains(part) && line.contains(bad),
            "{reference}: the error should name the {part} ('{bad}')\n{}",
            out.describe()
        );
    }
}

/// `openssl s_server -www` with a fresh self-signed certificate; stopped on drop.
struct TlsServer {
    _child: Service,
    port: u16,
    _dir: TempDir,
}

impl TlsServer {
    fn start() -> TlsServer {
        let dir = tmp();
        let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
        let out = cmd::run(
            Command::new("openssl")
                .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes"])
                .args(["-subj", "/CN=localhost", "-days", "1"])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&cert),
        );
        assert_success(&out);
        for _ in 0..5 {
            let port = free_port();
            let mut cmd = Command::new("openssl");
            cmd.args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
                .arg("-cert")
                .arg(&cert)
                .arg("-key")
                .arg(&key)
                .arg("-www")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null());
            let mut child = Service::spawn(&mut cmd, "openssl s_server")
                .unwrap_or_else(|e| panic!("cannot start openssl s_server (install openssl): {e}"));
            // s_server prints ACCEPT once it has bound the port (so the port is its own, not
            // a parallel test's); keep draining stdout so that it never blocks on it.
            let stdout = child.take_stdout().expect("s_server stdout");
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if line.trim() == "ACCEPT" {
                        let _ = tx.send(());
                    }
                }
            });
            if rx.recv_timeout(Duration::from_secs(10)).is_ok() {
                return TlsServer {
                    _child: child,
                    port,
                    _dir: dir,
                };
            }
            // Lost the port (s_server exited), or too slow: try another.
            child.stop();
        }
        panic!("openssl s_server did not start");
    }
}

#[test]
fn untrusted_https_certificate_is_a_one_line_error_with_a_ca_file_hint() {
    let t = tmp();
    let src = small_layout(&t);
    let server = TlsServer::start();
    let dest = format!("127.0.0.1:{}/app:v1", server.port);
    // As is (a loopback registry: plain HTTP is tried after HTTPS), and with
    // --insecure-registry (plain HTTP allowed): HTTP to the TLS port fails too, and the
    // certificate problem is what gets reported.
    for extra in [None, Some("--insecure-registry")] {
        let mut args: Vec<&str> = extra.into_iter().collect();
        let src = oci(&src);
        args.extend([src.as_str(), dest.as_str()]);
        let out = push(&args);
        assert_code(&out, 4);
        let line = assert_only_the_error(&out);
        let lower = line.to_lowercase();
        assert!(
            lower.contains("tls") && lower.contains("certificate"),
            "{extra:?}: the error should say TLS/certificate\n{}",
            out.describe()
        );
        assert!(
            out.stderr
                .lines()
                .any(|l| l.starts_with("hint: ") && l.contains("--ca-file")),
            "{extra:?}: a hint should name --ca-file\n{}",
            out.describe()
        );
    }
}

#[tokio::test]
async fn plain_http_registry_spoken_to_over_https_says_insecure_registry() {
    let reg = Registry::start();
    let mut https_only = TransportOptions::default();
    https_only.local_http_fallback = false;
    let err = Transport::connect(&reg.host, &https_only, Arc::new(RetryBudget::default()))
        .await
        .expect_err("HTTPS to a plain-HTTP registry must fail");
    assert!(
        matches!(err, TransportError::PlainHttp { .. }),
        "expected PlainHttp, got {err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("--insecure-registry"), "{msg}");
    assert!(msg.contains(&reg.host), "{msg}");
    assert!(!msg.contains('\n'), "one line: {msg:?}");

    // The control: the same registry is reachable once plain HTTP is allowed.
    let mut insecure = TransportOptions::default();
    insecure.insecure = true;
    insecure.local_http_fallback = false;
    let t = Transport::connect(&reg.host, &insecure, Arc::new(RetryBudget::default()))
        .await
        .expect("plain HTTP with insecure: true");
    assert_eq!(t.url("/v2/").scheme(), "http");
}

// ---------------------------------------------------------------------------------------
// --jobs
// ---------------------------------------------------------------------------------------

fn push_many_layers_with_jobs(jobs: &str) {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    let sizes: Vec<usize> = (0..12).map(|i| (4 + i) * KIB).collect();
    let digest = layouts::image(&src, &sizes, 10, Format::Oci, None);
    let blobs = data_blobs(&src, &digest);
    assert_eq!(blobs.len(), 13, "12 distinct layers and a config");
    let reference = format!("{}/many:v1", reg.host);

    let before = reg.access_log().len();
    let (out, summary) = push_json(&["--jobs", jobs, &oci(&src), &reference]);
    let log = requests_since(&reg, before);

    assert_eq!(summary["blobs_pushed"], 13, "{summary}");
    assert_eq!(
        u64_of(&summary["bytes_sent"], "bytes_sent"),
        layouts::unique_blob_bytes(&src, &digest)
    );
    let uploads = log.iter().filter(|r| is_blob_upload_put(r, "many")).count();
    assert_eq!(
        uploads,
        blobs.len(),
        "--jobs {jobs}: each blob uploaded exactly once\n{}",
        out.describe()
    );
    // Each upload PUT names a different digest.
    let named: BTreeSet<String> = log
        .iter()
        .filter(|r| is_blob_upload_put(r, "many"))
        .filter_map(|r| {
            r.uri
                .split(['?', '&'])
                .find_map(|kv| kv.strip_prefix("digest="))
                .map(|d| d.replace("%3A", ":").replace("%3a", ":"))
        })
        .collect();
    assert_eq!(named, blobs, "--jobs {jobs}: digests of the upload PUTs");
    assert_reads_back_identical(&reference, &src, &digest);
}

#[test]
fn jobs_1_pushes_many_layers() {
    push_many_layers_with_jobs("1");
}

#[test]
fn jobs_8_pushes_many_layers() {
    push_many_layers_with_jobs("8");
}
