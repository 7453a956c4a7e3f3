//! `werf-push bench` against a real `docker-registry` with tiny sizes: its JSON report adds
//! up (cold rounds send every blob byte and upload every blob, warm rounds send nothing in
//! one request), its request counts match the registry's own access log, and what it
//! pushed reads back with skopeo.

use serde_json::Value;

use crate::support::cmd::{self, assert_failure, assert_success};
use crate::support::layouts::{self, Format};
use crate::support::registry::Registry;
use crate::support::scenario::{assert_no_panic, oci, tmp, KIB};
use crate::support::skopeo::Skopeo;

fn bench(args: &[&str]) -> (cmd::Output, Value) {
    let mut c = cmd::werf_push();
    c.arg("bench")
        .args(args)
        .args(["--json", "--progress", "none"]);
    let out = cmd::run(&mut c);
    assert_no_panic(&out);
    assert_success(&out);
    let v: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("bench --json is not JSON: {e}\n{}", out.describe()));
    (out, v)
}

fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

/// Requests the client made, as the registry logged them (not the harness's own).
fn client_requests(reg: &Registry) -> Vec<crate::support::registry::Request> {
    reg.access_log()
        .into_iter()
        .filter(|r| r.user_agent.starts_with("werf-push/"))
        .collect()
}

#[test]
fn synthetic_cold_rounds_upload_everything_and_warm_rounds_send_nothing() {
    let reg = Registry::start();
    let repo = format!("{}/bench", reg.host);
    let (out, v) = bench(&[
        "--repo",
        &repo,
        "--blobs",
        "2",
        "--blob-size",
        "96KiB",
        "--blob-size",
        "1KiB",
        "--rounds",
        "2",
        "--warm-rounds",
        "2",
    ]);
    let blobs = u(&v, "blobs");
    assert_eq!(
        blobs, 5,
        "2 x 2 synthetic layers and a config\n{}",
        out.stdout
    );
    let blob_bytes = u(&v, "blob_bytes");
    assert!(blob_bytes > 2 * 96 * 1024 + 2 * 1024, "{}", out.stdout);
    let rounds = v["rounds"].as_array().expect("rounds");
    assert_eq!(rounds.len(), 4);
    let refs = each_round_sends_what_its_kind_says(rounds, blobs, blob_bytes);
    assert_ne!(refs[0], refs[1], "each cold round has a fresh repository");
    assert_eq!(
        refs[1], refs[2],
        "warm rounds push the last cold repository again"
    );
    the_totals_count_requests_round_trips_and_resources(&v, blobs);
    // The registry saw exactly the requests counted (plus one ping per round), and the
    // image reads back.
    let seen = client_requests(&reg);
    let counted: u64 = rounds.iter().map(|r| u(r, "requests")).sum();
    let pings = seen.iter().filter(|r| r.path() == "/v2/").count() as u64;
    assert_eq!(seen.len() as u64, counted + pings, "{seen:#?}");
    assert!(Skopeo::new().inspect_raw(&refs[0]).starts_with(b"{"));
}

/// A cold round sends every blob byte in 3 requests per blob and 2 for the tag; a warm
/// one sends nothing in one HEAD. Returns the rounds' references.
fn each_round_sends_what_its_kind_says(
    rounds: &[Value],
    blobs: u64,
    blob_bytes: u64,
) -> Vec<String> {
    let mut refs = Vec::new();
    for r in rounds {
        match r["kind"].as_str() {
            Some("cold") => {
                assert_eq!(
                    u(r, "bytes_sent"),
                    blob_bytes,
                    "cold round sends every blob byte: {r}"
                );
                assert_eq!(u(r, "blobs_pushed"), blobs, "{r}");
                // Per blob HEAD, POST, PUT; the tag's HEAD and its PUT.
                assert_eq!(u(r, "requests"), 3 * blobs + 2, "{r}");
                assert!(r["mb_per_s"].as_f64().is_some_and(|m| m > 0.0), "{r}");
            }
            Some("warm") => {
                assert_eq!(u(r, "bytes_sent"), 0, "warm round sends nothing: {r}");
                assert_eq!(u(r, "requests"), 1, "one HEAD of the tag: {r}");
                assert!(r["mb_per_s"].is_null(), "{r}");
            }
            other => panic!("round kind {other:?}"),
        }
        assert!(r["seconds"].as_f64().is_some_and(|s| s > 0.0), "{r}");
        refs.push(r["reference"].as_str().expect("reference").to_string());
    }
    refs
}

