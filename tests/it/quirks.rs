//! Reliability, registry quirks: each quirk of the notes'
//! table (docs/reliability.md), reproduced by the proxy in front of a real `docker-registry`,
//! and pushed through. Every scenario ends with skopeo reading the image back identical
//! from the registry, and prints the faults injected, the quirk rewrites and the bytes
//! re-sent.

use std::path::Path;

use crate::support::cmd::{assert_failure, assert_success, Output};
use crate::support::proxy::{Logged, Proxy, ProxyConfig, StatusFault};
use crate::support::registry::Registry;
use crate::support::scenario::*;

/// Pushes an image with a layer of `size` bytes through a proxy configured with `cfg`,
/// with `args` before SRC DEST; checks success and the read-back; returns the proxy's log
/// and the push's output.
pub(crate) fn through(
    reg: &Registry,
    name: &str,
    cfg: ProxyConfig,
    size: usize,
    args: &[&str],
) -> (Vec<Logged>, Output) {
    let t = tmp();
    let src = t.path().join("src");
    let seed = name.bytes().map(u64::from).sum::<u64>();
    let (digest, blob_bytes) = big_image(&src, size, seed);
    let proxy = Proxy::start(&reg.host, cfg);
    let out = push_to(&proxy, &src, name, args);
    assert_success(&out);
    proxy.report(name, blob_bytes);
    assert_reads_back_identical(&format!("{}/{name}:v1", reg.host), &src, &digest);
    (proxy.stats().log, out)
}

pub(crate) fn push_to(proxy: &Proxy, src: &Path, name: &str, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    let (s, d) = (oci(src), format!("{}/{name}:v1", proxy.host));
    all.push(&s);
    all.push(&d);
    push(&all)
}

pub(crate) fn count(log: &[Logged], method: &str, status: u16) -> usize {
    log.iter()
        .filter(|l| l.method == method && l.status == status)
        .count()
}

pub(crate) const CHUNKED: [&str; 4] = ["--upload-strategy", "chunked", "--chunk-size", "1MiB"];

#[test]
fn ecr_patch_answered_201() {
    let reg = Registry::start();
    let cfg = ProxyConfig {
        patch_201: true,
        ..Default::default()
    };
    let (log, _) = through(&reg, "patch201", cfg, 3 * MIB, &CHUNKED);
    assert!(count(&log, "PATCH", 201) >= 2, "{log:#?}");
}

#[test]
fn ghcr_relative_location() {
    let reg = Registry::start();
    for (name, args) in [("relchunked", &CHUNKED[..]), ("relmono", &[][..])] {
        let cfg = ProxyConfig {
            relative_location: true,
            ..Default::default()
        };
        through(&reg, name, cfg, 2 * MIB, args);
    }
}

#[test]
fn gar_location_outside_v2() {
    let reg = Registry::start();
    let cfg = ProxyConfig {
        location_outside_v2: true,
        ..Default::default()
    };
    let (log, _) = through(&reg, "outside", cfg, 3 * MIB, &CHUNKED);
    assert!(
        log.iter()
            .any(|l| l.method == "PATCH" && l.target.starts_with("/artifacts-uploads/")),
        "the client did not follow the Location outside /v2: {log:#?}"
    );
}

#[test]
fn ecr_no_location_on_manifest_put_and_no_digest_headers() {
    let reg = Registry::start();
    let cfg = ProxyConfig {
        drop_manifest_location: true,
        strip_digest: true,
        ..Default::default()
    };
    through(&reg, "nodigest", cfg.clone(), MIB, &[]);
    // Again: without Docker-Content-Digest the up-to-date check cannot say "same", so
    // the push goes on; every blob is found by HEAD and nothing is uploaded.
    let (log, _) = through(&reg, "nodigest", cfg, MIB, &[]);
    assert_eq!(
        count(&log, "POST", 202),
        0,
        "blobs uploaded again: {log:#?}"
    );
}

