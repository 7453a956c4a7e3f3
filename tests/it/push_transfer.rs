//! What a push sends, counted in the registry's access log: pushing the same tag again
//! writes nothing (only the tag is checked) and another tag of the same repository writes
//! only its manifest; the chunked path sends a 5 MiB layer in 1 MiB chunks (at least four
//! `PATCH` requests) and it reads back byte for byte; a second repository gets every blob
//! mounted from the first, no data; with `--jobs 1` and `--jobs 8`, each of many blobs is
//! uploaded exactly once.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::layouts::{self, Format};
use crate::support::push::{
    blobs_of, data_blobs, digests_of, is_blob_upload_put, is_write, push_json, u64_of,
};
use crate::support::registry::{Registry, Request};
use crate::support::scenario::{assert_reads_back_identical, oci, tmp, KIB, MIB};

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
    let log = reg.access_log_since(before);
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
    let log = reg.access_log_since(before);
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
    let log = reg.access_log_since(before);

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
    let log = reg.access_log_since(before);

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
    let log = reg.access_log_since(before);

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
