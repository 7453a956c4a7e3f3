//! Reliability, network faults: a proxy in front of a real
//! `docker-registry` cuts connections at random offsets, answers 429 with `Retry-After`,
//! 503 three times, or fails always. Every successful scenario ends with skopeo reading the
//! image back identical from the registry; each prints the faults injected and the bytes
//! re-sent. (Corrupted layouts, Ctrl-C and concurrent publishers: `tests/it/integrity.rs`.)

use std::time::{Duration, Instant};

use crate::support::cmd::{assert_failure, assert_success};
use crate::support::layouts;
use crate::support::proxy::{cut_offsets, Proxy, ProxyConfig, StatusFault};
use crate::support::registry::Registry;
use crate::support::scenario::*;

/// The error line of a failed run (`error: ...`).
#[track_caller]
/// 20 seeds, one cut each at a random offset of the upload stream of an 8 MiB layer.
fn cuts_at_random_offsets(strategy: &str) {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    let (digest, blob_bytes) = big_image(&src, 8 * MIB, 5);
    let (mut total_faults, mut total_resent) = (0, 0);
    for seed in 1..=20u64 {
        let proxy = Proxy::start(
            &reg.host,
            ProxyConfig {
                cut_at: cut_offsets(seed, 1, blob_bytes),
                ..Default::default()
            },
        );
        let repo = format!("cut-{strategy}-{seed}");
        let out = push(&[
            "--upload-strategy",
            strategy,
            "--chunk-size",
            "1MiB",
            "--jobs",
            "1",
            &oci(&src),
            &format!("{}/{repo}:v1", proxy.host),
        ]);
        assert_success(&out);
        let stats = proxy.stats();
        proxy.report(&format!("{strategy} seed {seed}"), blob_bytes);
        assert_eq!(stats.cuts, 1, "seed {seed}: the cut did not happen");
        let resent = stats.upload_bytes - blob_bytes;
        let bound = match strategy {
            "chunked" => MIB as u64,
            _ => blob_bytes,
        };
        assert!(
            resent <= bound * stats.cuts,
            "seed {seed}: {resent} bytes re-sent after {} cut(s), more than {bound} each\n{}",
            stats.cuts,
            out.describe()
        );
        total_faults += stats.faults;
        total_resent += resent;
        assert_reads_back_identical(&format!("{}/{repo}:v1", reg.host), &src, &digest);
    }
    println!("{strategy}: 20 pushes, {total_faults} faults injected, {total_resent} bytes re-sent in all");
}

#[test]
fn cut_at_random_offsets_chunked_resends_at_most_one_chunk_per_cut() {
    cuts_at_random_offsets("chunked");
}

#[test]
fn cut_at_random_offsets_monolithic_starts_the_blob_over() {
    cuts_at_random_offsets("monolithic");
}

/// The gap between the first request matching `pred` and the next one matching it.
fn gap_after_first(
    proxy: &Proxy,
    status: u16,
    pred: impl Fn(&crate::support::proxy::Logged) -> bool,
) -> Duration {
    let log = proxy.stats().log;
    let i = log
        .iter()
        .position(|l| l.status == status && pred(l))
        .unwrap_or_else(|| panic!("no {status} answer in {log:#?}"));
    let next = log[i + 1..]
        .iter()
        .find(|l| pred(l))
        .unwrap_or_else(|| panic!("no retry after the {status}: {log:#?}"));
    next.at - log[i].at
}

#[test]
fn too_many_requests_waits_for_retry_after_then_succeeds() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    let (digest, blob_bytes) = big_image(&src, 2 * MIB, 6);
    // The big layer's upload PUT (its query names its digest): the retry is the next PUT
    // naming it, whatever the other blob does meanwhile.
    let manifest: serde_json::Value =
        serde_json::from_slice(&layouts::read_blob(&src, &digest)).unwrap();
    let layer: &'static str = Box::leak(
        layouts::layer_digests(&manifest)[0]
            .trim_start_matches("sha256:")
            .to_string()
            .into_boxed_str(),
    );
    let proxy = Proxy::start(
        &reg.host,
        ProxyConfig {
            status_faults: vec![
                // An upload PUT (retried by the push layer) and a manifest PUT (by the
                // transport), each once.
                StatusFault::new(Some("PUT"), layer, 429).retry_after("1"),
                StatusFault::new(Some("PUT"), "/manifests/", 429).retry_after("1"),
            ],
            ..Default::default()
        },
    );
    let out = push(&[&oci(&src), &format!("{}/limited:v1", proxy.host)]);
    assert_success(&out);
    proxy.report("429 Retry-After: 1", blob_bytes);
    assert_eq!(proxy.stats().faults, 2);
    for what in [layer, "/manifests/"] {
        let gap = gap_after_first(&proxy, 429, |l| {
            l.method == "PUT" && l.target.contains(what)
        });
        assert!(
            gap >= Duration::from_millis(950),
            "{what}: retried {gap:?} after a 429 with Retry-After: 1"
        );
    }
    assert_reads_back_identical(&format!("{}/limited:v1", reg.host), &src, &digest);
}