#[test]
fn plain_text_error_bodies_are_retried_and_reported() {
    let reg = Registry::start();
    // Docker Hub: a plain-text 429 with Retry-After.
    let cfg = ProxyConfig {
        plain_text_errors: true,
        status_faults: vec![StatusFault::new(Some("PUT"), "/blobs/uploads/", 429).retry_after("1")],
        ..Default::default()
    };
    through(&reg, "plain429", cfg, MIB, &[]);
    // A plain-text refusal that no retry cures: its text is in the error.
    let t = tmp();
    let src = t.path().join("src");
    let (_, blob_bytes) = big_image(&src, 64 * KIB, 77);
    let proxy = Proxy::start(
        &reg.host,
        ProxyConfig {
            plain_text_errors: true,
            status_faults: vec![StatusFault::new(Some("PUT"), "/manifests/", 403).times(u32::MAX)],
            ..Default::default()
        },
    );
    let out = push_to(&proxy, &src, "plain403", &[]);
    proxy.report("plain-text 403", blob_bytes);
    assert_failure(&out);
    assert!(
        out.stderr
            .contains("requested access to the resource is denied"),
        "the plain-text body is not in the error\n{}",
        out.describe()
    );
    assert!(!reg.tag_exists("plain403", "v1"));
}

#[test]
fn acr_413_on_large_monolithic_put_switches_to_chunks() {
    let reg = Registry::start();
    let cfg = ProxyConfig {
        put_cap: Some(3 * MIB as u64),
        ..Default::default()
    };
    let (log, _) = through(
        &reg,
        "toolarge",
        cfg,
        8 * MIB,
        &["--upload-strategy", "monolithic"],
    );
    assert!(count(&log, "PUT", 413) >= 1, "{log:#?}");
    assert!(
        count(&log, "PATCH", 202) >= 2,
        "no chunks after the 413: {log:#?}"
    );
}

#[test]
fn ghcr_patch_body_cap_gives_smaller_chunks() {
    let reg = Registry::start();
    let cap = 4 * MIB as u64;
    let args = ["--upload-strategy", "chunked", "--chunk-size", "6MiB"];
    // Unknown registry: one 416, then smaller chunks.
    let cfg = ProxyConfig {
        patch_cap: Some(cap),
        ..Default::default()
    };
    let (log, _) = through(&reg, "capped", cfg.clone(), 10 * MIB, &args);
    assert!(count(&log, "PATCH", 416) >= 1, "{log:#?}");
    // The GHCR profile knows the cap: no 416 at all.
    let mut a = args.to_vec();
    a.extend(["--registry-profile", "ghcr"]);
    let (log, _) = through(&reg, "capped-ghcr", cfg, 10 * MIB, &a);
    assert_eq!(count(&log, "PATCH", 416), 0, "{log:#?}");
    let patches: Vec<_> = log.iter().filter(|l| l.method == "PATCH").collect();
    assert!(
        patches.len() >= 2,
        "10 MiB in requests of at most 4 MiB, the last maybe the closing PUT: {log:#?}"
    );
    assert!(patches.iter().all(|l| l.len <= cap), "{log:#?}");
}

#[test]
fn ecr_minimum_chunk_size_not_advertised() {
    let reg = Registry::start();
    let min = 5 * MIB as u64;
    let cfg = ProxyConfig {
        min_chunk: Some(min),
        patch_201: true,
        stale_range: true,
        drop_manifest_location: true,
        ..Default::default()
    };
    // Unknown registry: a 400 for the 1 MiB chunk, then 5 MiB chunks.
    let (log, _) = through(&reg, "minchunk", cfg.clone(), 12 * MIB, &CHUNKED);
    assert!(count(&log, "PATCH", 400) >= 1, "{log:#?}");
    // The ECR profile knows it: no 400.
    let mut a = CHUNKED.to_vec();
    a.extend(["--registry-profile", "ecr"]);
    let (log, _) = through(&reg, "minchunk-ecr", cfg, 12 * MIB, &a);
    assert_eq!(count(&log, "PATCH", 400), 0, "{log:#?}");
    assert!(log.iter().any(|l| l.method == "PATCH" && l.len >= min));
}