/// The cold and warm request counts and latencies, the round trips per blob, the CPU
/// time and the peak RSS of the report `v`.
fn the_totals_count_requests_round_trips_and_resources(v: &Value, blobs: u64) {
    let cold = &v["cold"]["requests"];
    assert_eq!(u(&cold["blob-head"], "count"), 2 * blobs, "{cold}");
    assert_eq!(u(&cold["upload-finish"], "count"), 2 * blobs, "{cold}");
    assert_eq!(u(&cold["manifest-put"], "count"), 2, "{cold}");
    let p50 = cold["upload-finish"]["p50_ms"].as_f64().expect("p50");
    let p95 = cold["upload-finish"]["p95_ms"].as_f64().expect("p95");
    assert!(p50 > 0.0 && p95 >= p50, "{cold}");
    assert_eq!(u(&v["warm"]["requests"]["manifest-head"], "count"), 2);
    // Round trips per blob: the requests of a cold round over its blobs (HEAD, POST, PUT
    // each, and the tag's HEAD and PUT shared).
    let per_blob = v["cold"]["round_trips_per_blob"]
        .as_f64()
        .expect("per blob");
    let want = (3 * blobs + 2) as f64 / blobs as f64;
    assert!((per_blob - want).abs() < 1e-9, "{per_blob} vs {want}");
    assert!(v["cpu_seconds"].as_f64().is_some_and(|c| c > 0.0), "{v}");
    let rss = u(v, "peak_rss_bytes");
    assert!((1 << 20..1 << 30).contains(&rss), "peak RSS {rss}");
}

#[test]
fn chunked_uploads_and_a_layout_image_add_up() {
    let reg = Registry::start();
    let (_, v) = bench(&[
        "--repo",
        &format!("{}/chunked", reg.host),
        "--blobs",
        "1",
        "--blob-size",
        "100KiB",
        "--upload-strategy",
        "chunked",
        "--chunk-size",
        "16KiB",
        "--rounds",
        "1",
        "--warm-rounds",
        "0",
    ]);
    assert!(v["warm"].is_null(), "{v}");
    let r = &v["rounds"][0];
    assert_eq!(u(r, "bytes_sent"), u(&v, "blob_bytes"), "{r}");
    // 100 KiB in 16 KiB pieces: 6 PATCHes, the last 4 KiB in the PUT.
    assert_eq!(u(&v["cold"]["requests"]["upload-chunk"], "count"), 6, "{v}");

    let t = tmp();
    let dir = t.path().join("l");
    let digest = layouts::image(&dir, &[40 * KIB, 3 * KIB], 7, Format::Oci, None);
    let unique = layouts::unique_blob_bytes(&dir, &digest);
    let (_, v) = bench(&[
        "--repo",
        &format!("{}/layout", reg.host),
        "--from",
        &oci(&dir),
        "--rounds",
        "1",
        "--warm-rounds",
        "1",
    ]);
    assert_eq!(u(&v, "blob_bytes"), unique);
    assert_eq!(u(&v["rounds"][0], "bytes_sent"), unique);
    assert_eq!(u(&v["rounds"][1], "bytes_sent"), 0);
    let reference = v["rounds"][0]["reference"].as_str().expect("reference");
    assert_eq!(
        cmd::sha256_digest(Skopeo::new().inspect_raw(reference)),
        digest,
        "the layout's manifest bytes were pushed"
    );
}

#[test]
fn bad_bench_arguments_are_clear_errors() {
    for args in [
        vec![
            "--repo",
            "127.0.0.1:1/x",
            "--rounds",
            "0",
            "--warm-rounds",
            "0",
        ],
        vec!["--repo", "127.0.0.1:1/x", "--blobs", "0"],
        vec!["--repo", "Not A Repo"],
    ] {
        let mut c = cmd::werf_push();
        c.arg("bench").args(&args);
        let out = cmd::run(&mut c);
        assert_no_panic(&out);
        assert_failure(&out);
        assert!(out.stderr.contains("error"), "{}", out.describe());
    }
}