#[test]
fn service_unavailable_three_times_then_success() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    let (digest, blob_bytes) = big_image(&src, 2 * MIB, 7);
    for (i, strategy) in ["monolithic", "chunked"].into_iter().enumerate() {
        let proxy = Proxy::start(
            &reg.host,
            ProxyConfig {
                status_faults: vec![
                    StatusFault::new(Some("HEAD"), "/blobs/sha256:", 503).times(3),
                    StatusFault::new(Some("PUT"), "/blobs/uploads/", 503).times(3),
                    StatusFault::new(Some("PUT"), "/manifests/", 503).times(3),
                ],
                ..Default::default()
            },
        );
        let reference = format!("{}/unavailable{i}:v1", proxy.host);
        let out = push(&[
            "-v",
            "--upload-strategy",
            strategy,
            "--chunk-size",
            "512KiB",
            &oci(&src),
            &reference,
        ]);
        assert_success(&out);
        // Retries are one short line each, a person can read: no URL, no upload state.
        let retries: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.contains("retry "))
            .collect();
        assert!(
            retries
                .iter()
                .any(|l| l.contains("retry 1/5 HEAD blob ") && l.contains(": answered 503")),
            "{strategy}: no request retry line\n{}",
            out.describe()
        );
        assert!(
            retries
                .iter()
                .any(|l| l.contains("upload") && l.contains("503")),
            "{strategy}: no upload retry line\n{}",
            out.describe()
        );
        for l in &retries {
            assert!(
                l.len() < 120 && !l.contains("http") && !l.contains("_state"),
                "{strategy}: a retry line too long or with a URL: {l}"
            );
        }
        proxy.report(&format!("503 x3 ({strategy})"), blob_bytes);
        assert_eq!(proxy.stats().faults, 9, "{strategy}");
        assert_reads_back_identical(&format!("{}/unavailable{i}:v1", reg.host), &src, &digest);
    }
}

#[test]
fn registry_failing_every_time_is_a_clear_error_after_the_bound_and_no_tag() {
    let reg = Registry::start();
    let t = tmp();
    let src = t.path().join("src");
    let (_, blob_bytes) = big_image(&src, 256 * KIB, 8);
    // Bound on attempts: 1 + 2 retries of each blob HEAD.
    let proxy = Proxy::start(
        &reg.host,
        ProxyConfig {
            status_faults: vec![StatusFault::new(None, "/blobs/", 503).times(u32::MAX)],
            ..Default::default()
        },
    );
    let out = push(&[
        "--retries",
        "2",
        &oci(&src),
        &format!("{}/down:v1", proxy.host),
    ]);
    assert_failure(&out);
    proxy.report("503 always, --retries 2", blob_bytes);
    let line = error_line(&out);
    assert!(line.contains("503"), "the error does not say 503: {line}");
    assert!(
        line.contains("down"),
        "the error does not name the repository: {line}"
    );
    let blob_requests = proxy
        .stats()
        .log
        .iter()
        .filter(|l| l.target.contains("/blobs/"))
        .count();
    assert!(
        (3..=9).contains(&blob_requests),
        "3 blobs (2 layers, a config), 3 attempts each at most: {blob_requests} requests"
    );
    assert!(
        !reg.tag_exists("down", "v1"),
        "the tag exists after a failed push"
    );

    // Bound on time: many retries allowed, 2 seconds.
    let proxy = Proxy::start(
        &reg.host,
        ProxyConfig {
            status_faults: vec![StatusFault::new(None, "/blobs/", 503).times(u32::MAX)],
            ..Default::default()
        },
    );
    let started = Instant::now();
    let out = push(&[
        "--retries",
        "1000",
        "--retry-max-time",
        "2",
        &oci(&src),
        &format!("{}/down2:v1", proxy.host),
    ]);
    let took = started.elapsed();
    assert_failure(&out);
    proxy.report("503 always, --retry-max-time 2", blob_bytes);
    assert!(error_line(&out).contains("503"));
    assert!(took < Duration::from_secs(20), "gave up after {took:?}");
    assert!(!reg.tag_exists("down2", "v1"));
}