#[test]
fn mount_refused_with_401_or_403_falls_back_to_upload() {
    let reg = Registry::start();
    for status in [401u16, 403] {
        let t = tmp();
        let src = t.path().join("src");
        let (digest, blob_bytes) = big_image(&src, 512 * KIB, 90 + u64::from(status));
        let proxy = Proxy::start(
            &reg.host,
            ProxyConfig {
                mount_status: Some(status),
                ..Default::default()
            },
        );
        let a = format!("{}/mount{status}a:v1", proxy.host);
        let b = format!("{}/mount{status}b:v1", proxy.host);
        let out = push(&["--jobs", "1", &oci(&src), &a, &b]);
        assert_success(&out);
        // Two repositories: each gets the blobs once.
        proxy.report(&format!("mount answered {status}"), 2 * blob_bytes);
        let log = proxy.stats().log;
        assert!(
            count(&log, "POST", status) >= 1,
            "no mount was tried: {log:#?}"
        );
        for repo in ["a", "b"] {
            assert_reads_back_identical(
                &format!("{}/mount{status}{repo}:v1", reg.host),
                &src,
                &digest,
            );
        }
    }
}

#[test]
fn ecr_stale_range_after_a_chunk() {
    let reg = Registry::start();
    let cfg = ProxyConfig {
        stale_range: true,
        ..Default::default()
    };
    through(&reg, "stale", cfg, 4 * MIB, &CHUNKED);
}

#[test]
fn gar_no_chunked_uploads() {
    let reg = Registry::start();
    let cfg = ProxyConfig {
        refuse_patch: true,
        ..Default::default()
    };
    // Forced chunked on an unknown registry: PATCH refused, one PUT instead.
    let (log, _) = through(&reg, "nochunks", cfg.clone(), 3 * MIB, &CHUNKED);
    assert!(count(&log, "PATCH", 405) >= 1, "{log:#?}");
    // The GAR profile sends big blobs in one PUT under auto.
    let (log, _) = through(
        &reg,
        "nochunks-gar",
        cfg,
        3 * MIB,
        &["--monolithic-max", "1MiB", "--registry-profile", "gar"],
    );
    assert!(!log.iter().any(|l| l.method == "PATCH"), "{log:#?}");
}

/// docker-registry's link-file race (registry/manifest.rs): a manifest PUT answered
/// `400 DIGEST_INVALID` while a concurrent push rewrites a blob link is retried; a
/// refusal that persists is reported after the few retries, with no tag written.
#[test]
fn distribution_manifest_put_racing_a_concurrent_push_is_retried() {
    let reg = Registry::start();
    let cfg = ProxyConfig {
        status_faults: vec![StatusFault::new(Some("PUT"), "/manifests/", 400).times(2)],
        ..Default::default()
    };
    let (log, _) = through(&reg, "linkrace", cfg, 64 * KIB, &[]);
    assert_eq!(count(&log, "PUT", 400), 2, "{log:#?}");
    assert_eq!(
        log.iter()
            .filter(|l| l.method == "PUT" && l.target.contains("/manifests/") && l.status == 201)
            .count(),
        1,
        "{log:#?}"
    );

    let t = tmp();
    let src = t.path().join("src");
    let (_, blob_bytes) = big_image(&src, 64 * KIB, 78);
    let proxy = Proxy::start(
        &reg.host,
        ProxyConfig {
            status_faults: vec![StatusFault::new(Some("PUT"), "/manifests/", 400).times(u32::MAX)],
            ..Default::default()
        },
    );
    let out = push_to(&proxy, &src, "linkrace-always", &[]);
    proxy.report("always DIGEST_INVALID", blob_bytes);
    assert_failure(&out);
    assert!(out.stderr.contains("DIGEST_INVALID"), "{}", out.describe());
    let puts = proxy
        .stats()
        .log
        .iter()
        .filter(|l| l.method == "PUT" && l.target.contains("/manifests/"))
        .count();
    assert_eq!(puts, 4, "one PUT and three retries");
    assert!(!reg.tag_exists("linkrace-always", "v1"));
}
